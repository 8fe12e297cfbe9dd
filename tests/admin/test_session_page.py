"""The session page: one row of actions valid for the session's state and the viewer's
role, each one click through a service verb and back to the page with a flash.

NOW is Mon 23 Nov 2026, 09:00 in the clinic (Asia/Kolkata); the panel's clock here is
two hours later (CLOCK, 11:00), so today's 10:00 session has begun.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from admin.views import appointments as appointments_view
from admin.views import billing as billing_view
from admin.views import session_page
from core.db import get_db
from models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    MessageKind,
    OutboundMessage,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Role,
)
from roshni.app import create_app
from services.staff.accounts import create_staff_user
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.admin.test_appointments_admin import alerts, book, fresh, local
from tests.conftest import NOW, SYSTEM

CLOCK = NOW + timedelta(hours=2)


@pytest.fixture
def app(payments_config, monkeypatch):
    for module in (appointments_view, session_page, billing_view):
        monkeypatch.setattr(module, "utcnow", lambda: CLOCK)
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
    desk.users = {}
    for role in (Role.ADMIN, Role.OPERATOR, Role.THERAPIST, Role.ACCOUNTANT):
        desk.users[role] = create_staff_user(
            session,
            email=f"{role.value}@a.example",
            password=PASSWORD,
            role=role,
            clinic_id=clinic.id,
            actor=SYSTEM,
        )
    desk.priya.staff_user_id = desk.users[Role.THERAPIST].id
    session.commit()
    return desk


def signed_in(app, role: Role):
    client = app.test_client()
    assert log_in(client, f"{role.value}@a.example").status_code == 302
    return client


def page_url(appointment) -> str:
    return f"/admin/appointment/details/?id={appointment.id}"


def press(client, appointment, route: str, **extra):
    token = csrf_token(client, "/admin/")  # the log-out form: on every role's home
    return client.post(
        f"/admin/appointment/session/{appointment.id}/{route}",
        data={"csrf_token": token, **extra},
    )


@pytest.fixture
def under_way(session, desk):
    """Today's 10:00 session: begun by CLOCK, not yet closed."""
    return book(session, desk, desk.aarav, local(23, 10), now=NOW - timedelta(days=1))


def test_the_desk_checks_in_starts_and_completes_from_the_page(app, session, desk, under_way):
    client = signed_in(app, Role.OPERATOR)
    page = client.get(page_url(under_way)).text
    assert 'id="session-arrive"' in page and 'id="session-complete"' in page
    assert 'href="tel:+919876500001"' in page

    response = press(client, under_way, "arrive")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        page_url(under_way)
    )
    page = client.get(page_url(under_way))
    assert "Checked in" in alerts(page) and "arrived 11:00" in page.text
    assert 'id="session-arrive"' not in page.text  # done once, gone
    press(client, under_way, "start")
    page = client.get(page_url(under_way)).text
    assert 'id="session-no-show"' not in page  # under way: not a no-show
    press(client, under_way, "complete")

    fresh(session)
    done = session.get(Appointment, under_way.id)
    assert done.status is AppointmentStatus.COMPLETED
    assert done.arrived_at == done.started_at == CLOCK
    actions = session.scalars(
        select(AuditLog.action)
        .where(AuditLog.entity_type == "Appointment", AuditLog.entity_id == str(done.id))
        .order_by(AuditLog.id)
    ).all()
    assert actions[-3:] == ["appointment.arrive", "appointment.start", "appointment.completed"]


def test_a_no_show_is_one_click_and_a_refusal_is_flashed(app, session, desk, under_way):
    client = signed_in(app, Role.OPERATOR)
    press(client, under_way, "no-show")
    fresh(session)
    assert session.get(Appointment, under_way.id).status is AppointmentStatus.NO_SHOW
    response = press(client, under_way, "arrive")
    page = client.get(response.headers["Location"])
    assert "no-show, so it cannot be checked in" in alerts(page)


def test_a_future_session_offers_no_attendance_buttons(app, session, desk):
    tomorrow = book(session, desk, desk.aarav, local(24, 10))
    page = signed_in(app, Role.ADMIN).get(page_url(tomorrow)).text
    for button in ("arrive", "start", "complete", "no-show"):
        assert f'id="session-{button}"' not in page
    assert 'id="session-move"' in page and 'id="session-cancel"' in page
    assert 'id="take-payment"' in page


def test_taking_upi_on_the_page_pays_the_session_and_sends_the_receipt(
    app, session, desk, under_way
):
    client = signed_in(app, Role.OPERATOR)
    page = client.get(page_url(under_way)).text
    assert 'value="800"' in page  # prefilled with what is due (₹800.00)
    token = csrf_token(client, page_url(under_way))
    response = client.post(
        f"/admin/payment/record/?appointment_id={under_way.id}",
        data={
            "csrf_token": token,
            "contact": desk.aarav.contact_id,
            "amount": "800",
            "method": "upi",
            "reference": "UPI123",
        },
    )
    assert response.headers["Location"].endswith(page_url(under_way))
    assert "by UPI" in alerts(client.get(page_url(under_way)))

    fresh(session)
    assert session.get(Appointment, under_way.id).payment_status is PaymentStatus.PAID
    [payment] = session.scalars(select(Payment)).all()
    assert (payment.method, payment.amount_minor) == (PaymentMethod.UPI, 80000)
    assert payment.patient_id == desk.aarav.id
    receipts = session.scalars(
        select(OutboundMessage).where(OutboundMessage.kind == MessageKind.PAYMENT)
    ).all()
    assert [m.template_key for m in receipts] == ["payment_receipt"]
    assert 'id="take-payment"' not in client.get(page_url(under_way)).text


