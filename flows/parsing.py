"""Free-text dates and times from chat messages: "kal shaam", "25 nov at 4:45 pm", "next mon".

``parse_when(text, now)`` reads what a patient types when the bot asks for a day or a time and
returns a :class:`When` (a clinic-local date and/or time and/or part of the day), or ``None``
when the message is not a date or time. ``now`` is an aware datetime in the clinic's zone; the
results are naive clinic-local ``date`` and ``time`` objects.

Rules (all case-insensitive; punctuation, emoji and extra spaces are ignored):

* Days: ``today``/``aaj``/``आज``; ``tomorrow``/``tmrw``/``tmr``/``kal``/``कल`` (always
  tomorrow: in a booking "kal" is the future); ``day after tomorrow``/``parso``/``परसों``;
  ``tonight`` (today, evening); ``in 3 days``/``3 din baad``; ``in 2 weeks``.
* Weekdays (``monday``/``mon``/``somvar``/``सोमवार`` ...): a weekday name, alone or with
  ``this``/``coming``, is its next occurrence *counting today*, so "monday" said on a Monday is
  today. ``next monday`` (``agle somvar``) is always seven days after that: said on a Monday it is
  a week today, said on a Saturday it is nine days ahead, not the day after tomorrow.
* Dates: ``25 Nov``, ``Nov 25``, ``25th of november``, ``25/11``, ``25-11``, ``25.11``,
  ``25/11/2026``, ``25/11/26``, ``2026-11-25``; ``25th``/``the 25th`` is the next day 25 (today or
  later). Numeric dates follow ``date_order`` ("DMY" default, "MDY" for US clinics): "05/09" is
  5 Sep in DMY and 9 May in MDY; when only the other order gives a valid date ("25/11" in MDY)
  that reading is taken. A date without a year is its next occurrence, today or later ("5 Jan"
  in November is next January); a date with a year is returned even when past (the booking layer
  refuses it). A weekday next to a date must agree with it ("Mon 23 Nov"), otherwise ``None``.
* Times: ``5pm``, ``5 pm``, ``5 p.m.``, ``17:30``, ``5:30``, ``5.30 pm``, ``noon``, ``midnight``,
  ``at 5``, ``5 baje``, ``5 o'clock``, ``half past 5``, ``quarter to 5``, ``saade 5`` (5:30),
  ``sava 5`` (5:15), ``paune 5`` (4:45), ``dedh``, ``dhai``. An hour without am/pm follows clinic
  hours: 1-7 is pm, 8-11 am, 12 noon, 13-23 is the 24-hour clock; a zero-padded ``07:30`` is read
  as the 24-hour clock; with a part of the day, the part decides ("shaam 5" is 17:00, "subah 9"
  is 09:00). ``25.11`` is a date and ``5.30`` a time: a dotted pair is a time after a day
  ("kal 10.30"), before am/pm, or when it is no valid date.
* Parts of the day: ``morning``/``subah``, ``afternoon``/``dopahar``, ``evening``/``shaam``,
  ``night``/``raat`` (= evening; the clinic's day ends at 21:00); see ``PART_OF_DAY_WINDOWS``.
  ``this evening``/``aaj shaam`` carry today's date; ``evening`` alone carries no date.
* A number on its own ("1", "2", "25") is ``None``: the chat uses numbers for menu choices. It is
  read as an hour only next to a day, a part of the day, ``at``, ``baje`` or ``o'clock``.
* The clinic's own zone abbreviation ("IST", "GMT", "BST", from ``now``) is ignored; inputs
  longer than ``MAX_INPUT_CHARS`` are ``None``.

Anything the patterns above do not cover goes to ``dateparser``, but only when it is short and
looks like a date (a digit, a month or a weekday name), through ``DateDataParser``
(see ``_dateparser_fallback``). Nothing here touches the network.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Final, Literal

from flows.when_scan import Reject, Scan, Unknown, numeric_day_month, safe_date
from flows.when_words import (
    DIGITS,
    ISO_DATE,
    MAX_INPUT_CHARS,
    NOT_FOR_DATEPARSER,
    NUMERIC_DATE,
    PART_OF_DAY_WINDOWS,
    VOCAB,
    YEAR,
    PartOfDay,
    When,
    is_number,
    split_tokens,
)

__all__ = [
    "MAX_INPUT_CHARS",
    "MDY_REGIONS",
    "PART_OF_DAY_WINDOWS",
    "DateOrder",
    "PartOfDay",
    "When",
    "date_order_for",
    "parse_date_of_birth",
    "parse_number",
    "parse_when",
    "when_word_kind",
]

log = logging.getLogger(__name__)

DateOrder = Literal["DMY", "MDY"]
DATE_ORDERS: Final = ("DMY", "MDY")
# Where numeric dates are written month first ("03/12/2019" is 12 March).
MDY_REGIONS: Final = frozenset({"US", "CA", "PH"})
# dateparser only sees inputs at most this long (after normalising) and this many tokens.
_FALLBACK_MAX_CHARS: Final = 40
_FALLBACK_MAX_TOKENS: Final = 8
_MAX_AGE_YEARS: Final = 120


# --- dateparser fallback ---------------------------------------------------------------------

_PARTS_FROM_DATEPARSER: Final[Mapping[str, PartOfDay]] = MappingProxyType(
    {"morning": "morning", "afternoon": "afternoon", "evening": "evening", "night": "evening"}
)
_FALLBACK_SETTINGS: Final = MappingProxyType(
    {
        "PREFER_DATES_FROM": "future",
        "PREFER_LOCALE_DATE_ORDER": False,
        "RETURN_TIME_AS_PERIOD": True,
        # No unix timestamps ("1700000000") and no glued digits ("20261125").
        "PARSERS": ["relative-time", "absolute-time"],
    }
)


def _dateparser_fallback(text: str, now: datetime, date_order: str) -> When | None:
    """dateparser's reading of a short, date-like ``text`` (PLATFORM.md, "dateparser (1.5)").

    ``RELATIVE_BASE`` (the naive clinic-local ``now``) and ``DATE_ORDER`` differ per call
    and dateparser takes settings only in its constructor, so each call builds its own
    ``DateDataParser``: about 12 µs once dateparser's language data is loaded (it caches
    that itself, on first use), which is what the PLATFORM.md advice about a shared
    parser protects. No ``TIMEZONE`` setting; a zone named in the text ("5pm UTC")
    comes back aware and is converted to the clinic's zone.
    """
    from dateparser.date import DateDataParser  # slow to import, rarely needed

    base = now.replace(tzinfo=None)
    try:
        parser = DateDataParser(
            languages=["en", "hi"],
            settings={**_FALLBACK_SETTINGS, "RELATIVE_BASE": base, "DATE_ORDER": date_order},
        )
        data = parser.get_date_data(text)
    except Exception as exc:  # a third-party parser on patient text: never break a chat
        # The type only: an exception's message could quote the patient's words.
        log.warning("dateparser fallback failed: %s", type(exc).__name__)
        return None
    found = data.date_obj
    if found is None or data.period not in ("day", "time", "part_of_day"):
        return None  # "next week", "december": not a day
    if found.tzinfo is not None:
        found = found.astimezone(now.tzinfo).replace(tzinfo=None)
    if found.date() < base.date() and not YEAR.search(text):
        return None  # "wed after 4" came back as 4 Nov: only a year makes the past meant
    if data.period == "part_of_day":
        part = _PARTS_FROM_DATEPARSER.get(getattr(data.part_of_day, "value", ""))
        return When(found.date(), None, part)
    if data.period == "time":
        return When(found.date(), found.time().replace(second=0, microsecond=0))
    return When(found.date())


def _looks_like_a_date(tokens: list[str]) -> bool:
    """Worth dateparser's time: short, with a digit or a month or weekday name."""
    if len(tokens) > _FALLBACK_MAX_TOKENS or len(" ".join(tokens)) > _FALLBACK_MAX_CHARS:
        return False
    date_like = False
    for token in tokens:
        if token in NOT_FOR_DATEPARSER:
            return False
        if token[0] in DIGITS:
            if max(map(len, re.split(r"[:/.\-]", token))) > 4:
                return False  # phone numbers, timestamps
            date_like = True
        elif VOCAB.get(token, ("",))[0] in ("month", "weekday"):
            date_like = True
    return date_like


