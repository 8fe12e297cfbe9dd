"""Clinic wall clock ⇄ instants: the one place a naive clinic-local time meets its zone.

A form's ``datetime-local`` input, a rule's "09:00" and a report's "this day" are wall-clock
times in the clinic's zone; the database and the services hold aware instants. Two wall-clock
times need a rule of their own:

- **a gap** (spring forward: 01:30 in London on the last Sunday of March never happens) moves
  to the first real instant after the gap (02:00 BST), so a window still closes and a typed
  time still books;
- **a fold** (fall back: 01:30 happens twice) is read as its first occurrence (``fold=0``,
  the earlier instant, still on summer time).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_SECOND = timedelta(seconds=1)


def zone_of(timezone: str | ZoneInfo) -> ZoneInfo:
    return timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)


def exists(wall: datetime, timezone: str | ZoneInfo) -> bool:
    """Whether a naive clinic wall-clock time happens at all (False inside a DST gap)."""
    zone = zone_of(timezone)
    value = wall.replace(tzinfo=zone, fold=0)
    return value.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall.replace(fold=0)


def from_wall(wall: datetime, timezone: str | ZoneInfo) -> datetime:
    """Naive clinic wall-clock time → aware, in the clinic's zone (gap and fold as above)."""
    zone = zone_of(timezone)
    value = wall.replace(tzinfo=zone, fold=0)
    if exists(wall, zone):
        return value
    # In a gap, fold=1 reads the wall clock with the later offset (an instant before the
    # change) and fold=0 with the earlier one (an instant after it): the change lies between.
    # Zone changes fall on whole seconds: search them between the two.
    before = value.replace(fold=1).astimezone(UTC).replace(microsecond=0)
    after = value.astimezone(UTC).replace(microsecond=0)
    offset = before.astimezone(zone).utcoffset()
    while after - before > _SECOND:
        middle = before + _SECOND * ((after - before) // _SECOND // 2)
        if middle.astimezone(zone).utcoffset() == offset:
            before = middle
        else:
            after = middle
    return after.astimezone(zone)


def to_utc(wall: datetime, timezone: str | ZoneInfo) -> datetime:
    """Naive clinic wall-clock time → aware UTC instant."""
    return from_wall(wall, timezone).astimezone(UTC)


def to_wall(instant: datetime, timezone: str | ZoneInfo) -> datetime:
    """Aware instant → naive clinic wall-clock time (for a ``datetime-local`` input)."""
    return instant.astimezone(zone_of(timezone)).replace(tzinfo=None)


def at(day: date, t: time, timezone: str | ZoneInfo) -> datetime:
    """A clinic-local day and time as an aware datetime; ``time.max`` is the next midnight."""
    if t == time.max:
        return from_wall(datetime.combine(day + timedelta(days=1), time.min), timezone)
    return from_wall(datetime.combine(day, t), timezone)


def local_midnight(day: date, timezone: str | ZoneInfo) -> datetime:
    """The UTC instant a clinic-local day begins (a midnight in a gap: the first real instant)."""
    return to_utc(datetime.combine(day, time.min), timezone)


def month_of(day: date) -> tuple[date, date]:
    """The calendar month ``day`` falls in: its first and last day."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)
