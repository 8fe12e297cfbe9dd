"""Invoices, what is owed, and session credits.

A patient owes the issued invoices' totals minus what payments cover
(``PaymentAllocation``). Money received but not yet allocated is on account;
``settle`` allocates it to the contact's open invoices, oldest first, and keeps
each invoiced session's ``payment_status`` in step. Credits are a ledger of
sessions (packages bought, sessions drawn or returned); the balance is its sum.

Functions without ``write_transaction`` run inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    Patient,
    Payment,
    PaymentAllocation,
    PaymentState,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from services import audit
from services.audit import Actor
from services.billing.numbering import next_value
from services.errors import N_, InvalidInput
from services.locks import lock_in_clinic


@dataclass(frozen=True)
class LineSpec:
    kind: InvoiceLineKind
    description: str
    unit_minor: int
    quantity: int = 1
    appointment_id: int | None = None
    package_id: int | None = None


@dataclass(frozen=True)
class Dues:
    """What a contact owes: per patient (name, minor units) and in total."""

    per_patient: list[tuple[Patient, int]]
    total: int
    on_account: int  # received but not yet allocated (e.g. after a cancellation)


# --- numbering ------------------------------------------------------------------------


def financial_year(day: date, start_month: int) -> tuple[int, str]:
    """(first calendar year, label): April 2026–March 2027 is (2026, "2026-27");
    a January start gives (2026, "2026")."""
    first = day.year if day.month >= start_month else day.year - 1
    label = str(first) if start_month == 1 else f"{first}-{(first + 1) % 100:02d}"
    return first, label


def next_document_number(
    session: Session, clinic: Clinic, series: str, at: datetime, *, digits: int = 6
) -> str:
    """INV-2026-27-000042: per clinic, per series, restarting each financial year."""
    local_day = at.astimezone(ZoneInfo(clinic.timezone)).date()
    first, label = financial_year(local_day, clinic.policy.financial_year_start_month)
    value = next_value(
        session, DocumentCounter.__table__, clinic_id=clinic.id, series=series, year=first
    )
    return f"{series}-{label}-{value:0{digits}d}"


# --- invoices -------------------------------------------------------------------------


# Money columns are 32-bit integers: 2,000,000,000 paise is ₹2 crore per invoice.
MAX_INVOICE_MINOR = 2_000_000_000


def tax_for(subtotal_minor: int, rate_bp: int) -> int:
    """Tax in minor units, rounded half up, in integers only."""
    return (subtotal_minor * rate_bp + 5000) // 10000


def with_tax(subtotal_minor: int, rate_bp: int) -> int:
    """A subtotal with its tax added: what an invoice for it will total."""
    return subtotal_minor + tax_for(subtotal_minor, rate_bp)


def issue_invoice(
    session: Session,
    *,
    clinic: Clinic,
    patient: Patient,
    lines: list[LineSpec],
    now: datetime,
    actor: Actor,
) -> Invoice:
    if not lines:
        raise InvalidInput(detail=N_("An invoice needs at least one line."))
    for line in lines:
        if line.unit_minor < 0 or line.quantity < 1:
            raise InvalidInput(
                detail=N_("Invoice lines need a quantity and a price of zero or more.")
            )
    policy = clinic.policy
    subtotal = sum(line.unit_minor * line.quantity for line in lines)
    tax = tax_for(subtotal, policy.tax_rate_bp)
    if subtotal + tax > MAX_INVOICE_MINOR:
        raise InvalidInput(detail=N_("That invoice is larger than Roshni can record."))
    invoice = Invoice(
        clinic_id=clinic.id,
        number=next_document_number(session, clinic, "INV", now),
        contact_id=patient.contact_id,
        patient_id=patient.id,
        issued_at=now,
        currency=clinic.currency,
        subtotal_minor=subtotal,
        tax_label=policy.tax_label if tax else None,
        tax_rate_bp=policy.tax_rate_bp if tax else 0,
        tax_minor=tax,
        total_minor=subtotal + tax,
        created_by=actor.label(),
        lines=[
            InvoiceLine(
                clinic_id=clinic.id,
                kind=line.kind,
                description=line.description[:200],
                quantity=line.quantity,
                unit_minor=line.unit_minor,
                amount_minor=line.unit_minor * line.quantity,
                appointment_id=line.appointment_id,
                package_id=line.package_id,
            )
            for line in lines
        ],
    )
    session.add(invoice)
    audit.record(session, clinic_id=clinic.id, actor=actor, action="invoice.issue", entity=invoice)
    return invoice


def invoice_appointment(
    session: Session, appointment: Appointment, *, now: datetime, actor: Actor
) -> Invoice | None:
    """The session's invoice, issued once (None for a free session)."""
    existing = session_invoice(session, appointment.id)
    if existing is not None or appointment.price_minor == 0:
        return existing
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None
    when = appointment.start_at.astimezone(ZoneInfo(clinic.timezone))
    line = LineSpec(
        kind=InvoiceLineKind.SESSION,
        description=f"{appointment.service.name}, {when:%d %b %Y %H:%M} ({appointment.number})",
        unit_minor=appointment.price_minor,
        appointment_id=appointment.id,
    )
    return issue_invoice(
        session, clinic=clinic, patient=appointment.patient, lines=[line], now=now, actor=actor
    )


