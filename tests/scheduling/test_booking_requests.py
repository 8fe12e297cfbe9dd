"""Approval mode: at a clinic that approves chat bookings, a chat booking is a request
that holds its time until the desk approves or declines it (or the sweep declines it
when nobody answered before the clinic's minimum notice).

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the demo clinic's minimum notice is 2
hours. Times are clinic-local (tests/outbox.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from jobs.sweep import decline_unanswered_requests
from models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    ClinicPolicy,
    MessageKind,
    PaymentStatus,
    Role,
    Service,
)
from services.audit import Actor
from services.errors import InvalidTransition, NotFound, SlotTaken
from services.scheduling.appointments import book_appointment, cancel_appointment
from services.scheduling.availability import free_slots
from services.scheduling.booking_requests import approve_request, decline_request
from tests.conftest import NOW, staff_logins
from tests.outbox import SUNRISE, book, ist, london, outbox, reminders, seed

TUE_10 = ist(24, 10)
REQUESTED, BOOKED = AppointmentStatus.REQUESTED, AppointmentStatus.BOOKED


@pytest.fixture
def clinic(session):
    clinic = seed(session)
    session.get(ClinicPolicy, clinic.id).approve_chat_bookings = True
    session.commit()
    return clinic


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)


@pytest.fixture
def desk(session, clinic):
    users = staff_logins(session, clinic.id, password="correct-horse-battery", domain="r.test")
    session.commit()
    return Actor.staff(users[Role.OPERATOR].id)


def chat(patient) -> Actor:
    return Actor.contact(patient.contact_id)


def notices(session, key: str) -> list:
    return [m for m in outbox(session, kind=MessageKind.NOTICE) if m.template_key == key]


def fresh(session, appointment) -> Appointment:
    session.expire_all()
    return session.get(Appointment, appointment.id)


def service_id(session, clinic, name: str) -> int:
    return session.scalar(
        select(Service.id).where(Service.clinic_id == clinic.id, Service.name == name)
    )


def test_a_chat_booking_is_a_request_that_holds_its_time(session, clinic, patient, make_patient):
    request = book(session, clinic, patient, TUE_10, actor=chat(patient))
    assert request.status is REQUESTED
    assert reminders(session) == []
    assert outbox(session, kind=MessageKind.NOTICE) == []
    assert session.scalar(select(AuditLog.action).where(AuditLog.entity_id == str(request.id)))
    # The therapist's time is held: the same time is not offered or bookable again.
    other = make_patient(clinic, name="Meera")
    with pytest.raises(SlotTaken):
        book(session, clinic, other, TUE_10, actor=chat(other))


def test_staff_bookings_are_never_requests(session, clinic, patient, desk):
    appointment = book(session, clinic, patient, TUE_10, actor=desk)
    assert appointment.status is BOOKED
    assert appointment.source is BookingSource.ADMIN


def test_a_request_gets_no_payment_until_approved_then_what_a_chat_booking_gets(
    session, clinic, patient, desk, make_patient
):
    assessment = service_id(session, clinic, "Assessment Session")
    baseline_patient = make_patient(clinic, name="Meera")
    session.get(ClinicPolicy, clinic.id).approve_chat_bookings = False
    session.commit()
    baseline = book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=baseline_patient.id,
        service_id=assessment,
        start=ist(25, 10),
        now=NOW,
        actor=chat(baseline_patient),
        source=BookingSource.CHAT,
    )
    baseline_asks = [m for m in outbox(session) if m.kind is not MessageKind.REMINDER]
    session.get(ClinicPolicy, clinic.id).approve_chat_bookings = True
    session.commit()

    request = book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=assessment,
        start=TUE_10,
        now=NOW,
        actor=chat(patient),
        source=BookingSource.CHAT,
    )
    assert request.status is REQUESTED
    assert request.payment_status is PaymentStatus.UNPAID
    assert len([m for m in outbox(session) if m.kind is not MessageKind.REMINDER]) == len(
        baseline_asks
    )

    approved = approve_request(
        session, clinic_id=clinic.id, appointment_id=request.id, now=NOW, actor=desk
    )
    assert approved.status is BOOKED
    assert fresh(session, approved).payment_status is fresh(session, baseline).payment_status


def test_approving_books_it_schedules_reminders_and_tells_the_patient(
    session, clinic, patient, desk
):
    request = book(session, clinic, patient, TUE_10, actor=chat(patient))
    approve_request(session, clinic_id=clinic.id, appointment_id=request.id, now=NOW, actor=desk)
    assert fresh(session, request).status is BOOKED
    assert reminders(session)
    assert len(notices(session, "notice_request_approved")) == 1
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.entity_id == str(request.id))
    ).all()
    assert "appointment.approve" in actions

    # Twice is a clear refusal, and nobody is told twice.
    with pytest.raises(InvalidTransition):
        approve_request(
            session, clinic_id=clinic.id, appointment_id=request.id, now=NOW, actor=desk
        )
    assert len(notices(session, "notice_request_approved")) == 1


def test_declining_cancels_frees_the_time_and_tells_the_patient(
    session, clinic, patient, desk, make_patient
):
    request = book(session, clinic, patient, TUE_10, actor=chat(patient))
    decline_request(
        session,
        clinic_id=clinic.id,
        appointment_id=request.id,
        now=NOW,
        actor=desk,
        reason="  Dr. Nair is  at a workshop ",
    )
    declined = fresh(session, request)
    assert declined.status is AppointmentStatus.CANCELLED
    assert declined.cancellation_reason == "Dr. Nair is at a workshop"
    (told,) = notices(session, "notice_request_declined_note")
    assert told.variables == {"note": "Dr. Nair is at a workshop"}
    with pytest.raises(InvalidTransition):
        decline_request(
            session, clinic_id=clinic.id, appointment_id=request.id, now=NOW, actor=desk
        )
    # The time is free again: someone else books it.
    other = make_patient(clinic, name="Meera")
    again = book(session, clinic, other, TUE_10, actor=desk)
    assert again.status is BOOKED


def test_the_sweep_declines_a_request_nobody_answered_near_its_start(session, clinic, patient):
    request = book(session, clinic, patient, TUE_10, actor=chat(patient))
    later = book(session, clinic, patient, ist(26, 10), actor=chat(patient))
    # Still hours before the notice: left alone.
    assert decline_unanswered_requests(session, now=NOW) == 0
    near = TUE_10 - timedelta(hours=1)  # inside the 2-hour notice
    assert decline_unanswered_requests(session, now=near) == 1
    assert fresh(session, request).status is AppointmentStatus.CANCELLED
    assert fresh(session, later).status is REQUESTED
    assert len(notices(session, "notice_request_expired")) == 1
    assert decline_unanswered_requests(session, now=near) == 0  # once


def test_another_clinics_request_is_not_found(session, clinic, patient, desk, make_patient):
    other_clinic = seed(session, SUNRISE)
    session.get(ClinicPolicy, other_clinic.id).approve_chat_bookings = True
    session.commit()
    theirs = book(
        session, other_clinic, make_patient(other_clinic), london(24, 10), actor=Actor.system()
    )
    with pytest.raises(NotFound):
        approve_request(session, clinic_id=clinic.id, appointment_id=theirs.id, now=NOW, actor=desk)
    with pytest.raises(NotFound):
        decline_request(session, clinic_id=clinic.id, appointment_id=theirs.id, now=NOW, actor=desk)


def test_the_patient_withdraws_a_request_even_inside_the_cancellation_window(
    session, clinic, patient
):
    soon = ist(23, 13)  # 4 hours ahead: inside the 24-hour cancellation window
    request = book(session, clinic, patient, soon, actor=chat(patient))
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=request.id, now=NOW, actor=chat(patient)
    )
    assert fresh(session, request).status is AppointmentStatus.CANCELLED


def test_with_the_policy_off_chat_bookings_are_booked(session, clinic, patient):
    session.get(ClinicPolicy, clinic.id).approve_chat_bookings = False
    session.commit()
    appointment = book(session, clinic, patient, TUE_10, actor=chat(patient))
    assert appointment.status is BOOKED
    assert reminders(session)


def test_a_request_still_blocks_the_free_times_offered(session, clinic, patient):
    request = book(session, clinic, patient, TUE_10, actor=chat(patient))
    slots = free_slots(
        session,
        clinic_id=clinic.id,
        service_id=request.service_id,
        therapist_id=request.therapist_id,
        start_date=TUE_10.date(),
        end_date=TUE_10.date(),
        now=NOW,
    )
    assert all(s.start != TUE_10 for s in slots if s.therapist_id == request.therapist_id)


def test_postgresql_exclusion_counts_a_request_as_holding_the_time(session, clinic, patient, desk):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's")
    request = book(session, clinic, patient, TUE_10, actor=chat(patient))
    later = book(session, clinic, patient, ist(24, 11), actor=desk)
    assert later.therapist_id == request.therapist_id
    with pytest.raises(IntegrityError, match="no_overlap"):
        session.execute(
            update(Appointment)
            .where(Appointment.id == later.id)
            .values(start_at=request.start_at, end_at=request.end_at)
        )
    session.rollback()
