"""Money in: payments staff record or confirm, and what Razorpay reports about a link.

``apply_link`` (from a webhook or the reconcile fetch) only moves a link forward and
records each Razorpay payment once; what a link that ended unpaid means for its booking
is the scheduling side's (``services.scheduling.holds``). Asking for money is
``services.billing.payment_requests``; refunds ``services.billing.refunds``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.db import write_transaction
from core.formatting import format_money
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    ClinicPolicy,
    Contact,
    InvoiceLine,
    LinkStatus,
    MessageKind,
    Payment,
    PaymentAllocation,
    PaymentLink,
    PaymentMethod,
    PaymentState,
)
from services import audit
from services.audit import Actor
from services.billing import invoices as billing
from services.errors import N_, InvalidInput, InvalidTransition
from services.locks import lock_appointment, lock_in_clinic
from services.messaging.outbox import queue_for_contact
from services.people.patients import clinic_and_contact

# A link's status only moves up this ladder; expired/cancelled never undo paid.
_RANK = {
    LinkStatus.PENDING: 0,
    LinkStatus.CREATED: 1,
    LinkStatus.PARTIALLY_PAID: 2,
    LinkStatus.FAILED: 3,
    LinkStatus.EXPIRED: 3,
    LinkStatus.CANCELLED: 3,
    LinkStatus.PAID: 4,
}


@dataclass(frozen=True)
class ProviderPayment:
    """One payment as Razorpay reports it (webhook or fetch)."""

    id: str
    amount_minor: int
    method: str
    captured: bool


# --- money in -------------------------------------------------------------------------


def record_payment(
    session: Session,
    *,
    clinic_id: int,
    contact_id: int,
    amount_minor: int,
    method: PaymentMethod,
    now: datetime,
    actor: Actor,
    patient_id: int | None = None,
    reference: str | None = None,
    note: str | None = None,
    invoice_id: int | None = None,
    appointment_id: int | None = None,
) -> Payment:
    """Staff record money taken at the desk (cash, card, bank transfer, UPI seen).

    With ``appointment_id`` (taking payment on the session's page) the money pays that
    session: its invoice is issued if it has none yet, and settled first."""
    if method in (PaymentMethod.PAYMENT_LINK, PaymentMethod.CREDIT):
        raise InvalidInput(detail=N_("Online and credit payments are recorded automatically."))
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidInput(detail=N_("The amount must be more than zero."))
    with write_transaction(session):
        clinic, _ = clinic_and_contact(session, clinic_id, contact_id)
        if appointment_id is not None:
            invoice_id, patient_id = _session_invoice_for(
                session, clinic_id, contact_id, appointment_id, now=now, actor=actor
            )
        payment = Payment(
            clinic_id=clinic_id,
            contact_id=contact_id,
            patient_id=patient_id,
            method=method,
            status=PaymentState.RECEIVED,
            amount_minor=amount_minor,
            currency=clinic.currency,
            received_at=now,
            reference=(reference or "").strip()[:80] or None,
            note=(note or "").strip()[:300] or None,
            public_token=secrets.token_urlsafe(16),
            recorded_by=actor.label(),
        )
        session.add(payment)
        _received(session, clinic, payment, now=now, actor=actor, prefer_invoice_id=invoice_id)
    return payment


def _session_invoice_for(
    session: Session,
    clinic_id: int,
    contact_id: int,
    appointment_id: int,
    *,
    now: datetime,
    actor: Actor,
) -> tuple[int | None, int]:
    """(the session's invoice, issued now if need be; its patient) for money paid at it."""
    appointment = lock_appointment(session, clinic_id, appointment_id)
    if appointment.patient.contact_id != contact_id:
        raise InvalidInput(detail=N_("That session is not this contact's."))
    if appointment.status is AppointmentStatus.CANCELLED:
        raise InvalidTransition(N_("This session is cancelled, so there is nothing to pay."))
    invoice = billing.invoice_appointment(session, appointment, now=now, actor=actor)
    return (invoice.id if invoice is not None else None), appointment.patient_id


def session_due(session: Session, appointment: Appointment) -> int:
    """What is left to pay for one session: its invoice's balance, or (not invoiced yet)
    what its invoice will be; 0 for a free, paid or cancelled session."""
    if appointment.status is AppointmentStatus.CANCELLED or appointment.payment_status.settled:
        return 0
    invoice = billing.session_invoice(session, appointment.id)
    if invoice is not None:
        return max(invoice.total_minor - billing.invoice_paid(session, invoice.id), 0)
    policy = session.get(ClinicPolicy, appointment.clinic_id)
    rate = policy.tax_rate_bp if policy is not None else 0
    return billing.with_tax(appointment.price_minor, rate)


def confirm_payment(
    session: Session,
    *,
    clinic_id: int,
    payment_id: int,
    now: datetime,
    actor: Actor,
    reference: str | None = None,
) -> Payment:
    """Staff saw a UPI payment arrive: awaiting confirmation → received."""
    with write_transaction(session):
        payment = payment_for_update(session, clinic_id, payment_id)
        if payment.status is not PaymentState.AWAITING_CONFIRMATION:
            raise InvalidTransition(N_("Only a payment awaiting confirmation can be confirmed."))
        before = audit.snapshot(payment)
        payment.status = PaymentState.RECEIVED
        payment.received_at = now
        if reference:
            payment.reference = reference.strip()[:80]
        clinic = session.get(Clinic, clinic_id)
        assert clinic is not None
        _received(session, clinic, payment, now=now, actor=actor, before=before)
    return payment


def reject_payment(
    session: Session,
    *,
    clinic_id: int,
    payment_id: int,
    now: datetime,
    actor: Actor,
    reason: str,
) -> Payment:
    """A UPI payment that never arrived."""
    with write_transaction(session):
        payment = payment_for_update(session, clinic_id, payment_id)
        if payment.status is not PaymentState.AWAITING_CONFIRMATION:
            raise InvalidTransition(N_("Only a payment awaiting confirmation can be rejected."))
        before = audit.snapshot(payment)
        payment.status = PaymentState.REJECTED
        payment.note = (reason or "").strip()[:300] or None
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="payment.reject",
            entity=payment,
            before=before,
        )
    return payment


def _received(
    session: Session,
    clinic: Clinic,
    payment: Payment,
    *,
    now: datetime,
    actor: Actor,
    prefer_invoice_id: int | None = None,
    before: dict | None = None,
) -> None:
    """Money arrived: number the receipt, settle invoices, tell the payer."""
    payment.receipt_number = billing.next_document_number(session, clinic, "RCPT", now)
    session.flush()
    audit.record(
        session,
        clinic_id=clinic.id,
        actor=actor,
        action="payment.confirm" if before is not None else "payment.record",
        entity=payment,
        before=before,
    )
    billing.settle(
        session,
        clinic.id,
        payment.contact_id,
        now=now,
        actor=actor,
        prefer_invoice_id=prefer_invoice_id,
    )
    contact = session.get(Contact, payment.contact_id)
    assert contact is not None
    queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.PAYMENT,
        template_key="payment_receipt",
        idempotency_key=f"receipt:{payment.id}",
        due_at=now,
        payment_id=payment.id,
        variables={
            "amount": format_money(payment.amount_minor, payment.currency, short=True),
            "receipt": payment.receipt_number,
            "receipt_path": f"/pay/receipt/{payment.public_token}.pdf",
        },
    )


