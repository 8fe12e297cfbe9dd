"""The dashboard: right numbers for a known clinic, per role, in a fixed number of statements."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from core.db import get_db
from models import BookingSource, ExceptionKind, PaymentMethod, Role
from services.audit import Actor
from services.billing import invoices as billing
from services.billing import payments, refunds
from services.clinics import catalog
from services.reports import dashboard as reports
from services.scheduling import appointments
from services.staff.accounts import create_staff_user
from tests.admin.test_admin import PASSWORD, log_in
from tests.conftest import NOW, SYSTEM, staff_logins

KOLKATA = ZoneInfo("Asia/Kolkata")
STAFF = Actor.staff(1)
CHART_JS = "/admin-assets/vendor/chart.js/chart.umd.min.js"
DASHBOARD_JS = "/admin-assets/dashboard.js"


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Kolkata wall-clock time in 2026 as an aware datetime (NOW is Mon 23 Nov, 09:00)."""
    return datetime(2026, month, day, hour, minute, tzinfo=KOLKATA)


@pytest.fixture
def frozen(monkeypatch):
    """The dashboard's clock, stopped at NOW."""
    monkeypatch.setattr("admin.views.dashboard.utcnow", lambda: NOW)


@pytest.fixture
def book(session):
    def make(clinic, patient, service, start, therapist):
        return appointments.book_appointment(
            session,
            clinic_id=clinic.id,
            patient_id=patient.id,
            service_id=service.id,
            therapist_id=therapist.id,
            start=start,
            now=start - timedelta(days=1),  # booked the day before, so the past is bookable
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )

    return make


