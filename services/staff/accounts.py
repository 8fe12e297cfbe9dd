"""Staff accounts: creation, password rules, and an admin running the team (roles,
deactivation, unlocking, resets). Logging in is ``services.staff.logins``."""

from __future__ import annotations

import re
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.db import write_transaction
from core.formatting import LANGUAGES
from core.passwords import MIN_LENGTH, hasher, password_refusal
from models import Clinic, Role, StaffUser, Therapist
from services import audit
from services.audit import Actor
from services.errors import N_, Duplicate, InvalidInput, InvalidTransition, NotFound

MIN_PASSWORD = MIN_LENGTH
HASHER = hasher()
# Verifying against this keeps the time of a login for an unknown email the
# same as for a known one, so response times do not reveal who has an account.
DUMMY_HASH = HASHER.hash("not-a-real-password-just-timing")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_password(password: str, *, email: str = "") -> None:
    """Refuse passwords that are short, guessable or built from the account's email
    (the rule is ``core.passwords``, shared with ADMIN_PASSWORD at start-up)."""
    problem = password_refusal(password, email=email)
    if problem is not None:
        raise InvalidInput(problem.text, **problem.params)


def hash_password(password: str, *, email: str = "") -> str:
    check_password(password, email=email)
    return HASHER.hash(password)


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
        raise InvalidInput(detail=N_("Please give a valid email address."))
    if (role is Role.SUPERADMIN) != (clinic_id is None):
        raise InvalidInput(
            detail=N_("Only a superadmin has no clinic; every other role needs one.")
        )
    password_hash = hash_password(password, email=email)
    with write_transaction(session):
        if clinic_id is not None and session.get(Clinic, clinic_id) is None:
            raise NotFound(what=N_("clinic"))
        if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
            raise Duplicate(N_("%(email)s already has an account."), email=email)
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
        raise InvalidInput(detail=N_("A name is at most 120 characters."))
    return change_account(session, user_id=user_id, actor=actor, action="staff.profile", name=name)


def choose_language(
    session: Session, *, user_id: int, locale: str | None, actor: Actor
) -> StaffUser:
    """The language a staff member reads the panel in: one of ``LANGUAGES``, or None
    for their clinic's."""
    locale = locale or None
    if locale is not None and locale not in LANGUAGES:
        raise InvalidInput(detail=N_("The panel speaks English and Hindi."))
    return change_account(
        session, user_id=user_id, actor=actor, action="staff.language", locale=locale
    )


def change_account(
    session: Session, *, user_id: int, actor: Actor, action: str, **values: Any
) -> StaffUser:
    """Set ``values`` on the staff member's locked row and audit it as ``action``: one
    transaction (a staff member's own settings: name, language, how they are told)."""
    with write_transaction(session):
        user = locked_user(session, user_id)
        before = audit.snapshot(user)
        for name, value in values.items():
            setattr(user, name, value)
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action=action,
            entity=user,
            before=before,
        )
    return user


def change_password(
    session: Session, *, user_id: int, current: str, new: str, actor: Actor
) -> None:
    """A staff member changes their own password; the current one must be given."""
    with write_transaction(session):
        user = locked_user(session, user_id)
        if not verify_password(user.password_hash, current or ""):
            raise InvalidInput(detail=N_("That is not your current password."))
        _replace_password(user, new)
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
        raise InvalidInput(detail=N_("Nobody becomes a superadmin from the staff list."))
    with write_transaction(session):
        user = _team_member(session, user_id, clinic_id)
        if user.role is Role.SUPERADMIN:
            raise InvalidInput(detail=N_("A superadmin's role cannot be changed."))
        if user.role is role:
            raise InvalidTransition(
                N_("%(email)s is already %(role)s."), email=user.email, role=_a(role)
            )
        if user.role is Role.ADMIN:
            _keep_an_admin(session, user, "demote")
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
    (``admin.auth`` loads only active users whose session epoch is current)."""
    with write_transaction(session):
        user = _team_member(session, user_id, clinic_id)
        if user.active == active:
            if active:
                raise InvalidTransition(N_("%(email)s is active."), email=user.email)
            raise InvalidTransition(N_("%(email)s is already deactivated."), email=user.email)
        if not active:
            if actor.is_staff and actor.id == user.id:
                raise InvalidInput(detail=N_("You cannot deactivate your own account."))
            _keep_an_admin(session, user, "deactivate")
        before = audit.snapshot(user)
        user.active = active
        # Both ways: a session from before a deactivation stays ended after reactivation.
        end_sessions(user)
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
            raise InvalidTransition(N_("%(email)s is not locked."), email=user.email)
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
        _not_yourself(actor, user, N_("Turn off your own two-step login from My profile."))
        if user.totp_secret_encrypted is None and user.totp_enabled_at is None:
            raise InvalidTransition(
                N_("%(email)s has no two-step login to reset."), email=user.email
            )
        # A lost phone may be a stolen one, signed in.
        turn_off_totp(session, user, actor=actor, action="staff.totp_reset", sign_out=True)
    return user


def set_password(
    session: Session, *, user_id: int, password: str, actor: Actor, clinic_id: int | None
) -> StaffUser:
    """An admin gives someone a new password (forgotten). One's own is changed from one's
    profile, where the current password is asked for."""
    with write_transaction(session):
        user = _team_member(session, user_id, clinic_id)
        _not_yourself(actor, user, N_("Change your own password from My profile."))
        _replace_password(user, password)
        audit.record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="staff.password_reset",
            entity=user,
            after={"password": "set"},
        )
    return user


def turn_off_totp(
    session: Session, user: StaffUser, *, actor: Actor, action: str, sign_out: bool = False
) -> None:
    """Forget ``user``'s second factor, audited as ``action``: the password alone logs them
    in until they set it up again. ``sign_out`` also ends every session of theirs.
    Called inside the caller's transaction, on the locked row."""
    before = audit.snapshot(user)
    user.totp_secret_encrypted = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    if sign_out:
        end_sessions(user)
    audit.record(
        session,
        clinic_id=user.clinic_id,
        actor=actor,
        action=action,
        entity=user,
        before=before,
    )


