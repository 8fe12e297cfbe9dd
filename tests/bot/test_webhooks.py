"""Twilio's webhooks, fed correctly signed (and wrongly signed) form posts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from core.config import Config
from core.db import get_db
from integrations.twilio.gsm7 import sms_plain
from integrations.twilio.twiml import MAX_BODY, split_reply
from models import Contact, InboundMessage
from roshni.app import create_app
from roshni.demo import DEMO_CLINICS, seed_clinic

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://roshni.example.com"
WHATSAPP_SANDBOX = "whatsapp:+14155238886"
PARENT = "whatsapp:+919876543210"


@pytest.fixture
def app(db, tmp_path, session):
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    seed_clinic(session, DEMO_CLINICS[1], admin_password=None)
    session.commit()
    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": BASE,
        }
    )
    app = create_app(config)
    yield app
    get_db(app).dispose()


_sid = iter(range(1, 10_000))


def form(body: str, *, to: str = WHATSAPP_SANDBOX, sender: str = PARENT, **extra: str) -> dict:
    values = {
        "MessageSid": f"SM{next(_sid):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Asha",
        "WaId": sender.split("+")[-1],
    }
    values.update(extra)
    return values


def post(client, path: str, data: dict, *, token: str = TOKEN, signature: str | None = None):
    if signature is None:
        signature = RequestValidator(token).compute_signature(f"{BASE}{path}", data)
    return client.post(path, data=data, headers={"X-Twilio-Signature": signature})


def messages(response) -> list[str]:
    root = ET.fromstring(response.data)
    return [m.text or "" for m in root.iter("Message")]


def stored(session) -> int:
    return session.scalar(select(func.count()).select_from(InboundMessage))


def test_a_signed_whatsapp_message_gets_a_twiml_reply(app, session):
    response = post(app.test_client(), "/webhooks/twilio/whatsapp", form("hi"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    [reply] = messages(response)
    assert "Roshni Clinic's booking assistant" in reply
    assert stored(session) == 1


def test_unknown_parameters_from_twilio_are_accepted(app):
    data = form("hi", SomeNewTwilioField="42", ButtonText="")
    assert post(app.test_client(), "/webhooks/twilio/whatsapp", data).status_code == 200


@pytest.mark.parametrize("signature", ["", "bm90LWEtc2lnbmF0dXJl", None])
def test_a_missing_or_wrong_signature_is_403_and_stores_nothing(app, session, signature):
    client = app.test_client()
    data = form("hi")
    if signature is None:  # signed with another token
        response = post(client, "/webhooks/twilio/whatsapp", data, token="someone-elses-token")
    else:
        response = post(client, "/webhooks/twilio/whatsapp", data, signature=signature)
    assert response.status_code == 403
    assert stored(session) == 0
    assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_signature_for_another_path_is_refused(app, session):
    data = form("hi")
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}/webhooks/twilio/sms", data)
    response = post(app.test_client(), "/webhooks/twilio/whatsapp", data, signature=signature)
    assert response.status_code == 403
    assert stored(session) == 0


def test_a_number_no_clinic_owns_is_404(app, session):
    response = post(
        app.test_client(), "/webhooks/twilio/whatsapp", form("hi", to="whatsapp:+15550001111")
    )
    assert response.status_code == 404
    assert stored(session) == 0


def test_messages_are_routed_to_the_clinic_that_owns_the_number(app):
    response = post(
        app.test_client(), "/webhooks/twilio/whatsapp", form("hi", to="whatsapp:+447700900123")
    )
    assert "Sunrise Therapy Centre" in messages(response)[0]


def test_a_retried_delivery_gets_the_same_twiml(app, session):
    client = app.test_client()
    post(client, "/webhooks/twilio/whatsapp", form("hi"))
    data = form("1")
    first = post(client, "/webhooks/twilio/whatsapp", data)
    second = post(client, "/webhooks/twilio/whatsapp", data)
    assert first.data == second.data
    assert stored(session) == 2


@pytest.mark.parametrize("missing", ["From", "To", "MessageSid"])
def test_a_form_without_the_essentials_is_400(app, missing):
    data = form("hi")
    del data[missing]
    assert post(app.test_client(), "/webhooks/twilio/whatsapp", data).status_code == 400


def test_sms_replies_avoid_characters_that_force_ucs2(app):
    client = app.test_client()
    sms = {"to": "+15017122661", "sender": "+919876543210"}
    post(client, "/webhooks/twilio/sms", form("hi", **sms))
    post(client, "/webhooks/twilio/sms", form("2", **sms))  # yes, for myself
    # Registered: the reply goes straight on to booking, with the services listed.
    services = messages(post(client, "/webhooks/twilio/sms", form("Asha Verma", **sms)))[0]
    assert "Speech Therapy Session - 45 min, Rs 800" in services
    assert all(ord(ch) < 0x2000 for ch in services)


def test_a_ten_thousand_character_body_is_answered_not_crashed(app):
    response = post(app.test_client(), "/webhooks/twilio/whatsapp", form("x" * 10_000))
    assert response.status_code == 200


def test_a_body_over_the_request_limit_is_refused_before_anything_runs(app, session):
    response = post(app.test_client(), "/webhooks/twilio/whatsapp", form("x" * 1_100_000))
    assert response.status_code == 413
    assert stored(session) == 0


def test_long_replies_are_split_at_line_ends_within_twilios_limit():
    text = "\n".join(f"{i}. " + "word " * 30 for i in range(1, 40))
    parts = split_reply(text)
    assert len(parts) > 1
    assert all(len(p) <= MAX_BODY for p in parts)
    assert "\n".join(parts) == text
    assert all(len(p) <= MAX_BODY for p in split_reply("y" * 5000))


def test_sms_plain_keeps_meaning_in_gsm_characters():
    assert sms_plain("✅ Booked! Tue 24 Nov, 9:00–9:45 am · ₹800") == (
        "Booked! Tue 24 Nov, 9:00-9:45 am - Rs 800"
    )
