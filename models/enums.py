"""Statuses and kinds, stored as their string values."""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"


class Role(enum.StrEnum):
    SUPERADMIN = "superadmin"
    ADMIN = "admin"
    OPERATOR = "operator"
    THERAPIST = "therapist"
    ACCOUNTANT = "accountant"


class Relation(enum.StrEnum):
    SELF = "self"
    CHILD = "child"
    SPOUSE = "spouse"
    PARENT = "parent"
    OTHER = "other"


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"

    @classmethod
    def active(cls) -> tuple[AppointmentStatus, ...]:
        """Statuses that hold a therapist's time."""
        return (cls.BOOKED, cls.CONFIRMED)


class PaymentStatus(enum.StrEnum):
    NOT_REQUIRED = "not_required"
    UNPAID = "unpaid"
    PENDING = "pending"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    REFUNDED = "refunded"


class BookingSource(enum.StrEnum):
    CHAT = "chat"
    ADMIN = "admin"


class ExceptionKind(enum.StrEnum):
    CLOSED = "closed"
    EXTRA = "extra"


class MessageSource(enum.StrEnum):
    """Where an inbound message came from; only ``twilio`` ever reaches a provider."""

    TWILIO = "twilio"
    CONSOLE = "console"
    SIMULATOR = "simulator"


class ActorType(enum.StrEnum):
    STAFF = "staff"
    CONTACT = "contact"
    SYSTEM = "system"
