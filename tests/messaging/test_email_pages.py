"""Email's public pages: the unsubscribe link (GET asks, POST unsubscribes, one-click
POST from mail clients too; a bad or foreign token is a 404) and the bounce webhook (a
shared secret; JSON or a delivery status notification)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.config import Config
from core.db import get_db
from models import AuditLog, Contact, EmailPreference
from roshni.app import create_app
from services.messaging.email_outbox import routes
from services.people.contact_email import set_contact_email, unsubscribe_token
from tests.conftest import SYSTEM
from tests.outbox import ROSHNI, SUNRISE, seed

SECRET = "s" * 40
# A delivery status notification as mail servers send them (RFC 3464): one recipient
# failed for good, one only delayed.
DSN = """From: Mail Delivery System <MAILER-DAEMON@mx.example>
To: clinic@roshni.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to one or more recipients.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; asha@example.com
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; ravi@example.com
Action: delayed
Status: 4.4.1

--BOUNDARY--
"""
HOOK = "bounce-secret-0123456789"


@pytest.fixture
def app(db, tmp_path):
    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": SECRET,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "EMAIL_WEBHOOK_SECRET": HOOK,
        }
    )
    app = create_app(config)
    yield app
    get_db(app).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def emailing(session, clinic, make_patient, address="asha@example.com"):
    patient = make_patient(clinic)
    set_contact_email(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        email=address,
        preference=EmailPreference.EMAIL,
        actor=SYSTEM,
    )
    return session.get(Contact, patient.contact_id)


def fresh(session, contact_id):
    session.commit()
    session.expire_all()
    return session.get(Contact, contact_id)


def test_the_link_asks_first_and_the_post_unsubscribes(session, client, make_patient):
    clinic = seed(session, SUNRISE)
    contact = emailing(session, clinic, make_patient)
    token = unsubscribe_token(SECRET, clinic_id=clinic.id, contact_id=contact.id)
    url = f"/email/unsubscribe/{token}"

    page = client.get(url)
    assert page.status_code == 200
    assert clinic.name in page.text and "asha@example.com" in page.text
    assert fresh(session, contact.id).email_opted_out_at is None  # a GET changes nothing

    done = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "no longer email you" in done.text
    contact = fresh(session, contact.id)
    assert contact.email_opted_out_at is not None
    assert routes(contact, "payment_receipt") == (True, False)  # the chat again
    assert session.scalar(
        select(AuditLog).where(AuditLog.action == "contact.email_unsubscribe")
    ).entity_id == str(contact.id)
    assert client.post(url).status_code == 200  # a second time: nothing more to do


def test_a_bad_or_foreign_token_is_not_found(session, client, make_patient):
    roshni = seed(session, ROSHNI)
    sunrise = seed(session, SUNRISE)
    contact = emailing(session, sunrise, make_patient)
    foreign = unsubscribe_token(SECRET, clinic_id=roshni.id, contact_id=contact.id)
    forged = unsubscribe_token("t" * 40, clinic_id=sunrise.id, contact_id=contact.id)
    for token in ("nonsense", foreign, forged):
        assert client.get(f"/email/unsubscribe/{token}").status_code == 404
        assert client.post(f"/email/unsubscribe/{token}").status_code == 404
    assert fresh(session, contact.id).email_opted_out_at is None


def test_a_bounce_notice_marks_the_address(session, client, make_patient):
    clinic = seed(session, SUNRISE)
    contact = emailing(session, clinic, make_patient)
    bounced = {"email": "Asha@Example.com"}
    assert client.post("/webhooks/email/bounce", json=bounced).status_code == 403
    wrong = {"X-Webhook-Secret": "nope"}
    assert client.post("/webhooks/email/bounce", json=bounced, headers=wrong).status_code == 403
    ok = client.post("/webhooks/email/bounce", json=bounced, headers={"X-Webhook-Secret": HOOK})
    assert ok.status_code == 200
    assert fresh(session, contact.id).email_bounced_at is not None
    assert session.scalar(select(AuditLog).where(AuditLog.action == "contact.email_bounced"))


def test_a_delivery_status_notification_marks_the_failed_recipient(session, client, make_patient):
    clinic = seed(session, SUNRISE)
    contact = emailing(session, clinic, make_patient)
    other = emailing(session, clinic, make_patient, address="ravi@example.com")
    report = DSN.replace("\n", "\r\n").encode()
    response = client.post(
        "/webhooks/email/bounce",
        data=report,
        headers={"X-Webhook-Secret": HOOK, "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 200, response.text
    assert fresh(session, contact.id).email_bounced_at is not None
    assert fresh(session, other.id).email_bounced_at is None
    garbage = client.post(
        "/webhooks/email/bounce", data=b"hello", headers={"X-Webhook-Secret": HOOK}
    )
    assert garbage.status_code == 400
