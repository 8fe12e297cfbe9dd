"""Documents filed from chat media: a PDF or photo a guardian sent, kept as one of the
patient's documents by the upload's rules (the bytes, the size, the key), naming the chat
file; once per patient; by the patient's clinicians only; and, in the conversation
view, the form under each attachment that may be a document (the admin's; the front
desk sees the chat, not the form). Another clinic's file or patient, or a patient who is
not the contact's, is not found. Erasure deletes the filed copy as well.

The chat rows are made directly (the bot's side is tests/bot/test_media.py); the files
sit in the panel's local file storage. "now" is pinned to ``NOW``.
"""

from __future__ import annotations

import hashlib
import html
import io
import zipfile

import pytest

from admin.views import chat_documents as chat_view
from core.storage import media_store
from integrations.backup_storage import LocalStore, StorageError
from models import (
    Channel,
    Conversation,
    DocumentAccess,
    DocumentTag,
    InboundMedia,
    InboundMessage,
    MediaStatus,
    MessageSource,
    Role,
)
from services.audit import Actor
from services.clinical.chat_documents import file_from_chat
from services.clinical.documents import DocumentRefused
from services.errors import InvalidInput, NotFound
from services.people import patients
from services.privacy import data_export, erasure
from tests.admin.test_admin import csrf_token
from tests.clinical.test_documents import PDF, PNG, audited, post_upload, rows
from tests.clinical.test_progress_notes import alerts, clinic, logged_in
from tests.conftest import NOW, SYSTEM

__all__ = ["clinic"]

VOICE = b"OggS\x00\x02" + b"\x00" * 64
DISGUISED = b"%not really a PDF, just text\n" * 4


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(chat_view, "utcnow", lambda: NOW)
    return app


@pytest.fixture
def store(app):
    return LocalStore(app.config["ROSHNI"].instance_dir / "media")


def keep(session, store, message, index, data, content_type):
    ext = {"application/pdf": "pdf", "image/png": "png", "audio/ogg": "ogg"}[content_type]
    key = f"{message.clinic_id}-{hashlib.sha256(data).hexdigest()}.{ext}"
    store.put_bytes(data, key)
    row = InboundMedia(
        clinic_id=message.clinic_id,
        message_id=message.id,
        index=index,
        status=MediaStatus.FETCHED,
        content_type=content_type,
        size=len(data),
        storage_key=key,
        received_at=NOW,
        fetched_at=NOW,
    )
    session.add(row)
    session.commit()
    return row


def chat_with(session, clinic_id, patient, sid):
    contact = patient.contact
    conversation = Conversation(
        clinic_id=clinic_id,
        channel=Channel.WHATSAPP,
        phone=contact.phone,
        contact_id=contact.id,
        last_turn_at=NOW,
    )
    session.add(conversation)
    session.flush()
    message = InboundMessage(
        clinic_id=clinic_id,
        channel=Channel.WHATSAPP,
        source=MessageSource.TWILIO,
        provider_sid=sid,
        conversation_id=conversation.id,
        from_phone=contact.phone,
        to_address="+14155238886",
        body="",
        num_media=3,
        received_at=NOW,
    )
    session.add(message)
    session.commit()
    return conversation, message


@pytest.fixture
def chat(session, clinic, store):
    """Aarav's guardian's chat: a referral PDF, a photo, a voice note, a text file sent as a
    PDF; Aarav's brother Kabir; clinic B's chat with a PDF of its own."""
    conversation, message = chat_with(session, clinic.a.id, clinic.aarav, "SM" + "a" * 32)
    kabir = patients.add_patient(
        session,
        clinic_id=clinic.a.id,
        contact_id=clinic.aarav.contact_id,
        name="Kabir Sharma",
        relation=clinic.aarav.relation,
        date_of_birth=None,
        actor=SYSTEM,
        today=NOW.date(),
    )
    b_patient = clinic.b_session.patient
    _, b_message = chat_with(session, b_patient.clinic_id, b_patient, "SM" + "b" * 32)

    class Chat:
        pass

    got = Chat()
    got.conversation, got.kabir, got.b_patient = conversation, kabir, b_patient
    got.pdf = keep(session, store, message, 0, PDF, "application/pdf")
    got.photo = keep(session, store, message, 1, PNG, "image/png")
    got.voice = keep(session, store, message, 2, VOICE, "audio/ogg")
    got.fake = keep(session, store, message, 3, DISGUISED, "application/pdf")
    got.b_pdf = keep(session, store, b_message, 0, PDF, "application/pdf")
    return got


