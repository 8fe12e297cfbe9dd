"""Data rights: a contact's data as one archive, and its erasure (DPDP Act 2023, UK GDPR).

The family is written to look like real use: the parent registered over chat
(consent, conversation, messages), a session happened (invoice, payment,
progress note), another is booked ahead (reminders queued), and a payment
provider's webhook carried the parent's number. Clinic B has its own family.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from admin.views import data_rights as data_rights_view
from admin.views import people as people_view
from core import tenancy
from core.db import get_db
from core.storage import StorageError, media_store
from integrations.twilio.media import TwilioMediaFetcher
from models import (
    Appointment,
    AppointmentStatus,
    Assessment,
    AssessmentKind,
    AuditLog,
    Base,
    BookingSource,
    Channel,
    Contact,
    Conversation,
    DocumentAccess,
    DocumentTag,
    ExerciseAssignment,
    ExerciseOutcome,
    ExerciseReply,
    Goal,
    GoalTerm,
    InboundMedia,
    InboundMessage,
    Invoice,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    Patient,
    PatientDocument,
    Payment,
    PaymentMethod,
    ProgressNote,
    ProgressReport,
    ProviderEvent,
    Relation,
    Role,
    SessionRecord,
)
from roshni.app import create_app
from services import audit
from services.audit import Actor
from services.billing import invoices as billing
from services.billing import payments
from services.billing.billing_documents import invoice_pdf, receipt_pdf
from services.clinical.assessments import AssessmentFields, write_assessment
from services.clinical.documents import delete_document, upload_document
from services.clinical.exercise_library import ExerciseFields, create_exercise
from services.clinical.exercises import assign_exercise
from services.clinical.goals import GoalFields, set_goal
from services.clinical.notes import add_progress_note
from services.clinical.progress_reports import ReportTexts, write_report
from services.clinical.session_records import RecordTexts, write_record
from services.errors import NotFound
from services.messaging import media as media_service
from services.messaging import outbox as messaging
from services.messaging.catalogue import say
from services.messaging.media import SentFile
from services.people import patients
from services.privacy import data_export, erasure, export_media
from services.scheduling.appointments import book_appointment, complete_appointment
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.chat import Chat
from tests.conftest import NOW, SYSTEM, staff_logins
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

PHONE = "+919812345678"
NATIONAL = "9812345678"
PARENT = "Zenobia Quartermaine"
CHILD = "Xanthippe"
SECRET = "quokka lantern"  # in a chat message, a progress note and a staff note
NOTE = f"{CHILD} practised the {SECRET} sounds well"
B_PHONE = "+919800000042"
B_MARKER = "Bclinicfamily"
# Strings that must not survive an erasure anywhere in the database.
NEEDLES = (PHONE, NATIONAL, "98123 45678", "Zenobia", "Quartermaine", CHILD, "quokka")

PAST = NOW - timedelta(days=7) + timedelta(hours=2)  # last Monday, 11:00 in Kolkata
AHEAD = NOW + timedelta(days=1, hours=2)  # tomorrow, 11:00 in Kolkata


@dataclass
class Family:
    contact: Contact
    patient: Patient
    past: Appointment
    ahead: Appointment
    invoice: Invoice
    payment: Payment
    b_contact: Contact
    admin_id: int


@pytest.fixture
def app(payments_config, monkeypatch):
    monkeypatch.setattr(people_view, "utcnow", lambda: NOW)
    monkeypatch.setattr(data_rights_view, "utcnow", lambda: NOW)
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


@pytest.fixture
def clinics(make_clinic):
    return make_clinic(name="Clinic A", slug="clinic-a"), make_clinic(
        name="Clinic B", slug="clinic-b"
    )


@pytest.fixture
def family(session, clinics, make_therapist, make_service) -> Family:
    a, b = clinics
    therapist = make_therapist(a)
    service = make_service(a)
    logins = staff_logins(session, a.id, password=PASSWORD, domain="a.example")
    admin = logins[Role.ADMIN]
    # Clinic B's family first: the chat below binds the session to clinic A.
    b_contact = patients.create_contact(
        session, clinic_id=b.id, phone=B_PHONE, name=f"{B_MARKER} Parent", actor=SYSTEM
    )
    patients.add_patient(
        session,
        clinic_id=b.id,
        contact_id=b_contact.id,
        name=f"{B_MARKER} Child",
        relation=Relation.CHILD,
        date_of_birth=None,
        actor=SYSTEM,
        today=NOW.date(),
    )

    chat = Chat(session, a, phone=PHONE, now=NOW - timedelta(days=10))
    chat.script("hi", "1", PARENT, "2", CHILD, "12/03/2019")
    chat.say(f"my word is {SECRET}")
    contact = session.scalar(select(Contact).where(Contact.clinic_id == a.id))
    patient = contact.patients[0]

    def book(start, now):
        return book_appointment(
            session,
            clinic_id=a.id,
            patient_id=patient.id,
            service_id=service.id,
            therapist_id=therapist.id,
            start=start,
            now=now,
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )

    past = book(PAST, NOW - timedelta(days=8))
    complete_appointment(session, clinic_id=a.id, appointment_id=past.id, now=NOW, actor=SYSTEM)
    invoice = billing.session_invoice(session, past.id)
    payment = payments.record_payment(
        session,
        clinic_id=a.id,
        contact_id=contact.id,
        patient_id=patient.id,
        amount_minor=invoice.total_minor,
        method=PaymentMethod.CASH,
        note=f"paid by {PARENT}",
        invoice_id=invoice.id,
        now=NOW,
        actor=Actor.staff(admin.id),
    )
    add_progress_note(
        session,
        clinic_id=a.id,
        appointment_id=past.id,
        body=NOTE,
        now=NOW,
        actor=Actor.staff(admin.id),
        author_id=admin.id,
    )
    write_record(
        session,
        clinic_id=a.id,
        appointment_id=past.id,
        texts=RecordTexts(subjective=NOTE, plan="More of the same"),
        now=NOW,
        actor=Actor.staff(admin.id),
        author_id=admin.id,
        sign=True,
        measures={
            set_goal(
                session,
                clinic_id=a.id,
                patient_id=patient.id,
                fields=GoalFields(
                    term=GoalTerm.SHORT, behaviour=NOTE, measure="% correct", baseline=1, target=9
                ),
                now=NOW,
                actor=Actor.staff(admin.id),
                author_id=admin.id,
            ).id: 4
        },
    )
    write_report(
        session,
        clinic_id=a.id,
        patient_id=patient.id,
        period_start=NOW.date() - timedelta(days=30),
        period_end=NOW.date(),
        texts=ReportTexts(summary=NOTE),
        now=NOW,
        actor=Actor.staff(admin.id),
        author_id=admin.id,
        sign=True,
    )
    assessment = write_assessment(
        session,
        clinic_id=a.id,
        patient_id=patient.id,
        fields=AssessmentFields(
            kind=AssessmentKind.INITIAL,
            therapy_type="speech",
            presenting_concerns=NOTE,
            findings=f"{CHILD} fronts /k/",
            sessions_per_week=2,
            appointment_id=past.id,
            values={"Articulation": NOTE, "Speech intelligibility (percent)": 60},
        ),
        now=NOW,
        actor=Actor.staff(admin.id),
        author_id=admin.id,
        sign=True,
    )
    set_goal(
        session,
        clinic_id=a.id,
        patient_id=patient.id,
        fields=GoalFields(
            term=GoalTerm.LONG,
            behaviour=NOTE,
            measure="% understood",
            baseline=60,
            target=90,
            assessment_id=assessment.id,
        ),
        now=NOW,
        actor=Actor.staff(admin.id),
        author_id=admin.id,
    )
    exercise = create_exercise(
        session,
        clinic_id=a.id,
        fields=ExerciseFields("speech", "Mirror practice", "Ten times."),
        now=NOW,
        actor=Actor.staff(admin.id),
        author_id=admin.id,
    )
    exercise_plan = assign_exercise(
        session,
        clinic_id=a.id,
        patient_id=patient.id,
        exercise_id=exercise.id,
        author_id=admin.id,
        weekdays=[0, 3],
        repetitions=2,
        nudge_time=time(18),
        starts_on=NOW.date(),
        ends_on=NOW.date() + timedelta(days=30),
        notes=NOTE,
        now=NOW,
        actor=Actor.staff(admin.id),
    )
    session.add(  # a guardian's answer, carried by one of the contact's messages
        ExerciseReply(
            clinic_id=a.id,
            assignment_id=exercise_plan.id,
            day=NOW.date(),
            outcome=ExerciseOutcome.PARTIAL,
            done_count=1,
            message_id=session.scalar(
                select(InboundMessage.id).where(InboundMessage.clinic_id == a.id).limit(1)
            ),
            received_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    session.commit()
    ahead = book(AHEAD, NOW)
    messaging.schedule_reminders(session, ahead, now=NOW)
    # Text about the contact in rows that are not theirs: a staff remark in the audit
    # log and a payment provider's event with the payer's number.
    audit.record(
        session,
        clinic_id=a.id,
        actor=Actor.staff(admin.id),
        action="therapist.update",
        entity=therapist,
        after={"remark": f"call {PARENT} on {PHONE} about {SECRET}"},
    )
    session.add(
        ProviderEvent(
            clinic_id=a.id,
            provider="razorpay",
            event_id="evt_data_rights_1",
            event_type="payment.captured",
            payload={"payment": {"entity": {"contact": PHONE, "amount": 80000}}},
            received_at=NOW,
        )
    )
    session.commit()

    return Family(contact, patient, past, ahead, invoice, payment, b_contact, admin.id)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def leftovers(session, needles: tuple[str, ...]) -> list[str]:
    """Every text or JSON value in every table that still holds one of ``needles``."""
    session.rollback()
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).mappings():
            for column, value in row.items():
                if isinstance(value, dict | list):
                    value = json.dumps(value, ensure_ascii=False)
                if not isinstance(value, str):
                    continue
                digits = "".join(ch for ch in value if ch.isdigit())
                for needle in needles:
                    if needle.casefold() in value.casefold() or (
                        needle.isdigit() and needle in digits
                    ):
                        found.append(f"{table.name}.{column}: {value[:120]!r}")
    return found


# --- export ------------------------------------------------------------------------------


def test_the_export_holds_the_contact_s_rows_and_pdfs_and_nothing_of_another_clinic(
    session, family
):
    contact = family.contact
    files = unzip(
        data_export.export_contact_data(
            session,
            clinic_id=contact.clinic_id,
            contact_id=contact.id,
            actor=Actor.staff(family.admin_id),
            now=NOW,
        )
    )

    def load(name: str) -> Any:
        return json.loads(files[name])

    assert load("contact.json")[0]["phone"] == PHONE
    assert load("contact.json")[0]["name"] == PARENT
    assert [p["name"] for p in load("patients.json")] == [CHILD]
    assert {a["number"] for a in load("appointments.json")} == {
        family.past.number,
        family.ahead.number,
    }
    bodies = [m["body"] for c in load("conversations.json") for m in c["messages"]]
    assert f"my word is {SECRET}" in bodies
    assert [n["body"] for n in load("progress_notes.json")] == [NOTE]
    [record] = load("session_records.json")
    assert (record["subjective"], record["status"]) == (NOTE, "signed")
    [report] = load("progress_reports.json")
    assert report["summary"] == NOTE
    short, long = load("goals.json")
    assert short["behaviour"] == long["behaviour"] == NOTE
    [assessment] = load("assessments.json")
    assert (assessment["presenting_concerns"], assessment["status"]) == (NOTE, "signed")
    assert long["assessment_id"] == assessment["id"]
    answers = {item["label"]: item["value"] for item in assessment["items"]}
    assert (answers["Articulation"], answers["Speech intelligibility (percent)"]) == (NOTE, 60)
    assert [m["value"] for m in load("goal_measures.json")] == [4]
    [exercise_plan] = load("exercise_assignments.json")
    assert (exercise_plan["notes"], exercise_plan["weekdays"]) == (NOTE, [0, 3])
    [exercise_reply] = load("exercise_replies.json")
    assert (exercise_reply["outcome"], exercise_reply["done_count"]) == ("partial", 1)
    assert {m["template_key"] for m in load("outbound_messages.json")} >= {"reminder"}
    [invoice] = load("invoices.json")
    assert invoice["number"] == family.invoice.number and invoice["lines"]
    [payment] = load("payments.json")
    assert payment["amount_minor"] == family.payment.amount_minor
    assert payment["allocations"][0]["invoice_id"] == family.invoice.id
    actions = {row["action"] for row in load("audit_log.json")}
    assert {"contact.create", "appointment.book", "payment.record"} <= actions
    pdfs = [name for name in files if name.endswith(".pdf")]
    assert len([n for n in pdfs if n.startswith("invoices/")]) == 1
    assert len([n for n in pdfs if n.startswith("receipts/")]) == 1
    assert all(files[name].startswith(b"%PDF") for name in pdfs)
    assert load("manifest.json")["contact_id"] == contact.id

    everything = b"".join(files.values()).decode("utf-8", errors="replace")
    assert B_MARKER not in everything and B_PHONE not in everything
    assert "Clinic B" not in everything

    session.rollback()
    exported = session.scalars(select(AuditLog).where(AuditLog.action == "contact.export")).all()
    assert [(row.entity_id, row.actor_id) for row in exported] == [
        (str(contact.id), family.admin_id)
    ]
    assert PHONE not in json.dumps(exported[0].after) and PARENT not in json.dumps(
        exported[0].after
    )


VOICE = b"OggS" + b"Xanthippe says hello" * 40
REFERRAL = b"%PDF-1.4\n" + b"referral letter" * 40
NEIGHBOUR_PHOTO = b"\xff\xd8\xff\xe0" + b"another family in clinic A" * 40
B_PHOTO = b"\xff\xd8\xff\xe0" + b"Bclinicfamily photo" * 40
NEIGHBOUR = "+919800000077"


@dataclass
class SentFiles:
    voice: InboundMedia  # the contact's, kept in the storage
    referral: InboundMedia  # the contact's, gone from the storage since
    others: list[InboundMedia]  # another contact's in clinic A, and clinic B's family's


@pytest.fixture
def sent_files(session, clinics, family, twilio, payments_config) -> SentFiles:
    """Files sent in chat the way the bot keeps them: recorded with the message, fetched
    from (the fake) Twilio with the account's credentials into the configured storage."""
    a, b = clinics
    store = media_store(payments_config)

    def send(clinic, phone: str, data: bytes, content_type: str, *texts: str) -> None:
        chat = Chat(session, clinic, phone=phone, now=NOW - timedelta(days=1))
        chat.script(*texts)
        chat.send("", files=(SentFile(twilio.add_media(data, content_type), content_type),))
        tenancy.unbind(session)  # what follows is scoped by the code under test alone

    send(a, PHONE, VOICE, "audio/ogg")
    send(a, PHONE, REFERRAL, "application/pdf")
    send(a, NEIGHBOUR, NEIGHBOUR_PHOTO, "image/jpeg", "hi", "1", "Neighbour Parent")
    send(b, B_PHONE, B_PHOTO, "image/jpeg", "hi", "1")
    fetcher = TwilioMediaFetcher(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url)
    for media_id in media_service.pending_media_ids(session):
        media_service.fetch_media(
            session, media_id, fetcher_for=lambda clinic: fetcher, store=store, now=NOW
        )
    session.rollback()
    voice, referral, *others = session.scalars(select(InboundMedia).order_by(InboundMedia.id)).all()
    assert {row.clinic_id for row in (voice, referral)} == {a.id}
    assert len(others) == 2 and {row.clinic_id for row in others} == {a.id, b.id}
    assert all(row.storage_key for row in (voice, referral, *others))  # all were fetched
    store.delete(referral.storage_key)
    return SentFiles(voice, referral, others)


