"""The outbox, queueing side: every message the system sends on its own is a row,
written in the transaction of the change that causes it (a booking's reminders,
a notice of what staff did, a dues reminder). ``services.messaging.delivery`` sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import write_transaction
from models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Clinic,
    Contact,
    MessageKind,
    OutboundEmail,
    OutboundMessage,
    OutboundStatus,
    SenderNumber,
)
from services import audit
from services.audit import Actor
from services.clinics import settings_cache
from services.errors import N_, InvalidTransition, NotFound
from services.locks import lock_appointment
from services.messaging import email_outbox, online
from services.messaging.dispatch import note_queued


def queue_message(
    session: Session,
    *,
    clinic_id: int,
    contact_id: int,
    channel: Channel,
    kind: MessageKind,
    template_key: str,
    idempotency_key: str,
    due_at: datetime,
    variables: dict[str, Any] | None = None,
    appointment_id: int | None = None,
    fallback_of_id: int | None = None,
) -> OutboundMessage | None:
    """Add a message to the outbox; a second call with the same key adds nothing, and
    nothing is added for a contact whose data was erased."""
    require_aware(due_at, "due_at")
    contact = session.get(Contact, contact_id)
    if contact is not None and contact.erased_at is not None:
        return None  # an erased contact has no number left to send to
    exists = session.scalar(
        select(OutboundMessage.id).where(OutboundMessage.idempotency_key == idempotency_key)
    )
    if exists is not None:
        return None
    return _add_message(
        session,
        clinic_id=clinic_id,
        contact_id=contact_id,
        appointment_id=appointment_id,
        channel=channel,
        kind=kind,
        template_key=template_key,
        variables=variables or {},
        idempotency_key=idempotency_key,
        due_at=due_at,
        fallback_of_id=fallback_of_id,
    )


def _add_message(session: Session, *, due_at: datetime, **values: Any) -> OutboundMessage:
    """A new outbox row, its key known to be unused (the caller looked)."""
    message = OutboundMessage(due_at=due_at, next_attempt_at=due_at, **values)
    session.add(message)
    return message


def queue_for_contact(
    session: Session,
    clinic: Clinic,
    contact: Contact,
    *,
    kind: MessageKind,
    template_key: str,
    idempotency_key: str,
    due_at: datetime,
    variables: dict[str, Any] | None = None,
    appointment_id: int | None = None,
    payment_id: int | None = None,
) -> OutboundMessage | OutboundEmail | None:
    """``queue_message`` on the channel the contact is best reached on
    (``preferred_channel``), and/or an email, as the contact prefers
    (``email_outbox.routes``). Returns the chat message, or the email when it goes by
    email alone; None when the key was taken already (or the contact was erased).
    ``payment_id``: the receipt whose PDF an email carries."""
    by_chat, by_email = email_outbox.routes(contact, template_key)
    email = None
    if by_email:
        email = email_outbox.queue_email(
            session,
            clinic_id=clinic.id,
            contact=contact,
            kind=kind,
            template_key=template_key,
            idempotency_key=idempotency_key,
            due_at=due_at,
            variables=variables,
            appointment_id=appointment_id,
            payment_id=payment_id,
        )
        if not by_chat:
            return email
    message = queue_message(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        channel=preferred_channel(session, clinic, contact),
        kind=kind,
        template_key=template_key,
        idempotency_key=idempotency_key,
        due_at=due_at,
        variables=variables,
        appointment_id=appointment_id,
    )
    return message if message is not None else email


def schedule_reminders(session: Session, appointment: Appointment, *, now: datetime) -> int:
    """One reminder per clinic offset (24 h and 2 h by default); none already past.

    The keys are looked up in one statement: a new booking's keys are all free, so its
    reminders cost that one read and the INSERT the flush makes anyway."""
    clinic = session.get(Clinic, appointment.clinic_id)
    contact = appointment.patient.contact
    assert clinic is not None
    if contact.erased_at is not None:
        return 0  # an erased contact has no number left to send to
    if appointment.status not in AppointmentStatus.booked():
        return 0  # a request is reminded once the clinic approves it
    due_by_key = _reminders_due(clinic, appointment, now=now)
    if not due_by_key:
        return 0
    taken = dict(
        session.execute(
            select(OutboundMessage.idempotency_key, OutboundMessage.status).where(
                OutboundMessage.idempotency_key.in_(due_by_key)
            )
        ).all()
    )
    channel = preferred_channel(session, clinic, contact)
    made = 0
    for key, due in due_by_key.items():
        status = taken.get(key)
        if status is OutboundStatus.CANCELLED:
            # Moved back to a time it had before: that time's reminder was withdrawn
            # (cancel_pending), and its key would otherwise block a new one. Still due
            # in the future, so it cannot have been sent or dropped at send time.
            revived = session.execute(
                update(OutboundMessage)
                .where(
                    OutboundMessage.idempotency_key == key,
                    OutboundMessage.status == OutboundStatus.CANCELLED,
                )
                .values(
                    status=OutboundStatus.QUEUED,
                    channel=channel,
                    due_at=due,
                    next_attempt_at=due,
                    attempts=0,
                    claimed_at=None,
                    error_code=None,
                    error_message=None,
                )
                .returning(OutboundMessage.id, OutboundMessage.next_attempt_at)
            ).all()
            note_queued(session, revived)  # no flush sees a bulk UPDATE
            made += bool(revived)
        elif status is None:
            _add_message(
                session,
                clinic_id=clinic.id,
                contact_id=contact.id,
                appointment_id=appointment.id,
                channel=channel,
                kind=MessageKind.REMINDER,
                template_key="reminder",
                variables={},
                idempotency_key=key,
                due_at=due,
            )
            made += 1
    return made


def schedule_new_reminders(
    session: Session, appointments: Sequence[Appointment], *, now: datetime
) -> int:
    """``schedule_reminders`` for sessions just booked together (one patient's course):
    their keys hold their new ids, so none can be taken and nothing is looked up; the
    rows go in the flush's one INSERT, however many sessions there are."""
    if not appointments:
        return 0
    first = appointments[0]
    clinic = session.get(Clinic, first.clinic_id)
    contact = first.patient.contact
    assert clinic is not None
    if contact.erased_at is not None:
        return 0  # an erased contact has no number left to send to
    channel = preferred_channel(session, clinic, contact)
    made = 0
    for appointment in appointments:
        for key, due in _reminders_due(clinic, appointment, now=now).items():
            _add_message(
                session,
                clinic_id=clinic.id,
                contact_id=contact.id,
                appointment_id=appointment.id,
                channel=channel,
                kind=MessageKind.REMINDER,
                template_key="reminder",
                variables={},
                idempotency_key=key,
                due_at=due,
            )
            made += 1
    return made


def _reminders_due(
    clinic: Clinic, appointment: Appointment, *, now: datetime
) -> dict[str, datetime]:
    """The session's reminders still ahead, one per clinic offset, by idempotency key; an
    online session whose clinic has none close to the start gets one more, 15 minutes
    before (the link goes only in a close one: ``services.messaging.online``)."""
    due_by_key: dict[str, datetime] = {}
    offsets = clinic.policy.reminder_offsets_hours or []
    for hours in sorted(set(offsets), reverse=True):
        due = appointment.start_at - timedelta(hours=int(hours))
        if due > now:
            key = f"reminder:{appointment.id}:{appointment.start_at:%Y%m%dT%H%M}:{hours}h"
            due_by_key[key] = due
    if appointment.online and online.needs_last_call(offsets):
        due = appointment.start_at - online.LAST_CALL
        if due > now:
            minutes = int(online.LAST_CALL.total_seconds() // 60)
            key = f"reminder:{appointment.id}:{appointment.start_at:%Y%m%dT%H%M}:{minutes}m"
            due_by_key[key] = due
    return due_by_key


def cancel_pending(
    session: Session, appointment_id: int, *, kinds: tuple[MessageKind, ...], reason: str
) -> int:
    """Withdraw messages not sent yet (a reminder for a session that moved or was cancelled)."""
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.appointment_id == appointment_id,
            OutboundMessage.status == OutboundStatus.QUEUED,
            OutboundMessage.kind.in_(kinds),
        )
        .values(status=OutboundStatus.CANCELLED, error_message=reason)
    )
    return result.rowcount or 0


