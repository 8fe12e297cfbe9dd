"""Everything the clinic holds about one contact, as one zip archive (a data-rights
request: DPDP Act 2023 s.11, UK GDPR art. 15 and 20).

The archive holds one JSON file per kind of record (the rows as the audit log
snapshots them), the PDFs the clinic already issues (each invoice and each
receipt), the files the contact sent in chat and the documents kept about their
patients: ``inbound_media.json`` lists
every attachment row of their messages (voice notes, photos, PDFs, shared
locations, including ones refused or never fetched), and each stored file is
copied from the file storage (``core.storage``) as ``media/<message id>-<index>.<ext>``
when the caller gives the store; ``documents.json`` lists the patients' documents
(deleted ones too: the clinic still holds them) and each file is copied as
``documents/<document id>.<ext>``. ``manifest.json`` says for each stored file
whether it is in the archive, missing from the storage (listed, not an error),
or not read because no store was given.

Every read is scoped to the clinic; the export itself is audited (counts only).
The rows are read in one transaction; the files are read after it has committed,
so no database transaction waits on the storage.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import write_transaction
from integrations.backup_storage import BackupStore
from models import (
    ActorType,
    Appointment,
    Assessment,
    AuditLog,
    Clinic,
    Contact,
    Conversation,
    CreditEntry,
    ExerciseAssignment,
    ExerciseReply,
    Goal,
    GoalMeasure,
    InboundMedia,
    InboundMessage,
    Invoice,
    InvoiceLine,
    OutboundMessage,
    Patient,
    PatientDocument,
    Payment,
    PaymentAllocation,
    PaymentLink,
    ProgressNote,
    ProgressReport,
    Refund,
    RescheduleRequest,
    SessionRecord,
)
from models.base import column_values
from services import audit
from services.audit import Actor
from services.billing.billing_documents import invoice_pdf, receipt_pdf
from services.errors import N_, NotFound
from services.privacy.export_media import read_media, stored_documents, stored_media

log = logging.getLogger(__name__)

FORMAT_VERSION = 4  # 2: inbound_media.json, media/ and the manifest's "media"; 3: documents;
# 4: exercise_assignments.json and exercise_replies.json (home exercises)


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

    def owned(self, model: Any) -> ColumnElement[bool]:
        """SQL: a row of ``model`` is the clinic's and about the contact (the one rule
        for "what belongs to this contact", shared by export and erasure)."""
        about: dict[Any, ColumnElement[bool]] = {
            Contact: Contact.id == self.contact_id,
            Patient: Patient.id.in_(self.patient_ids),
            Appointment: Appointment.id.in_(self.appointment_ids),
            Conversation: Conversation.id.in_(self.conversation_ids),
            Invoice: Invoice.id.in_(self.invoice_ids),
            Payment: Payment.id.in_(self.payment_ids),
            InboundMessage: InboundMessage.conversation_id.in_(self.conversation_ids),
            InboundMedia: InboundMedia.message_id.in_(
                select(InboundMessage.id).where(
                    InboundMessage.clinic_id == self.clinic_id,
                    InboundMessage.conversation_id.in_(self.conversation_ids),
                )
            ),
            OutboundMessage: OutboundMessage.contact_id == self.contact_id,
            InvoiceLine: InvoiceLine.invoice_id.in_(self.invoice_ids),
            ProgressNote: ProgressNote.patient_id.in_(self.patient_ids),
            SessionRecord: SessionRecord.patient_id.in_(self.patient_ids),
            Goal: Goal.patient_id.in_(self.patient_ids),
            Assessment: Assessment.patient_id.in_(self.patient_ids),
            ProgressReport: ProgressReport.patient_id.in_(self.patient_ids),
            GoalMeasure: GoalMeasure.goal_id.in_(
                select(Goal.id).where(
                    Goal.clinic_id == self.clinic_id, Goal.patient_id.in_(self.patient_ids)
                )
            ),
            PatientDocument: PatientDocument.patient_id.in_(self.patient_ids),
            ExerciseAssignment: ExerciseAssignment.patient_id.in_(self.patient_ids),
            ExerciseReply: ExerciseReply.assignment_id.in_(
                select(ExerciseAssignment.id).where(
                    ExerciseAssignment.clinic_id == self.clinic_id,
                    ExerciseAssignment.patient_id.in_(self.patient_ids),
                )
            ),
            RescheduleRequest: RescheduleRequest.appointment_id.in_(self.appointment_ids),
            Refund: Refund.payment_id.in_(self.payment_ids),
            PaymentLink: PaymentLink.contact_id == self.contact_id,
            CreditEntry: CreditEntry.patient_id.in_(self.patient_ids),
        }
        return and_(model.clinic_id == self.clinic_id, about[model])

    def entities(self, session: Session) -> dict[str, tuple[int, ...]]:
        """Audit entity types and ids of the rows about the contact (for audit lookups)."""

        def ids(model: Any) -> tuple[int, ...]:
            return tuple(session.scalars(select(model.id).where(self.owned(model))))

        return {
            "Contact": (self.contact_id,),
            "Patient": self.patient_ids,
            "Appointment": self.appointment_ids,
            "Conversation": self.conversation_ids,
            "Invoice": self.invoice_ids,
            "Payment": self.payment_ids,
            "OutboundMessage": ids(OutboundMessage),
            "ProgressNote": ids(ProgressNote),
            "SessionRecord": ids(SessionRecord),
            "Goal": ids(Goal),
            "Assessment": ids(Assessment),
            "PatientDocument": ids(PatientDocument),
            "ProgressReport": ids(ProgressReport),
            "ExerciseAssignment": ids(ExerciseAssignment),
            "ExerciseReply": ids(ExerciseReply),
            "RescheduleRequest": ids(RescheduleRequest),
            "Refund": ids(Refund),
            "PaymentLink": ids(PaymentLink),
            "CreditEntry": ids(CreditEntry),
        }


def contact_records(session: Session, *, clinic_id: int, contact_id: int) -> ContactRecords:
    """The contact's rows in ``clinic_id``; NotFound when the contact is not the clinic's."""
    contact = session.scalar(
        select(Contact).where(Contact.clinic_id == clinic_id, Contact.id == contact_id)
    )
    if contact is None:
        raise NotFound(what=N_("contact"))
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
    session: Session,
    *,
    clinic_id: int,
    contact_id: int,
    actor: Actor,
    now: datetime,
    media: BackupStore | None = None,
) -> bytes:
    """One zip archive of everything held about the contact and their patients.
    ``media``: the file storage the files they sent in chat are copied from (without it
    the archive lists those files but holds none)."""
    require_aware(now, "now")
    with write_transaction(session):
        records = contact_records(session, clinic_id=clinic_id, contact_id=contact_id)
        files = _json_files(session, records)
        pdfs = _pdf_files(session, records)
        stored = stored_media(session, records.owned(InboundMedia))
        kept = stored_documents(session, records.owned(PatientDocument))
        clinic_name = session.get(Clinic, clinic_id).name  # type: ignore[union-attr]
        # Counts only: the audit log must not become a second copy of the data.
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="contact.export",
            entity=session.get(Contact, contact_id),
            after={
                "files": len(files) + len(pdfs),
                "pdfs": len(pdfs),
                # Files to be read after the commit (some may prove missing).
                "media_files": len(stored) if media is not None else 0,
                "document_files": len(kept) if media is not None else 0,
            },
        )
    copies, states = read_media(media, stored)
    documents, document_states = read_media(media, kept)
    manifest = {
        "format_version": FORMAT_VERSION,
        "clinic": clinic_name,
        "contact_id": contact_id,
        "exported_at": now.isoformat(),
        "files": {name: len(rows) for name, rows in files.items()}
        | dict.fromkeys(pdfs, 1)
        | dict.fromkeys(copies, 1)
        | dict.fromkeys(documents, 1),
        "media": states,
        "documents": document_states,
    }
    archive = io.BytesIO()
    stamp = now.timetuple()[:6]
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _write(zf, "manifest.json", _dumps(manifest).encode(), stamp)
        for name, rows in files.items():
            _write(zf, name, _dumps(rows).encode(), stamp)
        for name, data in pdfs.items():
            _write(zf, name, data, stamp)
        for name, data in (copies | documents).items():
            _write(zf, name, data, stamp)
    return archive.getvalue()


def _json_files(session: Session, records: ContactRecords) -> dict[str, list[dict[str, Any]]]:
    cid = records.clinic_id

    def rows(stmt: Select[Any]) -> list[dict[str, Any]]:
        return [column_values(obj) for obj in session.scalars(stmt)]

    conversations = []
    for conversation in session.scalars(
        select(Conversation).where(records.owned(Conversation)).order_by(Conversation.id)
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
        select(Invoice).where(records.owned(Invoice)).order_by(Invoice.id)
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
        select(Payment).where(records.owned(Payment)).order_by(Payment.id)
    ):
        entry = column_values(payment)
        entry["allocations"] = rows(
            select(PaymentAllocation)
            .where(PaymentAllocation.clinic_id == cid, PaymentAllocation.payment_id == payment.id)
            .order_by(PaymentAllocation.id)
        )
        payments.append(entry)

    def owned(model: Any, *order: Any) -> list[dict[str, Any]]:
        return rows(select(model).where(records.owned(model)).order_by(*order, model.id))

    return {
        "contact.json": owned(Contact),
        "patients.json": owned(Patient),
        "appointments.json": owned(Appointment, Appointment.start_at),
        "reschedule_requests.json": owned(RescheduleRequest),
        "progress_notes.json": owned(ProgressNote),
        "session_records.json": owned(SessionRecord),
        "goals.json": owned(Goal),
        "goal_measures.json": owned(GoalMeasure, GoalMeasure.measured_at),
        "assessments.json": owned(Assessment, Assessment.created_at),
        "documents.json": owned(PatientDocument),
        "progress_reports.json": owned(ProgressReport),
        "exercise_assignments.json": owned(ExerciseAssignment, ExerciseAssignment.starts_on),
        "exercise_replies.json": owned(ExerciseReply, ExerciseReply.day),
        "conversations.json": conversations,
        "outbound_messages.json": owned(OutboundMessage),
        "invoices.json": invoices,
        "payments.json": payments,
        "refunds.json": owned(Refund),
        "payment_links.json": owned(PaymentLink),
        "credits.json": owned(CreditEntry),
        "inbound_media.json": owned(InboundMedia, InboundMedia.message_id, InboundMedia.index),
        "audit_log.json": [column_values(row) for row in audit_rows_about(session, records)],
    }


def _pdf_files(session: Session, records: ContactRecords) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for invoice in session.scalars(
        select(Invoice).where(records.owned(Invoice)).order_by(Invoice.id)
    ):
        out[f"invoices/{_safe(invoice.number)}.pdf"] = invoice_pdf(session, invoice)
    for payment in session.scalars(
        select(Payment).where(records.owned(Payment)).order_by(Payment.id)
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