def export_with_media(session, family, payments_config) -> dict[str, bytes]:
    contact = family.contact
    return unzip(
        data_export.export_contact_data(
            session,
            clinic_id=contact.clinic_id,
            contact_id=contact.id,
            actor=Actor.staff(family.admin_id),
            now=NOW,
            media=media_store(payments_config),
        )
    )


def test_the_export_holds_the_voice_note_the_contact_sent_with_its_bytes(
    session, family, sent_files, payments_config
):
    files = export_with_media(session, family, payments_config)
    voice = sent_files.voice
    name = f"media/{voice.message_id}-{voice.index}.ogg"
    assert files[name] == VOICE
    listed = json.loads(files["inbound_media.json"])
    assert [(row["id"], row["content_type"]) for row in listed] == [
        (voice.id, "audio/ogg"),
        (sent_files.referral.id, "application/pdf"),
    ]
    manifest = json.loads(files["manifest.json"])
    assert manifest["media"][name] == export_media.MEDIA_INCLUDED
    assert manifest["files"][name] == 1 and manifest["files"]["inbound_media.json"] == 2


def test_the_export_holds_no_file_of_another_contact_or_another_clinic(
    session, family, sent_files, payments_config
):
    files = export_with_media(session, family, payments_config)
    everything = b"".join(files.values())
    assert NEIGHBOUR_PHOTO not in everything and B_PHOTO not in everything
    listed = {row["id"] for row in json.loads(files["inbound_media.json"])}
    assert listed.isdisjoint(row.id for row in sent_files.others)
    assert [n for n in files if n.startswith("media/")] == [
        f"media/{sent_files.voice.message_id}-0.ogg"
    ]


