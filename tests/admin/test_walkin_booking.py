"""The desk books walk-ins now, and the booking forms cannot pick the wrong person.

The clock reads Monday 23 Nov 2026, 09:07 in Kolkata: a walk-in for the 09:00 slot
has started a few minutes ago; 10:00 is inside the clinic's 2-hour notice.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from admin.views import appointments as appointment_views
from admin.views import calendar, calendar_booking
from models import Appointment, AuditLog, OutboundMessage, Role
from services.staff.accounts import create_staff_user
from tests.admin.test_calendar import PASSWORD, csrf_token, form_values, ist, logged_in
from tests.conftest import NOW, SYSTEM

WALK_IN_NOW = NOW + timedelta(minutes=7)  # 09:07 in Kolkata


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(calendar, "utcnow", lambda: WALK_IN_NOW)
    monkeypatch.setattr(calendar_booking, "utcnow", lambda: WALK_IN_NOW)  # the booking form
    monkeypatch.setattr(appointment_views, "utcnow", lambda: WALK_IN_NOW)
    return app


@pytest.fixture
def desk(app, session, make_clinic, make_therapist, make_service, make_patient):
    clinic = make_clinic(name="Clinic A", slug="clinic-a")
    make_therapist(clinic, name="Dr. Priya Nair")
    out = {
        "clinic": clinic,
        "service": make_service(clinic, name="Speech Therapy Session"),
        "other_service": make_service(clinic, name="Articulation Session"),
        "aarav": make_patient(clinic, name="Aarav", phone="+919876543210"),
        "diya": make_patient(clinic, name="Diya", phone="+919812300001"),
    }
    create_staff_user(
        session,
        email="operator@a.example",
        password=PASSWORD,
        role=Role.OPERATOR,
        clinic_id=clinic.id,
        actor=SYSTEM,
    )
    out["client"] = logged_in(app, "operator@a.example")
    return out


def book_on_the_calendar_form(client, patient, service, start: str):
    token = csrf_token(client, "/admin/calendar/book")
    return client.post(
        "/admin/calendar/book",
        data={
            "csrf_token": token,
            "patient": str(patient.id),
            "service": str(service.id),
            "therapist": "",
            "start": start,
            "book": "1",
        },
        follow_redirects=True,
    )


def test_a_walk_in_that_started_minutes_ago_is_booked_back_dated_and_says_so(db, desk):
    page = book_on_the_calendar_form(
        desk["client"], desk["aarav"], desk["service"], "2026-11-23T09:00"
    )

    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "Entered APT-2026-" in text and "Aarav, Speech Therapy Session" in text
    assert "Mon 23 Nov, 9:00 am" in text
    assert "back-dated" in text and "Asha Verma is not sent any message about it" in text
    with db.session_scope() as s:
        [appointment] = s.scalars(select(Appointment)).all()
        assert appointment.start_at == ist(0, 9)
        assert appointment.backdated_at == WALK_IN_NOW
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "appointment.book")).one()
        assert audit.after["backdated_at"] is not None
        assert s.scalars(select(OutboundMessage)).all() == []


def test_a_booking_inside_the_notice_is_taken_and_names_what_the_guardian_hears(db, desk):
    page = book_on_the_calendar_form(
        desk["client"], desk["aarav"], desk["service"], "2026-11-23T10:00"
    )

    text = re.sub(r"\s+", " ", page.text)
    assert "Booked APT-2026-" in text and "Mon 23 Nov, 10:00 am" in text
    assert "Asha Verma is told of the booking now by WhatsApp." in text
    with db.session_scope() as s:
        [appointment] = s.scalars(select(Appointment)).all()
        assert appointment.start_at == ist(0, 10) and appointment.backdated_at is None


def test_the_calendar_form_chooses_no_patient_or_service_and_find_needs_no_patient(desk):
    client = desk["client"]
    page = client.get("/admin/calendar/book").text
    values = form_values(page)
    assert values["patient"] == "" and values["service"] == ""
    assert re.search(r'id="cal-find"[^>]*formnovalidate', page)
    assert 'data-patient-search="cal-q"' in page and "patient-search.js" in page

    token = csrf_token(client, "/admin/calendar/book")
    found = client.post(
        "/admin/calendar/book", data={"csrf_token": token, "q": "123 00", "find": "1"}
    ).text
    assert "Diya — Asha Verma" in found and "Aarav — Asha Verma" not in found


def test_the_appointment_form_chooses_no_patient_or_service_and_refuses_without_one(db, desk):
    client = desk["client"]
    page = client.get("/admin/appointment/new/").text
    values = form_values(page)
    assert values["patient"] in ("", "__None") and values["service"] in ("", "__None")
    assert "Aarav — Asha Verma, +91 98765 43210" in page
    assert "patient-search.js" in page

    token = csrf_token(client, "/admin/appointment/new/")
    refused = client.post(
        "/admin/appointment/new/",
        data={
            "csrf_token": token,
            "patient": "__None",
            "service": str(desk["service"].id),
            "therapist": "__None",
            "start": "2026-11-23T10:00",
        },
    ).text
    assert "Choose a patient." in refused
    with db.session_scope() as s:
        assert s.scalars(select(Appointment)).all() == []


def test_the_appointment_form_takes_a_walk_in_now(db, desk):
    client = desk["client"]
    token = csrf_token(client, "/admin/appointment/new/")
    page = client.post(
        "/admin/appointment/new/",
        data={
            "csrf_token": token,
            "patient": str(desk["diya"].id),
            "service": str(desk["service"].id),
            "therapist": "__None",
            "start": "2026-11-23T09:00",
        },
        follow_redirects=True,
    ).text
    assert "Diya, Speech Therapy Session" in page and "back-dated" in page
    with db.session_scope() as s:
        [appointment] = s.scalars(select(Appointment)).all()
        assert appointment.patient_id == desk["diya"].id and appointment.backdated_at is not None


def test_the_booking_form_starts_at_now_on_the_slot_grid_and_offers_a_new_patient(db, desk):
    page = desk["client"].get("/admin/calendar/book")

    assert page.status_code == 200
    # 09:07 in Kolkata, on the clinic's slot grid: the walk-in's slot began at 09:00.
    start = re.search(r'id="cal-start"[^>]*value="([^"]+)"', page.text)
    assert start is not None and start.group(1) == "2026-11-23T09:00"
    assert 'id="cal-new-patient"' in page.text
    # A start given by a free time's link is kept.
    linked = desk["client"].get("/admin/calendar/book?start=2026-11-24T11:30")
    assert 'value="2026-11-24T11:30"' in linked.text


def test_today_books_a_session_now_and_comes_back_to_today(db, desk):
    today = desk["client"].get("/admin/")
    link = re.search(r'id="today-book" href="([^"]+)"', today.text)
    assert link is not None
    form = desk["client"].get(link.group(1).replace("&amp;", "&"))
    assert 'name="back" type="hidden" value="/admin/"' in form.text

    token = csrf_token(desk["client"], "/admin/calendar/book")
    booked = desk["client"].post(
        "/admin/calendar/book",
        data={
            "csrf_token": token,
            "patient": str(desk["aarav"].id),
            "service": str(desk["service"].id),
            "therapist": "",
            "start": "2026-11-23T09:00",
            "back": "/admin/",
            "book": "1",
        },
    )
    assert booked.status_code == 302 and booked.headers["Location"].endswith("/admin/")
    # Anywhere else is not a way back.
    elsewhere = desk["client"].post(
        "/admin/calendar/book",
        data={"csrf_token": token, "back": "https://example.com/admin/", "find": "1"},
    )
    assert 'href="https://example.com' not in elsewhere.text
