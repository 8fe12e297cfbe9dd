"""Money records: invoices, payments, refunds, Razorpay links, packages and credits.

Amounts are integer minor units (paise). What a patient owes is derived, never
stored: issued invoice totals minus what payments cover (``PaymentAllocation``).
A package's credit balance is the sum of its ledger rows (``CreditEntry``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.catalog import Service
from models.enums import (
    CreditKind,
    InvoiceLineKind,
    InvoiceStatus,
    LinkStatus,
    PaymentMethod,
    PaymentState,
    RefundStatus,
)
from models.people import Contact, Patient


class Package(ClinicOwned, Timestamped, Base):
    """Sessions sold together (e.g. 10 speech sessions at a price); ``service_id`` None = any."""

    __tablename__ = "package"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"))
    sessions: Mapped[int]
    price_minor: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)

    service: Mapped[Service | None] = relationship()

    __table_args__ = (
        UniqueConstraint("clinic_id", "name"),
        CheckConstraint("sessions BETWEEN 1 AND 200", name="sessions_range"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    def __str__(self) -> str:
        return self.name


class Invoice(ClinicOwned, Timestamped, Base):
    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    issued_at: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int]
    tax_label: Mapped[str | None] = mapped_column(String(20))
    tax_rate_bp: Mapped[int] = mapped_column(default=0)  # basis points: 1800 = 18 %
    tax_minor: Mapped[int] = mapped_column(default=0)
    total_minor: Mapped[int]
    status: Mapped[InvoiceStatus] = mapped_column(
        str_enum(InvoiceStatus, "invoice_status"), default=InvoiceStatus.ISSUED
    )
    void_reason: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(40))

    contact: Mapped[Contact] = relationship()
    patient: Mapped[Patient] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("clinic_id", "number"),
        CheckConstraint("subtotal_minor >= 0 AND tax_minor >= 0", name="amounts_not_negative"),
        CheckConstraint("total_minor = subtotal_minor + tax_minor", name="total_adds_up"),
    )

    def __str__(self) -> str:
        return self.number


class InvoiceLine(ClinicOwned, Base):
    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    kind: Mapped[InvoiceLineKind] = mapped_column(str_enum(InvoiceLineKind, "line_kind"))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_minor: Mapped[int]
    amount_minor: Mapped[int]
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True
    )
    package_id: Mapped[int | None] = mapped_column(ForeignKey("package.id", ondelete="SET NULL"))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("amount_minor = quantity * unit_minor", name="amount_adds_up"),
        Index("ix_invoice_line_invoice", "invoice_id"),
    )


class DocumentCounter(ClinicOwned, Base):
    """Last number handed out per clinic, series (INV, RCPT) and (financial) year."""

    __tablename__ = "document_counter"

    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


class PaymentLink(ClinicOwned, Timestamped, Base):
    """A Razorpay payment link. The row comes first (status pending); a job creates
    it at Razorpay; webhooks and the reconcile job move its status forward only."""

    __tablename__ = "payment_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True
    )
    reference_id: Mapped[str] = mapped_column(String(40), unique=True)
    # Who collects it: "razorpay" (a payment link) or "stripe" (a Checkout Session,
    # whose id and URL are longer than Razorpay's).
    provider: Mapped[str] = mapped_column(String(10), default="razorpay", server_default="razorpay")
    provider_link_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    short_url: Mapped[str | None] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int]
    amount_paid_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3))
    accept_partial: Mapped[bool] = mapped_column(default=False)
    status: Mapped[LinkStatus] = mapped_column(
        str_enum(LinkStatus, "link_status"), default=LinkStatus.PENDING
    )
    expire_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    checked_at: Mapped[datetime | None]

    contact: Mapped[Contact] = relationship()

    __table_args__ = (
        CheckConstraint("amount_minor >= 100", name="amount_minimum"),
        CheckConstraint("amount_paid_minor >= 0", name="paid_not_negative"),
        CheckConstraint("provider IN ('razorpay', 'stripe')", name="provider_value"),
        Index("ix_payment_link_status_expire", "status", "expire_at"),
    )

    def __str__(self) -> str:
        return self.reference_id


class Payment(ClinicOwned, Timestamped, Base):
    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "payment_method"))
    status: Mapped[PaymentState] = mapped_column(
        str_enum(PaymentState, "payment_state"), default=PaymentState.RECEIVED
    )
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    received_at: Mapped[datetime]
    # Razorpay's pay_… id: one payment is recorded once however often it is reported.
    provider_payment_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    payment_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_link.id", ondelete="SET NULL")
    )
    reference: Mapped[str | None] = mapped_column(String(80))  # UPI ref, cheque no., …
    receipt_number: Mapped[str | None] = mapped_column(String(32))
    # Unguessable, for the patient's receipt PDF and UPI QR links (no ids in URLs).
    public_token: Mapped[str] = mapped_column(String(32), unique=True)
    note: Mapped[str | None] = mapped_column(String(300))
    recorded_by: Mapped[str] = mapped_column(String(40))

    contact: Mapped[Contact] = relationship()
    patient: Mapped[Patient | None] = relationship()

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("clinic_id", "receipt_number"),
    )

    def __str__(self) -> str:
        return self.receipt_number or f"payment {self.id}"


class PaymentAllocation(ClinicOwned, Base):
    """How much of a payment settles which invoice; what is not allocated is on account."""

    __tablename__ = "payment_allocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payment.id", ondelete="CASCADE"), index=True
    )
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    amount_minor: Mapped[int]

    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)


class Refund(ClinicOwned, Timestamped, Base):
    __tablename__ = "refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    amount_minor: Mapped[int]
    status: Mapped[RefundStatus] = mapped_column(
        str_enum(RefundStatus, "refund_status"), default=RefundStatus.PENDING
    )
    provider_refund_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    reason: Mapped[str] = mapped_column(String(300))
    requested_by: Mapped[str] = mapped_column(String(40))
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(300))

    payment: Mapped[Payment] = relationship()

    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)


class CreditEntry(ClinicOwned, Base):
    """One line of a patient's session-credit ledger; the balance is their sum."""

    __tablename__ = "credit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[CreditKind] = mapped_column(str_enum(CreditKind, "credit_kind"))
    sessions: Mapped[int]  # + bought or returned, - drawn
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("package.id", ondelete="SET NULL"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True
    )
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("sessions <> 0", name="sessions_not_zero"),)


class ProviderEvent(Base):
    """A payment provider's webhook event, stored once by its id before it is processed."""

    __tablename__ = "provider_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_provider_event_pending", "processed_at", "id"),
    )