def test_a_file_gone_from_the_storage_is_listed_as_missing_in_the_manifest(
    session, family, sent_files, payments_config
):
    files = export_with_media(session, family, payments_config)
    referral = sent_files.referral
    name = f"media/{referral.message_id}-{referral.index}.pdf"
    assert name not in files
    assert json.loads(files["manifest.json"])["media"][name] == export_media.MEDIA_MISSING
    # Still listed with its row: the clinic held it.
    assert referral.id in {row["id"] for row in json.loads(files["inbound_media.json"])}


def test_without_a_file_storage_the_files_are_listed_but_not_read(session, family, sent_files):
    contact = family.contact
    files = unzip(
        data_export.export_contact_data(
            session, clinic_id=contact.clinic_id, contact_id=contact.id, actor=SYSTEM, now=NOW
        )
    )
    assert not [n for n in files if n.startswith("media/")]
    states = json.loads(files["manifest.json"])["media"]
    assert set(states.values()) == {export_media.MEDIA_NOT_READ}


# --- documents kept about the patients --------------------------------------------------

LETTER = b"%PDF-1.4\n" + b"a referral letter about the child" * 40
OLD_REPORT = b"%PDF-1.4\n" + b"an old report, deleted since" * 40


@dataclass
class KeptDocuments:
    letter: PatientDocument  # the family's
    deleted: PatientDocument  # the family's, soft-deleted: still held
    neighbour: PatientDocument  # another family's in clinic A, the same file as the letter
    b_document: PatientDocument  # clinic B's family's, the same file too


