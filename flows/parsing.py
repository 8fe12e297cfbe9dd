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
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Final, Literal

__all__ = [
    "MAX_INPUT_CHARS",
    "MDY_REGIONS",
    "PART_OF_DAY_WINDOWS",
    "DateOrder",
    "PartOfDay",
    "When",
    "date_order_for",
    "parse_date_of_birth",
    "parse_when",
    "when_word_kind",
    "yes_or_no",
]

log = logging.getLogger(__name__)

PartOfDay = Literal["morning", "afternoon", "evening"]

# Clinic-local [start, end) of each part of the day.
PART_OF_DAY_WINDOWS: Final[Mapping[PartOfDay, tuple[time, time]]] = MappingProxyType(
    {
        "morning": (time(8), time(12)),
        "afternoon": (time(12), time(16)),
        "evening": (time(16), time(21)),
    }
)

MAX_INPUT_CHARS: Final = 60
DateOrder = Literal["DMY", "MDY"]
DATE_ORDERS: Final = ("DMY", "MDY")
# Where numeric dates are written month first ("03/12/2019" is 12 March).
MDY_REGIONS: Final = frozenset({"US", "CA", "PH"})
# dateparser only sees inputs at most this long (after normalising) and this many tokens.
_FALLBACK_MAX_CHARS: Final = 40
_FALLBACK_MAX_TOKENS: Final = 8
_MAX_TOKENS: Final = 16
_MAX_AGE_YEARS: Final = 120


@dataclass(frozen=True, slots=True)
class When:
    """A clinic-local day and/or time and/or part of the day, as the patient said it."""

    date: date | None  # None when only a time or part of day was said ("5pm", "evening")
    time: time | None = None
    part: PartOfDay | None = None


# --- vocabulary ----------------------------------------------------------------------------

_VOCAB: dict[str, tuple[str, Any]] = {}


def _words(kind: str, value: Any, *words: str) -> None:
    for word in words:
        _VOCAB[unicodedata.normalize("NFKC", word).casefold()] = (kind, value)


# fmt: off
_words("rel", 0, "today", "tdy", "tday", "aaj", "aj", "आज")
_words(
    "rel", 1, "tomorrow", "tmrw", "tmr", "tmrow", "tmw", "tomo", "tomorow", "tommorow",
    "tommorrow", "tomorrrow", "tomm", "kal", "kall", "कल",
)
_words("rel", 2, "overmorrow", "parso", "parson", "parsoon", "parsun", "parsu", "परसों", "परसो")
_words("tonight", None, "tonight", "tonite")
for _index, _names in enumerate(
    (
        ("monday", "mon", "somvar", "somwar", "somvaar", "सोमवार"),
        ("tuesday", "tue", "tues", "mangalvar", "mangalwar", "मंगलवार"),
        ("wednesday", "wed", "weds", "budhvar", "budhwar", "budhwaar", "बुधवार"),
        ("thursday", "thu", "thur", "thurs", "guruvar", "guruwar", "veervar", "brihaspativar",
         "गुरुवार", "बृहस्पतिवार"),
        ("friday", "fri", "shukravar", "shukrawar", "shukarvar", "शुक्रवार"),
        ("saturday", "sat", "shanivar", "shaniwar", "sanivar", "शनिवार"),
        ("sunday", "sun", "ravivar", "raviwar", "itwar", "itvar", "itvaar", "रविवार", "इतवार"),
    )
):
    _words("weekday", _index, *_names)
for _index, _names in enumerate(
    (
        ("january", "jan", "जनवरी"),
        ("february", "feb", "febuary", "फ़रवरी", "फरवरी"),
        ("march", "mar", "मार्च"),
        ("april", "apr", "अप्रैल"),
        ("may", "मई"),
        ("june", "jun", "जून"),
        ("july", "jul", "जुलाई"),
        ("august", "aug", "अगस्त"),
        ("september", "sep", "sept", "सितंबर", "सितम्बर"),
        ("october", "oct", "अक्टूबर", "अक्तूबर"),
        ("november", "nov", "नवंबर", "नवम्बर"),
        ("december", "dec", "दिसंबर", "दिसम्बर"),
    ),
    start=1,
):
    _words("month", _index, *_names)
