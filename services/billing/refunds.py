"""Money out: refunds, and what the cancellation policy proposes to refund.

A refund never exceeds the payment's money that pays no invoice (so never more than
was captured). Razorpay refunds are a row first, submitted by the sweep
(``services.reconciliation.razorpay_sync``) and final only on ``refund.processed``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.db import write_transaction
from core.formatting import format_money
from models import (
    ActorType,
    Appointment,
    ClinicPolicy,
    PaymentMethod,
    PaymentState,
    Refund,
    RefundStatus,
)
from services import audit
from services.audit import Actor
from services.billing import invoices as billing
from services.billing.payments import payment_for_update
from services.errors import N_, InvalidInput, InvalidTransition


def refund_payment(
    session: Session,
    *,
    clinic_id: int,
    payment_id: int,
    amount_minor: int,
    reason: str,
    now: datetime,
    actor: Actor,
) -> Refund:
    """Refund part or all of a payment's money on account (not settling an invoice).

    Payments through a link (Razorpay or Stripe): a pending row the gateway job
    submits; final when the provider says it is processed (Razorpay's
    ``refund.processed``, Stripe's refund ``succeeded``). Money taken at the desk:
    handed back, final at once.
    """
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidInput(detail=N_("The refund must be more than zero."))
    if not (reason or "").strip():
        raise InvalidInput(detail=N_("Please give a reason for the refund."))
    if actor.type is not ActorType.STAFF:
        raise InvalidTransition(N_("Only staff can refund."))
    with write_transaction(session):
        payment = payment_for_update(session, clinic_id, payment_id)
        if payment.status is not PaymentState.RECEIVED:
            raise InvalidTransition(N_("Only a received payment can be refunded."))
        if payment.method is PaymentMethod.CREDIT:
            raise InvalidTransition(N_("A session paid from credit is returned as credit."))
        free = billing.payment_available(session, payment.id)
        if amount_minor > free:
            raise InvalidInput(
                N_(
                    "At most %(amount)s of this payment can be refunded: the rest pays "
                    "invoices. Void an invoice first to refund it."
                ),
                amount=format_money(free, payment.currency),
            )
        online = payment.method is PaymentMethod.PAYMENT_LINK
        refund = Refund(
            clinic_id=clinic_id,
            payment_id=payment.id,
            amount_minor=amount_minor,
            status=RefundStatus.PENDING if online else RefundStatus.PROCESSED,
            processed_at=None if online else now,
            reason=reason.strip()[:300],
            requested_by=actor.label(),
        )
        session.add(refund)
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="refund.create", entity=refund
        )
    return refund


def apply_refund(
    session: Session, refund: Refund, *, status: str, now: datetime, error: str | None = None
) -> None:
    """Razorpay's word on a refund: pending → processed or failed, never back."""
    if refund.status is not RefundStatus.PENDING or status not in ("processed", "failed"):
        return
    before = audit.snapshot(refund)
    refund.status = RefundStatus(status)
    if refund.status is RefundStatus.PROCESSED:
        refund.processed_at = now
    else:
        refund.error = (error or "Razorpay could not process the refund")[:300]
    audit.record(
        session,
        clinic_id=refund.clinic_id,
        actor=Actor.system(),
        action=f"refund.{status}",
        entity=refund,
        before=before,
    )


def refund_proposal(session: Session, appointment: Appointment, *, now: datetime) -> int:
    """What the cancellation policy would refund for this session: everything paid for
    it when cancelled outside the window (or by the clinic), nothing inside it."""
    invoice = billing.session_invoice(session, appointment.id)
    paid = billing.invoice_paid(session, invoice.id) if invoice is not None else 0
    policy = session.get(ClinicPolicy, appointment.clinic_id)
    assert policy is not None
    window = timedelta(hours=policy.cancellation_window_hours)
    return paid if appointment.start_at - now >= window else 0
