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
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from models import Appointment, AppointmentStatus, PaymentStatus
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


class SessionRow(NamedTuple):
    """What an event shows of a session: plain columns, no ORM object (the month view of a
    busy clinic is a thousand of them; see ``SESSION_COLUMNS`` in ``admin.views.calendar``)."""

    id: int
    therapist_id: int
    start_at: datetime
    end_at: datetime
    status: AppointmentStatus
    number: str
    payment_status: PaymentStatus
    patient: str
    service: str
    therapist: str

    @classmethod
    def of(cls, appointment: Appointment) -> SessionRow:
        return cls(
            appointment.id,
            appointment.therapist_id,
            appointment.start_at,
            appointment.end_at,
            appointment.status,
            appointment.number,
            appointment.payment_status,
            appointment.patient.name,
            appointment.service.name,
            appointment.therapist.name,
        )


class IdUrl:
    """One ``url_for`` per request for a link that differs only by a session's id: the
    address is built once with a marker id, and each session's id is put in its place."""

    MARKER = 987_654_321_987

    def __init__(self, build: Callable[[int], str]) -> None:
        self.head, _, self.tail = build(self.MARKER).partition(str(self.MARKER))

    def __call__(self, appointment_id: int) -> str:
        return f"{self.head}{appointment_id}{self.tail}"


def _wall(instant: datetime, zone: ZoneInfo) -> str:
    """``WALL_FORMAT`` (isoformat to the second is the same text, and faster)."""
    return instant.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")


def session_event(
    row: SessionRow,
    zone: ZoneInfo,
    *,
    url: str,
    movable: bool,
    resizable: bool = True,
    actions: str | None = None,
) -> dict[str, Any]:
    """One session: its patient, service and status; a link to its page and, for those
    who may act on it, to its actions (the popover of session-popover.js). Those who may
    move it may also drag its end (``change_length``), where the view shows hours."""
    status = row.status.value
    editable = movable and row.status in ACTIVE
    return {
        "id": str(row.id),
        "resourceIds": [str(row.therapist_id)],
        "start": _wall(row.start_at, zone),
        "end": _wall(row.end_at, zone),
        "title": f"{row.patient} · {row.service}",
        "classNames": [f"cal-ev-{status}"],
        "editable": editable,
        "durationEditable": editable and resizable,
        "extendedProps": {
            "url": url,
            "actions": actions,
            "number": row.number,
            "status": status.replace("_", " "),
            "patient": row.patient,
            "service": row.service,
            "therapist": row.therapist,
            "payment": row.payment_status.value.replace("_", " "),
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
