"""The chat simulator: staff chat with the real engine from the panel as a fictional test
contact; it books for real, its messages are marked as the simulator's, and nothing the
clinic sends that contact ever reaches Twilio (FakeTwilio counts every request).
"""

from __future__ import annotations

import re
from html import unescape

import phonenumbers
import pytest
from sqlalchemy import select

from core.clock import utcnow
from models import (
    Appointment,
    AppointmentStatus,
    Contact,
    Conversation,
    InboundMessage,
    MessageKind,
    MessageSource,
    OutboundStatus,
    StaffUser,
)
from services.audit import Actor
from services.messaging import handoff
from services.messaging.delivery import deliver
from services.messaging.simulator import (
    SIMULATED,
    TEST_CONTACTS,
    is_simulator_phone,
    simulator_phone,
)
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.conftest import staff_logins
from tests.outbox import outbox, seed


@pytest.fixture
def clinic(session):
    """The demo clinic with a login per role, ``<role>@clinic.example``."""
    clinic = seed(session)
    staff_logins(session, clinic.id, password=PASSWORD, domain="clinic.example")
    return clinic


class Simulator:
    """A logged-in staff member typing into the simulator page."""

    def __init__(self, app, session, role: str = "operator", contact: int = 1) -> None:
        self.client = app.test_client()
        self.session = session
        self.contact = contact
        response = log_in(self.client, f"{role}@clinic.example")
        assert response.status_code == 302
        self.user_id = session.scalar(
            select(StaffUser.id).where(StaffUser.email == f"{role}@clinic.example")
        )
        self.page = ""

    def staff_reply(self, clinic, conversation, text: str):
        """This staff member answers the simulator's chat through the service."""
        return handoff.staff_reply(
            self.session,
            clinic_id=clinic.id,
            conversation_id=conversation.id,
            now=utcnow(),
            actor=Actor.staff(self.user_id),
            text=text,
        )

    @property
    def phone(self) -> str:
        return simulator_phone(self.user_id, self.contact)

    def open(self) -> str:
        response = self.client.get(f"/admin/simulator/?contact={self.contact}")
        assert response.status_code == 200
        self.page = response.text
        return self.page

    def say(self, text: str) -> str:
        """Send like the page's form does; return the bot's reply as stored."""
        token = csrf_token(self.client, f"/admin/simulator/?contact={self.contact}")
        response = self.client.post(
            "/admin/simulator/send",
            data={"csrf_token": token, "text": text, "contact": str(self.contact)},
            follow_redirects=True,
        )
        assert response.status_code == 200
        self.page = response.text
        self.session.commit()
        self.session.expire_all()
        reply = self.session.scalars(
            select(InboundMessage.reply)
            .where(InboundMessage.from_phone == self.phone)
            .order_by(InboundMessage.id.desc())
        ).first()
        return reply or ""

    def bubbles(self) -> list[str]:
        return [
            unescape(text.replace("<br>", "\n"))
            for text in re.findall(r'<div class="message-text">(.*?)</div>', self.page, re.S)
        ]


def test_the_simulator_books_a_session_through_the_real_engine(app, session, clinic):
    sim = Simulator(app, session)
    assert "No messages yet." in sim.open()
    consent = sim.say("hi")
    assert "This is Roshni Clinic's booking assistant" in consent
    assert "2. Yes, for myself" in consent
    assert "What is your name?" in sim.say("2")
    first = sim.say("Meera Test")  # registering leads straight into the first booking
    assert "Let's book the first session" in first and "Which therapy?" in first
    reply = sim.say("1")  # Speech Therapy Session
    if "With whom?" in reply:
        reply = sim.say("1")
    assert "When would suit you?" in reply
    assert "Speech Therapy Session for Meera Test" in reply
    booked = sim.say("1")  # tapping a time books at once
    assert "✅ Booked!" in booked, booked

    appointment = session.scalar(
        select(Appointment).join(Appointment.patient).where(Appointment.clinic_id == clinic.id)
    )
    assert appointment is not None and appointment.status is AppointmentStatus.BOOKED
    contact = session.get(Contact, appointment.patient.contact_id)
    assert contact.phone == sim.phone and contact.name == "Meera Test"
    assert appointment.number in booked
    # The page is a chat: the patient's words and the bot's, in order.
    said = sim.bubbles()
    assert said[0] == "hi" and said[-1] == booked
    assert said.index("Meera Test") < said.index(booked)
    sources = set(
        session.scalars(select(InboundMessage.source).where(InboundMessage.from_phone == sim.phone))
    )
    assert sources == {MessageSource.SIMULATOR}