def file(session, store, clinic, media, patient=None, role=Role.ADMIN, clinic_id=None):
    user = clinic.users[role]
    return file_from_chat(
        session,
        store,
        clinic_id=clinic_id or clinic.a.id,
        media_id=media.id,
        patient_id=(patient or clinic.aarav).id,
        tag=DocumentTag.REFERRAL,
        access=DocumentAccess.CLINICAL,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )


# --- the service ------------------------------------------------------------------------


def test_a_pdf_from_the_chat_becomes_the_patient_s_document_once(session, clinic, store, chat):
    document = file(session, store, clinic, chat.pdf)

    assert document.inbound_media_id == chat.pdf.id
    assert document.patient_id == clinic.aarav.id
    assert document.content_type == "application/pdf" and document.size_bytes == len(PDF)
    assert document.storage_key == f"{clinic.a.id}-doc-{hashlib.sha256(PDF).hexdigest()}.pdf"
    assert document.storage_key != chat.pdf.storage_key  # the chat's copy stays the chat's
    assert store.get_bytes(document.storage_key) == PDF
    [row] = audited(session, "document.file_from_chat")
    assert row.after["inbound_media_id"] == chat.pdf.id

    with pytest.raises(DocumentRefused, match="already"):
        file(session, store, clinic, chat.pdf)
    # His brother's documents may hold it too (the same file, one copy in the storage).
    kabirs = file(session, store, clinic, chat.pdf, patient=chat.kabir)
    assert kabirs.storage_key == document.storage_key
    assert [r.patient_id for r in rows(session)] == [clinic.aarav.id, chat.kabir.id]


def test_what_the_bytes_are_decides_not_the_chat_s_type(session, clinic, store, chat):
    assert file(session, store, clinic, chat.photo).content_type == "image/png"
    with pytest.raises(InvalidInput):
        file(session, store, clinic, chat.fake)
    with pytest.raises(InvalidInput):
        file(session, store, clinic, chat.voice)
    assert len(rows(session)) == 1


def test_only_the_patient_s_clinicians_file(session, clinic, store, chat):
    with pytest.raises(DocumentRefused):
        file(session, store, clinic, chat.pdf, role=Role.OPERATOR)
    with pytest.raises(DocumentRefused):
        file(session, store, clinic, chat.pdf, role=Role.ACCOUNTANT)
    # Priya sees Aarav (a session with him), not Kabir.
    assert file(session, store, clinic, chat.pdf, role=Role.THERAPIST).patient_id == (
        clinic.aarav.id
    )
    with pytest.raises(DocumentRefused):
        file(session, store, clinic, chat.photo, patient=chat.kabir, role=Role.THERAPIST)
    assert len(rows(session)) == 1


def test_another_clinic_s_file_or_patient_or_another_contact_s_patient_is_not_found(
    session, clinic, store, chat
):
    meera = clinic.colleagues.patient
    with pytest.raises(NotFound):
        file(session, store, clinic, chat.b_pdf)
    with pytest.raises(NotFound):
        file(session, store, clinic, chat.pdf, patient=chat.b_patient)
    with pytest.raises(NotFound):
        file(session, store, clinic, chat.pdf, patient=meera)  # another family's
    assert rows(session) == []


def test_erasure_deletes_the_filed_copy_and_the_chat_s_file(session, clinic, store, chat):
    document = file(session, store, clinic, chat.pdf)
    key, chat_key = document.storage_key, chat.pdf.storage_key
    admin = clinic.users[Role.ADMIN]

    exported = data_export.export_contact_data(
        session,
        clinic_id=clinic.a.id,
        contact_id=clinic.aarav.contact_id,
        actor=Actor.staff(admin.id),
        now=NOW,
        media=store,
    )
    files = zipfile.ZipFile(io.BytesIO(exported)).namelist()
    assert f"documents/{document.id}.pdf" in files

    erasure.erase_contact(
        session,
        clinic_id=clinic.a.id,
        contact_id=clinic.aarav.contact_id,
        actor=Actor.staff(admin.id),
        now=NOW,
        media=store,
    )
    for gone in (key, chat_key):
        with pytest.raises(StorageError):
            store.get_bytes(gone)
    assert store.get_bytes(chat.b_pdf.storage_key) == PDF  # clinic B's copy stays


# --- the conversation view -------------------------------------------------------------


def transcript_url(conversation) -> str:
    return f"/admin/conversations/{conversation.id}/"


def file_url(conversation, media) -> str:
    return f"/admin/conversations/{conversation.id}/media/{media.id}/file"


def post_file(client, conversation, media, patient, **fields):
    prefix = f"file{media.id}"
    data = {
        f"{prefix}-csrf_token": csrf_token(client, "/admin/"),
        f"{prefix}-patient_id": str(patient.id),
        f"{prefix}-tag": "referral",
        f"{prefix}-access": "clinical",
    }
    data.update(fields)
    return client.post(file_url(conversation, media), data=data, follow_redirects=True)


