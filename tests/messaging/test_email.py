"""Email: messages a contact wants by email go through the email outbox to a real SMTP
server (tests/fake_smtp.py, aiosmtpd) and are read back as MIME: subject, text and HTML
parts (names escaped), the receipt PDF, the unsubscribe link and headers. A bounce marks
the address and the chat message goes instead; a server that asks us to wait gets the
usual backoff; without SMTP_URL the chat carries everything.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata (03:30 UTC; 03:30 in London too).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.config import Config, ConfigError
from integrations.smtp import SmtpMailer, SmtpSettings
from models import (
    AuditLog,
    Contact,
    EmailPreference,
    OutboundEmail,
    OutboundMessage,
    OutboundStatus,
    PaymentMethod,
)
from services.billing import payments
from services.billing.emailed import attachments
from services.messaging.email_delivery import deliver_email
from services.messaging.email_render import EmailSetup
from services.messaging.outbox import notify_patient
from services.people.contact_email import set_contact_email, unsubscribe_token
from tests.conftest import NOW, SYSTEM
from tests.fake_smtp import BOUNCE, LATER, FakeSmtp
from tests.outbox import ROSHNI, SUNRISE, book, ist, seed

SECRET = "x" * 40
SETUP = EmailSetup(
    sender="clinic@roshni.example", base_url="https://app.example", secret_key=SECRET
)


@pytest.fixture(scope="module")
def smtp_server():
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server):
    smtp_server.reset()
    return smtp_server


@pytest.fixture
def mailer(smtp):
    return SmtpMailer(SmtpSettings.parse(smtp.url), timeout=5)


def emailing(session, clinic, make_patient, *, preference=EmailPreference.EMAIL, name="Asha"):
    patient = make_patient(clinic)
    set_contact_email(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        email="Asha.Verma@Example.com",
        preference=preference,
        actor=SYSTEM,
    )
    contact = session.get(Contact, patient.contact_id)
    contact.name = name
    session.commit()
    return patient


def pay(session, clinic, patient, amount=6000):
    return payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        amount_minor=amount,
        method=PaymentMethod.CARD,
        now=NOW,
        actor=SYSTEM,
    )


def emails(session):
    session.commit()
    session.expire_all()
    rows = list(session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))
    session.commit()
    return rows


def chat(session, key):
    session.commit()
    session.expire_all()
    return session.scalar(select(OutboundMessage).where(OutboundMessage.idempotency_key == key))


def send_all(session, mailer, *, now=NOW, setup=SETUP):
    return [
        deliver_email(session, e.id, now=now, mailer=mailer, setup=setup, attach=attachments)
        for e in emails(session)
        if e.status is OutboundStatus.QUEUED
    ]


def test_a_london_patient_who_prefers_email_gets_the_receipt_pdf_by_email(
    session, make_patient, smtp, mailer
):
    clinic = seed(session, SUNRISE)
    patient = emailing(session, clinic, make_patient)
    payment = pay(session, clinic, patient)

    assert chat(session, f"receipt:{payment.id}") is None  # email instead of the chat
    assert send_all(session, mailer) == [OutboundStatus.SENT]
    (received,) = smtp.messages
    message = received.message
    assert received.rcpt_tos == ["asha.verma@example.com"]
    assert payment.receipt_number in message["Subject"]
    assert clinic.name in message["From"] and "clinic@roshni.example" in message["From"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "£60" in text and "£60" in html and payment.receipt_number in html
    assert "Hello Asha," in text
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF")
    words = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert payment.receipt_number in words
    token = unsubscribe_token(SECRET, clinic_id=clinic.id, contact_id=patient.contact_id)
    # (folded onto a line of its own: the URL is long)
    assert message["List-Unsubscribe"].strip() == f"<https://app.example/email/unsubscribe/{token}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"https://app.example/email/unsubscribe/{token}" in text
    assert f'href="https://app.example/email/unsubscribe/{token}"' in html
    (row,) = emails(session)
    assert row.sent_at == NOW and row.attempts == 1 and row.subject == message["Subject"]


def test_a_hostile_name_is_text_in_the_html_part(session, make_patient, smtp, mailer):
    clinic = seed(session, SUNRISE)
    patient = emailing(session, clinic, make_patient, name='<script>alert("x")</script>')
    pay(session, clinic, patient)
    send_all(session, mailer)
    html = smtp.messages[0].message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_both_sends_the_chat_message_and_the_email(session, make_patient, smtp, mailer):
    clinic = seed(session, SUNRISE)
    patient = emailing(session, clinic, make_patient, preference=EmailPreference.BOTH)
    payment = pay(session, clinic, patient)
    assert chat(session, f"receipt:{payment.id}") is not None
    assert [e.idempotency_key for e in emails(session)] == [f"email:receipt:{payment.id}"]


def test_a_booking_notice_goes_by_email(session, make_patient, smtp, mailer):
    clinic = seed(session, ROSHNI)
    patient = emailing(session, clinic, make_patient)
    appointment = book(session, clinic, patient, ist(24, 11), actor=SYSTEM)
    session.commit()
    # A booking through the chat is confirmed in the chat; a notice comes from staff.
    notify_patient(session, appointment, event="booked", now=NOW)
    session.commit()
    assert send_all(session, mailer) == [OutboundStatus.SENT]
    message = smtp.messages[0].message
    assert clinic.name in message["Subject"]
    assert "attachment" not in str(message.get_content_type())


def test_a_refused_address_bounces_and_the_chat_message_goes_instead(
    session, make_patient, smtp, mailer
):
    clinic = seed(session, SUNRISE)
    patient = emailing(session, clinic, make_patient)
    smtp.refuse("asha.verma@example.com", BOUNCE)
    payment = pay(session, clinic, patient)

    assert send_all(session, mailer) == [OutboundStatus.FAILED]
    assert smtp.messages == []
    (row,) = emails(session)
    assert row.error_code == "550"
    contact = session.get(Contact, patient.contact_id)
    assert contact.email_bounced_at == NOW and not contact.email_usable
    assert chat(session, f"receipt:{payment.id}").status is OutboundStatus.QUEUED
    assert (
        session.scalar(select(AuditLog).where(AuditLog.action == "contact.email_bounced"))
        is not None
    )
    # The next receipt goes by chat straight away.
    second = pay(session, clinic, patient, amount=100)
    assert chat(session, f"receipt:{second.id}") is not None
    assert len(emails(session)) == 1


def test_a_server_that_asks_us_to_wait_gets_the_backoff(session, make_patient, smtp, mailer):
    clinic = seed(session, SUNRISE)
    patient = emailing(session, clinic, make_patient)
    smtp.refuse("asha.verma@example.com", LATER)
    payment = pay(session, clinic, patient)

    assert send_all(session, mailer) == [OutboundStatus.QUEUED]
    (row,) = emails(session)
    assert row.attempts == 1 and row.next_attempt_at > NOW
    assert session.get(Contact, patient.contact_id).email_bounced_at is None
    assert chat(session, f"receipt:{payment.id}") is None

    smtp.reset()
    later = row.next_attempt_at + timedelta(seconds=1)
    assert send_all(session, mailer, now=later) == [OutboundStatus.SENT]
    assert len(smtp.messages) == 1


def test_without_smtp_the_chat_message_goes_instead(session, make_patient):
    clinic = seed(session, SUNRISE)
    patient = emailing(session, clinic, make_patient)
    payment = pay(session, clinic, patient)
    assert send_all(session, None, setup=None) == [OutboundStatus.CANCELLED]
    assert chat(session, f"receipt:{payment.id}").status is OutboundStatus.QUEUED


def test_delivery_twice_sends_once(session, make_patient, smtp, mailer):
    clinic = seed(session, SUNRISE)
    patient = emailing(session, clinic, make_patient)
    pay(session, clinic, patient)
    (row,) = emails(session)
    deliver_email(session, row.id, now=NOW, mailer=mailer, setup=SETUP)
    assert deliver_email(session, row.id, now=NOW, mailer=mailer, setup=SETUP) is None
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail.example", "must start with smtp:// or smtps://"),
        ("smtp://user@mail.example:587", "both a user name and a password"),
        ("smtp://:587", "needs a host"),
        ("smtp://mail.example:99999", "not a URL"),
    ],
)
def test_a_bad_smtp_url_stops_start_up_in_one_sentence(url, problem):
    with pytest.raises(ConfigError, match=problem):
        Config.from_env({"SMTP_URL": url, "EMAIL_FROM": "a@b.example"})


def test_smtp_settings_read_the_three_kinds_of_url():
    assert Config.from_env({}).smtp is None
    plain = SmtpSettings.parse("smtp://127.0.0.1:1025")
    assert (plain.port, plain.starttls, plain.implicit_tls) == (1025, False, False)
    submit = SmtpSettings.parse("smtp://me%40x.example:p%2Fw@mail.example:587")
    assert submit.starttls and submit.username == "me@x.example" and submit.password == "p/w"
    implicit = SmtpSettings.parse("smtps://u:p@mail.example")
    assert implicit.implicit_tls and implicit.port == 465 and not implicit.starttls
    with pytest.raises(ConfigError, match="EMAIL_FROM is not"):
        Config.from_env({"SMTP_URL": "smtp://127.0.0.1:1025"})
    with pytest.raises(ConfigError, match="plain address"):
        Config.from_env({"SMTP_URL": "smtp://127.0.0.1:1025", "EMAIL_FROM": "Clinic <a@b>"})
