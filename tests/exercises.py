"""Helpers for the home-exercise tests: an exercise and its assignment written directly
(the assignment service is tested on its own), and the nudge rows read fresh."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Clinic,
    Conversation,
    Exercise,
    ExerciseAssignment,
    ExerciseReply,
    MessageKind,
    OutboundMessage,
    Patient,
    Role,
    StaffUser,
)
from tests.conftest import staff_logins
from tests.outbox import outbox

PASSWORD = "exercise-test-password-1"


def therapist_of(session: Session, clinic: Clinic) -> StaffUser:
    found = session.scalar(
        select(StaffUser).where(StaffUser.clinic_id == clinic.id, StaffUser.role == Role.THERAPIST)
    )
    if found is not None:
        return found
    return staff_logins(session, clinic.id, password=PASSWORD, domain=f"{clinic.slug}.test")[
        Role.THERAPIST
    ]


def assign(
    session: Session,
    clinic: Clinic,
    patient: Patient,
    *,
    weekdays: tuple[int, ...] = (0, 2, 4),
    repetitions: int = 3,
    nudge_time: time = time(10, 0),
    starts_on: date = date(2026, 11, 16),
    ends_on: date = date(2026, 12, 4),
    name: str = "Lip rounding",
) -> ExerciseAssignment:
    exercise = session.scalar(
        select(Exercise).where(Exercise.clinic_id == clinic.id, Exercise.name == name)
    )
    if exercise is None:
        exercise = Exercise(
            clinic_id=clinic.id,
            therapy_type="speech",
            name=name,
            instructions="Round the lips for /oo/, ten times in front of a mirror.",
        )
        session.add(exercise)
    assignment = ExerciseAssignment(
        clinic_id=clinic.id,
        patient=patient,
        exercise=exercise,
        assigned_by_id=therapist_of(session, clinic).id,
        weekdays=list(weekdays),
        repetitions=repetitions,
        nudge_time=nudge_time,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    session.add(assignment)
    session.commit()
    return assignment


def nudges(session: Session, **where: object) -> list[OutboundMessage]:
    return outbox(session, kind=MessageKind.EXERCISE, **where)


def replies(session: Session) -> list[ExerciseReply]:
    session.commit()
    session.expire_all()
    return list(session.scalars(select(ExerciseReply).order_by(ExerciseReply.id)))


def held_nudge(session: Session) -> dict | None:
    session.commit()
    session.expire_all()
    data = session.scalar(select(Conversation.data).order_by(Conversation.id))
    return (data or {}).get("exercise_nudge")
