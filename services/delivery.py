"""Delivering outbox rows: one attempt per call, exactly once across workers.

``deliver`` is the whole life of one attempt: claim the row with a conditional
UPDATE (so two workers never send it twice), check again that it should still
go (the session still booked, the contact not opted out), render it for the
channel's rules (free-form inside WhatsApp's 24-hour window, otherwise the
clinic's approved template; SMS in GSM-7, template-only in India), send it
outside any transaction, and record the result. Queueing is ``services.messaging``;
the channel rules are ``services.rendering``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from integrations.twilio_client import (
    WHATSAPP_FALLBACK_CODES,
    ListError,
    ProviderMessage,
    SendError,
    Sent,
)
from models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Clinic,
    Contact,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    SenderNumber,
)
from services.messaging import queue_message
from services.rendering import Undeliverable, addresses, compose, render
from services.simulator import SIMULATED, SIMULATED_REASON, is_simulator_phone

MAX_ATTEMPTS = 5
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
# A row left in "sending" this long belonged to a worker that died.
STUCK_AFTER = timedelta(minutes=5)
# Twilio dates a message when it takes it, a moment after we noted the send; the margin
# covers the HTTP call and clocks a little apart.
LIST_MARGIN = timedelta(minutes=2)
# A row whose fate Twilio's message list cannot tell (the list unreadable) is looked up on
# every sweep; after this long it goes to staff as "outcome unknown".
GIVE_UP_LOOKING_AFTER = timedelta(hours=6)
# The error code of a row whose fate at the provider is unknown (see release_stuck).
OUTCOME_UNKNOWN = "outcome_unknown"
# Twilio: the recipient opted out of SMS (replied STOP to the number).
SMS_OPTED_OUT = 21610


class Sender(Protocol):
    def send(
        self,
        *,
        from_: str,
        to: str,
        body: str | None = None,
        content_sid: str | None = None,
        content_variables: dict[str, str] | None = None,
        status_callback: str | None = None,
        media_url: str | None = None,
    ) -> Sent: ...

    # Twilio's message list (``TwilioSender.sent_since``): raises ListError when unreadable.
    def sent_since(self, *, from_: str, to: str, since: datetime) -> list[ProviderMessage]: ...


def claim(session: Session, message_id: int, *, now: datetime) -> bool:
    """queued → sending, only if still queued and due: the one worker that wins sends it."""
    with write_transaction(session):
        claimed = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == OutboundStatus.QUEUED,
                OutboundMessage.next_attempt_at <= now,
            )
            .values(
                status=OutboundStatus.SENDING,
                claimed_at=now,
                send_started_at=None,
                attempts=OutboundMessage.attempts + 1,
            )
        )
    return bool(claimed.rowcount)


def deliver(
    session: Session,
    message_id: int,
    *,
    now: datetime,
    sender: Sender | None = None,
    sender_for: Callable[[Clinic], Sender | None] | None = None,
    status_callback: str | None = None,
    base_url: str | None = None,
) -> OutboundStatus | None:
    """One delivery attempt. Safe to call twice, or from two workers at once.

    ``sender_for`` picks the clinic's own Twilio account where it has one;
    ``sender`` is one sender for every clinic (tests, the benchmark).
    """
    require_aware(now, "now")
    if not claim(session, message_id, now=now):
        return None
    try:
        message, clinic, appointment = _load(session, message_id)
        contact = message.contact
        reason = _no_longer_wanted(session, message, contact, appointment, now)
        if reason is not None:
            return _finish(session, message_id, OutboundStatus.CANCELLED, message=reason)
        if is_simulator_phone(contact.phone):  # the chat simulator's test contact
            text, _ = compose(message, clinic, contact, appointment, now=now, base_url=base_url)
            return _show_in_simulator(session, _Attempt.of(message, contact), text)
        chosen = sender_for(clinic) if sender_for is not None else sender
        if chosen is None:  # no Twilio account: wait (with the usual backoff) for one
            _release_unsent(session, message_id, now=now, reason="no Twilio account configured")
            return OutboundStatus.QUEUED
        try:
            outgoing = render(
                session, message, clinic, contact, appointment, now=now, base_url=base_url
            )
        except Undeliverable as exc:
            status = _finish(
                session, message_id, OutboundStatus.FAILED, code=exc.code, message=exc.reason
            )
            if exc.fallback:
                _queue_fallback(session, message_id, now=now)
            return status
    except Exception as exc:
        # Nothing has gone out: give the row back now rather than leave it in "sending",
        # where release_stuck would have to treat it as possibly sent.
        _release_unsent(session, message_id, now=now, reason=f"{type(exc).__name__} before sending")
        raise
    attempt = _Attempt.of(message, contact)  # plain values: the rollback expires the objects
    session.rollback()  # nothing is held open while we talk to the provider
    # Noted before the request leaves: if this worker dies now, release_stuck knows the
    # message may be at Twilio (and by which words to find it in Twilio's message list).
    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id)
            .values(send_started_at=now, body=None if outgoing.content_sid else outgoing.body)
        )

    try:
        sent = chosen.send(
            from_=outgoing.from_,
            to=outgoing.to,
            body=None if outgoing.content_sid else outgoing.body,
            content_sid=outgoing.content_sid,
            content_variables=outgoing.content_variables,
            status_callback=status_callback,
            **({"media_url": outgoing.media_url} if outgoing.media_url else {}),
        )
    except SendError as exc:
        return _send_failed(session, attempt, exc, now=now)

    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id)
            .values(
                provider_sid=sent.sid,
                body=outgoing.body,
                sent_at=now,
                # A status callback may have got here first: only "sending" becomes "sent".
                status=case(
                    (OutboundMessage.status == OutboundStatus.SENDING, OutboundStatus.SENT),
                    else_=OutboundMessage.status,
                ),
            )
        )
        _remember_reminder(session, attempt)
    return OutboundStatus.SENT


def _remember_reminder(session: Session, attempt: _Attempt) -> None:
    if attempt.kind is MessageKind.REMINDER and attempt.appointment_id is not None:
        # The patient's next "1", "2" or "3" on this channel answers this reminder.
        from flows.engine import remember_reminder

        remember_reminder(
            session,
            clinic_id=attempt.clinic_id,
            phone=attempt.phone,
            contact_id=attempt.contact_id,
            language=attempt.language,
            channel=attempt.channel,
            appointment_id=attempt.appointment_id,
        )


def _show_in_simulator(session: Session, attempt: _Attempt, text: str) -> OutboundStatus:
    """A message for the simulator's fictional test contact never reaches a provider:
    the row keeps the words (the simulator shows them) and says why it was not sent."""
    session.rollback()
    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == attempt.id,
                OutboundMessage.status == OutboundStatus.SENDING,
            )
            .values(
                status=OutboundStatus.CANCELLED,
                body=text,
                error_code=SIMULATED,
                error_message=SIMULATED_REASON,
            )
        )
        _remember_reminder(session, attempt)  # so the simulator can answer "1/2/3"
    return OutboundStatus.CANCELLED


@dataclass(frozen=True)
class _Attempt:
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

    @classmethod
    def of(cls, message: OutboundMessage, contact: Contact) -> _Attempt:
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
        )


def apply_status(
    session: Session, provider_sid: str, status: str, *, error_code: str | None = None
) -> bool:
    """A provider status callback: move the row forward only, never back."""
    try:
        new = OutboundStatus(status)
    except ValueError:
        return False
    if new in (OutboundStatus.QUEUED, OutboundStatus.SENDING, OutboundStatus.CANCELLED):
        return False  # provider-side "queued"/"sending" say nothing we don't know
    lower = [s for s in OutboundStatus if s.rank < new.rank and s is not OutboundStatus.CANCELLED]
    values: dict[str, Any] = {"status": new}
    if error_code:
        values["error_code"] = error_code[:20]
    with write_transaction(session):
        result = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.provider_sid == provider_sid, OutboundMessage.status.in_(lower))
            .values(**values)
        )
    return bool(result.rowcount)


def release_stuck(
    session: Session,
    *,
    now: datetime,
    sender_for: Callable[[Clinic], Sender | None] | None = None,
) -> int:
    """Settle the rows a dead worker left in "sending"; never send one twice on a guess.

    ``deliver`` commits the claim ("sending", ``claimed_at``), then notes the send
    (``send_started_at``, and the words unless it is a template) just before the
    request to Twilio leaves, and records the provider id with "sent". A row still in
    "sending" after ``STUCK_AFTER`` (longer than any job may run) lost its worker, or
    its answer timed out (``SendError.outcome_unknown``):

    - with a provider id, it was sent: it is marked sent;
    - with no send noted, the worker stopped before calling Twilio: it goes back to
      the queue (failed after ``MAX_ATTEMPTS`` claims, so it cannot loop);
    - with a send noted, Twilio may or may not have it (its API has no idempotency
      key), so its message list is read (``Sender.sent_since``: same from/to, dated
      around the noted send, same words, not a message another row already owns).
      Found: marked sent with Twilio's id, nothing sent again. Not found: queued again,
      once (``outcome_checked_at``); not found a second time, or several candidates,
      or still unreadable after ``GIVE_UP_LOOKING_AFTER``: failed with
      ``outcome_unknown`` for staff to check in Twilio's log and retry from the message
      log. While the list cannot be read the row stays in "sending" for the next sweep.

    Returns how many rows were marked outcome unknown (for staff).
    """
    cutoff = now - STUCK_AFTER
    stuck = (
        OutboundMessage.status == OutboundStatus.SENDING,
        OutboundMessage.claimed_at < cutoff,
    )
    never_sent = (*stuck, OutboundMessage.provider_sid.is_(None))
    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(*stuck, OutboundMessage.provider_sid.is_not(None))
            .values(status=OutboundStatus.SENT)
        )
        session.execute(
            update(OutboundMessage)
            .where(*never_sent, OutboundMessage.send_started_at.is_(None))
            .values(
                status=case(
                    (OutboundMessage.attempts >= MAX_ATTEMPTS, OutboundStatus.FAILED),
                    else_=OutboundStatus.QUEUED,
                ),
                next_attempt_at=now,
                error_message="the worker stopped before sending it to Twilio",
            )
        )
        noted = list(
            session.scalars(
                select(OutboundMessage.id)
                .where(*never_sent, OutboundMessage.send_started_at.is_not(None))
                .order_by(OutboundMessage.id)
            )
        )
    unknown = 0
    for message_id in noted:
        unknown += _settle_lost_answer(session, message_id, now=now, sender_for=sender_for)
    return unknown


class _Ambiguous(Exception):
    pass


def _settle_lost_answer(
    session: Session,
    message_id: int,
    *,
    now: datetime,
    sender_for: Callable[[Clinic], Sender | None] | None,
) -> int:
    """Look one noted-but-unanswered send up in Twilio's message list; 1 if left to staff."""
    message, clinic = session.execute(
        select(OutboundMessage, Clinic)
        .join(Clinic, Clinic.id == OutboundMessage.clinic_id)
        .options(joinedload(OutboundMessage.contact))
        .where(OutboundMessage.id == message_id)
        .execution_options(populate_existing=True)
    ).one()
    started, body, checked = message.send_started_at, message.body, message.outcome_checked_at
    assert started is not None
    addressed = addresses(session, clinic, message.contact, message.channel)
    sender = sender_for(clinic) if sender_for is not None else None
    too_old = message.claimed_at is not None and message.claimed_at < now - GIVE_UP_LOOKING_AFTER
    session.rollback()  # nothing held open during the HTTP call
    try:
        sent_since = getattr(sender, "sent_since", None)  # a test double may not list
        if sent_since is None or addressed is None:
            raise ListError("no Twilio account to ask")
        listed = sent_since(from_=addressed[0], to=addressed[1], since=started - LIST_MARGIN)
        found = _find_sent(session, clinic.id, listed, started=started, body=body)
    except ListError as exc:
        if not too_old:
            return 0  # left in "sending": the next sweep asks again
        return _give_to_staff(session, message_id, f"{exc}; the worker stopped while sending")
    except _Ambiguous:
        return _give_to_staff(
            session, message_id, "several messages in Twilio's log could be this one"
        )
    if found is not None:
        with write_transaction(session):
            session.execute(
                update(OutboundMessage)
                .where(
                    OutboundMessage.id == message_id,
                    OutboundMessage.status == OutboundStatus.SENDING,
                )
                .values(
                    status=OutboundStatus.SENT,
                    provider_sid=found.sid,
                    sent_at=found.created_at or started,
                    error_code=None,
                    error_message=None,
                )
            )
        return 0
    if checked is not None:  # sent again once already, and lost again
        return _give_to_staff(session, message_id, "not in Twilio's message log, twice")
    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id, OutboundMessage.status == OutboundStatus.SENDING
            )
            .values(
                status=OutboundStatus.QUEUED,
                next_attempt_at=now,
                send_started_at=None,
                outcome_checked_at=now,
                error_message="not in Twilio's message log after the worker stopped: sent again",
            )
        )
    return 0


