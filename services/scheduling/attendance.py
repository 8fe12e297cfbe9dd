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
from services.errors import InvalidTransition
from services.locks import lock_appointment


def check_in(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    """The patient is at the clinic for today's session."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        _require_today(session, appointment, now, "checked in")
        if appointment.arrived_at is not None:
            raise InvalidTransition("The patient has already checked in for this session.")
        before = audit.snapshot(appointment)
        appointment.arrived_at = now
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="appointment.arrive",
            entity=appointment,
            before=before,
        )
    return appointment


def start_session(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    """The therapist has the patient: the session is under way. A patient taken straight
    in without checking in at the desk has arrived too."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        _require_today(session, appointment, now, "started")
        if appointment.started_at is not None:
            raise InvalidTransition("This session is already under way.")
        before = audit.snapshot(appointment)
        appointment.started_at = now
        if appointment.arrived_at is None:
            appointment.arrived_at = now
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="appointment.start",
            entity=appointment,
            before=before,
        )
    return appointment


def _require_today(session: Session, appointment: Appointment, now: datetime, verb: str) -> None:
    """Active, and on the clinic's today (a session already over may be recorded late the
    same day; one on another day is a mistake, not a check-in)."""
    if not appointment.is_active:
        status = appointment.status.value.replace("_", "-")
        raise InvalidTransition(status=status, verb=verb)
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None
    if not on_clinic_day(appointment, now, clinic.timezone):
        day = clinic_time.to_wall(appointment.start_at, clinic.timezone).date()
        raise InvalidTransition(
            f"This session is on {day:%d %b %Y}, not today, so it cannot be {verb}."
        )


def on_clinic_day(appointment: Appointment, now: datetime, timezone: str) -> bool:
    """Is the session on the clinic's today (when check-in and "in session" apply)?"""
    day = clinic_time.to_wall(appointment.start_at, timezone).date()
    return day == clinic_time.to_wall(now, timezone).date()
