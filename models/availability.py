"""When therapists work: weekly hours and dated exceptions, in clinic-local time."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, str_enum
from models.catalog import Therapist
from models.clinic import Location
from models.enums import ExceptionKind


class WeeklyHours(ClinicOwned, Base):
    """A recurring working window: weekday 0 = Monday, times are wall-clock local."""

    __tablename__ = "weekly_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    weekday: Mapped[int]
    start_time: Mapped[time]
    end_time: Mapped[time]

    therapist: Mapped[Therapist] = relationship()
    location: Mapped[Location] = relationship()

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_time < end_time", name="start_before_end"),
    )


class AvailabilityException(ClinicOwned, Base):
    """A change to the weekly pattern on given dates.

    ``closed``: the range is closed (all day, or only between the times given);
    with no therapist it closes the whole clinic (a holiday).
    ``extra``: extra working hours on those dates for one therapist.
    """

    __tablename__ = "availability_exception"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    kind: Mapped[ExceptionKind] = mapped_column(str_enum(ExceptionKind, "exception_kind"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    start_time: Mapped[time | None]
    end_time: Mapped[time | None]
    reason: Mapped[str | None] = mapped_column(String(200))

    therapist: Mapped[Therapist | None] = relationship()
    location: Mapped[Location | None] = relationship()

    __table_args__ = (
        CheckConstraint("start_date <= end_date", name="dates_ordered"),
        CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL) OR "
            "(start_time IS NOT NULL AND end_time IS NOT NULL AND start_time < end_time)",
            name="times_paired",
        ),
        CheckConstraint(
            "kind <> 'extra' OR (therapist_id IS NOT NULL AND location_id IS NOT NULL "
            "AND start_time IS NOT NULL)",
            name="extra_hours_complete",
        ),
    )
