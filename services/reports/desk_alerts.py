"""What waits for the front desk: chats handed to a person, reschedule requests
awaiting a decision and chat booking requests awaiting approval, counted for the
panel's menu badge; and the signed-in staff member's unread notifications
(``services.staff.notifications``).

The rules are the lists' own (``services.messaging.handoff.waiting_for_staff``,
``services.scheduling.reschedule_requests.awaiting_decision``), so a badge and the list
it opens always agree. One statement, however many rows: the badge is polled by every
open tab.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import Appointment, Conversation, RescheduleRequest
from services.messaging.handoff import waiting_for_staff
from services.scheduling.booking_requests import awaiting_approval
from services.scheduling.reschedule_requests import awaiting_decision
from services.staff.notifications import unread_count


@dataclass(frozen=True)
class DeskAlerts:
    """Counts by kind; None for a kind the caller did not ask for (a role that may not
    open that list)."""

    waiting_chats: int | None = None
    pending_requests: int | None = None
    unread_notifications: int | None = None
    booking_requests: int | None = None

    @property
    def total(self) -> int:
        return (
            (self.waiting_chats or 0)
            + (self.pending_requests or 0)
            + (self.unread_notifications or 0)
            + (self.booking_requests or 0)
        )


def desk_alerts(
    session: Session,
    clinic_id: int,
    *,
    chats: bool,
    requests: bool,
    appointment_ids: Select[Any] | None = None,
    staff_user_id: int | None = None,
    bookings: bool = False,
) -> DeskAlerts:
    """The clinic's waiting chats (when ``chats``) and pending requests (when
    ``requests``; only those about ``appointment_ids`` when given, a therapist's own),
    and ``staff_user_id``'s unread notifications when given; the chat booking requests
    waiting for approval when ``bookings``."""
    columns = []
    if chats:
        columns.append(
            select(func.count(Conversation.id))
            .where(Conversation.clinic_id == clinic_id, waiting_for_staff())
            .scalar_subquery()
            .label("chats")
        )
    if requests:
        pending = select(func.count(RescheduleRequest.id)).where(
            RescheduleRequest.clinic_id == clinic_id, awaiting_decision()
        )
        if appointment_ids is not None:
            pending = pending.where(RescheduleRequest.appointment_id.in_(appointment_ids))
        columns.append(pending.scalar_subquery().label("requests"))
    if staff_user_id is not None:
        columns.append(unread_count(clinic_id, staff_user_id).label("notifications"))
    if bookings:
        columns.append(
            select(func.count(Appointment.id))
            .where(Appointment.clinic_id == clinic_id, awaiting_approval())
            .scalar_subquery()
            .label("bookings")
        )
    if not columns:
        return DeskAlerts()
    row = session.execute(select(*columns)).one()._mapping
    return DeskAlerts(
        waiting_chats=row.get("chats"),
        pending_requests=row.get("requests"),
        unread_notifications=row.get("notifications"),
        booking_requests=row.get("bookings"),
    )