def forms(page) -> set[str]:
    import re

    return set(re.findall(r'action="/admin/conversations/\d+/media/(\d+)/file"', page.text))


def test_the_admin_files_a_pdf_from_the_conversation(app, session, clinic, chat):
    client = logged_in(app, clinic, Role.ADMIN)

    page = client.get(transcript_url(chat.conversation))
    # A PDF and a photo may be documents; the voice note is not offered.
    assert forms(page) == {str(chat.pdf.id), str(chat.photo.id), str(chat.fake.id)}

    page = post_file(client, chat.conversation, chat.pdf, clinic.aarav)
    assert "Filed to Aarav Sharma's documents." in html.unescape(alerts(page))
    [document] = rows(session)
    assert document.inbound_media_id == chat.pdf.id and document.tag is DocumentTag.REFERRAL
    assert "Filed to Aarav Sharma's documents</a>" in html.unescape(page.text)
    assert f"/admin/patient/clinical/{clinic.aarav.id}#documents" in page.text
    # The form stays for his brother only.
    section = page.text.split(f'data-media="{chat.pdf.id}"', 1)[1].split("</form>", 1)[0]
    assert "Kabir Sharma" in section and "Aarav Sharma</option>" not in section

    again = post_file(client, chat.conversation, chat.pdf, clinic.aarav)
    assert "already" in alerts(again)
    refused = post_file(client, chat.conversation, chat.fake, clinic.aarav)
    assert "not a PDF" in alerts(refused)
    assert len(rows(session)) == 1


def test_the_front_desk_sees_the_chat_but_cannot_file(app, session, clinic, chat, store):
    filed = file(session, store, clinic, chat.photo, patient=chat.kabir)
    client = logged_in(app, clinic, Role.OPERATOR)
    page = client.get(transcript_url(chat.conversation))
    assert page.status_code == 200 and forms(page) == set()
    # Where it is filed, without a link to a clinical page the desk cannot open.
    assert "Filed to Kabir Sharma's documents" in html.unescape(page.text)
    assert f"/admin/patient/clinical/{chat.kabir.id}" not in page.text
    assert post_file(client, chat.conversation, chat.pdf, clinic.aarav).status_code == 403
    assert [r.id for r in rows(session)] == [filed.id]


def test_filing_without_the_csrf_token_is_refused(app, session, clinic, chat):
    client = logged_in(app, clinic, Role.ADMIN)
    page = post_file(
        client,
        chat.conversation,
        chat.pdf,
        clinic.aarav,
        **{f"file{chat.pdf.id}-csrf_token": "forged"},
    )
    assert page.status_code in (200, 400)
    assert rows(session) == []


def test_another_clinic_s_media_or_patient_is_a_404(app, session, clinic, chat):
    client = logged_in(app, clinic, Role.ADMIN)
    meera = clinic.colleagues.patient
    assert post_file(client, chat.conversation, chat.b_pdf, clinic.aarav).status_code == 404
    assert post_file(client, chat.conversation, chat.pdf, chat.b_patient).status_code == 404
    assert post_file(client, chat.conversation, chat.pdf, meera).status_code == 404
    assert rows(session) == []


def test_the_filed_document_downloads_from_the_clinical_page(app, session, clinic, chat, store):
    document = file(session, store, clinic, chat.pdf)
    client = logged_in(app, clinic, Role.THERAPIST)
    got = client.get(
        f"/admin/patient/document/{clinic.aarav.id}/{document.id}", follow_redirects=True
    )
    assert got.status_code == 200 and got.data == PDF
    assert media_store(app.config["ROSHNI"]).get_bytes(document.storage_key) == PDF


def test_the_clinic_s_limit_holds_for_filing_and_uploading(app, session, clinic, store, chat):
    big = PDF + b"\0" * (3 * 512 * 1024)  # 1.5 MB
    message = session.get(InboundMessage, chat.pdf.message_id)
    sent = keep(session, store, message, 5, big, "application/pdf")
    assert file(session, store, clinic, sent).size_bytes == len(big)  # 10 MB by default
    clinic.a.policy.document_max_mb = 1
    session.commit()

    with pytest.raises(InvalidInput) as refused:
        file(session, store, clinic, sent, patient=chat.kabir)
    assert refused.value.params == {"size": "1.5", "most": "1"}
    client = logged_in(app, clinic, Role.THERAPIST)
    assert "up to 1 MB." in client.get(f"/admin/patient/clinical/{clinic.aarav.id}").text
    page = post_upload(client, clinic.aarav, data=big, name="big.pdf")
    assert "a document can be up to 1 MB" in alerts(page)
    assert len(rows(session)) == 1
