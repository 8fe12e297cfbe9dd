"""Document downloads through short-lived links: the permission-checked address audits
the access and redirects; the file itself comes from a link valid ``LINK_SECONDS``.

The local file storage: a token signed with the app's secret (for this purpose only),
for the staff member and clinic it was made for, refused once expired (the clock moved
past it with time_machine, from the real clock), tampered with, or for a deleted
document. An S3 bucket (moto's server): a presigned GET that a plain HTTP client follows
to the bytes, with the file name and type of the document row. moto's server does not
enforce a presigned link's expiry (nor check its signature), so for the bucket the test
checks what S3 enforces it by: ``X-Amz-Expires`` of ``LINK_SECONDS`` from the signing time.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine

from core.storage import LINK_SECONDS, download_link
from integrations.backup_storage import LocalStore
from models import DocumentAccess, Role
from services.audit import Actor
from services.clinical.documents import delete_document
from tests.admin.test_admin import PASSWORD, log_in
from tests.clinical.test_documents import PDF, PNG, audited, download_url, post_upload, rows
from tests.clinical.test_documents import upload as upload_as
from tests.clinical.test_progress_notes import clinic, logged_in
from tests.conftest import NOW, staff_logins
from tests.core.test_backups import S3_KEY_ID, S3_SECRET, bucket, s3_server

__all__ = ["bucket", "clinic", "s3_server"]

FILE_ROUTE = "/admin/patient/document/file/"


@pytest.fixture
def store(app):
    return LocalStore(app.config["ROSHNI"].instance_dir / "media")


def link_for(client, clinic, document) -> str:
    sent = client.get(download_url(clinic.aarav, document))
    assert sent.status_code == 302
    assert "no-store" in sent.headers["Cache-Control"]
    return sent.location


def later(seconds: int):
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=False)


def test_the_download_redirects_to_a_token_link_that_serves_the_file(app, session, clinic, store):
    document = upload_as(session, store, clinic, name="Référence letter.pdf")
    client = logged_in(app, clinic, Role.THERAPIST)

    link = link_for(client, clinic, document)
    assert urlsplit(link).path.startswith(FILE_ROUTE)
    assert document.storage_key not in link  # the token is signed, and says no more
    got = client.get(link)
    assert got.status_code == 200 and got.data == PDF
    assert got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert "R%C3%A9f%C3%A9rence%20letter.pdf" in got.headers["Content-Disposition"]
    assert "no-store" in got.headers["Cache-Control"]
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    # The access was audited once, when the link was made.
    assert [r.entity_id for r in audited(session, "document.open")] == [str(document.id)]


def test_a_link_works_for_a_few_minutes_only(app, session, clinic, store):
    document = upload_as(session, store, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    link = link_for(client, clinic, document)

    with later(LINK_SECONDS - 30):
        assert client.get(link).data == PDF
    with later(LINK_SECONDS + 5):
        expired = client.get(link)
    assert expired.status_code == 403
    assert "This download link has expired" in expired.text
    assert "no-store" in expired.headers["Cache-Control"]


def test_a_tampered_token_is_not_found(app, session, clinic, store):
    document = upload_as(session, store, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    link = link_for(client, clinic, document)
    token = link.rsplit("/", 1)[1]
    payload, rest = token.split(".", 1)
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest

    for bad in (FILE_ROUTE + forged, FILE_ROUTE + token[:-3], FILE_ROUTE + "nothing"):
        got = client.get(bad)
        assert got.status_code == 404 and "This download link does not work" in got.text
        assert got.data != PDF


def test_a_link_is_for_the_staff_member_and_clinic_it_was_made_for(app, session, clinic, store):
    shared = upload_as(session, store, clinic, data=PNG, access=DocumentAccess.ALL_STAFF)
    link = link_for(logged_in(app, clinic, Role.THERAPIST), clinic, shared)

    # The admin may open the document, but not through the therapist's link.
    assert logged_in(app, clinic, Role.ADMIN).get(link).status_code == 403
    b_admin = staff_logins(
        session, clinic.b_session.clinic_id, password=PASSWORD, domain="b.example", label="B"
    )[Role.ADMIN]
    b_client = app.test_client()
    assert log_in(b_client, b_admin.email).status_code == 302
    assert b_client.get(link).status_code == 403
    assert app.test_client().get(link).status_code in (302, 401, 403)  # signed out: no file
    assert app.test_client().get(link).data != PNG


def test_a_link_to_a_document_deleted_since_is_not_found(app, session, clinic, store):
    document = upload_as(session, store, clinic)
    client = logged_in(app, clinic, Role.THERAPIST)
    link = link_for(client, clinic, document)
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
    assert client.get(link).status_code == 404


def test_a_token_signed_for_another_purpose_is_refused(app, session, clinic, store):
    document = upload_as(session, store, clinic)
    config = app.config["ROSHNI"]
    user = clinic.users[Role.THERAPIST]
    payload = {"c": clinic.a.id, "d": document.id, "k": document.storage_key, "s": user.id}
    forged = download_link(
        config,
        store,
        key=document.storage_key,
        file_name="x.pdf",
        content_type="application/pdf",
        purpose="something-else",
        payload=payload,
        local_url=lambda token: FILE_ROUTE + token,
    )
    assert logged_in(app, clinic, Role.THERAPIST).get(forged).status_code == 404


# --- an S3 bucket --------------------------------------------------------------------------


@pytest.fixture
def s3_app(app, s3_server, bucket):
    app.config["ROSHNI"] = dataclasses.replace(
        app.config["ROSHNI"],
        media_target=f"s3://{bucket}/media",
        backup_s3_endpoint_url=s3_server,
        backup_s3_region="us-east-1",
        backup_s3_access_key_id=S3_KEY_ID,
        backup_s3_secret_access_key=S3_SECRET,
    )
    return app


def test_a_bucket_answers_with_a_presigned_link_a_plain_client_follows(
    s3_app, session, clinic, s3_server
):
    client = logged_in(s3_app, clinic, Role.THERAPIST)
    post_upload(client, clinic.aarav, name="Referral letter.pdf")
    [document] = rows(session)

    link = link_for(client, clinic, document)
    assert link.startswith(s3_server)
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Expires"] == [str(LINK_SECONDS)]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((signed_at - datetime.now(UTC)).total_seconds()) < 60
    got = requests.get(link, timeout=10)  # no cookie, no credentials
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert "Referral%20letter.pdf" in got.headers["Content-Disposition"]
    # Without the signature the bucket gives nothing.
    unsigned = link.split("?", 1)[0]
    assert requests.get(unsigned, timeout=10).content != PDF
    assert [r.entity_id for r in audited(session, "document.open")] == [str(document.id)]
