"""What a therapist is told about their patients' sessions: one row per event, read in
the panel (``services.staff.notifications``)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.appointment import Appointment
from models.base import Base, ClinicOwned, str_enum


class NotificationKind(enum.StrEnum):
    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    REQUEST = "request"  # a reschedule request awaits a decision
    RESIZED = "resized"  # its length changed (start, therapist and place kept)


class StaffNotification(ClinicOwned, Base):
    __tablename__ = "staff_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(
        str_enum(NotificationKind, "staff_notification_kind")
    )
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]

    appointment: Mapped[Appointment] = relationship()

    # The badge counts a user's unread rows; the page lists them unread first.
    __table_args__ = (Index("ix_staff_notification_user_read", "staff_user_id", "read_at"),)
