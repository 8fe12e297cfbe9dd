"""The dialog engine: stored state + one inbound message + the clock → one reply.

A conversation is a row (clinic, channel, phone) holding the current state and
what has been collected so far. ``handle_turn`` locks that row, applies the
words that work anywhere (menu, help, stop, start, talk, language), restarts a
flow left idle, and hands the text to the current state's ``answer``. States
live in ``flows.onboarding``, ``flows.booking`` and ``flows.my_appointments``;
each is a pair of small functions registered with ``state()``.

Never imports Flask, never talks to a provider: the caller (``bot.receive``)
stores the message and sends the reply. All wording is in ``flows.messages``.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from core import tenancy
from core.clock import require_aware
from core.formatting import format_phone
from flows.messages import numbered, say
from models import Channel, Clinic, Contact, Conversation
from services import patients
from services.audit import Actor

IDLE_AFTER = timedelta(minutes=30)
MISSES_BEFORE_OFFER = 3
MAX_TEXT = 300  # longer messages are not read (and told so)
# States a conversation may rest in for hours: no "it's been a while" restart.
RESTING_STATES = frozenset({"new", "consent", "menu", "handoff", "reminder"})

MENU_WORDS = frozenset(
    {
        "hi",
        "hii",
        "hello",
        "hey",
        "helo",
        "menu",
        "main menu",
        "namaste",
        "namaskar",
        "home",
        "start over",
    }
)
HELP_WORDS = frozenset({"help", "info"})
TALK_WORDS = frozenset(
    {
        "talk",
        "talk to the clinic",
        "talk to clinic",
        "human",
        "agent",
        "person",
        "staff",
        "receptionist",
        "call me",
        "speak to someone",
    }
)
LANGUAGE_WORDS = frozenset({"language", "hindi", "हिंदी", "english"})
# Opt-out words follow each channel's rules: on SMS, carriers and Twilio treat all
# of these as STOP; on WhatsApp "cancel" must stay free to mean "cancel my session".
STOP_WORDS = {
    Channel.WHATSAPP: frozenset({"stop", "stopall", "unsubscribe"}),
    Channel.SMS: frozenset(
        {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
    ),
}
START_WORDS = frozenset({"start", "unstop"})
# "cancel" on WhatsApp means a session, from any state (on SMS it is an opt-out, above).
CHANGE_WORDS = {
    "cancel": frozenset(
        {"cancel", "cancel appointment", "cancel my appointment", "cancel booking"}
    ),
    "reschedule": frozenset({"reschedule", "change time", "change my appointment", "move"}),
}


@dataclass(frozen=True)
class Inbound:
    """One message as the engine sees it (the edge has verified and stored it)."""

    channel: Channel
    phone: str  # E.164
    text: str
    payload: str | None = None  # a WhatsApp button's id: same meaning as typed text
    num_media: int = 0


@dataclass(frozen=True)
class State:
    ask: Callable[[Turn], str]
    answer: Callable[[Turn, str], str]


STATES: dict[str, State] = {}


def state(name: str, *, ask: Callable[[Turn], str], answer: Callable[[Turn, str], str]) -> None:
    STATES[name] = State(ask=ask, answer=answer)


@dataclass
class Turn:
    """What a state handler works with during one message."""

    session: Session
    clinic: Clinic
    conversation: Conversation
    now: datetime  # aware, in the clinic's zone
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        contact = self.contact
        return contact.language if contact else self.clinic.language

    @property
    def contact(self) -> Contact | None:
        return self.conversation.contact

    @property
    def actor(self) -> Actor:
        contact = self.contact
        return Actor.contact(contact.id) if contact else Actor.system()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic.timezone)

    def say(self, key: str, **params: Any) -> str:
        params.setdefault("clinic", self.clinic.name)
        return say(self.lang, key, **params)

    def goto(self, name: str) -> str:
        """Move to a state and return its question."""
        self.conversation.state = name
        self.conversation.misses = 0
        return STATES[name].ask(self)

    def offer(self, prompt: str, options: list[tuple[Any, str]], hint: str | None = None) -> str:
        """Ask with numbered choices; the values are kept for the answer."""
        self.data["choices"] = [[value, label] for value, label in options]
        text = f"{prompt}\n{numbered([label for _, label in options])}"
        return f"{text}\n{hint}" if hint else text

    def pick(self, text: str) -> Any | None:
        """The value of the choice the text names: by number, or by unique words."""
        choices = self.data.get("choices") or []
        number = parse_number(text)
        if number is not None:
            return choices[number - 1][0] if 1 <= number <= len(choices) else None
        wanted = normalise(text)
        if len(wanted) < 3:
            return None
        matches = [value for value, label in choices if _label_matches(wanted, normalise(label))]
        return matches[0] if len(matches) == 1 else None

    def choice_count(self) -> int:
        return len(self.data.get("choices") or [])

    def miss(self, reask: str) -> str:
        """A reply we could not use: say what we expected; after three, offer a person."""
        self.conversation.misses += 1
        if self.conversation.misses >= MISSES_BEFORE_OFFER:
            return f"{reask}\n{self.say('three_misses')}"
        return reask


def handle_turn(
    session: Session,
    *,
    clinic: Clinic,
    conversation: Conversation,
    inbound: Inbound,
    now: datetime,
) -> str | None:
    """Run one message through the dialog. Call inside ``core.db.unit_of_work``,
    with the conversation locked by ``conversation_for_update``.

    Returns the reply, or None when the bot should stay quiet (a person is
    handling the chat, or the contact opted out of SMS).
    """
    require_aware(now, "now")
    tenancy.bind(session, clinic.id)
    turn = Turn(
        session=session,
        clinic=clinic,
        conversation=conversation,
        now=now.astimezone(ZoneInfo(clinic.timezone)),
        # A deep copy: SQLAlchemy decides whether a JSON column changed by comparing
        # old and new values, so nested dicts must never be mutated in place.
        data=copy.deepcopy(conversation.data or {}),
    )
    # State, misses and data are written once, at the end, not after every query.
    with session.no_autoflush:
        reply = _respond(turn, inbound)
    conversation.data = turn.data  # reassign: JSON columns track replacement, not mutation
    conversation.last_turn_at = now
    session.flush()
    return reply


def _respond(turn: Turn, inbound: Inbound) -> str | None:
    conversation = turn.conversation
    raw = inbound.payload or inbound.text or ""
    text = clean_text(raw)
    word = normalise(text)
    contact = turn.contact

    if contact is not None:
        patients.note_inbound(turn.session, contact=contact, channel=inbound.channel, now=turn.now)
    if word in STOP_WORDS[inbound.channel]:
        return _stop(turn, inbound.channel)
    if word in START_WORDS or (
        word == "yes" and contact is not None and contact.opted_out(inbound.channel)
    ):
        return _start(turn, inbound.channel)
    if word in HELP_WORDS:
        return _help(turn)
    if inbound.channel is Channel.SMS and contact is not None and contact.opted_out(Channel.SMS):
        return None  # carriers block replies to opted-out SMS numbers anyway
    if conversation.handoff_at is not None:
        if word in MENU_WORDS:
            conversation.handoff_at = None
            return _greet_and_menu(turn)
        return None
    if not text:
        reask = turn.say("media_only") if inbound.num_media else _reask_current(turn)
        return reask
    if len(raw) > MAX_TEXT:
        return turn.say("too_long")
    if word in TALK_WORDS:
        return hand_to_staff(turn)
    if word in LANGUAGE_WORDS:
        return turn.say("language")
    if not _consented(contact):
        if conversation.state != "consent" or word in MENU_WORDS:
            return turn.goto("consent")
        return STATES["consent"].answer(turn, text)
    if word in MENU_WORDS:
        return _greet_and_menu(turn)
    for intent, words in CHANGE_WORDS.items():
        if word in words:
            from flows.my_appointments import start_my_appointments

            turn.data.pop("booking", None)
            return start_my_appointments(turn, intent=intent)
    if (
        conversation.state not in RESTING_STATES
        and conversation.last_turn_at is not None
        and turn.now - conversation.last_turn_at > IDLE_AFTER
    ):
        turn.data.pop("booking", None)
        return f"{turn.say('restarted')}\n{turn.goto('menu')}"
    handler = STATES.get(conversation.state)
    if handler is None:  # an unknown stored state (e.g. after a release): start clean
        return turn.goto("menu")
    return handler.answer(turn, text)


def _greet_and_menu(turn: Turn) -> str:
    turn.data.pop("booking", None)
    contact = turn.contact
    if contact is None or not _consented(contact):
        return turn.goto("consent")
    if not contact.name:
        return turn.goto("ask_name")
    if not any(p.active for p in contact.patients):
        return turn.goto("ask_for_whom")
    return turn.say("greeting_name", name=contact.name.split()[0]) + turn.goto("menu")


def _reask_current(turn: Turn) -> str:
    handler = STATES.get(turn.conversation.state)
    return turn.miss(handler.ask(turn)) if handler else turn.goto("menu")


def _stop(turn: Turn, channel: Channel) -> str:
    contact = turn.contact or _contact_for(turn)
    patients.set_opt_out(
        turn.session,
        contact=contact,
        channel=channel,
        opted_out=True,
        now=turn.now,
        actor=turn.actor,
    )
    return turn.say("stopped", channel="WhatsApp" if channel is Channel.WHATSAPP else "SMS")


def _start(turn: Turn, channel: Channel) -> str:
    contact = turn.contact or _contact_for(turn)
    patients.set_opt_out(
        turn.session,
        contact=contact,
        channel=channel,
        opted_out=False,
        now=turn.now,
        actor=turn.actor,
    )
    return turn.say("started")


def _help(turn: Turn) -> str:
    phone = turn.clinic.phone
    phone_line = turn.say("help_phone", phone=format_phone(phone)) if phone else ""
    return turn.say("help", phone_line=phone_line)


def hand_to_staff(turn: Turn) -> str:
    turn.conversation.handoff_at = turn.now
    turn.conversation.state = "handoff"
    turn.data.pop("booking", None)
    return turn.say("handoff")


def _contact_for(turn: Turn) -> Contact:
    """A contact row for a number that has not consented yet (to honour STOP/START)."""
    contact = patients.find_contact(turn.session, turn.clinic.id, turn.conversation.phone)
    if contact is None:
        contact = patients.create_contact(
            turn.session,
            clinic_id=turn.clinic.id,
            phone=turn.conversation.phone,
            actor=Actor.system(),
            already_normalised=True,
        )
    turn.conversation.contact_id = contact.id
    turn.conversation.contact = contact
    return contact


def remember_reminder(
    session: Session,
    *,
    clinic_id: int,
    phone: str,
    contact_id: int,
    language: str,
    channel: Channel,
    appointment_id: int,
) -> None:
    """A reminder just went out: the contact's next "1/2/3" on that channel answers it."""
    from flows.messages import reminder_choices

    conversation = conversation_for_update(session, clinic_id, channel, phone)
    data = copy.deepcopy(conversation.data or {})
    data.pop("booking", None)
    data["reminder_id"] = appointment_id
    data["choices"] = [[value, label] for value, label in reminder_choices(language)]
    conversation.data = data
    conversation.state = "reminder"
    conversation.misses = 0
    if conversation.contact_id is None:
        conversation.contact_id = contact_id


