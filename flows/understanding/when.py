"""Days and times inside a sentence: the spans ``parse_when`` should read, and the constraints
around them ("after 4", "5 baje se pehle", "between 3 and 5", "after school"), and the phrases
that name several days ("this weekend", "next week", "tomorrow or Wednesday").

``parse_when`` reads a short phrase and refuses unknown words, so it is fed only the runs of
words it knows (days, times, parts of the day and its fillers) that no lexicon phrase used up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from flows.parsing import When, parse_when, when_word_kind
from flows.understanding.scan import Found

_CORE = frozenset({"rel", "tonight", "weekday", "part", "noon", "fixed", "plus"})
_MODIFIER = frozenset(
    {"next", "this", "meridiem", "oclock", "ordinal", "at", "unit", "number", "later"}
)
_NUMBER = re.compile(r"[0-9]{1,2}(?::[0-9]{2}|\.[0-9]{2})?")
_DIGITS = re.compile(r"[0-9]")
_HOUR_RANGE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})")


@dataclass
class Times:
    """What the day/time words of one message say."""

    when: When | None = None
    days: tuple[date, ...] = ()
    after: time | None = None
    before: time | None = None
    used: set[int] = field(default_factory=set)  # token positions read as a constraint


def _clock(phrase: str, now: datetime, date_order: str) -> time | None:
    """The time of day in a short phrase ("4", "4:30 pm", "5 baje", "noon")."""
    for text in (phrase, f"at {phrase}"):
        found = parse_when(text, now, date_order=date_order)
        if found is not None and found.time is not None and found.date is None:
            return found.time
    return None


def _clock_from(words: tuple[str, ...], i: int) -> int:
    """How many words from ``i`` on make a clock ("4", "4 pm", "4:30 baje", "noon")."""
    if i >= len(words):
        return 0
    kind = when_word_kind(words[i])
    if kind == "noon":
        return 1
    if not (_NUMBER.fullmatch(words[i]) or kind == "number"):
        return 0
    if i + 1 < len(words) and when_word_kind(words[i + 1]) in ("meridiem", "oclock"):
        return 2
    return 1


def _clock_before(words: tuple[str, ...], end: int) -> int:
    """How many words just before ``end`` make a clock ("4", "4 baje", "5 pm")."""
    size = 0
    if end - 1 >= 0 and when_word_kind(words[end - 1]) in ("meridiem", "oclock"):
        size = 1
    start = end - size - 1
    if start < 0:
        return 0
    if _NUMBER.fullmatch(words[start]) or when_word_kind(words[start]) in ("number", "noon"):
        return size + 1
    return 0


def _hour_ranges(words, now: datetime, order: str, out: Times) -> None:
    """ "4-6 pm", "3-5 baje": a range of hours is after the first and before the second."""
    for i, word in enumerate(words[:-1]):
        match = _HOUR_RANGE.fullmatch(word)
        suffix = words[i + 1]
        if match and when_word_kind(suffix) in ("meridiem", "oclock"):
            low = _clock(f"{match[1]} {suffix}", now, order)
            high = _clock(f"{match[2]} {suffix}", now, order)
            if low is not None and high is not None and low < high:
                out.after, out.before = low, high
                out.used.update((i, i + 1))


def _constraints(words, found: list[Found], now: datetime, order: str, out: Times) -> None:
    _hour_ranges(words, now, order, out)
    for item in found:
        for hit in item.hits:
            if hit.kind == "named":
                side, clock = hit.value
                setattr(out, side, time.fromisoformat(clock))
            elif hit.kind in ("after", "before"):
                size = _clock_from(words, item.end)
                if size:
                    value = _clock(" ".join(words[item.end : item.end + size]), now, order)
                    if value is not None:
                        setattr(out, hit.kind, value)
                        out.used.update(range(item.end, item.end + size))
            elif hit.kind in ("after_suffix", "before_suffix"):
                size = _clock_before(words, item.start)
                if size:
                    phrase = " ".join(words[item.start - size : item.start])
                    value = _clock(phrase, now, order)
                    if value is not None:
                        setattr(out, hit.kind.removesuffix("_suffix"), value)
                        out.used.update(range(item.start - size, item.start))
            elif hit.kind == "between":
                first = _clock_from(words, item.end)
                joiner = item.end + first
                if first and joiner < len(words) and words[joiner] in ("and", "to", "-", "aur"):
                    second = _clock_from(words, joiner + 1)
                    low = _clock(" ".join(words[item.end : joiner]), now, order)
                    high = _clock(" ".join(words[joiner + 1 : joiner + 1 + second]), now, order)
                    if second and low is not None and high is not None:
                        out.after, out.before = low, high
                        out.used.update(range(item.end, joiner + 1 + second))


def _named_days(rule: str, today: date) -> tuple[date, ...]:
    monday = today - timedelta(days=today.weekday())
    if rule == "this_week":
        return tuple(today + timedelta(days=n) for n in range(7 - today.weekday()))
    if rule == "next_week":
        return tuple(monday + timedelta(days=7 + n) for n in range(7))
    saturday = monday + timedelta(days=5 + (7 if rule == "next_weekend" else 0))
    return tuple(d for d in (saturday, saturday + timedelta(days=1)) if d >= today)


@lru_cache(maxsize=8192)
def _kind(word: str) -> str | None:
    """How a word takes part in a day/time span: "core", "modifier", "bridge" or None."""
    if _DIGITS.match(word):
        return "core"
    kind = when_word_kind(word)
    if kind in _CORE:
        return "core"
    if kind == "month":
        return "month"
    if kind in _MODIFIER:
        return "modifier"
    if kind == "filler":
        return "bridge"
    return None


def _spans(words: tuple[str, ...], used: set[int]) -> list[list[str]]:
    spans: list[list[str]] = []
    current: list[tuple[str, str]] = []

    def close() -> None:
        while current and current[-1][1] == "bridge":
            current.pop()
        while current and current[0][1] == "bridge":
            current.pop(0)
        kinds = {kind for _, kind in current}
        if "core" in kinds or ("month" in kinds and len(current) > 1):
            spans.append([word for word, _ in current])
        current.clear()

    for i, word in enumerate(words):
        kind = None if i in used else _kind(word)
        if kind is None:
            close()
        else:
            current.append((word, kind))
    close()
    return spans


def _read(span: list[str], now: datetime, order: str) -> list[When]:
    found = parse_when(" ".join(span), now, date_order=order)
    if found is not None:
        return [found]
    # Fillers may join two readings that do not go together ("tomorrow i can come 5"):
    # read the pieces between them one by one.
    pieces: list[list[str]] = [[]]
    for word in span:
        if _kind(word) == "bridge":
            pieces.append([])
        else:
            pieces[-1].append(word)
    if len(pieces) == 1:
        return []
    out = []
    for piece in pieces:
        if piece and (reading := parse_when(" ".join(piece), now, date_order=order)):
            out.append(reading)
    return out


def _merge(readings: list[When]) -> tuple[When | None, tuple[date, ...]]:
    dates = tuple(dict.fromkeys(r.date for r in readings if r.date is not None))
    clock = next((r.time for r in readings if r.time is not None), None)
    part = next((r.part for r in readings if r.part is not None), None)
    if not readings:
        return None, ()
    if len(dates) > 1:  # alternatives: the days are candidates, the time applies to each
        if clock is None and part is None:
            return None, dates
        return When(None, clock, part), dates
    return When(dates[0] if dates else None, clock, part), dates


def read_times(words: tuple[str, ...], found: list[Found], now: datetime, date_order: str) -> Times:
    out = Times()
    _constraints(words, found, now, date_order, out)
    named: list[date] = []
    for item in found:
        for hit in item.hits:
            if hit.kind == "days":
                named.extend(_named_days(str(hit.value), now.date()))
    used = set(out.used)
    for item in found:
        # A topic or a question word may hold a day ("open on sunday"): the day still counts.
        if any(hit.kind not in ("topic", "marker") for hit in item.hits) or item.names:
            used.update(range(item.start, item.end))
    readings: list[When] = []
    for span in _spans(words, used):
        readings.extend(_read(span, now, date_order))
    out.when, dates = _merge(readings)
    out.days = tuple(dict.fromkeys([*dates, *named]))
    return out
