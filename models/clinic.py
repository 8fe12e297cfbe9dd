"""The tenant (Clinic), its policies, locations and the numbers it sends from."""

from __future__ import annotations

from datetime import time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.enums import Channel


class Clinic(Timestamped, Base):
    __tablename__ = "clinic"
    __audit_exclude__ = (
        "twilio_auth_token_encrypted",
        "razorpay_key_secret_encrypted",
        "razorpay_webhook_secret_encrypted",
        "stripe_secret_key_encrypted",
        "stripe_webhook_secret_encrypted",
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Kolkata")
    currency: Mapped[str] = mapped_column(String(3), default="INR")
    phone_region: Mapped[str] = mapped_column(String(2), default="IN")
    language: Mapped[str] = mapped_column(String(10), default="en")
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # The clinic's own Twilio account, if not the deployment's (token encrypted: core.secrets).
    twilio_account_sid: Mapped[str | None] = mapped_column(String(34))
    twilio_auth_token_encrypted: Mapped[str | None] = mapped_column(Text)
    # Billing: tax registration, the clinic's Razorpay account (secrets encrypted),
    # and a UPI id for clinics that take UPI without a gateway.
    tax_id: Mapped[str | None] = mapped_column(String(30))
    razorpay_key_id: Mapped[str | None] = mapped_column(String(40))
    razorpay_key_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    razorpay_webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    upi_vpa: Mapped[str | None] = mapped_column(String(100))
    upi_payee_name: Mapped[str | None] = mapped_column(String(60))
    # The clinic's Stripe account (card payments where Razorpay does not serve: any
    # currency but INR, or a clinic that prefers it); both secrets encrypted, write-only.
    stripe_secret_key_encrypted: Mapped[str | None] = mapped_column(Text)
    stripe_webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)

    policy: Mapped[ClinicPolicy] = relationship(
        back_populates="clinic", lazy="joined", uselist=False, cascade="all, delete-orphan"
    )
    locations: Mapped[list[Location]] = relationship(
        back_populates="clinic", order_by="Location.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("length(phone_region) = 2", name="phone_region_code"),
    )

    def __str__(self) -> str:
        return self.name


