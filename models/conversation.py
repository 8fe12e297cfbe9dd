"""Chat conversations and the inbound messages that drive them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.enums import Channel, MediaStatus, MessageSource
from models.people import Contact


class Conversation(ClinicOwned, Timestamped, Base):
    """Dialog state for one (clinic, channel, phone). Turns lock this row, one at a time."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(40), default="new")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    misses: Mapped[int] = mapped_column(default=0)
    last_turn_at: Mapped[datetime | None]
    # Set while the patient waits for a person; the bot stays quiet until "menu".
    handoff_at: Mapped[datetime | None]

    contact: Mapped[Contact | None] = relationship()

    __table_args__ = (
        UniqueConstraint("clinic_id", "channel", "phone"),
        Index("ix_conversation_handoff", "clinic_id", "handoff_at"),
    )


class InboundMessage(ClinicOwned, Base):
    """Every message received, stored once by its provider id, with the reply we gave."""

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    source: Mapped[MessageSource] = mapped_column(str_enum(MessageSource, "message_source"))
    provider_sid: Mapped[str] = mapped_column(String(64), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    from_phone: Mapped[str] = mapped_column(String(20))
    to_address: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    button_payload: Mapped[str | None] = mapped_column(String(256))
    num_media: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime]
    # What we answered (None: stored but not answered, e.g. while rate-limited).
    reply: Mapped[str | None] = mapped_column(Text)
    throttled: Mapped[bool] = mapped_column(default=False)

    # The rate limit counts a conversation's messages of the last minute.
    __table_args__ = (Index("ix_inbound_message_recent", "conversation_id", "received_at"),)


class InboundMedia(ClinicOwned, Base):
    """A file (``MediaUrl{index}``) or a shared location that came with an inbound message.

    Files are fetched off the request path (``services.messaging.media.fetch_media``) into
    the file storage under ``storage_key``; ``source_url`` is Twilio's media address (it
    carries no credential: fetching it needs the account's). ``index`` -1 is the location.
    """

    __tablename__ = "inbound_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_message.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int]
    status: Mapped[MediaStatus] = mapped_column(str_enum(MediaStatus, "media_status"))
    content_type: Mapped[str | None] = mapped_column(String(100))
    source_url: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None]
    storage_key: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))  # why refused or failed
    attempts: Mapped[int] = mapped_column(default=0)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime]
    fetched_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("message_id", "index"),
        # The fetch step reads the pending rows.
        Index("ix_inbound_media_pending", "status", "id"),
    )
