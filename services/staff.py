"""Staff accounts: creation, password rules, an admin running the team (roles, deactivation,
unlocking, resets), logins with lockout, and the TOTP second factor."""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from core.config import Config
from core.db import write_transaction
from core.secrets import decrypt, encrypt
from models import Clinic, Role, StaffUser
from models.staff import LoginAttempt
from services import audit
from services.audit import Actor
from services.errors import Duplicate, InvalidInput, InvalidTransition, NotFound

MIN_PASSWORD = 12
# Below this length a password must mix character classes; longer passphrases need not.
MIXED_BELOW = 16
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown email the
# same as for a known one, so response times do not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-timing")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Wrong passwords (or codes) in a row before an account is locked, and for how long.
ACCOUNT_LOCK_AFTER = 5
ACCOUNT_LOCK_FOR = timedelta(minutes=15)
# Failed logins one client address may make in a sliding window, across all emails.
CLIENT_FAILURES_ALLOWED = 20
CLIENT_WINDOW = timedelta(minutes=15)

# The most common passwords that are long enough to pass the length rule (compared
# in lower case). A short list on purpose: it stops the guesses an attacker tries first.
_COMMON_PASSWORDS = """
    123456789012 1234567890123 12345678901234 1234567890ab 123456789abc 1234qwerasdf
    1q2w3e4r5t6y 1q2w3e4r5t6y7u 1qaz2wsx3edc 1qaz2wsx3edc4rfv a1b2c3d4e5f6 abc123456789
    abcd12345678 admin1234567 administrator administrator1 asdfghjkl123 baseball1234
    changeme1234 clinic123456 football1234 iloveyou1234 iloveyou12345 letmein12345 monkey123456
    passw0rd1234 password123! password1234 password12345 password123456 password@123
    password@1234 princess1234 q1w2e3r4t5y6 qwer1234asdf qwerty123456 qwerty1234567
    qwerty12345678 qwertyuiop12 qwertyuiop123 qwertyuiop1234 roshni123456 starwars1234
    sunshine1234 superman1234 therapy12345 welcome12345 welcome@1234 zaq12wsxcde3
"""
COMMON_PASSWORDS = frozenset(_COMMON_PASSWORDS.split())


def check_password(password: str, *, email: str = "") -> None:
    """Refuse passwords that are short, guessable or built from the account's email."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(detail=f"Passwords must be at least {MIN_PASSWORD} characters long.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        raise InvalidInput(detail="That password is one of the most common; please choose another.")
    local_part = email.strip().lower().split("@", 1)[0]
    # Very short local parts ("a@…") would forbid half the alphabet; three letters on.
    if len(local_part) >= 3 and local_part in lowered:
        raise InvalidInput(
            detail="A password must not contain the name part of your email address."
        )
    if len(password) < MIXED_BELOW and len({_char_class(c) for c in password}) < 2:
        raise InvalidInput(
            detail=(
                f"A password shorter than {MIXED_BELOW} characters needs a mix of letters, "
                "digits or symbols (or use a longer passphrase)."
            )
        )
    if len(set(lowered)) < 5:
        raise InvalidInput(detail="That password repeats too few different characters.")


def _char_class(char: str) -> str:
    if char.isdigit():
        return "digit"
    if char.isupper():
        return "upper"
    if char.islower():
        return "lower"
    return "letter" if char.isalpha() else "symbol"


def hash_password(password: str, *, email: str = "") -> str:
    check_password(password, email=email)
    return _hasher.hash(password)


def create_staff_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role,
    actor: Actor,
    clinic_id: int | None = None,
    name: str = "",
) -> StaffUser:
    email = (email or "").strip().lower()
    if not EMAIL.match(email):
        raise InvalidInput(detail="Please give a valid email address.")
    if (role is Role.SUPERADMIN) != (clinic_id is None):
        raise InvalidInput(detail="Only a superadmin has no clinic; every other role needs one.")
    password_hash = hash_password(password, email=email)
    with write_transaction(session):
        if clinic_id is not None and session.get(Clinic, clinic_id) is None:
            raise NotFound(what="clinic")
        if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
            raise Duplicate(detail=f"{email} already has an account.")
        user = StaffUser(
            email=email, name=name, password_hash=password_hash, role=role, clinic_id=clinic_id
        )
        session.add(user)
        audit.record(session, clinic_id=clinic_id, actor=actor, action="staff.create", entity=user)
    return user


def update_profile(session: Session, *, user_id: int, name: str, actor: Actor) -> StaffUser:
    """A staff member's own display name."""
    name = (name or "").strip()
    if len(name) > 120:
        raise InvalidInput(detail="A name is at most 120 characters.")
    with write_transaction(session):
        user = _locked_row(session, user_id)
        before = audit.snapshot(user)
        user.name = name
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.profile",
            entity=user,
            before=before,
        )
    return user


