"""A therapist's sessions as a calendar feed (iCalendar, RFC 5545) that Google Calendar,
Apple Calendar and Outlook subscribe to by a private link.

The link carries a random secret; only its SHA-256 is stored, so the database never
holds a working link, and a new link (or stopping the feed) ends the old one at once.
The feed holds the therapist's sessions from ``DAYS_BACK`` days ago to ``DAYS_AHEAD``
ahead, each at the clinic's wall-clock time with its time zone (a VTIMEZONE from the
zone database, so a session after a DST change stays at its hour); a cancelled session
stays in as CANCELLED so a calendar that had it removes it (the events are
``services.scheduling.ics_events``'s, shared with a patient's "add to calendar" link). An
event names the service and the patient's first name and initial only: the feed ends up
on a phone and in a calendar provider's hands. An online session's place is its video
link (LOCATION and URL).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from models import Appointment, Clinic, Therapist
from services import audit
from services.audit import Actor
from services.errors import N_, ServiceError
from services.locks import lock_in_clinic
from services.scheduling.ics_events import new_calendar, session_event, with_zones

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
    calendar = new_calendar("Therapist sessions", f"{clinic.name}: {therapist.name}", clinic)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for appointment in sessions:
        calendar.add_component(
            session_event(
                appointment,
                clinic,
                zone,
                now,
                uid_prefix="appointment",
                summary=f"{appointment.service.name} · {_short_name(appointment.patient.name)}",
            )
        )
    # The zone's rules for the feed's span only (a year or so, not since 1970).
    return with_zones(
        calendar,
        (now - timedelta(days=DAYS_BACK + 1)).date(),
        (now + timedelta(days=DAYS_AHEAD + 1)).date(),
    )


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