@pytest.fixture
def scenario(session, make_clinic, make_therapist, make_service, make_patient, book):
    """One clinic with known hours, sessions and money (figures worked out in each test).

    Hours over Mon 23 – Sun 29 Nov: Priya Mon–Fri 9–18, Sat 9–13 (49 h) less a clinic-wide
    closure Fri 9–13 = 45 h; Ravi Mon–Fri 10–14 (20 h), closed Wed (−4 h), Fri 10–13 closed
    (−3 h), extra Sun 10–12 (+2 h) = 15 h.
    """
    clinic = make_clinic(name="Roshni Test", slug="roshni-test", min_notice_hours=0)
    location_id = clinic.locations[0].id
    priya = make_therapist(clinic, name="Priya Nair", specialization="speech")
    ravi = make_therapist(
        clinic,
        name="Ravi Kumar",
        specialization="occupational",
        hours={d: (time(10), time(14)) for d in range(5)},
    )
    for kind, therapist, location, day, start, end in (
        (ExceptionKind.CLOSED, ravi, None, date(2026, 11, 25), None, None),
        (ExceptionKind.CLOSED, None, None, date(2026, 11, 27), time(9), time(13)),
        (ExceptionKind.EXTRA, ravi, location_id, date(2026, 11, 29), time(10), time(12)),
    ):
        catalog.add_exception(
            session,
            clinic_id=clinic.id,
            kind=kind,
            therapist_id=therapist.id if therapist else None,
            location_id=location,
            start_date=day,
            end_date=day,
            start=start,
            end=end,
            actor=SYSTEM,
        )
    speech = make_service(clinic, name="Speech", specialization="speech", minutes=45, price=80000)
    group = make_service(
        clinic, name="Social group", specialization="speech", minutes=60, price=50000, capacity=3
    )
    ot = make_service(clinic, name="OT", specialization="occupational", minutes=60, price=100000)
    aarav = make_patient(clinic, name="Aarav")
    meera = make_patient(clinic, name="Meera")
    kabir = make_patient(clinic, name="Kabir")
    payer = make_patient(clinic, name="Payer Child")

    def close(appointment, how):
        verb = {
            "completed": appointments.complete_appointment,
            "no_show": appointments.mark_no_show,
        }.get(how)
        if verb is not None:
            verb(session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=STAFF)
        elif how == "cancelled":
            appointments.cancel_appointment(
                session,
                clinic_id=clinic.id,
                appointment_id=appointment.id,
                now=NOW - timedelta(days=40),
                actor=STAFF,
                reason="unwell",
            )

    # The last 30 days: Priya 4 completed, 1 no-show, 1 cancelled; Ravi 2, 1, 1.
    past = [
        (priya, speech, aarav, local(2, 10), "completed"),
        (priya, speech, aarav, local(9, 10), "completed"),
        (priya, speech, meera, local(16, 10), "completed"),
        (priya, speech, meera, local(20, 11), "completed"),
        (priya, speech, kabir, local(18, 10), "no_show"),
        (priya, speech, kabir, local(19, 10), "cancelled"),
        (ravi, ot, kabir, local(3, 11), "completed"),
        (ravi, ot, meera, local(10, 11), "completed"),
        (ravi, ot, aarav, local(17, 11), "no_show"),
        (ravi, ot, aarav, local(12, 11), "cancelled"),
        # 31 days ago: outside the window.
        (priya, speech, kabir, NOW - timedelta(days=31), "no_show"),
    ]
    for therapist, service, patient, start, how in past:
        close(book(clinic, patient, service, start, therapist), how)

    # Today and the week ahead (cancelled ones count nowhere but in today's list).
    ahead = [
        (priya, speech, aarav, local(23, 10), None),
        (priya, speech, meera, local(23, 11), "confirm"),
        (priya, speech, kabir, local(23, 14), "cancel"),
        (ravi, ot, kabir, local(23, 10), None),
        (priya, speech, meera, local(24, 10), None),
        (priya, group, aarav, local(25, 15), None),
        (priya, group, meera, local(25, 15), None),
        (ravi, ot, aarav, local(26, 11), None),
        (ravi, ot, meera, local(29, 10), None),
        (priya, speech, kabir, local(30, 10), None),  # day 8: outside
    ]
    for therapist, service, patient, start, how in ahead:
        booked = book(clinic, patient, service, start, therapist)
        if how == "confirm":
            appointments.confirm_appointment(
                session, clinic_id=clinic.id, appointment_id=booked.id, now=NOW, actor=STAFF
            )
        elif how == "cancel":
            appointments.cancel_appointment(
                session, clinic_id=clinic.id, appointment_id=booked.id, now=NOW, actor=STAFF
            )

    # Money on account of a contact with no invoices, so nothing settles it.
    def pay(amount, when):
        return payments.record_payment(
            session,
            clinic_id=clinic.id,
            contact_id=payer.contact_id,
            amount_minor=amount,
            method=PaymentMethod.CASH,
            now=when,
            actor=STAFF,
        )

    def refund(payment, amount, when):
        refunds.refund_payment(
            session,
            clinic_id=clinic.id,
            payment_id=payment.id,
            amount_minor=amount,
            reason="overpaid",
            now=when,
            actor=STAFF,
        )

    today_cash = pay(80000, NOW)
    pay(100000, datetime(2026, 10, 31, 19, 0, tzinfo=UTC))  # 1 Nov 00:30 in Kolkata: November
    october = pay(50000, datetime(2026, 10, 31, 18, 0, tzinfo=UTC))  # 31 Oct 23:30: October
    refund(today_cash, 30000, NOW)
    refund(october, 10000, datetime(2026, 10, 31, 18, 10, tzinfo=UTC))
    return {"clinic": clinic, "priya": priya, "ravi": ravi, "patients": (aarav, meera, kabir)}


# --- the numbers -----------------------------------------------------------------------


def test_todays_sessions_are_grouped_by_therapist_with_their_status(session, scenario):
    days = reports.todays_sessions(session, scenario["clinic"].id, now=NOW, zone=KOLKATA)
    summary = {
        d.name: [(s.start.astimezone(KOLKATA).hour, s.patient, s.status.value) for s in d.sessions]
        for d in days
    }
    assert summary == {
        "Priya Nair": [
            (10, "Aarav", "booked"),
            (11, "Meera", "confirmed"),
            (14, "Kabir", "cancelled"),
        ],
        "Ravi Kumar": [(10, "Kabir", "booked")],
    }


