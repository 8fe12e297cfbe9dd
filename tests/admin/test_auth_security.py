"""Staff login security: fresh sessions, idle logout, lockouts, password rules, TOTP."""

from __future__ import annotations

import importlib.util
import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import unquote

import pyotp
import pytest
from flask import url_for
from sqlalchemy import func, select

from admin import auth
from models import AuditLog, Role, StaffUser
from models.staff import LoginAttempt
from services.errors import InvalidInput
from services.staff import accounts as staff
from tests.conftest import NOW, SYSTEM

PASSWORD = "correct-horse-battery"
EMAIL = "admin@a.example"
LOCKED = "Too many attempts; try again in"
WRONG = (
    "That email and password do not match an active account. "
    "After 5 wrong tries in a row an account is locked for 15 minutes."
)
CLIENT_LOCKED = "Too many failed logins from this address; try again in"


class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock(NOW)
    monkeypatch.setattr(auth, "utcnow", frozen)
    return frozen


@pytest.fixture
def app(clock, app):
    """The panel (conftest's) with its login clock frozen first."""
    return app


@pytest.fixture
def clinic(make_clinic):
    return make_clinic(name="Clinic A", slug="clinic-a")


@pytest.fixture
def admin_user(session, clinic):
    return staff.create_staff_user(
        session, email=EMAIL, password=PASSWORD, role=Role.ADMIN, clinic_id=clinic.id, actor=SYSTEM
    )


def add_operator(session, clinic, email: str, password: str) -> StaffUser:
    """A front-desk account at ``clinic``."""
    return staff.create_staff_user(
        session,
        email=email,
        password=password,
        role=Role.OPERATOR,
        clinic_id=clinic.id,
        actor=SYSTEM,
    )


def csrf_token(client, url: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(url).text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def log_in(client, email: str = EMAIL, password: str = PASSWORD, **kwargs):
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs
    )


def send_code(client, code: str, url: str = "/login/code", **kwargs):
    # Any form of the session gives its CSRF token; the login page always has one.
    token = csrf_token(client, "/auth/totp/setup" if url.startswith("/auth") else "/login")
    return client.post(url, data={"code": code, "csrf_token": token}, **kwargs)


def alerts(page) -> list[str]:
    return re.findall(r'role="alert">([^<]*)<', page.text)


def logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def fresh(session, user) -> StaffUser:
    session.rollback()  # end the read transaction: on SQLite it would keep an old snapshot
    session.expire_all()  # and forget what was loaded before (rollback alone may not)
    return session.get(StaffUser, user.id)


# --- the session at login ----------------------------------------------------------------------


def test_login_issues_a_new_session_cookie_and_no_remember_cookie(app, admin_user):
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("roshni_session").value

    response = log_in(client)

    assert response.status_code == 302
    after = client.get_cookie("roshni_session").value
    assert after != before
    assert not any("remember_token" in h for h in response.headers.getlist("Set-Cookie"))
    assert client.get_cookie("remember_token") is None
    assert logged_in(client)
    # A session cookie planted before the login (fixation) stays anonymous.
    planted = app.test_client()
    planted.set_cookie("roshni_session", before)
    assert not logged_in(planted)


# --- idle logout -------------------------------------------------------------------------------


def test_thirty_idle_minutes_sign_the_user_out(app, admin_user, clock):
    client = app.test_client()
    log_in(client)
    clock.advance(minutes=29)
    assert logged_in(client)  # activity moves the deadline on
    clock.advance(minutes=29)
    assert logged_in(client)

    clock.advance(minutes=30, seconds=1)
    response = client.get("/admin/appointment/")
    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == "/login?next=/admin/appointment/"
    page = client.get(response.headers["Location"])
    assert "You were signed out after 30 minutes without activity." in alerts(page)
    assert not logged_in(client)
    # Logging in again starts a new, working session.
    assert log_in(client).headers["Location"] == "/admin/"
    assert logged_in(client)


