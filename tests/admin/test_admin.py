"""The staff panel: login, CSRF, roles, and that one clinic never sees another's rows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    Clinic,
    ClinicPolicy,
    Patient,
    Role,
    Service,
)
from services.scheduling.appointments import book_appointment
from services.staff.accounts import create_staff_user
from tests.conftest import NOW, SYSTEM

PASSWORD = "correct-horse-battery"

# The data is pinned around NOW and the code under test reads the clock: freeze it there.
pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def two_clinics(session, make_clinic, make_therapist, make_service, make_patient):
    """Clinic A and clinic B, each with an admin, a therapist, a service, a patient, a booking."""
    out = {}
    for key, tz in (("a", "Asia/Kolkata"), ("b", "Europe/London")):
        clinic = make_clinic(name=f"Clinic {key.upper()}", slug=f"clinic-{key}", timezone=tz)
        therapist = make_therapist(clinic, name=f"Therapist {key.upper()}")
        service = make_service(clinic, name=f"Service {key.upper()}")
        patient = make_patient(clinic, name=f"Patient {key.upper()}")
        admin = create_staff_user(
            session,
            email=f"admin@{key}.example",
            password=PASSWORD,
            role=Role.ADMIN,
            clinic_id=clinic.id,
            actor=SYSTEM,
        )
        start = NOW + timedelta(days=1)
        start = start.replace(hour=5, minute=30) if key == "a" else start.replace(hour=10, minute=0)
        appointment = book_appointment(
            session,
            clinic_id=clinic.id,
            patient_id=patient.id,
            service_id=service.id,
            start=start,
            now=NOW,
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )
        out[key] = {
            "clinic": clinic,
            "therapist": therapist,
            "service": service,
            "patient": patient,
            "admin": admin,
            "appointment": appointment,
        }
    return out


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text
    )
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def log_in(client, email: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_admin_requires_login(app):
    client = app.test_client()
    for url in ("/admin/", "/admin/appointment/", "/admin/patient/", "/admin/auditlog/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_login_rejects_a_form_without_its_csrf_token(app, two_clinics):
    client = app.test_client()
    response = client.post("/login", data={"email": "admin@a.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302  # still logged out


def test_login_with_a_wrong_password_fails_and_says_so(app, two_clinics):
    client = app.test_client()
    response = log_in(client, "admin@a.example", "wrong-password-here")
    assert response.status_code == 200
    assert "do not match" in response.text
    assert client.get("/admin/").status_code == 302


def test_login_never_redirects_off_site(app, two_clinics):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": "admin@a.example", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/"


def test_logged_in_admin_sees_only_their_clinic(app, two_clinics):
    a, b = two_clinics["a"], two_clinics["b"]
    client = app.test_client()
    assert log_in(client, "admin@a.example").status_code == 302
    for url, mine, theirs in (
        ("/admin/patient/", a["patient"].name, b["patient"].name),
        ("/admin/therapist/", a["therapist"].name, b["therapist"].name),
        ("/admin/service/", a["service"].name, b["service"].name),
        ("/admin/appointment/", a["patient"].name, b["patient"].name),
        ("/admin/auditlog/", "", None),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert mine in page.text, url
        if theirs:
            assert theirs not in page.text, url
    # The choices offered in a booking form come from this clinic only.
    form = client.get("/admin/appointment/new/").text
    assert a["patient"].name in form
    assert b["patient"].name not in form


def test_other_clinics_ids_in_urls_are_not_found(app, two_clinics, db):
    b = two_clinics["b"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    for view, obj in (
        ("patient", b["patient"]),
        ("therapist", b["therapist"]),
        ("service", b["service"]),
        ("appointment", b["appointment"]),
    ):
        page = client.get(f"/admin/{view}/edit/?id={obj.id}", follow_redirects=True)
        assert b["patient"].name not in page.text
        assert "does not exist" in page.text or "not exist" in page.text, view

    # Posting an edit to clinic B's service by id changes nothing.
    token = csrf_token(client, "/admin/service/new/")
    client.post(
        f"/admin/service/edit/?id={b['service'].id}",
        data={
            "csrf_token": token,
            "name": "Hijacked",
            "specialization": "speech",
            "duration_minutes": "45",
            "price_minor": "1",
            "capacity": "1",
            "active": "y",
        },
    )
    # Cancelling clinic B's appointment through a bulk action changes nothing.
    token = csrf_token(client, "/admin/appointment/")
    client.post(
        "/admin/appointment/action/",
        data={"csrf_token": token, "action": "cancel", "rowid": [str(b["appointment"].id)]},
    )
    with db.session_scope() as s:
        assert s.get(Service, b["service"].id).name == "Service B"
        assert s.get(Appointment, b["appointment"].id).status is AppointmentStatus.BOOKED


def test_staff_book_through_the_booking_service_with_an_audit_row(app, two_clinics, db):
    a = two_clinics["a"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    token = csrf_token(client, "/admin/appointment/new/")
    # Wed 2 Dec 2026 at 11:00 clinic time: a weekday inside hours.
    response = client.post(
        "/admin/appointment/new/",
        data={
            "csrf_token": token,
            "patient": str(a["patient"].id),
            "service": str(a["service"].id),
            "therapist": "__None",
            "start": "2026-12-02T11:00",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    with db.session_scope() as s:
        booked = s.scalars(
            select(Appointment).where(
                Appointment.clinic_id == a["clinic"].id, Appointment.source == BookingSource.ADMIN
            )
        ).all()
        starts = {x.start_at.isoformat() for x in booked}
        assert "2026-12-02T05:30:00+00:00" in starts
        actions = s.scalars(
            select(AuditLog.action).where(
                AuditLog.clinic_id == a["clinic"].id, AuditLog.actor_type == "staff"
            )
        ).all()
        assert "appointment.book" in actions


def test_a_refused_booking_shows_the_reason_and_stores_nothing(app, two_clinics, db):
    a = two_clinics["a"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    with db.session_scope() as s:
        before = s.scalar(select(func.count()).select_from(Appointment))
    token = csrf_token(client, "/admin/appointment/new/")
    response = client.post(
        "/admin/appointment/new/",
        data={
            "csrf_token": token,
            "patient": str(a["patient"].id),
            "service": str(a["service"].id),
            "therapist": "__None",
            "start": "2026-12-06T11:00",  # a Sunday: closed
        },
        follow_redirects=True,
    )
    assert "not open" in response.text
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == before


def test_an_admin_form_without_csrf_token_is_rejected(app, two_clinics, db):
    a = two_clinics["a"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    response = client.post(
        f"/admin/patient/edit/?id={a['patient'].id}",
        data={"name": "Changed", "contact": str(a["patient"].contact_id), "relation": "child"},
    )
    assert response.status_code == 400
    with db.session_scope() as s:
        assert s.get(Patient, a["patient"].id).name == "Patient A"


def test_a_therapist_can_read_but_not_change_the_catalogue(app, two_clinics, session):
    a = two_clinics["a"]
    create_staff_user(
        session,
        email="therapist@a.example",
        password=PASSWORD,
        role=Role.THERAPIST,
        clinic_id=a["clinic"].id,
        actor=SYSTEM,
    )
    client = app.test_client()
    log_in(client, "therapist@a.example")
    assert client.get("/admin/service/").status_code == 200
    assert client.get("/admin/service/new/").status_code == 302  # Flask-Admin bounces it
    token = csrf_token(client, "/admin/")  # the logout form carries one
    client.post(
        "/admin/service/new/",
        data={
            "csrf_token": token,
            "name": "Sneaky",
            "specialization": "speech",
            "duration_minutes": "45",
            "price_minor": "100",
            "capacity": "1",
        },
    )
    assert session.scalar(select(Service).where(Service.name == "Sneaky")) is None
    assert client.get("/admin/auditlog/").status_code == 403
    assert client.get("/admin/staffuser/").status_code == 403


def test_negative_price_in_the_panel_is_refused(app, two_clinics, session):
    client = app.test_client()
    log_in(client, "admin@a.example")
    token = csrf_token(client, "/admin/service/new/")
    response = client.post(
        "/admin/service/new/",
        data={
            "csrf_token": token,
            "name": "Free money",
            "specialization": "speech",
            "duration_minutes": "45",
            "price_minor": "-100",
            "capacity": "1",
        },
        follow_redirects=True,
    )
    assert "cannot be negative" in response.text
    assert session.scalar(select(Service).where(Service.name == "Free money")) is None


def test_pages_carry_security_headers(app):
    response = app.test_client().get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_health_and_readiness(app):
    client = app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"]["database"] == "ok"


def test_a_superadmin_manages_clinics_but_not_a_clinics_patients(app, two_clinics, session):
    create_staff_user(
        session, email="root@roshni.example", password=PASSWORD, role=Role.SUPERADMIN, actor=SYSTEM
    )
    client = app.test_client()
    log_in(client, "root@roshni.example")
    clinics_page = client.get("/admin/clinic/")
    assert clinics_page.status_code == 200
    assert "Clinic A" in clinics_page.text
    assert "Clinic B" in clinics_page.text
    assert client.get("/admin/patient/").status_code == 403
    assert client.get("/admin/appointment/").status_code == 403


def test_a_clinic_admin_sees_only_their_own_clinic_and_staff(app, two_clinics):
    client = app.test_client()
    log_in(client, "admin@a.example")
    clinics_page = client.get("/admin/clinic/")
    assert "Clinic A" in clinics_page.text
    assert "Clinic B" not in clinics_page.text
    staff_page = client.get("/admin/staffuser/")
    assert "admin@a.example" in staff_page.text
    assert "admin@b.example" not in staff_page.text
    assert client.get("/admin/clinic/new/").status_code == 302  # only a superadmin creates clinics


def test_an_admin_edits_the_clinic_policy_with_an_audit_row(app, two_clinics, session):
    a, b = two_clinics["a"], two_clinics["b"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    token = csrf_token(client, f"/admin/clinicpolicy/edit/?id={a['clinic'].id}")
    form = {
        "csrf_token": token,
        "booking_horizon_days": "45",
        "min_notice_hours": "2",
        "cancellation_window_hours": "24",
        "reschedule_window_hours": "48",
        "reminder_offsets_hours": "2, 24",
        "slot_step_minutes": "15",
        "dues_reminders_enabled": "y",
        "dues_reminder_day": "10",
        "dues_reminder_time": "09:30",
    }
    client.post(f"/admin/clinicpolicy/edit/?id={a['clinic'].id}", data=form)
    client.post(f"/admin/clinicpolicy/edit/?id={b['clinic'].id}", data=form)  # not theirs
    refused = client.post(
        f"/admin/clinicpolicy/edit/?id={a['clinic'].id}",
        data={**form, "booking_horizon_days": "999"},
        follow_redirects=True,
    )
    assert "1 to 366 days" in refused.text
    session.expire_all()
    policy_a = session.get(ClinicPolicy, a["clinic"].id)
    assert policy_a.booking_horizon_days == 45
    assert policy_a.reminder_offsets_hours == [24, 2]
    assert session.get(ClinicPolicy, b["clinic"].id).booking_horizon_days == 30
    assert "policy.update" in session.scalars(select(AuditLog.action)).all()


def test_a_clinic_admin_sets_a_write_only_twilio_account(app, two_clinics, session):
    a = two_clinics["a"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = f"/admin/clinic/edit/?id={a['clinic'].id}"
    token = csrf_token(client, url)
    secret = "clinic-a-secret-auth-token"
    form = {
        "csrf_token": token,
        "name": "Clinic A",
        "timezone": "Asia/Kolkata",
        "currency": "INR",
        "phone_region": "IN",
        "language": "en",
        "active": "y",
        "twilio_account": "AC" + "d" * 32,
        "twilio_token": secret,
    }
    client.post(url, data=form)
    fresh(session)
    clinic = session.get(Clinic, a["clinic"].id)
    assert clinic.twilio_account_sid == "AC" + "d" * 32
    assert clinic.twilio_auth_token_encrypted and secret not in clinic.twilio_auth_token_encrypted
    page = client.get(url).text
    assert secret not in page and clinic.twilio_auth_token_encrypted not in page
    logged = session.scalars(select(AuditLog).where(AuditLog.entity_type == "Clinic")).all()
    assert all(secret not in str(row.after) and "encrypted" not in str(row.after) for row in logged)
    # Leaving the token blank keeps it; asking to clear goes back to the deployment's account.
    client.post(url, data={**form, "twilio_token": ""})
    fresh(session)
    assert session.get(Clinic, a["clinic"].id).twilio_auth_token_encrypted
    cleared = client.post(
        url, data={**form, "twilio_token": "", "twilio_clear": "y"}, follow_redirects=True
    )
    assert cleared.status_code == 200
    fresh(session)
    assert session.get(Clinic, a["clinic"].id).twilio_account_sid is None


def renamed_clinic_a(client, url: str, **fields: str) -> dict[str, str]:
    """Clinic A's edit form: a new name and zone, its own Twilio account, and ``fields``."""
    return {
        "csrf_token": csrf_token(client, url),
        "name": "Clinic A, renamed",
        "timezone": "Asia/Dubai",
        "currency": "INR",
        "phone_region": "IN",
        "language": "en",
        "active": "y",
        "twilio_account": "AC" + "d" * 32,
        "twilio_token": "clinic-a-secret-auth-token",
        **fields,
    }