def session_invoice(session: Session, appointment_id: int) -> Invoice | None:
    return session.scalar(
        select(Invoice)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(InvoiceLine.appointment_id == appointment_id, Invoice.status == InvoiceStatus.ISSUED)
    )


def void_invoice(session: Session, invoice: Invoice, *, reason: str, actor: Actor) -> None:
    """Cancel an invoice: what paid it goes back on account (for a refund or later use)."""
    if invoice.status is InvoiceStatus.VOID:
        return
    before = audit.snapshot(invoice)
    invoice.status = InvoiceStatus.VOID
    invoice.void_reason = reason[:300]
    for allocation in session.scalars(
        select(PaymentAllocation).where(PaymentAllocation.invoice_id == invoice.id)
    ):
        session.delete(allocation)
    audit.record(
        session,
        clinic_id=invoice.clinic_id,
        actor=actor,
        action="invoice.void",
        entity=invoice,
        before=before,
    )


def void_invoice_for(
    session: Session, *, clinic_id: int, invoice_id: int, reason: str, now: datetime, actor: Actor
) -> Invoice:
    """Staff void an invoice (e.g. waive a late-cancellation charge), with a reason."""
    if not (reason or "").strip():
        raise InvalidInput(detail=N_("Please give a reason for voiding the invoice."))
    with write_transaction(session):
        invoice = lock_in_clinic(session, Invoice, clinic_id, invoice_id, what=N_("invoice"))
        void_invoice(session, invoice, reason=reason.strip(), actor=actor)
    return invoice


def invoice_paid(session: Session, invoice_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PaymentAllocation.amount_minor), 0)).where(
                PaymentAllocation.invoice_id == invoice_id
            )
        )
    )


# --- settling: payments against invoices ---------------------------------------------


def _allocated_by_invoice(clinic_id: int):
    return (
        select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount_minor).label("paid"))
        .where(PaymentAllocation.clinic_id == clinic_id)
        .group_by(PaymentAllocation.invoice_id)
        .subquery()
    )


def _money_left(*where: Any) -> Select[tuple[int, int]]:
    """(payment id, money left) for received payments: the amount less what pays
    invoices and what was refunded (or is being refunded)."""
    used = (
        select(PaymentAllocation.payment_id, func.sum(PaymentAllocation.amount_minor).label("used"))
        .group_by(PaymentAllocation.payment_id)
        .subquery()
    )
    refunded = (
        select(Refund.payment_id, func.sum(Refund.amount_minor).label("refunded"))
        .where(Refund.status != RefundStatus.FAILED)
        .group_by(Refund.payment_id)
        .subquery()
    )
    left = (
        Payment.amount_minor - func.coalesce(used.c.used, 0) - func.coalesce(refunded.c.refunded, 0)
    )
    return (
        select(Payment.id, left.label("left"))
        .outerjoin(used, used.c.payment_id == Payment.id)
        .outerjoin(refunded, refunded.c.payment_id == Payment.id)
        .where(Payment.status == PaymentState.RECEIVED, *where)
    )


def _invoice_due(clinic_id: int, *columns: Any) -> Select[Any]:
    """``columns`` of the clinic's issued invoices with what is left to pay on each."""
    paid = _allocated_by_invoice(clinic_id)
    return (
        select(*columns, (Invoice.total_minor - func.coalesce(paid.c.paid, 0)).label("due"))
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.clinic_id == clinic_id, Invoice.status == InvoiceStatus.ISSUED)
    )


def owed_by(clinic_id: int, column: Any, *where: Any) -> Select[tuple[int, int]]:
    """What is owed, grouped by ``column`` (Invoice.patient_id, Invoice.contact_id)."""
    due = _invoice_due(clinic_id, column).where(*where).subquery()
    key = due.c[column.key]
    return select(key, func.sum(due.c.due).label("owed")).group_by(key)


def payment_available(session: Session, payment_id: int) -> int:
    """Received, not allocated to an invoice and not refunded."""
    row = session.execute(_money_left(Payment.id == payment_id)).first()
    return int(row.left) if row is not None else 0


