"""The pages a patient opens from the chat: the receipt PDF, the UPI payment page and
its QR code, and the pages Razorpay and Stripe send the browser back to after paying; the
calendar feed a therapist's phone subscribes to, and a patient's "add to calendar" file.

The receipt and UPI pages are found by the payment's unguessable public token, and
each client address may open them only ``TOKEN_PAGES_PER_MINUTE`` times a minute.
"""

from __future__ import annotations

import re

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request
from sqlalchemy import select

from core import rate_limit
from core.clock import utcnow
from core.db import get_db
from core.formatting import format_money
from core.security import csrf
from integrations import upi
from integrations.razorpay_client import RazorpayGateway
from models import Clinic, Contact, Patient, Payment, PaymentLink, PaymentMethod, PaymentState
from services.billing.billing_documents import receipt_pdf
from services.clinical.progress_reports import report_by_link
from services.clinical.report_pdf import report_pdf
from services.clinics.settings import razorpay_account
from services.messaging.catalogue import say
from services.scheduling.calendar_feed import feed_calendar, therapist_for_feed
from services.scheduling.session_calendar import (
    FILE_NAME,
    appointment_for_calendar,
    session_calendar,
)

bp = Blueprint("pages", __name__, template_folder="templates")

# Opens of the token pages (receipt, UPI page and QR) per client address a minute: a
# patient opening and reloading never meets it; guessing tokens would take forever.
TOKEN_PAGES_PER_MINUTE = 30
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


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


@bp.get("/payments/stripe/return")
def stripe_return() -> str:
    """Where Stripe's Checkout sends the browser after paying. Only a page: the webhook
    or the reconcile retrieve records the payment, never this redirect."""
    reference = request.args.get("ref", "")[:40]
    session = get_db().scoped
    link = session.scalar(
        select(PaymentLink).where(
            PaymentLink.reference_id == reference, PaymentLink.provider == "stripe"
        )
    )
    clinic = session.get(Clinic, link.clinic_id) if link is not None else None
    return _page(
        "Thank you!",
        ["Once the clinic's card processor confirms the payment, your receipt comes in the chat."],
        tone="ok",
        clinic=clinic,
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


@bp.get("/reports/<token>.pdf")
@token_page
def progress_report(token: str) -> Response:
    """A progress report the chat sent: the provider fetches it (a WhatsApp document), or
    the guardian opens the link, while it is good (``progress_reports.LINK_LIFETIME``)."""
    session = get_db().scoped
    report = report_by_link(session, token, now=utcnow())
    if report is None:
        abort(404)
    patient = session.get(Patient, report.patient_id)
    contact = session.get(Contact, patient.contact_id) if patient else None
    pdf = report_pdf(session, report, contact.language if contact else "en")
    session.commit()  # the opening's audit row
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="progress-report-{report.id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/calendar/<token>.ics")
@token_page
def calendar_feed(token: str) -> Response:
    """A therapist's sessions for their phone's calendar (a private link from My profile)."""
    session = get_db().scoped
    therapist = therapist_for_feed(session, token)
    if therapist is None:
        abort(404)
    return Response(
        feed_calendar(session, therapist, now=utcnow()),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'inline; filename="sessions.ics"',
            "Cache-Control": "private, max-age=300",
        },
    )


@bp.get("/calendar/session/<token>.ics")
@token_page
def session_calendar_file(token: str) -> Response:
    """A patient's session (a course's: all its sessions) for their phone's calendar, from
    the link in the booking's confirmation. Any token that is not ours is simply 404."""
    session = get_db().scoped
    appointment = appointment_for_calendar(session, current_app.config["ROSHNI"].secret_key, token)
    if appointment is None:
        abort(404)
    return Response(
        session_calendar(session, appointment, now=utcnow()),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="{FILE_NAME}"',
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


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # GET pages: no browser forms here
    rate_limit.init_app(app)
    app.register_blueprint(bp)
