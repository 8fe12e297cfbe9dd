"""What the booking forms share: how a patient is named among the choices, and the
sentence that confirms a booking — the patient, the time, and what the guardian is told.

What the guardian is told is read from the outbox rows the booking queued, so the
sentence says what will actually be sent, not what we expect the services to do.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.formatting import format_phone, format_when
from models import Appointment, Channel, MessageKind, OutboundMessage, OutboundStatus, Patient


def patient_choice(patient: Patient) -> str:
    """``Aarav — Asha Verma, +91 98765 43210``: the name, who books for them, their number."""
    contact = patient.contact
    return f"{patient.name} — {contact.name or 'guardian'}, {format_phone(contact.phone)}"


def booked_sentence(session: Session, appointment: Appointment, timezone: str) -> str:
    when = format_when(appointment.start_at, timezone)
    what = (
        f"{appointment.patient.name}, {appointment.service.name} with "
        f"{appointment.therapist.name}, {when}"
    )
    if appointment.backdated:
        return (
            f"Entered {appointment.number}: {what} — back-dated (it had already started). "
            f"{_guardian(appointment)} is not sent any message about it."
        )
    return f"Booked {appointment.number}: {what}. {_told(session, appointment)}"


def _guardian(appointment: Appointment) -> str:
    contact = appointment.patient.contact
    return contact.name or format_phone(contact.phone)


def _told(session: Session, appointment: Appointment) -> str:
    queued = session.execute(
        select(OutboundMessage.kind, OutboundMessage.channel).where(
            OutboundMessage.appointment_id == appointment.id,
            # Not only queued: the notice may be on its way already once the booking commits.
            OutboundMessage.status != OutboundStatus.CANCELLED,
        )
    ).all()
    notices = [channel for kind, channel in queued if kind is MessageKind.NOTICE]
    reminders = sum(1 for kind, _ in queued if kind is MessageKind.REMINDER)
    who = _guardian(appointment)
    if not notices and not reminders:
        return f"{who} is not sent any message about it."
    parts = []
    if notices:
        parts.append(f"is told of the booking now by {_channel(notices[0])}")
    if reminders:
        parts.append(f"gets {reminders} reminder{'s' if reminders > 1 else ''} before it")
    return f"{who} {' and '.join(parts)}."


def _channel(channel: Channel) -> str:
    return "WhatsApp" if channel is Channel.WHATSAPP else "SMS"
