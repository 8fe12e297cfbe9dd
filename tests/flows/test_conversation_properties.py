"""Whatever a patient types, in whatever order, the bot stays consistent.

A hypothesis state machine drives two chats with the seeded demo clinic: one on
WhatsApp, one on SMS (different phone numbers), sharing one clock. Its rules
send menu numbers, the words patients really use (free text such as "after 4" or
"asap" too), junk (random text, emoji,
control characters, very long messages), short scripted walks towards a
booking, and let time pass (including the 30-minute idle restart). After every
inbound message and every step it checks, from the database:

* the turn raised nothing, stored the message once, and answered with exactly
  one non-empty reply, unless the bot is allowed to stay quiet: a person has
  the chat (``Conversation.handoff_at`` set before and after the turn) or the
  contact opted out on SMS;
* every stored ``Conversation.state`` is a state ``flows.engine`` knows;
* every ``Conversation.data`` is JSON-serialisable;
* no two active appointments of one therapist overlap unless they share an
  ``overlap_key`` (seats of one group session).

SQLite only: the machine builds its own migrated SQLite file once per module
and empties it before each example (PostgreSQL's race guarantees are covered by
tests/scheduling/test_concurrency.py and tests/flows/test_conversation_race.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import migrate
from core.db import Database
from flows.engine import STATES
from models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Clinic,
    Contact,
    Conversation,
    InboundMessage,
)
from roshni.demo import DEMO_CLINICS, seed_clinic
from tests.chat import Chat
from tests.conftest import NOW, empty_tables

PHONES = ("+919876543210", "+919876543211")
CHANNELS = (Channel.WHATSAPP, Channel.SMS)

WORDS = (
    "hi",
    "menu",
    "book",
    "cancel",
    "my appointments",
    "help",
    "talk",
    "stop",
    "start",
    "tomorrow 5pm",
    "kal shaam",
    "tomorrow evening",
    "after 4",
    "before noon",
    "asap",
    "25 Nov",
    "monday",
    "Asha Verma",
    "12/03/2019",
    "yes",
    "no",
    # free text the understanding step reads anywhere in the chat
    "book OT for Aarav tomorrow at 11",
    "mere bete Aarav ke liye kal shaam speech therapy chahiye",
    "what's the fee?",
    "where is the clinic",
    "is there a lift for a wheelchair?",
    "running 10 minutes late",
    "thank you 🙏",
    "haan ji",
    "हिंदी",
    "English",
    "cancel Aarav's session tomorrow",
    "my name is Farida Khan",
    "Aarav and Anaya",
)
ODD_TEXTS = (
    "",
    "   ",
    "😀",
    "🙏🏽👍🏽😀😀",
    "x" * 301,
    "long " * 2_000,
    "\u202eevil\u202c text",
    "\x00\x07\x1b[31mred",
    "'; DROP TABLE appointment; --",
    "{clinic} {0} %s %(name)s",
    "1\u200b",
    "١",  # Arabic-Indic digit one
)
chats = st.sampled_from(range(len(PHONES)))
junk = st.one_of(
    st.text(max_size=12),
    st.sampled_from(ODD_TEXTS),
    st.text(st.characters(categories=["Cc", "Cf", "Zs"]), max_size=8),
    st.text(st.sampled_from("😀🙏🏽👍🌼\u200d"), min_size=1, max_size=6),
    st.integers(301, 3_000).map(lambda n: "x" * n),
)
waits = st.one_of(
    st.sampled_from([1, 29, 31, 45, 90, 60 * 24]),
    st.integers(min_value=1, max_value=3 * 24 * 60),
)


class ConversationMachine(RuleBasedStateMachine):
    database: Database  # set by the module fixture below

    def __init__(self) -> None:
        super().__init__()
        empty_tables(self.database)
        self.session: Session = self.database.session()
        seed_clinic(self.session, DEMO_CLINICS[0], admin_password=None)
        self.session.commit()
        clinic = self.session.scalar(select(Clinic).where(Clinic.slug == "roshni"))
        assert clinic is not None
        self.clock = NOW
        self.chats = [
            Chat(self.session, clinic, phone=phone, channel=channel, now=NOW)
            for phone, channel in zip(PHONES, CHANNELS, strict=True)
        ]

    def teardown(self) -> None:
        self.session.close()
        empty_tables(self.database)

    # --- sending ---------------------------------------------------------------------

    def send(self, index: int, text: str) -> None:
        chat = self.chats[index]
        chat.now = max(chat.now, self.clock)  # one clock for both chats
        quiet_before, stored_before, _ = self.observe(chat)

        receipt = chat.send(text)  # an exception here fails the example
        self.clock = chat.now

        quiet_after, stored_after, last_reply = self.observe(chat)
        assert not receipt.duplicate
        assert stored_after == stored_before + 1, "each inbound is stored exactly once"
        assert last_reply == receipt.reply, "the stored reply is the one we gave"
        if receipt.reply is None:
            assert quiet_before and quiet_after, (
                f"no reply to {text!r} although nobody else has the chat:\n{chat.dump()}"
            )
        else:
            assert isinstance(receipt.reply, str)
            assert receipt.reply.strip(), f"empty reply to {text!r}:\n{chat.dump()}"
            assert "Traceback" not in receipt.reply

    def observe(self, chat: Chat) -> tuple[bool, int, str | None]:
        """From the database: may the bot stay quiet on this chat (a person has it, or
        its contact opted out on SMS), how many messages are stored, the last reply."""
        with self.database.session_scope() as s:
            conversation = s.scalar(
                select(Conversation).where(
                    Conversation.channel == chat.channel, Conversation.phone == chat.phone
                )
            )
            contact = s.scalar(select(Contact).where(Contact.phone == chat.phone))
            handed_over = conversation is not None and conversation.handoff_at is not None
            sms_opted_out = (
                chat.channel is Channel.SMS
                and contact is not None
                and contact.sms_opted_out_at is not None
            )
            messages = select(InboundMessage).where(
                InboundMessage.from_phone == chat.phone, InboundMessage.channel == chat.channel
            )
            stored = s.scalar(select(func.count()).select_from(messages.subquery()))
            last = s.scalar(messages.order_by(InboundMessage.id.desc()).limit(1))
            return handed_over or sms_opted_out, stored, last.reply if last else None

    # --- rules -----------------------------------------------------------------------

    @rule(index=chats, number=st.sampled_from(["1", "2", "3", "4", "5", "6"]))
    def send_a_menu_number(self, index: int, number: str) -> None:
        self.send(index, number)

    @rule(index=chats, word=st.sampled_from(WORDS))
    def send_a_word(self, index: int, word: str) -> None:
        self.send(index, word)

    @rule(index=chats, text=junk)
    def send_junk(self, index: int, text: str) -> None:
        self.send(index, text)

    @rule(minutes=waits)
    def let_time_pass(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)
        for chat in self.chats:
            chat.wait(max(self.clock - chat.now, timedelta(0)))

    @rule(index=chats, child=st.booleans())
    def register(self, index: int, child: bool) -> None:
        """Consent, name and the first patient (a no-op detour once registered)."""
        script = ["hi", "1", "Asha Verma", "Aarav", "12/03/2019"]  # 1: yes, for my child
        for text in script if child else ["hi", "yes", "Ravi Kumar", "1"]:
            self.send(index, text)

    @rule(
        index=chats,
        service=st.sampled_from(["1", "2", "3", "4", "5"]),
        therapist=st.sampled_from(["1", "2"]),
        day=st.sampled_from(
            [
                "1",
                "2",
                "3",
                "tomorrow",
                "25 Nov",
                "friday",
                "monday",
                "sunday",
                "kal shaam",
                "tomorrow evening",
                "after 4",
                "asap",
            ]
        ),
        time=st.sampled_from(["1", "2", "3", "9am", "5pm", "8pm"]),
        confirm=st.sampled_from(["1", "yes", "2", "no", None]),
    )
    def walk_towards_a_booking(
        self, index: int, service: str, therapist: str, day: str, time: str, confirm: str | None
    ) -> None:
        """Menu → book → (same as last time?) service → (patient) → (therapist) → when →
        (a time of that day) → confirm: each step a number or free text."""
        for text in ["menu", "1", service, therapist, day, time]:
            self.send(index, text)
        if confirm is not None:
            self.send(index, confirm)

    @rule(
        index=chats,
        which=st.sampled_from(["1", "2"]),
        action=st.sampled_from(["1", "2", "3", "reschedule", "cancel"]),
        then=st.lists(
            st.sampled_from(["1", "2", "yes", "no", "thursday 4pm", "27 nov 9am", "friday"]),
            max_size=3,
        ),
    )
    def manage_my_appointments(self, index: int, which: str, action: str, then: list[str]) -> None:
        """Menu → my appointments → one of them → reschedule / cancel / back → …"""
        for text in ["menu", "2", which, action, *then]:
            self.send(index, text)

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def states_data_and_diary_are_consistent(self) -> None:
        """Known states, JSON data, and no therapist in two sessions at once (seats of
        one group session share an ``overlap_key`` and may overlap)."""
        with self.database.session_scope() as s:
            for conversation in s.scalars(select(Conversation)):
                assert conversation.state in STATES, conversation.state
                json.dumps(conversation.data, allow_nan=False)
            active = list(
                s.scalars(
                    select(Appointment).where(Appointment.status.in_(AppointmentStatus.active()))
                )
            )
        for i, a in enumerate(active):
            for b in active[i + 1 :]:
                if a.therapist_id == b.therapist_id and (
                    a.start_at < b.end_at and b.start_at < a.end_at
                ):
                    assert a.overlap_key == b.overlap_key, f"{a.number} overlaps {b.number}"


@pytest.fixture(scope="module", autouse=True)
def _machine_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    url = f"sqlite:///{tmp_path_factory.mktemp('properties') / 'roshni.db'}"
    migrate.upgrade(url)
    database = Database(url)
    ConversationMachine.database = database
    try:
        yield
    finally:
        database.dispose()


TestAnyMessageSequenceKeepsTheBotAnsweringAndTheDiaryConsistent = ConversationMachine.TestCase
TestAnyMessageSequenceKeepsTheBotAnsweringAndTheDiaryConsistent.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
