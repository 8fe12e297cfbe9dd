"""Therapy goals and what each session measured against them. Clinical records.

A goal is long-term or short-term (a short-term goal may be a step of a long-term
one): the behaviour aimed at, how it is measured, its baseline and target on that
measure, a date to reach it by, and whether it is still worked on. A session record
logs a value per goal (``GoalMeasure``); the patient's clinical page charts them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.assessments import Assessment
from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.notes import BODY_MAX, SessionRecord
from models.people import Patient

MEASURE_MAX = 120


class GoalTerm(enum.StrEnum):
    LONG = "long"
    SHORT = "short"


class GoalStatus(enum.StrEnum):
    ACTIVE = "active"
    ACHIEVED = "achieved"
    DISCONTINUED = "discontinued"


class Goal(ClinicOwned, Timestamped, Base):
    __tablename__ = "goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    term: Mapped[GoalTerm] = mapped_column(str_enum(GoalTerm, "goal_term"))
    # A short-term goal's long-term goal, if it is a step towards one.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id"))
    behaviour: Mapped[str] = mapped_column(Text)  # "Says /s/ correctly in sentences"
    measure: Mapped[str] = mapped_column(String(MEASURE_MAX))  # "% correct of 10 tries"
    baseline: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    due_on: Mapped[date | None]
    # The assessment that set it, if any (the same patient's).
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"))
    status: Mapped[GoalStatus] = mapped_column(
        str_enum(GoalStatus, "goal_status"), default=GoalStatus.ACTIVE
    )

    patient: Mapped[Patient] = relationship()
    assessment: Mapped[Assessment | None] = relationship()
    measures: Mapped[list[GoalMeasure]] = relationship(
        back_populates="goal", order_by="GoalMeasure.measured_at"
    )

    __table_args__ = (
        CheckConstraint(f"length(behaviour) BETWEEN 1 AND {BODY_MAX}", name="behaviour_length"),
        CheckConstraint("length(measure) >= 1", name="measure_length"),
        CheckConstraint("baseline <> target", name="baseline_is_not_target"),
    )

    def __str__(self) -> str:
        return f"Goal #{self.id}"


class GoalMeasure(ClinicOwned, Base):
    __tablename__ = "goal_measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("session_record.id"), index=True)
    value: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime]  # the session's start: the chart's time axis
    created_at: Mapped[datetime]

    goal: Mapped[Goal] = relationship(back_populates="measures")
    record: Mapped[SessionRecord] = relationship()

    __table_args__ = (UniqueConstraint("goal_id", "record_id"),)
