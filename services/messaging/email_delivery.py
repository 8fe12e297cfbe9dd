"""Delivering outbox emails: one attempt per call, exactly once across workers.

The same life as a chat message's (``services.messaging.delivery``): read and render
first, claim the row with a conditional UPDATE right before the request, send outside any
transaction, record the result. A refused address (5xx to the recipient) is a bounce: the
contact's address is marked (no more email to it) and the chat message goes instead, as it
does when email is off (no SMTP_URL), the contact unsubscribed, or the row failed for good.
A server that asks us to wait (4xx, no connection) gets the usual backoff
(``services.messaging.settling``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from integrations.smtp import EmailError
from models import Appointment, Clinic, OutboundEmail, OutboundStatus
from services.messaging.delivery import APPOINTMENT_LOADS
from services.messaging.email_outbox import chat_key
from services.messaging.email_render import EmailSetup, build_email
from services.messaging.outbox import preferred_channel, queue_message
from services.messaging.settling import release_values
from services.people.contact_email import mark_bounced

EMAIL_OFF = "email is off (no SMTP_URL)"


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


# What goes with an email, as (file name, bytes) pairs: a receipt's PDF
# (``services.billing.emailed.attachments``, given by the caller: billing sits above).
Attach = Callable[[Session, OutboundEmail], Sequence[tuple[str, bytes]]]


def deliver_email(
    session: Session,
    email_id: int,
    *,
    now: datetime,
    mailer: Mailer | None,
    setup: EmailSetup | None,
    attach: Attach | None = None,
) -> OutboundStatus | None:
    """One attempt at one outbox email; safe to call twice or from two workers at once.
    None when another worker has it, or it is not due."""
    require_aware(now, "now")
    session.commit()  # read the rows as they are now
    row = session.execute(
        select(OutboundEmail, Clinic)
        .join(Clinic, Clinic.id == OutboundEmail.clinic_id)
        .options(joinedload(OutboundEmail.contact))
        .where(
            OutboundEmail.id == email_id,
            OutboundEmail.status == OutboundStatus.QUEUED,
            OutboundEmail.next_attempt_at <= now,
        )
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        session.rollback()
        return None
    email, clinic = row
    contact = email.contact
    reason = None
    if mailer is None or setup is None:
        reason = EMAIL_OFF
    elif contact.erased_at is not None:
        reason = "the contact's data was erased"
    elif not contact.email_usable:
        reason = "the address bounced, was removed or unsubscribed"
    if reason is not None:
        session.rollback()
        return _settle(session, email_id, OutboundStatus.CANCELLED, reason, now=now, chat=True)
    assert mailer is not None and setup is not None
    appointment = None
    if email.appointment_id is not None:
        appointment = session.scalar(
            select(Appointment)
            .options(*APPOINTMENT_LOADS)
            .where(Appointment.id == email.appointment_id)
        )
    try:
        files = attach(session, email) if attach is not None else ()
        message = build_email(
            email, clinic, contact, appointment, now=now, setup=setup, attachments=files
        )
    except Exception:
        session.rollback()
        if _claim(session, email_id, now=now):
            _release(session, email_id, now=now, reason="could not be rendered")
        raise
    address = contact.email
    session.rollback()  # nothing held open while we talk to the mail server
    if not _claim(session, email_id, now=now):
        return None
    try:
        mailer.send(message)
    except EmailError as exc:
        if exc.bounce:
            assert address is not None
            mark_bounced(session, address, now=now, clinic_id=clinic.id)
        if exc.permanent:
            return _settle(
                session,
                email_id,
                OutboundStatus.FAILED,
                exc.reason,
                now=now,
                chat=True,
                code=str(exc.code or ""),
            )
        return _release(session, email_id, now=now, reason=exc.reason)
    with write_transaction(session):
        session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id)
            .values(
                status=OutboundStatus.SENT,
                sent_at=now,
                subject=str(message["Subject"])[:300],
                body=_text_part(message),
            )
        )
    return OutboundStatus.SENT


def _claim(session: Session, email_id: int, *, now: datetime) -> bool:
    """queued → sending, only while still queued and due: one worker wins."""
    with write_transaction(session):
        claimed = session.execute(
            update(OutboundEmail)
            .where(
                OutboundEmail.id == email_id,
                OutboundEmail.status == OutboundStatus.QUEUED,
                OutboundEmail.next_attempt_at <= now,
            )
            .values(
                status=OutboundStatus.SENDING,
                claimed_at=now,
                attempts=OutboundEmail.attempts + 1,
            )
        )
    return bool(claimed.rowcount)


def _release(session: Session, email_id: int, *, now: datetime, reason: str) -> OutboundStatus:
    """A claimed email that did not go: back to the queue after the backoff chat messages
    get, or failed for good (and the chat message goes instead)."""
    with write_transaction(session):
        attempts = session.scalar(
            select(OutboundEmail.attempts).where(OutboundEmail.id == email_id)
        )
        values = release_values(attempts or 0, now=now, reason=reason)
        session.execute(update(OutboundEmail).where(OutboundEmail.id == email_id).values(**values))
        if values["status"] is OutboundStatus.FAILED:
            _queue_chat_instead(session, email_id, now=now)
    return values["status"]


def _settle(
    session: Session,
    email_id: int,
    status: OutboundStatus,
    reason: str,
    *,
    now: datetime,
    chat: bool,
    code: str = "",
) -> OutboundStatus | None:
    """Settle an email that will not go, and (``chat``) send its chat message instead."""
    with write_transaction(session):
        settled = session.execute(
            update(OutboundEmail)
            .where(
                OutboundEmail.id == email_id,
                OutboundEmail.status.in_((OutboundStatus.QUEUED, OutboundStatus.SENDING)),
            )
            .values(status=status, error_code=code[:20] or None, error_message=reason[:300])
        )
        if not settled.rowcount:
            return None
        if chat:
            _queue_chat_instead(session, email_id, now=now)
    return status


def _queue_chat_instead(session: Session, email_id: int, *, now: datetime) -> None:
    """The chat message the email stood for (never a silent loss). Under the chat key:
    a contact who wanted both already has it, and nothing is added twice."""
    email = session.get(OutboundEmail, email_id, populate_existing=True)
    assert email is not None
    clinic = session.get(Clinic, email.clinic_id)
    assert clinic is not None
    queue_message(
        session,
        clinic_id=email.clinic_id,
        contact_id=email.contact_id,
        channel=preferred_channel(session, clinic, email.contact),
        kind=email.kind,
        template_key=email.template_key,
        idempotency_key=chat_key(email),
        due_at=now,
        variables=email.variables,
        appointment_id=email.appointment_id,
    )


def _text_part(message: EmailMessage) -> str | None:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else None  # type: ignore[attr-defined]