@pytest.fixture
def kept_documents(session, clinics, family, make_patient, payments_config) -> KeptDocuments:
    """Documents uploaded the way the panel does, into the configured storage."""
    a, b = clinics
    tenancy.unbind(session)  # the family's chat bound it to clinic A; B uploads too
    store = media_store(payments_config)
    admin = Actor.staff(family.admin_id)
    b_admin = staff_logins(session, b.id, password=PASSWORD, domain="b.example")[Role.ADMIN]
    b_patient = session.scalar(select(Patient).where(Patient.clinic_id == b.id))

    def upload(clinic_id, patient_id, data, name, author_id):
        return upload_document(
            session,
            store,
            clinic_id=clinic_id,
            patient_id=patient_id,
            data=data,
            file_name=name,
            tag=DocumentTag.REFERRAL,
            access=DocumentAccess.CLINICAL,
            now=NOW,
            actor=Actor.staff(author_id),
            author_id=author_id,
        )

    letter = upload(a.id, family.patient.id, LETTER, f"{CHILD} referral.pdf", family.admin_id)
    deleted = upload(a.id, family.patient.id, OLD_REPORT, f"{CHILD} 2024.pdf", family.admin_id)
    delete_document(
        session,
        clinic_id=a.id,
        patient_id=family.patient.id,
        document_id=deleted.id,
        now=NOW,
        actor=admin,
        author_id=family.admin_id,
    )
    other = make_patient(a, name="Neighbour Child")
    neighbour = upload(a.id, other.id, LETTER, "neighbour.pdf", family.admin_id)
    b_document = upload(b.id, b_patient.id, LETTER, f"{B_MARKER}.pdf", b_admin.id)
    return KeptDocuments(letter, deleted, neighbour, b_document)