_words("part", "morning", "morning", "mrng", "morn", "mornin", "subah", "subha", "subeh", "सुबह")
_words(
    "part", "afternoon", "afternoon", "aftn", "dopahar", "dopehar", "dophar", "dopaher", "दोपहर"
)
_words(
    "part", "evening", "evening", "eve", "evng", "eveng", "shaam", "sham", "saam", "शाम",
    "night", "nite", "raat", "रात",
)
_words("next", None, "next", "nxt", "agle", "agla", "agli", "अगले", "अगला")
_words("this", None, "this", "coming", "is", "iss", "इस")
_words("meridiem", "am", "am")
_words("meridiem", "pm", "pm")
_words("oclock", None, "baje", "bje", "baj", "bajey", "bajay", "bajhe", "बजे", "oclock")
_words("noon", time(12), "noon", "midday")
_words("noon", time(0), "midnight")
_words("ordinal", None, "st", "nd", "rd", "th")
_words("at", None, "at")
_words("plus", 30, "half", "halfpast", "saade", "sade", "saadhe", "sadhe", "साढ़े")
_words("plus", 15, "quarterpast", "sava", "sawa", "savaa", "सवा")
_words("plus", -15, "quarterto", "paune", "pone", "paone", "पौने")
_words("fixed", (1, 30), "dedh", "derh", "डेढ़")
_words("fixed", (2, 30), "dhai", "dhaai", "ढाई")
for _index, _name in enumerate(
    ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
     "twelve"),
    start=1,
):
    _words("number", _index, _name)
_words("unit", 1, "day", "days", "din", "दिन")
_words("unit", 7, "week", "weeks", "wk", "wks", "hafte", "hafta", "हफ्ते", "हफ़्ते")
_words("later", None, "after", "later", "baad", "bad", "बाद")
_words(
    "filler", None, "on", "the", "of", "in", "for", "around", "about", "abt", "approx", "ok",
    "okay", "please", "pls", "plz", "maybe", "any", "anytime", "time", "ko", "ke", "ki", "ka",
    "se", "me", "mein", "mai", "pe", "ji", "sir", "madam", "mam", "maam", "को", "के", "की", "का",
    "से", "में", "पे", "जी",
)
# "I can come tomorrow", "kal chalega": words around a day that change nothing. Negations
# ("not", "can't", "nahi") are deliberately absent: an unknown word makes the message None.
_words(
    "filler", None, "i", "we", "can", "come", "will", "would", "be", "fine", "good", "great",
    "perfect", "works", "work", "suits", "best", "better", "hai", "chalega", "theek", "thik",
    "hoga", "है", "चलेगा", "ठीक",
)
# fmt: on

_TOMORROW_WORDS = frozenset(w for w, (k, v) in _VOCAB.items() if k == "rel" and v == 1)
# dateparser's Hindi reads "कल" as yesterday or tomorrow and "परसों" as two days either way: a
# message with these words is ours to understand or to refuse, never dateparser's.
_NOT_FOR_DATEPARSER = frozenset(
    unicodedata.normalize("NFKC", w) for w in ("कल", "परसों", "परसो", "kal", "kall")
)
_DIGITS = frozenset("0123456789")


def _is_number(token: str, max_digits: int = 2) -> bool:
    """``token`` is an ASCII number of at most ``max_digits`` digits."""
    return len(token) <= max_digits and token.isascii() and token.isdecimal()


# Tokens: digit groups joined by : / . - ("17:30", "25/11/2026"), ASCII words, Devanagari words
# (letters, vowel signs, virama, nukta; not the danda), and words in any other script, kept so
# that they make the message unknown instead of vanishing. Everything else separates tokens.
_TOKEN = re.compile(
    r"[0-9]+(?:[:/.\-][0-9]+)*|[a-z]+|[\u0900-\u0963\u0970-\u097f]+|[^\W_a-z0-9\u0900-\u097f]+"
)
_AM_PM_DOTTED = re.compile(r"(?<![a-z])([ap])\s?\.\s?m(?![a-z])\.?")
_TRANSLATE = {
    **{0x966 + digit: str(digit) for digit in range(10)},  # Devanagari digits
    **dict.fromkeys(map(ord, "'`\u00b4\u2018\u2019\u200b\u200c\u200d\u2060\ufeff"), None),
    ord("@"): " at ",
}
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DOTTED_PAIR = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})")
_NUMERIC_DATE = re.compile(r"([0-9]{1,2})([/.\-])([0-9]{1,2})(?:\2([0-9]{4}|[0-9]{2}))?")
_YEAR = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
_ISO_DATE = re.compile(r"([0-9]{4})([/.\-])([0-9]{1,2})\2([0-9]{1,2})")
_PHRASES: Final[dict[tuple[str, ...], str]] = {
    ("o", "clock"): "oclock",
    ("half", "past"): "halfpast",
    ("quarter", "past"): "quarterpast",
    ("quarter", "to"): "quarterto",
    ("a", "m"): "am",
    ("p", "m"): "pm",
    ("2", "moro"): "tomorrow",
    ("2", "morrow"): "tomorrow",
    ("2", "mrw"): "tomorrow",
    ("2", "nite"): "tonight",
    ("2", "night"): "tonight",
}