# --- public API ------------------------------------------------------------------------------


def date_order_for(region: str | None) -> DateOrder:
    """How patients of a clinic in ``region`` (its phone region, e.g. "IN", "US") write
    numeric dates: month first in ``MDY_REGIONS``, day first everywhere else. Every date a
    patient types (a booking day, a date of birth) is read in this order."""
    return "MDY" if region in MDY_REGIONS else "DMY"


# A plain yes or no, typed instead of a numbered choice ("Is that OK?", "Cancel it?").
_NUMBER: Final = re.compile(r"^\s*#?\s*(\d{1,3})\s*[.)]?\s*$")
_WORD_NUMBERS: Final = {
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


def parse_number(text: str) -> int | None:
    """A menu choice typed as a number: "2", "2.", "#2", "2)" or a word up to "ten"."""
    match = _NUMBER.match(text or "")
    if match:
        return int(match.group(1))
    return _WORD_NUMBERS.get(" ".join(re.sub(r"[^\w\s]", " ", (text or "").casefold()).split()))


def when_word_kind(word: str) -> str | None:
    """What ``parse_when`` reads ``word`` (one casefolded token) as: "rel", "weekday", "month",
    "part", "next", "this", "meridiem", "oclock", "noon", "at", "unit", "number", "filler", ...;
    ``None`` for a word it does not know. Lets a caller find the day/time words in a sentence
    (flows.understanding) without a second word list."""
    found = VOCAB.get(unicodedata.normalize("NFKC", word).casefold())
    return found[0] if found else None


def _check(date_order: str) -> None:
    if date_order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {DATE_ORDERS}, not {date_order!r}")


def parse_when(text: str, now: datetime, *, date_order: str = "DMY") -> When | None:
    """The day and/or time in a chat message, or ``None``; see the module docstring."""
    _check(date_order)
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime in the clinic's zone")
    if not isinstance(text, str):
        return None
    zone = (now.tzname() or "").casefold()
    tokens = split_tokens(text, drop=zone if zone.isalpha() else None)
    if not tokens:
        return None
    try:
        return Scan(tokens, now.date(), date_order).run()
    except Reject:
        return None
    except Unknown:
        if _looks_like_a_date(tokens):
            return _dateparser_fallback(" ".join(tokens), now, date_order)
        return None


def parse_date_of_birth(text: str, today: date, *, date_order: str = "DMY") -> date | None:
    """A date of birth: ``12/03/2019``, ``12-03-2019``, ``12.3.2019``, ``12 March 2019``,
    ``March 12 2019``, ``2019-03-12``. Numbers follow ``date_order`` (DMY by default; when only
    the other order is valid it is taken); two-digit years are the latest year not in the
    future. ``None`` for anything else, a future date or one more than 120 years ago.
    """
    _check(date_order)
    if not isinstance(text, str):
        return None
    tokens = [t for t in split_tokens(text) or () if VOCAB.get(t, ("",))[0] not in ("filler",)]
    born = _birth_date(tokens, date_order, today)
    if born is None or born > today:
        return None
    oldest = safe_date(today.year - _MAX_AGE_YEARS, today.month, today.day) or date(
        today.year - _MAX_AGE_YEARS, 3, 1
    )
    return born if born >= oldest else None


def _birth_year(year: str, today: date) -> int:
    if len(year) == 4:
        return int(year)
    century = today.year // 100 * 100
    value = century + int(year)
    return value if value <= today.year else value - 100


def _birth_date(tokens: list[str], date_order: str, today: date) -> date | None:
    if len(tokens) == 1:
        if match := ISO_DATE.fullmatch(tokens[0]):
            return safe_date(int(match[1]), int(match[3]), int(match[4]))
        match = NUMERIC_DATE.fullmatch(tokens[0])
        if not match or not match[4]:
            return None
        day, month = numeric_day_month(int(match[1]), int(match[3]), date_order, lenient=True)
        return safe_date(_birth_year(match[4], today), month, day) if day else None
    tokens = [t for t in tokens if VOCAB.get(t, ("",))[0] != "ordinal"]
    if len(tokens) != 3 or len(tokens[2]) != 4 or not is_number(tokens[2], 4):
        return None
    first, second = (VOCAB.get(t, ("", None)) for t in tokens[:2])
    if first[0] == "month" and is_number(tokens[1]):
        return safe_date(int(tokens[2]), first[1], int(tokens[1]))
    if second[0] == "month" and is_number(tokens[0]):
        return safe_date(int(tokens[2]), second[1], int(tokens[0]))
    return None