def test_the_export_holds_the_patients_documents_and_their_files(
    session, family, kept_documents, payments_config
):
    files = export_with_media(session, family, payments_config)

    listed = json.loads(files["documents.json"])
    assert [(row["id"], row["file_name"]) for row in listed] == [
        (kept_documents.letter.id, f"{CHILD} referral.pdf"),
        (kept_documents.deleted.id, f"{CHILD} 2024.pdf"),
    ]
    assert listed[1]["deleted_at"] is not None  # held still, so exported
    assert files[f"documents/{kept_documents.letter.id}.pdf"] == LETTER
    assert files[f"documents/{kept_documents.deleted.id}.pdf"] == OLD_REPORT
    manifest = json.loads(files["manifest.json"])
    assert set(manifest["documents"].values()) == {export_media.MEDIA_INCLUDED}
    assert [n for n in files if n.startswith("documents/")] == sorted(manifest["documents"])
    everything = b"".join(files.values())
    assert b"neighbour.pdf" not in everything and B_MARKER.encode() not in everything


def test_erasure_deletes_the_documents_files_and_names_but_not_another_s_copy(
    session, family, kept_documents, payments_config
):
    store = media_store(payments_config)
    letter_key = kept_documents.letter.storage_key
    old_key = kept_documents.deleted.storage_key

    done = erasure.erase_contact(
        session,
        clinic_id=family.contact.clinic_id,
        contact_id=family.contact.id,
        actor=Actor.staff(family.admin_id),
        now=NOW,
        media=store,
    )

    assert done.counts["documents_erased"] == 2
    assert done.counts["document_files_deleted"] == 1  # the old report; the letter is shared
    session.rollback()
    session.expire_all()
    rows = {
        row.id: row for row in session.scalars(select(PatientDocument).order_by(PatientDocument.id))
    }
    for kept in (kept_documents.letter, kept_documents.deleted):
        row = rows[kept.id]
        assert (row.file_name, row.storage_key) == (erasure.ERASED, None)
        assert row.deleted_at is not None
    with pytest.raises(StorageError):
        store.get_bytes(old_key)
    # The neighbour's upload of the same file (same clinic, same key) and clinic B's stay.
    assert rows[kept_documents.neighbour.id].storage_key == letter_key
    assert store.get_bytes(letter_key) == LETTER
    assert store.get_bytes(rows[kept_documents.b_document.id].storage_key) == LETTER
    assert rows[kept_documents.b_document.id].file_name == f"{B_MARKER}.pdf"
    assert leftovers(session, NEEDLES) == []


