"""The issue's London story end to end: a patient of a GBP clinic pays by card from a
Stripe Checkout link (the fake Stripe signs the webhook as Stripe does), and, as they
prefer email, the receipt arrives by email at a real SMTP server (aiosmtpd) with the
receipt PDF attached, not in the chat."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.db import get_db
from integrations.smtp import SmtpMailer, SmtpSettings
from models import EmailPreference, OutboundEmail, OutboundMessage, OutboundStatus, Payment
from roshni.app import create_app
from services.billing.emailed import attachments
from services.messaging.email_delivery import deliver_email
from services.messaging.email_render import EmailSetup
from services.people.contact_email import set_contact_email
from tests.billing.test_stripe_webhook import post_event
from tests.conftest import NOW, SYSTEM
from tests.fake_smtp import FakeSmtp

# ruff: noqa: F811
from tests.stripe_support import (  # noqa: F401  (fixtures)
    card_held,
    card_service,
    connect_stripe,
    fake_stripe,
    london,
    stripe_for,
    stripe_server,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")

SETUP = EmailSetup(
    sender="desk@brightsteps.example", base_url="https://app.example", secret_key="s" * 40
)


@pytest.fixture
def smtp():
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def app(db, london, payments_config):
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


def test_a_london_patient_pays_by_card_and_gets_the_receipt_by_email(
    session, app, london, card_held, fake_stripe, smtp
):
    appointment, link = card_held
    contact_id = appointment.patient.contact_id
    set_contact_email(
        session,
        clinic_id=london.id,
        contact_id=contact_id,
        email="parent@example.co.uk",
        preference=EmailPreference.EMAIL,
        actor=SYSTEM,
    )

    paid = post_event(app.test_client(), london, fake_stripe.complete(link.provider_link_id))

    assert paid.status_code == 200
    session.expire_all()
    payment = session.scalar(select(Payment).where(Payment.clinic_id == london.id))
    assert payment is not None and payment.receipt_number
    receipt_in_chat = select(OutboundMessage).where(
        OutboundMessage.idempotency_key == f"receipt:{payment.id}"
    )
    assert session.scalar(receipt_in_chat) is None  # by email instead
    (email,) = session.scalars(select(OutboundEmail).where(OutboundEmail.clinic_id == london.id))
    mailer = SmtpMailer(SmtpSettings.parse(smtp.url), timeout=5)
    sent = deliver_email(session, email.id, now=NOW, mailer=mailer, setup=SETUP, attach=attachments)

    assert sent is OutboundStatus.SENT
    (received,) = smtp.messages
    assert received.rcpt_tos == ["parent@example.co.uk"]
    message = received.message
    assert payment.receipt_number in message["Subject"]
    assert "£" in message.get_body(preferencelist=("plain",)).get_content()
    (pdf,) = [part.get_content() for part in message.iter_attachments()]
    words = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert payment.receipt_number in words and "Bright Steps London" in words
