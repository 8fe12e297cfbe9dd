"""The guardian's answer to a home-exercise nudge, read from the chat.

Delivery remembers the last nudge sent in the conversation's data (``EXERCISE_NUDGE``:
its assignment and clinic-local day); it is answered until the end of the next day or
until the next nudge replaces it. While one is outstanding:

* "done", "did it", "ho gaya", "हो गया", "kar liya" → done (every repetition);
* "did 2 of 3", "2 of 3", "2/3", "3 mein se 2", "2 baar" → that many (all of them is
  done); a bare "2" is never taken (it may be a menu choice);
* "skipped", "skip", "nahi kiya", "नहीं किया", "not today" → skipped;
* a photo or a video → kept with the day's answer (``answer_media``), instead of the
  usual "passed to the clinic".

Anything else reads as it would without a nudge. Recording is
``services.clinical.exercise_replies``; the guardian is thanked in their language.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta

from sqlalchemy import select

from flows.dialog import Turn
from models import ExerciseAssignment, ExerciseOutcome, Patient
from services.clinical.exercise_replies import record_reply
from services.errors import ServiceError
from services.messaging.conversations import EXERCISE_NUDGE
from services.messaging.media import ACCEPTED_TYPES, media_kind


def _clean(text: str) -> str:
    """Lowercase words, digits and "/" (Devanagari kept whole), single-spaced."""
    return " ".join(re.sub(r"[^\w\s/\u0900-\u097F]", " ", text.casefold()).split())


DONE_WORDS = frozenset(
    _clean(p)
    for p in (
        "done",
        "all done",
        "done today",
        "did it",
        "we did it",
        "completed",
        "finished",
        "ho gaya",
        "ho gya",
        "ho gayi",
        "kar liya",
        "kar diya",
        "kar li",
        "हो गया",
        "हो गई",
        "कर लिया",
        "कर ली",
        "पूरा हो गया",
    )
)
SKIP_WORDS = frozenset(
    _clean(p)
    for p in (
        "skipped",
        "skip",
        "skip today",
        "not today",
        "not done",
        "missed",
        "didn't",
        "did not",
        "couldn't",
        "nahi kiya",
        "nahin kiya",
        "nahi hua",
        "aaj nahi",
        "नहीं किया",
        "नहीं हुआ",
        "आज नहीं",
    )
)
_N = r"(\d{1,2})"
# "2 of 3", "did 2 of 3", "2/3", "2 out of 3 done"
_OF = re.compile(rf"^(?:did |done )?{_N} ?(?:/|of|out of) ?{_N}(?: (?:done|today|times|kiya))?$")
# "3 mein se 2", "3 में से 2 बार"
_MEIN_SE = re.compile(
    rf"^{_N} (?:mein|me|main|men|में) (?:se|से) {_N}(?: (?:baar|bar|बार))?(?: (?:kiya|किया))?$"
)
# "2 baar", "2 बार किया", "did 2 times", "2 times"
_TIMES = re.compile(
    rf"^(?:did )?{_N} (?:baar|bar|बार|times)(?: (?:kiya|किया|kar liya|कर लिया|done|today))?$"
)


def read_answer(text: str) -> tuple[ExerciseOutcome, int | None] | None:
    """What the words say about the exercise, or None when they are not an answer."""
    words = _clean(text)
    if words in DONE_WORDS:
        return ExerciseOutcome.DONE, None
    if words in SKIP_WORDS:
        return ExerciseOutcome.SKIPPED, None
    match = _OF.match(words)
    if match:
        return ExerciseOutcome.PARTIAL, int(match.group(1))
    match = _MEIN_SE.match(words)
    if match:
        return ExerciseOutcome.PARTIAL, int(match.group(2))
    match = _TIMES.match(words)
    if match:
        return ExerciseOutcome.PARTIAL, int(match.group(1))
    return None


def outstanding(turn: Turn) -> tuple[ExerciseAssignment, date] | None:
    """The nudge this conversation may answer now: the clinic's, for one of this contact's
    patients, and not past the end of the day after its own (else forgotten)."""
    held = turn.data.get(EXERCISE_NUDGE)
    contact = turn.contact
    if not isinstance(held, dict) or contact is None:
        return None
    try:
        assignment_id, day = int(held["assignment_id"]), date.fromisoformat(str(held["day"]))
    except (KeyError, TypeError, ValueError):
        turn.data.pop(EXERCISE_NUDGE, None)
        return None
    if turn.now.date() > day + timedelta(days=1):
        turn.data.pop(EXERCISE_NUDGE, None)
        return None
    assignment = turn.session.scalar(
        select(ExerciseAssignment)
        .join(Patient, Patient.id == ExerciseAssignment.patient_id)
        .where(
            ExerciseAssignment.id == assignment_id,
            ExerciseAssignment.clinic_id == turn.clinic.id,
            Patient.clinic_id == turn.clinic.id,
            Patient.contact_id == contact.id,
        )
    )
    if assignment is None:
        turn.data.pop(EXERCISE_NUDGE, None)
        return None
    return assignment, day


def answer(turn: Turn, text: str) -> str | None:
    """The thanks for an answer to the outstanding nudge, or None (read as usual)."""
    read = read_answer(text)
    if read is None:
        return None
    found = outstanding(turn)
    if found is None:
        return None
    assignment, day = found
    try:
        reply = record_reply(
            turn.session,
            assignment,
            day=day,
            outcome=read[0],
            done_count=read[1],
            message_id=None,
            now=turn.now,
        )
    except ServiceError:
        return None
    return _thanks(turn, assignment, day, reply.outcome, reply.done_count)


def media_shape(media_types: tuple[str, ...]) -> str | None:
    """A photo when only photos came, a video when a video came (with photos or not)
    ("photo", "video"), else None (other files)."""
    shapes = set()
    for declared in media_types:
        base = declared.split(";")[0].strip().lower()
        kind = media_kind(base) if base in ACCEPTED_TYPES else None
        if kind == "image":
            shapes.add("photo")
        elif kind == "video":
            shapes.add("video")
        else:
            return None
    return "video" if "video" in shapes else ("photo" if shapes else None)


def answer_media(turn: Turn, *, media_types: tuple[str, ...], text: str) -> str | None:
    """A photo or video (with or without words) while a nudge is outstanding: kept with
    the day's answer once the message is stored (its id is the reply's ``message_id``);
    None when no nudge is outstanding or other files came."""
    shape = media_shape(media_types)
    if shape is None:
        return None
    found = outstanding(turn)
    if found is None:
        return None
    assignment, day = found
    read = read_answer(text) if text else None
    outcome, count = read or (ExerciseOutcome.MEDIA, None)

    def keep(message_id: int) -> None:
        # Refused (it checks before it writes): the message is stored all the same.
        with contextlib.suppress(ServiceError):
            record_reply(
                turn.session,
                assignment,
                day=day,
                outcome=outcome,
                done_count=count,
                message_id=message_id,
                now=turn.now,
            )

    turn.after_store.append(keep)
    return turn.say(f"exercise_{shape}", patient=_first(assignment))


def _first(assignment: ExerciseAssignment) -> str:
    name = assignment.patient.name
    return name.split()[0] if name else ""


def _thanks(
    turn: Turn,
    assignment: ExerciseAssignment,
    day: date,
    outcome: ExerciseOutcome,
    done_count: int | None,
) -> str:
    when = turn.say("exercise_today" if day == turn.now.date() else "exercise_yesterday")
    patient = _first(assignment)
    if outcome is ExerciseOutcome.SKIPPED:
        return turn.say("exercise_skipped", patient=patient)
    if outcome is ExerciseOutcome.PARTIAL:
        return turn.say(
            "exercise_partial",
            patient=patient,
            done=done_count,
            repetitions=assignment.repetitions,
            day=when,
        )
    return turn.say("exercise_done", patient=patient, exercise=assignment.exercise.name, day=when)
