"""Which free times to offer, and what a patient's words ask for.

Pure functions over ``Slot`` lists (no database, no turn): the booking form's
"when" question uses them to offer a few times spread over the coming days and
over morning, afternoon and evening, instead of the first quarter-hours of one
day, and to read constraints such as "after 4", "before noon" or "asap" that
``parse_when`` leaves to its caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from flows.parsing import PART_OF_DAY_WINDOWS, DateOrder, parse_when
from services.scheduling.availability import Slot

PARTS = ("morning", "afternoon", "evening")
OFFERED = 6  # options in one "when" question
PER_PART = 2  # of which at most this many per part of the day, unless a constraint narrows it
SAME_DAY_GAP = timedelta(hours=1)  # two options in one part of one day are this far apart

_EARLIEST = re.compile(
    r"\b(asap|a\.?s\.?a\.?p|earliest|soonest|as soon as possible|first available|"
    r"jaldi|jald se jald|jitna jaldi|जल्दी|जल्द से जल्द)\b"
)
# "after 4", "before 11am", "4 baje ke baad", "11 se pehle", "4 के बाद", "11 से पहले"
_AFTER = re.compile(
    r"\b(?:after|from|not before)\s+(?P<a>[\w:.]+(?:\s*(?:am|pm|baje))?)"
    r"|(?P<b>[\w:.]+(?:\s*(?:am|pm|baje))?)\s+(?:ke|se|के|से)\s+(?:baad|bad|बाद)"
)
_BEFORE = re.compile(
    r"\b(?:before|by|until|till)\s+(?P<a>[\w:.]+(?:\s*(?:am|pm|baje))?)"
    r"|(?P<b>[\w:.]+(?:\s*(?:am|pm|baje))?)\s+(?:se|ke|से|के)\s+(?:pehle|pahle|पहले)"
)


@dataclass(frozen=True)
class Wanted:
    """What the patient asked for so far: any of a day (or candidate days), a time,
    a part of the day, a window (after/before) or "the earliest"."""

    day: date | None = None
    days: tuple[date, ...] = ()
    at: time | None = None
    part: str | None = None
    after: time | None = None
    before: time | None = None
    earliest: bool = False

    @property
    def empty(self) -> bool:
        return self == Wanted()

    def admits(self, slot: Slot) -> bool:
        """Does a free slot fit the day(s), part and window asked for (not ``at``)?"""
        start = slot.start
        if self.day is not None and start.date() != self.day:
            return False
        if self.days and start.date() not in self.days:
            return False
        if self.part is not None:
            low, high = PART_OF_DAY_WINDOWS[self.part]  # type: ignore[index]
            if not low <= start.time() < high:
                return False
        if self.after is not None and start.time() < self.after:
            return False
        return not (self.before is not None and start.time() >= self.before)

    def merged(self, newer: Wanted) -> Wanted:
        """A later answer: a new day (or "asap") replaces everything; a time, part or
        window alone keeps the day asked for before ("tomorrow", then "evening")."""
        if newer.day is not None or newer.days or newer.earliest:
            return newer
        return replace(newer, day=self.day, days=self.days)

    def to_data(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat() if self.day else None,
            "days": [d.isoformat() for d in self.days],
            "at": self.at.isoformat("minutes") if self.at else None,
            "part": self.part,
            "after": self.after.isoformat("minutes") if self.after else None,
            "before": self.before.isoformat("minutes") if self.before else None,
            "earliest": self.earliest,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Wanted:
        data = data or {}

        def clock(key: str) -> time | None:
            return time.fromisoformat(data[key]) if data.get(key) else None

        return cls(
            day=date.fromisoformat(data["day"]) if data.get("day") else None,
            days=tuple(date.fromisoformat(d) for d in data.get("days") or ()),
            at=clock("at"),
            part=data.get("part"),
            after=clock("after"),
            before=clock("before"),
            earliest=bool(data.get("earliest")),
        )


def read_wanted(text: str, now: datetime, date_order: DateOrder) -> Wanted | None:
    """A typed day, time, part of the day, window or "asap"; None when the text is none
    of these."""
    lowered = text.casefold()
    earliest = bool(_EARLIEST.search(lowered))
    if earliest:
        lowered = _EARLIEST.sub(" ", lowered)
    after, lowered = _window(_AFTER, lowered, now, date_order)
    before, lowered = _window(_BEFORE, lowered, now, date_order)
    rest = " ".join(lowered.split())
    when = parse_when(rest, now, date_order=date_order) if rest else None
    if when is None and rest and not (earliest or after or before):
        return None
    wanted = Wanted(
        day=when.date if when else None,
        at=when.time if when else None,
        part=when.part if when else None,
        after=after,
        before=before,
        earliest=earliest,
    )
    return None if wanted.empty else wanted


def _window(
    pattern: re.Pattern[str], text: str, now: datetime, date_order: DateOrder
) -> tuple[time | None, str]:
    match = pattern.search(text)
    if match is None:
        return None, text
    said = match.group("a") or match.group("b")
    when = parse_when(f"at {said}", now, date_order=date_order)
    if when is None or when.time is None:
        return None, text
    return when.time, text[: match.start()] + " " + text[match.end() :]


def part_of(slot: Slot) -> str:
    clock = slot.start.time()
    if clock < PART_OF_DAY_WINDOWS["afternoon"][0]:
        return "morning"
    if clock < PART_OF_DAY_WINDOWS["evening"][0]:
        return "afternoon"
    return "evening"


def distinct_times(slots: list[Slot]) -> list[Slot]:
    """One slot per start time (the first therapist free then), in time order."""
    return sorted({slot.start: slot for slot in reversed(slots)}.values())


def spread(slots: list[Slot], limit: int = OFFERED) -> list[Slot]:
    """Up to ``limit`` of the nearest free times, spread over the parts of the day (at
    most ``PER_PART`` each when all three are free) and over distinct days where
    possible; two picks in one part of one day are at least an hour apart."""
    slots = distinct_times(slots)
    present = [p for p in PARTS if any(part_of(s) == p for s in slots)]
    if not present:
        return []
    per_part = max(PER_PART, -(-limit // len(present)))
    chosen: list[Slot] = []
    for _round in range(per_part):
        for part in present:
            if len(chosen) >= limit:
                break
            pick = _next_in_part(slots, chosen, part)
            if pick is not None:
                chosen.append(pick)
    return sorted(chosen)


def spread_settled(slots: list[Slot]) -> bool:
    """Would more free times, all later than these, leave ``spread(slots)`` unchanged?
    Yes when every part of the day is free here on as many days as ``spread`` picks from
    it: each pick (the earliest time on a day not yet used for that part) is then already
    among these, and no part is missing that later days could bring in."""
    days: dict[str, set[date]] = {part: set() for part in PARTS}
    for slot in slots:
        days[part_of(slot)].add(slot.start.date())
    per_part = max(PER_PART, -(-OFFERED // len(PARTS)))  # spread's, with every part free
    return all(len(seen) >= per_part for seen in days.values())


def _next_in_part(slots: list[Slot], chosen: list[Slot], part: str) -> Slot | None:
    taken = {s.start for s in chosen}
    pool = [s for s in slots if part_of(s) == part and s.start not in taken]
    if not pool:
        return None
    used_days = {s.start.date() for s in chosen if part_of(s) == part}
    fresh = [s for s in pool if s.start.date() not in used_days]
    if fresh:
        return fresh[0]
    for gap in (SAME_DAY_GAP, SAME_DAY_GAP / 2):
        for slot in pool:
            same_day = (c.start for c in chosen if c.start.date() == slot.start.date())
            if all(abs(slot.start - start) >= gap for start in same_day):
                return slot
    return pool[0]


def nearest(slots: list[Slot], target: datetime, count: int) -> list[Slot]:
    """The ``count`` free times nearest to ``target``, in time order."""
    ordered = sorted(distinct_times(slots), key=lambda s: (abs(s.start - target), s.start))
    return sorted(ordered[:count])


def nearest_to_clock(slots: list[Slot], wanted: time, count: int) -> list[Slot]:
    """A time said without a day ("at 5") that is nowhere free: per day, the free time
    nearest to it, for the first ``count`` days."""
    best: dict[date, Slot] = {}
    minutes = wanted.hour * 60 + wanted.minute
    for slot in distinct_times(slots):
        day = slot.start.date()
        off = abs(slot.start.hour * 60 + slot.start.minute - minutes)
        current = best.get(day)
        if current is None or off < abs(current.start.hour * 60 + current.start.minute - minutes):
            best[day] = slot
    return [best[day] for day in sorted(best)[:count]]


def same_weekly_time(slots: list[Slot], weekday: int, clock: time) -> Slot | None:
    """The first free slot on this weekday at this clock time, else the nearest one
    (same weekday first, then the closest time of day, then the soonest)."""
    if not slots:
        return None
    minutes = clock.hour * 60 + clock.minute

    def distance(slot: Slot) -> tuple[bool, int, datetime]:
        start = slot.start
        return (start.weekday() != weekday, abs(start.hour * 60 + start.minute - minutes), start)

    return min(slots, key=distance)
