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

from admin.views.conversations import transcript
from core.clock import utcnow
from core.config import Config
from core.db import get_db, write_transaction
from integrations.twilio.content import ContentApi
from models import (
    Appointment,
    ContentTemplate,
    Conversation,
    InvoiceLineKind,
    OutboundMessage,
    Relation,
)
from roshni.app import create_app
from services.audit import Actor
from services.billing import invoices as billing
from services.messaging.batches import deliver_due_from
from services.messaging.catalogue import CONSENT_VERSION
from services.messaging.content_templates import sync_content_templates
from services.messaging.delivery import deliver
from services.messaging.outbox import due_ids
from services.people import patients
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.outbox import seed

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
    return seed(session, templates=True)


def consented(session, clinic):
    """Asha, who has agreed to the current consent text (no child registered yet)."""
    contact = patients.create_contact(
        session, clinic_id=clinic.id, phone=GUARDIAN, name="Asha Verma", actor=SYSTEM
    )
    patients.record_consent(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        version=CONSENT_VERSION,
        now=utcnow(),
        actor=SYSTEM,
    )
    return contact


@pytest.fixture
def guardian(session, clinic):
    """A guardian the clinic knows: consented, named, with a child registered."""
    now = utcnow()
    contact = consented(session, clinic)
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

    def __init__(
        self, app, session, sender, *, channel: str = "whatsapp", batched: bool = False
    ) -> None:
        self.client = app.test_client()
        self.session = session
        self.sender = sender
        self.channel = channel
        self.batched = batched  # as an RQ worker's job sends (services.messaging.batches)

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
        self.session.rollback()  # see what the webhook's transaction committed
        ids = due_ids(self.session, now=utcnow())
        if self.batched and ids:
            deliver_due_from(self.session, ids[0], now=utcnow(), sender=self.sender)
            return len(ids)
        for message_id in ids:
            deliver(self.session, message_id, now=utcnow(), sender=self.sender)
        return len(ids)


def twiml(response) -> list[str]:
    root = ET.fromstring(response.data)
    return [m.text or "" for m in root.iter("Message")]


def variables(sent: dict) -> dict[str, str]:
    return json.loads(sent["ContentVariables"])


def shape_of(session, sent: dict) -> str:
    session.rollback()
    return session.scalar(
        select(ContentTemplate.shape).where(ContentTemplate.content_sid == sent["ContentSid"])
    )


def choices(session, sent: dict) -> list[tuple[str, str]]:
    """(option id, title) of each button or list row of a content message, in order."""
    shape = shape_of(session, sent)
    size = int(shape.rsplit("-", 1)[1])
    values = variables(sent)
    if shape.startswith("quick-reply"):
        return [(values[str(2 * k + 1)], values[str(2 * k)]) for k in range(1, size + 1)]
    return [(values[str(3 * k + 2)], values[str(3 * k)]) for k in range(1, size + 1)]


def chat_replies(session) -> list[OutboundMessage]:
    session.rollback()
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.template_key == "chat_reply")
            .order_by(OutboundMessage.id)
        )
    )


def appointments(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Appointment))


def tap(phone: Phone, session, twilio, label_start: str) -> None:
    """Tap the option whose title starts with ``label_start`` in the last message: a
    button answers with ButtonPayload, a list row with ListId (Twilio's fields)."""
    sent = twilio.sent[-1]
    [(option_id, title)] = [(i, t) for i, t in choices(session, sent) if t.startswith(label_start)]
    field = "ButtonPayload" if shape_of(session, sent).startswith("quick") else "ListId"
    assert phone.post(title, **{field: option_id}) == []  # empty TwiML: the outbox answers
    assert phone.deliver() == 1


