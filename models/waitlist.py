"""The waitlist: patients waiting for a time to free up (services.scheduling.waitlist)."""

from __future__ import annotations

import enum
from datetime import datetime, time

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.catalog import Service, Therapist
from models.people import Patient


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # a freed time is held for them until offer_expires_at
    BOOKED = "booked"
    EXPIRED = "expired"  # waited past expires_at: stale
    REMOVED = "removed"  # taken off by staff or by themselves


class WaitlistEntry(ClinicOwned, Timestamped, Base):
    """One patient waiting for a service (with one therapist, or any), on some weekdays
    and between some hours, or whenever. ``position`` orders the line (lowest first).
    While ``offered``, the time ``offer_start`` with ``offer_therapist_id`` is theirs to
    take; a unique index keeps one time from being offered to two people at once."""

    __tablename__ = "waitlist_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id"))
    weekdays: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))  # 0 = Monday
    earliest: Mapped[time | None]  # a start at or after (clinic-local)
    latest: Mapped[time | None]  # a start at or before (clinic-local)
    position: Mapped[int]
    status: Mapped[WaitlistStatus] = mapped_column(
        str_enum(WaitlistStatus, "waitlist_status"), default=WaitlistStatus.WAITING
    )
    expires_at: Mapped[datetime]
    # Times offered and passed on (ISO), never offered to this entry again.
    declined: Mapped[list[str]] = mapped_column(JSON, default=list)
    offer_start: Mapped[datetime | None]
    offer_therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id"))
    offer_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    offer_expires_at: Mapped[datetime | None]
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL")
    )
    created_by: Mapped[str] = mapped_column(String(40))

    patient: Mapped[Patient] = relationship()
    service: Mapped[Service] = relationship()
    therapist: Mapped[Therapist | None] = relationship(foreign_keys=[therapist_id])

    __table_args__ = (
        Index(
            "uq_waitlist_entry_one_offer_per_time",
            "offer_therapist_id",
            "offer_start",
            unique=True,
            sqlite_where=text("status = 'offered'"),
            postgresql_where=text("status = 'offered'"),
        ),
        Index("ix_waitlist_entry_line", "clinic_id", "status", "position"),
        CheckConstraint(
            "status <> 'offered' OR (offer_start IS NOT NULL AND offer_expires_at IS NOT NULL)",
            name="offer_complete",
        ),
    )

    def __str__(self) -> str:
        return f"Waitlist #{self.id}"
