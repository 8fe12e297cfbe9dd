"""Home exercise programmes: the clinic's exercise library and the assignments to patients.

The library (``Exercise``) is the clinic's, per therapy type (the specializations its
services and therapists carry, ``assessment_templates.therapy_types``); only the clinic's
admin adds, edits, archives or unarchives an exercise, and may add the suggested ones
(``exercise_library``) to a therapy type whose library is empty. Library edits are
settings, audited in full (no patient data in them).

An assignment gives an exercise to a patient: on which weekdays, how many times a day,
from when until when, and when the guardian is nudged (never in the quiet hours,
``QUIET_FROM``–``QUIET_UNTIL`` clinic time: the one place that rule lives). Who may assign
or stop one: the patient's clinicians (``goals.require_clinician``). Nudges are queued and
cancelled by ``exercise_nudges``; adherence is read from the replies
(``exercise_adherence``). Assignment audit rows leave the therapist's notes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.clock import require_aware
from core.db import write_transaction
from models import Clinic, Exercise, ExerciseAssignment, ExerciseReply, Patient, Role, StaffUser
from models.exercises import EXERCISE_NAME_MAX, MEDIA_URL_MAX, REPETITIONS_MAX
from models.notes import BODY_MAX
from services import audit
from services.audit import Actor
from services.clinical import exercise_nudges
from services.clinical.assessment_templates import therapy_types
from services.clinical.exercise_library import DEFAULT_EXERCISES
from services.clinical.goals import require_clinician
from services.clinical.notes import NoteRefused, clean_part
from services.errors import N_, Duplicate, InvalidInput, NotFound, ServiceError
from services.locks import lock_in_clinic

# The quiet hours, clinic time: no nudge from QUIET_FROM until QUIET_UNTIL the next day.
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)
# The longest assignment: about six months, then the therapist assigns it again.
MAX_PERIOD = timedelta(days=183)


class ExerciseRefused(ServiceError):
    code = "exercise_refused"
    template = "%(detail)s"  # the sentence is the raise's ``detail``, marked there


def in_quiet_hours(at: time) -> bool:
    """Whether a clinic-local time falls in the quiet hours (21:00 is quiet; 08:00 is not)."""
    return at >= QUIET_FROM or at < QUIET_UNTIL


def clinic_today(session: Session, clinic_id: int, now: datetime) -> date:
    return now.astimezone(clinic_zone(session, clinic_id)).date()


def clinic_zone(session: Session, clinic_id: int) -> ZoneInfo:
    clinic = session.get(Clinic, clinic_id)
    return ZoneInfo(clinic.timezone if clinic is not None else "UTC")


# --- the library -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExerciseFields:
    therapy_type: str
    name: str
    instructions: str
    media_url: str | None = None


def library(
    session: Session, clinic_id: int, therapy_type: str | None = None, *, archived: bool = True
) -> Sequence[Exercise]:
    """The clinic's exercises (of one therapy type), by type and name."""
    query = select(Exercise).where(Exercise.clinic_id == clinic_id)
    if therapy_type is not None:
        query = query.where(Exercise.therapy_type == therapy_type)
    if not archived:
        query = query.where(Exercise.archived_at.is_(None))
    return session.scalars(query.order_by(Exercise.therapy_type, Exercise.name)).all()


def create_exercise(
    session: Session,
    *,
    clinic_id: int,
    fields: ExerciseFields,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> Exercise:
    now = require_aware(now, "now").astimezone(UTC)
    name, instructions, media_url = _clean(fields)
    _require_admin(session, clinic_id, actor, author_id)
    if fields.therapy_type not in therapy_types(session, clinic_id):
        raise InvalidInput(detail=N_("Please choose one of the clinic's therapy types."))
    with write_transaction(session):
        _require_unique(session, clinic_id, fields.therapy_type, name, None)
        exercise = Exercise(
            clinic_id=clinic_id,
            therapy_type=fields.therapy_type,
            name=name,
            instructions=instructions,
            media_url=media_url,
            created_at=now,
            updated_at=now,
        )
        session.add(exercise)
        session.flush()
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="exercise.create",
            entity=exercise,
            after=_library_fields(exercise),
        )
    return exercise


def edit_exercise(
    session: Session,
    *,
    clinic_id: int,
    exercise_id: int,
    fields: ExerciseFields,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> Exercise:
    """A new name, instructions or link; assignments made keep pointing at it. Its therapy
    type stays what it was."""
    now = require_aware(now, "now").astimezone(UTC)
    name, instructions, media_url = _clean(fields)
    _require_admin(session, clinic_id, actor, author_id)
    with write_transaction(session):
        exercise = lock_in_clinic(session, Exercise, clinic_id, exercise_id, what=N_("exercise"))
        _require_unique(session, clinic_id, exercise.therapy_type, name, exercise.id)
        before = _library_fields(exercise)
        exercise.name, exercise.instructions, exercise.media_url = name, instructions, media_url
        if _library_fields(exercise) != before:
            exercise.updated_at = now
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="exercise.edit",
                entity=exercise,
                before=before,
                after=_library_fields(exercise),
            )
    return exercise


