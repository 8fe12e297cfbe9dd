"""Check-in and "in session": times recorded on today's active sessions, audited,
scoped to the clinic, refused with a clear reason otherwise.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AppointmentStatus, AuditLog
from services.audit import Actor
from services.errors import InvalidTransition, NotFound
from services.scheduling import attendance
from services.scheduling.appointments import cancel_appointment, complete_appointment
from tests.conftest import NOW
from tests.outbox import book, ist, seed

STAFF = Actor.staff(1)


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def booked(session, clinic, make_patient):
    return book(session, clinic, make_patient(clinic), ist(23, 11), actor=STAFF)


def _kwargs(clinic, appointment, now=NOW):
    return {"clinic_id": clinic.id, "appointment_id": appointment.id, "now": now, "actor": STAFF}


def actions(session, appointment) -> list[str]:
    return list(
        session.scalars(
            select(AuditLog.action)
            .where(AuditLog.entity_type == "Appointment", AuditLog.entity_id == str(appointment.id))
            .order_by(AuditLog.id)
        )
    )


def test_check_in_then_start_records_both_times_with_an_audit_row_each(session, clinic, booked):
    attendance.check_in(session, **_kwargs(clinic, booked))
    later = NOW + timedelta(minutes=12)
    attendance.start_session(session, **_kwargs(clinic, booked, later))
    session.expire_all()
    assert booked.arrived_at == NOW
    assert booked.started_at == later
    assert booked.status is AppointmentStatus.BOOKED
    assert actions(session, booked)[-2:] == ["appointment.arrive", "appointment.start"]


def test_starting_without_a_check_in_marks_the_patient_arrived_too(session, clinic, booked):
    attendance.start_session(session, **_kwargs(clinic, booked))
    session.expire_all()
    assert booked.arrived_at == booked.started_at == NOW


def test_checking_in_or_starting_twice_is_refused_and_keeps_the_first_time(session, clinic, booked):
    attendance.start_session(session, **_kwargs(clinic, booked))
    later = NOW + timedelta(minutes=5)
    with pytest.raises(InvalidTransition, match="already checked in"):
        attendance.check_in(session, **_kwargs(clinic, booked, later))
    with pytest.raises(InvalidTransition, match="already under way"):
        attendance.start_session(session, **_kwargs(clinic, booked, later))
    session.expire_all()
    assert booked.arrived_at == NOW
    assert actions(session, booked).count("appointment.start") == 1


def test_a_cancelled_or_completed_session_cannot_be_checked_in(session, clinic, make_patient):
    patient = make_patient(clinic, name="Kabir")
    cancelled = book(session, clinic, patient, ist(23, 12), actor=STAFF)
    cancel_appointment(session, reason="ill", **_kwargs(clinic, cancelled))
    with pytest.raises(InvalidTransition, match="cancelled, so it cannot be checked in"):
        attendance.check_in(session, **_kwargs(clinic, cancelled))
    done = book(session, clinic, patient, ist(23, 14), actor=STAFF)
    complete_appointment(session, **_kwargs(clinic, done, ist(23, 15)))
    with pytest.raises(InvalidTransition, match="completed, so it cannot be started"):
        attendance.start_session(session, **_kwargs(clinic, done, ist(23, 15)))


def test_a_session_on_another_day_is_refused(session, clinic, make_patient):
    tomorrow = book(session, clinic, make_patient(clinic), ist(24, 10), actor=STAFF)
    with pytest.raises(InvalidTransition, match="24 Nov 2026, not today"):
        attendance.check_in(session, **_kwargs(clinic, tomorrow))
    session.expire_all()
    assert tomorrow.arrived_at is None


def test_another_clinics_session_is_not_found(session, clinic, booked, make_clinic):
    other = make_clinic(name="Other", slug="other")
    with pytest.raises(NotFound):
        attendance.check_in(
            session, clinic_id=other.id, appointment_id=booked.id, now=NOW, actor=STAFF
        )
    session.expire_all()
    assert booked.arrived_at is None
