"""Settings → Staff: an admin runs their clinic's team, the superadmin every clinic's.

The verbs of ``services.staff.accounts`` (change a role, deactivate, unlock, reset two-step,
set a password) one by one, then the same through the panel, as the people they
are for see it: the deactivated user is signed out, the locked one gets in.
"""

from __future__ import annotations

import html
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import select

from admin import auth
from admin.views import staff as staff_views
from models import AuditLog, Role, StaffUser
from services.audit import Actor
from services.errors import InvalidInput, InvalidTransition, NotFound
from services.staff import accounts as staff
from services.staff import logins
from tests.admin.test_auth_security import (
    PASSWORD,
    WRONG,
    FrozenClock,
    csrf_token,
    fresh,
    log_in,
    logged_in,
)
from tests.conftest import NOW, SYSTEM

NEW_PASSWORD = "a-fresh-passphrase-7"


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock(NOW)
    monkeypatch.setattr(auth, "utcnow", frozen)
    monkeypatch.setattr(staff_views, "utcnow", frozen)  # "locked until …" in the list
    return frozen


@pytest.fixture
def app(clock, app):
    """The panel (conftest's) with its login clock frozen first."""
    return app


@pytest.fixture
def team(session, make_clinic):
    """Clinic A with one of every role and a therapist to manage; clinic B with an admin
    and a member; the deployment's superadmin. Accounts by name: ``team.member``."""
    a = make_clinic(name="Clinic A", slug="clinic-a")
    b = make_clinic(name="Clinic B", slug="clinic-b")
    people = {
        "superadmin": ("root@roshni.example", Role.SUPERADMIN, None),
        "admin": ("admin@a.example", Role.ADMIN, a.id),
        "operator": ("operator@a.example", Role.OPERATOR, a.id),
        "therapist": ("therapist@a.example", Role.THERAPIST, a.id),
        "accountant": ("accountant@a.example", Role.ACCOUNTANT, a.id),
        "member": ("member@a.example", Role.THERAPIST, a.id),
        "admin_b": ("admin@b.example", Role.ADMIN, b.id),
        "member_b": ("member@b.example", Role.OPERATOR, b.id),
    }
    users = {
        key: staff.create_staff_user(
            session, email=email, password=PASSWORD, role=role, clinic_id=clinic_id, actor=SYSTEM
        )
        for key, (email, role, clinic_id) in people.items()
    }
    return SimpleNamespace(a=a, b=b, **users)


def as_actor(user: StaffUser) -> dict:
    """What the panel passes for ``user``: who acts, and whose clinic they may touch."""
    return {"actor": Actor.staff(user.id), "clinic_id": user.clinic_id}


def audit_actions(session, user: StaffUser) -> list[str]:
    session.rollback()
    return list(
        session.scalars(
            select(AuditLog.action)
            .where(AuditLog.entity_type == "StaffUser", AuditLog.entity_id == str(user.id))
            .where(AuditLog.action != "staff.create")
            .order_by(AuditLog.id)
        )
    )


def lock_out(app, email: str) -> None:
    client = app.test_client()
    for _ in range(logins.ACCOUNT_LOCK_AFTER):
        log_in(client, email, "not-the-password-1")
    # The right password is refused now, with the words any wrong login gets.
    refused = log_in(client, email)
    assert refused.status_code == 200
    assert WRONG in refused.text


def turn_on_totp(session, app, user: StaffUser) -> str:
    secret = logins.new_totp_secret()
    logins.enable_totp(
        session,
        user_id=user.id,
        secret=secret,
        code=pyotp.TOTP(secret).at(NOW),
        now=NOW,
        config=app.config["ROSHNI"],
        actor=Actor.staff(user.id),
    )
    return secret


def panel(app, user: StaffUser):
    """A client logged in as ``user``, and a CSRF token of its session."""
    client = app.test_client()
    assert log_in(client, user.email).status_code == 302
    return client, csrf_token(client, "/admin/")


def says(page, message: str) -> bool:
    """Does the page show ``message`` (a flashed message, say)?"""
    return message in html.unescape(page.text)


def manage_url(user: StaffUser, verb: str = "") -> str:
    return f"/admin/staffuser/manage/{user.id}" + (f"/{verb}" if verb else "")


# --- the verbs ----------------------------------------------------------------------------------