def notify_patient(
    session: Session,
    appointment: Appointment,
    *,
    event: str,
    now: datetime,
    variables: dict[str, Any] | None = None,
) -> OutboundMessage | None:
    """Tell the patient what the clinic did (booked, moved, cancelled) to their session
    (or, with ``variables`` such as a count, to a course that starts with it)."""
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None
    contact = appointment.patient.contact
    return queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.NOTICE,
        template_key=f"notice_{event}",
        idempotency_key=f"notice:{appointment.id}:{event}:{now:%Y%m%dT%H%M%S%f}",
        due_at=now,
        variables=variables,
        appointment_id=appointment.id,
    )


def preferred_channel(session: Session, clinic: Clinic, contact: Contact) -> Channel:
    """Where to reach the contact: WhatsApp where the clinic has it and the contact has
    not opted out, unless they only ever wrote to us by SMS; else SMS."""
    channels = settings_cache.cached(
        session,
        ("sender_channels", clinic.id),
        lambda: frozenset(
            session.scalars(select(SenderNumber.channel).where(SenderNumber.clinic_id == clinic.id))
        ),
    )
    sms_only = contact.sms_last_inbound_at is not None and contact.whatsapp_last_inbound_at is None
    if sms_only and Channel.SMS in channels and not contact.opted_out(Channel.SMS):
        return Channel.SMS
    if Channel.WHATSAPP in channels and not contact.opted_out(Channel.WHATSAPP):
        return Channel.WHATSAPP
    if Channel.SMS in channels and not contact.opted_out(Channel.SMS):
        return Channel.SMS
    return Channel.WHATSAPP


