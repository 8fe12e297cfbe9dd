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


class EmailPreference(enum.StrEnum):
    """How a contact wants the clinic's confirmations, receipts and statements: in the
    chat (as always), by email instead, or both."""

    CHAT = "chat"
    EMAIL = "email"
    BOTH = "both"


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
    # A chat booking the clinic approves first (its policy ``approve_chat_bookings``):
    # it holds the time meanwhile, but gets no reminder or payment link until approved.
    REQUESTED = "requested"

    @classmethod
    def active(cls) -> tuple[AppointmentStatus, ...]:
        """Statuses that hold a therapist's time (a request holds it too)."""
        return (cls.BOOKED, cls.CONFIRMED, cls.REQUESTED)

    @classmethod
    def booked(cls) -> tuple[AppointmentStatus, ...]:
        """Active statuses that are real bookings: reminded, billed, counted (not a
        request still waiting for the clinic)."""
        return (cls.BOOKED, cls.CONFIRMED)


class PaymentStatus(enum.StrEnum):
    NOT_REQUIRED = "not_required"
    UNPAID = "unpaid"
    PENDING = "pending"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    REFUNDED = "refunded"

    @property
    def settled(self) -> bool:
        """Nothing is owed for the session: free, paid, or paid and given back."""
        return self in (PaymentStatus.NOT_REQUIRED, PaymentStatus.PAID, PaymentStatus.REFUNDED)


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


class MediaStatus(enum.StrEnum):
    """An inbound attachment: waiting to be fetched, kept, refused (type, size) or failed.
    A shared location has nothing to fetch: it is ``kept`` as it arrives."""

    PENDING = "pending"
    FETCHED = "fetched"
    KEPT = "kept"
    REFUSED = "refused"
    FAILED = "failed"


class ActorType(enum.StrEnum):
    STAFF = "staff"
    CONTACT = "contact"
    SYSTEM = "system"


class PaymentMethod(enum.StrEnum):
    PAYMENT_LINK = "payment_link"
    UPI = "upi"
    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    CREDIT = "credit"  # a session drawn from package credit

    @property
    def label(self) -> str:
        return {
            "payment_link": "Online payment link",  # Razorpay or Stripe: the link row says which
            "upi": "UPI",
            "cash": "Cash",
            "card": "Card",
            "bank_transfer": "Bank transfer",
            "credit": "Package credit",
        }[self.value]


class PaymentState(enum.StrEnum):
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # UPI without a gateway: staff confirm
    RECEIVED = "received"
    REJECTED = "rejected"


class InvoiceStatus(enum.StrEnum):
    ISSUED = "issued"
    VOID = "void"


class InvoiceLineKind(enum.StrEnum):
    SESSION = "session"
    PACKAGE = "package"
    OTHER = "other"


class LinkStatus(enum.StrEnum):
    """A Razorpay payment link; ``pending`` = our row, not yet created at Razorpay."""

    PENDING = "pending"
    CREATED = "created"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"  # Razorpay refused to create it


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class CreditKind(enum.StrEnum):
    PACKAGE = "package"  # sessions bought
    DRAWN = "drawn"  # a session paid from credit
    RETURNED = "returned"  # a drawn session cancelled
    ADJUSTMENT = "adjustment"
