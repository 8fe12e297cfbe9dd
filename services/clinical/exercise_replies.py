"""The guardians' answers to home-exercise nudges: one row per assignment and day.

``record_reply`` writes what the chat understood (``flows.exercises``): done, some of the
day's repetitions, skipped, or only a photo or a video. A later answer for the same day
replaces the outcome; a photo or video sent that day stays attached (``message_id``), and
a photo after words keeps the words' outcome. Every change is audited with the contact
(the guardian) as the actor, in the caller's transaction (the chat turn's).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import require_aware
from models import (
    ExerciseAssignment,
    ExerciseOutcome,
    ExerciseReply,
    InboundMessage,
    Patient,
)
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidInput

WORDS = (ExerciseOutcome.DONE, ExerciseOutcome.PARTIAL, ExerciseOutcome.SKIPPED)


def settled(
    outcome: ExerciseOutcome, done_count: int | None, repetitions: int
) -> tuple[ExerciseOutcome, int | None]:
    """The outcome and count as kept: "done" is every repetition, "3 of 3" is done, "0 of 3"
    is skipped."""
    if outcome is ExerciseOutcome.DONE:
        return outcome, repetitions
    if outcome is ExerciseOutcome.PARTIAL:
        count = max(0, done_count or 0)
        if count >= repetitions:
            return ExerciseOutcome.DONE, count
        if count == 0:
            return ExerciseOutcome.SKIPPED, 0
        return outcome, count
    if outcome is ExerciseOutcome.SKIPPED:
        return outcome, 0
    return outcome, None


def record_reply(
    session: Session,
    assignment: ExerciseAssignment,
    *,
    day: date,
    outcome: ExerciseOutcome,
    done_count: int | None,
    message_id: int | None,
    now: datetime,
) -> ExerciseReply:
    """The guardian's answer for ``day``: a new row, or the day's row updated."""
    now = require_aware(now, "now")
    if not assignment.starts_on <= day <= assignment.ends_on:
        raise InvalidInput(detail=N_("That day is outside the home exercise's period."))
    if message_id is not None:
        message_clinic = session.scalar(
            select(InboundMessage.clinic_id).where(InboundMessage.id == message_id)
        )
        if message_clinic != assignment.clinic_id:
            raise InvalidInput(detail=N_("That message is not this clinic's."))
    contact_id = session.scalar(
        select(Patient.contact_id).where(
            Patient.id == assignment.patient_id, Patient.clinic_id == assignment.clinic_id
        )
    )
    assert contact_id is not None
    outcome, done_count = settled(outcome, done_count, assignment.repetitions)
    reply = session.scalar(
        select(ExerciseReply).where(
            ExerciseReply.clinic_id == assignment.clinic_id,
            ExerciseReply.assignment_id == assignment.id,
            ExerciseReply.day == day,
        )
    )
    actor = Actor.contact(contact_id)
    if reply is None:
        reply = ExerciseReply(
            clinic_id=assignment.clinic_id,
            assignment_id=assignment.id,
            day=day,
            outcome=outcome,
            done_count=done_count,
            message_id=message_id,
            received_at=now,
        )
        session.add(reply)
        audit.record(
            session,
            clinic_id=assignment.clinic_id,
            actor=actor,
            action="exercise.reply",
            entity=reply,
        )
        return reply
    before = audit.snapshot(reply)
    if outcome in WORDS or reply.outcome is ExerciseOutcome.MEDIA:
        # Words replace the day's answer; a photo after words keeps the words.
        reply.outcome, reply.done_count = outcome, done_count
    if message_id is not None:
        reply.message_id = message_id
    reply.received_at = now
    audit.record(
        session,
        clinic_id=assignment.clinic_id,
        actor=actor,
        action="exercise.reply",
        entity=reply,
        before=before,
    )
    return reply
