"""Patient documents: uploaded by the patient's clinicians, checked by what the bytes are
(not the name) and by size, listed and opened by access level, deleted softly; every
upload, open and deletion audited without the file. Kept in the chat media's file storage
(a local directory here, moto's S3 server in one test).

The service on its own, then the clinical page's Documents section and the download as
each role sees them. "now" is pinned to ``NOW``.
"""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from fpdf import FPDF
from sqlalchemy import select

from admin.views import clinical as clinical_view
from admin.views import documents as documents_view
from integrations.backup_storage import LocalStore, S3Settings, open_store
from models import AuditLog, DocumentAccess, DocumentTag, PatientDocument, Role
from services.audit import Actor
from services.clinical import documents
from services.clinical.document_files import MAX_DOCUMENT_BYTES, clean_file_name
from services.clinical.documents import (
    DocumentRefused,
    delete_document,
    documents_for_patient,
    open_document,
    upload_document,
)
from services.errors import InvalidInput, NotFound
from tests.admin.test_admin import PASSWORD, csrf_token
from tests.clinical.test_progress_notes import alerts, clinic, logged_in
from tests.conftest import NOW, staff_logins
from tests.core.test_backups import S3_KEY_ID, S3_SECRET, bucket, s3_server

__all__ = ["bucket", "clinic", "s3_server"]  # clinic A's logins, Priya's patient Aarav; B


def pdf_bytes(text: str = "Referral letter") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text=text)
    return bytes(pdf.output())


