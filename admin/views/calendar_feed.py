"""What the calendar page's script reads: sessions and free times as EventCalendar events.

Pure shaping of rows already loaded (no Flask, no queries), so the feed's cost stays
in ``admin.views.calendar`` where it is counted. Times go out as the clinic's wall
clock without an offset: EventCalendar shows such "floating" times as they are,
whatever zone the browser is in, and sends them back the same way when a session is
dragged (``parse_wall``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models import Appointment, AppointmentStatus
from services.scheduling.availability import Slot

WALL_FORMAT = "%Y-%m-%dT%H:%M:%S"
# The month view's six weeks and a little: a wider range is not a page anyone sees.
MAX_RANGE_DAYS = 43
ACTIVE = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED})


def parse_wall(value: str | None, zone: ZoneInfo) -> datetime | None:
    """A clinic wall-clock time sent by the page (``2026-11-24T10:00:00``), as a naive
    datetime; an instant with an offset is turned into the clinic's wall clock."""
    try:
        parsed = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone).replace(tzinfo=None)
    return parsed


def visible_days(start: str | None, end: str | None, zone: ZoneInfo, today: date) -> list[date]:
    """The clinic-local days from ``start`` up to ``end`` (exclusive), as the page asks.

    Missing or junk bounds show today's week; a reversed or too wide range is refused
    with ``ValueError`` (the feed answers 400)."""
    first, last = parse_wall(start, zone), parse_wall(end, zone)
    if first is None or last is None:
        monday = today - timedelta(days=today.weekday())
        return [monday + timedelta(days=n) for n in range(7)]
    days = (last.date() - first.date()).days + (1 if last.time() != datetime.min.time() else 0)
    if days < 1 or days > MAX_RANGE_DAYS:
        raise ValueError("range")
    return [first.date() + timedelta(days=n) for n in range(days)]


def session_event(
    appointment: Appointment,
    zone: ZoneInfo,
    *,
    url: str,
    movable: bool,
    actions: str | None = None,
) -> dict[str, Any]:
    """One session: its patient, service and status; a link to its page and, for those
    who may act on it, to its actions (the popover of session-popover.js)."""
    status = appointment.status.value
    editable = movable and appointment.status in ACTIVE
    return {
        "id": str(appointment.id),
        "resourceIds": [str(appointment.therapist_id)],
        "start": appointment.start_at.astimezone(zone).strftime(WALL_FORMAT),
        "end": appointment.end_at.astimezone(zone).strftime(WALL_FORMAT),
        "title": f"{appointment.patient.name} · {appointment.service.name}",
        "classNames": [f"cal-ev-{status}"],
        "editable": editable,
        "durationEditable": False,  # a session lasts as long as its service (see the README)
        "extendedProps": {
            "url": url,
            "actions": actions,
            "number": appointment.number,
            "status": status.replace("_", " "),
            "patient": appointment.patient.name,
            "service": appointment.service.name,
            "therapist": appointment.therapist.name,
            "payment": appointment.payment_status.value.replace("_", " "),
        },
    }


@dataclass
class _FreeStart:
    start: datetime
    end: datetime
    therapist_id: int
    location_id: int
    services: list[tuple[int, str]] = field(default_factory=list)


def free_events(
    slots_by_service: Iterable[tuple[Any, Iterable[Slot]]],
    step_minutes: int,
    book_url: Callable[[datetime, int, int, int | None], str],
) -> list[dict[str, Any]]:
    """Free starts of every service, one background event per therapist and start.

    A start free for several services lists them all; the booking form opens with the
    therapist, the time and the place filled in, and the service too when only one fits.
    """
    starts: dict[tuple[int, datetime], _FreeStart] = {}
    for service, slots in slots_by_service:
        for slot in slots:
            key = (slot.therapist_id, slot.start)
            free = starts.get(key)
            if free is None:
                end = slot.start + timedelta(minutes=step_minutes)
                free = starts[key] = _FreeStart(
                    slot.start, end, slot.therapist_id, slot.location_id
                )
            free.services.append((service.id, service.name))
    events = []
    for (therapist_id, start), free in sorted(starts.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        only = free.services[0][0] if len(free.services) == 1 else None
        events.append(
            {
                "id": f"free-{therapist_id}-{start.strftime('%Y%m%d%H%M')}",
                "resourceIds": [str(therapist_id)],
                "start": start.strftime(WALL_FORMAT),
                "end": free.end.strftime(WALL_FORMAT),
                "display": "background",
                "classNames": ["cal-ev-free"],
                "extendedProps": {
                    "book": book_url(start, therapist_id, free.location_id, only),
                    "therapist": str(therapist_id),
                    "services": [name for _, name in free.services],
                },
            }
        )
    return events
