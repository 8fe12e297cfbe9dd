"""A patient's "add to calendar" link: one session (or, for a course, all of its
sessions) as an iCalendar file the phone's calendar imports.

The link names the session by a token signed with the app's secret
(``core.public_links``): nothing is stored, it cannot be guessed, and a forged or
altered one opens nothing. It carries the clinic too, so it never reaches another
clinic's session. The events are ``services.scheduling.ics_events``'s, as in the
therapist's feed: the clinic's wall-clock time with its zone, CANCELLED once cancelled,
the video link for an online session; here the summary is "<service> — <clinic>".
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.public_links import PublicLinks, unsign
from models import Appointment, Clinic
from services.scheduling.ics_events import new_calendar, session_event, span, with_zones

PURPOSE = "session-calendar"
FILE_NAME = "session.ics"


def calendar_path(links: PublicLinks, appointment: Appointment) -> str:
    """The link's path on our site (``links.url`` makes it whole)."""
    token = links.sign(PURPOSE, [appointment.clinic_id, appointment.id])
    return f"/calendar/session/{token}.ics"


def calendar_url(links: PublicLinks, appointment: Appointment) -> str:
    return links.url(calendar_path(links, appointment))


def appointment_for_calendar(session: Session, secret_key: str, token: str) -> Appointment | None:
    """The session the token was made for, or None (forged, altered, or gone)."""
    payload = unsign(secret_key, PURPOSE, token)
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(type(part) is int for part in payload)
    ):
        return None
    clinic_id, appointment_id = payload
    return session.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id, Appointment.clinic_id == clinic_id
        )
    )


def session_calendar(session: Session, appointment: Appointment, *, now: datetime) -> bytes:
    """The session as an iCalendar document; a course's session brings every session of
    its course (each its own event, cancelled ones as CANCELLED)."""
    now = require_aware(now, "now")
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None
    zone = ZoneInfo(clinic.timezone)
    sessions = [appointment]
    if appointment.series_id is not None:
        sessions = list(
            session.scalars(
                select(Appointment)
                .where(
                    Appointment.clinic_id == clinic.id,
                    Appointment.series_id == appointment.series_id,
                )
                .options(joinedload(Appointment.service), joinedload(Appointment.location))
                .order_by(Appointment.start_at, Appointment.id)
            )
        )
    calendar = new_calendar(
        "Patient session", f"{appointment.service.name} — {clinic.name}", clinic
    )
    for each in sessions:
        calendar.add_component(
            session_event(
                each,
                clinic,
                zone,
                now,
                uid_prefix="session",
                summary=f"{each.service.name} — {clinic.name}",
            )
        )
    return with_zones(calendar, *span(sessions, zone))
