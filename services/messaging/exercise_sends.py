"""Home-exercise nudges at send time: which still go, and which are cancelled.

A nudge (kind EXERCISE, ``services.clinical.exercise_nudges``) carries its assignment and
clinic-local day in its variables. When it comes to be sent (on time, or late after an
outage or retries) it goes only while it still means something:

* never in the quiet hours (``QUIET_FROM``–``QUIET_UNTIL``, clinic time): a nudge for
  today arriving after 21:00 is noise, and one whose day is over is stale; both are
  cancelled, not held (tomorrow has its own nudge);
* not for an assignment stopped by a therapist or past its end, or another clinic's;
* not to an erased contact (an opt-out is checked for every message, in ``delivery``).

Lives in messaging (below clinical) because delivery asks it; the quiet hours are defined
here for that reason and re-exported by ``services.clinical.exercise_nudges``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Clinic, Contact, ExerciseAssignment, MessageKind, OutboundMessage

# No nudge is sent from 21:00 until 08:00, clinic time.
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)

STALE = "the exercise nudge's day is over"
QUIET = "an exercise nudge is not sent in the quiet hours"
ENDED = "the home exercise was stopped or has ended"
ERASED = "the contact's data was erased"


def in_quiet_hours(local: time) -> bool:
    return local >= QUIET_FROM or local < QUIET_UNTIL


def nudge_of(message: OutboundMessage) -> tuple[int, date] | None:
    """(assignment id, clinic-local day) of an exercise nudge; None for any other row."""
    if message.kind is not MessageKind.EXERCISE:
        return None
    variables = message.variables or {}
    try:
        return int(variables["assignment_id"]), date.fromisoformat(str(variables["day"]))
    except (KeyError, TypeError, ValueError):
        return None


def unwanted_nudge(
    session: Session, message: OutboundMessage, clinic: Clinic, contact: Contact, now: datetime
) -> str | None:
    """Why this exercise nudge should not go now (it is then cancelled), or None."""
    nudge = nudge_of(message)
    if nudge is None:
        return None
    if contact.erased_at is not None:
        return ERASED
    assignment_id, day = nudge
    local = now.astimezone(ZoneInfo(clinic.timezone))
    if local.date() > day:
        return STALE
    if in_quiet_hours(local.time()):
        return QUIET
    row = session.execute(
        select(ExerciseAssignment.stopped_at, ExerciseAssignment.ends_on).where(
            ExerciseAssignment.id == assignment_id,
            ExerciseAssignment.clinic_id == message.clinic_id,
        )
    ).first()
    if row is None or row.stopped_at is not None or row.ends_on < day:
        return ENDED
    return None
