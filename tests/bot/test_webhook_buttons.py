"""WhatsApp buttons and lists for the bot's own replies: through the real webhook, the
outbox and delivery, to the local Twilio stand-in (tests/fake_twilio.py) through the SDK.

With a Twilio account configured, a WhatsApp reply goes through the outbox (the webhook
answers empty TwiML) and a reply offering choices leaves as the synced content template
with its variables; taps come back as ``ButtonPayload`` / ``ListId``. SMS and the dry run
keep numbered text in TwiML.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from core.clock import utcnow
from core.config import Config
from core.db import get_db
from integrations.twilio.content import MORE_ID, ContentApi
from models import Appointment, Clinic, ContentTemplate, OutboundMessage, Relation
from roshni.app import create_app
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.audit import Actor
from services.messaging.catalogue import CONSENT_VERSION
from services.messaging.content_templates import sync_content_templates
from services.messaging.delivery import deliver
from services.messaging.outbox import due_ids
from services.people import patients
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

BASE = "https://roshni.example.com"
CLINIC_WHATSAPP = "whatsapp:+14155238886"
CLINIC_SMS = "+15017122661"
GUARDIAN = "+919876543210"
SYSTEM = Actor.system()

_sid = iter(range(1, 100_000))


def make_app(db, tmp_path, twilio, *, account: bool = True):
    env = {
        "ROSHNI_ENV": "test",
        "DATABASE_URL": db.url,
        "SECRET_KEY": "x" * 40,
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": BASE,
        "TWILIO_API_URL": twilio.url,
    }
    if account:
        env["TWILIO_ACCOUNT_SID"] = ACCOUNT_SID
    return create_app(Config.from_env(env))


@pytest.fixture
def clinic(session):
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == DEMO_CLINICS[0].slug))


@pytest.fixture
def guardian(session, clinic):
    """A guardian the clinic knows: consented, named, with a child registered."""
    now = utcnow()
    contact = patients.create_contact(
        session, clinic_id=clinic.id, phone=GUARDIAN, name="Asha Verma", actor=SYSTEM
    )
    patients.record_consent(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        version=CONSENT_VERSION,
        now=now,
        actor=SYSTEM,
    )
    patients.add_patient(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        name="Aarav",
        relation=Relation.CHILD,
        date_of_birth=now.date() - timedelta(days=6 * 365),
        actor=SYSTEM,
        today=now.date(),
    )
    session.commit()
    return contact


@pytest.fixture
def synced(session, twilio):
    api = ContentApi(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url)
    sync_content_templates(session, account_sid=ACCOUNT_SID, api=api, now=utcnow())
    session.commit()


@pytest.fixture
def app(db, tmp_path, twilio, clinic):
    app = make_app(db, tmp_path, twilio)
    yield app
    get_db(app).dispose()


class Phone:
    """The guardian's WhatsApp (or SMS): posts signed webhooks, then lets the outbox
    deliver what the turn queued, as dispatch on commit would."""

    def __init__(self, app, session, sender, *, channel: str = "whatsapp") -> None:
        self.client = app.test_client()
        self.session = session
        self.sender = sender
        self.channel = channel

    def post(self, body: str = "", *, sid: str | None = None, **extra: str):
        sms = self.channel == "sms"
        data = {
            "MessageSid": sid or f"SM{next(_sid):032x}",
            "AccountSid": ACCOUNT_SID,
            "From": GUARDIAN if sms else f"whatsapp:{GUARDIAN}",
            "To": CLINIC_SMS if sms else CLINIC_WHATSAPP,
            "Body": body,
            "NumMedia": "0",
            **extra,
        }
        path = f"/webhooks/twilio/{self.channel}"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{BASE}{path}", data)
        response = self.client.post(path, data=data, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
        return twiml(response)

    def deliver(self) -> int:
        ids = due_ids(self.session, now=utcnow())
        for message_id in ids:
            deliver(self.session, message_id, now=utcnow(), sender=self.sender)
        return len(ids)


def twiml(response) -> list[str]:
    root = ET.fromstring(response.data)
    return [m.text or "" for m in root.iter("Message")]


def variables(sent: dict) -> dict[str, str]:
    return json.loads(sent["ContentVariables"])


def options(sent: dict) -> list[tuple[str, str]]:
    """(id, title) of each button or list row of a content message."""
    values = variables(sent)
    found = []
    if "3" in values and values.get("2") and not values.get("3", "").startswith("c"):
        pass
    for key in sorted(values, key=int):
        value = values[key]
        if value.startswith("c") and "." in value or value == MORE_ID:
            k = int(key)
            title = values[str(k - 1)] if str(k - 1) in values and k % 2 == 1 else None
            found.append((value, title))
    return found


def test_explore(app, session, sender, twilio, guardian, synced):
    phone = Phone(app, session, sender)
    assert phone.post("hi") == []
    phone.deliver()
    print(twilio.sent[-1])
    for _ in range(8):
        sent = twilio.sent[-1]
        if "ContentSid" not in sent:
            print("TEXT", sent["Body"])
            break
        vs = variables(sent)
        print(vs)
        first = [v for k, v in sorted(vs.items(), key=lambda kv: int(kv[0])) if v.startswith("c") and "." in v][0]
        phone.post("x", ButtonPayload=first)
        phone.deliver()
    print(session.scalar(select(func.count()).select_from(Appointment)))
    assert False
