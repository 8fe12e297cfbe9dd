"""Chat booking requests in the staff panel: the desk sees the waiting requests and
approves or declines them (POST with CSRF); who may; other clinics' ids. (The verbs
themselves: tests/scheduling/test_booking_requests.py.) The panel's clock is NOW."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from admin.views import booking_requests_page
from core.db import get_db
from models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    Clinic,
    ClinicPolicy,
    MessageKind,
    OutboundMessage,
    Role,
)
from roshni.app import create_app
from services.audit import Actor
from services.scheduling.appointments import book_appointment
from services.scheduling.availability import free_slots
from services.scheduling.series import Pattern, book_series
from tests.admin.test_admin import csrf_token
from tests.admin.test_series_panel import desk, signed_in  # noqa: F401  (fixtures)
from tests.conftest import NOW

# ruff: noqa: F811  (the fixtures imported from test_series_panel)

PAGE = "/admin/appointment/booking-requests/"


@pytest.fixture
def app(payments_config, monkeypatch):
    monkeypatch.setattr(booking_requests_page, "utcnow", lambda: NOW)
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


def request_for(session, clinic, service, patient) -> Appointment:
    session.get(ClinicPolicy, clinic.id).approve_chat_bookings = True
    session.commit()
    slot = free_slots(
        session,
        clinic_id=clinic.id,
        service_id=service.id,
        start_date=NOW.date(),
        end_date=NOW.date() + timedelta(days=7),
        now=NOW,
    )[0]
    appointment = book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=slot.start,
        now=NOW,
        actor=Actor.contact(patient.contact_id),
        source=BookingSource.CHAT,
    )
    assert appointment.status is AppointmentStatus.REQUESTED
    return appointment


def status_of(session, appointment) -> AppointmentStatus:
    session.rollback()  # a new read: the panel committed on its own connection
    session.expire_all()
    return session.get(Appointment, appointment.id).status


def test_the_desk_approves_a_request_from_the_list(app, session, desk):
    request = request_for(session, desk.clinic, desk.speech, desk.aarav)
    client = signed_in(app, Role.OPERATOR)
    page = client.get(PAGE)
    assert page.status_code == 200 and "Aarav Sharma" in page.text
    assert client.get("/admin/alerts/").get_json()["appointment"] == 1  # the menu's badge
    listing = client.get("/admin/appointment/")
    assert 'id="booking-requests-link"' in listing.text
    refused = client.post(f"{PAGE}{request.id}/approve", data={})  # no CSRF token
    assert refused.status_code == 400
    assert status_of(session, request) is AppointmentStatus.REQUESTED
    done = client.post(f"{PAGE}{request.id}/approve", data={"csrf_token": csrf_token(client, PAGE)})
    assert done.status_code == 302
    assert status_of(session, request) is AppointmentStatus.BOOKED
    assert session.scalar(select(AuditLog).where(AuditLog.action == "appointment.approve"))
    assert "No booking requests are waiting." in client.get(PAGE).text


def test_the_desk_declines_with_a_reason_the_patient_reads(app, session, desk):
    request = request_for(session, desk.clinic, desk.speech, desk.aarav)
    client = signed_in(app, Role.ADMIN)
    client.post(
        f"{PAGE}{request.id}/decline",
        data={"csrf_token": csrf_token(client, PAGE), "reason": "The therapist is away"},
    )
    assert status_of(session, request) is AppointmentStatus.CANCELLED
    told = session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.kind == MessageKind.NOTICE,
            OutboundMessage.appointment_id == request.id,
        )
    )
    assert told.template_key == "notice_request_declined_note"


def test_another_clinics_request_is_not_found_and_a_therapist_may_not_decide(app, session, desk):
    other = session.get(Clinic, desk.other_patient.clinic_id)
    theirs = request_for(session, other, desk.other_service, desk.other_patient)
    client = signed_in(app, Role.ADMIN)
    token = csrf_token(client, PAGE)
    assert client.post(f"{PAGE}{theirs.id}/approve", data={"csrf_token": token}).status_code == 404
    assert status_of(session, theirs) is AppointmentStatus.REQUESTED
    therapist = signed_in(app, Role.THERAPIST)
    assert therapist.get(PAGE).status_code == 403


def test_a_courses_sessions_are_marked_and_approved_together(app, session, desk):
    session.get(ClinicPolicy, desk.clinic.id).approve_chat_bookings = True
    session.commit()
    sessions = book_series(
        session,
        clinic_id=desk.clinic.id,
        patient_id=desk.aarav.id,
        service_id=desk.speech.id,
        therapist_id=desk.priya.id,
        pattern=Pattern(weekdays=(0, 3), local_time=time(17), first_date=NOW.date(), sessions=4),
        now=NOW,
        actor=Actor.contact(desk.aarav.contact_id),
        source=BookingSource.CHAT,
    ).booked
    client = signed_in(app, Role.OPERATOR)
    page = client.get(PAGE)
    assert page.text.count('class="badge badge-info course-request"') == 4
    approve = f"{PAGE}{sessions[-1].id}/approve"
    assert client.post(approve, data={"csrf_token": csrf_token(client, PAGE)}).status_code == 302
    assert {status_of(session, s) for s in sessions} == {AppointmentStatus.BOOKED}
    assert "No booking requests are waiting." in client.get(PAGE).text
