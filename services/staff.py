"""Staff accounts: creation and password checks (argon2id)."""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import Clinic, Role, StaffUser
from services import audit
from services.audit import Actor
from services.errors import Duplicate, InvalidInput, NotFound

MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown email the
# same as for a known one, so response times do not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-timing")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(detail=f"Passwords must be at least {MIN_PASSWORD} characters long.")
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
    password_hash = hash_password(password)
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


def authenticate(session: Session, email: str, password: str, *, now: datetime) -> StaffUser | None:
    """The active user with this email and password, or None. Upgrades old hashes."""
    email = (email or "").strip().lower()
    user = session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email))
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    with write_transaction(session):
        user = session.get(StaffUser, user.id)
        assert user is not None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = now
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
