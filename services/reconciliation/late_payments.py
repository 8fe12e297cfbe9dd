"""A booking's payment that arrives after its hold ran out and the slot was released.

Razorpay may report a link paid after we released the booking it held (the patient
paid at the last second, or the webhook came late and reconcile had already
released it). The money is recorded as usual (``payments.apply_link``) and, its
invoice being void, sits on the contact's account. Then:

- the same time still free: it is booked again for the patient through
  ``book_appointment`` (audited; the new invoice is paid from the money on account)
  and the patient is told so;
- not (taken meanwhile, or too close now to book): the money stays on account, the
  chat goes to the staff queue with a note proposing a refund or another time, and
  the patient is told the clinic will refund or move them.

Runs inside the caller's unit of work (``razorpay_sync``), once per link: only when
the link becomes paid, and guarded by the patient message's idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.formatting import format_money, format_when
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Contact,
    MessageKind,
    OutboundMessage,
    PaymentLink,
)
from services import audit
from services.audit import Actor
from services.errors import ServiceError
from services.messaging import handoff
from services.messaging.outbox import preferred_channel, queue_for_contact
from services.scheduling.appointments import book_appointment
from services.scheduling.holds import HOLD_RELEASED_REASON


@dataclass(frozen=True)
class LateOutcome:
    rebooked: Appointment | None  # the new booking, or None when staff must act


def settle_late_payment(
    session: Session, link: PaymentLink, *, now: datetime
) -> LateOutcome | None:
    """The link was just paid: if its booking had been released for want of payment,
    book the time again where it is still free, else refer the patient to staff."""
    if link.appointment_id is None:
        return None
    released = session.scalar(
        select(Appointment)
        .where(Appointment.id == link.appointment_id, Appointment.clinic_id == link.clinic_id)
        .with_for_update()
    )
    if (
        released is None
        or released.status is not AppointmentStatus.CANCELLED
        or released.cancellation_reason != HOLD_RELEASED_REASON
    ):
        return None  # still held (the usual case), or cancelled by someone: money on account
    key = f"late_payment:{link.id}"
    if session.scalar(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)):
        return None  # handled already (a duplicate report of the same payment)
    clinic = session.get(Clinic, link.clinic_id)
    contact = session.get(Contact, link.contact_id)
    assert clinic is not None and contact is not None
    system = Actor.system()
    rebooked = _book_again(session, released, now=now, actor=system)
    if rebooked is None:
        _refer_slot_gone(session, clinic, contact, link, released, key=key, now=now, actor=system)
        return LateOutcome(rebooked=None)
    audit.record(
        session,
        clinic_id=clinic.id,
        actor=system,
        action="appointment.rebook_after_late_payment",
        entity=rebooked,
        after={"released_appointment_id": released.id, "payment_link_id": link.id},
    )
    queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.NOTICE,
        template_key="late_payment_rebooked",
        idempotency_key=key,
        due_at=now,
        appointment_id=rebooked.id,
    )
    return LateOutcome(rebooked=rebooked)


def _book_again(
    session: Session, released: Appointment, *, now: datetime, actor: Actor
) -> Appointment | None:
    """The released booking's time, booked again for the same patient; None when it
    cannot be (taken meanwhile, or too close, or past, to book now)."""
    try:
        return book_appointment(
            session,
            clinic_id=released.clinic_id,
            patient_id=released.patient_id,
            service_id=released.service_id,
            start=released.start_at,
            now=now,
            actor=actor,
            source=released.source,
            therapist_id=released.therapist_id,
            location_id=released.location_id,
        )
    except ServiceError:
        return None


def _refer_slot_gone(
    session: Session,
    clinic: Clinic,
    contact: Contact,
    link: PaymentLink,
    released: Appointment,
    *,
    key: str,
    now: datetime,
    actor: Actor,
) -> None:
    """The money stays on account: the chat goes to staff with a note, and the patient
    is told the clinic will refund or move them."""
    amount = format_money(link.amount_paid_minor or link.amount_minor, link.currency, short=True)
    handoff.refer_to_staff(
        session,
        clinic_id=clinic.id,
        contact=contact,
        channel=preferred_channel(session, clinic, contact),
        note=(
            f"Paid {amount} after {released.number} "
            f"({format_when(released.start_at, clinic.timezone)}) was released, and that "
            "time is no longer free. The money is on account: refund it or book another "
            "time, then tell the patient."
        ),
        now=now,
        actor=actor,
    )
    queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.NOTICE,
        template_key="late_payment_slot_gone",
        idempotency_key=key,
        due_at=now,
        appointment_id=released.id,
        variables={"amount": amount},
    )