def test_the_week_ahead_counts_sessions_per_day_and_per_therapist(session, scenario):
    week = reports.week_ahead(session, scenario["clinic"].id, now=NOW, zone=KOLKATA)
    assert week.days[0] == date(2026, 11, 23) and week.days[-1] == date(2026, 11, 29)
    assert week.sessions_per_day == [3, 1, 2, 1, 0, 0, 1]
    by_name = {t.name: t for t in week.therapists}
    assert by_name["Priya Nair"].sessions_per_day == [2, 1, 2, 0, 0, 0, 0]
    assert by_name["Ravi Kumar"].sessions_per_day == [1, 0, 0, 1, 0, 0, 1]


def test_utilisation_is_booked_over_available_hours_with_exceptions(session, scenario):
    week = reports.week_ahead(session, scenario["clinic"].id, now=NOW, zone=KOLKATA)
    priya, ravi = sorted(week.therapists, key=lambda t: t.name)
    # Priya: 45 + 45 + 45 min of speech and one 60-minute group session (two seats, one hour).
    assert (priya.booked_minutes, priya.available_minutes) == (195, 45 * 60)
    assert (ravi.booked_minutes, ravi.available_minutes) == (180, 15 * 60)
    assert ravi.utilisation == pytest.approx(0.2)
    assert week.utilisation == pytest.approx(375 / 3600)


def test_no_show_and_cancellation_rates_cover_the_last_30_days(session, scenario):
    rates = reports.attendance(session, scenario["clinic"].id, now=NOW)
    assert (rates.scheduled, rates.completed, rates.no_show, rates.cancelled) == (10, 6, 2, 2)
    assert rates.no_show_rate == pytest.approx(2 / 8)
    assert rates.cancellation_rate == pytest.approx(2 / 10)
    own = reports.attendance(
        session, scenario["clinic"].id, now=NOW, therapist_id=scenario["priya"].id
    )
    assert (own.scheduled, own.no_show, own.cancelled) == (6, 1, 1)


def test_money_is_this_local_months_payments_less_refunds_and_all_dues(session, scenario):
    clinic_id = scenario["clinic"].id
    money = reports.month_money(session, clinic_id, now=NOW, zone=KOLKATA)
    assert money.month_start == date(2026, 11, 1)
    assert (money.received_minor, money.refunded_minor) == (180000, 30000)
    assert money.collected_minor == 150000
    # Six completed sessions were invoiced and nobody paid them: 4 × ₹800 + 2 × ₹1,000.
    assert money.outstanding_minor == 520000
    assert money.outstanding_minor == sum(
        billing.outstanding_by_contact(session, clinic_id).values()
    )
    assert money.owing_contacts == 3


def test_a_clinic_with_nothing_yet_reads_as_zeros(session, make_clinic):
    clinic = make_clinic()
    assert reports.todays_sessions(session, clinic.id, now=NOW, zone=KOLKATA) == []
    assert reports.week_ahead(session, clinic.id, now=NOW, zone=KOLKATA).therapists == []
    rates = reports.attendance(session, clinic.id, now=NOW)
    assert rates.no_show_rate is None and rates.cancellation_rate is None
    money = reports.month_money(session, clinic.id, now=NOW, zone=KOLKATA)
    assert (money.collected_minor, money.outstanding_minor, money.owing_contacts) == (0, 0, 0)


# --- who sees what ---------------------------------------------------------------------


@pytest.fixture
def staff(session, scenario):
    """One login per role at the scenario clinic; the therapist is Priya."""
    users = staff_logins(session, scenario["clinic"].id, password=PASSWORD, domain="dash.example")
    scenario["priya"].staff_user_id = users[Role.THERAPIST].id
    session.commit()
    return users


def dashboard_as(app, email: str) -> str:
    client = app.test_client()
    assert log_in(client, email).status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200
    return page.text


