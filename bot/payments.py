"""Razorpay's and Stripe's webhooks (the pages a patient opens from the chat are
``bot.pages``).

Each webhook checks its signature over the raw body before anything else
(``X-Razorpay-Signature``; ``Stripe-Signature`` with the clinic's secret named by the
URL), stores the event once by its id, answers 200 at once and applies it after the
response (the sweep applies anything left over).
"""

from __future__ import annotations

import json
import logging
import re

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.orm import Session, scoped_session

from core.clock import utcnow
from core.config import Config
from core.db import get_db, retry_on_disconnect
from core.logging_setup import bind_clinic
from core.metrics import count_payment_event
from core.security import csrf
from integrations import stripe_client
from integrations.razorpay_client import verify_webhook
from services.clinics.settings import clinic_for_stripe_webhook, stripe_account, webhook_secrets
from services.reconciliation import razorpay_sync, stripe_sync

log = logging.getLogger(__name__)
bp = Blueprint("payments", __name__)

MAX_EVENT_BYTES = 256 * 1024
EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Razorpay's events nest about five levels; far deeper JSON could still overflow the
# stack of whatever walks it later (storing it as JSON, reading it back).
MAX_EVENT_DEPTH = 32


@bp.post("/webhooks/razorpay")
def razorpay_webhook() -> Response:
    config = current_app.config["ROSHNI"]
    body = _raw_body()
    if body is None:
        return _plain("event too large", 413)
    session = get_db().scoped
    # Stored once by event id: a second try after a dropped connection is safe.
    return retry_on_disconnect(session, lambda: _store_event(session, body, config))


def _store_event(session: scoped_session[Session], body: bytes, config: Config) -> Response:
    signature = request.headers.get("X-Razorpay-Signature", "")
    signed_by = next(
        (
            clinic_ids
            for secret, clinic_ids in webhook_secrets(session, config).items()
            if verify_webhook(body, signature, secret)
        ),
        None,
    )
    if signed_by is None:
        return _plain("invalid signature", 400)
    event_id = request.headers.get("x-razorpay-event-id", "")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # deep nesting overflows the parser's stack
        return _plain("body is not JSON", 400)
    if _nesting(payload) > MAX_EVENT_DEPTH:
        return _plain("event nested too deeply", 400)
    if not EVENT_ID.match(event_id) or not isinstance(payload, dict):
        return _plain("missing x-razorpay-event-id or malformed event", 400)
    # A clinic's secret only vouches for that clinic's links and refunds.
    owners = razorpay_sync.event_clinic_ids(payload, session)
    if len(owners) == 1:
        bind_clinic(next(iter(owners)))
    if not owners <= set(signed_by):
        log.warning("Razorpay event %s signed by another clinic's secret; refused", event_id)
        count_payment_event("razorpay", payload.get("event"), "refused")
        return _plain("event does not belong to this account", 403)
    now = utcnow()
    row_id = razorpay_sync.store_event(
        session, event_id=event_id, payload=payload, now=now, owners=owners
    )
    outcome = "duplicate" if row_id is None else "stored"
    count_payment_event("razorpay", payload.get("event"), outcome)
    response = Response(status=200)
    if row_id is not None:
        database = get_db()

        def apply_after_response() -> None:
            with database.session_scope() as later:
                razorpay_sync.process_event(later, row_id, now=utcnow())

        response.call_on_close(apply_after_response)
    return response


@bp.post("/webhooks/stripe/<slug>")
def stripe_webhook(slug: str) -> Response:
    """One endpoint per clinic (each Stripe account signs with its own secret): the
    signature is checked with the secret of the clinic the URL names, before anything
    is stored; an event about another clinic's session or refund is refused."""
    config = current_app.config["ROSHNI"]
    body = _raw_body()
    if body is None:
        return _plain("event too large", 413)
    session = get_db().scoped
    return retry_on_disconnect(session, lambda: _store_stripe_event(session, slug, body, config))


def _store_stripe_event(
    session: scoped_session[Session], slug: str, body: bytes, config: Config
) -> Response:
    clinic = clinic_for_stripe_webhook(session, slug[:40])
    account = stripe_account(clinic, config) if clinic is not None else None
    header = request.headers.get("Stripe-Signature", "")
    if (
        clinic is None
        or account is None
        or not account.webhook_secret
        or not stripe_client.verify_webhook(body, header, account.webhook_secret)
    ):
        return _plain("invalid signature", 400)
    bind_clinic(clinic.id)
    payload = _json_event(body)
    if isinstance(payload, Response):
        return payload
    event_id = str(payload.get("id", ""))
    if not EVENT_ID.match(event_id) or not isinstance(payload.get("type"), str):
        return _plain("malformed event", 400)
    owners = stripe_sync.event_clinic_ids(payload, session)
    if not owners <= {clinic.id}:
        log.warning("Stripe event %s is about another clinic's payment; refused", event_id)
        count_payment_event("stripe", payload.get("type"), "refused")
        return _plain("event does not belong to this account", 403)
    now = utcnow()
    row_id = stripe_sync.store_event(session, payload=payload, now=now, owners={clinic.id})
    count_payment_event("stripe", payload.get("type"), "duplicate" if row_id is None else "stored")
    response = Response(status=200)
    if row_id is not None:
        database = get_db()

        def apply_after_response() -> None:
            with database.session_scope() as later:
                stripe_sync.process_event(later, row_id, now=utcnow())

        response.call_on_close(apply_after_response)
    return response


def _raw_body() -> bytes | None:
    """The raw body (signatures cover its exact bytes), or None when too large."""
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        return None
    body = request.get_data(cache=False)
    if len(body) > MAX_EVENT_BYTES:  # a chunked body has no Content-Length to check first
        return None
    return body


def _json_event(body: bytes) -> dict | Response:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # deep nesting overflows the parser's stack
        return _plain("body is not JSON", 400)
    if _nesting(payload) > MAX_EVENT_DEPTH:
        return _plain("event nested too deeply", 400)
    if not isinstance(payload, dict):
        return _plain("malformed event", 400)
    return payload


def _nesting(value: object) -> int:
    """How deeply lists and objects nest in ``value`` (without recursion of our own)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_EVENT_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _plain(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # a signed provider webhook: no browser forms here
    app.register_blueprint(bp)
