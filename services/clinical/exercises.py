"""Home exercise programmes: assigning an exercise of the clinic's library
(``exercise_library``) to a patient, and stopping it.

An assignment gives an exercise to a patient: on which weekdays, how many times a day,
from when until when, and when the guardian is nudged (never in the quiet hours,
``QUIET_FROM``–``QUIET_UNTIL`` clinic time, defined once with the nudges' delivery in
``services.messaging.exercise_sends``). Who may assign or stop one: the patient's
clinicians (``goals.require_clinician``). Nudges are queued and cancelled by
``exercise_nudges``; adherence is read from the replies (``exercise_adherence``).
Assignment audit rows leave the therapist's notes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.clock import require_aware
from core.db import write_transaction
from models import Clinic, Exercise, ExerciseAssignment, ExerciseReply, Patient
from models.exercises import REPETITIONS_MAX
from models.notes import BODY_MAX
from services import audit
from services.audit import Actor
from services.clinical import exercise_nudges
from services.clinical.goals import require_clinician
from services.clinical.notes import NoteRefused, clean_part
from services.errors import N_, InvalidInput, NotFound, ServiceError
from services.locks import lock_in_clinic
from services.messaging.exercise_sends import in_quiet_hours  # the one quiet-hours rule

# The longest assignment: about six months, then the therapist assigns it again.
MAX_PERIOD = timedelta(days=183)


class ExerciseRefused(ServiceError):
    code = "exercise_refused"
    template = "%(detail)s"  # the sentence is the raise's ``detail``, marked there


def clinic_today(session: Session, clinic_id: int, now: datetime) -> date:
    return now.astimezone(clinic_zone(session, clinic_id)).date()


def clinic_zone(session: Session, clinic_id: int) -> ZoneInfo:
    clinic = session.get(Clinic, clinic_id)
    return ZoneInfo(clinic.timezone if clinic is not None else "UTC")


# --- assignments -------------------------------------------------------------------------


def assign_exercise(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    exercise_id: int,
    author_id: int,
    weekdays: Sequence[int],
    repetitions: int,
    nudge_time: time,
    starts_on: date,
    ends_on: date,
    notes: str | None,
    now: datetime,
    actor: Actor,
) -> ExerciseAssignment:
    """An exercise for the patient, assigned in the author's name; its nudges queued."""
    now = require_aware(now, "now").astimezone(UTC)
    if not weekdays or any(type(d) is not int or not 0 <= d <= 6 for d in weekdays):
        raise InvalidInput(detail=N_("Please choose at least one weekday."))
    days = sorted(set(weekdays))
    if not isinstance(repetitions, int) or not 1 <= repetitions <= REPETITIONS_MAX:
        raise InvalidInput(N_("Times a day is a number from 1 to %(most)s."), most=REPETITIONS_MAX)
    nudge_time = nudge_time.replace(second=0, microsecond=0, tzinfo=None)
    if in_quiet_hours(nudge_time):
        raise InvalidInput(detail=N_("The nudge time is between 08:00 and 21:00, clinic time."))
    if starts_on < clinic_today(session, clinic_id, now):
        raise InvalidInput(detail=N_("An assignment cannot start in the past."))
    if ends_on < starts_on:
        raise InvalidInput(detail=N_("The end date is on or after the start date."))
    if ends_on - starts_on > MAX_PERIOD:
        raise InvalidInput(detail=N_("An assignment lasts at most six months."))
    span = min(7, (ends_on - starts_on).days + 1)
    if not any((starts_on + timedelta(days=n)).weekday() in days for n in range(span)):
        raise InvalidInput(detail=N_("The period has none of the chosen weekdays."))
    text = clean_part(notes, BODY_MAX)
    if actor.is_staff and actor.id != author_id:
        raise ExerciseRefused(detail=N_("Home exercises are assigned in one's own name."))
    with write_transaction(session):
        patient = lock_in_clinic(session, Patient, clinic_id, patient_id, what=N_("patient"))
        _require_clinician(session, clinic_id, patient.id, author_id)
        exercise = session.scalar(
            select(Exercise).where(Exercise.clinic_id == clinic_id, Exercise.id == exercise_id)
        )
        if exercise is None:
            raise NotFound(what=N_("exercise"))
        if exercise.archived_at is not None:
            raise InvalidInput(detail=N_("This exercise is archived; please choose another."))
        assignment = ExerciseAssignment(
            clinic_id=clinic_id,
            patient_id=patient.id,
            exercise_id=exercise.id,
            assigned_by_id=author_id,
            weekdays=days,
            repetitions=repetitions,
            nudge_time=nudge_time,
            starts_on=starts_on,
            ends_on=ends_on,
            notes=text,
            created_at=now,
            updated_at=now,
        )
        session.add(assignment)
        session.flush()
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="exercise_assignment.create",
            entity=assignment,
            after={
                "patient_id": patient.id,
                "exercise_id": exercise.id,
                "weekdays": days,
                "repetitions": repetitions,
                "nudge_time": nudge_time.strftime("%H:%M"),
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
            },
        )
        exercise_nudges.schedule_nudges(session, assignment, now=now)
    return assignment


