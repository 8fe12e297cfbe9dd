"""How a claimed outbox row ends when it is not sent: a retry after the usual backoff,
failure for good, the SMS fallback of a WhatsApp message that cannot go, an SMS opt-out
noted. Shared by the one-row path (``services.messaging.delivery``), the batches
(``services.messaging.batches``) and the stuck-send check (``services.messaging.stuck_sends``).

Every update here applies only while the row is still "sending" (``still_sending``): a
claim that the sweep or another worker settled first is left as they left it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Update, select, update
from sqlalchemy.orm import Session

from core.db import write_transaction
from integrations.twilio.errors import SMS_OPTED_OUT, WHATSAPP_FALLBACK_CODES, SendError
from models import (
    Channel,
    Contact,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    SenderNumber,
)
from services.messaging.conversations import SentReminder, remember_reminder
from services.messaging.exercise_sends import nudge_of
from services.messaging.outbox import queue_message

MAX_ATTEMPTS = 5


RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)


@dataclass(frozen=True)
class Settle:
    """A row that will not be sent, and what it ends as (``decide``)."""

    status: OutboundStatus
    code: str | None = None
    message: str | None = None
    body: str | None = None  # the simulator's contact: the words it shows
    fallback: bool = False  # undeliverable on WhatsApp: queue the SMS fallback
    shown: bool = False  # shown in the simulator: a reminder is remembered as if sent

    @property
    def error_message(self) -> str | None:
        return (self.message or "")[:300] or None


def note_reminder(session: Session, attempt: Attempt) -> None:
    reminder = attempt.reminder()
    if reminder is not None:
        # The patient's next "1", "2" or "3" on this channel answers this reminder.
        remember_reminder(session, reminder)


@dataclass(frozen=True)
class Attempt:
    """What the rest of an attempt needs once the claimed row's objects are gone."""

    id: int
    clinic_id: int
    contact_id: int
    phone: str
    language: str
    channel: Channel
    kind: MessageKind
    appointment_id: int | None
    attempts: int
    nudge: tuple[int, date] | None = None  # an exercise nudge's assignment and day

    @classmethod
    def of(cls, message: OutboundMessage, contact: Contact) -> Attempt:
        return cls(
            id=message.id,
            clinic_id=message.clinic_id,
            contact_id=contact.id,
            phone=contact.phone,
            language=contact.language,
            channel=message.channel,
            kind=message.kind,
            appointment_id=message.appointment_id,
            attempts=message.attempts,
            nudge=nudge_of(message),
        )

    def reminder(self) -> SentReminder | None:
        """A reminder for a session or an exercise nudge, as the conversation remembers
        it once it went out (the contact's next "1/2/3", or "done", answers it); None for
        any other message."""
        if self.nudge is not None:
            assignment_id, day = self.nudge
            return SentReminder(
                clinic_id=self.clinic_id,
                phone=self.phone,
                contact_id=self.contact_id,
                language=self.language,
                channel=self.channel,
                exercise_assignment_id=assignment_id,
                exercise_day=day.isoformat(),
            )
        if self.kind is not MessageKind.REMINDER or self.appointment_id is None:
            return None
        return SentReminder(
            clinic_id=self.clinic_id,
            phone=self.phone,
            contact_id=self.contact_id,
            language=self.language,
            channel=self.channel,
            appointment_id=self.appointment_id,
        )


def send_failed(
    session: Session, message: Attempt, exc: SendError, *, now: datetime
) -> OutboundStatus:
    code = str(exc.code) if exc.code else None
    if exc.outcome_unknown:
        # The request may have reached Twilio: never send it twice on a guess. The row
        # stays "sending" (with its send noted), and release_stuck looks it up in
        # Twilio's message list once Twilio has surely settled it.
        session.rollback()
        with write_transaction(session):
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == message.id)
                .values(error_message=str(exc)[:300])
            )
        return OutboundStatus.SENDING
    if exc.code == SMS_OPTED_OUT:
        _note_sms_opt_out(session, message.contact_id, now=now)
    if exc.permanent or message.attempts >= MAX_ATTEMPTS:
        status = finish(
            session, message, Settle(OutboundStatus.FAILED, code=code, message=str(exc))
        )
        if message.channel is Channel.WHATSAPP and exc.code in WHATSAPP_FALLBACK_CODES:
            queue_fallback(session, message.id, now=now)
        return status
    with write_transaction(session):
        session.execute(
            still_sending(message.id).values(
                status=OutboundStatus.QUEUED,
                next_attempt_at=now + retry_delay(message.attempts),
                error_code=code,
                error_message=str(exc)[:300],
            )
        )
    return OutboundStatus.QUEUED