def test_each_verb_changes_the_account_with_an_audit_row(session, app, team):
    by_admin = as_actor(team.admin)
    member = team.member

    staff.change_role(session, user_id=member.id, role=Role.OPERATOR, **by_admin)
    staff.set_active(session, user_id=member.id, active=False, **by_admin)
    staff.set_active(session, user_id=member.id, active=True, **by_admin)
    session.execute(
        StaffUser.__table__.update()
        .where(StaffUser.id == member.id)
        .values(failed_logins=3, locked_until=NOW)
    )
    session.commit()
    staff.unlock(session, user_id=member.id, **by_admin)
    turn_on_totp(session, app, member)
    staff.reset_totp(session, user_id=member.id, **by_admin)
    staff.set_password(session, user_id=member.id, password=NEW_PASSWORD, **by_admin)

    user = fresh(session, member)
    assert user.role is Role.OPERATOR and user.active
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert not user.has_totp and user.totp_secret_encrypted is None
    assert logins.authenticate(session, member.email, NEW_PASSWORD, now=NOW).ok
    assert audit_actions(session, member) == [
        "staff.role",
        "staff.deactivate",
        "staff.activate",
        "staff.unlock",
        "staff.totp_enable",
        "staff.totp_reset",
        "staff.password_reset",
    ]
    rows = session.scalars(
        select(AuditLog).where(AuditLog.entity_id == str(member.id)).order_by(AuditLog.id)
    ).all()
    role_change = next(r for r in rows if r.action == "staff.role")
    assert (role_change.before, role_change.after) == ({"role": "therapist"}, {"role": "operator"})
    assert role_change.actor_id == team.admin.id and role_change.clinic_id == team.a.id
    password_row = rows[-1]
    assert password_row.after == {"password": "set"}
    assert all("password_hash" not in (r.after or {}) for r in rows)


def test_the_clinic_keeps_an_active_admin(session, team):
    admin = team.admin
    with pytest.raises(InvalidTransition, match="last active admin"):
        staff.change_role(session, user_id=admin.id, role=Role.OPERATOR, **as_actor(admin))
    with pytest.raises(InvalidTransition, match="last active admin"):
        staff.set_active(session, user_id=admin.id, active=False, **as_actor(team.superadmin))
    with pytest.raises(InvalidInput, match="your own account"):
        staff.set_active(session, user_id=admin.id, active=False, **as_actor(admin))

    # With a second admin, either may step down; the one left may not.
    staff.change_role(session, user_id=team.member.id, role=Role.ADMIN, **as_actor(admin))
    staff.change_role(session, user_id=admin.id, role=Role.OPERATOR, **as_actor(admin))
    with pytest.raises(InvalidTransition, match="last active admin"):
        staff.change_role(
            session, user_id=team.member.id, role=Role.THERAPIST, **as_actor(team.member)
        )
    # A deactivated admin does not count as one.
    staff.change_role(session, user_id=admin.id, role=Role.ADMIN, **as_actor(team.member))
    staff.set_active(session, user_id=admin.id, active=False, **as_actor(team.member))
    with pytest.raises(InvalidTransition, match="last active admin"):
        staff.set_active(session, user_id=team.member.id, active=False, **as_actor(team.superadmin))
    assert fresh(session, team.member).role is Role.ADMIN
    assert fresh(session, team.member).active


def test_nobody_becomes_or_stops_being_a_superadmin_here(session, team):
    by_root = as_actor(team.superadmin)
    with pytest.raises(InvalidInput):
        staff.change_role(session, user_id=team.member.id, role=Role.SUPERADMIN, **by_root)
    other_root = staff.create_staff_user(
        session, email="root2@roshni.example", password=PASSWORD, role=Role.SUPERADMIN, actor=SYSTEM
    )
    with pytest.raises(InvalidInput):
        staff.change_role(session, user_id=other_root.id, role=Role.ADMIN, **by_root)
    # The last active superadmin stays, like a clinic's last admin.
    staff.set_active(session, user_id=other_root.id, active=False, **by_root)
    with pytest.raises(InvalidInput):
        staff.set_active(session, user_id=team.superadmin.id, active=False, **by_root)
    with pytest.raises(InvalidTransition, match="last active admin"):
        staff.set_active(
            session, user_id=team.superadmin.id, active=False, actor=SYSTEM, clinic_id=None
        )


