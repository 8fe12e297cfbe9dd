# ruff: noqa: F811
# (the fixtures imported from test_calendar come back as test parameters)
"""The calendar page's feeds and its drag to move (admin/static/calendar.js reads them).

Sessions of the visible range in the clinic's wall clock, free times of every service,
and a dragged session moved through the reschedule service or refused in its words.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from core.db import get_db
from models import Appointment, AuditLog, BookingSource, Role
from services.scheduling.appointments import book_appointment, cancel_appointment
from services.staff.accounts import choose_language
from tests.admin.test_calendar import (  # noqa: F401 (fixtures)
    WEEK,
    app,
    book,
    clinic_a,
    clinic_b,
    csrf_token,
    ist,
    login_as,
)
from tests.conftest import NOW, SYSTEM, counting_statements

pytestmark = pytest.mark.usefixtures("frozen_clock")


def feed(client, **params):
    """The sessions EventCalendar gets for the frozen week (Mon 23 – Sun 29 Nov)."""
    params = {"start": "2026-11-23T00:00:00", "end": "2026-11-30T00:00:00", **params}
    response = client.get(f"/admin/calendar/events?{urlencode(params)}")
    assert response.status_code == 200, response.text
    return response.json


# --- the sessions' feed -------------------------------------------------------------------------


def test_the_feed_gives_the_visible_range_s_sessions_in_clinic_time(login_as, session, clinic_a):
    a = clinic_a
    tuesday = book(session, a, ist(1, 11))  # Tue 24 Nov, 11:00 IST = 05:30 UTC
    book(session, a, ist(7, 11), patient=a["other_patient"])  # the next Monday: not in view
    book(session, a, ist(1, 12), therapist=a["other_therapist"])  # another column
    client = login_as(Role.OPERATOR)

    [event] = feed(client, therapist=a["therapist"].id)

    assert event["id"] == str(tuesday.id)
    assert (event["start"], event["end"]) == ("2026-11-24T11:00:00", "2026-11-24T11:45:00")
    assert event["resourceIds"] == [str(a["therapist"].id)]
    assert event["title"] == "Aarav · Speech Therapy Session"
    assert event["extendedProps"]["status"] == "booked"
    assert event["extendedProps"]["url"].startswith(f"/admin/appointment/details/?id={tuesday.id}")
    assert event["editable"] is True
    location = a["clinic"].locations[0].id
    both = feed(client, location=location)
    assert sorted(e["extendedProps"]["therapist"] for e in both) == [
        "Dr. Meera Rao",
        "Dr. Priya Nair",
    ]
    day = feed(client, location=location, start="2026-11-24T00:00:00", end="2026-11-25T00:00:00")
    assert len(day) == 2
    assert (
        feed(client, location=location, start="2026-11-25T00:00:00", end="2026-11-26T00:00:00")
        == []
    )


def test_a_range_reversed_or_wider_than_a_month_view_is_refused(login_as, clinic_a):
    client = login_as(Role.OPERATOR)
    for start, end in (
        ("2026-11-30T00:00:00", "2026-11-23T00:00:00"),
        ("2026-01-01T00:00:00", "2026-12-31T00:00:00"),
    ):
        assert client.get(f"/admin/calendar/events?start={start}&end={end}").status_code == 400


def test_the_feed_costs_the_same_statements_for_3_or_30_sessions(app, login_as, session, clinic_a):
    a = clinic_a
    client = login_as(Role.OPERATOR)
    location = a["clinic"].locations[0].id
    url = f"/admin/calendar/events?location={location}&{WEEK}"
    starts = [ist(1 + n // 8, 9 + n % 8) for n in range(30)]  # Tue to Fri

    def statements() -> int:
        with counting_statements(get_db(app).engine) as seen:
            assert client.get(url).status_code == 200
        return len(
            [s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
        )

    for start in starts[:3]:
        book(session, a, start)
    few = statements()
    for n, start in enumerate(starts[3:]):
        book(session, a, start, patient=a["other_patient"] if n % 2 else a["patient"])
    many = statements()

    assert many == few
    assert len(client.get(url).json) == 30


def test_another_clinic_sees_none_of_these_sessions(login_as, session, clinic_a, clinic_b):
    book(session, clinic_a, ist(1, 11))
    client = login_as(Role.ADMIN)
    assert (
        client.get(
            f"/admin/calendar/events?therapist={clinic_b['therapist'].id}&{WEEK}"
        ).status_code
        == 404
    )
    assert all(e["title"].startswith("Aarav") for e in feed(client))  # clinic A's own only


def test_free_times_cover_every_service_the_therapist_offers(
    login_as, session, clinic_a, make_service
):
    a = clinic_a
    make_service(a["clinic"], name="Speech Assessment", minutes=90)
    make_service(a["clinic"], name="Physiotherapy", specialization="physio")
    book(session, a, ist(1, 10))
    client = login_as(Role.OPERATOR)

    response = client.get(f"/admin/calendar/free?therapist={a['therapist'].id}&{WEEK}")

    assert response.status_code == 200
    free = {e["start"]: e for e in response.json}
    nine = free["2026-11-24T09:00:00"]  # 45 minutes fit before the 10:00 session; 90 do not
    assert nine["display"] == "background"
    assert nine["extendedProps"]["services"] == ["Speech Therapy Session"]
    href = nine["extendedProps"]["book"]
    query = parse_qs(urlsplit(href).query)
    assert urlsplit(href).path == "/admin/calendar/book"
    assert query["start"] == ["2026-11-24T09:00"] and query["therapist"] == [str(a["therapist"].id)]
    assert query["service"] == [str(a["service"].id)]  # the only one that fits: filled in
    later = free["2026-11-24T14:00:00"]["extendedProps"]
    assert sorted(later["services"]) == ["Speech Assessment", "Speech Therapy Session"]
    assert "service" not in parse_qs(urlsplit(later["book"]).query)  # the desk chooses
    assert "2026-11-24T10:00:00" not in free  # booked
    assert not any("Physiotherapy" in e["extendedProps"]["services"] for e in response.json)


# --- drag to move ---------------------------------------------------------------------------------


def audit_count(db) -> int:
    with db.session_scope() as s:
        return s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "appointment.reschedule")
        )


def start_of(db, appointment_id: int):
    """(start, therapist) as committed."""
    with db.session_scope() as s:
        row = s.get(Appointment, appointment_id)
        return row.start_at, row.therapist_id


def test_a_dragged_session_moves_through_the_reschedule_service_audited(
    login_as, db, session, clinic_a
):
    a = clinic_a
    moving = book(session, a, ist(1, 11))
    client = login_as(Role.OPERATOR)
    token = csrf_token(client, "/admin/calendar/book")

    response = client.post(
        f"/admin/calendar/move/{moving.id}",
        data={"start": "2026-11-24T15:00:00", "therapist": str(a["other_therapist"].id)},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200, response.text
    assert response.json["ok"] is True and "Aarav" in response.json["message"]
    assert response.json["event"]["start"] == "2026-11-24T15:00:00"
    assert start_of(db, moving.id) == (ist(1, 15), a["other_therapist"].id)
    with db.session_scope() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "appointment.reschedule")).one()
        assert (row.actor_type.value, row.actor_id) == ("staff", a["users"][Role.OPERATOR].id)


def test_a_refused_move_says_why_and_changes_nothing(login_as, db, session, clinic_a):
    a = clinic_a
    moving = book(session, a, ist(1, 11))
    book(session, a, ist(1, 15), patient=a["other_patient"])
    client = login_as(Role.OPERATOR)
    token = csrf_token(client, "/admin/calendar/book")

    for start in ("2026-11-24T15:00:00", "2026-11-29T11:00:00"):  # taken; a closed Sunday
        response = client.post(
            f"/admin/calendar/move/{moving.id}", data={"start": start, "csrf_token": token}
        )
        assert response.status_code == 409, response.text
        assert response.json["ok"] is False and response.json["message"]
    assert (
        "taken"
        in client.post(
            f"/admin/calendar/move/{moving.id}",
            data={"start": "2026-11-24T15:00:00", "csrf_token": token},
        ).json["message"]
    )
    assert start_of(db, moving.id) == (ist(1, 11), a["therapist"].id)
    assert audit_count(db) == 0


def test_a_move_needs_its_csrf_token_and_a_start(login_as, db, session, clinic_a):
    a = clinic_a
    moving = book(session, a, ist(1, 11))
    client = login_as(Role.OPERATOR)
    token = csrf_token(client, "/admin/calendar/book")

    assert (
        client.post(
            f"/admin/calendar/move/{moving.id}", data={"start": "2026-11-24T15:00:00"}
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/admin/calendar/move/{moving.id}", data={"start": "soon", "csrf_token": token}
        ).status_code
        == 400
    )
    assert start_of(db, moving.id) == (ist(1, 11), a["therapist"].id)
    assert audit_count(db) == 0


def test_another_clinic_s_session_is_not_found_and_stays(login_as, db, session, clinic_a, clinic_b):
    b = clinic_b
    theirs = book_appointment(
        session,
        clinic_id=b["clinic"].id,
        patient_id=b["patient"].id,
        service_id=b["service"].id,
        therapist_id=b["therapist"].id,
        start=ist(1, 16),
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )
    client = login_as(Role.ADMIN)
    token = csrf_token(client, "/admin/calendar/book")

    response = client.post(
        f"/admin/calendar/move/{theirs.id}",
        data={"start": "2026-11-25T16:00:00", "csrf_token": token},
    )

    assert response.status_code == 404
    assert start_of(db, theirs.id)[0] == ist(1, 16)
    assert audit_count(db) == 0


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.ACCOUNTANT])
def test_roles_the_matrix_does_not_let_move_sessions_cannot_drag(
    login_as, db, session, clinic_a, role
):
    a = clinic_a
    moving = book(session, a, ist(1, 11))
    client = login_as(role)
    page = client.get("/admin/calendar/")
    assert page.status_code == 200 and '"move": null' in page.text  # no dragging offered
    token = page.text.split('data-csrf="', 1)[1].split('"', 1)[0]
    response = client.post(
        f"/admin/calendar/move/{moving.id}",
        data={"start": "2026-11-24T15:00:00", "csrf_token": token},
    )
    assert response.status_code == 403
    assert start_of(db, moving.id) == (ist(1, 11), a["therapist"].id)
    assert all(e["editable"] is False for e in feed(client))


# --- drag an end: change the length ---------------------------------------------------------


def end_of(db, appointment_id: int):
    with db.session_scope() as s:
        return s.get(Appointment, appointment_id).end_at


def test_a_session_s_dragged_end_changes_its_length_audited(login_as, db, session, clinic_a):
    a = clinic_a
    resizing = book(session, a, ist(1, 11))
    client = login_as(Role.OPERATOR)
    token = csrf_token(client, "/admin/calendar/book")
    [event] = feed(client, therapist=a["therapist"].id)
    assert event["durationEditable"] is True
    month = feed(client, therapist=a["therapist"].id, end="2026-12-31T00:00:00")
    assert month[0]["durationEditable"] is False  # a month's cells are days, not hours

    response = client.post(
        f"/admin/calendar/resize/{resizing.id}",
        data={"end": "2026-11-24T12:30:00"},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200, response.text
    assert response.json["ok"] is True and "Aarav" in response.json["message"]
    assert response.json["event"]["end"] == "2026-11-24T12:30:00"
    assert end_of(db, resizing.id) == ist(1, 12, 30)
    with db.session_scope() as s:
        row = s.scalars(
            select(AuditLog).where(AuditLog.action == "appointment.change_length")
        ).one()
        assert (row.actor_type.value, row.actor_id) == ("staff", a["users"][Role.OPERATOR].id)


def test_a_refused_resize_says_why_and_changes_nothing(login_as, db, session, clinic_a):
    a = clinic_a
    resizing = book(session, a, ist(1, 11))
    book(session, a, ist(1, 12), patient=a["other_patient"])
    client = login_as(Role.OPERATOR)
    token = csrf_token(client, "/admin/calendar/book")

    refused = client.post(
        f"/admin/calendar/resize/{resizing.id}",
        data={"end": "2026-11-24T12:30:00", "csrf_token": token},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json["ok"] is False and "taken" in refused.json["message"]
    for data in ({"end": "2026-11-24T12:30:00"}, {"end": "later", "csrf_token": token}):
        assert client.post(f"/admin/calendar/resize/{resizing.id}", data=data).status_code == 400
    assert end_of(db, resizing.id) == ist(1, 11, 45)
    with db.session_scope() as s:
        assert not s.scalars(
            select(AuditLog).where(AuditLog.action == "appointment.change_length")
        ).all()


def reads_hindi(session, user) -> None:
    choose_language(session, user_id=user.id, locale="hi", actor=SYSTEM)
    session.commit()


def test_a_hindi_reader_is_refused_in_hindi_an_english_one_in_english(
    login_as, db, session, clinic_a
):
    """The refusal is the service's sentence through the staff catalogue (the free times
    nearby after it), never the English one on a Hindi page."""
    a = clinic_a
    resizing = book(session, a, ist(1, 11))
    book(session, a, ist(1, 12), patient=a["other_patient"])
    client = login_as(Role.OPERATOR)
    token = csrf_token(client, "/admin/calendar/book")
    data = {"end": "2026-11-24T12:30:00", "csrf_token": token}

    english = client.post(f"/admin/calendar/resize/{resizing.id}", data=data)
    assert english.json["message"].startswith("Sorry, that time was just taken.")

    reads_hindi(session, a["users"][Role.OPERATOR])
    hindi = client.post(f"/admin/calendar/resize/{resizing.id}", data=data)
    assert hindi.status_code == 409
    assert hindi.json["message"].startswith("माफ़ करें, यह समय अभी-अभी बुक हो गया।")
    assert "taken" not in hindi.json["message"]
    assert end_of(db, resizing.id) == ist(1, 11, 45)


def test_the_words_inside_a_refusal_are_translated_too(login_as, session, clinic_a):
    """ "This appointment is cancelled, so it cannot be moved": the status and the verb are
    words the service marks, read in Hindi inside the Hindi sentence."""
    a = clinic_a
    moving = book(session, a, ist(1, 11))
    cancel_appointment(
        session, clinic_id=a["clinic"].id, appointment_id=moving.id, now=NOW, actor=SYSTEM
    )
    client = login_as(Role.OPERATOR)
    token = csrf_token(client, "/admin/calendar/book")
    reads_hindi(session, a["users"][Role.OPERATOR])

    refused = client.post(
        f"/admin/calendar/move/{moving.id}",
        data={"start": "2026-11-24T15:00:00", "csrf_token": token},
    )

    assert refused.status_code == 409
    assert refused.json["message"] == "यह सेशन कैंसल है, इसलिए अब यह काम (शिफ़्ट करना) नहीं हो सकता।"


def test_another_clinic_s_session_cannot_be_resized(login_as, db, session, clinic_a, clinic_b):
    b = clinic_b
    theirs = book_appointment(
        session,
        clinic_id=b["clinic"].id,
        patient_id=b["patient"].id,
        service_id=b["service"].id,
        therapist_id=b["therapist"].id,
        start=ist(1, 16),
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )
    client = login_as(Role.ADMIN)
    token = csrf_token(client, "/admin/calendar/book")
    response = client.post(
        f"/admin/calendar/resize/{theirs.id}",
        data={"end": "2026-11-24T17:30:00", "csrf_token": token},
    )
    assert response.status_code == 404
    assert end_of(db, theirs.id) == ist(1, 16, 45)
