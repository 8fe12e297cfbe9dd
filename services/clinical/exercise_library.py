"""The clinic's exercise library, per therapy type, and the suggested exercises.

The library (``Exercise``) is the clinic's, per therapy type (the specializations its
services and therapists carry, ``assessment_templates.therapy_types``); only the clinic's
admin adds, edits, archives or unarchives an exercise, and may add the suggested ones
(``DEFAULT_EXERCISES``) to a therapy type whose library is empty; the system adds them for
a new or demo clinic (``seed_library``). Library edits are settings, audited in full (no
patient data in them). Assignments to patients: ``services.clinical.exercises``.

The suggested exercises are data, not panel words (like the assessment templates'
defaults): they are copied into the clinic's library as written, in English, and the
clinic edits its own copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import write_transaction
from core.links import is_https_link
from models import Exercise, Role, StaffUser
from models.exercises import EXERCISE_NAME_MAX, MEDIA_URL_MAX
from models.notes import BODY_MAX
from services import audit
from services.audit import Actor
from services.clinical.assessment_templates import therapy_types
from services.clinical.notes import NoteRefused, clean_part
from services.errors import N_, Duplicate, InvalidInput
from services.locks import lock_in_clinic


@dataclass(frozen=True)
class SuggestedExercise:
    name: str
    instructions: str


DEFAULT_EXERCISES: dict[str, tuple[SuggestedExercise, ...]] = {
    "speech": (
        SuggestedExercise(
            "Mirror sound practice",
            "Sit with your child in front of a mirror. Say the target sound slowly and let "
            "your child copy it, watching their lips and tongue. Ten tries, praise each one.",
        ),
        SuggestedExercise(
            "Picture naming",
            "Show 10 pictures of everyday things. Ask your child to name each one. If a word "
            "is hard, say it once clearly and let them try again.",
        ),
        SuggestedExercise(
            "Blowing games",
            "Blow bubbles, a feather or a cotton ball across the table through a straw for "
            "5 minutes, to build breath control and lip strength.",
        ),
        SuggestedExercise(
            "Story talk",
            "Read a short picture book together. Stop on each page and ask what is "
            "happening; wait for an answer before you read on.",
        ),
    ),
    "occupational": (
        SuggestedExercise(
            "Playdough squeeze",
            "Roll, squeeze and pinch playdough into balls and snakes for 5 minutes with each "
            "hand, to strengthen the fingers.",
        ),
        SuggestedExercise(
            "Bead threading",
            "Thread 20 large beads onto a string, holding the string in one hand and the bead "
            "in the other. Use smaller beads as it gets easy.",
        ),
        SuggestedExercise(
            "Tracing lines and shapes",
            "Trace straight lines, curves and circles on paper with a thick crayon, staying "
            "on the line. Five shapes each time.",
        ),
    ),
    "physiotherapy": (
        SuggestedExercise(
            "Heel raises",
            "Stand holding a chair. Rise slowly onto the toes, hold for 3 seconds and lower. "
            "Ten times.",
        ),
        SuggestedExercise(
            "Bridging",
            "Lie on the back with knees bent and feet flat. Lift the hips off the floor, hold "
            "for 5 seconds and lower slowly. Ten times.",
        ),
        SuggestedExercise(
            "Single-leg balance",
            "Stand on one leg next to a wall for up to 30 seconds, then the other leg. Three "
            "times each side.",
        ),
        SuggestedExercise(
            "Hamstring stretch",
            "Sit with one leg straight and reach gently towards the toes until a stretch is "
            "felt. Hold for 20 seconds, three times each leg.",
        ),
    ),
}


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
    if not is_https_link(url, most=MEDIA_URL_MAX):
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
