"""The staff calendar: sessions in their clinic-local cells, free starts that book, roles."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from admin.views import calendar, calendar_booking
from core.db import get_db
from models import (
    Appointment,
    AuditLog,
    BookingSource,
    MessageKind,
    OutboundMessage,
    Role,
)
from services.scheduling.appointments import book_appointment
from services.staff.accounts import create_staff_user
from tests.conftest import NOW, SYSTEM

PASSWORD = "correct-horse-battery"
MON = NOW.date()  # Monday 23 Nov 2026; the clinic's clock reads 09:00
WEEK = "start=2026-11-23T00:00:00&end=2026-11-30T00:00:00"  # as EventCalendar asks


def ist(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A Kolkata wall-clock time in the frozen week (Mon 23 Nov + offset), as aware UTC."""
    local = datetime(2026, 11, 23 + day_offset, hour, minute, tzinfo=ZoneInfo("Asia/Kolkata"))
    return local.astimezone(UTC)


@pytest.fixture
def app(app, monkeypatch):
    monkeypatch.setattr(calendar, "utcnow", lambda: NOW)
    monkeypatch.setattr(calendar_booking, "utcnow", lambda: NOW)  # the booking form
    return app


@pytest.fixture
def clinic_a(session, make_clinic, make_therapist, make_service, make_patient):
    clinic = make_clinic(name="Clinic A", slug="clinic-a")
    out = {
        "clinic": clinic,
        "therapist": make_therapist(clinic, name="Dr. Priya Nair"),
        "other_therapist": make_therapist(clinic, name="Dr. Meera Rao"),
        "service": make_service(clinic, name="Speech Therapy Session"),
        "patient": make_patient(clinic, name="Aarav"),
        "other_patient": make_patient(clinic, name="Diya"),
        "users": {},
    }
    return out


@pytest.fixture
def login_as(app, session, clinic_a):
    """``login_as(Role.OPERATOR)``: a client signed in as a new staff user of clinic A.

    A therapist login is linked to Dr. Priya, so their calendar is hers.
    """

    def login(role: Role):
        user = create_staff_user(
            session,
            email=f"{role.value}@a.example",
            password=PASSWORD,
            role=role,
            clinic_id=clinic_a["clinic"].id,
            actor=SYSTEM,
        )
        if role is Role.THERAPIST:
            clinic_a["therapist"].staff_user_id = user.id
            session.commit()
        clinic_a["users"][role] = user
        return logged_in(app, user.email)

    return login


@pytest.fixture
def clinic_b(make_clinic, make_therapist, make_service, make_patient):
    clinic = make_clinic(name="Clinic B", slug="clinic-b", timezone="Europe/London")
    return {
        "clinic": clinic,
        "therapist": make_therapist(clinic, name="Dr. Bea Smith"),
        "service": make_service(clinic, name="Service B"),
        "patient": make_patient(clinic, name="Patient B"),
        "location": clinic.locations[0] if clinic.locations else None,
    }


def book(session, a, start, *, patient=None, therapist=None):
    return book_appointment(
        session,
        clinic_id=a["clinic"].id,
        patient_id=(patient or a["patient"]).id,
        service_id=a["service"].id,
        therapist_id=(therapist or a["therapist"]).id,
        start=start,
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )


# --- reading the page --------------------------------------------------------------------