def _note_sms_opt_out(session: Session, contact_id: int, *, now: datetime) -> None:
    """Twilio says the number replied STOP to us by SMS: remember it, so we stop trying."""
    session.rollback()
    with write_transaction(session):
        session.execute(
            update(Contact)
            .where(Contact.id == contact_id, Contact.sms_opted_out_at.is_(None))
            .values(sms_opted_out_at=now)
        )


def still_sending(message_id: int) -> Update:
    """An UPDATE of one outbox row that applies only while the row is still "sending": a
    claim that the sweep or another worker settled first is left as they left it."""
    return update(OutboundMessage).where(
        OutboundMessage.id == message_id,
        OutboundMessage.status == OutboundStatus.SENDING,
    )


def finish(session: Session, attempt: Attempt, settle: Settle) -> OutboundStatus:
    """A claimed row that will not be sent, settled (and, shown in the simulator, a
    reminder remembered so the simulator can answer "1/2/3")."""
    session.rollback()
    with write_transaction(session):
        session.execute(still_sending(attempt.id).values(**settle_values(settle)))
        if settle.shown:
            note_reminder(session, attempt)
    return settle.status


def settle_values(settle: Settle) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": settle.status,
        "error_code": settle.code,
        "error_message": settle.error_message,
    }
    if settle.body is not None:
        values["body"] = settle.body
    return values


def retry_delay(attempts: int) -> timedelta:
    """How long a row waits after its ``attempts``-th attempt did not send it."""
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def release_values(attempts: int, *, now: datetime, reason: str) -> dict[str, Any]:
    """A claimed row that certainly did not go out: back to the queue after the usual
    backoff, or failed for good after MAX_ATTEMPTS."""
    values: dict[str, Any] = {"error_code": None, "error_message": reason[:300]}
    if attempts >= MAX_ATTEMPTS:
        values["status"] = OutboundStatus.FAILED
    else:
        values["status"] = OutboundStatus.QUEUED
        values["next_attempt_at"] = now + retry_delay(attempts)
    return values


def release_unsent(session: Session, message_id: int, *, now: datetime, reason: str) -> None:
    """A claimed row that certainly did not go out: back to the queue, or failed for good."""
    session.rollback()
    with write_transaction(session):
        attempts = session.scalar(
            select(OutboundMessage.attempts).where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == OutboundStatus.SENDING,
            )
        )
        if attempts is None:
            return
        session.execute(
            still_sending(message_id).values(**release_values(attempts, now=now, reason=reason))
        )


def queue_fallback(session: Session, message_id: int, *, now: datetime) -> None:
    """A WhatsApp message that cannot go goes by SMS, where the clinic has an SMS number."""
    with write_transaction(session):
        failed = session.get(OutboundMessage, message_id)
        if failed is None or failed.channel is not Channel.WHATSAPP:
            return
        has_sms = session.scalar(
            select(SenderNumber.id).where(
                SenderNumber.clinic_id == failed.clinic_id, SenderNumber.channel == Channel.SMS
            )
        )
        if has_sms is None or failed.contact.opted_out(Channel.SMS):
            return
        queue_message(
            session,
            clinic_id=failed.clinic_id,
            contact_id=failed.contact_id,
            channel=Channel.SMS,
            kind=failed.kind,
            template_key=failed.template_key,
            variables=failed.variables,
            idempotency_key=f"{failed.idempotency_key}:sms",
            due_at=now,
            appointment_id=failed.appointment_id,
            fallback_of_id=failed.id,
        )
