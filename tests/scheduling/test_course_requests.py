"""Approval mode for courses: at a clinic that approves chat bookings, a course asked for
in the chat is one request of many sessions. Each holds its time; approving or declining
any of them decides them all, and the patient hears once; the sweep declines the course
when nobody answered before its first session's notice. Staff-booked courses are booked.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the demo clinic's minimum notice is 2 hours.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from jobs.sweep import decline_unanswered_requests
from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    MessageKind,
    Service,
    Therapist,
)
from services.audit import Actor
from services.errors import InvalidTransition
from services.scheduling.booking_requests import approve_request, decline_request
from services.scheduling.series import Pattern, book_series
from tests.conftest import NOW
from tests.outbox import outbox, reminders
from tests.scheduling.test_booking_requests import (  # noqa: F401  (fixtures)
    clinic,
    desk,
    notices,
    patient,
)

# ruff: noqa: F811  (the fixtures imported from test_booking_requests)

REQUESTED, BOOKED = AppointmentStatus.REQUESTED, AppointmentStatus.BOOKED
CANCELLED = AppointmentStatus.CANCELLED
FOUR_MONDAYS = Pattern(
    weekdays=(0,), local_time=time(17), first_date=date(2026, 11, 30), sessions=4
)


def ask_for_course(session, clinic, patient, *, actor=None, pattern=FOUR_MONDAYS):
    actor = actor or Actor.contact(patient.contact_id)
    speech = session.scalar(
        select(Service).where(
            Service.clinic_id == clinic.id, Service.name == "Speech Therapy Session"
        )
    )
    therapist = session.scalar(
        select(Therapist).where(
            Therapist.clinic_id == clinic.id, Therapist.name == "Dr. Priya Nair"
        )
    )
    return book_series(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=speech.id,
        therapist_id=therapist.id,
        pattern=pattern,
        now=NOW,
        actor=actor,
        source=BookingSource.ADMIN if actor.is_staff else BookingSource.CHAT,
    ).booked


def statuses(session, sessions) -> list[AppointmentStatus]:
    session.expire_all()
    return [session.get(Appointment, s.id).status for s in sessions]


def test_a_chat_course_is_requested_and_holds_its_times_quietly(session, clinic, patient):
    sessions = ask_for_course(session, clinic, patient)
    assert statuses(session, sessions) == [REQUESTED] * 4
    assert reminders(session) == []
    assert outbox(session, kind=MessageKind.NOTICE) == []


def test_staff_courses_are_booked_as_before(session, clinic, patient, desk):
    sessions = ask_for_course(session, clinic, patient, actor=desk)
    assert statuses(session, sessions) == [BOOKED] * 4
    assert len(reminders(session)) > 0


def test_approving_one_session_books_the_whole_course_and_tells_once(
    session, clinic, patient, desk
):
    sessions = ask_for_course(session, clinic, patient)
    approve_request(
        session, clinic_id=clinic.id, appointment_id=sessions[2].id, now=NOW, actor=desk
    )
    assert statuses(session, sessions) == [BOOKED] * 4
    assert len(reminders(session)) >= 4  # every session reminded
    (told,) = notices(session, "notice_series_booked")
    assert told.appointment_id == sessions[0].id and told.variables["count"] == 4
    with pytest.raises(InvalidTransition):  # decided: nobody is told twice
        approve_request(
            session, clinic_id=clinic.id, appointment_id=sessions[0].id, now=NOW, actor=desk
        )


def test_declining_one_session_declines_the_course_and_tells_once(session, clinic, patient, desk):
    sessions = ask_for_course(session, clinic, patient)
    decline_request(
        session,
        clinic_id=clinic.id,
        appointment_id=sessions[1].id,
        now=NOW,
        actor=desk,
        reason="Mondays are full",
    )
    assert statuses(session, sessions) == [CANCELLED] * 4
    (told,) = notices(session, "notice_course_request_declined_note")
    assert told.appointment_id == sessions[0].id
    assert told.variables == {"note": "Mondays are full", "count": 4}


def test_the_sweep_declines_a_course_nobody_answered(session, clinic, patient):
    sessions = ask_for_course(session, clinic, patient)
    first = sessions[0].start_at
    assert decline_unanswered_requests(session, now=first - timedelta(hours=3)) == 0
    assert decline_unanswered_requests(session, now=first - timedelta(hours=1)) == 1
    assert statuses(session, sessions) == [CANCELLED] * 4
    (told,) = notices(session, "notice_course_request_expired")
    assert told.variables == {"count": 4}
