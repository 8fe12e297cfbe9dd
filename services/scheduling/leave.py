"""A therapist's leave (a closed exception) and the sessions already booked inside it.

Adding the exception closes the time for new bookings; the sessions booked before it stay
where they are until staff move or cancel them (each through the usual verbs, so the
patient is told). ``affected_by_leave`` lists them. A closed exception with no therapist
(a clinic holiday) affects every therapist's sessions; one with a location, only the
sessions at that location.
"""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from core import clinic_time
from models import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    Clinic,
    ExceptionKind,
    Patient,
)
from services.errors import N_, NotFound


def affected_by_leave(session: Session, clinic_id: int, exception_id: int) -> list[Appointment]:
    """The active sessions inside the closed exception ``exception_id`` (its dates, and its
    hours when it gives some), earliest first; none for extra hours."""
    exception = session.get(AvailabilityException, exception_id)
    if exception is None or exception.clinic_id != clinic_id:
        raise NotFound(what=N_("exception"))
    if exception.kind != ExceptionKind.CLOSED:
        return []
    clinic = session.get(Clinic, clinic_id)
    assert clinic is not None
    zone = clinic.timezone
    query = (
        select(Appointment)
        .options(
            joinedload(Appointment.patient).joinedload(Patient.contact),
            joinedload(Appointment.service),
            joinedload(Appointment.therapist),
        )
        .where(
            Appointment.clinic_id == clinic_id,
            Appointment.status.in_(AppointmentStatus.active()),
            Appointment.start_at
            < clinic_time.local_midnight(exception.end_date + timedelta(days=1), zone),
            Appointment.end_at > clinic_time.local_midnight(exception.start_date, zone),
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    if exception.therapist_id is not None:
        query = query.where(Appointment.therapist_id == exception.therapist_id)
    if exception.location_id is not None:
        query = query.where(Appointment.location_id == exception.location_id)
    sessions = list(session.scalars(query).unique())
    if exception.start_time is None or exception.end_time is None:
        return sessions
    start_time, end_time = exception.start_time, exception.end_time
    return [
        appointment
        for appointment in sessions
        if _overlaps_hours(appointment, start_time, end_time, zone)
    ]


def _overlaps_hours(appointment: Appointment, start_time: time, end_time: time, zone: str) -> bool:
    """Does the session overlap the closed hours on its own clinic-local day?"""
    day = appointment.start_at.astimezone(clinic_time.zone_of(zone)).date()
    closed_from = clinic_time.at(day, start_time, zone)
    closed_to = clinic_time.at(day, end_time, zone)
    return appointment.start_at < closed_to and closed_from < appointment.end_at
