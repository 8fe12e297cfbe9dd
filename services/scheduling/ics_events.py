"""Sessions as iCalendar (RFC 5545) events: what the therapist's feed and a patient's
"add to calendar" link have in common.

Each event is at the clinic's wall-clock time with its time zone (``with_zones`` adds a
VTIMEZONE from the zone database for the span shown, so a session after a DST change
stays at its hour); a cancelled session stays in as CANCELLED so a calendar that had it
removes it; SEQUENCE rises with every change to the session. An online session's place
is its video link (LOCATION and URL).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from models import Appointment, AppointmentStatus, Clinic


def new_calendar(product: str, name: str, clinic: Clinic) -> Calendar:
    """An empty VCALENDAR named ``name`` in the clinic's zone (``product`` goes in PRODID)."""
    calendar = Calendar()
    calendar.add("prodid", f"-//Roshni//{product}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", clinic.timezone)
    return calendar


def session_event(
    appointment: Appointment,
    clinic: Clinic,
    zone: ZoneInfo,
    now: datetime,
    *,
    uid_prefix: str,
    summary: str,
) -> Event:
    """One session as a VEVENT; its UID (``<uid_prefix>-<id>@<clinic slug>.roshni``) stays
    the same for the session's life, so a calendar updates it in place."""
    event = Event()
    event.add("uid", f"{uid_prefix}-{appointment.id}@{clinic.slug}.roshni")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.start_at.astimezone(zone))
    event.add("dtend", appointment.end_at.astimezone(zone))
    event.add("summary", summary)
    event.add("description", appointment.number)  # the booking number, as the panel shows it
    location = appointment.location
    if appointment.online and appointment.video_url:
        # An online session happens at its video link: calendars make both clickable.
        event.add("location", appointment.video_url)
        event.add("url", appointment.video_url)
    elif location is not None:
        event.add("location", ", ".join(p for p in (location.name, location.address) if p))
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    changed = appointment.updated_at or appointment.created_at
    event.add("last-modified", changed)
    event.add("sequence", int(changed.timestamp()) // 60)  # rises with every change
    return event


def with_zones(calendar: Calendar, first: date, last: date) -> bytes:
    """The calendar as bytes, with the VTIMEZONE its events need for ``first``..``last``
    only (a year or so, not the zone's whole history since 1970)."""
    calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()


def span(sessions: Sequence[Appointment], zone: ZoneInfo) -> tuple[date, date]:
    """The local days from the first session's start to the last one's end, a day wider
    each side."""
    first = min(a.start_at for a in sessions).astimezone(zone).date()
    last = max(a.end_at for a in sessions).astimezone(zone).date()
    return date.fromordinal(first.toordinal() - 1), date.fromordinal(last.toordinal() + 1)
