"""What every flow works with: the turn, the state registry and the text helpers.

A state is a pair of small functions registered with ``state(name, ask=..., answer=...)``
when its flow module is imported; ``Turn`` is what they get for one message (the
conversation row, the collected data, the clinic's clock and language). The engine
(``flows.engine``) imports the flows and runs the states; the flows import this module
and each other, never the engine.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.formatting import (
    format_day,
    format_money,
    format_span,
    format_time,
    format_weekdays,
    format_when,
)
from core.public_links import PublicLinks
from flows.parsing import DateOrder, date_order_for, parse_number
from flows.understanding import yes_or_no
from models import Clinic, Contact, Conversation, Patient
from services.audit import Actor
from services.errors import ServiceError
from services.messaging.catalogue import numbered, refusal, say
from services.people import patients
from services.scheduling.opening_hours import clinic_opening

MISSES_BEFORE_OFFER = 3
STAFF_REPLY_MINUTES = 30  # what the patient is told to expect while the clinic is open


@dataclass(frozen=True)
class State:
    ask: Callable[[Turn], str]
    answer: Callable[[Turn, str], str]


STATES: dict[str, State] = {}


def state(name: str, *, ask: Callable[[Turn], str], answer: Callable[[Turn, str], str]) -> None:
    STATES[name] = State(ask=ask, answer=answer)


@dataclass(frozen=True)
class Offered:
    """Choices a turn offered, as their numbered block appears in its reply: what lets the
    reply be sent as WhatsApp buttons or a list instead (``offer_in``)."""

    block: str  # the numbered lines, exactly as in the reply
    key: str  # ``choices_key`` of the choices it stored
    options: tuple[tuple[str, str], ...]  # (option id, label)

    @property
    def more_id(self) -> str:
        """The id of the list's "more…" row, when there are more choices than it shows."""
        return option_id(self.key, 0)


@dataclass(frozen=True)
class Offer:
    """A reply that offers choices, taken apart: the words before the choices, the
    choices (option id, label) and the words after them."""

    prompt: str
    options: tuple[tuple[str, str], ...]
    hint: str = ""
    more_id: str = ""  # the "more…" row's id (this menu's)


@dataclass(frozen=True)
class Tap:
    number: int | None  # None: "more…", or an option of an older menu
    more: bool = False  # this menu's "more…" row


# An option's id (a button's or list row's, never seen by the patient): the key of the
# choices it belongs to and its number (0: the list's "more…" row), so a tap on an
# older menu is recognised.
_OPTION_ID = re.compile(r"^c([0-9a-f]{10})\.([0-9]{1,3})$")


def choices_key(state_name: str, choices: list[list[Any]]) -> str:
    """A short fingerprint of a menu (the state and its values and labels): the same menu
    asked again has the same key, so its earlier buttons still work."""
    raw = json.dumps([state_name, choices], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:10]


def option_id(key: str, number: int) -> str:
    return f"c{key}.{number}"


def read_option_id(payload: str | None) -> tuple[str, int] | None:
    """(menu key, choice number) of a button or list row id we made, else None."""
    match = _OPTION_ID.match((payload or "").strip())
    return (match.group(1), int(match.group(2))) if match else None


