"""What the understanding step takes (a clinic's and a contact's vocabulary) and returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Final

from flows.parsing import When
from flows.understanding.repeat import Repeat
from services.clinics.answers import TOPICS as TOPICS  # what the clinic's data answers

INTENTS: Final = (
    "book",
    "my_appointments",
    "cancel",
    "reschedule",
    "pay",
    "question",
    "talk",
    "running_late",
    "greeting",
    "thanks",
    "yes",
    "no",
    "language",
    "stop",
    "start",
    "help",
    "menu",
    "other",
)
GENDERS: Final = ("female", "male")
LANGUAGES: Final = ("en", "hi", "hinglish")


@dataclass(frozen=True)
class Named:
    """A service or a patient the message may name: its id, its name and other names for it."""

    id: int
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Therapist:
    id: int
    name: str
    gender: str | None = None  # "female" | "male" | None (not recorded)


@dataclass(frozen=True)
class Vocabulary:
    """What this clinic and this contact make recognisable. Hashable: the matchers built
    from it are cached by it."""

    services: tuple[Named, ...] = ()
    therapists: tuple[Therapist, ...] = ()
    patients: tuple[Named, ...] = ()  # the contact's own patients (children / self)
    date_order: str = "DMY"


@dataclass(frozen=True)
class Understanding:
    """One inbound text, understood. A bare number ("2", "option 2", "२") is intent "other"
    with ``choice`` set: what the number means depends on the question asked, which is the
    dialog's business, not this layer's."""

    intent: str  # one of INTENTS
    topic: str | None  # for intent "question": one of TOPICS, None if not recognised
    language: str | None  # "en" | "hi" (Devanagari) | "hinglish" | None (digits, emoji)
    choice: int | None  # the message is just a number
    service_ids: tuple[int, ...] = ()
    therapist_ids: tuple[int, ...] = ()
    therapist_gender: str | None = None
    patient_ids: tuple[int, ...] = ()
    for_self: bool = False
    for_child: bool = False
    when: When | None = None  # the day/time words in the text, read by flows.parsing
    after: time | None = None
    before: time | None = None
    earliest: bool = False
    days: tuple[date, ...] = ()  # candidate days ("tomorrow or Wednesday", "next week")
    reference: str | None = None  # an appointment number, APT-2026-000042
    anything: bool = False  # "any", "koi bhi", "कोई भी": any of the offered choices will do
    # A course asked for ("every Monday and Thursday at 5 for 8 weeks"): its shape; the
    # time of day is ``when.time``.
    repeat: Repeat | None = None
    score: float = 0.0  # the winning intent's evidence (0 for "other")
    # The whole message is one word or phrase of the intent ("stop", "haan ji", "👍"), not a
    # cue inside a sentence: what an opt-out or a global command should require.
    whole: bool = False
    evidence: tuple[str, ...] = ()  # why: the words and examples that decided the intent
