"""The outbox: every message the system sends on its own is a row first."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.enums import Channel
from models.people import Contact


class OutboundStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        """Statuses only move up this ladder: a late "sent" never undoes "delivered"."""
        return _RANK[self]


_RANK = {
    OutboundStatus.QUEUED: 0,
    OutboundStatus.SENDING: 1,
    OutboundStatus.SENT: 2,
    OutboundStatus.FAILED: 3,
    OutboundStatus.UNDELIVERED: 3,
    OutboundStatus.DELIVERED: 4,
    OutboundStatus.READ: 5,
    OutboundStatus.CANCELLED: 6,
}


class MessageKind(enum.StrEnum):
    REMINDER = "reminder"
    NOTICE = "notice"  # the clinic booked, moved or cancelled a session
    DUES = "dues"
    PAYMENT = "payment"  # payment links, UPI requests, receipts
    EXERCISE = "exercise"  # a nudge to do a home exercise (models.exercises)


class OutboundMessage(ClinicOwned, Timestamped, Base):
    __tablename__ = "outbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "message_kind"))
    status: Mapped[OutboundStatus] = mapped_column(
        str_enum(OutboundStatus, "outbound_status"), default=OutboundStatus.QUEUED
    )
    # What to say: the template's key and its named values. The text is rendered
    # at send time (free-form inside WhatsApp's 24-hour window, else the template).
    template_key: Mapped[str] = mapped_column(String(40))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[str | None] = mapped_column(Text)  # what was actually sent
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    # Set (with the words, unless a template) just before the request to Twilio leaves:
    # a row its worker left in "sending" without it never reached Twilio.
    send_started_at: Mapped[datetime | None]
    # When a lost answer was looked up in Twilio's message list and the message was not
    # there: it is sent again once, never twice (see services.messaging.delivery.release_stuck).
    outcome_checked_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(String(300))
    fallback_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_message.id", ondelete="SET NULL")
    )

    contact: Mapped[Contact] = relationship()

    __table_args__ = (Index("ix_outbound_message_due", "status", "next_attempt_at"),)


class MessageTemplate(ClinicOwned, Base):
    """A clinic's approved template for one message key and channel.

    WhatsApp: the Content SID Twilio gave the approved template, and the order of
    its numbered variables ({{1}}, {{2}}…) as our variable names. SMS: the body
    with {named} placeholders and, in India, the DLT template id it was registered as.
    """

    __tablename__ = "message_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    key: Mapped[str] = mapped_column(String(40))
    content_sid: Mapped[str | None] = mapped_column(String(64))
    variable_order: Mapped[list[str]] = mapped_column(JSON, default=list)
    body: Mapped[str | None] = mapped_column(Text)
    dlt_template_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("clinic_id", "channel", "key"),)


class ContentTemplate(Base):
    """A Twilio Content API template for WhatsApp buttons or a list, by Twilio account,
    shape (``quick-reply-3``, ``list-picker-7``: integrations.twilio.content) and language.

    Not clinic data (no ``clinic_id``): a template belongs to a Twilio *account*, which
    clinics without their own share (the deployment's). Its texts are all content
    variables, so it holds nothing of anyone's; code reads it by account SID, explicitly.
    ``roshni whatsapp sync`` creates the missing ones and records their SIDs here.
    """

    __tablename__ = "content_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_sid: Mapped[str] = mapped_column(String(34))
    shape: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    content_sid: Mapped[str] = mapped_column(String(34))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("account_sid", "shape", "language"),)
