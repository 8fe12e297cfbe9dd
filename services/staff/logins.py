"""Logging in: passwords checked with lockout (per account and per client address),
and the optional TOTP second factor. Accounts themselves are ``services.staff.accounts``."""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.config import Config
from core.db import write_transaction
from core.secrets import decrypt, encrypt
from models import StaffUser
from models.staff import LoginAttempt
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidInput
from services.staff.accounts import (
    DUMMY_HASH,
    HASHER,
    end_sessions,
    locked_user,
    turn_off_totp,
    verify_password,
)

# Wrong passwords (or codes) in a row before an account is locked, and for how long.
ACCOUNT_LOCK_AFTER = 5
ACCOUNT_LOCK_FOR = timedelta(minutes=15)
# Failed logins one client address may make in a sliding window, across all emails.
CLIENT_FAILURES_ALLOWED = 20
CLIENT_WINDOW = timedelta(minutes=15)


class LoginOutcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown email, inactive account, wrong password or code
    LOCKED = "locked"  # the account or the client address must wait
    NEEDS_TOTP = "needs_totp"  # the password was right; a code from the app comes next


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: StaffUser | None = None
    retry_after: timedelta | None = None
    by_client: bool = False  # LOCKED because of the client address, not the account

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.OK

    @property
    def retry_minutes(self) -> int:
        """Whole minutes to wait (rounded up), for the "try again in N minutes" message."""
        return 0 if self.retry_after is None else _whole_minutes(self.retry_after)


def _whole_minutes(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds() / 60))


def hash_client(ip: str | None, secret_key: str) -> str | None:
    """A keyed SHA-256 of a client address: countable, but not reversible to the IP."""
    if not ip:
        return None
    return hmac.new(secret_key.encode(), ip.encode(), hashlib.sha256).hexdigest()


def authenticate(
    session: Session, email: str, password: str, *, now: datetime, ip_hash: str | None = None
) -> LoginResult:
    """Check a password, counting failures per account and per client address.

    An unknown email counts against the client address only, so guessing emails
    locks nobody out and the answer never says whether an account exists. A
    right password for an account with TOTP is only half a login (NEEDS_TOTP).
    """
    client_wait = _client_wait(session, ip_hash, now)
    if client_wait is not None:
        return LoginResult(LoginOutcome.LOCKED, retry_after=client_wait, by_client=True)
    email = (email or "").strip().lower()
    user = session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email))
    if user is None or not user.active:
        verify_password(DUMMY_HASH, password)
        if ip_hash is not None:
            with write_transaction(session):
                _count_client_failure(session, ip_hash, now)
        return LoginResult(LoginOutcome.WRONG)
    if (wait := _lock_left(user, now)) is not None:
        verify_password(DUMMY_HASH, password)  # the password is not even checked while locked
        if ip_hash is not None:  # counted like a guess at an unknown email
            with write_transaction(session):
                _count_client_failure(session, ip_hash, now)
        return LoginResult(LoginOutcome.LOCKED, retry_after=wait)
    if not verify_password(user.password_hash, password):
        return _fail(session, user.id, ip_hash, now)
    if user.has_totp:
        return LoginResult(LoginOutcome.NEEDS_TOTP, user=user)
    with write_transaction(session):
        user = locked_user(session, user.id)
        # Locked by a parallel guess while this password was being checked?
        if (wait := _lock_left(user, now)) is not None:
            return LoginResult(LoginOutcome.LOCKED, retry_after=wait)
        if HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = HASHER.hash(password)
        _succeed(user, now)
    return LoginResult(LoginOutcome.OK, user=user)


def verify_login_code(
    session: Session,
    *,
    user_id: int,
    code: str,
    now: datetime,
    config: Config,
    ip_hash: str | None = None,
) -> LoginResult:
    """The second step of a login with TOTP: a fresh code from the user's app.

    A wrong or replayed code counts as a failed login, like a wrong password.
    """
    client_wait = _client_wait(session, ip_hash, now)
    if client_wait is not None:
        return LoginResult(LoginOutcome.LOCKED, retry_after=client_wait, by_client=True)
    user = session.get(StaffUser, user_id, populate_existing=True)
    if user is None or not user.active or not user.has_totp:
        return LoginResult(LoginOutcome.WRONG)
    if (wait := _lock_left(user, now)) is not None:
        return LoginResult(LoginOutcome.LOCKED, retry_after=wait)
    assert user.totp_secret_encrypted is not None
    step = _totp_step(decrypt(config, user.totp_secret_encrypted), code, now)
    if step is None:
        return _fail(session, user.id, ip_hash, now)
    with write_transaction(session):
        user = locked_user(session, user.id)
        if (wait := _lock_left(user, now)) is not None:
            return LoginResult(LoginOutcome.LOCKED, retry_after=wait)
        # Checked again under the row lock: two requests with one code, one login.
        if user.totp_last_step is not None and step <= user.totp_last_step:
            replayed = True
        else:
            replayed = False
            user.totp_last_step = step
            _succeed(user, now)
    if replayed:
        return _fail(session, user.id, ip_hash, now)
    return LoginResult(LoginOutcome.OK, user=user)


