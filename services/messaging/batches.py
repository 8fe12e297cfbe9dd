"""Delivering due outbox rows in batches, in order per contact, exactly once.

An RQ job ``send_message(N)`` (jobs/tasks.py) calls ``deliver_due_from(N)``: it claims
row N and the due rows after it (up to ``BATCH``, in id order) in one transaction, and
in that same transaction loads everything rendering needs (rows, contacts, clinics,
sessions: three queries for the whole batch; the sender number and template once per
clinic, channel and key), settles the rows that will not go (no longer wanted,
undeliverable, the simulator's contact) and notes the sends (``send_started_at`` and the
words) before any request leaves. It commits, sends the rows one by one outside any
transaction, and records every answer in one more transaction. The jobs of the other
rows in the batch (``send-message-<id>``, jobs/dispatch.py) then find nothing to claim
and end after one statement; the sweep only enqueues rows still queued.

Exactly once: a row is claimed by a conditional UPDATE (queued and due → sending), so
of two workers only one gets it; a claimed row is never claimed again until something
puts it back in the queue. A worker that dies after the claim leaves its rows
"sending" with the send noted; ``release_stuck`` settles them by Twilio's own record,
as for a single send.

Order per contact: a row is claimed only when no earlier row (lower id) to the same
contact is being sent or is due and unsent, besides those claimed with it, which go
first (``delivery.overtakes``; ``delivery.claim`` applies the same rule to single sends).
When a claim loses an earlier row of a contact to another worker, the contact's later
rows in the batch go back to the queue in the same transaction. When a send fails, the
contact's later rows in the batch go back too. A row held back that way is not left to
the sweep: after recording, the worker looks again — after its commit, so whichever of
two workers decides second sees the other's outcome — for due rows of the contacts it
just sent to, and sends them in another round. Rows waiting out a retry's backoff,
failed or cancelled rows hold nothing back, and a row stuck in "sending" holds its
contact's later rows only until ``release_stuck`` settles it, so nothing waits forever.

Nothing is cached across batches: what rarely changes (numbers, templates, the clinic)
is read once per batch, so a change made by any process is seen by the next batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, union_all, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased, joinedload

from core.clock import require_aware
from core.db import write_transaction
from integrations.twilio.errors import SendError
from models import (
    Appointment,
    Channel,
    Clinic,
    MessageTemplate,
    OutboundMessage,
    OutboundStatus,
)
from services.messaging.conversations import SentReminder, remember_reminders
from services.messaging.delivery import (
    APPOINTMENT_LOADS,
    Prepared,
    Sender,
    decide,
    is_due,
    later_reminders,
    noted_body,
    overtakes,
    send_request,
    sent_values,
)
from services.messaging.rendering import sender_and_template
from services.messaging.settling import (
    Attempt,
    Settle,
    queue_fallback,
    release_values,
    send_failed,
)

log = logging.getLogger(__name__)

BATCH = 25  # rows per claim: one transaction's worth, sent within a second or so
MAX_ROUNDS = 20  # follow-up rounds for held-back rows of the same contacts, per call

_table = OutboundMessage.__table__


def deliver_due_from(
    session: Session,
    message_id: int,
    *,
    now: datetime,
    sender: Sender | None = None,
    sender_for: Callable[[Clinic], Sender | None] | None = None,
    status_callback: str | None = None,
    base_url: str | None = None,
    limit: int = BATCH,
) -> dict[int, OutboundStatus]:
    """Deliver row ``message_id`` and the due rows after it, a batch at a time; the
    outcome of every row this call settled (empty when another worker has them)."""
    require_aware(now, "now")
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("deliver_due_from was called with unsaved changes in its session")
    session.commit()
    outcomes: dict[int, OutboundStatus] = {}
    contacts: set[int] = set()
    for round_ in range(MAX_ROUNDS):
        if round_ == 0:
            candidates = _from_row(session, message_id, now=now, limit=limit)
        else:
            candidates = _of_contacts(session, contacts, now=now, limit=limit)
        if not candidates:
            break
        done = _one_batch(
            session,
            candidates,
            now=now,
            sender=sender,
            sender_for=sender_for,
            status_callback=status_callback,
            base_url=base_url,
        )
        outcomes.update(done)
        # Rows of these contacts held back behind this batch's rows (by this worker or
        # another) may go now; looked for after the commit (see the module docstring).
        contacts = {contact for row_id, contact in candidates if row_id in done}
        if not contacts:
            break
    session.rollback()
    return outcomes


# --- choosing and claiming -----------------------------------------------------------------


# Built once (a job runs them whatever it finds): the due rows from row N on, and the due
# rows of row N's contact before it.
_OWN = aliased(OutboundMessage)
_HEAD = (
    select(OutboundMessage.id, OutboundMessage.contact_id)
    .where(is_due(bindparam("now")), OutboundMessage.id >= bindparam("row"))
    .order_by(OutboundMessage.id)
    .limit(bindparam("limit"))
    .subquery()
)
_FROM_ROW = union_all(
    select(_HEAD.c.id, _HEAD.c.contact_id),
    select(OutboundMessage.id, OutboundMessage.contact_id).where(
        is_due(bindparam("now")),
        OutboundMessage.id < bindparam("row"),
        OutboundMessage.contact_id
        == select(_OWN.contact_id).where(_OWN.id == bindparam("row")).scalar_subquery(),
    ),
)


def _from_row(
    session: Session, message_id: int, *, now: datetime, limit: int
) -> list[tuple[int, int]]:
    """(id, contact id) of row ``message_id`` and the due rows after it, plus the due
    rows of the same contact before it (they go first), in id order. When another
    worker's batch took row ``message_id``, the rows still due after it are this job's
    to send: no worker idles through jobs whose rows are gone while rows wait."""
    rows = session.execute(_FROM_ROW, {"row": message_id, "now": now, "limit": limit}).all()
    session.rollback()
    return sorted((row_id, contact) for row_id, contact in rows)


def _of_contacts(
    session: Session, contacts: Iterable[int], *, now: datetime, limit: int
) -> list[tuple[int, int]]:
    rows = session.execute(
        select(OutboundMessage.id, OutboundMessage.contact_id)
        .where(is_due(now), OutboundMessage.contact_id.in_(sorted(contacts)))
        .order_by(OutboundMessage.id)
        .limit(limit)
    ).all()
    session.rollback()
    return [(row_id, contact) for row_id, contact in rows]


def _claim(session: Session, candidates: list[tuple[int, int]], *, now: datetime) -> list[int]:
    """Claim what of ``candidates`` is still due and overtakes nothing; inside the caller's
    transaction. A contact whose earlier candidate was lost (to another worker) gets its
    later ones put back at once, before anyone sees them claimed."""
    ids = [row_id for row_id, _ in candidates]
    claimed = set(
        session.scalars(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(ids), is_due(now), ~overtakes(now, besides=ids))
            .values(
                status=OutboundStatus.SENDING,
                claimed_at=now,
                send_started_at=None,
                attempts=OutboundMessage.attempts + 1,
            )
            .returning(OutboundMessage.id)
            .execution_options(synchronize_session=False)
        )
    )
    lost: set[int] = set()  # contacts with an earlier candidate not claimed here
    keep, give_back = [], []
    for row_id, contact in candidates:  # in id order
        if row_id not in claimed:
            lost.add(contact)
        elif contact in lost:
            give_back.append(row_id)
        else:
            keep.append(row_id)
    if give_back:
        _unclaim(session, give_back)
    return keep


def _unclaim(session: Session, ids: list[int]) -> None:
    """Claimed rows that did not go and will not: queued again as they were (the claim's
    attempt uncounted), due at once."""
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.status == OutboundStatus.SENDING)
        .values(
            status=OutboundStatus.QUEUED,
            attempts=OutboundMessage.attempts - 1,
            claimed_at=None,
            send_started_at=None,
            body=None,
        )
        .execution_options(synchronize_session=False)
    )


# --- one batch ----------------------------------------------------------------------------


def _one_batch(
    session: Session,
    candidates: list[tuple[int, int]],
    *,
    now: datetime,
    sender: Sender | None,
    sender_for: Callable[[Clinic], Sender | None] | None,
    status_callback: str | None,
    base_url: str | None,
) -> dict[int, OutboundStatus]:
    outcomes: dict[int, OutboundStatus] = {}
    fallbacks: list[int] = []
    reminders: list[SentReminder] = []
    with write_transaction(session):
        ids = _claim(session, candidates, now=now)
        if not ids:
            return outcomes
        to_send = _prepare(
            session,
            ids,
            now=now,
            sender=sender,
            sender_for=sender_for,
            base_url=base_url,
            outcomes=outcomes,
            fallbacks=fallbacks,
            reminders=reminders,
        )
        if reminders:  # the simulator's contact: it answers "1/2/3" like anyone
            remember_reminders(session, reminders)
            reminders = []
    for message_id in fallbacks:
        queue_fallback(session, message_id, now=now)

    sent: list[dict[str, Any]] = []
    held: list[int] = []
    halted: set[int] = set()  # contacts whose earlier row in this batch did not go
    for item in to_send:
        attempt, outgoing = item.attempt, item.outgoing
        if attempt.contact_id in halted:
            held.append(attempt.id)
            continue
        try:
            answer = send_request(item, status_callback=status_callback)
        except SendError as exc:
            halted.add(attempt.contact_id)
            outcomes[attempt.id] = send_failed(session, attempt, exc, now=now)
            continue
        sent.append({"b_id": attempt.id, "b_sid": answer.sid, "b_body": outgoing.body})
        outcomes[attempt.id] = OutboundStatus.SENT
        reminder = attempt.reminder()
        if reminder is not None:
            reminders.append(reminder)

    session.rollback()
    with write_transaction(session):
        if sent:
            session.connection().execute(
                update(_table)
                .where(_table.c.id == bindparam("b_id"))
                .values(
                    provider_sid=bindparam("b_sid"), body=bindparam("b_body"), **sent_values(now)
                ),
                sent,
            )
        if held:
            _unclaim(session, held)
        remember_reminders(session, reminders)
    return outcomes


def _prepare(
    session: Session,
    ids: list[int],
    *,
    now: datetime,
    sender: Sender | None,
    sender_for: Callable[[Clinic], Sender | None] | None,
    base_url: str | None,
    outcomes: dict[int, OutboundStatus],
    fallbacks: list[int],
    reminders: list[SentReminder],
) -> list[Prepared]:
    """Inside the claim's transaction: render every claimed row, settle those that will
    not go, note the sends of the rest. Returns what to send, in id order."""
    rows = session.execute(
        select(OutboundMessage, Clinic)
        .join(Clinic, Clinic.id == OutboundMessage.clinic_id)
        .options(joinedload(OutboundMessage.contact))
        .where(OutboundMessage.id.in_(ids))
        .order_by(OutboundMessage.id)
        .execution_options(populate_existing=True)
    ).all()
    appointment_ids = {m.appointment_id for m, _ in rows if m.appointment_id is not None}
    appointments: dict[int, Appointment] = {}
    if appointment_ids:
        appointments = {
            a.id: a
            for a in session.scalars(
                select(Appointment)
                .options(*APPOINTMENT_LOADS)
                .where(Appointment.id.in_(appointment_ids))
                .execution_options(populate_existing=True)
            ).unique()
        }
    later = later_reminders(session, [m for m, _ in rows], now=now)
    numbers: dict[tuple[int, Channel, str], tuple[str, MessageTemplate | None] | None] = {}

    def lookup(
        session: Session, clinic_id: int, channel: Channel, key: str
    ) -> tuple[str, MessageTemplate | None] | None:
        if (clinic_id, channel, key) not in numbers:
            numbers[(clinic_id, channel, key)] = sender_and_template(
                session, clinic_id, channel, key
            )
        return numbers[(clinic_id, channel, key)]

    settle: list[dict[str, Any]] = []
    requeue: list[tuple[Attempt, str]] = []
    to_send: list[Prepared] = []
    for message, clinic in rows:
        appointment = appointments.get(message.appointment_id or 0)
        attempt = Attempt.of(message, message.contact)  # read after the claim: it counts this one
        try:
            decision = decide(
                session,
                attempt,
                (message, clinic, appointment),
                later=later,
                now=now,
                sender=sender,
                sender_for=sender_for,
                base_url=base_url,
                lookup=lookup,
            )
        except DBAPIError:
            raise  # the transaction is gone: nothing of this batch is claimed
        except Exception as exc:
            # Nothing has gone out: the attempt counts, the row waits out the usual backoff.
            log.exception("outbox row %s could not be prepared", message.id)
            decision = f"{type(exc).__name__} before sending"
        if isinstance(decision, Prepared):
            to_send.append(decision)
        elif isinstance(decision, str):  # waits: the usual backoff
            requeue.append((attempt, decision))
            outcomes[message.id] = OutboundStatus.QUEUED
        else:
            settle.append(_settled(message.id, decision))
            outcomes[message.id] = decision.status
            if decision.fallback:
                fallbacks.append(message.id)
            reminder = attempt.reminder() if decision.shown else None
            if reminder is not None:  # the simulator's contact answers "1/2/3" like anyone
                reminders.append(reminder)

    notes = [{"b_id": t.attempt.id, "b_body": noted_body(t.outgoing)} for t in to_send]
    connection = session.connection()
    if notes:
        # Noted before the requests leave: if this worker dies now, release_stuck knows
        # each message may be at Twilio (and by which words to find it in Twilio's list).
        connection.execute(
            update(_table)
            .where(_table.c.id == bindparam("b_id"))
            .values(send_started_at=now, body=bindparam("b_body")),
            notes,
        )
    if settle:
        connection.execute(
            update(_table)
            .where(_table.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                error_code=bindparam("b_code"),
                error_message=bindparam("b_message"),
                body=func.coalesce(bindparam("b_body"), _table.c.body),
            ),
            settle,
        )
    for attempt, reason in requeue:
        values = release_values(attempt.attempts, now=now, reason=reason)
        outcomes[attempt.id] = values["status"]
        connection.execute(update(_table).where(_table.c.id == attempt.id).values(**values))
    session.expunge_all()  # the rows were read under the claim; nothing of them is kept
    return to_send


def _settled(message_id: int, settle: Settle) -> dict[str, Any]:
    """``settle`` as one row of the batch's settling UPDATE."""
    return {
        "b_id": message_id,
        "b_status": settle.status,
        "b_code": settle.code,
        "b_message": settle.error_message,
        "b_body": settle.body,
    }
