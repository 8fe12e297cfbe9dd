"""Home exercise programmes. Clinical records.

The clinic keeps a library of exercises per therapy type (``Exercise``: a name, the
instructions a guardian reads, an optional image or video link). A therapist assigns one
to a patient (``ExerciseAssignment``): on which weekdays, how many times a day, from when
until when, and at what clinic-local time the guardian is nudged in the chat (never in the
quiet hours, 21:00–08:00). The guardian answers a nudge ("done", "did 2 of 3", "skipped",
a photo or a video); each answer is an ``ExerciseReply`` for that assignment and day (a
later answer for the same day replaces the outcome, a photo stays attached), and the
therapist reads adherence per week from them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.assessments import THERAPY_TYPE_MAX
from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.notes import BODY_MAX
from models.people import Patient

EXERCISE_NAME_MAX = 120
MEDIA_URL_MAX = 500
REPETITIONS_MAX = 50


class Exercise(ClinicOwned, Timestamped, Base):
    __tablename__ = "exercise"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapy_type: Mapped[str] = mapped_column(String(THERAPY_TYPE_MAX))
    name: Mapped[str] = mapped_column(String(EXERCISE_NAME_MAX))
    instructions: Mapped[str] = mapped_column(Text)
    # An https link to an image or a video showing the exercise, if any.
    media_url: Mapped[str | None] = mapped_column(String(MEDIA_URL_MAX))
    # Retired from the library: no new assignments; the ones made keep it.
    archived_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("clinic_id", "therapy_type", "name"),
        CheckConstraint("length(name) >= 1", name="name_length"),
        CheckConstraint(
            f"length(instructions) BETWEEN 1 AND {BODY_MAX}", name="instructions_length"
        ),
    )

    def __str__(self) -> str:
        return self.name


class ExerciseAssignment(ClinicOwned, Timestamped, Base):
    __tablename__ = "exercise_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercise.id"), index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    # The weekdays to practise and be nudged on, Monday 0 … Sunday 6, sorted: [0, 2, 4].
    weekdays: Mapped[list[int]] = mapped_column(JSON)
    repetitions: Mapped[int] = mapped_column(default=1)  # times a day: "did 2 of 3"
    nudge_time: Mapped[time]  # clinic-local, 08:00–21:00
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # The therapist's words for the guardian on this assignment ("use the mirror").
    notes: Mapped[str | None] = mapped_column(Text)
    # Stopped early by a therapist: no nudges after it.
    stopped_at: Mapped[datetime | None]
    stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    patient: Mapped[Patient] = relationship()
    exercise: Mapped[Exercise] = relationship()
    replies: Mapped[list[ExerciseReply]] = relationship(
        back_populates="assignment", order_by="ExerciseReply.day"
    )

    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period_in_order"),
        CheckConstraint(f"repetitions BETWEEN 1 AND {REPETITIONS_MAX}", name="repetitions_range"),
        CheckConstraint(f"length(notes) <= {BODY_MAX}", name="notes_length"),
    )

    def __str__(self) -> str:
        return f"Home exercise #{self.id}"


class ExerciseOutcome(enum.StrEnum):
    DONE = "done"  # all the day's repetitions
    PARTIAL = "partial"  # some: done_count of the assignment's repetitions
    SKIPPED = "skipped"
    MEDIA = "media"  # only a photo or a video came, no words: shown to the therapist


class ExerciseReply(ClinicOwned, Timestamped, Base):
    __tablename__ = "exercise_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("exercise_assignment.id"), index=True)
    day: Mapped[date]  # the clinic-local day the answer is for (the nudge's day)
    outcome: Mapped[ExerciseOutcome] = mapped_column(str_enum(ExerciseOutcome, "exercise_outcome"))
    done_count: Mapped[int | None]  # repetitions done, for "done" and "partial"
    # The chat message that carried it (its photo or video is that message's media).
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_message.id", ondelete="SET NULL")
    )
    received_at: Mapped[datetime]

    assignment: Mapped[ExerciseAssignment] = relationship(back_populates="replies")

    __table_args__ = (
        UniqueConstraint("assignment_id", "day"),
        CheckConstraint("done_count >= 0", name="done_count_not_negative"),
    )

    def __str__(self) -> str:
        return f"Exercise reply #{self.id}"