def log_out(session: Session, *, user_id: int, actor: Actor) -> None:
    """Logging out ends every session of the account, not only this browser's: a copy of
    the session cookie (another device, a stolen one) stops working too."""
    with write_transaction(session):
        user = locked_user(session, user_id)
        end_sessions(user)
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.logout",
            entity=user,
            after={"sessions": "ended"},
        )


def _client_wait(session: Session, ip_hash: str | None, now: datetime) -> timedelta | None:
    """How long this client must wait, if it used up its failures in the window."""
    if ip_hash is None:
        return None
    recent = session.scalars(
        select(LoginAttempt.at)
        .where(LoginAttempt.ip_hash == ip_hash, LoginAttempt.at > now - CLIENT_WINDOW)
        .order_by(LoginAttempt.at.desc())
        .limit(CLIENT_FAILURES_ALLOWED)
    ).all()
    if len(recent) < CLIENT_FAILURES_ALLOWED:
        return None
    # Allowed again once the oldest of the last N failures leaves the window.
    return recent[-1] + CLIENT_WINDOW - now


def _count_client_failure(session: Session, ip_hash: str | None, now: datetime) -> None:
    if ip_hash is None:
        return
    session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - CLIENT_WINDOW))
    session.add(LoginAttempt(ip_hash=ip_hash, at=now))


def _fail(session: Session, user_id: int, ip_hash: str | None, now: datetime) -> LoginResult:
    """Count a wrong password or code; the last one allowed locks the account."""
    with write_transaction(session):
        _count_client_failure(session, ip_hash, now)
        user = locked_user(session, user_id)
        # Parallel guesses: the first to reach the limit locked it; the rest only wait.
        if (wait := _lock_left(user, now)) is not None:
            return LoginResult(LoginOutcome.LOCKED, retry_after=wait)
        user.failed_logins += 1
        if user.failed_logins < ACCOUNT_LOCK_AFTER:
            return LoginResult(LoginOutcome.WRONG)
        before = audit.snapshot(user)
        # The count starts again, so after the wait the user has the full number of tries.
        user.failed_logins = 0
        user.locked_until = now + ACCOUNT_LOCK_FOR
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=Actor.system(),
            action="staff.lock",
            entity=user,
            before=before,
        )
    return LoginResult(LoginOutcome.LOCKED, retry_after=ACCOUNT_LOCK_FOR)


def _lock_left(user: StaffUser, now: datetime) -> timedelta | None:
    """How long the account stays locked, or None when it is not locked."""
    if user.locked_until is None or user.locked_until <= now:
        return None
    return user.locked_until - now


def _succeed(user: StaffUser, now: datetime) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now


# --- TOTP (RFC 6238) second factor -----------------------------------------------------------

TOTP_ISSUER = "Roshni"
_CODE = re.compile(r"^\d{6}$")


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """The otpauth:// address an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def enable_totp(
    session: Session,
    *,
    user_id: int,
    secret: str,
    code: str,
    now: datetime,
    config: Config,
    actor: Actor,
) -> StaffUser:
    """Turn on the second factor once the user shows a code made from ``secret``."""
    step = _totp_step(secret, code, now)
    if step is None:
        raise InvalidInput(
            detail=N_("That code does not match. Check the app's clock and try again.")
        )
    with write_transaction(session):
        user = locked_user(session, user_id)
        if user.has_totp:
            raise InvalidInput(detail=N_("Two-step login is already on for this account."))
        before = audit.snapshot(user)
        user.totp_secret_encrypted = encrypt(config, secret)
        user.totp_enabled_at = now
        user.totp_last_step = step  # the code just shown cannot also log in
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.totp_enable",
            entity=user,
            before=before,
        )
    return user


def disable_totp(
    session: Session,
    *,
    user_id: int,
    code: str,
    now: datetime,
    config: Config,
    actor: Actor,
    ip_hash: str | None = None,
) -> StaffUser:
    """Turn off the second factor; a current, unused code proves the device is at hand.

    Wrong codes count as failed logins, so a borrowed session cannot try them all.
    """
    user = session.get(StaffUser, user_id, populate_existing=True)
    if user is None or not user.has_totp:
        raise InvalidInput(detail=N_("Two-step login is not on for this account."))
    if (wait := _lock_left(user, now)) is not None:
        minutes = _whole_minutes(wait)
        raise InvalidInput(
            N_("Too many attempts; try again in %(minutes)s minutes."), minutes=minutes
        )
    assert user.totp_secret_encrypted is not None
    step = _totp_step(decrypt(config, user.totp_secret_encrypted), code, now)
    with write_transaction(session):
        user = locked_user(session, user_id)
        fresh = step is not None and (user.totp_last_step is None or step > user.totp_last_step)
        if fresh and user.has_totp:
            turn_off_totp(session, user, actor=actor, action="staff.totp_disable")
    if not fresh:
        _fail(session, user_id, ip_hash, now)
        raise InvalidInput(detail=N_("That code does not match, or was already used."))
    return user


def _totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step whose code this is (allowing one step of clock drift), or None."""
    code = re.sub(r"\s", "", code or "")
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