def test_nothing_the_clinic_sends_a_test_contact_reaches_twilio(
    app, session, clinic, sender, twilio
):
    sim = Simulator(app, session)
    sim.say("hi")
    sim.say("2")
    sim.say("Meera Test")
    assert "What would you like to do?" in sim.say("menu")
    told = sim.say("talk")  # the real clock: the clinic may be open or closed
    assert "will reply here shortly" in told or "a colleague will reply then" in told
    conversation = session.scalar(select(Conversation).where(Conversation.phone == sim.phone))
    # A staff reply to the simulator's chat, delivered by a worker that has a real sender.
    reply = sim.staff_reply(clinic, conversation, "Hi Meera, this is the front desk.")
    assert deliver(session, reply.id, now=utcnow(), sender=sender) is OutboundStatus.CANCELLED
    assert twilio.state.requests == 0 and twilio.sent == []
    row = outbox(session)[0]
    assert (row.error_code, row.body, row.provider_sid) == (
        SIMULATED,
        "Hi Meera, this is the front desk.",
        None,
    )
    sim.open()
    assert sim.bubbles()[-1] == "Hi Meera, this is the front desk."
    assert "shown in simulator" in sim.page


def test_the_simulator_shows_what_the_clinic_queued_without_any_twilio_account(
    app, session, clinic, twilio
):
    sim = Simulator(app, session)
    sim.say("hi")
    sim.say("talk")
    conversation = session.scalar(select(Conversation).where(Conversation.phone == sim.phone))
    sim.staff_reply(clinic, conversation, "We'll call you shortly.")
    sim.open()  # the page settles the test contact's due messages itself
    assert sim.bubbles()[-1] == "We'll call you shortly."
    assert [m.status for m in outbox(session)] == [OutboundStatus.CANCELLED]
    assert twilio.state.requests == 0


def test_a_reminder_for_a_simulator_booking_is_shown_not_sent_and_can_be_answered(
    app, session, clinic, sender, twilio
):
    sim = Simulator(app, session)
    for text in ("hi", "2", "Meera Test", "1"):
        reply = sim.say(text)
    if "With whom?" in reply:
        sim.say("1")
    assert "✅ Booked!" in sim.say("1")  # the first free time books at once
    for reminder in outbox(session, kind=MessageKind.REMINDER):
        status = deliver(session, reminder.id, now=reminder.due_at, sender=sender)
        assert status is OutboundStatus.CANCELLED
    assert twilio.state.requests == 0
    shown = outbox(session, kind=MessageKind.REMINDER)
    assert shown and all(m.error_code == SIMULATED for m in shown)
    assert shown[-1].body.startswith("⏰ Reminder: Meera Test has Speech Therapy Session")
    # As after a real reminder, "1" confirms the session.
    assert "see you at" in sim.say("1")


def test_staff_get_their_own_fictional_test_numbers(app, session, clinic):
    operator = Simulator(app, session, "operator")
    admin = Simulator(app, session, "admin", contact=2)
    operator.say("hi")
    admin.say("hi")
    phones = set(session.scalars(select(Conversation.phone)))
    assert phones == {operator.phone, admin.phone} and len(phones) == 2
    for user_id in (1, 42, 999):
        for slot in range(1, TEST_CONTACTS + 1):
            phone = simulator_phone(user_id, slot)
            number = phonenumbers.parse(phone)
            assert phonenumbers.is_valid_number(number), phone
            assert is_simulator_phone(phone)
            # NANP's fictional 555-0100…0199 range: nobody real has it.
            assert phone[5:10] == "55501"
    assert not is_simulator_phone("+919876543210")
    assert not is_simulator_phone("+12015550200")


def test_only_staff_who_book_may_use_the_simulator(app, session, clinic):
    for role in ("therapist", "accountant"):
        client = app.test_client()
        log_in(client, f"{role}@clinic.example")
        assert client.get("/admin/simulator/").status_code == 403
        token = csrf_token(client, "/admin/")
        refused = client.post("/admin/simulator/send", data={"csrf_token": token, "text": "hi"})
        assert refused.status_code == 403
    assert session.scalar(select(InboundMessage.id)) is None


def test_the_simulator_needs_a_message_and_the_csrf_token(app, session, clinic):
    sim = Simulator(app, session)
    response = sim.client.post("/admin/simulator/send", data={"text": "hi"})
    assert response.status_code == 400
    token = csrf_token(sim.client, "/admin/simulator/")
    sim.client.post("/admin/simulator/send", data={"csrf_token": token, "text": ""})
    assert session.scalar(select(InboundMessage.id)) is None
