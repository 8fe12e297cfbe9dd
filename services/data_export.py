"""Everything the clinic holds about one contact, as one zip archive (a data-rights
request: DPDP Act 2023 s.11, UK GDPR art. 15 and 20).

The archive holds one JSON file per kind of record (the rows as the audit log
snapshots them) and the PDFs the clinic already issues: each invoice and each
receipt. Every read is scoped to the clinic; the export itself is audited.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import write_transaction
from models import (
    ActorType,
    Appointment,
    AuditLog,
    Clinic,
    Contact,
    Conversation,
    CreditEntry,
    InboundMessage,
    Invoice,
    InvoiceLine,
    OutboundMessage,
    Patient,
    Payment,
    PaymentAllocation,
    PaymentLink,
    ProgressNote,
    Refund,
    RescheduleRequest,
)
from models.base import column_values
from services import audit
from services.audit import Actor
from services.billing_documents import invoice_pdf, receipt_pdf
from services.errors import NotFound

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ContactRecords:
    """The ids of every row that is about one contact, within one clinic."""

    clinic_id: int
    contact_id: int
    patient_ids: tuple[int, ...]
    appointment_ids: tuple[int, ...]
    conversation_ids: tuple[int, ...]
    invoice_ids: tuple[int, ...]
    payment_ids: tuple[int, ...]

    def entities(self, session: Session) -> dict[str, tuple[int, ...]]:
        """Audit entity types and ids of the rows about the contact (for audit lookups)."""
        cid = self.clinic_id

        def ids(stmt: Select[Any]) -> tuple[int, ...]:
            return tuple(session.scalars(stmt))

        return {
            "Contact": (self.contact_id,),
            "Patient": self.patient_ids,
            "Appointment": self.appointment_ids,
            "Conversation": self.conversation_ids,
            "Invoice": self.invoice_ids,
            "Payment": self.payment_ids,
            "OutboundMessage": ids(
                select(OutboundMessage.id).where(
                    OutboundMessage.clinic_id == cid,
                    OutboundMessage.contact_id == self.contact_id,
                )
            ),
            "ProgressNote": ids(
                select(ProgressNote.id).where(
                    ProgressNote.clinic_id == cid, ProgressNote.patient_id.in_(self.patient_ids)
                )
            ),
            "RescheduleRequest": ids(
                select(RescheduleRequest.id).where(
                    RescheduleRequest.clinic_id == cid,
                    RescheduleRequest.appointment_id.in_(self.appointment_ids),
                )
            ),
            "Refund": ids(
                select(Refund.id).where(
                    Refund.clinic_id == cid, Refund.payment_id.in_(self.payment_ids)
                )
            ),
            "PaymentLink": ids(
                select(PaymentLink.id).where(
                    PaymentLink.clinic_id == cid, PaymentLink.contact_id == self.contact_id
                )
            ),
            "CreditEntry": ids(
                select(CreditEntry.id).where(
                    CreditEntry.clinic_id == cid, CreditEntry.patient_id.in_(self.patient_ids)
                )
            ),
        }


def contact_records(session: Session, *, clinic_id: int, contact_id: int) -> ContactRecords:
    """The contact's rows in ``clinic_id``; NotFound when the contact is not the clinic's."""
    contact = session.scalar(
        select(Contact).where(Contact.clinic_id == clinic_id, Contact.id == contact_id)
    )
    if contact is None:
        raise NotFound(what="contact")
    patient_ids = tuple(
        session.scalars(
            select(Patient.id)
            .where(Patient.clinic_id == clinic_id, Patient.contact_id == contact_id)
            .order_by(Patient.id)
        )
    )
    return ContactRecords(
        clinic_id=clinic_id,
        contact_id=contact_id,
        patient_ids=patient_ids,
        appointment_ids=tuple(
            session.scalars(
                select(Appointment.id)
                .where(Appointment.clinic_id == clinic_id, Appointment.patient_id.in_(patient_ids))
                .order_by(Appointment.id)
            )
        ),
        conversation_ids=tuple(
            session.scalars(
                select(Conversation.id)
                .where(
                    Conversation.clinic_id == clinic_id,
                    or_(Conversation.contact_id == contact_id, Conversation.phone == contact.phone),
                )
                .order_by(Conversation.id)
            )
        ),
        invoice_ids=tuple(
            session.scalars(
                select(Invoice.id)
                .where(Invoice.clinic_id == clinic_id, Invoice.contact_id == contact_id)
                .order_by(Invoice.id)
            )
        ),
        payment_ids=tuple(
            session.scalars(
                select(Payment.id)
                .where(Payment.clinic_id == clinic_id, Payment.contact_id == contact_id)
                .order_by(Payment.id)
            )
        ),
    )


def audit_rows_about(session: Session, records: ContactRecords) -> Sequence[AuditLog]:
    """The clinic's audit rows about the contact's records, or done by the contact over chat."""
    about = [
        and_(AuditLog.entity_type == kind, AuditLog.entity_id.in_([str(i) for i in ids]))
        for kind, ids in records.entities(session).items()
        if ids
    ]
    by_contact = and_(
        AuditLog.actor_type == ActorType.CONTACT, AuditLog.actor_id == records.contact_id
    )
    return session.scalars(
        select(AuditLog)
        .where(AuditLog.clinic_id == records.clinic_id, or_(by_contact, *about))
        .order_by(AuditLog.id)
    ).all()


def export_filename(contact_id: int, now: datetime) -> str:
    return f"contact-{contact_id}-data-{now:%Y%m%d}.zip"


def export_contact_data(
    session: Session, *, clinic_id: int, contact_id: int, actor: Actor, now: datetime
) -> bytes:
    """One zip archive of everything held about the contact and their patients."""
    require_aware(now, "now")
    with write_transaction(session):
        records = contact_records(session, clinic_id=clinic_id, contact_id=contact_id)
        files = _json_files(session, records)
        pdfs = _pdf_files(session, records)
        manifest = {
            "format_version": FORMAT_VERSION,
            "clinic": session.get(Clinic, clinic_id).name,  # type: ignore[union-attr]
            "contact_id": contact_id,
            "exported_at": now.isoformat(),
            "files": {name: len(rows) for name, rows in files.items()} | dict.fromkeys(pdfs, 1),
        }
        archive = io.BytesIO()
        stamp = now.timetuple()[:6]
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            _write(zf, "manifest.json", _dumps(manifest).encode(), stamp)
            for name, rows in files.items():
                _write(zf, name, _dumps(rows).encode(), stamp)
            for name, data in pdfs.items():
                _write(zf, name, data, stamp)
        # Counts only: the audit log must not become a second copy of the data.
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="contact.export",
            entity=session.get(Contact, contact_id),
            after={"files": len(files) + len(pdfs), "pdfs": len(pdfs)},
        )
    return archive.getvalue()


def _json_files(session: Session, records: ContactRecords) -> dict[str, list[dict[str, Any]]]:
    cid = records.clinic_id

    def rows(stmt: Select[Any]) -> list[dict[str, Any]]:
        return [column_values(obj) for obj in session.scalars(stmt)]

    conversations = []
    for conversation in session.scalars(
        select(Conversation)
        .where(Conversation.clinic_id == cid, Conversation.id.in_(records.conversation_ids))
        .order_by(Conversation.id)
    ):
        entry = column_values(conversation)
        entry["messages"] = rows(
            select(InboundMessage)
            .where(
                InboundMessage.clinic_id == cid,
                InboundMessage.conversation_id == conversation.id,
            )
            .order_by(InboundMessage.received_at, InboundMessage.id)
        )
        conversations.append(entry)

    invoices = []
    for invoice in session.scalars(
        select(Invoice)
        .where(Invoice.clinic_id == cid, Invoice.id.in_(records.invoice_ids))
        .order_by(Invoice.id)
    ):
        entry = column_values(invoice)
        entry["lines"] = rows(
            select(InvoiceLine)
            .where(InvoiceLine.clinic_id == cid, InvoiceLine.invoice_id == invoice.id)
            .order_by(InvoiceLine.id)
        )
        invoices.append(entry)

    payments = []
    for payment in session.scalars(
        select(Payment)
        .where(Payment.clinic_id == cid, Payment.id.in_(records.payment_ids))
        .order_by(Payment.id)
    ):
        entry = column_values(payment)
        entry["allocations"] = rows(
            select(PaymentAllocation)
            .where(PaymentAllocation.clinic_id == cid, PaymentAllocation.payment_id == payment.id)
            .order_by(PaymentAllocation.id)
        )
        payments.append(entry)

    entities = records.entities(session)
    return {
        "contact.json": rows(
            select(Contact).where(Contact.clinic_id == cid, Contact.id == records.contact_id)
        ),
        "patients.json": rows(
            select(Patient)
            .where(Patient.clinic_id == cid, Patient.id.in_(records.patient_ids))
            .order_by(Patient.id)
        ),
        "appointments.json": rows(
            select(Appointment)
            .where(Appointment.clinic_id == cid, Appointment.id.in_(records.appointment_ids))
            .order_by(Appointment.start_at, Appointment.id)
        ),
        "reschedule_requests.json": rows(
            select(RescheduleRequest)
            .where(
                RescheduleRequest.clinic_id == cid,
                RescheduleRequest.id.in_(entities["RescheduleRequest"]),
            )
            .order_by(RescheduleRequest.id)
        ),
        "progress_notes.json": rows(
            select(ProgressNote)
            .where(ProgressNote.clinic_id == cid, ProgressNote.id.in_(entities["ProgressNote"]))
            .order_by(ProgressNote.id)
        ),
        "conversations.json": conversations,
        "outbound_messages.json": rows(
            select(OutboundMessage)
            .where(
                OutboundMessage.clinic_id == cid,
                OutboundMessage.id.in_(entities["OutboundMessage"]),
            )
            .order_by(OutboundMessage.id)
        ),
        "invoices.json": invoices,
        "payments.json": payments,
        "refunds.json": rows(
            select(Refund)
            .where(Refund.clinic_id == cid, Refund.id.in_(entities["Refund"]))
            .order_by(Refund.id)
        ),
        "payment_links.json": rows(
            select(PaymentLink)
            .where(PaymentLink.clinic_id == cid, PaymentLink.id.in_(entities["PaymentLink"]))
            .order_by(PaymentLink.id)
        ),
        "credits.json": rows(
            select(CreditEntry)
            .where(CreditEntry.clinic_id == cid, CreditEntry.id.in_(entities["CreditEntry"]))
            .order_by(CreditEntry.id)
        ),
        "audit_log.json": [column_values(row) for row in audit_rows_about(session, records)],
    }


def _pdf_files(session: Session, records: ContactRecords) -> dict[str, bytes]:
    cid = records.clinic_id
    out: dict[str, bytes] = {}
    for invoice in session.scalars(
        select(Invoice)
        .where(Invoice.clinic_id == cid, Invoice.id.in_(records.invoice_ids))
        .order_by(Invoice.id)
    ):
        out[f"invoices/{_safe(invoice.number)}.pdf"] = invoice_pdf(session, invoice)
    for payment in session.scalars(
        select(Payment)
        .where(Payment.clinic_id == cid, Payment.id.in_(records.payment_ids))
        .order_by(Payment.id)
    ):
        name = payment.receipt_number or f"payment-{payment.id}"
        out[f"receipts/{_safe(name)}.pdf"] = receipt_pdf(session, payment)
    return out


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "document"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def _write(zf: zipfile.ZipFile, name: str, data: bytes, stamp: tuple[int, ...]) -> None:
    info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
