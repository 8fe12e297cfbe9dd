"""Resolving a message's tokens into a :class:`~flows.when_words.When`: the scanner
behind ``flows.parsing.parse_when`` (its rules are documented there).
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Any

from flows.when_words import (
    CLOCK,
    DIGITS,
    DOTTED_PAIR,
    ISO_DATE,
    NUMERIC_DATE,
    VOCAB,
    When,
    is_number,
)

# --- resolving -----------------------------------------------------------------------------


def numeric_day_month(
    first: int, second: int, date_order: str, *, lenient: bool
) -> tuple[int, int]:
    """(day, month) from two numbers in ``date_order``; (0, 0) when neither order fits."""
    day, month = (first, second) if date_order == "DMY" else (second, first)
    if 1 <= month <= 12 and 1 <= day <= 31:
        return day, month
    if lenient and 1 <= day <= 12 and 1 <= month <= 31:
        return month, day
    return 0, 0


def _full_year(year: int, digits: int) -> int:
    return 2000 + year if digits == 2 else year


def safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_day_month(today: date, month: int, day: int) -> date | None:
    """The next ``day month`` that exists, today or later (29 Feb may be years away)."""
    for year in range(today.year, today.year + 5):
        found = safe_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _next_day_of_month(today: date, day: int) -> date | None:
    """The next date whose day of the month is ``day``, today or later."""
    for ahead in range(13):
        year, month = divmod(today.month - 1 + ahead, 12)
        found = safe_date(today.year + year, month + 1, day)
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


class Unknown(Exception):
    """The message has words the patterns do not know: dateparser may."""


class Reject(Exception):
    """The message is understood well enough to say it is not a usable date or time."""


class Scan:
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
        entry = VOCAB.get(self.peek(i))
        return entry[0] if entry else ""

    def add_date(self, found: date | None) -> None:
        if found is None:
            raise Reject
        self.dates.append(found)

    def set_clock(self, hour: int, minute: int, meridiem: str | None, literal: bool) -> None:
        if self.clock is not None or self.fixed_time is not None:
            raise Reject
        self.clock = (hour, minute, meridiem, literal)

    def set_part(self, part: str) -> None:
        if self.part not in (None, part):
            raise Reject
        self.part = part

    def hour_suffix(self, i: int) -> tuple[str | None, int]:
        """am/pm or baje/o'clock after an hour at ``i - 1``: (meridiem, tokens used)."""
        kind = self.kind(i)
        if kind == "meridiem":
            return VOCAB[self.tokens[i]][1], 1
        if kind == "oclock":
            return None, 1
        return None, 0

    def hour_at(self, i: int) -> int | None:
        token = self.peek(i)
        if is_number(token):
            return int(token)
        entry = VOCAB.get(token)
        return entry[1] if entry and entry[0] == "number" else None

    def year_at(self, i: int) -> tuple[int | None, int]:
        token = self.peek(i)
        if len(token) == 4 and is_number(token, 4):
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
        entry = VOCAB.get(token)
        if entry is None:
            if token[0] in DIGITS:
                return self.number(i, after_at)
            raise Unknown
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
                raise Unknown  # "next week", "next month": dateparser's
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
                raise Reject
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
                raise Reject
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
        raise Reject

    def weekday_at(self, i: int, *, next_week: bool) -> int:
        weekday = VOCAB[self.tokens[i]][1]
        if self.weekday not in (None, weekday):
            raise Reject
        self.weekday = weekday
        self.next_week = self.next_week or next_week
        return i + 1

    def month_first(self, i: int, month: int) -> int:
        """``Nov 25``, ``november 25th, 2026``; a month alone is dateparser's."""
        day = self.peek(i + 1)
        if not is_number(day) or self.kind(i + 2) in ("meridiem", "oclock"):
            raise Unknown
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
            self.add_date(safe_date(year, month, day))

    def number(self, i: int, after_at: bool) -> int:
        token = self.tokens[i]
        if token.isdecimal():
            if not is_number(token):
                raise Unknown  # "1730", "2026", phone numbers
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
                self.day_month(value, VOCAB[self.tokens[j]][1], year)
                return j + 1 + used
            if ordinal:
                if not 1 <= value <= 31:
                    raise Reject
                self.add_date(_next_day_of_month(self.today, value))
                return j
            if kind == "unit":
                self.add_date(self.today + timedelta(days=value * VOCAB[self.tokens[i + 1]][1]))
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
        if match := CLOCK.fullmatch(token):
            meridiem, used = self.hour_suffix(i + 1)
            hour = match[1]
            self.set_clock(int(hour), int(match[2]), meridiem, len(hour) == 2 and hour[0] == "0")
            return i + 1 + used
        if match := ISO_DATE.fullmatch(token):
            self.add_date(safe_date(int(match[1]), int(match[3]), int(match[4])))
            return i + 1
        if match := DOTTED_PAIR.fullmatch(token):
            return self.dotted_pair(i, match, after_at)
        if match := NUMERIC_DATE.fullmatch(token):
            lenient = match[2] != "."
            day, month = numeric_day_month(
                int(match[1]), int(match[3]), self.date_order, lenient=lenient
            )
            if not day:
                raise Reject
            year = match[4] and _full_year(int(match[4]), len(match[4]))
            self.day_month(day, month, year or None)
            if self.kind(i + 1) in ("meridiem", "oclock"):
                raise Reject  # "1-2 pm" is a range of hours, not 1 Feb
            return i + 1
        raise Unknown

    def dotted_pair(self, i: int, match: re.Match[str], after_at: bool) -> int:
        """``25.11`` is a date, ``5.30`` a time; ``kal 10.30`` and ``10.30 am`` are times."""
        first, second = int(match[1]), int(match[2])
        as_time = len(match[2]) == 2 and first <= 23 and second <= 59
        meridiem, used = self.hour_suffix(i + 1)
        if as_time and (used or after_at or self.dates or self.weekday is not None):
            self.set_clock(first, second, meridiem, len(match[1]) == 2 and match[1][0] == "0")
            return i + 1 + used
        day, month = numeric_day_month(first, second, self.date_order, lenient=False)
        if day:
            self.day_month(day, month, None)
            return i + 1
        if as_time:
            self.set_clock(first, second, None, False)
            return i + 1
        raise Reject

    def result(self) -> When | None:
        if self.later and not self.unit_used:
            raise Unknown  # "after 5pm", "later": not a day or a time
        clock, fixed = self.clock, self.fixed_time
        has_day = bool(self.dates) or self.weekday is not None
        if self.bare:
            if len(self.bare) > 1 or clock is not None or fixed is not None:
                raise Reject
            if not has_day and self.part is None:
                return None  # a lone number is a menu choice
            if self.bare[0] == 0:
                raise Reject
            clock = (self.bare[0], 0, None, False)
        day = self.dates[0] if self.dates else None
        if any(other != day for other in self.dates):
            raise Reject
        if self.weekday is not None:
            if day is None:
                ahead = (self.weekday - self.today.weekday()) % 7 + (7 if self.next_week else 0)
                day = self.today + timedelta(days=ahead)
            elif day.weekday() != self.weekday:
                raise Reject  # "Mon 24 Nov": which one?
        when_time = fixed
        if clock is not None:
            when_time = _clock(*clock, self.part)
            if when_time is None:
                raise Reject
        if day is None and when_time is None and self.part is None:
            return None
        return When(day, when_time, self.part)