def test_one_s_own_password_and_two_step_are_changed_from_the_profile(session, app, team):
    turn_on_totp(session, app, team.admin)
    with pytest.raises(InvalidInput, match="My profile"):
        staff.reset_totp(session, user_id=team.admin.id, **as_actor(team.admin))
    with pytest.raises(InvalidInput, match="My profile"):
        staff.set_password(
            session, user_id=team.admin.id, password=NEW_PASSWORD, **as_actor(team.admin)
        )
    assert fresh(session, team.admin).has_totp


def test_a_new_password_follows_the_password_rules(session, team):
    for weak in ("short-1", "member-of-staff-2024", "password1234"):
        with pytest.raises(InvalidInput):
            staff.set_password(
                session, user_id=team.member.id, password=weak, **as_actor(team.admin)
            )
    assert audit_actions(session, team.member) == []


def test_nothing_to_do_is_said_rather_than_audited(session, team):
    by_admin = as_actor(team.admin)
    for verb, kwargs in (
        (staff.change_role, {"role": Role.THERAPIST}),
        (staff.set_active, {"active": True}),
        (staff.unlock, {}),
        (staff.reset_totp, {}),
    ):
        with pytest.raises(InvalidTransition):
            verb(session, user_id=team.member.id, **kwargs, **by_admin)
    assert audit_actions(session, team.member) == []


def test_an_admin_touches_only_their_own_clinic_s_accounts(session, team):
    by_admin = as_actor(team.admin)
    calls = (
        (staff.change_role, {"role": Role.ACCOUNTANT}),
        (staff.set_active, {"active": False}),
        (staff.unlock, {}),
        (staff.reset_totp, {}),
        (staff.set_password, {"password": NEW_PASSWORD}),
    )
    for target in (team.member_b, team.superadmin):
        for verb, kwargs in calls:
            with pytest.raises(NotFound):
                verb(session, user_id=target.id, **kwargs, **by_admin)
    assert audit_actions(session, team.member_b) == []
    # The superadmin runs every clinic.
    staff.change_role(
        session, user_id=team.member_b.id, role=Role.ACCOUNTANT, **as_actor(team.superadmin)
    )
    assert fresh(session, team.member_b).role is Role.ACCOUNTANT


# --- the panel ----------------------------------------------------------------------------------


def test_the_staff_list_shows_role_access_lock_two_step_and_last_login(app, session, team):
    lock_out(app, team.member.email)
    turn_on_totp(session, app, team.therapist)
    client, _ = panel(app, team.admin)

    page = client.get("/admin/staffuser/")

    assert page.status_code == 200
    for header in ("Role", "Active", "Locked", "Two-step login", "Last login"):
        assert header in page.text
    assert "until Mon 23 Nov, 9:15 am" in page.text  # NOW + 15 minutes, in Kolkata
    assert "Mon 23 Nov, 9:00 am" in page.text  # the admin's own login just now
    assert manage_url(team.member) in page.text
    assert "member@b.example" not in page.text
    detail = client.get(manage_url(team.therapist))
    assert "Reset two-step login" in detail.text
    assert "Unlock" in client.get(manage_url(team.member)).text


def test_an_admin_runs_their_team_from_the_panel(app, session, team):
    turn_on_totp(session, app, team.member)
    client, token = panel(app, team.admin)
    member = team.member

    def post(verb: str, **data):
        response = client.post(
            manage_url(member, verb), data={"csrf_token": token, **data}, follow_redirects=True
        )
        assert response.status_code == 200
        return response

    assert says(post("role", role="operator"), "member@a.example is now an operator.")
    assert says(post("active", active="0"), "member@a.example is deactivated and signed out.")
    assert says(post("active", active="1"), "member@a.example can log in again.")
    assert "Two-step login is off" in post("two-step").text
    mismatch = post("password", new=NEW_PASSWORD, repeat="something-else-99")
    assert "The two do not match." in mismatch.text
    assert says(
        post("password", new=NEW_PASSWORD, repeat=NEW_PASSWORD),
        "member@a.example has a new password.",
    )
    assert says(post("unlock"), "member@a.example is not locked.")

    assert audit_actions(session, member) == [
        "staff.totp_enable",
        "staff.role",
        "staff.deactivate",
        "staff.activate",
        "staff.totp_reset",
        "staff.password_reset",
    ]
    assert log_in(app.test_client(), member.email, NEW_PASSWORD).headers["Location"] == "/admin/"