def _tokens(text: str, drop: str | None = None) -> list[str] | None:
    """Normalised tokens of ``text``; ``None`` when it is too long to be a date."""
    text = text.strip()
    if not text or len(text) > MAX_INPUT_CHARS:
        return None
    text = unicodedata.normalize("NFKC", text).casefold().translate(_TRANSLATE)
    text = _AM_PM_DOTTED.sub(r" \1m ", text)
    raw = _TOKEN.findall(text)
    if len(raw) > _MAX_TOKENS:
        return None
    tokens: list[str] = []
    i = 0
    while i < len(raw):
        word = raw[i]
        if i + 1 < len(raw) and (merged := _PHRASES.get((word, raw[i + 1]))):
            tokens.append(merged)
            i += 2
            continue
        if (
            word == "day"
            and i + 2 < len(raw)
            and raw[i + 1] == "after"
            and raw[i + 2] in _TOMORROW_WORDS
        ):
            tokens.append("overmorrow")
            i += 3
            continue
        if word != drop:
            tokens.append(word)
        i += 1
    return tokens


# --- resolving -----------------------------------------------------------------------------


def _day_month(first: int, second: int, date_order: str, *, lenient: bool) -> tuple[int, int]:
    """(day, month) from two numbers in ``date_order``; (0, 0) when neither order fits."""
    day, month = (first, second) if date_order == "DMY" else (second, first)
    if 1 <= month <= 12 and 1 <= day <= 31:
        return day, month
    if lenient and 1 <= day <= 12 and 1 <= month <= 31:
        return month, day
    return 0, 0


def _full_year(year: int, digits: int) -> int:
    return 2000 + year if digits == 2 else year


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_day_month(today: date, month: int, day: int) -> date | None:
    """The next ``day month`` that exists, today or later (29 Feb may be years away)."""
    for year in range(today.year, today.year + 5):
        found = _safe_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _next_day_of_month(today: date, day: int) -> date | None:
    """The next date whose day of the month is ``day``, today or later."""
    for ahead in range(13):
        year, month = divmod(today.month - 1 + ahead, 12)
        found = _safe_date(today.year + year, month + 1, day)
        if found is not None and found >= today:
            return found
    return None


def _clock(hour: int, minute: int, meridiem: str | None, literal: bool, part: str | None):
    """The clinic-local time of an hour as said; ``None`` when it is no time of day."""
    if not 0 <= minute <= 59 or not 0 <= hour <= 23:
        return None
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif literal or hour == 0 or hour >= 13:
        pass  # the 24-hour clock
    elif part in ("afternoon", "evening"):
        hour = hour if hour == 12 else hour + 12
    elif part is None and hour <= 7:
        hour += 12  # clinic hours: "5" is 5 pm, "9" is 9 am, "12" noon
    return time(hour, minute)


class _Unknown(Exception):
    """The message has words the patterns do not know: dateparser may."""


class _Reject(Exception):
    """The message is understood well enough to say it is not a usable date or time."""