@pytest.mark.parametrize("batched", [False, True], ids=["one-by-one", "batched"])
def test_a_known_guardian_books_a_session_by_tapping_only(
    app, session, sender, twilio, guardian, synced, batched
):
    phone = Phone(app, session, sender, batched=batched)
    assert phone.post("hi") == []
    assert phone.deliver() == 1
    menu = twilio.sent[-1]
    assert "Body" not in menu and shape_of(session, menu) == "list-picker-5"
    assert variables(menu)["1"].startswith("Hello Asha!")
    assert next(t for _, t in choices(session, menu)) == "Book a session"

    tap(phone, session, twilio, "Book a session")
    services = twilio.sent[-1]
    assert variables(services)["1"] == "Which therapy?"
    tap(phone, session, twilio, "Speech Therapy")
    times = twilio.sent[-1]
    assert shape_of(session, times).startswith("list-picker")
    assert "When would suit you?" in variables(times)["1"]
    tap(phone, session, twilio, choices(session, times)[0][1])

    booked = twilio.sent[-1]
    assert "ContentSid" not in booked and booked["Body"].startswith("✅ Booked!")
    assert appointments(session) == 1
    # Every reply went through the outbox, in order, one row per message.
    rows = chat_replies(session)
    assert len(rows) == 4 == len(twilio.sent)
    assert [r.provider_sid for r in rows] == [s["Sid"] for s in twilio.sent]


def test_two_choices_are_buttons(app, session, sender, twilio, clinic, synced):
    consented(session, clinic)
    session.commit()
    phone = Phone(app, session, sender)
    assert phone.post("hi") == []
    phone.deliver()
    asked = twilio.sent[-1]
    assert shape_of(session, asked) == "quick-reply-2"
    assert [t for _, t in choices(session, asked)] == ["Myself", "My child"]
    tap(phone, session, twilio, "My child")
    assert "Body" in twilio.sent[-1]  # the child's name: a question without choices


def test_a_stale_tap_is_recognised_and_the_current_question_asked_again(
    app, session, sender, twilio, guardian, synced
):
    phone = Phone(app, session, sender)
    phone.post("hi")
    phone.deliver()
    menu = twilio.sent[-1]
    tap(phone, session, twilio, "Book a session")
    services = twilio.sent[-1]
    # "My appointments" from the menu, tapped while the therapies are on screen: it is
    # neither the menu's choice nor the therapy list's second row.
    [(old_id, old_title)] = [c for c in choices(session, menu) if c[1] == "My appointments"]
    assert phone.post(old_title, ListId=old_id) == []
    phone.deliver()
    again = twilio.sent[-1]
    assert variables(again)["1"].startswith("That choice was from an earlier message.")
    assert choices(session, again) == choices(session, services)  # the same menu, same ids
    # A tap on the list shown before still works (the same menu asked again).
    tap(phone, session, twilio, "Speech Therapy")
    assert "When would suit you?" in variables(twilio.sent[-1])["1"]
    # Typed numbers work exactly as before.
    assert phone.post("1") == []
    phone.deliver()
    assert twilio.sent[-1]["Body"].startswith("✅ Booked!")


def test_a_duplicate_delivery_queues_nothing_twice(app, session, sender, twilio, guardian, synced):
    phone = Phone(app, session, sender)
    sid = f"SM{next(_sid):032x}"
    assert phone.post("hi", sid=sid) == []
    assert phone.post("hi", sid=sid) == []  # Twilio's retry: answered already, not again
    assert len(chat_replies(session)) == 1
    assert phone.deliver() == 1
    assert phone.post("hi", sid=sid) == []
    assert phone.deliver() == 0 and len(twilio.sent) == 1


def test_without_a_synced_template_the_choices_go_as_numbered_text(
    app, session, sender, twilio, guardian
):
    phone = Phone(app, session, sender)
    assert phone.post("hi") == []
    phone.deliver()
    [sent] = twilio.sent
    assert "ContentSid" not in sent
    assert "1. Book a session" in sent["Body"] and "5. Pay dues" in sent["Body"]
    assert phone.post("1") == []
    phone.deliver()
    assert "Which therapy?" in twilio.sent[-1]["Body"]


