"""What the booking-verb tests share: the clinic, therapist, service and patient
fixtures, a clock at NOW, and small helpers.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata. The default therapist works
Mon-Fri 09:00-18:00 and Sat 09:00-13:00; the default policy is 2 h minimum
notice, a 30-day horizon, a 24 h cancellation and a 48 h reschedule window.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import (
    Appointment,
    AuditLog,
    BookingSource,
)
from services.audit import Actor
from services.scheduling.appointments import (
    book_appointment,
)
from services.scheduling.availability import free_slots
from tests.conftest import NOW, SYSTEM

IST = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
STAFF = Actor.staff(1)
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, d) for d in range(23, 30))


def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=IST)


def book(session, clinic, patient, service, start, *, therapist=None, now=NOW, actor=SYSTEM):
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=start,
        now=now,
        actor=actor,
        source=BookingSource.CHAT,
        therapist_id=therapist.id if therapist is not None else None,
    )


def patient_of(patient) -> Actor:
    return Actor.contact(patient.contact_id)


def free_starts(session, clinic, service, day: date, now=NOW) -> set[datetime]:
    slots = free_slots(
        session, clinic_id=clinic.id, service_id=service.id, start_date=day, end_date=day, now=now
    )
    return {s.start for s in slots}


def state(session) -> tuple[int, int, list[tuple]]:
    """Appointment count, audit row count and every appointment's mutable columns."""
    session.expire_all()
    appointments = session.scalar(select(func.count()).select_from(Appointment))
    audits = session.scalar(select(func.count()).select_from(AuditLog))
    rows = session.execute(
        select(
            Appointment.id,
            Appointment.status,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.therapist_id,
            Appointment.cancelled_at,
        ).order_by(Appointment.id)
    ).all()
    session.commit()
    return appointments, audits, [tuple(r) for r in rows]


def reloaded(session, appointment: Appointment) -> Appointment:
    session.expire_all()
    fresh = session.get(Appointment, appointment.id)
    assert fresh is not None
    return fresh


@pytest.fixture
def clinic(make_clinic):
    return make_clinic()


@pytest.fixture
def therapist(clinic, make_therapist):
    return make_therapist(clinic)


@pytest.fixture
def service(clinic, therapist, make_service):
    return make_service(clinic, minutes=45, price=80000)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)