def payment_for_update(session: Session, clinic_id: int, payment_id: int) -> Payment:
    return lock_in_clinic(session, Payment, clinic_id, payment_id, what=N_("payment"))


# --- what Razorpay tells us -----------------------------------------------------------


def apply_link(
    session: Session,
    link: PaymentLink,
    *,
    status: str,
    amount_paid_minor: int,
    payments: Iterable[ProviderPayment],
    now: datetime,
) -> bool:
    """Razorpay's view of a link (from a webhook or a fetch), applied idempotently: each
    captured payment is recorded once; the status only moves forward. True when this
    call is the one that saw the link paid (a repeat of the same news returns False).
    A link left expired or cancelled is the caller's to release (``holds.release_for_link``)."""
    system = Actor.system()
    _record_captured(session, link, payments, now=now, actor=system)
    try:
        incoming = LinkStatus(status)
    except ValueError:
        incoming = link.status
    before = audit.snapshot(link)
    was_paid = link.status is LinkStatus.PAID
    if _RANK[incoming] > _RANK[link.status]:
        link.status = incoming
    link.amount_paid_minor = max(link.amount_paid_minor, amount_paid_minor)
    link.checked_at = now
    if audit.snapshot(link) != before:
        audit.record(
            session,
            clinic_id=link.clinic_id,
            actor=system,
            action="payment_link.update",
            entity=link,
            before=before,
        )
    return link.status is LinkStatus.PAID and not was_paid


def _record_captured(
    session: Session,
    link: PaymentLink,
    payments: Iterable[ProviderPayment],
    *,
    now: datetime,
    actor: Actor,
) -> None:
    """Each captured payment Razorpay reports for the link, recorded once (by its id)."""
    clinic = session.get(Clinic, link.clinic_id)
    assert clinic is not None
    for reported in payments:
        if not reported.captured or reported.amount_minor <= 0:
            continue
        if (
            session.scalar(select(Payment.id).where(Payment.provider_payment_id == reported.id))
            is not None
        ):
            continue
        payment = Payment(
            clinic_id=link.clinic_id,
            contact_id=link.contact_id,
            method=PaymentMethod.PAYMENT_LINK,
            status=PaymentState.RECEIVED,
            amount_minor=reported.amount_minor,
            currency=link.currency,
            received_at=now,
            provider_payment_id=reported.id,
            payment_link_id=link.id,
            reference=reported.method[:80] if reported.method else None,
            public_token=secrets.token_urlsafe(16),
            recorded_by=actor.label(),
        )
        session.add(payment)
        _received(session, clinic, payment, now=now, actor=actor, prefer_invoice_id=link.invoice_id)


# --- what paid a session --------------------------------------------------------------


def session_payments(session: Session, clinic_id: int, appointment_id: int) -> list[Payment]:
    """The payments that pay this session: allocated to an invoice line for it, or
    taken through a payment link asked for it. Oldest first."""
    allocated = (
        select(PaymentAllocation.payment_id)
        .join(InvoiceLine, InvoiceLine.invoice_id == PaymentAllocation.invoice_id)
        .where(InvoiceLine.appointment_id == appointment_id, InvoiceLine.clinic_id == clinic_id)
    )
    linked = select(PaymentLink.id).where(
        PaymentLink.appointment_id == appointment_id, PaymentLink.clinic_id == clinic_id
    )
    return list(
        session.scalars(
            select(Payment)
            .where(
                Payment.clinic_id == clinic_id,
                or_(Payment.id.in_(allocated), Payment.payment_link_id.in_(linked)),
            )
            .order_by(Payment.received_at, Payment.id)
        )
    )