def set_archived(
    session: Session,
    *,
    clinic_id: int,
    exercise_id: int,
    archived: bool,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> Exercise:
    """Archive (no new assignments; the ones made keep it) or bring it back."""
    now = require_aware(now, "now").astimezone(UTC)
    _require_admin(session, clinic_id, actor, author_id)
    with write_transaction(session):
        exercise = lock_in_clinic(session, Exercise, clinic_id, exercise_id, what=N_("exercise"))
        if (exercise.archived_at is not None) != archived:
            exercise.archived_at = now if archived else None
            exercise.updated_at = now
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="exercise.archive" if archived else "exercise.unarchive",
                entity=exercise,
                before={"archived": not archived},
                after={"archived": archived},
            )
    return exercise


def has_suggestions(session: Session, clinic_id: int, therapy_type: str) -> bool:
    """Whether the suggested exercises can be added: some exist for the type and the
    clinic's library for it is empty (archived exercises count)."""
    return therapy_type in DEFAULT_EXERCISES and not library(session, clinic_id, therapy_type)


def add_suggested(
    session: Session,
    *,
    clinic_id: int,
    therapy_type: str,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> list[Exercise]:
    """The suggested exercises of the therapy type, into the clinic's empty library for it."""
    now = require_aware(now, "now").astimezone(UTC)
    _require_admin(session, clinic_id, actor, author_id)
    if therapy_type not in therapy_types(session, clinic_id):
        raise InvalidInput(detail=N_("Please choose one of the clinic's therapy types."))
    if therapy_type not in DEFAULT_EXERCISES:
        raise InvalidInput(detail=N_("There are no suggested exercises for this therapy type."))
    with write_transaction(session):
        if library(session, clinic_id, therapy_type):
            raise InvalidInput(
                detail=N_("The suggested exercises are added only to an empty library.")
            )
        return _add_suggested(session, clinic_id, therapy_type, now, actor)


def seed_library(session: Session, *, clinic_id: int, now: datetime, actor: Actor) -> int:
    """The suggested exercises for each of the clinic's therapy types whose library is
    empty (a new or demo clinic's setup, by the system); returns how many were added."""
    now = require_aware(now, "now").astimezone(UTC)
    added = 0
    with write_transaction(session):
        for therapy_type in therapy_types(session, clinic_id):
            if has_suggestions(session, clinic_id, therapy_type):
                added += len(_add_suggested(session, clinic_id, therapy_type, now, actor))
    return added


def _add_suggested(
    session: Session, clinic_id: int, therapy_type: str, now: datetime, actor: Actor
) -> list[Exercise]:
    added = []
    for suggested in DEFAULT_EXERCISES[therapy_type]:
        exercise = Exercise(
            clinic_id=clinic_id,
            therapy_type=therapy_type,
            name=suggested.name,
            instructions=suggested.instructions,
            created_at=now,
            updated_at=now,
        )
        session.add(exercise)
        added.append(exercise)
    session.flush()
    for exercise in added:
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="exercise.create",
            entity=exercise,
            after=_library_fields(exercise) | {"suggested": True},
        )
    return added


def _clean(fields: ExerciseFields) -> tuple[str, str, str | None]:
    name = " ".join((fields.name or "").split())
    if not name or len(name) > EXERCISE_NAME_MAX:
        raise InvalidInput(
            N_("An exercise's name is 1 to %(most)s characters."), most=EXERCISE_NAME_MAX
        )
    instructions = clean_part(fields.instructions, BODY_MAX)
    if not instructions:
        raise InvalidInput(detail=N_("Please write the instructions the guardian reads."))
    return name, instructions, clean_media_url(fields.media_url)


def clean_media_url(value: str | None) -> str | None:
    """An https link to an image or a video, or None when blank; anything else refused."""
    url = (value or "").strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or len(url) > MEDIA_URL_MAX
        or any(ch.isspace() or ord(ch) < 32 for ch in url)
    ):
        raise InvalidInput(
            N_("The link must be an https:// address of up to %(most)s characters."),
            most=MEDIA_URL_MAX,
        )
    return url


def _require_unique(
    session: Session, clinic_id: int, therapy_type: str, name: str, own_id: int | None
) -> None:
    for other in library(session, clinic_id, therapy_type):
        if other.id != own_id and other.name.casefold() == name.casefold():
            raise Duplicate(
                detail=N_("The library already has an exercise of that name for this type.")
            )


def _require_admin(session: Session, clinic_id: int, actor: Actor, author_id: int) -> None:
    author = session.get(StaffUser, author_id)
    if (
        author is None
        or not author.active
        or author.clinic_id != clinic_id
        or author.role is not Role.ADMIN
        or (actor.is_staff and actor.id != author_id)
    ):
        raise NoteRefused(detail=N_("Only the clinic's admin edits the exercise library."))


def _library_fields(exercise: Exercise) -> dict[str, object]:
    return {
        "therapy_type": exercise.therapy_type,
        "name": exercise.name,
        "instructions": exercise.instructions,
        "media_url": exercise.media_url,
    }


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
    days = sorted(set(weekdays))
    if not days or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise InvalidInput(detail=N_("Please choose at least one weekday."))
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
