"""The email outbox, queueing side: which messages a contact gets by email, and the row
written for one, in the transaction of the change that causes it, like a chat message
(``services.messaging.outbox.queue_for_contact`` routes here by the contact's
preference). ``services.messaging.email_delivery`` sends them.

Reminders, offers and anything that asks for a reply stay in the chat: only messages
that stand on their own (a confirmation, a receipt, a report, a statement) go by email.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import require_aware
from models import Contact, EmailPreference, MessageKind, OutboundEmail, OutboundStatus

# The chat messages that may go by email instead of (or as well as) the chat.
EMAILED = frozenset(
    {
        "notice_booked",
        "notice_moved",
        "notice_cancelled",
        "notice_length_changed",
        "payment_receipt",
        "payment_link_booking",
        "payment_link_dues",
        "progress_report",
        "dues_reminder",
    }
)
KEY_PREFIX = "email:"


def routes(contact: Contact, template_key: str) -> tuple[bool, bool]:
    """(by chat, by email) for this message to this contact. Email only where it is
    wanted and the address is usable; otherwise the chat, as always."""
    emailed = (
        template_key in EMAILED
        and contact.email_preference is not EmailPreference.CHAT
        and contact.email_usable
    )
    if not emailed:
        return True, False
    return contact.email_preference is EmailPreference.BOTH, True


def queue_email(
    session: Session,
    *,
    clinic_id: int,
    contact: Contact,
    kind: MessageKind,
    template_key: str,
    idempotency_key: str,
    due_at: datetime,
    variables: dict[str, Any] | None = None,
    appointment_id: int | None = None,
    payment_id: int | None = None,
    invoice_id: int | None = None,
) -> OutboundEmail | None:
    """Add an email to the outbox (its key is the chat message's with ``email:`` before
    it); a second call with the same key adds nothing."""
    require_aware(due_at, "due_at")
    key = f"{KEY_PREFIX}{idempotency_key}"
    taken = session.scalar(select(OutboundEmail.id).where(OutboundEmail.idempotency_key == key))
    if taken is not None:
        return None
    email = OutboundEmail(
        clinic_id=clinic_id,
        contact_id=contact.id,
        appointment_id=appointment_id,
        payment_id=payment_id,
        invoice_id=invoice_id,
        kind=kind,
        template_key=template_key,
        variables=variables or {},
        idempotency_key=key,
        due_at=due_at,
        next_attempt_at=due_at,
    )
    session.add(email)
    return email


def chat_key(email: OutboundEmail) -> str:
    """The idempotency key of the chat message an email stands for (its fallback)."""
    return email.idempotency_key.removeprefix(KEY_PREFIX)


def due_email_ids(session: Session, *, now: datetime, limit: int = 1000) -> list[int]:
    """Queued emails due now, in id order (the sweep's net)."""
    ids = list(
        session.scalars(
            select(OutboundEmail.id)
            .where(
                OutboundEmail.status == OutboundStatus.QUEUED,
                OutboundEmail.next_attempt_at <= now,
            )
            .order_by(OutboundEmail.id)
            .limit(limit)
        )
    )
    session.rollback()
    return ids


def next_email_due_at(session: Session, *, now: datetime) -> datetime | None:
    soonest = session.scalar(
        select(func.min(OutboundEmail.next_attempt_at)).where(
            OutboundEmail.status == OutboundStatus.QUEUED, OutboundEmail.next_attempt_at > now
        )
    )
    session.rollback()
    return soonest