# --- account lockout -----------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(app, admin_user, clock, session):
    client = app.test_client()
    for _ in range(5):
        page = log_in(client, password="not-my-password-at-all")
        assert alerts(page) == [WRONG]

    clock.advance(minutes=5)
    page = log_in(client)  # the right password does not help while locked
    assert alerts(page) == [WRONG]  # and the page does not say the account exists
    assert not logged_in(client)
    assert fresh(session, admin_user).locked_until == NOW + timedelta(minutes=15)
    lock_rows = session.scalars(select(AuditLog).where(AuditLog.action == "staff.lock")).all()
    assert [(r.entity_id, r.actor_type.value) for r in lock_rows] == [
        (str(admin_user.id), "system")
    ]
    assert "password_hash" not in (lock_rows[0].after or {})

    clock.advance(minutes=10)
    assert log_in(client).status_code == 302
    assert logged_in(client)
    user = fresh(session, admin_user)
    assert user.failed_logins == 0
    assert user.locked_until is None


def test_a_successful_login_resets_the_count_of_wrong_passwords(app, admin_user, session):
    client = app.test_client()
    for _ in range(4):
        log_in(client, password="not-my-password-at-all")
    assert fresh(session, admin_user).failed_logins == 4
    log_in(client)
    assert fresh(session, admin_user).failed_logins == 0
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    for _ in range(4):
        log_in(client, password="not-my-password-at-all")
    assert fresh(session, admin_user).locked_until is None
    assert log_in(client).status_code == 302


def test_unknown_emails_lock_nothing_and_read_like_a_wrong_password(app, admin_user, session):
    client = app.test_client()
    wrong_password = alerts(log_in(client, password="not-my-password-at-all"))
    for _ in range(8):
        page = log_in(client, email="nobody@a.example", password="whatever-they-try")
        assert alerts(page) == wrong_password
    session.rollback()
    assert session.scalar(select(func.count()).select_from(StaffUser)) == 1
    assert fresh(session, admin_user).locked_until is None
    assert session.scalar(select(func.count()).where(AuditLog.action == "staff.lock")) == 0
    assert log_in(client).status_code == 302


# --- per-client limit ----------------------------------------------------------------------------