def _find_sent(
    session: Session,
    clinic_id: int,
    listed: list[ProviderMessage],
    *,
    started: datetime,
    body: str | None,
) -> ProviderMessage | None:
    """The listed message that is this row's send. By its words where we know them; a
    template's words are Twilio's, so then only a single candidate counts."""
    candidates = [
        m
        for m in listed
        if m.created_at is not None
        and started - LIST_MARGIN <= m.created_at <= started + STUCK_AFTER + LIST_MARGIN
    ]
    if candidates:
        owned = set(
            session.scalars(
                select(OutboundMessage.provider_sid).where(
                    OutboundMessage.clinic_id == clinic_id,
                    OutboundMessage.provider_sid.in_([m.sid for m in candidates]),
                )
            )
        )
        session.rollback()
        candidates = [m for m in candidates if m.sid not in owned]
    candidates.sort(key=lambda m: (m.created_at, m.sid))
    if body is not None:
        same = [m for m in candidates if _words(m.body) == _words(body)]
        return same[0] if same else None
    if len(candidates) > 1:
        raise _Ambiguous
    return candidates[0] if candidates else None


def _words(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _give_to_staff(session: Session, message_id: int, reason: str) -> int:
    status = _finish(
        session,
        message_id,
        OutboundStatus.FAILED,
        code=OUTCOME_UNKNOWN,
        message=f"{reason}: check Twilio's message log before retrying",
    )
    return int(status is OutboundStatus.FAILED)


# --- internals -----------------------------------------------------------------------------


def _load(session: Session, message_id: int) -> tuple[OutboundMessage, Clinic, Appointment | None]:
    """The claimed row with everything rendering needs, read afresh (two queries).

    populate_existing: one sweep delivers many rows in one session, and the
    re-check must see the database as it is now, not as this session last read it.
    """
    message, clinic = session.execute(
        select(OutboundMessage, Clinic)
        .join(Clinic, Clinic.id == OutboundMessage.clinic_id)
        .options(joinedload(OutboundMessage.contact))
        .where(OutboundMessage.id == message_id)
        .execution_options(populate_existing=True)
    ).one()
    appointment = None
    if message.appointment_id is not None:
        appointment = session.scalar(
            select(Appointment)
            .options(
                joinedload(Appointment.patient),
                joinedload(Appointment.service),
                joinedload(Appointment.therapist),
            )
            .where(Appointment.id == message.appointment_id)
            .execution_options(populate_existing=True)
        )
    return message, clinic, appointment


def _no_longer_wanted(
    session: Session,
    message: OutboundMessage,
    contact: Contact,
    appointment: Appointment | None,
    now: datetime,
) -> str | None:
    if contact.opted_out(message.channel):
        return f"the contact opted out of {message.channel.value}"
    if message.kind is MessageKind.REMINDER and message.appointment_id is not None:
        if appointment is None or appointment.status not in AppointmentStatus.active():
            return "the session is no longer booked"
        if appointment.start_at <= now:
            return "the session has already started"
        later = session.scalar(
            select(OutboundMessage.id).where(
                OutboundMessage.appointment_id == message.appointment_id,
                OutboundMessage.kind == MessageKind.REMINDER,
                OutboundMessage.id != message.id,
                OutboundMessage.due_at > message.due_at,
                OutboundMessage.due_at <= now,
                OutboundMessage.status != OutboundStatus.CANCELLED,
            )
        )
        if later is not None:  # sending late (a sweep was down): one reminder, not two
            return "a later reminder for the same session is due"
    return None


def _send_failed(
    session: Session, message: _Attempt, exc: SendError, *, now: datetime
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
        status = _finish(session, message.id, OutboundStatus.FAILED, code=code, message=str(exc))
        if message.channel is Channel.WHATSAPP and exc.code in WHATSAPP_FALLBACK_CODES:
            _queue_fallback(session, message.id, now=now)
        return status
    delay = RETRY_DELAYS[min(message.attempts, len(RETRY_DELAYS)) - 1]
    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message.id,
                OutboundMessage.status == OutboundStatus.SENDING,
            )
            .values(
                status=OutboundStatus.QUEUED,
                next_attempt_at=now + delay,
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


def _finish(
    session: Session,
    message_id: int,
    status: OutboundStatus,
    *,
    code: str | None = None,
    message: str | None = None,
) -> OutboundStatus:
    session.rollback()
    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == OutboundStatus.SENDING,
            )
            .values(status=status, error_code=code, error_message=(message or "")[:300] or None)
        )
    return status


def _release_unsent(session: Session, message_id: int, *, now: datetime, reason: str) -> None:
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
        values: dict[str, Any] = {"error_code": None, "error_message": reason[:300]}
        if attempts >= MAX_ATTEMPTS:
            values["status"] = OutboundStatus.FAILED
        else:
            values["status"] = OutboundStatus.QUEUED
            values["next_attempt_at"] = now + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == OutboundStatus.SENDING,
            )
            .values(**values)
        )


def _queue_fallback(session: Session, message_id: int, *, now: datetime) -> None:
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
