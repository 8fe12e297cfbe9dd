"""Online sessions in the staff panel: a service given in person, online or both; the
therapist's own room; the clinic's video rooms; booking an online session for a service
given either way; the session page's clickable link and "Online" for the place; the front
desk and the day sheet marking them; the reports counting them apart.

The clock is stopped at NOW (Monday 23 Nov 2026, 09:00 in Kolkata).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from models import Appointment, AuditLog, BookingSource, ClinicPolicy, Service, Therapist
from services import audit
from services.clinics import catalog
from services.reports import period_report as report
from services.scheduling.appointments import book_appointment
from tests.admin.test_admin import csrf_token, fresh, log_in, two_clinics  # noqa: F401
from tests.conftest import NOW, SYSTEM
from tests.scheduling.booking_support import IST, ist

# ruff: noqa: F811  (the fixture imported above)

MON, TUE = date(2026, 11, 23), date(2026, 11, 24)
LINK = re.compile(r"https://meet\.jit\.si/[A-Za-z0-9_-]{32}")


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    yield


@pytest.fixture
def a(session, two_clinics):
    """Clinic A, its service given either way."""
    a = two_clinics["a"]
    service = a["service"]
    before = audit.snapshot(service)
    service.online = True
    catalog.save_record(session, service, clinic_id=a["clinic"].id, actor=SYSTEM, before=before)
    return a


@pytest.fixture
def client(app, a):
    client = app.test_client()
    assert log_in(client, "admin@a.example").status_code == 302
    return client


def book_online(session, a, hour: int = 11) -> Appointment:
    return book_appointment(
        session,
        clinic_id=a["clinic"].id,
        patient_id=a["patient"].id,
        service_id=a["service"].id,
        start=ist(MON, hour),
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
        online=True,
    )


def test_staff_book_an_online_session_and_its_page_shows_the_link(session, a, client):
    token = csrf_token(client, "/admin/appointment/new/")
    response = client.post(
        "/admin/appointment/new/",
        data={
            "csrf_token": token,
            "patient": str(a["patient"].id),
            "service": str(a["service"].id),
            "therapist": "__None",
            "start": "2026-12-02T11:00",
            "delivery": "online",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    fresh(session)
    booked = session.scalar(
        select(Appointment)
        .where(Appointment.clinic_id == a["clinic"].id, Appointment.source == BookingSource.ADMIN)
        .order_by(Appointment.id.desc())
        .limit(1)
    )
    assert booked.online is True and LINK.fullmatch(booked.video_url)
    page = client.get(f"/admin/appointment/details/?id={booked.id}").text
    assert f'<a href="{booked.video_url}" target="_blank" rel="noopener noreferrer"' in page
    assert 'id="session-online">Online<' in page
    assert 'id="session-video-link"' in page


def test_the_create_form_refuses_online_for_an_in_person_service(session, a, client):
    before = audit.snapshot(a["service"])
    a["service"].online = False
    catalog.save_record(
        session, a["service"], clinic_id=a["clinic"].id, actor=SYSTEM, before=before
    )
    token = csrf_token(client, "/admin/appointment/new/")
    response = client.post(
        "/admin/appointment/new/",
        data={
            "csrf_token": token,
            "patient": str(a["patient"].id),
            "service": str(a["service"].id),
            "therapist": "__None",
            "start": "2026-12-02T11:00",
            "delivery": "online",
        },
        follow_redirects=True,
    )
    assert "given in person only" in response.text
    fresh(session)
    assert session.scalar(select(Appointment).where(Appointment.online.is_(True))) is None


def test_an_in_person_session_page_shows_no_video_link(session, a, client):
    page = client.get(f"/admin/appointment/details/?id={a['appointment'].id}").text
    assert "session-video-link" not in page and "session-online" not in page


def test_the_front_desk_and_the_day_sheet_mark_online_sessions(session, a, client):
    online = book_online(session, a, 11)
    desk = client.get("/admin/").text
    row = desk[desk.index(f'data-session="{online.id}"') :]
    assert "data-online>Online<" in row[: row.index("</li>")]
    sheet = client.get(f"/admin/calendar/sheet?therapist={a['therapist'].id}").text
    assert "data-online>Online<" in sheet


def test_the_service_form_needs_in_person_or_online(session, a, client):
    url = f"/admin/service/edit/?id={a['service'].id}"
    form = {
        "csrf_token": csrf_token(client, url),
        "name": "Service A",
        "specialization": "speech",
        "duration_minutes": "45",
        "price_minor": "80000",
        "capacity": "1",
        "hold_minutes": "30",
        "active": "y",
    }
    refused = client.post(url, data=form, follow_redirects=True)
    assert "A service is given in person, online, or both." in refused.text
    client.post(url, data={**form, "online": "y"})  # online only
    fresh(session)
    service = session.get(Service, a["service"].id)
    assert (service.in_person, service.online) == (False, True)


def test_the_therapist_form_takes_an_https_video_link(session, a, client):
    url = f"/admin/therapist/edit/?id={a['therapist'].id}"
    form = {
        "csrf_token": csrf_token(client, url),
        "name": "Therapist A",
        "specialization": "speech",
        "active": "y",
    }
    refused = client.post(
        url, data={**form, "video_link": "http://zoom.us/j/1"}, follow_redirects=True
    )
    assert "must be an https:// address" in refused.text
    client.post(url, data={**form, "video_link": "https://zoom.us/j/987"})
    fresh(session)
    assert session.get(Therapist, a["therapist"].id).video_link == "https://zoom.us/j/987"


def test_an_admin_chooses_the_clinics_video_rooms(session, two_clinics, a, client):
    b = two_clinics["b"]
    url = f"/admin/clinicpolicy/edit/?id={a['clinic'].id}"
    page = client.get(url).text
    assert "Video rooms for online sessions" in page and "Jitsi Meet server" in page
    form = {
        "csrf_token": csrf_token(client, url),
        "booking_horizon_days": "30",
        "min_notice_hours": "2",
        "cancellation_window_hours": "24",
        "reschedule_window_hours": "48",
        "reminder_offsets_hours": "24, 2",
        "slot_step_minutes": "15",
        "dues_reminder_day": "1",
        "dues_reminder_time": "10:00",
        "video_rooms": "therapist",
        "jitsi_base_url": "https://jitsi.clinic-a.example",
    }
    client.post(url, data=form)
    client.post(f"/admin/clinicpolicy/edit/?id={b['clinic'].id}", data=form)  # not theirs
    refused = client.post(
        url, data={**form, "jitsi_base_url": "http://jitsi.example"}, follow_redirects=True
    )
    assert "must be an https:// address" in refused.text
    fresh(session)
    policy = session.get(ClinicPolicy, a["clinic"].id)
    assert (policy.video_rooms, policy.jitsi_base_url) == (
        "therapist",
        "https://jitsi.clinic-a.example",
    )
    assert session.get(ClinicPolicy, b["clinic"].id).video_rooms == "jitsi"
    assert "policy.update" in session.scalars(select(AuditLog.action)).all()


def test_the_reports_count_online_sessions_apart(session, two_clinics, a, client):
    book_online(session, a, 11)
    book_online(session, a, 15)  # and the fixture's in-person one on Tuesday
    numbers = report.period_report(session, a["clinic"].id, first=MON, last=TUE, zone=IST)
    (row,) = numbers.sessions
    assert (row.total, row.online) == (3, 2)
    page = client.get("/admin/reports/", query_string={"from": "2026-11-23", "to": "2026-11-24"})
    assert "Of which online" in page.text
    b = two_clinics["b"]["clinic"].id
    other = report.period_report(session, b, first=MON, last=TUE, zone=IST)
    assert all(r.online == 0 for r in other.sessions)  # clinic B's count is its own


def test_the_calendars_booking_form_books_online_too(session, a, client):
    assert 'id="cal-delivery"' in client.get("/admin/calendar/book").text
    token = csrf_token(client, "/admin/calendar/book")
    client.post(
        "/admin/calendar/book",
        data={
            "csrf_token": token,
            "patient": str(a["patient"].id),
            "service": str(a["service"].id),
            "therapist": "",
            "start": "2026-11-23T14:00",
            "delivery": "online",
            "book": "1",
        },
    )
    fresh(session)
    booked = session.scalar(select(Appointment).where(Appointment.online.is_(True)))
    assert booked is not None and LINK.fullmatch(booked.video_url)