def test_twenty_failures_from_one_address_block_it_for_every_email(
    app, admin_user, clinic, session, clock
):
    add_operator(session, clinic, "operator@a.example", "another-long-passphrase")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for n in range(20):
        # Spread over many emails, so no account reaches its own limit of five.
        email = ("admin@a.example", "operator@a.example", f"guess{n}@a.example")[min(n // 4, 2)]
        page = log_in(attacker, email=email, password=f"guess-number-{n:04d}")
        assert alerts(page) == [WRONG], n
    page = log_in(attacker, email="operator@a.example", password="another-long-passphrase")
    assert alerts(page) == [f"{CLIENT_LOCKED} 15 minutes."]
    assert not logged_in(attacker)

    # Other addresses and the accounts themselves are unaffected.
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert log_in(colleague).status_code == 302
    # Addresses are stored only as keyed hashes.
    session.rollback()
    stored = set(session.scalars(select(LoginAttempt.ip_hash)))
    assert len(stored) == 1
    (ip_hash,) = stored
    assert "203.0.113.7" not in ip_hash
    assert len(ip_hash) == 64

    clock.advance(minutes=15, seconds=1)
    response = log_in(attacker, email="operator@a.example", password="another-long-passphrase")
    assert response.status_code == 302
    assert logged_in(attacker)


# --- password rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "email", "message"),
    [
        ("short-one", "", "at least 12 characters"),
        ("abcdefghijklmno", "", "needs a mix of letters, digits or symbols"),
        ("938475610293", "", "needs a mix of letters, digits or symbols"),
        ("PASSWORD1234", "", "one of the most common"),
        ("qwertyuiop12", "", "one of the most common"),
        ("123456789012", "", "one of the most common"),
        ("Priya.Sharma#2026", "priya.sharma@clinic.example", "name part of your email"),
        ("aaaaaaaaaaaaaaaaaaaa", "", "too few different characters"),
        ("passwordpassword", "", "repeats the same part"),
        ("PasswordPassword", "", "repeats the same part"),
        ("abcabcabcabc", "", "too few different characters"),
        ("correct-horse-correct-horse-", "", "repeats the same part"),
        ("leavemealone", "", "one of the most common"),  # from the 10,000
        ("sonyericsson", "", "one of the most common"),
        ("Football2024!", "", "one of the most common"),  # a common one with digits added
        ("!!superman!!", "", "one of the most common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, email, message):
    with pytest.raises(InvalidInput) as refused:
        staff.hash_password(password, email=email)
    assert message in refused.value.message


@pytest.mark.parametrize(
    "password",
    [PASSWORD, "demo-password-123", "thisisalongpassphrase", "Tr0ub4dor&3x!", "priya-2026-notes"],
)
def test_reasonable_passwords_pass(password):
    staff.check_password(password, email="admin@roshni.example")


def test_generated_demo_passwords_always_pass():
    for _ in range(500):
        staff.check_password(secrets.token_urlsafe(12), email="admin@sunrise.example")


def test_creating_an_account_with_its_email_in_the_password_is_refused(session, clinic):
    with pytest.raises(InvalidInput, match="name part of your email"):
        staff.create_staff_user(
            session,
            email="meera@a.example",
            password="meera-at-the-clinic",
            role=Role.OPERATOR,
            clinic_id=clinic.id,
            actor=SYSTEM,
        )
    assert session.scalar(select(func.count()).select_from(StaffUser)) == 0


# --- TOTP second factor -----------------------------------------------------------------------


def turn_on_totp(client, clock) -> str:
    """Set up TOTP through the page, as a user would; returns the secret."""
    page = client.get("/auth/totp/setup")
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", page.text).group(1)
    assert "otpauth://totp/" in page.text
    if importlib.util.find_spec("segno"):
        assert 'src="data:image/svg+xml' in page.text  # the QR code, drawn here
    assert secret in client.get("/auth/totp/setup").text  # a reload keeps the secret
    refused = send_code(client, "000000", url="/auth/totp/setup", follow_redirects=True)
    assert "That code does not match" in refused.text
    code = pyotp.TOTP(secret).at(clock.now)
    on = send_code(client, code, url="/auth/totp/setup", follow_redirects=True)
    assert "Two-step login is on." in on.text
    return secret


def log_out(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})


def test_with_totp_a_login_needs_a_fresh_code(app, admin_user, clock, session):
    client = app.test_client()
    log_in(client)
    secret = turn_on_totp(client, clock)
    user = fresh(session, admin_user)
    assert user.totp_enabled_at == NOW
    assert secret not in user.totp_secret_encrypted  # stored encrypted
    totp = pyotp.TOTP(secret)
    log_out(client)

    response = log_in(client)
    assert response.headers["Location"] == "/login/code"
    assert not logged_in(client)  # the password alone is half a login

    assert alerts(send_code(client, "123456")) == ["That code does not match."]
    # The code that turned TOTP on cannot be used again, even within its 30 seconds.
    assert alerts(send_code(client, totp.at(clock.now))) == ["That code does not match."]
    assert not logged_in(client)

    clock.advance(seconds=30)
    code = totp.at(clock.now)
    assert send_code(client, code).headers["Location"] == "/admin/"
    assert logged_in(client)
    assert fresh(session, admin_user).failed_logins == 0

    log_out(client)
    log_in(client)
    assert alerts(send_code(client, code)) == ["That code does not match."]  # replayed
    clock.advance(seconds=30)
    assert send_code(client, totp.at(clock.now)).status_code == 302
    assert logged_in(client)


def test_the_code_step_expires_after_five_minutes(app, admin_user, clock):
    client = app.test_client()
    log_in(client)
    secret = turn_on_totp(client, clock)
    log_out(client)
    clock.advance(seconds=30)
    log_in(client)
    clock.advance(minutes=5, seconds=1)
    response = send_code(client, pyotp.TOTP(secret).at(clock.now), follow_redirects=True)
    assert "Please log in again." in alerts(response)
    assert not logged_in(client)


def test_wrong_codes_count_towards_the_lockout(app, admin_user, clock, session):
    client = app.test_client()
    log_in(client)
    secret = turn_on_totp(client, clock)
    log_out(client)
    clock.advance(seconds=30)
    log_in(client)
    for _ in range(4):
        assert alerts(send_code(client, "111111")) == ["That code does not match."]
    locked = send_code(client, "111111", follow_redirects=True)
    assert f"{LOCKED} 15 minutes." in locked.text
    assert fresh(session, admin_user).locked_until is not None
    # Even the password and a right code wait out the lock.
    page = log_in(client)
    assert alerts(page) == [WRONG]
    assert not logged_in(client)
    clock.advance(minutes=15)
    log_in(client)
    assert send_code(client, pyotp.TOTP(secret).at(clock.now)).status_code == 302
    assert logged_in(client)


def test_turning_totp_off_needs_a_current_code(app, admin_user, clock, session):
    client = app.test_client()
    log_in(client)
    secret = turn_on_totp(client, clock)
    refused = send_code(client, "999999", url="/auth/totp/disable", follow_redirects=True)
    assert "does not match" in refused.text
    assert fresh(session, admin_user).has_totp

    clock.advance(seconds=30)
    off = send_code(
        client, pyotp.TOTP(secret).at(clock.now), url="/auth/totp/disable", follow_redirects=True
    )
    assert "Two-step login is off." in off.text
    user = fresh(session, admin_user)
    assert not user.has_totp
    assert user.totp_secret_encrypted is None
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["staff.totp_enable", "staff.totp_disable"]
    log_out(client)
    assert log_in(client).headers["Location"] == "/admin/"  # back to one step


def test_totp_pages_need_a_login(app):
    client = app.test_client()
    response = client.get("/auth/totp/setup")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --- one answer for every email ---------------------------------------------------------------


def test_the_login_page_answers_alike_for_unknown_known_and_locked_emails(
    app, admin_user, clinic, session
):
    add_operator(session, clinic, "locked@a.example", "another-long-passphrase")
    for _ in range(5):
        log_in(app.test_client(), email="locked@a.example", password="not-my-password-at-all")
    assert session.scalar(
        select(StaffUser.locked_until).where(StaffUser.email == "locked@a.example")
    )

    def answer(email: str, password: str) -> tuple[int, list[str]]:
        page = log_in(app.test_client(), email=email, password=password)
        return page.status_code, alerts(page)

    unknown = answer("nobody@a.example", "whatever-they-try")
    assert unknown == (200, [WRONG])
    assert answer(EMAIL, "not-my-password-at-all") == unknown  # known, not locked
    assert answer("locked@a.example", "not-my-password-at-all") == unknown  # locked
    assert answer("locked@a.example", "another-long-passphrase") == unknown  # locked, right


# --- where a login may lead ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "////evil.example",
        "//evil",
        "///evil.example/admin/",
        "\\\\evil",
        "http://evil",
        "https://evil.example/admin/",
        "/\\evil",
        "/admin\\..\\\\evil",
        "/\tevil",
        "javascript:alert(1)",
        "/administrator",
        "/pay/upi/x",
    ],
)
def test_login_never_leads_off_the_panel(app, admin_user, target):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_login_leads_back_to_the_panel_page_asked_for(app, admin_user):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        query_string={"next": "/admin/appointment/?page=1"},
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/appointment/?page=1"


# --- sessions that end ---------------------------------------------------------------------------


def session_cookie(client) -> str:
    return client.get_cookie("roshni_session").value


def replayed(app, cookie: str):
    """A new browser presenting a copy of an old session cookie."""
    thief = app.test_client()
    thief.set_cookie("roshni_session", cookie)
    return thief.get("/admin/")


def assert_sent_to_login(app, cookie: str) -> None:
    response = replayed(app, cookie)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    thief = app.test_client()
    thief.set_cookie("roshni_session", cookie)
    page = thief.get("/admin/", follow_redirects=True)
    assert 'name="password"' in page.text  # the login page


@pytest.fixture
def operator(session, clinic):
    return add_operator(session, clinic, "operator@a.example", "front-desk-passphrase")


def test_logging_out_ends_every_session_of_the_account(app, admin_user, session):
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop)
    log_in(phone)
    copied = session_cookie(laptop)
    assert replayed(app, copied).status_code == 200  # a copy works while logged in

    log_out(laptop)

    assert_sent_to_login(app, copied)
    assert not logged_in(phone)
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-1] == "staff.logout"
    # Logging in again works, and the old cookie stays dead.
    assert log_in(laptop).status_code == 302
    assert logged_in(laptop)
    assert_sent_to_login(app, copied)