class ClinicPolicy(Base):
    """Booking rules a clinic sets for itself. One row per clinic."""

    __tablename__ = "clinic_policy"

    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    booking_horizon_days: Mapped[int] = mapped_column(default=30)
    min_notice_hours: Mapped[int] = mapped_column(default=2)
    cancellation_window_hours: Mapped[int] = mapped_column(default=24)
    reschedule_window_hours: Mapped[int] = mapped_column(default=48)
    reminder_offsets_hours: Mapped[list[int]] = mapped_column(JSON, default=lambda: [24, 2])
    slot_step_minutes: Mapped[int] = mapped_column(default=15)
    # Outstanding-dues reminders: once a month, on this day, at this local time.
    dues_reminders_enabled: Mapped[bool] = mapped_column(default=False)
    dues_reminder_day: Mapped[int] = mapped_column(default=15)
    dues_reminder_time: Mapped[time] = mapped_column(default=time(10, 0))
    # Tax added to invoice lines (0 = none; most therapy in India is GST-exempt).
    tax_label: Mapped[str | None] = mapped_column(String(20))
    tax_rate_bp: Mapped[int] = mapped_column(default=0)  # basis points: 1800 = 18 %
    # Invoices are numbered per financial year; India's starts in April.
    financial_year_start_month: Mapped[int] = mapped_column(default=4)
    # Therapists who opted in (and gave a phone) are also told by WhatsApp of new,
    # moved and cancelled sessions and of requests; the panel always tells them.
    tell_therapists_by_whatsapp: Mapped[bool] = mapped_column(default=False)
    # The largest patient document (upload or filed from the chat), in MB.
    document_max_mb: Mapped[int] = mapped_column(default=10, server_default="10")
    # The waitlist: how long a freed time is held for the person offered it, and how
    # long an entry waits before it is stale.
    waitlist_hold_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    waitlist_days: Mapped[int] = mapped_column(default=60, server_default="60")
    # Chat bookings are requests staff approve (or decline); the time is held meanwhile.
    approve_chat_bookings: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Online sessions: a Jitsi Meet server (public or the clinic's own) that gets an
    # unguessable room per session, or "therapist" rooms (each therapist's fixed link).
    video_rooms: Mapped[str] = mapped_column(String(10), default="jitsi", server_default="jitsi")
    # A prepaid course: "session" (each session billed as it would be alone, later) or
    # "package" (one invoice for the whole course when booked; each session draws a credit).
    course_billing: Mapped[str] = mapped_column(
        String(10), default="session", server_default="session"
    )
    jitsi_base_url: Mapped[str] = mapped_column(
        String(200), default="https://meet.jit.si", server_default="https://meet.jit.si"
    )

    clinic: Mapped[Clinic] = relationship(back_populates="policy")

    __table_args__ = (
        CheckConstraint("booking_horizon_days BETWEEN 1 AND 366", name="horizon_range"),
        CheckConstraint("min_notice_hours BETWEEN 0 AND 720", name="notice_range"),
        CheckConstraint("cancellation_window_hours BETWEEN 0 AND 720", name="cancel_range"),
        CheckConstraint("reschedule_window_hours BETWEEN 0 AND 720", name="reschedule_range"),
        CheckConstraint("slot_step_minutes BETWEEN 5 AND 240", name="step_range"),
        CheckConstraint("dues_reminder_day BETWEEN 1 AND 28", name="dues_day_range"),
        CheckConstraint("tax_rate_bp BETWEEN 0 AND 5000", name="tax_rate_range"),
        CheckConstraint("financial_year_start_month BETWEEN 1 AND 12", name="fy_month_range"),
        CheckConstraint("document_max_mb BETWEEN 1 AND 50", name="document_max_range"),
        CheckConstraint("video_rooms IN ('jitsi', 'therapist')", name="video_rooms_value"),
        CheckConstraint("course_billing IN ('session', 'package')", name="course_billing_value"),
        CheckConstraint("waitlist_hold_minutes BETWEEN 5 AND 240", name="waitlist_hold_range"),
        CheckConstraint("waitlist_days BETWEEN 1 AND 365", name="waitlist_days_range"),
    )


class Location(ClinicOwned, Base):
    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(300))
    # A map link the clinic chose (a pinned Google Maps place); without one the bot
    # links a map search for the address.
    map_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)

    clinic: Mapped[Clinic] = relationship(back_populates="locations")

    __table_args__ = (UniqueConstraint("clinic_id", "name"),)

    def __str__(self) -> str:
        return self.name


class SenderNumber(ClinicOwned, Base):
    """A number the clinic sends from; inbound messages are routed by the number
    they were sent *to*, so (channel, address) is globally unique."""

    __tablename__ = "sender_number"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    address: Mapped[str] = mapped_column(String(20))

    clinic: Mapped[Clinic] = relationship()

    __table_args__ = (UniqueConstraint("channel", "address"),)

    def __str__(self) -> str:
        return f"{self.channel.value}:{self.address}"


class SettingsVersion(Base):
    """One row whose token changes with every write to the clinics' settings and catalogue
    (clinic, policy, locations, sender numbers, services, therapists), by database triggers
    (migration 0018): whatever writes them, panel, CLI or SQL, in the writer's transaction.
    Processes cache what these tables hold and read the token once per chat turn, on a
    statement the turn runs anyway, to know whether their copy is still current."""

    __tablename__ = "settings_version"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    token: Mapped[str] = mapped_column(String(40))


class ClinicLogo(ClinicOwned, Timestamped, Base):
    """The clinic's logo, drawn at the head of its PDFs (invoices, receipts, progress
    reports): a PNG the clinic's admin uploaded, re-drawn by us to at most
    ``services.clinics.logo.BOX`` pixels (so it is small and carries nothing but pixels)."""

    __tablename__ = "clinic_logo"
    __audit_exclude__ = ("png",)

    id: Mapped[int] = mapped_column(primary_key=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]

    __table_args__ = (UniqueConstraint("clinic_id"),)

    def __str__(self) -> str:
        return f"Logo of clinic #{self.clinic_id}"