def chart_data(page: str) -> dict:
    match = re.search(
        r'<script [^>]*type="application/json" id="dashboard-data">(.*?)</script>', page, re.S
    )
    return json.loads(match.group(1)) if match else {}


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert match, f"#{element_id} not on the page"
    return match.group(1).strip()


def test_an_admin_sees_the_whole_clinic_and_its_money(app, staff, frozen):
    page = dashboard_as(app, "admin@dash.example")
    assert text_of(page, "revenue-collected") == "₹1,500.00"
    assert text_of(page, "dues-outstanding") == "₹5,200.00"
    assert text_of(page, "no-show-rate") == "25%"
    assert text_of(page, "cancellation-rate") == "20%"
    for name in ("Priya Nair", "Ravi Kumar", "Aarav", "Meera", "Kabir"):
        assert name in page
    assert 'badge badge-primary">confirmed' in page and 'badge-secondary">cancelled' in page
    charts = chart_data(page)
    assert set(charts) == {"load", "utilisation", "money"}
    assert charts["utilisation"]["datasets"][0]["data"] == [7.2, 20.0]
    assert charts["money"]["datasets"][0]["data"] == [1500.0, 5200.0]
    assert CHART_JS in page and DASHBOARD_JS in page


def test_an_operator_sees_the_basics_but_no_money(app, staff, frozen):
    page = dashboard_as(app, "operator@dash.example")
    assert "Aarav" in page and "Ravi Kumar" in page
    assert text_of(page, "no-show-rate") == "25%"
    assert "revenue-collected" not in page and "dues-outstanding" not in page
    assert "₹" not in page
    assert set(chart_data(page)) == {"load", "utilisation"}


def test_a_therapist_sees_only_their_own_sessions_and_numbers(app, scenario, staff, frozen):
    page = dashboard_as(app, "therapist@dash.example")
    assert "Priya Nair" in page and "Aarav" in page
    assert "Ravi Kumar" not in page
    assert "₹" not in page
    assert text_of(page, "no-show-rate") == "20%"  # 1 of Priya's 5 held or missed
    assert text_of(page, "cancellation-rate") == "17%"  # 1 of her 6
    assert set(re.findall(r'data-therapist="(\d+)"', page)) == {str(scenario["priya"].id)}
    charts = chart_data(page)
    assert charts["utilisation"]["labels"] == ["Priya Nair"]
    assert [d["label"] for d in charts["load"]["datasets"]] == ["Priya Nair"]


def test_an_unlinked_therapist_is_told_why_the_dashboard_is_empty(
    app,
    session,
    scenario,
    staff,
    frozen,
):
    scenario["priya"].staff_user_id = None
    session.commit()
    page = dashboard_as(app, "therapist@dash.example")
    assert "not linked to a therapist" in page
    assert "Aarav" not in page and "dashboard-data" not in page


def test_an_accountant_sees_money_and_totals_without_patients(app, staff, frozen):
    page = dashboard_as(app, "accountant@dash.example")
    assert text_of(page, "revenue-collected") == "₹1,500.00"
    assert text_of(page, "dues-outstanding") == "₹5,200.00"
    for name in ("Aarav", "Meera", "Kabir", "Priya Nair", "Ravi Kumar"):
        assert name not in page
    charts = chart_data(page)
    assert set(charts) == {"load", "money"}
    assert charts["load"]["datasets"] == [{"label": "Sessions", "data": [3, 1, 2, 1, 0, 0, 1]}]


def test_a_superadmin_sees_the_clinics_with_their_counts(app, staff, session, frozen):
    create_staff_user(
        session, email="root@dash.example", password=PASSWORD, role=Role.SUPERADMIN, actor=SYSTEM
    )
    page = dashboard_as(app, "root@dash.example")
    row = re.search(r"<tr>\s*<td>Roshni Test</td>(.*?)</tr>", page, re.S)
    assert row
    cells = re.findall(r'<td class="text-right">(\d+)</td>', row.group(1))
    # 4 staff (the superadmin has no clinic), 4 patients, 8 active sessions in the next 7 days
    # from 09:00 Monday (the cancelled one and the one a week later left out).
    assert cells == ["4", "4", "8"]
    assert "Aarav" not in page


