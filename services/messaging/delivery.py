"""Delivering outbox rows: one attempt per call, exactly once across workers.

``deliver`` is the whole life of one attempt: check again that the row should
still go (the session still booked, the contact not opted out), render it for the
channel's rules (free-form inside WhatsApp's 24-hour window, otherwise the
clinic's approved template; SMS in GSM-7, template-only in India), claim it with a
conditional UPDATE (so two workers never send it twice) right before the request,
send it outside any transaction, and record the result. Queueing is ``services.messaging.outbox``;
the channel rules are ``services.messaging.rendering``; how a row ends unsent (retries,
failure, the SMS fallback) is ``services.messaging.settling``. RQ workers send in batches
(``services.messaging.batches``, built from the pieces here); ``deliver`` is the one-row
path (the in-process sender, the sweep when Redis is down, the simulator).

Per contact, messages leave in id order: the claim right before a send waits while an
earlier row to the same contact is being sent or is due and unsent (``overtakes``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, case, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from core.clock import require_aware
from core.db import write_transaction
from integrations.twilio.client import ProviderMessage, Sent
from integrations.twilio.errors import SendError
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Contact,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
)
from services.messaging.exercise_sends import unwanted_nudge
from services.messaging.rendering import (
    Outgoing,
    SenderLookup,
    Undeliverable,
    compose,
    render,
)
from services.messaging.settling import (
    Attempt,
    Settle,
    finish,
    note_reminder,
    queue_fallback,
    release_unsent,
    send_failed,
)
from services.messaging.simulator import SIMULATED, SIMULATED_REASON, is_simulator_phone

# A row left in "sending" this long belonged to a worker that died.
STUCK_AFTER = timedelta(minutes=5)
# The error code of a row whose fate at the provider is unknown (services.messaging.stuck_sends).
OUTCOME_UNKNOWN = "outcome_unknown"


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


def is_due(now: datetime) -> ColumnElement[bool]:
    """Queued and due now: what may be claimed."""
    return and_(
        OutboundMessage.status == OutboundStatus.QUEUED, OutboundMessage.next_attempt_at <= now
    )


def overtakes(now: datetime, *, besides: Collection[int] = ()) -> ColumnElement[bool]:
    """True for a row that would overtake an earlier one to the same contact: an earlier
    row (lower id) of that contact is being sent, or is due and not sent yet (``besides``:
    rows claimed in the same statement, which go first). An earlier row waiting out a
    retry's backoff, failed, cancelled or sent does not hold later ones back, nor does an
    earlier reminder of the same session (a later reminder due replaces it:
    ``LATER_REMINDER``)."""
    earlier = aliased(OutboundMessage)
    superseded = and_(
        OutboundMessage.kind == MessageKind.REMINDER,
        earlier.kind == MessageKind.REMINDER,
        earlier.appointment_id == OutboundMessage.appointment_id,
        earlier.due_at < OutboundMessage.due_at,
    )
    return exists().where(
        earlier.contact_id == OutboundMessage.contact_id,
        earlier.id < OutboundMessage.id,
        or_(
            earlier.status == OutboundStatus.SENDING,
            and_(earlier.status == OutboundStatus.QUEUED, earlier.next_attempt_at <= now),
        ),
        ~superseded,
        *([earlier.id.not_in(list(besides))] if besides else []),
    )


def claim(session: Session, message_id: int, *, now: datetime, to_send: bool = False) -> bool:
    """queued → sending, only if still queued and due: the one worker that wins sends it
    (or settles it). ``to_send``: the claim right before the request, which also waits
    while an earlier message to the same contact is still to go (``overtakes``)."""
    with write_transaction(session):
        claimed = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                is_due(now),
                *([~overtakes(now)] if to_send else []),
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

    Everything that can be decided without the provider (is it still wanted, which
    account, the rendered text) is read first; the row is claimed only then, right
    before the request. A worker killed before its claim leaves the row queued for the
    next sweep; only a death inside the request itself leaves a row "sending", whose
    fate release_stuck settles (the fault suite's kill -9 scenario, bench/faults.py).
    """
    require_aware(now, "now")
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("deliver was called with unsaved changes in its session")
    session.commit()  # end a read transaction the caller had open: read the rows as they are
    try:
        prepared = _prepare(
            session, message_id, now=now, sender=sender, sender_for=sender_for, base_url=base_url
        )
    except Exception as exc:
        # Nothing has gone out. Count the attempt and give the row back with the usual
        # backoff (failed after MAX_ATTEMPTS), so a row that cannot be prepared is not
        # picked up by every sweep forever.
        session.rollback()
        if claim(session, message_id, now=now):
            reason = f"{type(exc).__name__} before sending"
            release_unsent(session, message_id, now=now, reason=reason)
        raise
    if not isinstance(prepared, Prepared):
        return prepared
    session.rollback()  # nothing is held open while we talk to the provider
    if not claim(session, message_id, now=now, to_send=True):
        return None
    return _send(session, prepared, now=now, status_callback=status_callback)