def png_bytes() -> bytes:
    """A real 1×1 white PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PDF = pdf_bytes()
PNG = png_bytes()


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "media")


def upload(
    session,
    store,
    clinic,
    role=Role.THERAPIST,
    data=PDF,
    name="Referral letter.pdf",
    access=DocumentAccess.CLINICAL,
    patient=None,
    **more,
):
    user = clinic.users[role]
    return upload_document(
        session,
        store,
        clinic_id=clinic.a.id,
        patient_id=(patient or clinic.aarav).id,
        data=data,
        file_name=name,
        tag=DocumentTag.REFERRAL,
        access=access,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
        **more,
    )


def opened(session, store, clinic, document, role=Role.THERAPIST, patient=None):
    user = clinic.users[role]
    return open_document(
        session,
        store,
        clinic_id=clinic.a.id,
        patient_id=(patient or clinic.aarav).id,
        document_id=document.id,
        now=NOW,
        actor=Actor.staff(user.id),
        reader_id=user.id,
    )


def rows(session) -> list[PatientDocument]:
    session.rollback()
    session.expire_all()  # what the panel's own session committed since
    return session.scalars(select(PatientDocument).order_by(PatientDocument.id)).all()


def audited(session, action: str) -> list[AuditLog]:
    session.rollback()
    return session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


# --- the service ------------------------------------------------------------------------


def test_a_therapist_uploads_a_pdf_for_their_patient_kept_by_content(session, clinic, store):
    document = upload(session, store, clinic)

    [kept] = rows(session)
    assert (kept.id, kept.content_type, kept.size_bytes, kept.file_name) == (
        document.id,
        "application/pdf",
        len(PDF),
        "Referral letter.pdf",
    )
    assert kept.storage_key.startswith(f"{clinic.a.id}-doc-") and kept.storage_key.endswith(".pdf")
    assert store.get_bytes(kept.storage_key) == PDF
    [row] = audited(session, "document.upload")
    assert row.entity_id == str(document.id)
    assert "Referral" not in json.dumps(row.after) and row.after["size_bytes"] == len(PDF)


def test_a_png_is_kept_whatever_its_name_says(session, clinic, store):
    document = upload(session, store, clinic, data=PNG, name="scan.pdf")
    assert document.content_type == "image/png" and document.storage_key.endswith(".png")


@pytest.mark.parametrize(
    "data",
    [
        b"This is a plain text file pretending to be a PDF.\n" * 20,
        b"<html><script>alert(1)</script></html>",
        b"PK\x03\x04" + b"\x00" * 100,  # a zip (or an Office file)
        b"",
    ],
)
def test_a_file_that_is_not_an_accepted_type_is_refused_and_nothing_is_stored(
    session, clinic, store, data
):
    with pytest.raises(InvalidInput):
        upload(session, store, clinic, data=data, name="report.pdf")
    assert rows(session) == [] and store.names() == []


def test_a_file_over_the_limit_is_refused_with_its_size_before_anything_is_stored(
    session, clinic, store
):
    big = PDF + b"\0" * (1024 * 1024)
    with pytest.raises(InvalidInput, match=r"This file is 1 MB; a document can be up to 0.5 MB"):
        upload(session, store, clinic, data=big, max_bytes=512 * 1024)
    assert rows(session) == [] and store.names() == []
    assert MAX_DOCUMENT_BYTES == 10 * 1024 * 1024  # the default


def test_file_names_are_cleaned_for_showing():
    assert clean_file_name("C:\\Users\\me\\report.pdf") == "report.pdf"
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("a\x00b\nc  d.pdf") == "abc d.pdf"
    assert clean_file_name("   ") == "document"
    long = clean_file_name("x" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")


def test_only_the_patient_s_clinicians_upload(session, clinic, store, make_patient):
    stranger = make_patient(clinic.a, name="Kabir Rao")  # no session with Priya
    with pytest.raises(DocumentRefused):
        upload(session, store, clinic, patient=stranger)
    for role in (Role.OPERATOR, Role.ACCOUNTANT):
        with pytest.raises(DocumentRefused):
            upload(session, store, clinic, role)
    assert rows(session) == []
    upload(session, store, clinic, Role.ADMIN, patient=stranger)
    assert len(rows(session)) == 1


def test_another_clinic_s_patient_is_not_found(session, clinic, store):
    with pytest.raises(NotFound):
        upload(session, store, clinic, Role.ADMIN, patient=_b_patient(clinic))
    assert rows(session) == []


def test_the_list_follows_the_access_level_for_the_reader(session, clinic, store):
    clinical = upload(session, store, clinic)
    shared = upload(session, store, clinic, data=PNG, access=DocumentAccess.ALL_STAFF)

    def listed(role):
        return [
            d.id
            for d in documents_for_patient(
                session,
                clinic_id=clinic.a.id,
                patient_id=clinic.aarav.id,
                reader_id=clinic.users[role].id,
            )
        ]

    assert listed(Role.THERAPIST) == listed(Role.ADMIN) == [shared.id, clinical.id]
    assert listed(Role.OPERATOR) == listed(Role.ACCOUNTANT) == [shared.id]


def test_opening_gives_the_bytes_and_is_audited_for_those_who_may(session, clinic, store):
    clinical = upload(session, store, clinic)
    shared = upload(session, store, clinic, data=PNG, access=DocumentAccess.ALL_STAFF)

    got = opened(session, store, clinic, clinical)
    assert (got.data, got.content_type, got.file_name) == (
        PDF,
        "application/pdf",
        "Referral letter.pdf",
    )
    assert opened(session, store, clinic, shared, Role.ACCOUNTANT).data == PNG
    with pytest.raises(DocumentRefused):
        opened(session, store, clinic, clinical, Role.OPERATOR)
    opens = audited(session, "document.open")
    assert [(r.entity_id, r.actor_id) for r in opens] == [
        (str(clinical.id), clinic.users[Role.THERAPIST].id),
        (str(shared.id), clinic.users[Role.ACCOUNTANT].id),
    ]


def test_a_document_is_found_only_under_its_own_patient(session, clinic, store, make_patient):
    document = upload(session, store, clinic)
    other = make_patient(clinic.a, name="Zoya")
    with pytest.raises(NotFound):
        opened(session, store, clinic, document, Role.ADMIN, patient=other)


def test_a_deleted_document_leaves_the_list_and_cannot_be_opened(session, clinic, store):
    document = upload(session, store, clinic)
    user = clinic.users[Role.THERAPIST]
    delete_document(
        session,
        clinic_id=clinic.a.id,
        patient_id=clinic.aarav.id,
        document_id=document.id,
        now=NOW,
        actor=Actor.staff(user.id),
        author_id=user.id,
    )

    [kept] = rows(session)
    assert (kept.deleted_at, kept.deleted_by_id) == (NOW, user.id)
    assert store.get_bytes(kept.storage_key) == PDF  # soft: the file stays for the record
    assert not documents_for_patient(
        session, clinic_id=clinic.a.id, patient_id=clinic.aarav.id, reader_id=user.id
    )
    with pytest.raises(NotFound):
        opened(session, store, clinic, document)
    [row] = audited(session, "document.delete")
    assert row.after == {"deleted": True, "patient_id": clinic.aarav.id}


def test_the_front_desk_cannot_delete(session, clinic, store):
    document = upload(session, store, clinic, access=DocumentAccess.ALL_STAFF)
    user = clinic.users[Role.OPERATOR]
    with pytest.raises(DocumentRefused):
        delete_document(
            session,
            clinic_id=clinic.a.id,
            patient_id=clinic.aarav.id,
            document_id=document.id,
            now=NOW,
            actor=Actor.staff(user.id),
            author_id=user.id,
        )
    assert [r.deleted_at for r in rows(session)] == [None]


def test_documents_are_kept_in_an_s3_bucket_too(session, clinic, s3_server, bucket):
    store = open_store(
        f"s3://{bucket}/media",
        S3Settings(
            endpoint_url=s3_server,
            region="us-east-1",
            access_key_id=S3_KEY_ID,
            secret_access_key=S3_SECRET,
        ),
    )
    document = upload(session, store, clinic, data=PNG)

    assert store.names() == [document.storage_key]
    assert opened(session, store, clinic, document).data == PNG


# --- the panel ----------------------------------------------------------------------------


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(clinical_view, "utcnow", lambda: NOW)
    monkeypatch.setattr(documents_view, "utcnow", lambda: NOW)
    return app


@pytest.fixture
def panel_store(app):
    return LocalStore(app.config["ROSHNI"].instance_dir / "media")


def clinical_url(patient) -> str:
    return f"/admin/patient/clinical/{patient.id}"


def download_url(patient, document) -> str:
    return f"/admin/patient/document/{patient.id}/{document.id}"


def post_upload(client, patient, data=PDF, name="Referral letter.pdf", **fields):
    token = csrf_token(client, "/admin/")
    return client.post(
        f"{clinical_url(patient)}/documents",
        data={
            "csrf_token": token,
            "tag": "referral",
            "access": "clinical",
            "file": (io.BytesIO(data), name),
            **fields,
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_a_therapist_uploads_sees_and_downloads_a_document(app, session, clinic, panel_store):
    client = logged_in(app, clinic, Role.THERAPIST)

    page = post_upload(client, clinic.aarav)
    assert "Document uploaded." in alerts(page)
    [document] = rows(session)
    assert 'id="documents"' in page.text and "Referral letter.pdf" in page.text
    assert download_url(clinic.aarav, document) in page.text
    assert panel_store.get_bytes(document.storage_key) == PDF

    sent = client.get(download_url(clinic.aarav, document))
    assert sent.status_code == 302 and "/admin/patient/document/file/" in sent.location
    got = client.get(sent.location)
    assert got.status_code == 200 and got.data == PDF
    assert got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    [row] = audited(session, "document.open")
    assert row.entity_id == str(document.id)


def test_the_panel_refuses_a_text_file_named_pdf(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)
    page = post_upload(client, clinic.aarav, data=b"just some text\n" * 50, name="report.pdf")
    assert "not a PDF, JPEG, PNG, HEIC photo or MP4 video" in alerts(page)
    assert rows(session) == []


def test_the_panel_takes_a_file_up_to_the_limit_and_refuses_one_byte_more(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)
    over = post_upload(client, clinic.aarav, data=PDF + b"\0" * (MAX_DOCUMENT_BYTES + 1 - len(PDF)))
    assert "a document can be up to 10 MB" in alerts(over)
    assert rows(session) == []
    fits = post_upload(client, clinic.aarav, data=PDF + b"\0" * (MAX_DOCUMENT_BYTES - len(PDF)))
    assert "Document uploaded." in alerts(fits)
    assert [d.size_bytes for d in rows(session)] == [MAX_DOCUMENT_BYTES]


def test_an_upload_without_the_csrf_token_is_refused(app, session, clinic):
    client = logged_in(app, clinic, Role.THERAPIST)
    response = client.post(
        f"{clinical_url(clinic.aarav)}/documents",
        data={"tag": "other", "access": "clinical", "file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (302, 400)
    assert rows(session) == []


def test_a_therapist_cannot_reach_another_therapist_s_patient_s_documents(
    app, session, clinic, store
):
    meera = clinic.colleagues.patient  # Ravi's patient only
    document = upload(session, store, clinic, Role.ADMIN, patient=meera)
    client = logged_in(app, clinic, Role.THERAPIST)

    assert post_upload(client, meera).status_code == 404
    assert client.get(download_url(meera, document)).status_code == 404
    # Nor through their own patient's address.
    assert client.get(download_url(clinic.aarav, document)).status_code == 404
    assert len(rows(session)) == 1 and audited(session, "document.open") == []


def test_another_clinic_s_document_id_is_not_found(app, session, clinic, store):
    b_patient = _b_patient(clinic)
    b_admin = staff_logins(
        session, b_patient.clinic_id, password=PASSWORD, domain="b.example", label="B"
    )[Role.ADMIN]
    b_document = upload_document(
        session,
        store,
        clinic_id=b_patient.clinic_id,
        patient_id=b_patient.id,
        data=PDF,
        file_name="b.pdf",
        tag=DocumentTag.OTHER,
        access=DocumentAccess.ALL_STAFF,
        now=NOW,
        actor=Actor.staff(b_admin.id),
        author_id=b_admin.id,
    )
    client = logged_in(app, clinic, Role.ADMIN)
    token = csrf_token(client, "/admin/")

    assert client.get(download_url(clinic.aarav, b_document)).status_code == 404
    assert client.get(download_url(b_patient, b_document)).status_code == 404
    deleted = client.post(
        f"{clinical_url(clinic.aarav)}/documents/{b_document.id}/delete",
        data={"csrf_token": token},
    )
    assert deleted.status_code == 404
    assert [d.deleted_at for d in rows(session)] == [None]


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.OPERATOR])
def test_the_accountant_and_the_front_desk_get_403_on_clinical_documents(
    app, session, clinic, store, role
):
    clinical = upload(session, store, clinic)
    shared = upload(session, store, clinic, data=PNG, access=DocumentAccess.ALL_STAFF)
    client = logged_in(app, clinic, role)
    token = csrf_token(client, "/admin/")

    assert client.get(clinical_url(clinic.aarav)).status_code == 403
    assert post_upload(client, clinic.aarav).status_code == 403
    assert client.get(download_url(clinic.aarav, clinical)).status_code == 403
    deleted = client.post(
        f"{clinical_url(clinic.aarav)}/documents/{shared.id}/delete", data={"csrf_token": token}
    )
    assert deleted.status_code == 403
    # A document uploaded for all staff is theirs to open (and audited).
    got = client.get(download_url(clinic.aarav, shared), follow_redirects=True)
    assert got.status_code == 200 and got.data == PNG
    assert [r.entity_id for r in audited(session, "document.open")] == [str(shared.id)]
    assert len(rows(session)) == 2


def test_a_therapist_deletes_a_document_from_the_page_and_it_is_gone(app, session, clinic, store):
    document = upload(session, store, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    token = csrf_token(client, "/admin/")

    page = client.post(
        f"{clinical_url(clinic.aarav)}/documents/{document.id}/delete",
        data={"csrf_token": token},
        follow_redirects=True,
    )

    assert "Document deleted." in alerts(page)
    assert "Referral letter.pdf" not in page.text and "No documents yet." in page.text
    assert client.get(download_url(clinic.aarav, document)).status_code == 404
    assert len(audited(session, "document.delete")) == 1


def _b_patient(clinic):
    return clinic.b_session.patient


def test_the_service_and_the_panel_agree_on_who_uploads():
    from admin import permissions

    assert permissions.roles_allowed("patients", "clinical") == {Role.ADMIN, Role.THERAPIST}
    assert documents.ACCEPTED_TYPES.keys() == {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/heic",
        "video/mp4",
    }