class _Cells(HTMLParser):
    """Each calendar cell by (column, HH:MM): its text and links (class, href).

    A week's columns are days (``2026-11-24``), a day's are therapist ids.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], dict] = {}
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "cal-cell" in (attrs.get("class") or ""):
            self._cell = {"text": "", "links": []}
            self.cells[(attrs["data-column"], attrs["data-time"])] = self._cell
        elif tag == "a" and self._cell is not None:
            self._cell["links"].append((attrs.get("class") or "", attrs.get("href") or ""))

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += " " + " ".join(data.split())


def cells(html: str) -> dict[tuple[str, str], dict]:
    parser = _Cells()
    parser.feed(html)
    return parser.cells


def free_links(cell: dict) -> list[str]:
    return [unescape(href) for cls, href in cell["links"] if "cal-free" in cls]


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text
    )
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def logged_in(app, email: str):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.text
    return client


def form_values(html: str) -> dict[str, str]:
    """What the booking form would submit as it stands (inputs and selected options)."""
    values = {
        m.group(1): unescape(m.group(2))
        for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
    }
    for select_match in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', select_match.group(2)) or re.search(
            r'<option[^>]*value="([^"]*)"[^>]*selected', select_match.group(2)
        )
        values[select_match.group(1)] = chosen.group(1) if chosen else ""
    return values


def week_url(a, **extra) -> str:
    params = {"therapist": a["therapist"].id, "date": "2026-11-23", **extra}
    return "/admin/calendar/sheet?" + "&".join(f"{k}={v}" for k, v in params.items())


# --- the week ------------------------------------------------------------------------------


def test_the_week_view_puts_each_session_in_its_local_day_and_time_cell(
    login_as, session, clinic_a
):
    a = clinic_a
    tuesday = book(session, a, ist(1, 11))  # Tue 24 Nov, 11:00 IST = 05:30 UTC
    book(session, a, ist(3, 16, 15), patient=a["other_patient"])  # Thu 26 Nov, 4:15 pm
    book(session, a, ist(1, 12), therapist=a["other_therapist"])  # not in this calendar
    client = login_as(Role.OPERATOR)

    page = client.get(week_url(a))

    assert page.status_code == 200
    grid = cells(page.text)
    assert "Aarav" in grid[("2026-11-24", "11:00")]["text"]
    assert "11:00–11:45 am" in grid[("2026-11-24", "11:00")]["text"]
    assert "Diya" in grid[("2026-11-26", "16:15")]["text"]
    # Only there: not at the UTC hour (05:30), not on another day.
    assert [k for k, c in grid.items() if "Aarav" in c["text"]] == [("2026-11-24", "11:00")]
    assert "Dr. Meera Rao" not in page.text.split("<table", 1)[1]
    # The session links to its appointment; the rest of its span is shaded, not free.
    links = [href for cls, href in grid[("2026-11-24", "11:00")]["links"] if "cal-event" in cls]
    assert links and f"/admin/appointment/details/?id={tuesday.id}" in unescape(links[0])
    assert not free_links(grid[("2026-11-24", "11:30")])
    assert "cal-booked" in page.text and "badge-danger" in page.text  # booked, unpaid


def test_the_week_moves_by_seven_days_and_today_comes_back(login_as, clinic_a):
    a = clinic_a
    client = login_as(Role.ADMIN)
    page = client.get(week_url(a)).text
    next_href = unescape(re.search(r'cal-next" href="([^"]+)"', page)[1])
    assert "date=2026-11-30" in next_href
    later = client.get(next_href).text
    assert "Week of Mon 30 Nov 2026" in later
    prev_href = re.search(r'cal-prev" href="([^"]+)"', later)[1]
    assert "date=2026-11-23" in unescape(prev_href)
    today = client.get(f"/admin/calendar/sheet?therapist={a['therapist'].id}").text
    assert "Week of Mon 23 Nov 2026" in today


def test_cancelled_sessions_are_hidden_unless_asked_for_then_struck_through(
    login_as, session, clinic_a
):
    from services.scheduling.appointments import cancel_appointment

    a = clinic_a
    gone = book(session, a, ist(2, 10))
    cancel_appointment(
        session, clinic_id=a["clinic"].id, appointment_id=gone.id, now=NOW, actor=SYSTEM
    )
    client = login_as(Role.ADMIN)
    assert "Aarav" not in cells(client.get(week_url(a)).text)[("2026-11-25", "10:00")]["text"]
    shown = client.get(week_url(a, cancelled=1)).text
    assert "Aarav" in cells(shown)[("2026-11-25", "10:00")]["text"]
    assert "cal-cancelled" in shown and "<del>" in shown


def test_the_day_view_of_a_location_has_a_column_per_therapist(login_as, session, clinic_a):
    a = clinic_a
    book(session, a, ist(1, 10))
    book(session, a, ist(1, 10), patient=a["other_patient"], therapist=a["other_therapist"])
    client = login_as(Role.OPERATOR)
    location_id = a["clinic"].locations[0].id

    page = client.get(f"/admin/calendar/sheet?view=day&location={location_id}&date=2026-11-24").text

    header = page.split("<tbody", 1)[0]
    assert "Dr. Meera Rao" in header and "Dr. Priya Nair" in header
    grid = cells(page)
    assert "Aarav" in grid[(str(a["therapist"].id), "10:00")]["text"]
    assert "Diya" in grid[(str(a["other_therapist"].id), "10:00")]["text"]
    assert "Diya" not in grid[(str(a["therapist"].id), "10:00")]["text"]


# --- free slots and booking ------------------------------------------------------------------


def test_a_free_slot_links_to_a_prefilled_booking_form(login_as, clinic_a):
    a = clinic_a
    client = login_as(Role.OPERATOR)
    grid = cells(client.get(week_url(a, service=a["service"].id)).text)

    # Staff book inside the two hours' notice (walk-ins): Monday from now on is free;
    # Sunday is closed.
    assert free_links(grid[("2026-11-23", "09:15")])
    assert free_links(grid[("2026-11-23", "10:45")])
    assert not free_links(grid.get(("2026-11-29", "10:00"), {"links": []}))
    [href] = free_links(grid[("2026-11-24", "10:00")])
    query = parse_qs(urlsplit(href).query)
    assert urlsplit(href).path == "/admin/calendar/book"
    assert query["start"] == ["2026-11-24T10:00"]
    assert query["therapist"] == [str(a["therapist"].id)]

    form = client.get(href)
    assert form.status_code == 200
    values = form_values(form.text)
    assert values["start"] == "2026-11-24T10:00"
    assert values["therapist"] == str(a["therapist"].id)
    assert values["service"] == str(a["service"].id)
    assert "Aarav" in form.text and 'id="cal-book-submit"' in form.text


def test_booking_through_the_form_creates_the_appointment_audited_with_reminders(
    login_as, db, clinic_a
):
    a = clinic_a
    client = login_as(Role.OPERATOR)
    back = week_url(a, service=a["service"].id)
    [href] = free_links(cells(client.get(back).text)[("2026-11-24", "10:00")])
    values = form_values(client.get(href).text)

    response = client.post(
        "/admin/calendar/book", data={**values, "patient": str(a["patient"].id), "book": "1"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == back
    with db.session_scope() as s:
        [appointment] = s.scalars(select(Appointment)).all()
        assert appointment.start_at == ist(1, 10)
        assert appointment.therapist_id == a["therapist"].id
        assert appointment.source is BookingSource.ADMIN
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "appointment.book")).one()
        assert (audit.actor_type.value, audit.actor_id) == ("staff", a["users"][Role.OPERATOR].id)
        reminders = s.scalars(
            select(OutboundMessage.due_at).where(
                OutboundMessage.appointment_id == appointment.id,
                OutboundMessage.kind == MessageKind.REMINDER,
            )
        ).all()
        assert sorted(reminders) == [ist(0, 10), ist(1, 8)]  # 24 h and 2 h before
    page = client.get(back).text
    assert "Booked APT-2026-" in page
    grid = cells(page)
    assert "Aarav" in grid[("2026-11-24", "10:00")]["text"]
    assert not free_links(grid[("2026-11-24", "10:00")])


def test_a_slot_taken_meanwhile_says_just_taken_with_alternatives_and_books_nothing(
    login_as, db, session, clinic_a
):
    a = clinic_a
    client = login_as(Role.OPERATOR)
    [href] = free_links(cells(client.get(week_url(a)).text)[("2026-11-24", "10:00")])
    values = form_values(client.get(href).text)
    taken = book(session, a, ist(1, 10), patient=a["other_patient"])  # someone else, first

    response = client.post(
        "/admin/calendar/book",
        data={**values, "patient": str(a["patient"].id), "book": "1"},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "that time was just taken" in response.text
    assert "cal-alternative" in response.text  # each one refills the form
    assert "Tue 24 Nov, 10:45 am" in response.text  # the nearest free start
    assert form_values(response.text)["patient"] == str(a["patient"].id)  # nothing to retype
    with db.session_scope() as s:
        assert s.scalars(select(Appointment.id)).all() == [taken.id]


def test_a_refused_time_is_a_message_not_an_error(login_as, db, clinic_a):
    a = clinic_a
    client = login_as(Role.ADMIN)
    token = csrf_token(client, f"/admin/calendar/book?service={a['service'].id}")
    response = client.post(
        "/admin/calendar/book",
        data={
            "csrf_token": token,
            "patient": str(a["patient"].id),
            "service": str(a["service"].id),
            "therapist": "",
            # After closing. (Inside the notice is no refusal for staff: walk-ins.)
            "start": "2026-11-23T20:00",
            "book": "1",
        },
    )
    assert response.status_code == 200
    assert "not open for that session at that time" in response.text
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == 0


def test_booking_needs_its_csrf_token(login_as, db, clinic_a):
    a = clinic_a
    client = login_as(Role.ADMIN)
    response = client.post(
        "/admin/calendar/book",
        data={
            "patient": str(a["patient"].id),
            "service": str(a["service"].id),
            "start": "2026-11-24T10:00",
        },
    )
    assert response.status_code == 400
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == 0


# --- tenancy and roles ------------------------------------------------------------------------


def test_another_clinics_ids_in_the_url_are_not_found(login_as, db, clinic_a, clinic_b):
    a, b = clinic_a, clinic_b
    client = login_as(Role.ADMIN)
    b_location = b["clinic"].locations[0].id
    for url in (
        f"/admin/calendar/?therapist={b['therapist'].id}",
        f"/admin/calendar/?show=therapist:{b['therapist'].id}",
        f"/admin/calendar/?location={b_location}",
        f"/admin/calendar/sheet?therapist={a['therapist'].id}&service={b['service'].id}",
        "/admin/calendar/?therapist=abc",
        f"/admin/calendar/events?therapist={b['therapist'].id}",
        f"/admin/calendar/events?location={b_location}",
        f"/admin/calendar/free?therapist={b['therapist'].id}",
    ):
        assert client.get(url).status_code == 404, url
    # Booking clinic B's patient or service from clinic A is refused and stores nothing.
    token = csrf_token(client, "/admin/calendar/book")
    for patient, service in ((b["patient"], a["service"]), (a["patient"], b["service"])):
        response = client.post(
            "/admin/calendar/book",
            data={
                "csrf_token": token,
                "patient": str(patient.id),
                "service": str(service.id),
                "start": "2026-11-24T10:00",
                "book": "1",
            },
        )
        assert response.status_code == 200
        assert "could not find" in response.text
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == 0


def test_an_accountant_reads_the_calendar_but_gets_no_booking_form(login_as, db, session, clinic_a):
    a = clinic_a
    book(session, a, ist(1, 11))
    client = login_as(Role.ACCOUNTANT)
    page = client.get(week_url(a, service=a["service"].id))
    assert page.status_code == 200
    assert "Aarav" in page.text
    assert "cal-free" not in page.text
    assert client.get(f"/admin/calendar/book?service={a['service'].id}").status_code == 403
    token = csrf_token(client, "/admin/")  # the logout form carries one
    response = client.post(
        "/admin/calendar/book",
        data={
            "csrf_token": token,
            "patient": str(a["patient"].id),
            "service": str(a["service"].id),
            "start": "2026-11-24T10:00",
            "book": "1",
        },
    )
    assert response.status_code == 403
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == 1


def test_a_therapist_sees_only_their_own_calendar(login_as, session, clinic_a):
    a = clinic_a
    book(session, a, ist(1, 11))
    book(session, a, ist(1, 12), patient=a["other_patient"], therapist=a["other_therapist"])
    client = login_as(Role.THERAPIST)

    page = client.get("/admin/calendar/?date=2026-11-23")
    feed = client.get(f"/admin/calendar/events?{WEEK}")

    assert page.status_code == 200
    assert "Aarav" in feed.text and "Diya" not in feed.text
    assert '"free": null' in page.text and '"move": null' in page.text  # no booking, no drag
    assert [e["editable"] for e in feed.json] == [False]
    sheet = client.get("/admin/calendar/sheet?date=2026-11-23")
    assert "Aarav" in sheet.text and "Diya" not in sheet.text and "cal-free" not in sheet.text
    other = a["other_therapist"].id
    assert client.get(f"/admin/calendar/sheet?therapist={other}").status_code == 403
    assert client.get(f"/admin/calendar/?therapist={other}").status_code == 403
    assert client.get(f"/admin/calendar/events?therapist={other}&{WEEK}").status_code == 403
    location = a["clinic"].locations[0].id
    sheet = client.get(f"/admin/calendar/sheet?location={location}&date=2026-11-23")
    assert "Diya" not in sheet.text
    assert "Diya" not in client.get(f"/admin/calendar/events?location={location}&{WEEK}").text
    assert client.get("/admin/calendar/book").status_code == 403
    assert client.get(f"/admin/calendar/free?{WEEK}").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(app):
    response = app.test_client().get("/admin/calendar/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --- cost -------------------------------------------------------------------------------------


def test_a_page_costs_the_same_statements_for_3_or_30_sessions(app, login_as, session, clinic_a):
    a = clinic_a
    client = login_as(Role.OPERATOR)
    location = a["clinic"].locations[0].id
    urls = (
        week_url(a, service=a["service"].id),
        f"/admin/calendar/sheet?location={location}&date=2026-11-23&service={a['service'].id}",
        f"/admin/calendar/sheet?view=day&location={location}&date=2026-11-24",
    )
    engine = get_db(app).engine

    def statements(url: str) -> int:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    starts = [ist(1 + n // 10, 9) + timedelta(minutes=45 * (n % 10)) for n in range(30)]
    for start in starts[:3]:
        book(session, a, start)
    few = {url: statements(url) for url in urls}
    for n, start in enumerate(starts[3:]):
        book(session, a, start, patient=a["other_patient"] if n % 2 else a["patient"])
    many = {url: statements(url) for url in urls}

    assert many == few
    page = client.get(urls[0]).text
    assert page.count("cal-event ") == 30


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ACCOUNTANT])
def test_the_new_booking_shortcut_opens_the_calendar_s_booking_form(login_as, clinic_a, role):
    """ "n" (admin/static/shortcuts.js) goes where the help panel's ``data-new`` says: the
    booking form a free time opens, for those who may book; nowhere for the others."""
    client = login_as(role)
    page = client.get("/admin/calendar/").text
    if role is Role.OPERATOR:
        assert 'data-new="/admin/calendar/book"' in page
        assert client.get("/admin/calendar/book").status_code == 200
    else:
        assert "data-new=" not in page