def _send(
    session: Session, prepared: Prepared, *, now: datetime, status_callback: str | None
) -> OutboundStatus:
    """The claimed row's one request to the provider: noted before it leaves, recorded after."""
    attempt, outgoing = prepared.attempt, prepared.outgoing
    attempt = replace(attempt, attempts=attempt.attempts + 1)  # the claim counted this one
    # Noted before the request leaves: if this worker dies now, release_stuck knows the
    # message may be at Twilio (and by which words to find it in Twilio's message list).
    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == attempt.id)
            .values(send_started_at=now, body=noted_body(outgoing))
        )

    try:
        sent = send_request(prepared, status_callback=status_callback)
    except SendError as exc:
        return send_failed(session, attempt, exc, now=now)

    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == attempt.id)
            .values(provider_sid=sent.sid, body=outgoing.body, **sent_values(now))
        )
        note_reminder(session, attempt)
    return OutboundStatus.SENT


def send_request(prepared: Prepared, *, status_callback: str | None) -> Sent:
    """The one request to the provider for a claimed, noted row (raises SendError)."""
    outgoing = prepared.outgoing
    return prepared.sender.send(
        from_=outgoing.from_,
        to=outgoing.to,
        body=noted_body(outgoing),
        content_sid=outgoing.content_sid,
        content_variables=outgoing.content_variables,
        status_callback=status_callback,
        **({"media_url": outgoing.media_url} if outgoing.media_url else {}),
    )


def noted_body(outgoing: Outgoing) -> str | None:
    """The words the request carries and the row notes before it leaves: none when an
    approved template carries them."""
    return None if outgoing.content_sid else outgoing.body


def sent_values(now: datetime) -> dict[str, Any]:
    """The columns of a row the provider took (besides its sid and words)."""
    return {
        "sent_at": now,
        # A status callback may have got here first: only "sending" becomes "sent".
        "status": case(
            (OutboundMessage.status == OutboundStatus.SENDING, OutboundStatus.SENT),
            else_=OutboundMessage.status,
        ),
    }


@dataclass(frozen=True)
class Prepared:
    """A row rendered and ready to go: its attempt, the account and the request."""

    attempt: Attempt
    sender: Sender
    outgoing: Outgoing


# A row that waits (the usual backoff) for the clinic's Twilio account.
NO_ACCOUNT = "no Twilio account configured"


def decide(
    session: Session,
    attempt: Attempt,
    loaded: tuple[OutboundMessage, Clinic, Appointment | None],
    *,
    later: Collection[int],
    now: datetime,
    sender: Sender | None,
    sender_for: Callable[[Clinic], Sender | None] | None,
    base_url: str | None,
    lookup: SenderLookup | None = None,
) -> Prepared | Settle | str:
    """The render step both paths share: what to send with which account, or how the
    row settles without a request (no longer wanted, the simulator's contact,
    undeliverable), or the reason it waits (``NO_ACCOUNT``). ``later``: ids of rows a
    later reminder replaces (``later_reminders``)."""
    message, clinic, appointment = loaded
    contact = message.contact
    reason = unwanted_reason(message, contact, appointment, now)
    if reason is None and message.kind is MessageKind.EXERCISE:
        reason = unwanted_nudge(session, message, clinic, contact, now)
    if reason is None and message.id in later:
        reason = LATER_REMINDER
    if reason is not None:
        return Settle(OutboundStatus.CANCELLED, message=reason)
    if is_simulator_phone(contact.phone):  # the chat simulator's test contact
        text, _ = compose(message, clinic, contact, appointment, now=now, base_url=base_url)
        return Settle(
            OutboundStatus.CANCELLED,
            code=SIMULATED,
            message=SIMULATED_REASON,
            body=text,
            shown=True,
        )
    chosen = sender_for(clinic) if sender_for is not None else sender
    if chosen is None:  # no Twilio account: wait (with the usual backoff) for one
        return NO_ACCOUNT
    try:
        outgoing = render(
            session,
            message,
            clinic,
            contact,
            appointment,
            now=now,
            base_url=base_url,
            account_sid=getattr(chosen, "account_sid", None),
            lookup=lookup,
        )
    except Undeliverable as exc:
        return Settle(
            OutboundStatus.FAILED, code=exc.code, message=exc.reason, fallback=exc.fallback
        )
    return Prepared(attempt, chosen, outgoing)