def change_password(
    session: Session, *, user_id: int, current: str, new: str, actor: Actor
) -> None:
    """A staff member changes their own password; the current one must be given."""
    with write_transaction(session):
        user = _locked_row(session, user_id)
        if not _verify(user.password_hash, current or ""):
            raise InvalidInput(detail="That is not your current password.")
        user.password_hash = hash_password(new or "", email=user.email)
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.password",
            entity=user,
            after={"password": "changed"},
        )


# --- running a clinic's team (its admins; the superadmin for every clinic) -------------------
#
# ``clinic_id`` is the clinic whose accounts the actor may touch: an admin passes their
# own, so another clinic's account is NotFound, exactly like an id that does not exist.
# None means every clinic, and is for the superadmin (and the CLI) only.


def change_role(
    session: Session, *, user_id: int, role: Role, actor: Actor, clinic_id: int | None
) -> StaffUser:
    """Give a clinic's staff member another clinic role; never to or from superadmin."""
    role = Role(role)
    if role is Role.SUPERADMIN:
        raise InvalidInput(detail="Nobody becomes a superadmin from the staff list.")
    with write_transaction(session):
        user = _team_member(session, user_id, clinic_id)
        if user.role is Role.SUPERADMIN:
            raise InvalidInput(detail="A superadmin's role cannot be changed.")
        if user.role is role:
            raise InvalidTransition(f"{user.email} is already {_a(role)}.")
        if user.role is Role.ADMIN:
            _keep_an_admin(session, user, f"{user.email} cannot stop being an admin")
        before = audit.snapshot(user)
        user.role = role
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.role",
            entity=user,
            before=before,
        )
    return user


def set_active(
    session: Session, *, user_id: int, active: bool, actor: Actor, clinic_id: int | None
) -> StaffUser:
    """Let an account log in again, or stop it: its open sessions end at their next request
    (``admin.auth`` loads only active users)."""
    with write_transaction(session):
        user = _team_member(session, user_id, clinic_id)
        if user.active == active:
            state = "active" if active else "already deactivated"
            raise InvalidTransition(f"{user.email} is {state}.")
        if not active:
            if actor.is_staff and actor.id == user.id:
                raise InvalidInput(detail="You cannot deactivate your own account.")
            _keep_an_admin(session, user, f"{user.email} cannot be deactivated")
        before = audit.snapshot(user)
        user.active = active
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.activate" if active else "staff.deactivate",
            entity=user,
            before=before,
        )
    return user


def unlock(session: Session, *, user_id: int, actor: Actor, clinic_id: int | None) -> StaffUser:
    """End a lockout now (the owner is known to be at the door) and forget the wrong tries."""
    with write_transaction(session):
        user = _team_member(session, user_id, clinic_id)
        if user.locked_until is None and not user.failed_logins:
            raise InvalidTransition(f"{user.email} is not locked.")
        before = audit.snapshot(user)
        user.failed_logins = 0
        user.locked_until = None
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.unlock",
            entity=user,
            before=before,
        )
    return user


def reset_totp(session: Session, *, user_id: int, actor: Actor, clinic_id: int | None) -> StaffUser:
    """Turn off someone's two-step login (a lost phone): the password alone logs them in
    until they set it up again. One's own goes off from one's profile, with a code."""
    with write_transaction(session):
        user = _team_member(session, user_id, clinic_id)
        _not_yourself(actor, user, "Turn off your own two-step login from My profile.")
        if user.totp_secret_encrypted is None and user.totp_enabled_at is None:
            raise InvalidTransition(f"{user.email} has no two-step login to reset.")
        before = audit.snapshot(user)
        user.totp_secret_encrypted = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.totp_reset",
            entity=user,
            before=before,
        )
    return user


def set_password(
    session: Session, *, user_id: int, password: str, actor: Actor, clinic_id: int | None
) -> StaffUser:
    """An admin gives someone a new password (forgotten). One's own is changed from one's
    profile, where the current password is asked for."""
    with write_transaction(session):
        user = _team_member(session, user_id, clinic_id)
        _not_yourself(actor, user, "Change your own password from My profile.")
        user.password_hash = hash_password(password or "", email=user.email)
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.password_reset",
            entity=user,
            after={"password": "set"},
        )
    return user


