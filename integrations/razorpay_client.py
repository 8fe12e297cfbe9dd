"""Razorpay, through its official SDK: payment links, refunds and signatures.

All outbound Razorpay HTTP goes through ``RazorpayGateway``. ``RAZORPAY_API_URL``
points the SDK elsewhere (a local server in tests and demos). Errors come out as
``GatewayError`` saying whether trying again could help.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import razorpay
import requests
from razorpay.errors import BadRequestError, SignatureVerificationError

log = logging.getLogger(__name__)

TIMEOUT = 10  # seconds; the SDK itself sets none


@dataclass(frozen=True)
class RazorpayAccount:
    key_id: str
    key_secret: str
    webhook_secret: str | None


class GatewayError(Exception):
    """Razorpay said no (``permanent``: the same request will fail again) or could
    not be reached (not permanent: try later)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class RazorpayGateway:
    def __init__(self, account: RazorpayAccount, *, api_url: str | None = None) -> None:
        options = {"base_url": api_url} if api_url else {}
        self.account = account
        self._client = razorpay.Client(auth=(account.key_id, account.key_secret), **options)

    def create_link(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._call(self._client.payment_link.create, data)

    def fetch_link(self, link_id: str) -> dict[str, Any]:
        return self._call(self._client.payment_link.fetch, link_id)

    def cancel_link(self, link_id: str) -> dict[str, Any]:
        return self._call(self._client.payment_link.cancel, link_id)

    def refund(self, payment_id: str, amount_minor: int, notes: dict[str, str]) -> dict[str, Any]:
        # payment.refund(payment_id, data): the SDK defines refund twice; this one wins.
        return self._call(
            self._client.payment.refund,
            payment_id,
            {"amount": amount_minor, "speed": "normal", "notes": notes},
        )

    def refunds_of(self, payment_id: str) -> list[dict[str, Any]]:
        answer = self._call(self._client.payment.fetch_multiple_refund, payment_id)
        return list(answer.get("items") or [])

    def verify_callback(self, params: dict[str, str]) -> bool:
        """The redirect back from the payment page: HMAC-SHA256 with the key secret over
        ``link_id|reference_id|status|payment_id``."""
        wanted = (
            "razorpay_payment_link_id",
            "razorpay_payment_link_reference_id",
            "razorpay_payment_link_status",
            "razorpay_payment_id",
            "razorpay_signature",
        )
        if not all(params.get(name) for name in wanted):
            return False
        try:
            return bool(
                self._client.utility.verify_payment_link_signature(
                    {
                        "payment_link_id": params["razorpay_payment_link_id"],
                        "payment_link_reference_id": params["razorpay_payment_link_reference_id"],
                        "payment_link_status": params["razorpay_payment_link_status"],
                        "razorpay_payment_id": params["razorpay_payment_id"],
                        "razorpay_signature": params["razorpay_signature"],
                    }
                )
            )
        except SignatureVerificationError:
            return False

    def _call(self, method: Any, *args: Any) -> dict[str, Any]:
        try:
            return method(*args, timeout=TIMEOUT)
        except BadRequestError as exc:
            raise GatewayError(str(exc) or "Razorpay refused the request", permanent=True) from None
        except (razorpay.errors.ServerError, razorpay.errors.GatewayError) as exc:
            raise GatewayError(f"Razorpay error: {exc}", permanent=False) from None
        except requests.RequestException as exc:
            raise GatewayError(
                f"Razorpay unreachable: {type(exc).__name__}", permanent=False
            ) from None
        except ValueError:  # a body that is not JSON (a proxy's error page)
            raise GatewayError(
                "Razorpay answered with something other than JSON", permanent=False
            ) from None


def verify_webhook(body: bytes, signature: str, secret: str) -> bool:
    """X-Razorpay-Signature: hex HMAC-SHA256 of the raw body with the webhook secret."""
    if not (signature and secret):
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        return bool(razorpay.Utility(None).verify_webhook_signature(text, signature, secret))
    except SignatureVerificationError:
        return False
