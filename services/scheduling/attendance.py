"""The desk's day with a session: the patient arrived (check-in), the session began.

Completing a session and marking a no-show stay with the booking verbs
(``services.scheduling.appointments``); these two only record times on an active
session, one transaction and one audit row each.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core import clinic_time
from core.clock import require_aware
from core.db import write_transaction
from models import Appointment, Clinic
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidTransition
from services.locks import lock_appointment
from services.scheduling.appointments import require_active, require_booked


def check_in(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    """The patient is at the clinic for today's session."""
    return _stamp(
        session,
        clinic_id=clinic_id,
        appointment_id=appointment_id,
        now=now,
        actor=actor,
        field="arrived_at",
        action="appointment.arrive",
        verb=N_("checked in"),
        already=N_("The patient has already checked in for this session."),
    )


def start_session(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    """The therapist has the patient: the session is under way. A patient taken straight
    in without checking in at the desk has arrived too."""
    return _stamp(
        session,
        clinic_id=clinic_id,
        appointment_id=appointment_id,
        now=now,
        actor=actor,
        field="started_at",
        action="appointment.start",
        verb=N_("started"),
        already=N_("This session is already under way."),
        also=("arrived_at",),
    )


def _stamp(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    now: datetime,
    actor: Actor,
    field: str,
    action: str,
    verb: str,
    already: str,
    also: tuple[str, ...] = (),
) -> Appointment:
    """Lock today's active session, refuse a second stamp, set ``field`` (and any of
    ``also`` still empty) to now, audit it: one transaction."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        require_active(appointment, verb)
        require_booked(appointment, verb)
        _require_today(session, appointment, now, verb)
        if getattr(appointment, field) is not None:
            raise InvalidTransition(already)
        before = audit.snapshot(appointment)
        for name in (field, *also):
            if getattr(appointment, name) is None:
                setattr(appointment, name, now)
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action=action,
            entity=appointment,
            before=before,
        )
    return appointment


def _require_today(session: Session, appointment: Appointment, now: datetime, verb: str) -> None:
    """On the clinic's today (a session already over may be recorded late the same day;
    one on another day is a mistake, not a check-in)."""
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None
    if not on_clinic_day(appointment, now, clinic.timezone):
        day = clinic_time.to_wall(appointment.start_at, clinic.timezone).date()
        raise InvalidTransition(
            N_("This session is on %(day)s, not today, so it cannot be %(verb)s."),
            day=f"{day:%d %b %Y}",
            verb=verb,
        )


def on_clinic_day(appointment: Appointment, now: datetime, timezone: str) -> bool:
    """Is the session on the clinic's today (when check-in and "in session" apply)?"""
    day = clinic_time.to_wall(appointment.start_at, timezone).date()
    return day == clinic_time.to_wall(now, timezone).date()
