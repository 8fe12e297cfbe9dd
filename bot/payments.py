"""Razorpay's webhook and redirect, and the pages a patient opens from the chat
(receipt PDF, UPI payment page and QR code).

The webhook checks ``X-Razorpay-Signature`` over the raw body before anything
else, stores the event once by ``x-razorpay-event-id``, answers 200 at once and
applies it after the response (the sweep applies anything left over).
"""

from __future__ import annotations

import json
import logging
import re

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from core import rate_limit
from core.clock import utcnow
from core.config import Config
from core.db import get_db, retry_on_disconnect
from core.formatting import format_money
from core.logging_setup import bind_clinic
from core.metrics import count_payment_event
from core.security import csrf
from integrations import upi
from integrations.razorpay_client import RazorpayGateway, verify_webhook
from models import Clinic, Payment, PaymentLink, PaymentMethod, PaymentState
from services import razorpay_sync
from services.billing_documents import receipt_pdf
from services.catalogue import say
from services.clinics import razorpay_account, webhook_secrets

log = logging.getLogger(__name__)
bp = Blueprint("payments", __name__, template_folder="templates")

MAX_EVENT_BYTES = 256 * 1024
# Opens of the token pages (receipt, UPI page and QR) per client address a minute: a
# patient opening and reloading never meets it; guessing tokens would take forever.
TOKEN_PAGES_PER_MINUTE = 30
EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
# Razorpay's events nest about five levels; far deeper JSON could still overflow the
# stack of whatever walks it later (storing it as JSON, reading it back).
MAX_EVENT_DEPTH = 32


@bp.post("/webhooks/razorpay")
def razorpay_webhook() -> Response:

    config = current_app.config["ROSHNI"]
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        return _plain("event too large", 413)
    body = request.get_data(cache=False)
    if len(body) > MAX_EVENT_BYTES:  # a chunked body has no Content-Length to check first
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


@bp.get("/payments/razorpay/return")
def razorpay_return() -> str:
    """Where Razorpay sends the browser after paying. It shows a page; it never marks
    anything paid (the webhook or the reconcile fetch does)."""

    config = current_app.config["ROSHNI"]
    params = {k: request.args.get(k, "")[:100] for k in request.args}
    session = get_db().scoped
    link = session.scalar(
        select(PaymentLink).where(
            PaymentLink.reference_id == params.get("razorpay_payment_link_reference_id", ""),
            PaymentLink.provider_link_id == params.get("razorpay_payment_link_id", ""),
        )
    )
    clinic = session.get(Clinic, link.clinic_id) if link is not None else None
    account = razorpay_account(clinic, config) if clinic is not None else None
    verified = account is not None and RazorpayGateway(account).verify_callback(params)
    if verified and params.get("razorpay_payment_link_status") == "paid":
        return _page(
            "Thank you! Payment received",
            ["We've got it. Your receipt will arrive in the chat in a moment."],
            tone="ok",
            clinic=clinic,
        )
    if verified:
        return _page(
            "Payment not completed",
            ["The payment did not go through. You can open the link from the chat again."],
            tone="bad",
            clinic=clinic,
        )
    return _page(
        "We could not confirm this payment",
        ["If money left your account, the clinic will see it; your receipt comes in the chat."],
        tone="bad",
        clinic=clinic,
        status=400,
    )


def _slow_down() -> Response:
    return _page(say("en", "page_too_many_tries"), [], tone="bad", clinic=None, status=429)  # type: ignore[return-value]


token_page = rate_limit.limited(
    "token-pages", per_minute=TOKEN_PAGES_PER_MINUTE, refusal=_slow_down
)


@bp.get("/pay/receipt/<token>.pdf")
@token_page
def receipt(token: str) -> Response:
    payment = _payment_by_token(token)
    if payment.status is not PaymentState.RECEIVED:
        abort(404)

    pdf = receipt_pdf(get_db().scoped, payment)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{payment.receipt_number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/pay/upi/<token>")
@token_page
def upi_page(token: str) -> str:
    payment, clinic, link = _upi(token)
    amount = format_money(payment.amount_minor, payment.currency)
    if payment.status is PaymentState.RECEIVED:
        return _page(
            "Already paid",
            [f"{clinic.name} has received {amount}. Thank you!"],
            tone="ok",
            clinic=clinic,
        )
    return render_template(
        "payments/page.html",
        title=f"Pay {amount} to {clinic.name}",
        lines=[],
        tone="",
        upi_link=link,
        qr_src=f"/pay/upi/{token}.png",
        amount=amount,
        clinic=clinic.name,
    )


@bp.get("/pay/upi/<token>.png")
@token_page
def upi_qr(token: str) -> Response:
    _payment, _clinic, link = _upi(token)
    return Response(
        upi.qr_png(link), mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )


def _payment_by_token(token: str) -> Payment:

    if not TOKEN.match(token):
        abort(404)
    payment = get_db().scoped.scalar(select(Payment).where(Payment.public_token == token))
    if payment is None:
        abort(404)
    return payment


def _upi(token: str) -> tuple[Payment, Clinic, str]:

    payment = _payment_by_token(token)
    clinic = get_db().scoped.get(Clinic, payment.clinic_id)
    if payment.method is not PaymentMethod.UPI or clinic is None or not clinic.upi_vpa:
        abort(404)
    link = upi.upi_link(
        vpa=clinic.upi_vpa,
        payee_name=clinic.upi_payee_name or clinic.name,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        note=f"{clinic.name} {payment.reference or ''}".strip(),
        reference=payment.reference or f"P{payment.id}",
    )
    return payment, clinic, link


def _page(
    title: str, lines: list[str], *, tone: str, clinic: Clinic | None, status: int = 200
) -> str:
    html = render_template(
        "payments/page.html",
        title=title,
        lines=lines,
        tone=tone,
        upi_link=None,
        clinic=clinic.name if clinic is not None else None,
    )
    return Response(html, status=status, mimetype="text/html")  # type: ignore[return-value]


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
    csrf.exempt(bp)  # a signed provider webhook and GET pages: no browser forms here
    rate_limit.init_app(app)
    app.register_blueprint(bp)
