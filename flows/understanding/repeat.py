"""A course of sessions asked for in words: "every Monday and Thursday at 5 for 8 weeks",
"weekly on Tuesdays, 10 sessions", "every other Friday", "har somvar aur guruvar 8 hafte",
"हर सोमवार और गुरुवार 5 बजे 8 हफ़्ते".

A message asks for a course when it names at least one weekday and says it repeats: an
"every" word ("every", "each", "weekly", "har", "हर") or a weekday in the plural
("Mondays"). "Fortnightly", "every other", "alternate" or "every 2 weeks" make it every
second week. Its length is a number of weeks ("8 weeks", "8 hafte"), of months (four
weeks each) or of sessions ("10 sessions", "10 baar"); without one the dialog asks.
The time of day is the message's time, read as any other (``flows.understanding.when``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.when_words import VOCAB

_EVERY = frozenset({"every", "each", "weekly", "har", "हर", "प्रत्येक", "pratyek", "hr"})
_SECOND = frozenset({"fortnightly", "alternate", "other", "second", "biweekly"})
_SESSIONS = frozenset(
    {"session", "sessions", "class", "classes", "times", "visits", "baar", "bar", "सेशन", "बार"}
)
_MONTHS = frozenset({"month", "months", "mahina", "mahine", "mahino", "महीना", "महीने", "महीनों"})
_HINDI_NUMBERS = {
    "ek": 1, "do": 2, "teen": 3, "char": 4, "chaar": 4, "paanch": 5, "panch": 5, "chhe": 6,
    "che": 6, "saat": 7, "aath": 8, "ath": 8, "nau": 9, "das": 10, "barah": 12,
    "एक": 1, "दो": 2, "तीन": 3, "चार": 4, "पांच": 5, "पाँच": 5, "छह": 6, "सात": 7, "आठ": 8,
    "नौ": 9, "दस": 10, "बारह": 12,
}  # fmt: skip
MAX_WEEKS = 104


@dataclass(frozen=True)
class Repeat:
    """The course's shape as said: weekdays (0 = Monday), every how many weeks, and its
    length in weeks or in sessions (neither when the message did not say)."""

    weekdays: tuple[int, ...]
    every_weeks: int = 1
    weeks: int | None = None
    sessions: int | None = None
    # Positions of the words that said how long or how often ("8 weeks", "every 2
    # weeks"): not a day or a time of day.
    used: frozenset[int] = frozenset()

    def to_data(self) -> dict[str, Any]:
        return {
            "weekdays": list(self.weekdays),
            "every_weeks": self.every_weeks,
            "weeks": self.weeks,
            "sessions": self.sessions,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Repeat:
        return cls(
            weekdays=tuple(data["weekdays"]),
            every_weeks=int(data.get("every_weeks") or 1),
            weeks=data.get("weeks"),
            sessions=data.get("sessions"),
        )

    def session_count(self) -> int | None:
        """How many sessions the course has: as said, or its weeks' worth of weekdays."""
        if self.sessions is not None:
            return self.sessions
        if self.weeks is None:
            return None
        return max(1, -(-self.weeks // self.every_weeks)) * len(self.weekdays)


def _weekday(word: str) -> int | None:
    for candidate in (word, word[:-1] if word.endswith("s") else None):
        if candidate and VOCAB.get(candidate, ("", None))[0] == "weekday":
            return int(VOCAB[candidate][1])
    return None


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    kind, value = VOCAB.get(word, ("", None))
    if kind == "number":
        return int(value)
    return _HINDI_NUMBERS.get(word)


def _is_plural_weekday(word: str) -> bool:
    return word.endswith("s") and _weekday(word) is not None and _weekday(word[:-1]) is not None


def read_repeat(words: tuple[str, ...], raw: tuple[str, ...] = ()) -> Repeat | None:
    """The course ``words`` (folded tokens, typos corrected) ask for, or None when they
    ask for no course. A weekday in the plural (in ``raw``, the words as written) makes
    a course only with a length: "Tuesdays, 10 sessions", not "can you do Mondays?"."""
    days = tuple(sorted({d for w in words if (d := _weekday(w)) is not None}))
    if not days:
        return None
    repeats = any(w in _EVERY for w in words)
    every_weeks = 1
    if any(w in _SECOND for w in words) or "fortnight" in words:
        every_weeks, repeats = 2, True
    weeks = sessions = None
    used: set[int] = set()
    for i, word in enumerate(words[:-1]):
        count = _number(word)
        if count is None or count < 1:
            continue
        unit = words[i + 1]
        if VOCAB.get(unit) == ("unit", 7):
            if i > 0 and words[i - 1] in _EVERY:  # "every 2 weeks": how often, not how long
                every_weeks, repeats = min(count, 4), True
            else:
                weeks = min(count, MAX_WEEKS)
        elif unit in _MONTHS:
            weeks = min(4 * count, MAX_WEEKS)
        elif unit in _SESSIONS:
            sessions = min(count, MAX_WEEKS)
        else:
            continue
        used.update((i, i + 1))
    if not repeats and (weeks or sessions):
        repeats = any(_is_plural_weekday(w) for w in raw)
    if not repeats:
        return None
    return Repeat(days, every_weeks, weeks, sessions, frozenset(used))