def test_sms_keeps_numbered_text_in_twiml(app, session, sender, twilio, guardian, synced):
    phone = Phone(app, session, sender, channel="sms")
    [reply] = phone.post("hi")
    assert "1. Book a session" in reply
    assert chat_replies(session) == [] and phone.deliver() == 0


def test_a_dry_run_keeps_numbered_text_in_twiml(
    db, tmp_path, session, sender, twilio, guardian, synced
):
    app = make_app(db, tmp_path, twilio, account=False)
    try:
        phone = Phone(app, session, sender)
        [reply] = phone.post("hi")
        assert "1. Book a session" in reply
        [reply] = phone.post("1")
        assert "Which therapy?" in reply
        assert chat_replies(session) == []
    finally:
        get_db(app).dispose()


def test_stop_is_answered_in_twiml_and_queues_nothing(
    app, session, sender, twilio, guardian, synced
):
    phone = Phone(app, session, sender)
    [reply] = phone.post("STOP")
    assert "WhatsApp" in reply
    assert chat_replies(session) == []


def test_the_reply_leaves_before_the_payment_message_its_turn_queued(
    app, session, sender, twilio, clinic, guardian, synced
):
    [aarav] = guardian.patients
    line = billing.LineSpec(kind=InvoiceLineKind.OTHER, description="Session", unit_minor=80000)
    with write_transaction(session):
        billing.issue_invoice(
            session, clinic=clinic, patient=aarav, lines=[line], now=utcnow(), actor=SYSTEM
        )
    phone = Phone(app, session, sender)
    phone.post("hi")
    phone.deliver()
    tap(phone, session, twilio, "Pay dues")
    asked = twilio.sent[-1]
    assert shape_of(session, asked) == "quick-reply-2"
    [(pay_id, pay_title), _back] = choices(session, asked)
    assert phone.post(pay_title, ButtonPayload=pay_id) == []
    session.rollback()
    reply, upi = session.scalars(
        select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(2)
    ).all()[::-1]
    # Reserved before the turn ran: the reply's id comes first, and the sweep and the
    # workers send in id order.
    assert (reply.template_key, upi.template_key) == ("chat_reply", "payment_upi")
    assert phone.deliver() == 2
    said, paid = twilio.sent[-2:]
    assert "UPI" in said["Body"] and paid["Body"] != said["Body"]


def test_the_staff_transcript_shows_a_queued_reply_once(
    app, session, sender, twilio, guardian, synced
):
    phone = Phone(app, session, sender)
    phone.post("hi")
    phone.deliver()
    session.rollback()
    conversation = session.scalar(select(Conversation))
    entries, _ = transcript(session, conversation, now=utcnow() + timedelta(seconds=1))
    assert [(e.side, e.who, e.status) for e in entries] == [
        ("in", "Patient", ""),
        ("out", "Bot", "sent"),
    ]
    assert entries[1].text.startswith("Hello Asha!")


def test_more_than_ten_choices_are_nine_rows_and_more(
    app, session, sender, twilio, clinic, guardian, synced, make_service
):
    for n in range(1, 8):
        make_service(clinic, name=f"Speech Extra {n}")
    session.commit()
    phone = Phone(app, session, sender)
    phone.post("hi")
    phone.deliver()
    tap(phone, session, twilio, "Book a session")
    services = twilio.sent[-1]
    assert shape_of(session, services) == "list-picker-10"
    rows = choices(session, services)
    assert rows[-1][1] == "More…" and rows[-1][0].endswith(".0")
    tap(phone, session, twilio, "More…")
    rest = twilio.sent[-1]
    assert shape_of(session, rest) == "quick-reply-3"  # rows 10 to 12: three buttons
    assert variables(rest)["1"] == "More choices:"
    tap(phone, session, twilio, "Speech Extra 6")
    assert "Speech Extra 6 for Aarav" in variables(twilio.sent[-1])["1"]
