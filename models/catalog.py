"""What a clinic offers and who delivers it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped
from models.staff import StaffUser


class Therapist(ClinicOwned, Timestamped, Base):
    __tablename__ = "therapist"
    __audit_exclude__ = ("calendar_token_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    specialization: Mapped[str] = mapped_column(String(60))
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), unique=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    # What patients ask about ("a female therapist?", "who speaks Hindi?"); unrecorded
    # unless the clinic fills them in. ``languages`` holds codes such as "en", "hi".
    gender: Mapped[str | None] = mapped_column(String(10))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Their calendar feed (services.scheduling.calendar_feed): the SHA-256 of the link's
    # secret, never the secret; None when they have no feed.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    calendar_issued_at: Mapped[datetime | None]
    # Their own video room (a Zoom or Meet link the clinic already has), used for online
    # sessions when the clinic chose fixed rooms over Jitsi.
    video_link: Mapped[str | None] = mapped_column(String(500))

    staff_user: Mapped[StaffUser | None] = relationship()

    __table_args__ = (
        CheckConstraint("gender IS NULL OR gender IN ('female', 'male')", name="gender_value"),
    )

    def __str__(self) -> str:
        return self.name


class Service(ClinicOwned, Timestamped, Base):
    """A bookable therapy type. ``specialization`` decides which therapists deliver it."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    specialization: Mapped[str] = mapped_column(String(60))
    duration_minutes: Mapped[int]
    price_minor: Mapped[int]
    capacity: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    # Payment policy: paid before the session? How long an unpaid chat booking holds
    # its slot, and whether part-payment is accepted.
    prepay_required: Mapped[bool] = mapped_column(default=False)
    hold_minutes: Mapped[int] = mapped_column(default=30)
    accept_partial: Mapped[bool] = mapped_column(default=False)
    # How it is delivered: in person, online (video), or either (the patient chooses).
    in_person: Mapped[bool] = mapped_column(default=True, server_default=true())
    online: Mapped[bool] = mapped_column(default=False)
    # Other names patients use for it in chat ("OT", "baat cheet therapy"), besides the
    # common ones every clinic's bot knows (flows/understanding/data).
    # None when there are none, so a downgrade sees only the clinics that set some.
    aliases: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        CheckConstraint("hold_minutes BETWEEN 15 AND 1440", name="hold_range"),
        UniqueConstraint("clinic_id", "name"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 480", name="duration_range"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("in_person OR online", name="delivered_somehow"),
    )

    def __str__(self) -> str:
        return self.name


class TherapistServiceOverride(ClinicOwned, Base):
    """A therapist's own price or duration for a service (e.g. a senior therapist)."""

    __tablename__ = "therapist_service_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    price_minor: Mapped[int | None]
    duration_minutes: Mapped[int | None]

    therapist: Mapped[Therapist] = relationship()
    service: Mapped[Service] = relationship()

    __table_args__ = (
        UniqueConstraint("therapist_id", "service_id"),
        CheckConstraint("price_minor IS NULL OR price_minor >= 0", name="price_not_negative"),
        CheckConstraint(
            "duration_minutes IS NULL OR duration_minutes BETWEEN 5 AND 480",
            name="duration_range",
        ),
    )