def test_a_bad_amount_on_the_page_records_nothing_and_says_why(app, session, desk, under_way):
    client = signed_in(app, Role.OPERATOR)
    token = csrf_token(client, page_url(under_way))
    response = client.post(
        f"/admin/payment/record/?appointment_id={under_way.id}",
        data={"csrf_token": token, "contact": desk.aarav.contact_id, "amount": "", "method": "upi"},
    )
    assert "Nothing was recorded" in alerts(client.get(response.headers["Location"]))
    fresh(session)
    assert session.scalars(select(Payment)).all() == []


def test_cancel_from_the_page_returns_to_it(app, session, desk):
    later = book(session, desk, desk.aarav, local(25, 10))
    client = signed_in(app, Role.OPERATOR)
    url = f"/admin/appointment/cancel/?id={later.id}&back=session"
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "reason": "Family travel"})
    assert response.headers["Location"].endswith(page_url(later))
    fresh(session)
    assert session.get(Appointment, later.id).status is AppointmentStatus.CANCELLED


@pytest.mark.parametrize(
    ("role", "route", "status"),
    [
        (Role.ACCOUNTANT, "arrive", 403),
        (Role.ACCOUNTANT, "complete", 403),
        (Role.THERAPIST, "arrive", 403),
        (Role.THERAPIST, "no-show", 403),
        (Role.THERAPIST, "complete", 302),
    ],
)
def test_each_button_follows_the_roles_matrix(app, session, desk, under_way, role, route, status):
    assert press(signed_in(app, role), under_way, route).status_code == status
    fresh(session)
    closed = session.get(Appointment, under_way.id).status is AppointmentStatus.COMPLETED
    assert closed is (status == 302)


def test_the_therapist_sees_only_the_buttons_their_role_holds(app, session, desk, under_way):
    page = signed_in(app, Role.THERAPIST).get(page_url(under_way)).text
    assert 'id="session-complete"' in page and 'id="session-note"' in page
    for absent in ("arrive", "no-show", "payment-link", "cancel", "move"):
        assert f'id="session-{absent}"' not in page
    assert 'id="take-payment"' not in page


def test_another_clinics_session_is_not_found(
    app, session, desk, make_clinic, make_therapist, make_service, make_patient
):
    other = make_clinic(name="Clinic B", slug="clinic-b")
    theirs_desk = type("D", (), {})()
    theirs_desk.clinic = other
    theirs_desk.priya = make_therapist(other)
    theirs_desk.speech = make_service(other)
    theirs = book(
        session, theirs_desk, make_patient(other), local(23, 10), now=NOW - timedelta(days=1)
    )
    client = signed_in(app, Role.ADMIN)
    for route in ("arrive", "start", "complete", "no-show", "payment-link"):
        assert press(client, theirs, route).status_code == 404
    assert client.get(f"/admin/appointment/session/{theirs.id}/actions").status_code == 404
    fresh(session)
    assert session.get(Appointment, theirs.id).arrived_at is None


def test_a_button_without_the_csrf_token_changes_nothing(app, session, desk, under_way):
    client = signed_in(app, Role.ADMIN)
    response = client.post(f"/admin/appointment/session/{under_way.id}/arrive")
    assert response.status_code == 400
    fresh(session)
    assert session.get(Appointment, under_way.id).arrived_at is None


def test_the_calendar_popover_shows_the_actions_and_they_return_to_the_calendar(
    app, session, desk, under_way
):
    client = signed_in(app, Role.OPERATOR)
    calendar = "/admin/calendar/?view=day&date=2026-11-23"
    week = client.get(calendar).text
    actions = f"/admin/appointment/session/{under_way.id}/actions"
    # The calendar's sessions come from its feed; each carries its actions' address.
    day = "start=2026-11-23T00:00:00&end=2026-11-24T00:00:00"
    feed = client.get(f"/admin/calendar/events?{day}").json
    assert actions in [event["extendedProps"]["actions"] for event in feed]
    assert "session-popover.js" in week

    popover = client.get(actions, query_string={"back": calendar})
    assert popover.status_code == 200 and "<html" not in popover.text
    assert 'id="session-arrive"' in popover.text
    assert 'name="back" value="/admin/calendar/?view=day&amp;date=2026-11-23"' in popover.text
    token = csrf_token(client, "/admin/")
    response = client.post(
        f"/admin/appointment/session/{under_way.id}/arrive",
        data={"csrf_token": token, "back": calendar},
    )
    assert response.headers["Location"].endswith(calendar)
    # Anywhere else is not a place to return to: the session page instead.
    for elsewhere in ("https://evil.example/admin/calendar/", "/admin/calendar//evil.example"):
        response = client.post(
            f"/admin/appointment/session/{under_way.id}/start",
            data={"csrf_token": token, "back": elsewhere},
        )
        assert response.headers["Location"].endswith(page_url(under_way))
        assert 'name="back"' not in client.get(actions, query_string={"back": elsewhere}).text