def test_changing_ones_password_ends_every_other_session(app, admin_user):
    browser, other = app.test_client(), app.test_client()
    log_in(browser)
    log_in(other)
    old = session_cookie(browser)
    token = csrf_token(browser, "/admin/profile/")
    new = "a-brand-new-passphrase"
    page = browser.post(
        "/admin/profile/password",
        data={"current": PASSWORD, "new": new, "repeat": new, "csrf_token": token},
        follow_redirects=True,
    )
    assert "Your password is changed." in page.text
    assert logged_in(browser)  # the browser that changed it carries on
    assert not logged_in(other)
    assert_sent_to_login(app, old)


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(
    app, admin_user, operator
):
    desk = app.test_client()
    log_in(desk, email=operator.email, password="front-desk-passphrase")
    old = session_cookie(desk)
    boss = app.test_client()
    log_in(boss)

    def set_active(value: str) -> None:
        url = f"/admin/staffuser/manage/{operator.id}"
        token = csrf_token(boss, url)
        boss.post(f"{url}/active", data={"active": value, "csrf_token": token})

    set_active("0")
    assert_sent_to_login(app, old)
    set_active("1")
    assert_sent_to_login(app, old)
    assert not logged_in(desk)
    log_in(desk, email=operator.email, password="front-desk-passphrase")
    assert logged_in(desk)


