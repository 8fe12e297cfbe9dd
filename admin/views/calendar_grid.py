"""The calendar's layout: which sessions and free starts go in which cell.

Pure arithmetic on rows already loaded, no Flask and no queries, so the page's
cost stays in ``admin.views.calendar`` where it can be counted. Rows are
wall-clock steps of the clinic's day in its own zone; columns are days (a week)
or therapists (a day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.formatting import format_time
from models import Appointment, AppointmentStatus, Location, Service, Therapist
from services.scheduling.availability import Slot

MINUTES_PER_DAY = 24 * 60
DEFAULT_HOURS = (9 * 60, 18 * 60)  # shown when nobody in view has weekly hours

# Bootstrap 4 alert colours, so the theme needs no stylesheet of ours.
STATUS_CLASS = {
    AppointmentStatus.BOOKED: "alert-primary",
    AppointmentStatus.CONFIRMED: "alert-success",
    AppointmentStatus.COMPLETED: "alert-secondary",
    AppointmentStatus.NO_SHOW: "alert-warning",
    AppointmentStatus.CANCELLED: "alert-light",
    AppointmentStatus.REQUESTED: "alert-info",  # held, awaiting the desk's approval
}
PAYMENT_BADGE = {
    "unpaid": ("badge-danger", "unpaid"),
    "pending": ("badge-warning", "payment pending"),
    "partially_paid": ("badge-warning", "part paid"),
    "paid": ("badge-success", "paid"),
    "refunded": ("badge-secondary", "refunded"),
}


@dataclass
class Scope:
    """What the page shows: which days, whose sessions, free times for which service."""

    view: str  # "week" or "day"
    day: date  # the day asked for; a week starts on the Monday of its week
    therapist: Therapist | None
    location: Location | None
    service: Service | None = None
    hide_free: bool = False  # the user chose not to see free times
    show_cancelled: bool = False

    @property
    def days(self) -> list[date]:
        if self.view == "day":
            return [self.day]
        monday = self.day - timedelta(days=self.day.weekday())
        return [monday + timedelta(days=n) for n in range(7)]

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query-string values for a link to this page with some of them changed."""
        values: dict[str, Any] = {"view": self.view, "date": self.day.isoformat()}
        if self.therapist is not None:
            values["therapist"] = self.therapist.id
        elif self.location is not None:
            values["location"] = self.location.id
        if self.service is not None:
            values["service"] = self.service.id
        elif self.hide_free:
            values["service"] = "none"
        if self.show_cancelled:
            values["cancelled"] = 1
        values.update(changes)
        if "therapist" in changes:
            values.pop("location", None)
        if "location" in changes:
            values.pop("therapist", None)
        return {k: v for k, v in values.items() if v is not None}


@dataclass
class FreeStart:
    start: datetime  # in the clinic's zone
    therapist_ids: list[int]
    location_id: int


@dataclass
class Cell:
    events: list[Appointment] = field(default_factory=list)
    covered: bool = False  # inside a session that started in an earlier row
    free: list[FreeStart] = field(default_factory=list)


@dataclass
class Column:
    day: date
    therapist: Therapist | None
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Grid:
    columns: list[Column]
    rows: list[time]


def build_grid(
    scope: Scope,
    columns: list[Column],
    appointments: Iterable[Appointment],
    slots: Iterable[Slot],
    windows: Iterable[tuple[int, int]],
    zone: ZoneInfo,
    step: int,
) -> Grid:
    """Place sessions and free starts in step-sized rows of their column.

    The rows cover the working hours in view and every session shown, so nothing
    booked outside the usual hours falls off the page.
    """
    by_day = scope.view == "week"
    by_key = {c.day if by_day else c.therapist.id if c.therapist else None: c for c in columns}
    placed: list[tuple[Column, datetime, int, int, Appointment | Slot]] = []
    for a in appointments:
        local = a.start_at.astimezone(zone)
        column = by_key.get(local.date() if by_day else a.therapist_id)
        if column is not None:
            end = _minutes(a.end_at.astimezone(zone), column.day)
            placed.append((column, local, _minutes(local, column.day), end, a))
    for slot in slots:
        column = by_key.get(slot.start.date() if by_day else slot.therapist_id)
        if column is not None:
            minute = _minutes(slot.start, column.day)
            placed.append((column, slot.start, minute, minute + 1, slot))

    windows = list(windows)
    starts = [s for s, _ in windows] + [p[2] for p in placed]
    ends = [e for _, e in windows] + [p[3] for p in placed]
    first, last = (min(starts), max(ends)) if starts else DEFAULT_HOURS
    first -= first % 60  # rows start on the hour, then follow the clinic's step
    last = max(min(last, MINUTES_PER_DAY), first + step)
    rows = [time(m // 60, m % 60) for m in range(first, last, step)]
    for column in columns:
        column.cells = [Cell() for _ in rows]

    for column, local, start_min, end_min, item in placed:
        row = min((start_min - first) // step, len(rows) - 1)
        cell = column.cells[row]
        if isinstance(item, Appointment):
            cell.events.append(item)
            if item.status is not AppointmentStatus.CANCELLED:
                for later in column.cells[row + 1 : (end_min - 1 - first) // step + 1]:
                    later.covered = True
            continue
        same = next((f for f in cell.free if f.start == local), None)
        if same is None:
            cell.free.append(FreeStart(local, [item.therapist_id], item.location_id))
        elif item.therapist_id not in same.therapist_ids:
            same.therapist_ids.append(item.therapist_id)
    return Grid(columns=columns, rows=rows)


def working_windows(scope: Scope, hours: Iterable[Any]) -> list[tuple[int, int]]:
    """(start, end) minutes of the weekly hours in view: the scope's therapist or location."""
    weekdays = {d.weekday() for d in scope.days}
    return [
        (_minute_of(h.start_time), _minute_of(h.end_time))
        for h in hours
        if h.weekday in weekdays
        and (scope.therapist is None or h.therapist_id == scope.therapist.id)
        and (scope.location is None or h.location_id == scope.location.id)
    ]


def day_therapists(
    scope: Scope,
    therapists: Iterable[Therapist],
    hours: Iterable[Any],
    appointments: Iterable[Appointment],
    slots: Iterable[Slot],
) -> list[Therapist]:
    """A day's columns: the therapist in view, or everyone working or booked there that day."""
    if scope.therapist is not None:
        return [scope.therapist]
    booked = {a.therapist_id for a in appointments}
    working = {
        h.therapist_id
        for h in hours
        if h.weekday == scope.day.weekday()
        and (scope.location is None or h.location_id == scope.location.id)
    } | {s.therapist_id for s in slots}
    # Someone who has left still shows on a day they had sessions.
    return [t for t in therapists if t.id in booked or (t.active and t.id in working)]


def span_label(start: datetime, end: datetime) -> str:
    """``10:00–10:45 am``: the meridiem once when both ends share it."""
    first, last = format_time(start), format_time(end)
    return f"{first[:-3] if first[-2:] == last[-2:] else first}–{last}"


def _minutes(local: datetime, day: date) -> int:
    """Minutes after the column day's midnight, clamped to that day."""
    if local.date() < day:
        return 0
    if local.date() > day:
        return MINUTES_PER_DAY
    return local.hour * 60 + local.minute


def _minute_of(value: time) -> int:
    return MINUTES_PER_DAY if value == time.max else value.hour * 60 + value.minute
