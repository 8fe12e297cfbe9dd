"""The roles matrix's rules one by one: what each role may see and do, case by case, on
the two-clinic world the walk in ``test_roles`` builds (its ``world`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from admin import permissions
from models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    Clinic,
    Payment,
    PaymentMethod,
    Role,
    StaffUser,
    Therapist,
    WeeklyHours,
)
from services.scheduling.appointments import book_appointment
from tests.admin.test_admin import PASSWORD, log_in
from tests.admin.test_roles import (
    NOT_MINE,
    OTHER_CLINIC,
    admin_views,
    expected,
    login,
    text_of,
    view_routes,
    world,
)
from tests.conftest import SYSTEM

__all__ = ["world"]  # the fixture, shared with the walk


def test_a_therapist_sees_only_their_own_patients_sessions_and_money(app, world):
    client, _ = login(app, world, "therapist")
    for url in (
        "/admin/patient/",
        "/admin/contact/",
        "/admin/appointment/",
        "/admin/payment/",
        "/admin/invoice/",
        "/admin/dues/",
        "/admin/weeklyhours/",
        "/admin/availabilityexception/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert NOT_MINE not in page.text.lower(), url
    assert "Olivia Ownpatient" in client.get("/admin/patient/").text
    assert "Olivia Ownpatient" in client.get("/admin/appointment/").text
    other = world.rows["other"]
    for url in (
        f"/admin/invoice/pdf/{other['invoice'].id}.pdf",
        f"/admin/payment/receipt/{other['payment'].id}.pdf",
    ):
        assert client.get(url).status_code == 404, url


@pytest.mark.usefixtures("frozen_clock")
def test_a_therapist_completes_their_own_session_only(app, world, session):
    # Sessions that have started by the panel's clock (frozen at NOW, Monday 23 Nov
    # 2026): Monday 16 Nov 2026, booked the Saturday before.
    start, booked_at = datetime(2026, 11, 16, 5, 30, tzinfo=UTC), datetime(2026, 11, 14, tzinfo=UTC)
    past = {}
    for key in ("own", "other"):
        original = world.rows[key]["appointment"]
        past[key] = book_appointment(
            session,
            clinic_id=world.a.id,
            patient_id=original.patient_id,
            service_id=original.service_id,
            therapist_id=original.therapist_id,
            start=start,
            now=booked_at,
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )
    client, token = login(app, world, "therapist")
    for appointment in past.values():
        client.post(
            "/admin/appointment/action/",
            data={"csrf_token": token, "action": "complete", "rowid": [str(appointment.id)]},
        )
    session.rollback()
    session.expire_all()
    assert session.get(Appointment, past["own"].id).status is AppointmentStatus.COMPLETED
    assert session.get(Appointment, past["other"].id).status is AppointmentStatus.BOOKED
    cancel = client.post(
        "/admin/appointment/action/",
        data={"csrf_token": token, "action": "cancel", "rowid": [str(past["own"].id)]},
    )
    assert cancel.status_code == 403


@pytest.mark.usefixtures("frozen_clock")
def test_the_calendar_s_feeds_and_drag_follow_the_matrix(app, world, session):
    """The calendar's JSON routes, role by role: everyone reads their sessions (a therapist
    their own), the desk sees free times and drags sessions; the walk above reaches them."""
    (calendar,) = [v for v in admin_views(app) if v.endpoint == "calendar"]
    routes = {name for name, _ in view_routes(app, calendar)}
    assert {"index", "sheet", "events", "free", "move", "resize", "book"} <= routes
    week = "start=2026-11-23T00:00:00&end=2026-11-30T00:00:00"
    own = world.rows["own"]["appointment"]
    desk = {"admin": "16:00", "operator": "17:00"}  # each moves the session somewhere new
    for role in ("admin", "operator", "therapist", "accountant"):
        client, token = login(app, world, role)
        events = client.get(f"/admin/calendar/events?{week}")
        assert events.status_code == 200, role
        patients = {e["extendedProps"]["patient"] for e in events.json}
        if role == "therapist":
            assert patients == {"Olivia Ownpatient"}
        else:
            assert patients == {"Olivia Ownpatient", "Oscar Notmine"}, role
        free = client.get(f"/admin/calendar/free?{week}")
        assert free.status_code == (200 if role in desk else 403), role
        to = desk.get(role, "18:00")
        moved = client.post(
            f"/admin/calendar/move/{own.id}",
            data={"csrf_token": token, "start": f"2026-11-24T{to}:00"},
        )
        session.rollback()
        session.expire_all()
        start = session.get(Appointment, own.id).start_at.astimezone(ZoneInfo("Asia/Kolkata"))
        if role in desk:
            assert moved.status_code == 200, (role, moved.text)
            assert start.strftime("%H:%M") == to
        else:
            assert moved.status_code == 403, role
            assert start.strftime("%H:%M") == "17:00"  # where the operator left it
        end = f"{start:%H}:30"  # a 30-minute session
        resized = client.post(
            f"/admin/calendar/resize/{own.id}",
            data={"csrf_token": token, "end": f"2026-11-24T{end}:00"},
        )
        session.rollback()
        session.expire_all()
        ends = session.get(Appointment, own.id).end_at.astimezone(ZoneInfo("Asia/Kolkata"))
        if role in desk:
            assert resized.status_code == 200, (role, resized.text)
            assert ends.strftime("%H:%M") == end
        else:
            assert resized.status_code == 403, role
            assert ends.strftime("%H:%M") == "17:30"  # as the operator left it


def test_a_therapist_keeps_their_own_hours_and_no_one_else_s(app, world, session):
    client, token = login(app, world, "therapist")
    own_id = next(iter(world.own["therapist"]))
    other_id = session.scalar(select(Therapist.id).where(Therapist.name == "Dr. Omar Second"))
    location_id = world.a.locations[0].id

    def add(therapist_id: int):
        return client.post(
            "/admin/weeklyhours/new/",
            data={
                "csrf_token": token,
                "therapist": str(therapist_id),
                "location": str(location_id),
                "weekday": "6",
                "start_time": "10:00",
                "end_time": "12:00",
            },
            follow_redirects=True,
        )

    form = client.get("/admin/weeklyhours/new/").text
    assert "Dr. Tara Own" in form and "Dr. Omar Second" not in form
    add(other_id)
    add(own_id)
    session.rollback()
    sundays = session.scalars(select(WeeklyHours.therapist_id).where(WeeklyHours.weekday == 6))
    assert list(sundays) == [own_id]
    # A clinic holiday (no therapist) is the desk's to set, not a therapist's.
    client.post(
        "/admin/availabilityexception/new/",
        data={
            "csrf_token": token,
            "kind": "closed",
            "therapist": "__None",
            "start_date": "2026-12-31",
            "end_date": "2026-12-31",
            "reason": "Everyone off",
        },
    )
    session.rollback()
    assert not session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "exception.create", AuditLog.actor_type == "staff")
    )


def test_an_operator_records_every_desk_method_but_not_online_or_credit(app, world, session):
    client, token = login(app, world, "operator")
    page = client.get("/admin/payment/record/").text
    for offered in ("cash", "upi", "card", "bank_transfer"):
        assert f'value="{offered}"' in page
    assert 'value="payment_link"' not in page and 'value="credit"' not in page
    contact_id = world.rows["own"]["payment"].contact_id
    for method in ("upi", "payment_link", "credit"):
        client.post(
            "/admin/payment/record/",
            data={
                "csrf_token": token,
                "contact": str(contact_id),
                "amount": "100",
                "method": method,
            },
        )
    session.rollback()
    recorded = session.scalars(
        select(Payment.method).where(Payment.recorded_by.like("staff:%"))
    ).all()
    assert recorded == [PaymentMethod.UPI]
    refund = client.get(f"/admin/payment/refund/{world.rows['own']['payment'].id}")
    assert refund.status_code == 403


def test_csv_export_is_for_admin_and_accountant_and_is_audited(app, world, session):
    for role, status in (
        ("admin", 200),
        ("accountant", 200),
        ("operator", 403),
        ("therapist", 403),
    ):
        client, _ = login(app, world, role)
        response = client.get("/admin/appointment/export/csv/")
        assert response.status_code == status, role
        if status == 200:
            assert "Olivia Ownpatient" in text_of(response)
            assert OTHER_CLINIC not in text_of(response).lower()
    session.rollback()
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "export.csv")).all()
    assert len(rows) == 2
    assert {row.entity_type for row in rows} == {"Appointment"}
    assert all(row.after["rows"] == 2 for row in rows)


def test_reports_and_their_downloads_are_walked_and_only_for_financial_roles(app, world):
    (view,) = [v for v in admin_views(app) if v.endpoint == "reports"]
    assert {"index", "download"} <= {name for name, _rule in view_routes(app, view)}
    for role in ("admin", "accountant", "operator", "therapist"):
        may = permissions.allowed("reports", Role(role), "financial")
        assert expected(view, role, "index") is expected(view, role, "download") is may
        client, _token = login(app, world, role)
        for url in ("/admin/reports/", "/admin/reports/download/xlsx/?table=gst"):
            assert client.get(url).status_code == (200 if may else 403), (role, url)


def test_the_audit_log_filters_by_actor_entity_and_the_clinic_s_day(app, world, session):
    admin_id = session.scalar(select(StaffUser.id).where(StaffUser.email == "admin@a.example"))
    # 22 Nov 20:00 UTC is 23 Nov 01:30 in Kolkata; 23 Nov 19:00 UTC is already 24 Nov there.
    for action, at, actor_id in (
        ("test.kolkata_23rd", datetime(2026, 11, 22, 20, 0, tzinfo=UTC), admin_id),
        ("test.kolkata_24th", datetime(2026, 11, 23, 19, 0, tzinfo=UTC), None),
    ):
        session.add(
            AuditLog(
                clinic_id=world.a.id,
                actor_type="staff" if actor_id else "system",
                actor_id=actor_id,
                action=action,
                entity_type="Clinic",
                entity_id=str(world.a.id),
                created_at=at,
            )
        )
    session.commit()
    client, _ = login(app, world, "admin")

    def listed(**filters: str) -> str:
        page = client.get("/admin/auditlog/", query_string=filters)
        assert page.status_code == 200
        return page.text

    everything = listed()
    assert "test.kolkata_23rd" in everything and "admin@a.example" in everything
    assert OTHER_CLINIC not in everything.lower()
    on_23rd = listed(flt0_date_on="2026-11-23")
    assert "test.kolkata_23rd" in on_23rd and "test.kolkata_24th" not in on_23rd
    from_24th = listed(flt0_date_on_or_after="2026-11-24")
    assert "test.kolkata_24th" in from_24th and "test.kolkata_23rd" not in from_24th
    until_23rd = listed(flt0_date_on_or_before="2026-11-23")
    assert "test.kolkata_23rd" in until_23rd and "test.kolkata_24th" not in until_23rd
    by_actor = listed(flt0_actor_email_contains="admin@a")
    assert "test.kolkata_23rd" in by_actor and "test.kolkata_24th" not in by_actor
    by_entity = listed(flt0_entity_equals="Appointment")
    assert "appointment.book" in by_entity and "test.kolkata_23rd" not in by_entity
    listed(flt0_date_on="not-a-date")  # ignored, not a 500


def test_my_profile_changes_only_my_own_name_and_password(app, world, session):
    client, token = login(app, world, "therapist")
    page = client.get("/admin/profile/")
    assert page.status_code == 200
    assert "therapist@a.example" in page.text and "Dr. Tara Own" in page.text
    client.post("/admin/profile/name", data={"csrf_token": token, "name": "Tara"})
    wrong = client.post(
        "/admin/profile/password",
        data={
            "csrf_token": token,
            "current": "wrong-password-x",
            "new": "a-new-passphrase-9",
            "repeat": "a-new-passphrase-9",
        },
    )
    assert "not your current password" in wrong.text
    client.post(
        "/admin/profile/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "new": "a-new-passphrase-9",
            "repeat": "a-new-passphrase-9",
        },
    )
    session.rollback()
    me = session.scalar(select(StaffUser).where(StaffUser.email == "therapist@a.example"))
    assert me.name == "Tara"
    fresh = app.test_client()
    assert log_in(fresh, "therapist@a.example", "a-new-passphrase-9").status_code == 302
    assert client.get("/admin/staffuser/").status_code == 403


def test_seed_demo_adds_a_login_per_role_with_the_therapist_linked(session):
    from roshni.demo import seed_demo

    seed_demo(session, "demo-password-123")
    seed_demo(session, "demo-password-123")
    for slug, speech in (("roshni", "Dr. Priya Nair"), ("sunrise", "Emma Clarke")):
        users = {
            u.email: u
            for u in session.scalars(
                select(StaffUser)
                .join(Clinic, StaffUser.clinic_id == Clinic.id)
                .where(Clinic.slug == slug)
            )
        }
        assert {u.role for u in users.values()} == {
            Role.ADMIN,
            Role.OPERATOR,
            Role.THERAPIST,
            Role.ACCOUNTANT,
        }
        assert set(users) == {
            f"{r}@{slug}.example" for r in ("admin", "operator", "therapist", "accountant")
        }
        therapist = session.scalar(select(Therapist).where(Therapist.name == speech))
        assert therapist.staff_user_id == users[f"therapist@{slug}.example"].id