def test_the_panel_refuses_to_remove_the_last_admin_and_says_why(app, session, team):
    client, token = panel(app, team.admin)
    page = client.post(
        manage_url(team.admin, "role"),
        data={"csrf_token": token, "role": "operator"},
        follow_redirects=True,
    )
    assert says(page, "they are the clinic's last active admin")
    assert fresh(session, team.admin).role is Role.ADMIN
    assert audit_actions(session, team.admin) == []


def test_another_clinic_s_account_is_not_found(app, session, team):
    client, token = panel(app, team.admin)
    for verb, data in (
        ("", None),
        ("role", {"role": "accountant"}),
        ("active", {"active": "0"}),
        ("unlock", {}),
        ("two-step", {}),
        ("password", {"new": NEW_PASSWORD, "repeat": NEW_PASSWORD}),
    ):
        for target in (team.member_b, team.superadmin):
            url = manage_url(target, verb)
            if data is None:
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token, **data})
            assert response.status_code == 404, url
    assert audit_actions(session, team.member_b) == []
    assert client.get("/admin/staffuser/manage/999999").status_code == 404
    # The superadmin runs them all.
    root, token = panel(app, team.superadmin)
    assert root.get(manage_url(team.member_b)).status_code == 200
    root.post(manage_url(team.member_b, "active"), data={"csrf_token": token, "active": "0"})
    assert not fresh(session, team.member_b).active


@pytest.mark.parametrize("role", ["operator", "therapist", "accountant"])
def test_only_admins_run_the_team(app, session, team, role):
    client, token = panel(app, getattr(team, role))
    assert client.get("/admin/staffuser/").status_code == 403
    assert client.get(manage_url(team.member)).status_code == 403
    for verb, data in (
        ("role", {"role": "admin"}),
        ("active", {"active": "0"}),
        ("unlock", {}),
        ("two-step", {}),
        ("password", {"new": NEW_PASSWORD, "repeat": NEW_PASSWORD}),
    ):
        response = client.post(manage_url(team.member, verb), data={"csrf_token": token, **data})
        assert response.status_code == 403, verb
    assert audit_actions(session, team.member) == []


def test_a_deactivated_user_s_open_session_ends_at_their_next_request(app, session, team):
    member, _ = panel(app, team.member)
    assert logged_in(member)
    admin, token = panel(app, team.admin)

    admin.post(manage_url(team.member, "active"), data={"csrf_token": token, "active": "0"})

    response = member.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert log_in(app.test_client(), team.member.email).status_code == 200  # refused
    # Reactivating the account lets them log in again, but does not revive that session.
    admin.post(manage_url(team.member, "active"), data={"csrf_token": token, "active": "1"})
    assert not logged_in(member)
    assert log_in(member, team.member.email).headers["Location"] == "/admin/"


def test_unlocking_lets_a_locked_user_log_in(app, session, team):
    lock_out(app, team.member.email)
    admin, token = panel(app, team.admin)

    page = admin.post(
        manage_url(team.member, "unlock"), data={"csrf_token": token}, follow_redirects=True
    )

    assert says(page, "member@a.example can log in again now.")
    user = fresh(session, team.member)
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert log_in(app.test_client(), team.member.email).headers["Location"] == "/admin/"
    assert audit_actions(session, team.member) == ["staff.lock", "staff.unlock"]


def test_resetting_two_step_lets_them_log_in_with_the_password_alone(app, session, team):
    turn_on_totp(session, app, team.member)
    assert log_in(app.test_client(), team.member.email).headers["Location"] == "/login/code"
    admin, token = panel(app, team.admin)

    admin.post(manage_url(team.member, "two-step"), data={"csrf_token": token})

    assert log_in(app.test_client(), team.member.email).headers["Location"] == "/admin/"


def test_the_create_form_still_adds_an_account(app, session, team):
    client, _ = panel(app, team.admin)
    token = csrf_token(client, "/admin/staffuser/new/")
    client.post(
        "/admin/staffuser/new/",
        data={
            "csrf_token": token,
            "email": "new.hire@a.example",
            "name": "New Hire",
            "role": "accountant",
            "password": NEW_PASSWORD,
            "clinic": str(team.a.id),
        },
    )
    session.rollback()
    hire = session.scalar(select(StaffUser).where(StaffUser.email == "new.hire@a.example"))
    assert hire is not None and hire.clinic_id == team.a.id and hire.role is Role.ACCOUNTANT
