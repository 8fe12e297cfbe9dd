"""Stripe, through its official SDK: Checkout Sessions, refunds and webhook signatures.

All outbound Stripe HTTP goes through ``StripeGateway``. ``STRIPE_API_URL`` points the
SDK elsewhere (a local server in tests and demos). Errors come out as the same
``GatewayError`` the Razorpay client raises, saying whether trying again could help.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import stripe

from integrations.razorpay_client import GatewayError

log = logging.getLogger(__name__)

TIMEOUT = 10  # seconds, as for Razorpay
# Stripe wants a Checkout Session's expires_at between 30 minutes and 24 hours ahead.
# A shorter hold is kept by us (the sweep expires the session when the hold runs out);
# a longer one (a week for dues) is cut to a day: the link is asked for again after.
SESSION_MIN_LIFETIME = timedelta(minutes=31)
SESSION_MAX_LIFETIME = timedelta(hours=23, minutes=59)
SIGNATURE_TOLERANCE = 300  # seconds: Stripe's own default for replayed signatures


@dataclass(frozen=True)
class StripeAccount:
    secret_key: str
    webhook_secret: str | None


def session_expiry(wanted: datetime, *, now: datetime) -> datetime:
    """``wanted`` moved into the window Stripe accepts for a Checkout Session."""
    return min(max(wanted, now + SESSION_MIN_LIFETIME), now + SESSION_MAX_LIFETIME)


class StripeGateway:
    def __init__(self, account: StripeAccount, *, api_url: str | None = None) -> None:
        self.account = account
        self._client = stripe.StripeClient(
            account.secret_key,
            base_addresses={"api": api_url} if api_url else None,
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
            max_network_retries=0,  # the sweep retries; a claim is not held open meanwhile
        )

    def create_session(
        self,
        *,
        reference_id: str,
        amount_minor: int,
        currency: str,
        description: str,
        expires_at: datetime,
        success_url: str,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """A Checkout Session (mode payment) for one line: our reference id as Stripe's
        ``client_reference_id`` and idempotency key, so a retried create is one session."""
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_minor,
                        "product_data": {"name": description[:200]},
                    },
                }
            ],
            "client_reference_id": reference_id,
            "metadata": {"reference_id": reference_id, **metadata},
            "payment_intent_data": {"metadata": {"reference_id": reference_id, **metadata}},
            "expires_at": int(expires_at.timestamp()),
            "success_url": success_url,
        }
        return self._call(
            lambda: self._client.v1.checkout.sessions.create(
                params, {"idempotency_key": f"session-{reference_id}"}
            )
        )

    def retrieve_session(self, session_id: str) -> dict[str, Any]:
        return self._call(lambda: self._client.v1.checkout.sessions.retrieve(session_id))

    def expire_session(self, session_id: str) -> dict[str, Any]:
        return self._call(lambda: self._client.v1.checkout.sessions.expire(session_id))

    def refund(self, payment_intent: str, amount_minor: int, refund_id: int) -> dict[str, Any]:
        """Our refund row ``refund_id`` at Stripe; its id is the idempotency key, so a run
        that crashed after asking is not refunded twice."""
        return self._call(
            lambda: self._client.v1.refunds.create(
                {
                    "payment_intent": payment_intent,
                    "amount": amount_minor,
                    "metadata": {"refund": str(refund_id)},
                },
                {"idempotency_key": f"refund-{refund_id}"},
            )
        )

    def _call(self, request: Any) -> dict[str, Any]:
        try:
            return request().to_dict()
        except (stripe.InvalidRequestError, stripe.CardError, stripe.IdempotencyError) as exc:
            raise GatewayError(_said(exc, "Stripe refused the request"), permanent=True) from None
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            # The clinic's key is wrong or revoked: permanent for this request.
            raise GatewayError(_said(exc, "Stripe refused the key"), permanent=True) from None
        except stripe.APIConnectionError as exc:
            raise GatewayError(
                f"Stripe unreachable: {type(exc).__name__}", permanent=False
            ) from None
        except stripe.StripeError as exc:  # rate limits, 5xx, a body that is not JSON
            raise GatewayError(
                f"Stripe error: {_said(exc, 'no detail')}", permanent=False
            ) from None


def _said(exc: stripe.StripeError, fallback: str) -> str:
    return (exc.user_message or str(exc) or fallback)[:300]


def verify_webhook(body: bytes, header: str, secret: str) -> bool:
    """``Stripe-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``,
    at most ``SIGNATURE_TOLERANCE`` seconds old."""
    if not (header and secret):
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        return bool(
            stripe.WebhookSignature.verify_header(text, header, secret, SIGNATURE_TOLERANCE)
        )
    except stripe.SignatureVerificationError:
        return False
