"""Holds: a prepaid booking kept for the patient while its payment link is open.

Billing only records what the provider reports about the link; what that means for the
booking is decided here, on the scheduling side: a link that ended unpaid releases
the booking (``release_hold``), one that could not be made keeps it unpaid for staff
(``drop_hold``). ``razorpay_sync`` and ``stripe_sync`` call these after applying a link.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Appointment,
    AppointmentStatus,
    LinkStatus,
    PaymentLink,
    PaymentStatus,
)
from services.audit import Actor
from services.scheduling.appointments import cancel_appointment

# Why release_hold cancelled a booking: a payment arriving later may book it again
# (services.reconciliation.late_payments).
HOLD_RELEASED_REASON = "payment not received in time"


def release_for_link(session: Session, link: PaymentLink, *, now: datetime) -> bool:
    """A link that ended unpaid (expired or cancelled) releases the booking it held."""
    if link.status not in (LinkStatus.EXPIRED, LinkStatus.CANCELLED):
        return False
    return release_hold(session, link.appointment_id, now=now)


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
    cancel_appointment(
        session,
        clinic_id=appointment.clinic_id,
        appointment_id=appointment.id,
        now=now,
        actor=Actor.system(),
        reason=HOLD_RELEASED_REASON,
        notice="hold_expired",
    )
    return True


def expired_holds(
    session: Session, *, now: datetime, provider: str, clinic_id: int | None = None
) -> list[int]:
    """Held bookings past their hold whose link the provider has not reported on: these
    are fetched (``razorpay_sync.reconcile``, ``stripe_sync.reconcile``) before being
    released, never released blind."""
    return list(
        session.scalars(
            select(PaymentLink.id)
            .join(Appointment, Appointment.id == PaymentLink.appointment_id)
            .where(
                Appointment.hold_expires_at <= now,
                Appointment.status == AppointmentStatus.BOOKED,
                PaymentLink.status.in_([LinkStatus.CREATED, LinkStatus.PARTIALLY_PAID]),
                PaymentLink.provider == provider,
                *(() if clinic_id is None else (PaymentLink.clinic_id == clinic_id,)),
            )
        )
    )
