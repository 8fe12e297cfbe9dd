"""Erasing a contact's personal data on request (DPDP Act 2023 s.12, UK GDPR art. 17).

What goes: the contact's name and number, their patients' names, dates of birth
and notes, every chat (the conversations and the messages in them are deleted),
the text of every message sent to them, progress notes, the documents kept about
their patients (the files leave the file storage; the rows stay, deleted and without
their names), free text staff wrote
about their sessions, the notes of their home exercises (running ones are stopped and
their nudges cancelled; the replies keep their days and outcomes, not the message), and
any audit snapshot or payment-provider event that
holds any of it. Sessions still to come are cancelled (the slots are free again)
and messages not sent yet are withdrawn; nothing is sent to the erased number.

What stays, because tax law requires it: invoices, payments, refunds and credit
ledger rows with their amounts, pointing at a placeholder contact ("Erased
contact #12") that has no number. The contact row itself stays as that
placeholder, marked ``erased_at``; a message from the same number later starts
over as a new, unknown contact.

The erasure is audited by counts only: who erased which contact id, and when.
Erasing again changes nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import unit_of_work
from integrations.backup_storage import BackupStore
from models import (
    Appointment,
    AppointmentStatus,
    Assessment,
    AuditLog,
    Contact,
    Conversation,
    CreditEntry,
    ExerciseAssignment,
    ExerciseReply,
    Goal,
    InboundMessage,
    Invoice,
    InvoiceLine,
    OutboundMessage,
    OutboundStatus,
    Patient,
    PatientDocument,
    Payment,
    PaymentLink,
    ProgressNote,
    ProgressReport,
    ProviderEvent,
    Refund,
    RescheduleRequest,
    SessionRecord,
)
from models.assessments import ASSESSMENT_TEXTS
from models.notes import RECORD_TEXTS, REPORT_TEXTS
from services import audit
from services.audit import Actor
from services.clinical import exercise_nudges
from services.clinical.documents import forget_document_files
from services.errors import N_
from services.locks import lock_in_clinic
from services.messaging.media import forget_files, stored_keys
from services.privacy.data_export import ContactRecords, audit_rows_about, contact_records
from services.scheduling import appointments

ERASED = "[erased]"
CANCEL_REASON = "personal data erased on request"
# Names shorter than this are not searched for inside other text: "Om" would
# blank half the clinic's records.
MIN_NAME_NEEDLE = 3
# Keys whose values in an audit snapshot of an erased row are personal or free text.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "phone",
        "email",
        "date_of_birth",
        "notes",
        "note",
        "body",
        "variables",
        "data",
        "reply",
        "from_phone",
        "cancellation_reason",
        "decision_note",
        "reason",
        "void_reason",
        "description",
        "error_message",
        "contact",
        "customer",
    }
)


@dataclass(frozen=True)
class Erasure:
    contact_id: int
    already_erased: bool
    counts: dict[str, int] = field(default_factory=dict)


def erased_contact_name(contact_id: int) -> str:
    return f"Erased contact #{contact_id}"


def erased_patient_name(patient_id: int) -> str:
    return f"Erased patient #{patient_id}"


def erase_contact(
    session: Session,
    *,
    clinic_id: int,
    contact_id: int,
    actor: Actor,
    now: datetime,
    media: BackupStore | None = None,
) -> Erasure:
    """Erase the contact's personal data in ``clinic_id``, keeping the money records.
    ``media``: the file storage, whose copies of files the contact sent are deleted once
    the erasure has committed."""
    require_aware(now, "now")
    files: set[str] = set()
    document_files: set[str] = set()
    with unit_of_work(session):
        contact = lock_in_clinic(session, Contact, clinic_id, contact_id, what=N_("contact"))
        if contact.erased_at is not None:
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="contact.erase",
                entity=contact,
                after={"already_erased": True},
            )
            return Erasure(contact_id=contact.id, already_erased=True)

        records = contact_records(session, clinic_id=clinic_id, contact_id=contact_id)
        patients = session.scalars(select(Patient).where(records.owned(Patient))).all()
        needles = _needles(contact.phone, [contact.name, *(p.name for p in patients)])
        counts: dict[str, int] = {}

        # Sessions to come: cancelled through the usual verb (slot freed, reminders
        # withdrawn, billing by policy); its notice is withdrawn with the rest below.
        upcoming = session.scalars(
            select(Appointment.id)
            .where(
                records.owned(Appointment),
                Appointment.status.in_(AppointmentStatus.active()),
                Appointment.start_at > now,
            )
            .order_by(Appointment.start_at)
        ).all()
        for appointment_id in upcoming:
            appointments.cancel_appointment(
                session,
                clinic_id=clinic_id,
                appointment_id=appointment_id,
                now=now,
                actor=actor,
                reason=CANCEL_REASON,
            )
        counts["appointments_cancelled"] = len(upcoming)
        files = stored_keys(
            session, clinic_id, select(InboundMessage.id).where(records.owned(InboundMessage))
        )
        counts |= _erase_exercises(session, records, now)
        counts |= _erase_messages(session, records)
        counts |= _erase_people(session, contact, patients, now)
        counts |= _erase_clinical_and_free_text(session, records, needles)
        document_files, counts["documents_erased"] = _erase_documents(session, records, now)
        counts["audit_rows_scrubbed"] = _scrub_audit(session, records, needles)
        counts["provider_events_scrubbed"] = _scrub_provider_events(session, records, needles)
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="contact.erase",
            entity=contact,
            after={"counts": counts},
        )
    if media is not None:
        counts["media_files_deleted"] = forget_files(session, media, clinic_id, files)
        counts["document_files_deleted"] = forget_document_files(
            session, media, clinic_id, document_files
        )
        session.rollback()  # the check read after the commit; nothing to keep
    return Erasure(contact_id=contact_id, already_erased=False, counts=counts)


def _needles(phone: str, names: Iterable[str | None]) -> tuple[str, ...]:
    """The strings whose presence marks a text as being about the contact."""
    found: list[str] = [phone]
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None:
        # Covers "+91 98765 00001", "919876500001" and "098765 00001" alike once
        # spaces are gone; formatted variants are matched as well.
        found.append(phonenumbers.national_significant_number(number))
        for style in (
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
        ):
            found.append(phonenumbers.format_number(number, style))
    found += [n.strip() for n in names if n and len(n.strip()) >= MIN_NAME_NEEDLE]
    return tuple(dict.fromkeys(n for n in found if n))


def _contains_needle(text: str, needles: tuple[str, ...]) -> bool:
    folded = text.casefold()
    digits = "".join(ch for ch in text if ch.isdigit())
    return any(n.casefold() in folded or (n.isdigit() and n in digits) for n in needles)


def _scrub_text(text: str | None, needles: tuple[str, ...]) -> str | None:
    """``text`` with each needle replaced; the whole text when a number hides in it."""
    if text is None or not _contains_needle(text, needles):
        return text
    out = text
    for needle in sorted(needles, key=len, reverse=True):
        start = out.casefold().find(needle.casefold())
        while start != -1:
            out = out[:start] + ERASED + out[start + len(needle) :]
            start = out.casefold().find(needle.casefold(), start + len(ERASED))
    return ERASED if _contains_needle(out, needles) else out


def _scrub_json(value: Any, needles: tuple[str, ...], *, personal: bool = False) -> Any:
    """A JSON value with every string that names the contact replaced whole; ``personal``:
    also every value under a personal key (the snapshot is of an erased row)."""
    if isinstance(value, dict):
        return {
            k: (
                ERASED
                if personal and k in PERSONAL_KEYS and v not in (None, "", [], {})
                else _scrub_json(v, needles, personal=personal)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_json(v, needles, personal=personal) for v in value]
    if isinstance(value, str):
        # A remark that names the contact is about them as a whole, not only the name.
        return ERASED if _contains_needle(value, needles) else value
    return value


def _erase_exercises(session: Session, records: ContactRecords, now: datetime) -> dict[str, int]:
    """Home exercises: running ones stopped (their nudges cancelled, before the messages
    are withdrawn), the therapist's notes gone; replies keep their day and outcome but not
    the chat message that carried them (deleted with the chat)."""
    assignments = session.scalars(
        select(ExerciseAssignment).where(records.owned(ExerciseAssignment))
    ).all()
    for assignment in assignments:
        if assignment.stopped_at is None:
            assignment.stopped_at = now
            exercise_nudges.cancel_nudges(session, assignment, now=now)
        assignment.notes = None
        assignment.updated_at = now
    session.execute(
        update(ExerciseReply).where(records.owned(ExerciseReply)).values(message_id=None)
    )
    session.flush()
    return {"exercise_assignments_erased": len(assignments)}


def _erase_messages(session: Session, records: ContactRecords) -> dict[str, int]:
    withdrawn = session.execute(
        update(OutboundMessage)
        .where(records.owned(OutboundMessage), OutboundMessage.status == OutboundStatus.QUEUED)
        .values(status=OutboundStatus.CANCELLED)
    ).rowcount
    blanked = session.execute(
        update(OutboundMessage)
        .where(records.owned(OutboundMessage))
        .values(body=None, variables={}, error_message=None)
    ).rowcount
    inbound = session.execute(delete(InboundMessage).where(records.owned(InboundMessage))).rowcount
    conversations = session.execute(
        delete(Conversation).where(records.owned(Conversation))
    ).rowcount
    return {
        "outbound_withdrawn": withdrawn or 0,
        "outbound_blanked": blanked or 0,
        "inbound_deleted": inbound or 0,
        "conversations_deleted": conversations or 0,
    }


def _erase_people(
    session: Session, contact: Contact, patients: Iterable[Patient], now: datetime
) -> dict[str, int]:
    count = 0
    for patient in patients:
        patient.name = erased_patient_name(patient.id)
        patient.date_of_birth = None
        patient.notes = None
        patient.active = False
        count += 1
    contact.name = erased_contact_name(contact.id)
    # Not a number: unique per clinic, and never reachable or matched by an inbound message.
    contact.phone = f"erased:{contact.id}"
    contact.consent_at = None
    contact.consent_version = None
    contact.whatsapp_opted_out_at = None
    contact.sms_opted_out_at = None
    contact.whatsapp_last_inbound_at = None
    contact.sms_last_inbound_at = None
    contact.erased_at = now
    session.flush()
    return {"patients_erased": count}


def _erase_clinical_and_free_text(
    session: Session, records: ContactRecords, needles: tuple[str, ...]
) -> dict[str, int]:
    notes = session.execute(
        update(ProgressNote).where(records.owned(ProgressNote)).values(body=ERASED)
    ).rowcount
    # Session records keep their dates and signatures; every written part goes.
    records_erased = session.execute(
        update(SessionRecord)
        .where(records.owned(SessionRecord))
        .values({name: None for name in RECORD_TEXTS} | {"attendance": None})
    ).rowcount
    # Goals keep their numbers (baseline, target, measures); what they said goes.
    session.execute(
        update(Goal).where(records.owned(Goal)).values(behaviour=ERASED, measure=ERASED)
    )
    # Assessments keep their dates, kinds, types, plans and signatures; every written
    # part and every item's answer goes (the items' labels are the clinic's template).
    assessments_erased = 0
    for assessment in session.scalars(select(Assessment).where(records.owned(Assessment))):
        for name in ASSESSMENT_TEXTS:
            setattr(assessment, name, None)
        assessment.items = [{**item, "value": None} for item in assessment.items]
        assessments_erased += 1
    # Progress reports keep their period and signature; their words and link go.
    session.execute(
        update(ProgressReport)
        .where(records.owned(ProgressReport))
        .values(
            {name: None for name in REPORT_TEXTS} | {"link_token": None, "link_expires_at": None}
        )
    )
    # Free text staff wrote about the sessions: it is about the patient by nature.
    session.execute(
        update(Appointment)
        .where(
            records.owned(Appointment),
            or_(
                Appointment.cancellation_reason.is_(None),
                Appointment.cancellation_reason != CANCEL_REASON,
            ),
        )
        .values(cancellation_reason=None)
    )
    session.execute(
        update(RescheduleRequest)
        .where(records.owned(RescheduleRequest))
        .values(note=None, decision_note=None)
    )
    # Money records stay; only their text loses the contact's name and number.
    kept = 0
    for model, columns in (
        (Invoice, ("void_reason",)),
        (InvoiceLine, ("description",)),
        (Payment, ("note", "reference")),
        (Refund, ("reason", "error")),
        (PaymentLink, ("description", "last_error")),
        (CreditEntry, ("note",)),
    ):
        for row in session.scalars(select(model).where(records.owned(model))):
            for column in columns:
                value = getattr(row, column)
                scrubbed = _scrub_text(value, needles)
                if scrubbed != value:
                    setattr(row, column, scrubbed)
                    kept += 1
    session.flush()
    return {
        "progress_notes_erased": notes or 0,
        "session_records_erased": records_erased or 0,
        "assessments_erased": assessments_erased,
        "money_texts_scrubbed": kept,
    }


def _erase_documents(
    session: Session, records: ContactRecords, now: datetime
) -> tuple[set[str], int]:
    """The patients' documents lose their names and files (deleted, if they were not);
    returns the storage keys to delete once this commits, and how many rows."""
    keys = set(
        session.scalars(
            select(PatientDocument.storage_key).where(
                records.owned(PatientDocument), PatientDocument.storage_key.is_not(None)
            )
        )
    )
    session.execute(
        update(PatientDocument)
        .where(records.owned(PatientDocument), PatientDocument.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    erased = session.execute(
        update(PatientDocument)
        .where(records.owned(PatientDocument))
        .values(file_name=ERASED, storage_key=None, updated_at=now)
    ).rowcount
    return {k for k in keys if k}, erased or 0


def _mentions(column: Any, needles: tuple[str, ...]) -> Any:
    """SQL: the JSON column's text holds a needle (as typed, or JSON-escaped)."""
    forms = {form for n in needles for form in (n, json.dumps(n)[1:-1])}
    text = cast(column, Text)
    return or_(*(text.contains(form, autoescape=True) for form in forms))


