"""Row locks more than one domain takes before it changes an appointment.

Kept below scheduling and billing alike, so neither imports the other to lock a row.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appointment
from services.errors import NotFound


def lock_appointment(session: Session, clinic_id: int, appointment_id: int) -> Appointment:
    """The clinic's appointment, locked (FOR UPDATE) until the transaction ends, so a
    cancellation or a second payment cannot slip in between a check and its change;
    ``NotFound`` for another clinic's appointment or none."""
    appointment = session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id, Appointment.clinic_id == clinic_id)
        .with_for_update()
    )
    if appointment is None:
        raise NotFound(what="appointment")
    return appointment