def _is_due(now: datetime) -> ColumnElement[bool]:
    """Queued and due: what the sweep hands over, and what a stalled sender leaves waiting."""
    return and_(
        OutboundMessage.status == OutboundStatus.QUEUED, OutboundMessage.next_attempt_at <= now
    )


def due_ids(session: Session, *, now: datetime, after_id: int = 0, limit: int = 1000) -> list[int]:
    """Ids of queued rows that are due, in id order, one page after ``after_id``."""
    ids = list(
        session.scalars(
            select(OutboundMessage.id)
            .where(_is_due(now), OutboundMessage.id > after_id)
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
    )
    session.rollback()
    return ids


def next_due_at(session: Session, *, now: datetime) -> datetime | None:
    """When the next queued row becomes due (after ``now``): the in-process sender's timer."""
    soonest = session.scalar(
        select(func.min(OutboundMessage.next_attempt_at)).where(
            OutboundMessage.status == OutboundStatus.QUEUED, OutboundMessage.next_attempt_at > now
        )
    )
    session.rollback()
    return soonest


@dataclass(frozen=True)
class Backlog:
    """Messages due and not yet sent; the oldest one's wait shows a stalled sender first."""

    due: int
    oldest_due_at: datetime | None

    def oldest_wait_seconds(self, now: datetime) -> float | None:
        if self.oldest_due_at is None:
            return None
        return round(max(0.0, (now - self.oldest_due_at).total_seconds()), 1)


def backlog(session: Session, *, now: datetime) -> Backlog:
    due, oldest = session.execute(
        select(func.count(), func.min(OutboundMessage.next_attempt_at)).where(_is_due(now))
    ).one()
    session.rollback()
    return Backlog(due=due, oldest_due_at=oldest)


def failures_by_error_code(session: Session, *, since: datetime) -> dict[str, int]:
    """Messages that failed or were undelivered since ``since`` (last changed then), by
    error code ("none" when there is none). Deployment-wide: for operators' metrics."""
    rows = session.execute(
        select(OutboundMessage.error_code, func.count())
        .where(
            OutboundMessage.status.in_((OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)),
            OutboundMessage.updated_at >= since,
        )
        .group_by(OutboundMessage.error_code)
    ).all()
    session.rollback()
    return {code or "none": count for code, count in rows}


def retry_message(
    session: Session, *, clinic_id: int, message_id: int, now: datetime, actor: Actor
) -> OutboundMessage:
    """Staff send a failed or undelivered message again (from the message log)."""
    with write_transaction(session):
        message = session.scalar(
            select(OutboundMessage).where(
                OutboundMessage.id == message_id, OutboundMessage.clinic_id == clinic_id
            )
        )
        if message is None:
            raise NotFound(what=N_("message"))
        if message.status not in (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED):
            raise InvalidTransition(
                N_("Only failed or undelivered messages can be retried; this one is %(status)s."),
                status=message.status.value,
            )
        before = audit.snapshot(message)
        message.status = OutboundStatus.QUEUED
        message.next_attempt_at = now
        message.attempts = 0
        message.provider_sid = None
        message.error_code = None
        message.error_message = None
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="message.retry",
            entity=message,
            before=before,
        )
    return message


def send_reminder_now(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> OutboundMessage:
    """Staff send one extra reminder for an upcoming session, now (the scheduled ones stay)."""
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        if appointment.status not in AppointmentStatus.booked() or appointment.start_at <= now:
            raise InvalidTransition(N_("Only an upcoming booked session can be reminded."))
        clinic = session.get(Clinic, clinic_id)
        assert clinic is not None
        contact = appointment.patient.contact
        channel = preferred_channel(session, clinic, contact)
        if contact.opted_out(channel):
            raise InvalidTransition(N_("This contact has opted out of messages."))
        message = queue_message(
            session,
            clinic_id=clinic_id,
            contact_id=contact.id,
            channel=channel,
            kind=MessageKind.REMINDER,
            template_key="reminder",
            idempotency_key=f"reminder:{appointment.id}:staff:{now:%Y%m%dT%H%M%S%f}",
            due_at=now,
            appointment_id=appointment.id,
        )
        if message is None:
            raise InvalidTransition(N_("A reminder was sent a moment ago."))
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="message.reminder", entity=message
        )
    return message