class _Scan:
    """One left-to-right pass over the tokens, collecting what each one says."""

    def __init__(self, tokens: list[str], today: date, date_order: str) -> None:
        self.tokens = tokens
        self.today = today
        self.date_order = date_order
        self.dates: list[date] = []  # concrete days: today/kal/25 Nov/in 3 days ...
        self.weekday: int | None = None
        self.next_week = False
        self.clock: tuple[int, int, str | None, bool] | None = None  # hour, min, am/pm, 24h
        self.fixed_time: time | None = None
        self.part: str | None = None
        self.bare: list[int] = []
        self.later = False
        self.unit_used = False
        self.after_at = False

    # helpers ---------------------------------------------------------------------------

    def peek(self, i: int) -> str:
        return self.tokens[i] if i < len(self.tokens) else ""

    def kind(self, i: int) -> str:
        entry = _VOCAB.get(self.peek(i))
        return entry[0] if entry else ""

    def add_date(self, found: date | None) -> None:
        if found is None:
            raise _Reject
        self.dates.append(found)

    def set_clock(self, hour: int, minute: int, meridiem: str | None, literal: bool) -> None:
        if self.clock is not None or self.fixed_time is not None:
            raise _Reject
        self.clock = (hour, minute, meridiem, literal)

    def set_part(self, part: str) -> None:
        if self.part not in (None, part):
            raise _Reject
        self.part = part

    def hour_suffix(self, i: int) -> tuple[str | None, int]:
        """am/pm or baje/o'clock after an hour at ``i - 1``: (meridiem, tokens used)."""
        kind = self.kind(i)
        if kind == "meridiem":
            return _VOCAB[self.tokens[i]][1], 1
        if kind == "oclock":
            return None, 1
        return None, 0

    def hour_at(self, i: int) -> int | None:
        token = self.peek(i)
        if _is_number(token):
            return int(token)
        entry = _VOCAB.get(token)
        return entry[1] if entry and entry[0] == "number" else None

    def year_at(self, i: int) -> tuple[int | None, int]:
        token = self.peek(i)
        if len(token) == 4 and _is_number(token, 4):
            return int(token), 1
        return None, 0

    # the pass ---------------------------------------------------------------------------

    def run(self) -> When | None:
        i = 0
        while i < len(self.tokens):
            at = self.after_at
            self.after_at = False
            i = self.step(i, at)
        return self.result()

    def step(self, i: int, after_at: bool) -> int:
        token = self.tokens[i]
        entry = _VOCAB.get(token)
        if entry is None:
            if token[0] in _DIGITS:
                return self.number(i, after_at)
            raise _Unknown
        kind, value = entry
        if kind == "filler":
            return i + 1
        if kind == "at":
            self.after_at = True
            return i + 1
        if kind == "rel":
            self.add_date(self.today + timedelta(days=value))
            return i + 1
        if kind == "tonight":
            self.add_date(self.today)
            self.set_part("evening")
            return i + 1
        if kind == "weekday":
            return self.weekday_at(i, next_week=False)
        if kind == "next":
            if self.kind(i + 1) != "weekday":
                raise _Unknown  # "next week", "next month": dateparser's
            return self.weekday_at(i + 1, next_week=True)
        if kind == "this":
            following = self.kind(i + 1)
            if following == "part":
                self.add_date(self.today)
            return i + 1
        if kind == "part":
            self.set_part(value)
            return i + 1
        if kind == "month":
            return self.month_first(i, value)
        if kind == "later":
            self.later = True
            return i + 1
        return self.time_word(i, kind, value, after_at)

    def time_word(self, i: int, kind: str, value: Any, after_at: bool) -> int:
        """noon, an hour in words ("five pm"), "saade 5", "dedh"; a lone am/pm, baje,
        ordinal or unit is refused."""
        if kind == "noon":
            if self.clock is not None or self.fixed_time is not None:
                raise _Reject
            self.fixed_time = value
            return i + 1
        if kind == "number":
            hour = value
            meridiem, used = self.hour_suffix(i + 1)
            if used or after_at:
                self.set_clock(hour, 0, meridiem, False)
            else:
                self.bare.append(hour)
            return i + 1 + used
        if kind == "plus":
            hour = self.hour_at(i + 1)
            if hour is None or not 1 <= hour <= 12:
                raise _Reject
            meridiem, used = self.hour_suffix(i + 2)
            if value < 0:
                hour, minute = (hour - 1 or 12), 60 + value
            else:
                minute = value
            self.set_clock(hour, minute, meridiem, False)
            return i + 2 + used
        if kind == "fixed":
            meridiem, used = self.hour_suffix(i + 1)
            self.set_clock(*value, meridiem, False)
            return i + 1 + used
        # a lone am/pm, baje, ordinal or unit: nothing to attach it to
        raise _Reject

    def weekday_at(self, i: int, *, next_week: bool) -> int:
        weekday = _VOCAB[self.tokens[i]][1]
        if self.weekday not in (None, weekday):
            raise _Reject
        self.weekday = weekday
        self.next_week = self.next_week or next_week
        return i + 1

    def month_first(self, i: int, month: int) -> int:
        """``Nov 25``, ``november 25th, 2026``; a month alone is dateparser's."""
        day = self.peek(i + 1)
        if not _is_number(day) or self.kind(i + 2) in ("meridiem", "oclock"):
            raise _Unknown
        j = i + 2
        if self.kind(j) == "ordinal":
            j += 1
        year, used = self.year_at(j)
        self.day_month(int(day), month, year)
        return j + used

    def day_month(self, day: int, month: int, year: int | None) -> None:
        if year is None:
            self.add_date(_next_day_month(self.today, month, day))
        else:
            self.add_date(_safe_date(year, month, day))

    def number(self, i: int, after_at: bool) -> int:
        token = self.tokens[i]
        if token.isdecimal():
            if not _is_number(token):
                raise _Unknown  # "1730", "2026", phone numbers
            value = int(token)
            kind = self.kind(i + 1)
            j = i + 1
            if kind == "ordinal":
                j += 1
            ordinal = j > i + 1
            if self.peek(j) == "of" and self.kind(j + 1) == "month":
                j += 1
            if self.kind(j) == "month":
                year, used = self.year_at(j + 1)
                self.day_month(value, _VOCAB[self.tokens[j]][1], year)
                return j + 1 + used
            if ordinal:
                if not 1 <= value <= 31:
                    raise _Reject
                self.add_date(_next_day_of_month(self.today, value))
                return j
            if kind == "unit":
                self.add_date(self.today + timedelta(days=value * _VOCAB[self.tokens[i + 1]][1]))
                self.unit_used = True
                return i + 2
            if kind == "noon" and value == 12:
                return i + 1  # "12 noon", "12 midnight": the next token says it
            meridiem, used = self.hour_suffix(i + 1)
            if used or after_at:
                self.set_clock(value, 0, meridiem, False)
                return i + 1 + used
            self.bare.append(value)
            return i + 1
        if match := _CLOCK.fullmatch(token):
            meridiem, used = self.hour_suffix(i + 1)
            hour = match[1]
            self.set_clock(int(hour), int(match[2]), meridiem, len(hour) == 2 and hour[0] == "0")
            return i + 1 + used
        if match := _ISO_DATE.fullmatch(token):
            self.add_date(_safe_date(int(match[1]), int(match[3]), int(match[4])))
            return i + 1
        if match := _DOTTED_PAIR.fullmatch(token):
            return self.dotted_pair(i, match, after_at)
        if match := _NUMERIC_DATE.fullmatch(token):
            lenient = match[2] != "."
            day, month = _day_month(int(match[1]), int(match[3]), self.date_order, lenient=lenient)
            if not day:
                raise _Reject
            year = match[4] and _full_year(int(match[4]), len(match[4]))
            self.day_month(day, month, year or None)
            if self.kind(i + 1) in ("meridiem", "oclock"):
                raise _Reject  # "1-2 pm" is a range of hours, not 1 Feb
            return i + 1
        raise _Unknown

    def dotted_pair(self, i: int, match: re.Match[str], after_at: bool) -> int:
        """``25.11`` is a date, ``5.30`` a time; ``kal 10.30`` and ``10.30 am`` are times."""
        first, second = int(match[1]), int(match[2])
        as_time = len(match[2]) == 2 and first <= 23 and second <= 59
        meridiem, used = self.hour_suffix(i + 1)
        if as_time and (used or after_at or self.dates or self.weekday is not None):
            self.set_clock(first, second, meridiem, len(match[1]) == 2 and match[1][0] == "0")
            return i + 1 + used
        day, month = _day_month(first, second, self.date_order, lenient=False)
        if day:
            self.day_month(day, month, None)
            return i + 1
        if as_time:
            self.set_clock(first, second, None, False)
            return i + 1
        raise _Reject

    def result(self) -> When | None:
        if self.later and not self.unit_used:
            raise _Unknown  # "after 5pm", "later": not a day or a time
        clock, fixed = self.clock, self.fixed_time
        has_day = bool(self.dates) or self.weekday is not None
        if self.bare:
            if len(self.bare) > 1 or clock is not None or fixed is not None:
                raise _Reject
            if not has_day and self.part is None:
                return None  # a lone number is a menu choice
            if self.bare[0] == 0:
                raise _Reject
            clock = (self.bare[0], 0, None, False)
        day = self.dates[0] if self.dates else None
        if any(other != day for other in self.dates):
            raise _Reject
        if self.weekday is not None:
            if day is None:
                ahead = (self.weekday - self.today.weekday()) % 7 + (7 if self.next_week else 0)
                day = self.today + timedelta(days=ahead)
            elif day.weekday() != self.weekday:
                raise _Reject  # "Mon 24 Nov": which one?
        when_time = fixed
        if clock is not None:
            when_time = _clock(*clock, self.part)
            if when_time is None:
                raise _Reject
        if day is None and when_time is None and self.part is None:
            return None
        return When(day, when_time, self.part)


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
    if found.date() < base.date() and not _YEAR.search(text):
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
        if token in _NOT_FOR_DATEPARSER:
            return False
        if token[0] in _DIGITS:
            if max(map(len, re.split(r"[:/.\-]", token))) > 4:
                return False  # phone numbers, timestamps
            date_like = True
        elif _VOCAB.get(token, ("",))[0] in ("month", "weekday"):
            date_like = True
    return date_like