def test_a_clinic_cannot_export_or_erase_another_clinic_s_contact(session, family):
    a_clinic = family.contact.clinic_id
    for call in (data_export.export_contact_data, erasure.erase_contact):
        with pytest.raises(NotFound):
            call(
                session,
                clinic_id=a_clinic,
                contact_id=family.b_contact.id,
                actor=SYSTEM,
                now=NOW,
            )
    session.rollback()
    assert session.get(Contact, family.b_contact.id).phone == B_PHONE


# --- erasure -----------------------------------------------------------------------------


def test_erasure_leaves_no_number_name_or_message_text_anywhere(session, family):
    assert leftovers(session, NEEDLES)  # the scan finds them before

    done = erasure.erase_contact(
        session,
        clinic_id=family.contact.clinic_id,
        contact_id=family.contact.id,
        actor=Actor.staff(family.admin_id),
        now=NOW,
    )

    assert not done.already_erased
    assert leftovers(session, NEEDLES) == []
    # Clinic B's family is untouched.
    assert leftovers(session, (B_PHONE, B_MARKER))


def test_erasure_keeps_the_money_records_with_their_amounts(session, family):
    paid = family.payment.amount_minor
    total = family.invoice.total_minor
    erasure.erase_contact(
        session,
        clinic_id=family.contact.clinic_id,
        contact_id=family.contact.id,
        actor=SYSTEM,
        now=NOW,
    )
    session.rollback()
    contact = session.get(Contact, family.contact.id)
    assert contact.name == f"Erased contact #{contact.id}"
    assert contact.erased_at is not None and contact.consent_at is None
    assert not contact.phone.startswith("+")
    invoice = session.get(Invoice, family.invoice.id)
    assert (invoice.total_minor, invoice.contact_id) == (total, contact.id)
    payment = session.get(Payment, family.payment.id)
    assert (payment.amount_minor, payment.receipt_number) == (
        paid,
        family.payment.receipt_number,
    )
    assert payment.note == "paid by [erased]"
    patient = session.get(Patient, family.patient.id)
    assert patient.name == f"Erased patient #{patient.id}" and patient.date_of_birth is None
    notes = session.scalars(
        select(ProgressNote.body).where(ProgressNote.patient_id == patient.id)
    ).all()
    assert notes == [erasure.ERASED]
    [record] = session.scalars(
        select(SessionRecord).where(SessionRecord.patient_id == patient.id)
    ).all()
    assert (record.subjective, record.plan, record.status.value) == (None, None, "signed")
    [report] = session.scalars(
        select(ProgressReport).where(ProgressReport.patient_id == patient.id)
    ).all()
    assert (report.summary, report.status.value) == (None, "signed")
    short, long = session.scalars(
        select(Goal).where(Goal.patient_id == patient.id).order_by(Goal.id)
    ).all()
    assert (short.behaviour, short.measure, short.target) == (erasure.ERASED, erasure.ERASED, 9)
    [assessment] = session.scalars(
        select(Assessment).where(Assessment.patient_id == patient.id)
    ).all()
    assert (assessment.presenting_concerns, assessment.findings) == (None, None)
    assert {item["value"] for item in assessment.items} == {None}
    assert "Articulation" in [item["label"] for item in assessment.items]
    assert (assessment.kind.value, assessment.status.value, assessment.sessions_per_week) == (
        "initial",
        "signed",
        2,
    )
    assert long.assessment_id == assessment.id
    # Home exercises: stopped, their notes gone; the answers keep their outcome only.
    [exercise_plan] = session.scalars(
        select(ExerciseAssignment).where(ExerciseAssignment.patient_id == patient.id)
    ).all()
    assert (exercise_plan.notes, exercise_plan.stopped_at is not None) == (None, True)
    [exercise_reply] = session.scalars(
        select(ExerciseReply).where(ExerciseReply.assignment_id == exercise_plan.id)
    ).all()
    assert (exercise_reply.outcome.value, exercise_reply.message_id) == ("partial", None)
    # The invoice and receipt still render, for the contact's placeholder name.
    assert invoice_pdf(session, invoice).startswith(b"%PDF")
    assert receipt_pdf(session, payment).startswith(b"%PDF")