def test_an_admin_password_reset_ends_the_accounts_sessions(app, admin_user, operator):
    desk = app.test_client()
    log_in(desk, email=operator.email, password="front-desk-passphrase")
    old = session_cookie(desk)
    boss = app.test_client()
    log_in(boss)
    url = f"/admin/staffuser/manage/{operator.id}"
    token = csrf_token(boss, url)
    new = "reset-by-the-admin-2026"
    page = boss.post(
        f"{url}/password",
        data={"new": new, "repeat": new, "csrf_token": token},
        follow_redirects=True,
    )
    assert "has a new password" in page.text
    assert_sent_to_login(app, old)
    assert not logged_in(desk)
    assert logged_in(boss)  # the admin's own session is untouched


# --- nothing of the panel is cached ---------------------------------------------------------------


def test_panel_pages_and_the_login_page_are_never_stored(app, admin_user):
    from tests.admin.test_roles import admin_views

    client = app.test_client()
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    log_in(client)
    with app.test_request_context():
        urls = ["/admin/", "/admin/no-such-page/", "/auth/totp/setup"]
        for view in admin_views(app):
            name = "index_view" if hasattr(view, "index_view") else "index"
            urls.append(url_for(f"{view.endpoint}.{name}"))
    for url in urls:
        response = client.get(url)
        assert response.headers.get("Cache-Control") == "no-store", (url, response.status_code)
    assert (
        client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")}).headers[
            "Cache-Control"
        ]
        == "no-store"
    )
    # The panel's own scripts may be cached.
    with client.get("/admin-assets/search.js") as script:
        assert script.status_code == 200
        assert "no-store" not in script.headers.get("Cache-Control", "")


# --- the list of common passwords, and ADMIN_PASSWORD at start-up ----------------------------


def test_the_10000_most_common_passwords_ship_with_the_code_and_are_refused():
    from importlib import resources

    from core import passwords

    text = resources.files("core").joinpath("common_passwords.txt").read_text("utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    listed = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(listed) == len(set(listed)) == 10_000
    assert "zxcvbn" in " ".join(header)  # says where it came from
    assert listed[:3] == ["123456", "password", "12345678"]  # most common first
    long_enough = [p for p in listed if len(p) >= passwords.MIN_LENGTH]
    assert len(long_enough) > 50
    for password in long_enough:
        assert passwords.password_problem(password) is not None, password


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("passwordpassword", "That password repeats the same part over and over"),
        ("qwerty123456", "That password is one of the most common"),
        ("short", "Passwords must be at least 12 characters long."),
    ],
)
def test_a_weak_admin_password_stops_start_up_with_one_sentence(password, reason, tmp_path):
    from core.config import Config, ConfigError

    env = {"ROSHNI_INSTANCE_DIR": str(tmp_path), "ADMIN_PASSWORD": password}
    with pytest.raises(ConfigError) as refused:
        Config.from_env(env)
    message = str(refused.value)
    assert message.startswith("ADMIN_PASSWORD is refused: " + reason)
    assert password not in message  # the password itself is never printed
    assert "\n" not in message


def test_a_good_admin_password_starts(tmp_path):
    from core.config import Config

    config = Config.from_env(
        {"ROSHNI_INSTANCE_DIR": str(tmp_path), "ADMIN_PASSWORD": "demo-password-123"}
    )
    assert config.admin_password == "demo-password-123"
