"""Whoever owns a phone number (Contact) and the people sessions are for (Patient)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.enums import Channel, EmailPreference, Relation


class Contact(ClinicOwned, Timestamped, Base):
    """A phone number known to one clinic. A guardian is a contact with child patients."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    name: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(10), default="en")
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(20))
    whatsapp_opted_out_at: Mapped[datetime | None]
    sms_opted_out_at: Mapped[datetime | None]
    whatsapp_last_inbound_at: Mapped[datetime | None]
    sms_last_inbound_at: Mapped[datetime | None]
    # Set when the contact's personal data was erased (services.privacy.erasure). The row
    # stays as a placeholder because invoices and payments must keep pointing at it.
    erased_at: Mapped[datetime | None]
    # Email (services.messaging.email_outbox): where confirmations, receipts and
    # statements go when the preference says so. A bounce or an unsubscribe stops it.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_preference: Mapped[EmailPreference] = mapped_column(
        str_enum(EmailPreference, "email_preference"),
        default=EmailPreference.CHAT,
        server_default="chat",
    )
    email_bounced_at: Mapped[datetime | None]
    email_opted_out_at: Mapped[datetime | None]

    patients: Mapped[list[Patient]] = relationship(back_populates="contact", order_by="Patient.id")

    __table_args__ = (
        UniqueConstraint("clinic_id", "phone"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    @property
    def email_usable(self) -> bool:
        """An address that may be written to: known, not bounced, not unsubscribed."""
        return bool(
            self.email
            and self.email_bounced_at is None
            and self.email_opted_out_at is None
            and self.erased_at is None
        )

    def opted_out(self, channel: Channel) -> bool:
        return getattr(self, f"{channel.value}_opted_out_at") is not None

    def __str__(self) -> str:
        return f"{self.name or 'Unnamed'} ({self.phone})"


class Patient(ClinicOwned, Timestamped, Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date | None]
    relation: Mapped[Relation] = mapped_column(
        str_enum(Relation, "relation"), default=Relation.SELF
    )
    notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)

    contact: Mapped[Contact] = relationship(back_populates="patients")

    def __str__(self) -> str:
        return self.name