def test_erasure_cancels_sessions_ahead_and_sends_nothing_to_the_number(session, family):
    queued_before = session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == family.contact.id,
            OutboundMessage.status == OutboundStatus.QUEUED,
        )
    ).all()
    assert queued_before  # the reminders of the session ahead

    done = erasure.erase_contact(
        session,
        clinic_id=family.contact.clinic_id,
        contact_id=family.contact.id,
        actor=SYSTEM,
        now=NOW,
    )

    session.rollback()
    assert done.counts["appointments_cancelled"] == 1
    assert session.get(Appointment, family.ahead.id).status is AppointmentStatus.CANCELLED
    assert session.get(Appointment, family.past.id).status is AppointmentStatus.COMPLETED
    statuses = set(
        session.scalars(
            select(OutboundMessage.status).where(OutboundMessage.contact_id == family.contact.id)
        )
    )
    assert OutboundStatus.QUEUED not in statuses
    # Nothing new can be queued for the erased contact (a dues run, a receipt).
    assert (
        messaging.queue_message(
            session,
            clinic_id=family.contact.clinic_id,
            contact_id=family.contact.id,
            channel=Channel.WHATSAPP,
            kind=MessageKind.DUES,
            template_key="dues_reminder",
            idempotency_key="dues:erased:test",
            due_at=NOW,
        )
        is None
    )
    # The slot is free again: another booking at the same time succeeds.
    session.rollback()
    clinic_id = family.ahead.clinic_id
    other = patients.create_contact(
        session, clinic_id=clinic_id, phone="+919811111111", name="Other Parent", actor=SYSTEM
    )
    other_child = patients.add_patient(
        session,
        clinic_id=clinic_id,
        contact_id=other.id,
        name="Other Child",
        relation=Relation.CHILD,
        date_of_birth=None,
        actor=SYSTEM,
        today=NOW.date(),
    )
    again = book_appointment(
        session,
        clinic_id=clinic_id,
        patient_id=other_child.id,
        service_id=family.ahead.service_id,
        therapist_id=family.ahead.therapist_id,
        start=AHEAD,
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )
    assert again.status is AppointmentStatus.BOOKED


def test_the_erasure_is_audited_without_the_data_and_a_second_erasure_is_harmless(session, family):
    contact_id = family.contact.id
    clinic_id = family.contact.clinic_id
    erasure.erase_contact(
        session,
        clinic_id=clinic_id,
        contact_id=contact_id,
        actor=Actor.staff(family.admin_id),
        now=NOW,
    )
    again = erasure.erase_contact(
        session, clinic_id=clinic_id, contact_id=contact_id, actor=SYSTEM, now=NOW
    )
    assert again.already_erased
    session.rollback()
    rows = session.scalars(
        select(AuditLog).where(AuditLog.action == "contact.erase").order_by(AuditLog.id)
    ).all()
    assert [(r.entity_id, r.actor_id) for r in rows] == [
        (str(contact_id), family.admin_id),
        (str(contact_id), None),
    ]
    counts = rows[0].after["counts"]
    assert counts["patients_erased"] == 1 and counts["inbound_deleted"] >= 7
    assert rows[0].before is None
    assert leftovers(session, NEEDLES) == []


def test_an_erased_number_writing_again_starts_as_a_new_unknown_contact(session, clinics, family):
    old_id = family.contact.id
    clinic = clinics[0]
    erasure.erase_contact(session, clinic_id=clinic.id, contact_id=old_id, actor=SYSTEM, now=NOW)
    chat = Chat(session, clinic, phone=PHONE, now=NOW + timedelta(hours=1))
    assert "Is that OK?" in chat.say("hi")  # the privacy notice again
    assert chat.say("1") == say("en", "ask_name")
    session.rollback()
    contact = session.scalar(
        select(Contact).where(Contact.clinic_id == clinic.id, Contact.phone == PHONE)
    )
    assert contact is not None and contact.id != old_id and contact.name is None
    conversation = session.scalar(select(Conversation).where(Conversation.phone == PHONE))
    assert session.scalars(
        select(InboundMessage.body)
        .where(InboundMessage.conversation_id == conversation.id)
        .order_by(InboundMessage.id)
    ).all() == ["hi", "1"]


