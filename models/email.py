"""The email outbox: every email the system sends is a row first, like a chat message
(``models.messaging.OutboundMessage``), in a table of its own: email has no channel
rules, templates or status callbacks, and a bounce marks the address, not the row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.messaging import MessageKind, OutboundStatus
from models.people import Contact


class OutboundEmail(ClinicOwned, Timestamped, Base):
    __tablename__ = "outbound_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE")
    )
    # The receipt or invoice whose PDF goes with it (rendered at send time).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id", ondelete="SET NULL"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "message_kind"))
    status: Mapped[OutboundStatus] = mapped_column(
        str_enum(OutboundStatus, "outbound_status"), default=OutboundStatus.QUEUED
    )
    # The words are the chat message's (same key, same values), rendered at send time.
    template_key: Mapped[str] = mapped_column(String(40))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    subject: Mapped[str | None] = mapped_column(String(300))  # what was sent
    body: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(String(300))

    contact: Mapped[Contact] = relationship()

    __table_args__ = (Index("ix_outbound_email_due", "status", "next_attempt_at"),)
