"""The signed-in staff member as the views use them: audit actor, clinic and its timezone."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from services.audit import Actor


def staff_actor() -> Actor:
    return Actor.staff(current_user.id)


def current_clinic_id() -> int:
    clinic_id = current_user.clinic_id
    if clinic_id is None:
        abort(403)
    return clinic_id


def current_timezone() -> str:
    return current_user.clinic.timezone if current_user.clinic else "UTC"