# --- speed and assets ------------------------------------------------------------------


def count_statements(engine, action) -> int:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(seen)


def test_the_dashboard_costs_the_same_statements_for_5_or_50_sessions(
    app,
    session,
    make_clinic,
    make_therapist,
    make_service,
    make_patient,
    book,
    frozen,
):

    counts = {}
    for size in (5, 50):
        clinic = make_clinic(name=f"Clinic {size}", slug=f"size-{size}", min_notice_hours=0)
        therapists = [
            make_therapist(clinic, name=f"T{size}-{n}", specialization="speech") for n in range(2)
        ]
        service = make_service(clinic, name="Speech", specialization="speech", minutes=45)
        patients_ = [make_patient(clinic, name=f"P{size}-{n}") for n in range(5)]
        starts = [
            local(day, hour)
            for day in (16, 17, 18, 19, 20, 23, 24, 25, 26)
            for hour in range(10, 17)
        ]
        # Spread over past, today and future (5 and 63 are coprime: no start used twice).
        made = [
            book(clinic, patients_[n % 5], service, starts[(n // 2 * 5) % 63], therapists[n % 2])
            for n in range(size)
        ]
        for appointment in made:
            if appointment.start_at < NOW - timedelta(hours=3):
                appointments.complete_appointment(
                    session,
                    clinic_id=clinic.id,
                    appointment_id=appointment.id,
                    now=NOW,
                    actor=STAFF,
                )
        create_staff_user(
            session,
            email=f"admin{size}@dash.example",
            password=PASSWORD,
            role=Role.ADMIN,
            clinic_id=clinic.id,
            actor=SYSTEM,
        )
        client = app.test_client()
        log_in(client, f"admin{size}@dash.example")
        assert client.get("/admin/").status_code == 200  # warm: templates, caches

        def load(client=client):
            assert client.get("/admin/").status_code == 200

        counts[size] = count_statements(get_db(app).engine, load)
    assert counts[5] == counts[50], counts


def test_the_chart_scripts_are_served_by_the_app(app):
    client = app.test_client()
    for url in (CHART_JS, DASHBOARD_JS):
        with client.get(url) as response:  # a file response: close it
            assert response.status_code == 200, url
            assert "javascript" in response.content_type, url
            if url == CHART_JS:
                assert b"Chart.js v4" in response.data
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp


def test_today_shows_who_is_next_and_checks_a_patient_in_inline(
    app, scenario, staff, frozen, monkeypatch
):
    monkeypatch.setattr("admin.views.session_page.utcnow", lambda: NOW)
    client = app.test_client()
    assert log_in(client, "operator@dash.example").status_code == 302
    page = client.get("/admin/").text
    # Priya's first of the day, Aarav's 10:00, is next.
    row = re.search(
        r'<li class="list-group-item py-2 list-group-item-warning" '
        r'data-session="(\d+)">(.*?)</li>',
        page,
        re.S,
    )
    assert row and "Aarav" in row.group(2) and "next" in row.group(2)
    session_id = row.group(1)
    assert f'href="/admin/appointment/details/?id={session_id}"' in page
    assert f'id="today-arrive-{session_id}"' in page
    assert f'id="today-complete-{session_id}"' not in page  # not begun at 09:00
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    response = client.post(
        f"/admin/appointment/session/{session_id}/arrive",
        data={"csrf_token": token, "back": "today"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    page = client.get("/admin/").text
    assert "Checked in" in page and "arrived 9:00" in page
    assert f'id="today-arrive-{session_id}"' not in page
    therapist_page = dashboard_as(app, "therapist@dash.example")
    assert "today-arrive-" not in therapist_page  # check-in is the desk's