def _consented(contact: Contact | None) -> bool:
    return contact is not None and contact.consent_at is not None


def conversation_for_update(
    session: Session, clinic_id: int, channel: Channel, phone: str
) -> Conversation:
    """The conversation row, locked until the turn commits; created on first contact.

    The lock is what makes one conversation's messages run one at a time, on any
    number of web processes.
    """
    query = (
        select(Conversation)
        .options(joinedload(Conversation.contact))  # every turn needs it: one round trip
        .where(
            Conversation.clinic_id == clinic_id,
            Conversation.channel == channel,
            Conversation.phone == phone,
        )
        .with_for_update(of=Conversation)
    )
    conversation = session.scalar(query)
    if conversation is not None:
        return conversation
    # First message: insert under a savepoint; if another process inserted the same
    # conversation a moment ago, the unique constraint says so and we lock theirs.
    contact = patients.find_contact(session, clinic_id, phone)
    try:
        with session.begin_nested():
            conversation = Conversation(
                clinic_id=clinic_id,
                channel=channel,
                phone=phone,
                contact_id=contact.id if contact else None,
                state="new",
                data={},
            )
            session.add(conversation)
    except IntegrityError:
        conversation = session.scalar(query)
        assert conversation is not None
    return conversation


# --- text helpers ----------------------------------------------------------------------

_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)
_NUMBER = re.compile(r"^\s*#?\s*(\d{1,3})\s*[.)]?\s*$")
_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}


def clean_text(text: str) -> str:
    """Drop control and direction-override characters; fold runs of white space."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _CONTROL.sub("", text)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Lowercase words only, for matching commands and labels."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def parse_number(text: str) -> int | None:
    match = _NUMBER.match(text or "")
    if match:
        return int(match.group(1))
    return _WORD_NUMBERS.get(normalise(text))


def _label_matches(wanted: str, label: str) -> bool:
    """Does the typed text name this choice? Numbers must match whole words: "10 dec"
    is not "Tue 1 Dec", however uniquely "dec" fits."""
    if wanted == label or label.startswith(wanted):
        return True
    label_words = label.split()
    if any(w.isdigit() and w not in label_words for w in wanted.split()):
        return False
    words = [w for w in wanted.split() if len(w) >= 3]
    return bool(words) and all(any(lw.startswith(w) for lw in label_words) for w in words)


# Register the states (each module calls ``state(...)`` at import).
from flows import booking, my_appointments, onboarding, payment  # noqa: E402, F401
