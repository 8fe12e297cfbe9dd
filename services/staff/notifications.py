"""A staff member's own notifications in the panel (what
``services.messaging.staff_notices.notify_therapist`` wrote about their patients'
sessions): the unread count for the menu badge, the list, marking them read; and their
phone and choice to be told by WhatsApp too (My profile).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ScalarSelect, func, select, update
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from models import Appointment, Clinic, StaffNotification, StaffUser
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidInput, NotFound
from services.people.phones import normalise_phone
from services.staff.accounts import change_account

PAGE_SIZE = 100


def unread_count(clinic_id: int, staff_user_id: int) -> ScalarSelect[int]:
    """The staff member's unread notifications, as a scalar subquery (the menu badge adds
    it to its one statement)."""
    return (
        select(func.count(StaffNotification.id))
        .where(
            StaffNotification.clinic_id == clinic_id,
            StaffNotification.staff_user_id == staff_user_id,
            StaffNotification.read_at.is_(None),
        )
        .scalar_subquery()
    )


def notifications_for(
    session: Session, clinic_id: int, staff_user_id: int, *, limit: int = PAGE_SIZE
) -> Sequence[StaffNotification]:
    """The staff member's own notifications, unread first, newest first within each."""
    return session.scalars(
        select(StaffNotification)
        .where(
            StaffNotification.clinic_id == clinic_id,
            StaffNotification.staff_user_id == staff_user_id,
        )
        .options(joinedload(StaffNotification.appointment).joinedload(Appointment.patient))
        .order_by(
            StaffNotification.read_at.is_not(None),
            StaffNotification.created_at.desc(),
            StaffNotification.id.desc(),
        )
        .limit(limit)
    ).all()


def mark_all_read(
    session: Session, *, clinic_id: int, staff_user_id: int, now: datetime, actor: Actor
) -> int:
    """Mark the staff member's unread notifications read; how many were."""
    now = require_aware(now, "now")
    with write_transaction(session):
        user = _own_user(session, clinic_id, staff_user_id)
        marked = (
            session.execute(
                update(StaffNotification)
                .where(
                    StaffNotification.clinic_id == clinic_id,
                    StaffNotification.staff_user_id == user.id,
                    StaffNotification.read_at.is_(None),
                )
                .values(read_at=now)
            ).rowcount
            or 0
        )
        if marked:
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="staff_notification.read_all",
                entity=user,
                after={"marked_read": marked},
            )
    return marked


def set_whatsapp_choice(
    session: Session, *, user_id: int, phone: str | None, notify_whatsapp: bool, actor: Actor
) -> StaffUser:
    """A staff member's own phone (E.164, in the clinic's region) and whether the clinic
    may tell them by WhatsApp. Asking for WhatsApp needs a phone."""
    user = session.get(StaffUser, user_id)
    if user is None or user.clinic_id is None:
        raise NotFound(what=N_("staff member"))
    clinic = session.get(Clinic, user.clinic_id)
    assert clinic is not None
    raw = (phone or "").strip()
    e164 = normalise_phone(raw, clinic.phone_region, require_mobile=True) if raw else None
    if notify_whatsapp and e164 is None:
        raise InvalidInput(detail=N_("Give a mobile number to be told by WhatsApp."))
    return change_account(
        session,
        user_id=user_id,
        actor=actor,
        action="staff.notifications",
        phone=e164,
        notify_whatsapp=bool(notify_whatsapp),
    )


def _own_user(session: Session, clinic_id: int, staff_user_id: int) -> StaffUser:
    user = session.get(StaffUser, staff_user_id)
    if user is None or user.clinic_id != clinic_id:
        raise NotFound(what=N_("staff member"))
    return user