def stop_assignment(
    session: Session,
    *,
    clinic_id: int,
    assignment_id: int,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> ExerciseAssignment:
    """Stop an assignment early: no nudges after now."""
    now = require_aware(now, "now").astimezone(UTC)
    if actor.is_staff and actor.id != author_id:
        raise ExerciseRefused(detail=N_("Home exercises are stopped in one's own name."))
    with write_transaction(session):
        assignment = lock_in_clinic(
            session, ExerciseAssignment, clinic_id, assignment_id, what=N_("home exercise")
        )
        _require_clinician(session, clinic_id, assignment.patient_id, author_id)
        if assignment.stopped_at is not None:
            raise InvalidInput(detail=N_("This home exercise was already stopped."))
        if assignment.ends_on < clinic_today(session, clinic_id, now):
            raise InvalidInput(detail=N_("This home exercise has already ended."))
        assignment.stopped_at = now
        assignment.stopped_by_id = author_id
        assignment.updated_at = now
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="exercise_assignment.stop",
            entity=assignment,
            before={"stopped": False},
            after={"stopped": True},
        )
        exercise_nudges.cancel_nudges(session, assignment, now=now)
    return assignment


def status(assignment: ExerciseAssignment, today: date) -> str:
    """ "stopped", "ended" (past its end date) or "active" (running, or yet to start)."""
    if assignment.stopped_at is not None:
        return "stopped"
    return "ended" if assignment.ends_on < today else "active"


def assignments_for_patient(
    session: Session, clinic_id: int, patient_id: int
) -> Sequence[ExerciseAssignment]:
    """The patient's assignments, newest first, each with its exercise and replies."""
    return session.scalars(
        select(ExerciseAssignment)
        .where(
            ExerciseAssignment.clinic_id == clinic_id,
            ExerciseAssignment.patient_id == patient_id,
        )
        .options(joinedload(ExerciseAssignment.exercise), selectinload(ExerciseAssignment.replies))
        .order_by(ExerciseAssignment.created_at.desc(), ExerciseAssignment.id.desc())
    ).all()


def latest_replies(
    session: Session, clinic_id: int, patient_id: int, limit: int = 10
) -> Sequence[ExerciseReply]:
    """The patient's latest replies, newest day first, each with its assignment's exercise."""
    return session.scalars(
        select(ExerciseReply)
        .join(ExerciseAssignment, ExerciseAssignment.id == ExerciseReply.assignment_id)
        .where(
            ExerciseReply.clinic_id == clinic_id,
            ExerciseAssignment.clinic_id == clinic_id,
            ExerciseAssignment.patient_id == patient_id,
        )
        .options(joinedload(ExerciseReply.assignment).joinedload(ExerciseAssignment.exercise))
        .order_by(ExerciseReply.day.desc(), ExerciseReply.id.desc())
        .limit(limit)
    ).all()


def _require_clinician(session: Session, clinic_id: int, patient_id: int, author_id: int) -> None:
    try:
        require_clinician(session, clinic_id, patient_id, author_id)
    except NoteRefused:
        raise ExerciseRefused(
            detail=N_("Home exercises are assigned by the patient's therapists and the admin.")
        ) from None
