"""Booked sessions and the per-clinic counter that numbers them."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.catalog import Service, Therapist
from models.clinic import Location
from models.enums import AppointmentStatus, BookingSource, PaymentStatus
from models.people import Patient

ACTIVE_STATUSES_SQL = "status IN ('booked', 'confirmed', 'requested')"


class Appointment(ClinicOwned, Timestamped, Base):
    __tablename__ = "appointment"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[AppointmentStatus] = mapped_column(
        str_enum(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED
    )
    price_minor: Mapped[int]
    payment_status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus, "payment_status"), default=PaymentStatus.UNPAID
    )
    source: Mapped[BookingSource] = mapped_column(str_enum(BookingSource, "booking_source"))
    # Appointments may overlap on one therapist only when they share this key:
    # a group session's seats share "g:<service>:<start>", an individual
    # session's key is its own number. The PostgreSQL exclusion constraint below
    # enforces it; capacity within a group is counted under a therapist row lock.
    overlap_key: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(40))
    cancellation_reason: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(40))
    # When staff entered it at or after its start (a walk-in already under way, or a
    # session recorded afterwards); None for a booking made ahead. No confirmation or
    # reminders go out for a back-dated session.
    backdated_at: Mapped[datetime | None]
    # The desk's day: when the patient checked in, and when the session began.
    arrived_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    # An unpaid prepaid booking holds its slot until then; paying clears it.
    hold_expires_at: Mapped[datetime | None]
    # One of a course booked together (services.scheduling.series); None for a single booking.
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_series.id", ondelete="SET NULL"), index=True
    )
    # A video session (the service allows it and the patient or staff chose it) and its
    # link: a Jitsi room no one can guess, or the therapist's own meeting room.
    online: Mapped[bool] = mapped_column(default=False, server_default=false())
    video_url: Mapped[str | None] = mapped_column(String(500))

    patient: Mapped[Patient] = relationship()
    therapist: Mapped[Therapist] = relationship()
    service: Mapped[Service] = relationship()
    location: Mapped[Location] = relationship()

    @property
    def backdated(self) -> bool:
        return self.backdated_at is not None

    __table_args__ = (
        UniqueConstraint("clinic_id", "number"),
        CheckConstraint("start_at < end_at", name="start_before_end"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        Index("ix_appointment_therapist_start", "therapist_id", "start_at"),
        ExcludeConstraint(
            ("therapist_id", "="),
            (text("tstzrange(start_at, end_at, '[)')"), "&&"),
            ("overlap_key", "<>"),
            name="no_overlap",
            using="gist",
            where=text(ACTIVE_STATUSES_SQL),
        ).ddl_if(dialect="postgresql"),
    )

    @property
    def is_active(self) -> bool:
        return self.status in AppointmentStatus.active()

    def __str__(self) -> str:
        return self.number


class AppointmentSeries(ClinicOwned, Timestamped, Base):
    """A course of sessions booked together: every ``every_weeks`` weeks on ``weekdays``
    (0 = Monday) at ``local_time`` in the clinic's zone, from ``first_date``, for
    ``sessions`` sessions or until ``until`` (inclusive), with one therapist. Its
    appointments carry ``series_id``; changing or cancelling them works per session."""

    __tablename__ = "appointment_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    weekdays: Mapped[list[int]] = mapped_column(JSON)
    local_time: Mapped[time]
    every_weeks: Mapped[int] = mapped_column(default=1)
    first_date: Mapped[date]
    sessions: Mapped[int | None]
    until: Mapped[date | None]
    online: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(40))

    patient: Mapped[Patient] = relationship()
    therapist: Mapped[Therapist] = relationship()
    service: Mapped[Service] = relationship()

    __table_args__ = (
        CheckConstraint("every_weeks BETWEEN 1 AND 4", name="every_weeks_range"),
        CheckConstraint("sessions IS NULL OR sessions BETWEEN 1 AND 104", name="sessions_range"),
        CheckConstraint("sessions IS NOT NULL OR until IS NOT NULL", name="has_an_end"),
    )

    def __str__(self) -> str:
        return f"Series #{self.id}"


class AppointmentCounter(ClinicOwned, Base):
    """Last number handed out per clinic and year (APT-2026-000123)."""

    __tablename__ = "appointment_counter"

    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)