@pytest.mark.parametrize(
    ("razorpay", "refusal"),
    [
        ({"razorpay_key": "not-a-key"}, "A Razorpay key id looks like rzp_test_"),
        (
            {"razorpay_key": "rzp_test_abcdef123"},
            "Give the key secret that belongs to this key id.",
        ),
    ],
)
def test_a_clinic_edit_with_a_bad_razorpay_key_changes_nothing(
    app, two_clinics, session, razorpay, refusal
):
    a = two_clinics["a"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = f"/admin/clinic/edit/?id={a['clinic'].id}"
    audits = session.scalar(select(func.count()).select_from(AuditLog))

    page = client.post(url, data=renamed_clinic_a(client, url, **razorpay), follow_redirects=True)

    assert refusal in page.text
    fresh(session)
    clinic = session.get(Clinic, a["clinic"].id)
    assert (clinic.name, clinic.timezone) == ("Clinic A", "Asia/Kolkata")
    assert clinic.twilio_account_sid is None and clinic.twilio_auth_token_encrypted is None
    assert clinic.razorpay_key_id is None
    assert session.scalar(select(func.count()).select_from(AuditLog)) == audits


def test_a_clinic_edit_saves_its_fields_and_both_accounts_together(app, two_clinics, session):
    a = two_clinics["a"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = f"/admin/clinic/edit/?id={a['clinic'].id}"
    form = renamed_clinic_a(
        client,
        url,
        upi_vpa=" clinic@okaxis ",
        razorpay_key="rzp_test_abcdef123",
        razorpay_secret="key-secret-of-clinic-a",
        razorpay_webhook_secret="webhook-secret-of-clinic-a",
    )

    client.post(url, data=form)

    fresh(session)
    clinic = session.get(Clinic, a["clinic"].id)
    assert (clinic.name, clinic.timezone, clinic.upi_vpa) == (
        "Clinic A, renamed",
        "Asia/Dubai",
        "clinic@okaxis",
    )
    assert clinic.twilio_account_sid == "AC" + "d" * 32
    assert clinic.razorpay_key_id == "rzp_test_abcdef123"
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.clinic_id == clinic.id).order_by(AuditLog.id)
    ).all()
    assert actions[-3:] == ["clinic.update", "clinic.twilio_account", "clinic.razorpay"]


def fresh(session) -> None:
    """See what the app committed: end this session's read snapshot, forget loaded rows."""
    session.rollback()
    session.expire_all()