def test_the_privacy_notice_says_what_is_kept_and_how_to_ask_for_erasure():
    for lang in ("en", "hi"):
        text = say(lang, "privacy", clinic="Roshni Clinic")
        assert "Roshni Clinic" in text and "*talk*" in text
    assert "erase" in say("en", "privacy", clinic="X")
    assert "मिटवा" in say("hi", "privacy", clinic="X")


# --- the panel ---------------------------------------------------------------------------


def erased_at(session, contact_id: int):
    """Read afresh: what the app committed, not what this session remembers."""
    session.rollback()
    return session.scalar(select(Contact.erased_at).where(Contact.id == contact_id))


def logged_in(app, role: str):
    client = app.test_client()
    assert log_in(client, f"{role}@a.example").status_code == 302
    return client


def test_the_admin_downloads_the_archive_from_the_contact_page(app, session, family):
    client = logged_in(app, "admin")
    page = client.get(f"/admin/contact/details/?id={family.contact.id}")
    assert 'id="export-data"' in page.text and 'id="erase-contact"' in page.text
    token = csrf_token(client, f"/admin/contact/details/?id={family.contact.id}")
    response = client.post(
        f"/admin/contact/export-data/?id={family.contact.id}", data={"csrf_token": token}
    )
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "contact.json" in unzip(response.get_data())
    # Another clinic's contact is not found from here.
    foreign = client.post(
        f"/admin/contact/export-data/?id={family.b_contact.id}", data={"csrf_token": token}
    )
    assert foreign.status_code == 404


def test_the_admin_s_archive_holds_the_files_from_the_configured_storage(
    app, session, family, sent_files
):
    client = logged_in(app, "admin")
    token = csrf_token(client, f"/admin/contact/details/?id={family.contact.id}")
    response = client.post(
        f"/admin/contact/export-data/?id={family.contact.id}", data={"csrf_token": token}
    )
    assert response.status_code == 200
    files = unzip(response.get_data())
    assert files[f"media/{sent_files.voice.message_id}-0.ogg"] == VOICE
    assert set(json.loads(files["manifest.json"])["media"].values()) == {
        export_media.MEDIA_INCLUDED,
        export_media.MEDIA_MISSING,
    }


def test_the_admin_erases_after_confirming_and_only_with_the_csrf_token(app, session, family):
    client = logged_in(app, "admin")
    url = f"/admin/contact/erase/?id={family.contact.id}"
    page = client.get(url)
    assert page.status_code == 200 and "Type ERASE to confirm" in page.text
    token = csrf_token(client, url)

    without_token = client.post(url, data={"confirm": "ERASE"})
    assert without_token.status_code == 400
    unconfirmed = client.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert unconfirmed.status_code == 200
    assert erased_at(session, family.contact.id) is None

    done = client.post(url, data={"csrf_token": token, "confirm": "erase"})
    assert done.status_code == 302, done.text
    assert erased_at(session, family.contact.id) is not None
    details = client.get(f"/admin/contact/details/?id={family.contact.id}")
    assert 'id="contact-erased"' in details.text and PARENT not in details.text
    # From a patient, the way leads to its contact's page.
    leads = client.get(f"/admin/patient/data-rights/?id={family.patient.id}")
    assert leads.status_code == 302
    assert f"/admin/contact/erase/?id={family.contact.id}" in leads.headers["Location"]


@pytest.mark.parametrize("role", ["operator", "therapist", "accountant"])
def test_other_roles_get_403_and_change_nothing(app, session, family, role):
    client = logged_in(app, role)
    token = csrf_token(client, "/admin/")
    contact_id = family.contact.id
    assert client.get(f"/admin/contact/erase/?id={contact_id}").status_code == 403
    erase = client.post(
        f"/admin/contact/erase/?id={contact_id}", data={"csrf_token": token, "confirm": "ERASE"}
    )
    assert erase.status_code == 403
    export = client.post(f"/admin/contact/export-data/?id={contact_id}", data={"csrf_token": token})
    assert export.status_code == 403
    assert client.get(f"/admin/patient/data-rights/?id={family.patient.id}").status_code == 403
    page = client.get(f"/admin/contact/details/?id={contact_id}")
    assert 'id="export-data"' not in page.text and 'id="erase-contact"' not in page.text
    assert erased_at(session, contact_id) is None
    assert not session.scalars(
        select(AuditLog).where(AuditLog.action.in_(["contact.erase", "contact.export"]))
    ).all()