# --- public API ------------------------------------------------------------------------------


def date_order_for(region: str | None) -> DateOrder:
    """How patients of a clinic in ``region`` (its phone region, e.g. "IN", "US") write
    numeric dates: month first in ``MDY_REGIONS``, day first everywhere else. Every date a
    patient types (a booking day, a date of birth) is read in this order."""
    return "MDY" if region in MDY_REGIONS else "DMY"


# A plain yes or no, typed instead of a numbered choice ("Is that OK?", "Cancel it?").
_YES_WORDS: Final = frozenset({"yes", "ok", "okay", "haan", "han", "हाँ", "हां"})
_NO_WORDS: Final = frozenset({"no", "nahi", "nahin", "नहीं", "नही"})


def yes_or_no(text: str) -> bool | None:
    """True for a plain yes ("yes", "OK", "haan"), False for a plain no ("no", "nahi"),
    None for anything else (a number, a label, a sentence)."""
    if not isinstance(text, str):
        return None
    said = " ".join(_tokens(text) or ())
    if said in _YES_WORDS:
        return True
    if said in _NO_WORDS:
        return False
    return None


def when_word_kind(word: str) -> str | None:
    """What ``parse_when`` reads ``word`` (one casefolded token) as: "rel", "weekday", "month",
    "part", "next", "this", "meridiem", "oclock", "noon", "at", "unit", "number", "filler", ...;
    ``None`` for a word it does not know. Lets a caller find the day/time words in a sentence
    (flows.understanding) without a second word list."""
    found = _VOCAB.get(unicodedata.normalize("NFKC", word).casefold())
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
    tokens = _tokens(text, drop=zone if zone.isalpha() else None)
    if not tokens:
        return None
    try:
        return _Scan(tokens, now.date(), date_order).run()
    except _Reject:
        return None
    except _Unknown:
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
    tokens = [t for t in _tokens(text) or () if _VOCAB.get(t, ("",))[0] not in ("filler",)]
    born = _birth_date(tokens, date_order, today)
    if born is None or born > today:
        return None
    oldest = _safe_date(today.year - _MAX_AGE_YEARS, today.month, today.day) or date(
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
        if match := _ISO_DATE.fullmatch(tokens[0]):
            return _safe_date(int(match[1]), int(match[3]), int(match[4]))
        match = _NUMERIC_DATE.fullmatch(tokens[0])
        if not match or not match[4]:
            return None
        day, month = _day_month(int(match[1]), int(match[3]), date_order, lenient=True)
        return _safe_date(_birth_year(match[4], today), month, day) if day else None
    tokens = [t for t in tokens if _VOCAB.get(t, ("",))[0] != "ordinal"]
    if len(tokens) != 3 or len(tokens[2]) != 4 or not _is_number(tokens[2], 4):
        return None
    first, second = (_VOCAB.get(t, ("", None)) for t in tokens[:2])
    if first[0] == "month" and _is_number(tokens[1]):
        return _safe_date(int(tokens[2]), first[1], int(tokens[1]))
    if second[0] == "month" and _is_number(tokens[0]):
        return _safe_date(int(tokens[2]), second[1], int(tokens[0]))
    return None