def _prepare(
    session: Session,
    message_id: int,
    *,
    now: datetime,
    sender: Sender | None,
    sender_for: Callable[[Clinic], Sender | None] | None,
    base_url: str | None,
) -> Prepared | OutboundStatus | None:
    """What to send and with which account, before the row is claimed; or the row's
    outcome when it is not to be sent (settled here, under a claim of its own)."""
    loaded = _load(session, message_id, now=now)
    if loaded is None:  # claimed or settled by another worker, or not due yet
        session.rollback()
        return None
    message = loaded[0]
    attempt = Attempt.of(message, message.contact)  # plain values: the rollback expires them
    later = later_reminders(session, [message], now=now)
    decision = decide(
        session,
        attempt,
        loaded,
        later=later,
        now=now,
        sender=sender,
        sender_for=sender_for,
        base_url=base_url,
    )
    if isinstance(decision, Prepared):
        return decision
    session.rollback()
    if not claim(session, message_id, now=now):
        return None
    if isinstance(decision, str):
        release_unsent(session, message_id, now=now, reason=decision)
        return OutboundStatus.QUEUED
    finish(session, attempt, decision)
    if decision.fallback:
        queue_fallback(session, message_id, now=now)
    return decision.status


def deliver_due_to_simulator(session: Session, *, clinic_id: int, phone: str, now: datetime) -> int:
    """Settle a simulator test contact's due outbox rows now (``deliver`` shows them in the
    simulator instead of sending), so the simulator need not wait for the next sweep."""
    if not is_simulator_phone(phone):
        raise ValueError("not a simulator number")
    ids = list(
        session.scalars(
            select(OutboundMessage.id)
            .join(Contact, Contact.id == OutboundMessage.contact_id)
            .where(
                OutboundMessage.clinic_id == clinic_id,
                Contact.phone == phone,
                OutboundMessage.status == OutboundStatus.QUEUED,
                OutboundMessage.next_attempt_at <= now,
            )
            .order_by(OutboundMessage.id)
        )
    )
    session.rollback()
    for message_id in ids:
        deliver(session, message_id, now=now)
    return len(ids)


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


# --- internals -----------------------------------------------------------------------------


# What rendering reads of a session, loaded with it.
APPOINTMENT_LOADS = (
    joinedload(Appointment.patient),
    joinedload(Appointment.service),
    joinedload(Appointment.therapist),
)


def _load(
    session: Session, message_id: int, *, now: datetime
) -> tuple[OutboundMessage, Clinic, Appointment | None] | None:
    """The row, if it is queued and due, with everything rendering needs, read afresh
    (two queries); None otherwise (the claim that follows checks again).

    populate_existing: one sweep delivers many rows in one session, and the
    re-check must see the database as it is now, not as this session last read it.
    """
    row = session.execute(
        select(OutboundMessage, Clinic)
        .join(Clinic, Clinic.id == OutboundMessage.clinic_id)
        .options(joinedload(OutboundMessage.contact))
        .where(
            OutboundMessage.id == message_id,
            OutboundMessage.status == OutboundStatus.QUEUED,
            OutboundMessage.next_attempt_at <= now,
        )
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        return None
    message, clinic = row
    appointment = None
    if message.appointment_id is not None:
        appointment = session.scalar(
            select(Appointment)
            .options(*APPOINTMENT_LOADS)
            .where(Appointment.id == message.appointment_id)
            .execution_options(populate_existing=True)
        )
    return message, clinic, appointment


def later_reminders(
    session: Session, messages: Iterable[OutboundMessage], *, now: datetime
) -> set[int]:
    """The reminders among ``messages`` whose session has a later reminder due as well
    (sending late: one reminder, not two), in one query."""
    messages = [m for m in messages if needs_later_check(m)]
    if not messages:
        return set()
    others = session.execute(
        select(OutboundMessage.id, OutboundMessage.appointment_id, OutboundMessage.due_at).where(
            OutboundMessage.appointment_id.in_({m.appointment_id for m in messages}),
            OutboundMessage.kind == MessageKind.REMINDER,
            OutboundMessage.due_at <= now,
            OutboundMessage.status != OutboundStatus.CANCELLED,
        )
    ).all()
    return {
        m.id
        for m in messages
        if any(a == m.appointment_id and i != m.id and due > m.due_at for i, a, due in others)
    }


# Sending late (a sweep was down): one reminder, not two.
LATER_REMINDER = "a later reminder for the same session is due"


def needs_later_check(message: OutboundMessage) -> bool:
    """A reminder for a session: dropped when a later reminder of the session is due too."""
    return message.kind is MessageKind.REMINDER and message.appointment_id is not None


def unwanted_reason(
    message: OutboundMessage, contact: Contact, appointment: Appointment | None, now: datetime
) -> str | None:
    """Why the row should no longer go, from what is loaded (the later-reminder check
    needs a query: ``later_reminders``)."""
    if contact.opted_out(message.channel):
        return f"the contact opted out of {message.channel.value}"
    if needs_later_check(message):
        if appointment is None or appointment.status not in AppointmentStatus.booked():
            return "the session is no longer booked"
        if appointment.start_at <= now:
            return "the session has already started"
    return None