def linked_therapist(
    session: Session, clinic_id: int | None, staff_user_id: int
) -> Therapist | None:
    """The therapist this staff login is (``Therapist.staff_user_id``), if any."""
    return session.scalar(
        select(Therapist).where(
            Therapist.clinic_id == clinic_id, Therapist.staff_user_id == staff_user_id
        )
    )


def _replace_password(user: StaffUser, password: str) -> None:
    """A new password ends every session begun under the old one."""
    user.password_hash = hash_password(password or "", email=user.email)
    end_sessions(user)


def end_sessions(user: StaffUser) -> None:
    """End every login session of ``user`` (they carry the epoch they began in; see
    ``admin.auth``). Called inside the caller's transaction, on the locked row."""
    user.session_epoch = (user.session_epoch or 0) + 1


def _team_member(session: Session, user_id: int, clinic_id: int | None) -> StaffUser:
    """The account, if ``clinic_id`` may touch it, locked for this transaction.

    The account's managers (its clinic's active admins; for a superadmin, the
    active superadmins) are locked first and always in id order: two admins
    deactivating each other at once then run one after the other, so the second
    sees that the first is gone (and neither waits on the other's row forever).
    """
    user = session.get(StaffUser, user_id, populate_existing=True)
    if user is None or (clinic_id is not None and user.clinic_id != clinic_id):
        raise NotFound(what=N_("staff account"))
    session.scalars(_managers(user.clinic_id).order_by(StaffUser.id).with_for_update()).all()
    user = locked_user(session, user_id)
    if clinic_id is not None and user.clinic_id != clinic_id:
        raise NotFound(what=N_("staff account"))
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


def _keep_an_admin(session: Session, user: StaffUser, change: str) -> None:
    """Refuse a change ("demote" or "deactivate") that would leave the clinic (or the
    deployment) with no active admin."""
    if not user.active:
        return
    managers = set(session.scalars(_managers(user.clinic_id)))
    if user.id in managers and len(managers) == 1:
        refusal = _LAST_ADMIN[change, user.clinic_id is None]
        raise InvalidTransition(refusal, email=user.email)


# Whole sentences, so each is translated as one.
_LAST_ADMIN = {
    ("demote", False): N_(
        "%(email)s cannot stop being an admin: they are the clinic's last active admin."
    ),
    ("demote", True): N_(
        "%(email)s cannot stop being an admin: they are the deployment's last active admin."
    ),
    ("deactivate", False): N_(
        "%(email)s cannot be deactivated: they are the clinic's last active admin."
    ),
    ("deactivate", True): N_(
        "%(email)s cannot be deactivated: they are the deployment's last active admin."
    ),
}


def _not_yourself(actor: Actor, user: StaffUser, refusal: str) -> None:
    if actor.is_staff and actor.id == user.id:
        raise InvalidInput(detail=refusal)


def _a(role: Role) -> str:
    return _A_ROLE[role]


# Words the panel translates inside "… is already %(role)s."
_A_ROLE = {
    Role.SUPERADMIN: N_("a superadmin"),
    Role.ADMIN: N_("an admin"),
    Role.OPERATOR: N_("an operator"),
    Role.THERAPIST: N_("a therapist"),
    Role.ACCOUNTANT: N_("an accountant"),
}


def locked_user(session: Session, user_id: int) -> StaffUser:
    """The user's row, re-read and locked for this transaction (BEGIN IMMEDIATE on SQLite)."""
    user = session.get(StaffUser, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound(what=N_("staff account"))
    return user


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
