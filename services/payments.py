"""Taking money: payments staff record, UPI requests, Razorpay links, refunds.

Provider calls never happen inside a business transaction. A link or a refund is
a row first; ``services.gateway_jobs`` performs the Razorpay call after commit.
Webhooks and the reconcile job report what Razorpay saw through ``apply_link``,
which only moves a link forward and records each Razorpay payment once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import write_transaction
from core.formatting import format_money
from models import (
    ActorType,
    Appointment,
    AppointmentStatus,
    Clinic,
    ClinicPolicy,
    Contact,
    Invoice,
    LinkStatus,
    MessageKind,
    Payment,
    PaymentLink,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from services import audit, billing
from services.audit import Actor
from services.errors import InvalidInput, InvalidTransition, NotFound
from services.messaging import preferred_channel, queue_message

MIN_LINK_MINOR = 100  # Razorpay's smallest payment link: ₹1
DUES_LINK_LIFETIME = timedelta(days=7)
# Razorpay wants expire_by at least 15 minutes ahead when a link is created.
GATEWAY_MIN_LIFETIME = timedelta(minutes=16)

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


def uses_razorpay(clinic: Clinic) -> bool:
    return bool(clinic.razorpay_key_id and clinic.razorpay_key_secret_encrypted)


def uses_upi(clinic: Clinic) -> bool:
    return bool(clinic.upi_vpa) and clinic.currency == "INR"


# --- asking for money -----------------------------------------------------------------


def request_for_booking(
    session: Session, appointment: Appointment, *, now: datetime, actor: Actor
) -> None:
    """Called inside ``book_appointment``: draw package credit, or invoice a prepaid
    session and (for a chat booking) hold the slot while the patient pays."""
    if appointment.price_minor == 0:
        return
    if billing.draw_credit(session, appointment, now=now, actor=actor):
        return
    service = appointment.service
    if not service.prepay_required:
        return
    invoice = billing.invoice_appointment(session, appointment, now=now, actor=actor)
    assert invoice is not None
    # Money already on account (say, from a session cancelled in time) pays it first.
    contact_id = appointment.patient.contact_id
    billing.settle(
        session,
        appointment.clinic_id,
        contact_id,
        now=now,
        actor=actor,
        prefer_invoice_id=invoice.id,
    )
    due = invoice.total_minor - billing.invoice_paid(session, invoice.id)
    if actor.is_staff or due <= 0:
        return  # at the desk staff take the money or send a link from the panel
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None
    if uses_razorpay(clinic):
        appointment.payment_status = PaymentStatus.PENDING
        appointment.hold_expires_at = billing.hold_until(now, service.hold_minutes)
        open_link(
            session,
            clinic=clinic,
            contact=appointment.patient.contact,
            amount_minor=due,
            description=f"{service.name} for {appointment.patient.name} ({appointment.number})",
            expire_at=appointment.hold_expires_at,
            now=now,
            invoice=invoice,
            appointment=appointment,
            accept_partial=service.accept_partial,
        )
    elif uses_upi(clinic):
        # Nobody can confirm a UPI payment but staff, so there is no automatic release.
        appointment.payment_status = PaymentStatus.PENDING
        request_upi(
            session,
            clinic=clinic,
            contact=appointment.patient.contact,
            now=now,
            amount_minor=due,
            patient_id=appointment.patient_id,
            appointment=appointment,
            actor=actor,
        )


def open_link(
    session: Session,
    *,
    clinic: Clinic,
    contact: Contact,
    amount_minor: int,
    description: str,
    expire_at: datetime,
    now: datetime,
    invoice: Invoice | None = None,
    appointment: Appointment | None = None,
    accept_partial: bool = False,
) -> PaymentLink | None:
    """A payment link row (status pending); a job creates it at Razorpay and sends it."""
    if amount_minor < MIN_LINK_MINOR:
        return None
    link = PaymentLink(
        clinic_id=clinic.id,
        contact_id=contact.id,
        invoice_id=invoice.id if invoice is not None else None,
        appointment_id=appointment.id if appointment is not None else None,
        reference_id=f"rs-{secrets.token_hex(8)}",
        description=description[:200],
        amount_minor=amount_minor,
        currency=clinic.currency,
        accept_partial=accept_partial,
        expire_at=max(expire_at, now + GATEWAY_MIN_LIFETIME),
    )
    session.add(link)
    return link


def request_upi(
    session: Session,
    *,
    clinic: Clinic,
    contact: Contact,
    amount_minor: int,
    now: datetime,
    actor: Actor,
    patient_id: int | None = None,
    appointment: Appointment | None = None,
) -> Payment:
    """A UPI payment the patient makes from their own app: recorded as awaiting
    confirmation, and a message with the UPI link and a QR code goes to the chat."""
    payment = Payment(
        clinic_id=clinic.id,
        contact_id=contact.id,
        patient_id=patient_id,
        method=PaymentMethod.UPI,
        status=PaymentState.AWAITING_CONFIRMATION,
        amount_minor=amount_minor,
        currency=clinic.currency,
        received_at=now,
        public_token=secrets.token_urlsafe(16),
        recorded_by=actor.label(),
    )
    session.add(payment)
    session.flush()
    payment.reference = f"RS{clinic.id}P{payment.id}"
    audit.record(
        session, clinic_id=clinic.id, actor=actor, action="payment.upi_request", entity=payment
    )
    queue_message(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        channel=preferred_channel(session, clinic, contact),
        kind=MessageKind.PAYMENT,
        template_key="payment_upi",
        idempotency_key=f"upi:{payment.id}",
        due_at=now,
        appointment_id=appointment.id if appointment is not None else None,
        variables={
            "amount": format_money(amount_minor, clinic.currency, short=True),
            "vpa": clinic.upi_vpa,
            "upi_path": f"/pay/upi/{payment.public_token}",
            "media_path": f"/pay/upi/{payment.public_token}.png",
        },
    )
    return payment


def request_dues_payment(
    session: Session, *, clinic_id: int, contact_id: int, now: datetime, actor: Actor
) -> tuple[int, str | None]:
    """The contact asked to pay what they owe: (amount, "link" | "upi" | None)."""
    with write_transaction(session):
        clinic = session.get(Clinic, clinic_id)
        contact = session.scalar(
            select(Contact).where(Contact.id == contact_id, Contact.clinic_id == clinic_id)
        )
        if clinic is None or contact is None:
            raise NotFound(what="contact")
        owed = billing.contact_dues(session, clinic_id, contact_id).total
        if owed <= 0:
            return 0, None
        if uses_razorpay(clinic) and owed >= MIN_LINK_MINOR:
            still_open = session.scalar(
                select(PaymentLink.id).where(
                    PaymentLink.contact_id == contact_id,
                    PaymentLink.appointment_id.is_(None),
                    PaymentLink.amount_minor == owed,
                    PaymentLink.status.in_([LinkStatus.PENDING, LinkStatus.CREATED]),
                    PaymentLink.expire_at > now + timedelta(hours=1),
                )
            )
            if still_open is None:
                open_link(
                    session,
                    clinic=clinic,
                    contact=contact,
                    amount_minor=owed,
                    description=f"Outstanding dues at {clinic.name}",
                    expire_at=now + DUES_LINK_LIFETIME,
                    now=now,
                )
            else:  # asked twice: send the same link again rather than a second one
                queue_link_message(session, session.get(PaymentLink, still_open), now=now)
            return owed, "link"
        if uses_upi(clinic):
            request_upi(
                session, clinic=clinic, contact=contact, amount_minor=owed, now=now, actor=actor
            )
            return owed, "upi"
        return owed, None


def queue_link_message(session: Session, link: PaymentLink, *, now: datetime) -> None:
    clinic = session.get(Clinic, link.clinic_id)
    contact = session.get(Contact, link.contact_id)
    assert clinic is not None and contact is not None
    queue_message(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        channel=preferred_channel(session, clinic, contact),
        kind=MessageKind.PAYMENT,
        template_key="payment_link_booking" if link.appointment_id else "payment_link_dues",
        idempotency_key=f"link:{link.id}:{now:%Y%m%dT%H%M%S%f}",
        due_at=now,
        appointment_id=link.appointment_id,
        variables={
            "amount": format_money(
                link.amount_minor - link.amount_paid_minor, link.currency, short=True
            ),
            "url": link.short_url or "",
            "until": link.expire_at.isoformat(),
        },
    )


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
) -> Payment:
    """Staff record money taken at the desk (cash, card, bank transfer, UPI seen)."""
    if method in (PaymentMethod.PAYMENT_LINK, PaymentMethod.CREDIT):
        raise InvalidInput(detail="Online and credit payments are recorded automatically.")
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidInput(detail="The amount must be more than zero.")
    with write_transaction(session):
        clinic = session.get(Clinic, clinic_id)
        contact = session.scalar(
            select(Contact).where(Contact.id == contact_id, Contact.clinic_id == clinic_id)
        )
        if clinic is None or contact is None:
            raise NotFound(what="contact")
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
        payment = _payment_for_update(session, clinic_id, payment_id)
        if payment.status is not PaymentState.AWAITING_CONFIRMATION:
            raise InvalidTransition("Only a payment awaiting confirmation can be confirmed.")
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
        payment = _payment_for_update(session, clinic_id, payment_id)
        if payment.status is not PaymentState.AWAITING_CONFIRMATION:
            raise InvalidTransition("Only a payment awaiting confirmation can be rejected.")
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
    queue_message(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        channel=preferred_channel(session, clinic, contact),
        kind=MessageKind.PAYMENT,
        template_key="payment_receipt",
        idempotency_key=f"receipt:{payment.id}",
        due_at=now,
        variables={
            "amount": format_money(payment.amount_minor, payment.currency, short=True),
            "receipt": payment.receipt_number,
            "receipt_path": f"/pay/receipt/{payment.public_token}.pdf",
        },
    )


def _payment_for_update(session: Session, clinic_id: int, payment_id: int) -> Payment:
    payment = session.scalar(
        select(Payment)
        .where(Payment.id == payment_id, Payment.clinic_id == clinic_id)
        .with_for_update()
    )
    if payment is None:
        raise NotFound(what="payment")
    return payment


# --- what Razorpay tells us -----------------------------------------------------------


def apply_link(
    session: Session,
    link: PaymentLink,
    *,
    status: str,
    amount_paid_minor: int,
    payments: Iterable[ProviderPayment],
    now: datetime,
) -> None:
    """Razorpay's view of a link (from a webhook or a fetch), applied idempotently: each
    captured payment is recorded once; the status only moves forward."""
    clinic = session.get(Clinic, link.clinic_id)
    assert clinic is not None
    system = Actor.system()
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
            recorded_by=system.label(),
        )
        session.add(payment)
        _received(
            session, clinic, payment, now=now, actor=system, prefer_invoice_id=link.invoice_id
        )
    try:
        incoming = LinkStatus(status)
    except ValueError:
        incoming = link.status
    before = audit.snapshot(link)
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
    if link.status in (LinkStatus.EXPIRED, LinkStatus.CANCELLED):
        release_hold(session, link.appointment_id, now=now)


def drop_hold(session: Session, appointment_id: int | None) -> None:
    """The link could not be made (Razorpay refused it): keep the booking, unpaid, for
    staff to settle, rather than release it for a payment the patient could not make."""
    if appointment_id is None:
        return
    appointment = session.get(Appointment, appointment_id)
    if appointment is not None and appointment.hold_expires_at is not None:
        appointment.hold_expires_at = None
        if appointment.payment_status is PaymentStatus.PENDING:
            appointment.payment_status = PaymentStatus.UNPAID


def release_hold(session: Session, appointment_id: int | None, *, now: datetime) -> bool:
    """An unpaid prepaid booking whose hold ran out: cancel it, free the slot, tell them."""
    if appointment_id is None:
        return False
    appointment = session.scalar(
        select(Appointment).where(Appointment.id == appointment_id).with_for_update()
    )
    if (
        appointment is None
        or appointment.hold_expires_at is None
        or appointment.status is not AppointmentStatus.BOOKED
        or appointment.payment_status is PaymentStatus.PAID
    ):
        return False
    from services.appointments import cancel_appointment

    cancel_appointment(
        session,
        clinic_id=appointment.clinic_id,
        appointment_id=appointment.id,
        now=now,
        actor=Actor.system(),
        reason="payment not received in time",
        notice="hold_expired",
    )
    return True


def expired_holds(session: Session, *, now: datetime) -> list[int]:
    """Held bookings past their hold whose link Razorpay has not reported on: these are
    fetched (``gateway_jobs.reconcile``) before being released, never released blind."""
    return list(
        session.scalars(
            select(PaymentLink.id)
            .join(Appointment, Appointment.id == PaymentLink.appointment_id)
            .where(
                Appointment.hold_expires_at <= now,
                Appointment.status == AppointmentStatus.BOOKED,
                PaymentLink.status.in_([LinkStatus.CREATED, LinkStatus.PARTIALLY_PAID]),
            )
        )
    )


# --- money out ------------------------------------------------------------------------


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

    Razorpay payments: a pending row the gateway job submits; final on
    ``refund.processed``. Money taken at the desk: handed back, final at once.
    """
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidInput(detail="The refund must be more than zero.")
    if not (reason or "").strip():
        raise InvalidInput(detail="Please give a reason for the refund.")
    if actor.type is not ActorType.STAFF:
        raise InvalidTransition("Only staff can refund.")
    with write_transaction(session):
        payment = _payment_for_update(session, clinic_id, payment_id)
        if payment.status is not PaymentState.RECEIVED:
            raise InvalidTransition("Only a received payment can be refunded.")
        if payment.method is PaymentMethod.CREDIT:
            raise InvalidTransition("A session paid from credit is returned as credit.")
        free = billing.payment_available(session, payment.id)
        if amount_minor > free:
            raise InvalidInput(
                detail=(
                    f"At most {format_money(free, payment.currency)} of this payment can be "
                    "refunded: the rest pays invoices. Void an invoice first to refund it."
                )
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


# --- staff ask for a session's money --------------------------------------------------


@dataclass(frozen=True)
class PaymentRequest:
    """What ``send_payment_request`` did: ``kind`` is "link" (a Razorpay link the sweep
    creates and sends), "upi" (UPI details sent in the chat) or "settled" (money the
    contact had on account paid it, so nothing was asked)."""

    kind: str
    amount_minor: int
    link_id: int | None = None
    payment_id: int | None = None


def send_payment_request(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> PaymentRequest:
    """Staff ask the patient to pay for one session: issue (or reuse) its invoice, use any
    money on account first, then ask for the rest by Razorpay link or UPI request.

    An open link for the same amount is sent again rather than a second one opened.
    """
    with write_transaction(session):
        appointment = session.scalar(
            select(Appointment)
            .where(Appointment.id == appointment_id, Appointment.clinic_id == clinic_id)
            .with_for_update()
        )
        if appointment is None:
            raise NotFound(what="appointment")
        if appointment.status is AppointmentStatus.CANCELLED:
            raise InvalidTransition("This session is cancelled, so there is nothing to pay.")
        if appointment.price_minor == 0 or appointment.payment_status in (
            PaymentStatus.NOT_REQUIRED,
            PaymentStatus.PAID,
            PaymentStatus.REFUNDED,
        ):
            raise InvalidTransition("This session is free or already paid.")
        clinic = session.get(Clinic, clinic_id)
        assert clinic is not None
        if not (uses_razorpay(clinic) or uses_upi(clinic)):
            raise InvalidTransition(
                "This clinic takes no online payments yet: connect Razorpay or set a UPI ID "
                "in the clinic settings, or record the payment at the desk."
            )
        invoice = billing.invoice_appointment(session, appointment, now=now, actor=actor)
        assert invoice is not None
        contact = appointment.patient.contact
        billing.settle(
            session, clinic_id, contact.id, now=now, actor=actor, prefer_invoice_id=invoice.id
        )
        due = invoice.total_minor - billing.invoice_paid(session, invoice.id)
        if due <= 0:
            return PaymentRequest("settled", 0)
        description = (
            f"{appointment.service.name} for {appointment.patient.name} ({appointment.number})"
        )
        if uses_razorpay(clinic) and due >= MIN_LINK_MINOR:
            still_open = session.scalar(
                select(PaymentLink)
                .where(
                    PaymentLink.appointment_id == appointment.id,
                    PaymentLink.amount_minor == due,
                    PaymentLink.status.in_([LinkStatus.PENDING, LinkStatus.CREATED]),
                    PaymentLink.expire_at > now + timedelta(hours=1),
                )
                .order_by(PaymentLink.id.desc())
                .limit(1)
            )
            if still_open is not None:
                # A pending link is sent by the sweep once Razorpay has made it.
                if still_open.status is LinkStatus.CREATED:
                    queue_link_message(session, still_open, now=now)
                link = still_open
            else:
                link = open_link(
                    session,
                    clinic=clinic,
                    contact=contact,
                    amount_minor=due,
                    description=description,
                    expire_at=now + DUES_LINK_LIFETIME,
                    now=now,
                    invoice=invoice,
                    appointment=appointment,
                    accept_partial=appointment.service.accept_partial,
                )
                assert link is not None
                session.flush()
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="payment_link.send" if still_open is not None else "payment_link.create",
                entity=link,
            )
            return PaymentRequest("link", due, link_id=link.id)
        if not uses_upi(clinic):
            raise InvalidInput(
                detail=f"{format_money(due, clinic.currency)} is below Razorpay's smallest "
                "link; please take it at the desk."
            )
        payment = request_upi(
            session,
            clinic=clinic,
            contact=contact,
            amount_minor=due,
            now=now,
            actor=actor,
            patient_id=appointment.patient_id,
            appointment=appointment,
        )
        return PaymentRequest("upi", due, payment_id=payment.id)
