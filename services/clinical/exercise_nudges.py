"""Nudges for home exercises: one chat message per practice day, at the assignment's time.

``schedule_nudges`` queues an outbox row (kind EXERCISE, template ``exercise_nudge``) for
every assigned weekday from today (clinic-local) to the assignment's last day, due at its
``nudge_time`` in the clinic's zone (so a London clinic's 17:00 is 16:00 UTC in summer and
17:00 in winter); none in the past, one per day whatever the number of calls (key
``exercise:<assignment>:<YYYYMMDD>``). It costs one read of the keys and one INSERT of the
rows, however many days. ``cancel_nudges`` withdraws the ones not sent yet (a stopped or
changed assignment); scheduling again afterwards replaces them.

At send time (``services.messaging.exercise_sends``) a nudge that would arrive in the
quiet hours or after its day, or for a stopped assignment, is cancelled; a sent one is
remembered by the conversation so the guardian's "done" answers it (``flows.exercises``).

The quiet hours are defined in messaging (delivery needs them) and re-exported here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.clock import require_aware
from models import (
    Clinic,
    Contact,
    ExerciseAssignment,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
)
from services.messaging.exercise_sends import QUIET_FROM, QUIET_UNTIL, in_quiet_hours
from services.messaging.outbox import preferred_channel

__all__ = ["QUIET_FROM", "QUIET_UNTIL", "cancel_nudges", "nudge_key", "schedule_nudges"]

TEMPLATE = "exercise_nudge"
# A guard, not a policy: an assignment runs for weeks or months (six at most in practice).
MAX_DAYS = 366
WITHDRAWN = "the home exercise was stopped or changed"


def nudge_key(assignment_id: int, day: date) -> str:
    return f"exercise:{assignment_id}:{day:%Y%m%d}"


def nudge_days(
    assignment: ExerciseAssignment, *, zone: ZoneInfo, now: datetime
) -> dict[date, datetime]:
    """Each day still to be nudged → when (aware UTC): assigned weekdays from today
    (clinic-local) to the last day, at the nudge time, not already past."""
    today = now.astimezone(zone).date()
    first = max(assignment.starts_on, today)
    last = min(assignment.ends_on, today + timedelta(days=MAX_DAYS))
    weekdays = {int(d) for d in assignment.weekdays or []}
    found: dict[date, datetime] = {}
    day = first
    while day <= last:
        if day.weekday() in weekdays:
            due = datetime.combine(day, assignment.nudge_time, tzinfo=zone).astimezone(UTC)
            if due > now:
                found[day] = due
        day += timedelta(days=1)
    return found


def schedule_nudges(session: Session, assignment: ExerciseAssignment, *, now: datetime) -> int:
    """Queue the assignment's nudges from now to its end; returns how many were queued.

    Inside the caller's transaction. Nothing for a stopped assignment, an erased contact,
    or a nudge time in the quiet hours. A day whose nudge is already queued or was sent
    keeps it; a day whose nudge was withdrawn (``cancel_nudges``) and never went gets a
    new one (the withdrawn row is removed so its key is free)."""
    now = require_aware(now, "now")
    if assignment.stopped_at is not None or in_quiet_hours(assignment.nudge_time):
        return 0
    clinic = session.get(Clinic, assignment.clinic_id)
    patient = assignment.patient
    contact = session.get(Contact, patient.contact_id)
    assert clinic is not None and contact is not None
    if contact.erased_at is not None:
        return 0  # an erased contact has no number left to send to
    due_by_key = {
        nudge_key(assignment.id, day): (day, due)
        for day, due in nudge_days(assignment, zone=ZoneInfo(clinic.timezone), now=now).items()
    }
    if not due_by_key:
        return 0
    withdrawn = OutboundMessage.idempotency_key.in_(list(due_by_key)) & (
        OutboundMessage.status == OutboundStatus.CANCELLED
    )
    session.execute(
        delete(OutboundMessage)
        .where(
            withdrawn,
            OutboundMessage.clinic_id == assignment.clinic_id,
            OutboundMessage.sent_at.is_(None),
            OutboundMessage.attempts == 0,
        )
        .execution_options(synchronize_session=False)
    )
    taken = set(
        session.scalars(
            select(OutboundMessage.idempotency_key).where(
                OutboundMessage.idempotency_key.in_(list(due_by_key))
            )
        )
    )
    channel = preferred_channel(session, clinic, contact)
    common = {
        "patient": patient.name.split()[0] if patient.name else "",
        "exercise": assignment.exercise.name,
        "repetitions": assignment.repetitions,
        "assignment_id": assignment.id,
    }
    rows = [
        OutboundMessage(
            clinic_id=clinic.id,
            contact_id=contact.id,
            channel=channel,
            kind=MessageKind.EXERCISE,
            template_key=TEMPLATE,
            variables={**common, "day": day.isoformat()},
            idempotency_key=key,
            due_at=due,
            next_attempt_at=due,
        )
        for key, (day, due) in due_by_key.items()
        if key not in taken
    ]
    session.add_all(rows)
    return len(rows)


def cancel_nudges(session: Session, assignment: ExerciseAssignment, *, now: datetime) -> int:
    """Cancel the assignment's nudges not yet sent; returns how many were cancelled.
    Inside the caller's transaction (a nudge being sent right now goes)."""
    require_aware(now, "now")
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.clinic_id == assignment.clinic_id,
            OutboundMessage.kind == MessageKind.EXERCISE,
            OutboundMessage.status == OutboundStatus.QUEUED,
            OutboundMessage.idempotency_key.startswith(f"exercise:{assignment.id}:"),
        )
        .values(status=OutboundStatus.CANCELLED, error_message=WITHDRAWN)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