def _team_member(session: Session, user_id: int, clinic_id: int | None) -> StaffUser:
    """The account, if ``clinic_id`` may touch it, locked for this transaction.

    The account's managers (its clinic's active admins; for a superadmin, the
    active superadmins) are locked first and always in id order: two admins
    deactivating each other at once then run one after the other, so the second
    sees that the first is gone (and neither waits on the other's row forever).
    """
    user = session.get(StaffUser, user_id, populate_existing=True)
    if user is None or (clinic_id is not None and user.clinic_id != clinic_id):
        raise NotFound(what="staff account")
    session.scalars(_managers(user.clinic_id).order_by(StaffUser.id).with_for_update()).all()
    user = _locked_row(session, user_id)
    if clinic_id is not None and user.clinic_id != clinic_id:
        raise NotFound(what="staff account")
    return user


def _managers(clinic_id: int | None) -> Select[tuple[int]]:
    """The active accounts that run ``clinic_id`` (None: the deployment)."""
    if clinic_id is None:
        return select(StaffUser.id).where(
            StaffUser.role == Role.SUPERADMIN, StaffUser.clinic_id.is_(None), StaffUser.active
        )
    return select(StaffUser.id).where(
        StaffUser.role == Role.ADMIN, StaffUser.clinic_id == clinic_id, StaffUser.active
    )


def _keep_an_admin(session: Session, user: StaffUser, refusal: str) -> None:
    """Refuse a change that would leave the clinic (or the deployment) with no active admin."""
    if not user.active:
        return
    managers = set(session.scalars(_managers(user.clinic_id)))
    if user.id in managers and len(managers) == 1:
        who = "the deployment's" if user.clinic_id is None else "the clinic's"
        raise InvalidTransition(f"{refusal}: they are {who} last active admin.")


def _not_yourself(actor: Actor, user: StaffUser, refusal: str) -> None:
    if actor.is_staff and actor.id == user.id:
        raise InvalidInput(detail=refusal)


def _a(role: Role) -> str:
    return ("an " if role.value[0] in "aeiou" else "a ") + role.value


# --- logging in ------------------------------------------------------------------------------


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
        return LoginResult(LoginOutcome.LOCKED, retry_after=client_wait)
    email = (email or "").strip().lower()
    user = session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email))
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        if ip_hash is not None:
            with write_transaction(session):
                _count_client_failure(session, ip_hash, now)
        return LoginResult(LoginOutcome.WRONG)
    if (wait := _lock_left(user, now)) is not None:
        _verify(_DUMMY_HASH, password)  # the password is not even checked while locked
        return LoginResult(LoginOutcome.LOCKED, retry_after=wait)
    if not _verify(user.password_hash, password):
        return _fail(session, user.id, ip_hash, now)
    if user.has_totp:
        return LoginResult(LoginOutcome.NEEDS_TOTP, user=user)
    with write_transaction(session):
        user = _locked_row(session, user.id)
        # Locked by a parallel guess while this password was being checked?
        if (wait := _lock_left(user, now)) is not None:
            return LoginResult(LoginOutcome.LOCKED, retry_after=wait)
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
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
        return LoginResult(LoginOutcome.LOCKED, retry_after=client_wait)
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
        user = _locked_row(session, user.id)
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
        user = _locked_row(session, user_id)
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


def _locked_row(session: Session, user_id: int) -> StaffUser:
    """The user's row, re-read and locked for this transaction (BEGIN IMMEDIATE on SQLite)."""
    user = session.get(StaffUser, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound(what="staff account")
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
        raise InvalidInput(detail="That code does not match. Check the app's clock and try again.")
    with write_transaction(session):
        user = _locked_row(session, user_id)
        if user.has_totp:
            raise InvalidInput(detail="Two-step login is already on for this account.")
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
        raise InvalidInput(detail="Two-step login is not on for this account.")
    if (wait := _lock_left(user, now)) is not None:
        minutes = _whole_minutes(wait)
        raise InvalidInput(detail=f"Too many attempts; try again in {minutes} minutes.")
    assert user.totp_secret_encrypted is not None
    step = _totp_step(decrypt(config, user.totp_secret_encrypted), code, now)
    with write_transaction(session):
        user = _locked_row(session, user_id)
        fresh = step is not None and (user.totp_last_step is None or step > user.totp_last_step)
        if fresh and user.has_totp:
            before = audit.snapshot(user)
            user.totp_secret_encrypted = None
            user.totp_enabled_at = None
            user.totp_last_step = None
            audit.record(
                session,
                clinic_id=user.clinic_id,
                actor=actor,
                action="staff.totp_disable",
                entity=user,
                before=before,
            )
    if not fresh:
        _fail(session, user_id, ip_hash, now)
        raise InvalidInput(detail="That code does not match, or was already used.")
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