@dataclass
class Turn:
    """What a state handler works with during one message."""

    session: Session
    clinic: Clinic
    conversation: Conversation
    now: datetime  # aware, in the clinic's zone
    data: dict[str, Any] = field(default_factory=dict)
    offered: list[Offered] = field(default_factory=list)  # this turn's menus, not stored
    # Called with the inbound message's id once it is stored (after the turn): what must
    # point at the message itself (a photo answering an exercise nudge).
    after_store: list[Callable[[int], None]] = field(default_factory=list)
    # Where patients' links point and the key that signs them (None: no links said).
    links: PublicLinks | None = None
    _family: tuple[int, list[Patient]] | None = field(default=None, repr=False)

    def family(self) -> list[Patient]:
        """The contact's active patients, read once per turn; a flow that adds one calls
        ``forget_family``."""
        contact = self.contact
        if contact is None:
            return []
        if self._family is None or self._family[0] != contact.id:
            self._family = (contact.id, patients.active_patients(self.session, contact))
        return self._family[1]

    def forget_family(self) -> None:
        self._family = None

    @property
    def lang(self) -> str:
        """The contact's language; before there is a contact, the one chosen or detected
        in this chat (``data["lang"]``), else the clinic's."""
        contact = self.contact
        if contact is not None:
            return contact.language
        return self.data.get("lang") or self.clinic.language

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

    @property
    def date_order(self) -> DateOrder:
        """How this clinic's patients write numeric dates ("DMY" or "MDY")."""
        return date_order_for(self.clinic.phone_region)

    def say(self, key: str, **params: Any) -> str:
        params.setdefault("clinic", self.clinic.name)
        return say(self.lang, key, **params)

    def refusal(self, error: ServiceError) -> str:
        """A service's refusal in this contact's language."""
        return refusal(self.lang, error, clinic=self.clinic.name)

    # Dates, times and money as this contact reads them (core.formatting decides how).
    def day(self, value: date) -> str:
        return format_day(value, self.lang)

    def time(self, value: time | datetime) -> str:
        return format_time(value, self.lang)

    def when(self, value: datetime) -> str:
        return format_when(value, self.clinic.timezone, self.lang)

    def weekdays(self, values: Sequence[int]) -> str:
        return format_weekdays(values, self.lang)

    def span(self, start: datetime, end: datetime) -> str:
        return format_span(start, end, self.clinic.timezone, self.lang)

    def money(self, amount_minor: int) -> str:
        return format_money(amount_minor, self.clinic.currency, short=True, lang=self.lang)

    def goto(self, name: str) -> str:
        """Move to a state and return its question."""
        self.conversation.state = name
        self.conversation.misses = 0
        return STATES[name].ask(self)

    def offer(self, prompt: str, options: list[tuple[Any, str]], hint: str | None = None) -> str:
        """Ask with numbered choices; the values are kept for the answer."""
        choices = [[value, label] for value, label in options]
        key = choices_key(self.conversation.state, choices)
        self.data["choices"] = choices
        self.data.pop("choices_shown", None)
        block = numbered([label for _, label in options])
        self.offered.append(
            Offered(
                block,
                key,
                tuple((option_id(key, n), label) for n, (_, label) in enumerate(options, 1)),
            )
        )
        text = f"{prompt}\n{block}"
        return f"{text}\n{hint}" if hint else text

    def offer_in(self, reply: str | None) -> Offer | None:
        """The choices ``reply`` ends up offering, taken apart, when they are the ones
        the conversation now holds and their block appears in it once; else None."""
        if not reply or not self.offered:
            return None
        current = self.menu_key()
        for offered in reversed(self.offered):
            if offered.key != current or reply.count(offered.block) != 1:
                continue
            before, after = reply.split(offered.block)
            return Offer(before.strip(), offered.options, after.strip(), offered.more_id)
        return None

    def more_choices(self, page: int) -> str:
        """The list's "more…" row: the next ``page`` choices after those last shown
        (from the first again after the last), numbered as in the full menu."""
        choices = self.data.get("choices") or []
        key = self.menu_key()
        shown = int(self.data.get("choices_shown") or 0) + page
        if shown >= len(choices):
            shown = 0
        self.data["choices_shown"] = shown
        rest = choices[shown:]
        block = numbered([label for _, label in rest], start=shown + 1)
        self.offered.append(
            Offered(
                block,
                key,
                tuple((option_id(key, n), label) for n, (_, label) in enumerate(rest, shown + 1)),
            )
        )
        return f"{self.say('choice_more_prompt')}\n{block}"

    def menu_key(self) -> str:
        """The key of the choices held now, in the state the conversation is in: a tapped
        option id with another key belongs to an older menu."""
        return choices_key(self.conversation.state, self.data.get("choices") or [])

    def tapped(self, payload: str | None) -> Tap | None:
        """A button or list row we made, tapped (None when the payload is not one): its
        choice number when it belongs to the menu held now, else a stale tap."""
        read = read_option_id(payload)
        if read is None:
            return None
        key, number = read
        count = self.choice_count()
        if key != self.menu_key() or not count or number > count:
            return Tap(None)
        return Tap(None, more=True) if number == 0 else Tap(number)

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

    def pick_or_yes_no(self, text: str, *, yes: Any, no: Any = None) -> Any | None:
        """``pick``, or for a plain yes ("ok", "haan") or no ("nahi") the choice it means."""
        choice = self.pick(text)
        if choice is not None:
            return choice
        answer = yes_or_no(text)
        if answer is None:
            return None
        return yes if answer else no

    def choice_count(self) -> int:
        return len(self.data.get("choices") or [])

    def miss(self, reask: str) -> str:
        """A reply we could not use: say what we expected; after three, offer a person."""
        self.conversation.misses += 1
        if self.conversation.misses >= MISSES_BEFORE_OFFER:
            return f"{reask}\n{self.say('three_misses')}"
        return reask


def hand_to_staff(turn: Turn) -> str:
    """The patient asked for a person: the chat joins the staff queue, the bot stays quiet
    until staff hand it back or the patient asks for the *menu*, and the patient is told
    who will answer and roughly when."""
    turn.conversation.handoff_at = turn.now
    turn.conversation.state = "handoff"
    turn.data.pop("booking", None)
    return reply_expectation(turn)


def reply_expectation(turn: Turn) -> str:
    """Who will answer a chat handed to staff, and roughly when, from the clinic's hours
    (in its zone): shortly while it is open, else when it next opens."""
    opening = clinic_opening(turn.session, turn.clinic, turn.now)
    if opening.open_now:
        return turn.say("handoff_open", minutes=STAFF_REPLY_MINUTES)
    if opening.opens_at is None:
        return turn.say("handoff")
    opens = opening.opens_at.astimezone(turn.zone)
    if opens.date() == turn.now.date():
        when = turn.say("opens_today", time=turn.time(opens))
    elif opens.date() == turn.now.date() + timedelta(days=1):
        when = turn.say("opens_tomorrow", time=turn.time(opens))
    else:
        when = turn.say("opens_on", day=turn.day(opens.date()), time=turn.time(opens))
    return turn.say("handoff_closed", when=when)


# --- text helpers ----------------------------------------------------------------------

_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean_text(text: str) -> str:
    """Drop control and direction-override characters; fold runs of white space."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _CONTROL.sub("", text)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Lowercase words only, for matching commands and labels."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


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
