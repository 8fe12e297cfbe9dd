"""Row locks every domain takes before it changes a clinic's row.

Kept below scheduling and billing alike, so neither imports the other to lock a row.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appointment
from services.errors import N_, NotFound

Row = TypeVar("Row")


def lock_in_clinic(
    session: Session, model: type[Row], clinic_id: int, row_id: int, *, what: str
) -> Row:
    """The clinic's row of ``model``, locked (FOR UPDATE) until the transaction ends, so
    nothing changes it between a check and the change that follows; ``NotFound`` (naming
    ``what``) for another clinic's row or none."""
    table: Any = model
    row = session.scalar(
        select(model).where(table.id == row_id, table.clinic_id == clinic_id).with_for_update()
    )
    if row is None:
        raise NotFound(what=what)
    return row


def lock_appointment(session: Session, clinic_id: int, appointment_id: int) -> Appointment:
    """The clinic's appointment, locked: a cancellation or a second payment cannot slip
    in between a check and its change."""
    return lock_in_clinic(session, Appointment, clinic_id, appointment_id, what=N_("appointment"))