def _scrub_audit(session: Session, records: ContactRecords, needles: tuple[str, ...]) -> int:
    cid = records.clinic_id
    about = {row.id for row in audit_rows_about(session, records)}
    rows = session.scalars(
        select(AuditLog).where(
            AuditLog.clinic_id == cid,
            or_(
                AuditLog.id.in_(about),
                _mentions(AuditLog.before, needles),
                _mentions(AuditLog.after, needles),
            ),
        )
    ).all()
    changed = 0
    for row in rows:
        personal = row.id in about
        before = _scrub_json(row.before, needles, personal=personal)
        after = _scrub_json(row.after, needles, personal=personal)
        if before != row.before or after != row.after:
            row.before, row.after = before, after
            changed += 1
    session.flush()
    return changed


def _scrub_provider_events(
    session: Session, records: ContactRecords, needles: tuple[str, ...]
) -> int:
    """Payment webhooks carry the payer's number, e-mail and name: events about the
    contact's payments lose them; any other event loses strings that name the contact."""
    cid = records.clinic_id
    ids = [
        *session.scalars(
            select(Payment.provider_payment_id).where(
                records.owned(Payment), Payment.provider_payment_id.is_not(None)
            )
        ),
        *session.scalars(
            select(PaymentLink.provider_link_id).where(
                records.owned(PaymentLink), PaymentLink.provider_link_id.is_not(None)
            )
        ),
    ]
    text = cast(ProviderEvent.payload, Text)
    ours = or_(*(text.contains(i, autoescape=True) for i in ids)) if ids else None
    condition = _mentions(ProviderEvent.payload, needles)
    rows = session.scalars(
        select(ProviderEvent).where(
            ProviderEvent.clinic_id == cid, condition if ours is None else or_(condition, ours)
        )
    ).all()
    changed = 0
    for row in rows:
        about = any(i in json.dumps(row.payload) for i in ids)
        payload = _scrub_json(row.payload, needles, personal=about)
        if payload != row.payload:
            row.payload = payload
            changed += 1
    session.flush()
    return changed
