"""Invoice and receipt PDFs from the stored records.

The page layout is ``services.billing.documents``."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.formatting import format_phone
from models import Clinic, Invoice, Payment, PaymentAllocation
from services.billing import invoices as billing
from services.billing.documents import (
    DocumentLine,
    InvoiceDocument,
    ReceiptDocument,
    render_invoice_pdf,
    render_receipt_pdf,
)
from services.clinics.logo import logo_png
from services.clinics.settings import main_address


def invoice_pdf(session: Session, invoice: Invoice) -> bytes:
    clinic = _clinic(session, invoice.clinic_id)
    paid = billing.invoice_paid(session, invoice.id)
    contact = invoice.contact
    return render_invoice_pdf(
        InvoiceDocument(
            **_letterhead(session, clinic),
            number=invoice.number,
            issued_on=invoice.issued_at.astimezone(ZoneInfo(clinic.timezone)).date(),
            billed_to=contact.name or invoice.patient.name,
            billed_phone=None if contact.erased_at else format_phone(contact.phone),
            patient_name=invoice.patient.name,
            currency=invoice.currency,
            lines=tuple(
                DocumentLine(line.description, line.quantity, line.unit_minor, line.amount_minor)
                for line in invoice.lines
            ),
            subtotal_minor=invoice.subtotal_minor,
            tax_label=invoice.tax_label,
            tax_rate_bp=invoice.tax_rate_bp,
            tax_minor=invoice.tax_minor,
            total_minor=invoice.total_minor,
            paid_minor=paid,
            due_minor=max(0, invoice.total_minor - paid) if invoice.status.value == "issued" else 0,
            notes="This invoice was cancelled." if invoice.status.value == "void" else None,
        )
    )


def receipt_pdf(session: Session, payment: Payment) -> bytes:
    clinic = _clinic(session, payment.clinic_id)
    numbers = session.scalars(
        select(Invoice.number)
        .join(PaymentAllocation, PaymentAllocation.invoice_id == Invoice.id)
        .where(PaymentAllocation.payment_id == payment.id)
        .order_by(Invoice.id)
    ).all()
    contact = payment.contact
    return render_receipt_pdf(
        ReceiptDocument(
            **_letterhead(session, clinic),
            number=payment.receipt_number or f"payment {payment.id}",
            received_on=payment.received_at.astimezone(ZoneInfo(clinic.timezone)).date(),
            received_from=contact.name or format_phone(contact.phone),
            invoice_numbers=tuple(numbers),
            method=payment.method.label,
            reference=payment.provider_payment_id or payment.reference,
            currency=payment.currency,
            amount_minor=payment.amount_minor,
        )
    )


def _clinic(session: Session, clinic_id: int) -> Clinic:
    clinic = session.get(Clinic, clinic_id)
    assert clinic is not None
    return clinic


def _letterhead(session: Session, clinic: Clinic) -> dict[str, Any]:
    return {
        "logo": logo_png(session, clinic.id),
        "clinic_name": clinic.name,
        "clinic_address": main_address(session, clinic.id),
        "clinic_phone": format_phone(clinic.phone) if clinic.phone else None,
        "tax_id": clinic.tax_id,
    }
