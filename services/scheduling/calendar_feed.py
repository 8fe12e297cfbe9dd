"""A therapist's sessions as a calendar feed (iCalendar, RFC 5545) that Google Calendar,
Apple Calendar and Outlook subscribe to by a private link.

The link carries a random secret; only its SHA-256 is stored, so the database never
holds a working link, and a new link (or stopping the feed) ends the old one at once.
The feed holds the therapist's sessions from ``DAYS_BACK`` days ago to ``DAYS_AHEAD``
ahead, each at the clinic's wall-clock time with its time zone (a VTIMEZONE from the
zone database, so a session after a DST change stays at its hour); a cancelled session
stays in as CANCELLED so a calendar that had it removes it. An event names the
service and the patient's first name and initial only: the feed ends up on a phone
and in a calendar provider's hands. An online session's place is its video link
(LOCATION and URL).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from models import Appointment, AppointmentStatus, Clinic, Therapist
from services import audit
from services.audit import Actor
from services.errors import N_, ServiceError
from services.locks import lock_in_clinic

DAYS_BACK = 30
DAYS_AHEAD = 180
REFRESH = timedelta(hours=1)  # how often a calendar is asked to fetch it again


class FeedRefused(ServiceError):
    code = "feed_refused"
    template = "%(detail)s"


def issue_feed(
    session: Session, *, clinic_id: int, therapist_id: int, now: datetime, actor: Actor
) -> str:
    """A new secret for the therapist's feed (the old link stops working); returned once."""
    token = secrets.token_urlsafe(32)
    with write_transaction(session):
        therapist = _own_therapist(session, clinic_id, therapist_id, actor)
        replaced = therapist.calendar_token_hash is not None
        therapist.calendar_token_hash = _digest(token)
        therapist.calendar_issued_at = require_aware(now, "now")
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="therapist.calendar_feed_issue",
            entity=therapist,
            after={"replaced": replaced},
        )
    return token


def stop_feed(session: Session, *, clinic_id: int, therapist_id: int, actor: Actor) -> bool:
    """The feed's link stops working; False when there was none."""
    with write_transaction(session):
        therapist = _own_therapist(session, clinic_id, therapist_id, actor)
        if therapist.calendar_token_hash is None:
            return False
        therapist.calendar_token_hash = None
        therapist.calendar_issued_at = None
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="therapist.calendar_feed_stop",
            entity=therapist,
            after={"stopped": True},
        )
    return True


def therapist_for_feed(session: Session, token: str) -> Therapist | None:
    """The active therapist whose feed the secret opens, or None."""
    if not token or len(token) > 100:
        return None
    return session.scalar(
        select(Therapist).where(
            Therapist.calendar_token_hash == _digest(token), Therapist.active.is_(True)
        )
    )


def feed_calendar(session: Session, therapist: Therapist, *, now: datetime) -> bytes:
    """The therapist's sessions around ``now`` as an iCalendar document."""
    now = require_aware(now, "now")
    clinic = session.get(Clinic, therapist.clinic_id)
    assert clinic is not None
    zone = ZoneInfo(clinic.timezone)
    sessions = session.scalars(
        select(Appointment)
        .where(
            Appointment.clinic_id == clinic.id,
            Appointment.therapist_id == therapist.id,
            Appointment.start_at >= now - timedelta(days=DAYS_BACK),
            Appointment.start_at < now + timedelta(days=DAYS_AHEAD),
        )
        .options(
            joinedload(Appointment.patient),
            joinedload(Appointment.service),
            joinedload(Appointment.location),
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    calendar = Calendar()
    calendar.add("prodid", "-//Roshni//Therapist sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{clinic.name}: {therapist.name}")
    calendar.add("x-wr-timezone", clinic.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for appointment in sessions:
        calendar.add_component(_event(appointment, clinic, zone, now))
    # The zone's rules for the feed's span only (a year or so, not since 1970).
    calendar.add_missing_timezones(
        first_date=(now - timedelta(days=DAYS_BACK + 1)).date(),
        last_date=(now + timedelta(days=DAYS_AHEAD + 1)).date(),
    )
    return calendar.to_ical()


def _event(appointment: Appointment, clinic: Clinic, zone: ZoneInfo, now: datetime) -> Event:
    event = Event()
    event.add("uid", f"appointment-{appointment.id}@{clinic.slug}.roshni")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.start_at.astimezone(zone))
    event.add("dtend", appointment.end_at.astimezone(zone))
    event.add("summary", f"{appointment.service.name} · {_short_name(appointment.patient.name)}")
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


def _short_name(name: str | None) -> str:
    """ "Aarav S." from "Aarav Sharma": enough for the therapist, little for anyone else."""
    parts = (name or "").split()
    if not parts:
        return "patient"
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."


def _own_therapist(session: Session, clinic_id: int, therapist_id: int, actor: Actor) -> Therapist:
    therapist = lock_in_clinic(session, Therapist, clinic_id, therapist_id, what=N_("therapist"))
    if not actor.is_staff or therapist.staff_user_id != actor.id:
        raise FeedRefused(detail=N_("A calendar feed is made by the therapist it belongs to."))
    return therapist


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