def settle(
    session: Session,
    clinic_id: int,
    contact_id: int,
    *,
    now: datetime,
    actor: Actor,
    prefer_invoice_id: int | None = None,
) -> None:
    """Allocate the contact's money on account to their open invoices (the preferred one
    first, then oldest first) and bring invoiced sessions' payment status up to date."""
    session.flush()
    available = [
        [pid, int(amount)]
        for pid, amount in session.execute(
            _money_left(Payment.clinic_id == clinic_id, Payment.contact_id == contact_id).order_by(
                Payment.received_at, Payment.id
            )
        )
        if amount > 0
    ]
    open_invoices = [
        (invoice_id, int(due))
        for invoice_id, due in session.execute(
            _invoice_due(clinic_id, Invoice.id)
            .where(Invoice.contact_id == contact_id)
            .order_by(
                case((Invoice.id == (prefer_invoice_id or 0), 0), else_=1),
                Invoice.issued_at,
                Invoice.id,
            )
        )
        if due > 0
    ]
    touched: list[int] = []
    for invoice_id, due in open_invoices:
        while due > 0 and available:
            pid, amount = available[0]
            take = min(due, amount)
            session.add(
                PaymentAllocation(
                    clinic_id=clinic_id, payment_id=pid, invoice_id=invoice_id, amount_minor=take
                )
            )
            due -= take
            available[0][1] -= take
            if available[0][1] == 0:
                available.pop(0)
            if invoice_id not in touched:
                touched.append(invoice_id)
    if touched:
        session.flush()
        refresh_session_status(session, clinic_id, touched, now=now, actor=actor)


def refresh_session_status(
    session: Session, clinic_id: int, invoice_ids: list[int], *, now: datetime, actor: Actor
) -> None:
    """Set each invoiced session's payment status from its invoice; a fully paid
    prepaid booking stops being held and becomes confirmed."""
    paid = _allocated_by_invoice(clinic_id)
    rows = session.execute(
        select(Appointment, Invoice.total_minor, func.coalesce(paid.c.paid, 0))
        .join(InvoiceLine, InvoiceLine.appointment_id == Appointment.id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.id.in_(invoice_ids))
        .with_for_update(of=Appointment)
    ).all()
    for appointment, total, covered in rows:
        if covered >= total:
            status = PaymentStatus.PAID
        elif covered > 0:
            status = PaymentStatus.PARTIALLY_PAID
        else:
            continue
        if appointment.payment_status is status:
            continue
        before = audit.snapshot(appointment)
        appointment.payment_status = status
        held = appointment.hold_expires_at is not None
        if held and (status is PaymentStatus.PAID or appointment.service.accept_partial):
            appointment.hold_expires_at = None
        prepaid = appointment.service.prepay_required
        if (
            status is PaymentStatus.PAID
            and prepaid
            and appointment.status is AppointmentStatus.BOOKED
        ):
            appointment.status = AppointmentStatus.CONFIRMED  # a prepaid booking, paid
            appointment.confirmed_at = now
        audit.record(
            session,
            clinic_id=appointment.clinic_id,
            actor=actor,
            action="appointment.payment",
            entity=appointment,
            before=before,
        )


# --- what is owed ---------------------------------------------------------------------


def dues_by_patient(session: Session, clinic_id: int, contact_id: int | None = None) -> dict:
    """patient id → amount owed (invoiced − paid − credited), only where positive."""
    billed_to = () if contact_id is None else (Invoice.contact_id == contact_id,)
    query = owed_by(clinic_id, Invoice.patient_id, *billed_to)
    return {pid: int(owed) for pid, owed in session.execute(query) if owed and owed > 0}


def outstanding_by_contact(session: Session, clinic_id: int) -> dict[int, int]:
    """contact id → amount owed, in minor units (only contacts who owe something)."""
    rows = session.execute(owed_by(clinic_id, Invoice.contact_id))
    return {contact_id: int(owed) for contact_id, owed in rows if owed and owed > 0}


def due_invoices(session: Session, clinic_id: int) -> list[tuple[int, datetime, int]]:
    """(contact id, issued at, left to pay) for each issued invoice not yet paid in full:
    the same rule as ``outstanding_by_contact``, one row per invoice (for ageing)."""
    due = _invoice_due(clinic_id, Invoice.contact_id, Invoice.issued_at).subquery()
    rows = session.execute(
        select(due.c.contact_id, due.c.issued_at, due.c.due).where(due.c.due > 0)
    )
    return [(contact_id, issued_at, int(left)) for contact_id, issued_at, left in rows]


def contact_dues(session: Session, clinic_id: int, contact_id: int) -> Dues:
    owed = dues_by_patient(session, clinic_id, contact_id)
    patients = session.scalars(
        select(Patient).where(Patient.id.in_(owed)).order_by(Patient.id)
    ).all()
    left = _money_left(Payment.clinic_id == clinic_id, Payment.contact_id == contact_id).subquery()
    on_account = session.scalar(select(func.coalesce(func.sum(left.c.left), 0)))
    per_patient = [(p, owed[p.id]) for p in patients]
    return Dues(per_patient=per_patient, total=sum(owed.values()), on_account=int(on_account))
