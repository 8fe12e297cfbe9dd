"""Courses of sessions in the staff panel: booking one with a clash and taking the clash's
free time into the course, cancelling "this and the following" from a session, who may,
other clinics' ids, and the sessions a therapist's leave falls on.

The panel's clock is frozen at NOW (Mon 23 Nov 2026, 09:00 in Kolkata); the course runs
Mondays and Thursdays at 5 pm from the next Monday (30 Nov).
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from admin.views import appointments as appointments_view
from admin.views import courses as courses_view
from admin.views import session_page
from core.db import get_db
from models import (
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    Role,
)
from roshni.app import create_app
from services.scheduling.series import Pattern, book_series
from services.staff.accounts import create_staff_user
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.admin.test_appointments_admin import alerts, book, fresh, local
from tests.conftest import NOW, SYSTEM

NEXT_MON = date(2026, 11, 30)
COURSE = "/admin/appointment/course/new/"
ALTERNATIVE = "/admin/appointment/course/alternative/"


@pytest.fixture
def app(payments_config, monkeypatch):
    for module in (appointments_view, courses_view, session_page):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


@pytest.fixture
def desk(session, make_clinic, make_therapist, make_service, make_patient):
    clinic = make_clinic(name="Clinic A", slug="clinic-a")
    desk = type("Desk", (), {})()
    desk.clinic = clinic
    desk.priya = make_therapist(clinic, name="Dr. Priya Nair")
    desk.speech = make_service(clinic)
    desk.aarav = make_patient(clinic, name="Aarav Sharma", phone="+919876500001")
    desk.meera = make_patient(clinic, name="Meera Iyer", phone="+919876500002")
    for role in (Role.ADMIN, Role.OPERATOR, Role.THERAPIST, Role.ACCOUNTANT):
        create_staff_user(
            session,
            email=f"{role.value}@a.example",
            password=PASSWORD,
            role=role,
            clinic_id=clinic.id,
            actor=SYSTEM,
        )
    other = make_clinic(name="Clinic B", slug="clinic-b")
    desk.other_therapist = make_therapist(other, name="Dr. Bee")
    desk.other_service = make_service(other, name="Bee Speech")
    desk.other_patient = make_patient(other, name="Bela Bee", phone="+919876500009")
    session.commit()
    return desk


def signed_in(app, role: Role):
    client = app.test_client()
    assert log_in(client, f"{role.value}@a.example").status_code == 302
    return client


def course_form(desk, patient=None, **changes) -> dict:
    form = {
        "patient": str((patient or desk.aarav).id),
        "service": str(desk.speech.id),
        "therapist": str(desk.priya.id),
        "weekdays": ["0", "3"],
        "at": "17:00",
        "first_date": NEXT_MON.isoformat(),
        "every_weeks": "1",
        "sessions": "4",
        "until": "",
    }
    return form | changes


def post_course(client, form: dict):
    return client.post(COURSE, data={**form, "csrf_token": csrf_token(client, COURSE)})


def booked_course(session, desk, sessions: int = 4):
    return book_series(
        session,
        clinic_id=desk.clinic.id,
        patient_id=desk.aarav.id,
        service_id=desk.speech.id,
        therapist_id=desk.priya.id,
        pattern=Pattern(
            weekdays=(0, 3), local_time=time(17), first_date=NEXT_MON, sessions=sessions
        ),
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )


def test_the_desk_books_a_course_sees_the_clash_and_books_its_alternative_into_it(
    app, session, desk
):
    taken = book(session, desk, desk.meera, local(3, 17) + timedelta(days=30))  # Thu 3 Dec, 5 pm
    client = signed_in(app, Role.OPERATOR)
    assert 'id="book-course-link"' in client.get("/admin/appointment/").text

    page = post_course(client, course_form(desk))

    assert page.status_code == 200
    assert "Booked 3 of 4 sessions." in page.text
    assert "Thu 3 Dec, 5:00 pm</strong> — taken by another booking" in page.text
    starts = re.findall(r'name="start" value="([^"]+)"', page.text)
    (series_id,) = set(re.findall(r'name="series_id" value="(\d+)"', page.text))
    assert starts, "the clash offers free times nearby"
    fresh(session)
    course = session.get(AppointmentSeries, int(series_id))
    assert course.patient_id == desk.aarav.id and course.therapist_id == desk.priya.id

    response = client.post(
        ALTERNATIVE,
        data={
            "csrf_token": csrf_token(client, COURSE),
            "start": starts[0],
            "series_id": series_id,
            "patient": str(desk.aarav.id),
            "service": str(desk.speech.id),
            "therapist": str(desk.priya.id),
        },
    )

    assert response.status_code == 302 and "/course" in response.headers["Location"]
    fresh(session)
    sessions = session.scalars(
        select(Appointment).where(Appointment.series_id == int(series_id))
    ).all()
    assert len(sessions) == 4
    assert taken.id not in {a.id for a in sessions}
    course_page = client.get(response.headers["Location"])
    assert "Booked APT-" in alerts(course_page)
    assert "of 4 of a course (every Monday and Thursday at 5:00 pm)" in course_page.text


def test_a_pattern_the_service_refuses_is_shown_on_the_form(app, session, desk):
    client = signed_in(app, Role.ADMIN)
    page = post_course(client, course_form(desk, weekdays=[]))
    assert "Choose at least one weekday for the sessions." in page.text
    page = post_course(client, course_form(desk, sessions=""))
    assert "Give the number of sessions or the last date." in page.text
    fresh(session)
    assert session.scalars(select(AppointmentSeries)).all() == []


def test_cancelling_this_and_the_following_from_a_session_page(app, session, desk):
    course = booked_course(session, desk)
    second = course.booked[1]
    client = signed_in(app, Role.OPERATOR)
    page = client.get(f"/admin/appointment/details/?id={second.id}").text
    assert "Session 2 of 4 of a course (every Monday and Thursday at 5:00 pm)" in page
    url = f"/admin/appointment/session/{second.id}/course"
    assert f'href="{url}"' in page

    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "scope": "following",
            "reason": "Family moving away",
            "do": "cancel",
        },
    )

    assert response.status_code == 302
    assert "Cancelled 3 sessions" in alerts(client.get(response.headers["Location"]))
    fresh(session)
    statuses = [session.get(Appointment, a.id).status for a in course.booked]
    assert statuses == [AppointmentStatus.BOOKED] + [AppointmentStatus.CANCELLED] * 3


def test_moving_all_remaining_sessions_an_hour_earlier(app, session, desk):
    course = booked_course(session, desk)
    client = signed_in(app, Role.ADMIN)
    url = f"/admin/appointment/session/{course.booked[0].id}/course"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "scope": "all",
            "start": "2026-11-30T16:00",
            "do": "move",
        },
    )
    assert response.status_code == 302
    assert "Moved 4 sessions" in alerts(client.get(response.headers["Location"]))
    fresh(session)
    hours = {
        (session.get(Appointment, a.id).start_at - local(23, 0)).seconds // 3600
        for a in course.booked
    }
    assert hours == {16}


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.ACCOUNTANT])
def test_roles_that_may_not_book_are_refused(app, session, desk, role):
    course = booked_course(session, desk)
    client = signed_in(app, role)
    token = csrf_token(client, "/admin/")
    assert client.get(COURSE).status_code == 403
    assert client.post(COURSE, data={**course_form(desk), "csrf_token": token}).status_code == 403
    refused = client.post(
        ALTERNATIVE,
        data={
            "csrf_token": token,
            "start": (local(24, 12) + timedelta(days=7)).isoformat(),
            "series_id": str(course.series.id),
        },
    )
    assert refused.status_code == 403
    url = f"/admin/appointment/session/{course.booked[0].id}/course"
    assert client.get(url).status_code == 403
    assert 'id="book-course-link"' not in client.get("/admin/appointment/").text
    fresh(session)
    assert len(session.scalars(select(Appointment)).all()) == 4


def test_another_clinics_patient_course_and_sessions_are_refused(app, session, desk):
    theirs = book_series(
        session,
        clinic_id=desk.other_patient.clinic_id,
        patient_id=desk.other_patient.id,
        service_id=desk.other_service.id,
        therapist_id=desk.other_therapist.id,
        pattern=Pattern(weekdays=(1,), local_time=time(11), first_date=NEXT_MON, sessions=2),
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )
    audits = len(session.scalars(select(AuditLog.id)).all())
    client = signed_in(app, Role.ADMIN)

    page = post_course(client, course_form(desk, patient=desk.other_patient))
    assert 'id="course-result"' not in page.text
    assert "Choose a patient." in page.text  # not among the clinic's patients
    response = client.post(
        ALTERNATIVE,
        data={
            "csrf_token": csrf_token(client, COURSE),
            "start": (local(24, 12) + timedelta(days=7)).isoformat(),
            "series_id": str(theirs.series.id),
        },
    )
    assert "We could not find that course." in alerts(client.get(response.headers["Location"]))
    url = f"/admin/appointment/session/{theirs.booked[0].id}/course"
    assert client.get(url).status_code == 404
    token = csrf_token(client, COURSE)
    assert (
        client.post(url, data={"csrf_token": token, "scope": "all", "do": "cancel"}).status_code
        == 404
    )
    fresh(session)
    assert len(session.scalars(select(AuditLog.id)).all()) == audits


def test_leave_lists_the_sessions_it_falls_on_and_cancels_the_chosen(app, session, desk):
    wednesday = book(session, desk, desk.aarav, local(25, 10))
    thursday = book(session, desk, desk.meera, local(26, 11))
    book(session, desk, desk.meera, local(27, 11))  # Friday: after the leave
    client = signed_in(app, Role.OPERATOR)
    new = "/admin/availabilityexception/new/"
    response = client.post(
        new,
        data={
            "csrf_token": csrf_token(client, new),
            "kind": "closed",
            "therapist": str(desk.priya.id),
            "start_date": "2026-11-25",
            "end_date": "2026-11-26",
            "reason": "Conference",
        },
    )
    assert response.status_code == 302
    leave_url = response.headers["Location"]
    assert "/leave/" in leave_url
    page = client.get(leave_url).text
    assert "Dr. Priya Nair closed: Wed 25 Nov – Thu 26 Nov" in page
    listed = re.findall(r'name="ids" value="(\d+)"', page)
    assert listed == [str(wednesday.id), str(thursday.id)]

    response = client.post(
        "/admin/appointment/leave/cancel/",
        data={
            "csrf_token": csrf_token(client, leave_url),
            "exception": re.search(r'name="exception" value="(\d+)"', page).group(1),
            "ids": [str(wednesday.id)],
            "reason": "Conference",
        },
    )
    assert response.headers["Location"].endswith(leave_url)
    after = client.get(leave_url)
    assert "Cancelled 1 session" in alerts(after)
    assert re.findall(r'name="ids" value="(\d+)"', after.text) == [str(thursday.id)]
    fresh(session)
    assert session.get(Appointment, wednesday.id).status is AppointmentStatus.CANCELLED


def test_the_patients_page_leads_to_a_course_for_them(app, session, desk):
    client = signed_in(app, Role.OPERATOR)
    page = client.get(f"/admin/contact/details/?id={desk.aarav.contact_id}").text
    link = f"/admin/appointment/course/new/?patient={desk.aarav.id}"
    assert f'href="{link}"' in page
    form = client.get(link).text
    assert re.search(rf'<option selected value="{desk.aarav.id}"', form) or re.search(
        rf'value="{desk.aarav.id}" selected', form
    )
    accountant = signed_in(app, Role.ACCOUNTANT)
    page = accountant.get(f"/admin/contact/details/?id={desk.aarav.contact_id}").text
    assert "book-course" not in page


def test_with_nothing_free_an_alternative_books_a_lone_session(app, session, desk):
    taken = book(session, desk, desk.meera, local(3, 17) + timedelta(days=30))  # Thu 3 Dec, 5 pm
    client = signed_in(app, Role.ADMIN)
    page = post_course(
        client, course_form(desk, weekdays=["3"], first_date="2026-12-03", sessions="1")
    )
    assert "Booked 0 of 1 sessions." in page.text
    assert 'name="series_id"' not in page.text
    start = re.findall(r'name="start" value="([^"]+)"', page.text)[0]

    response = client.post(
        ALTERNATIVE,
        data={
            "csrf_token": csrf_token(client, COURSE),
            "start": start,
            "patient": str(desk.aarav.id),
            "service": str(desk.speech.id),
            "therapist": str(desk.priya.id),
        },
    )

    assert "/admin/appointment/details/" in response.headers["Location"]
    fresh(session)
    (lone,) = session.scalars(select(Appointment).where(Appointment.id != taken.id)).all()
    assert lone.patient_id == desk.aarav.id and lone.series_id is None
    assert session.scalars(select(AppointmentSeries)).all() == []
