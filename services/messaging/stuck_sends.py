"""Settling the rows a dead (or timed-out) worker left in "sending", by Twilio's own record.

The sweep runs ``release_stuck`` before it hands due rows over. ``services.messaging.delivery``
notes each send just before the request leaves; this module decides, for a row whose
answer never came, whether Twilio has the message (then it is sent, with Twilio's id),
does not (then it is sent again, once), or cannot say yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, joinedload

from core.db import write_transaction
from integrations.twilio.client import ProviderMessage
from integrations.twilio.errors import ListError
from models import Clinic, OutboundMessage, OutboundStatus
from services.messaging.delivery import (
    OUTCOME_UNKNOWN,
    STUCK_AFTER,
    Sender,
)
from services.messaging.rendering import addresses
from services.messaging.settling import (
    MAX_ATTEMPTS,
    still_sending,
)

# Twilio dates a message when it takes it, a moment after we noted the send; the margin
# covers the HTTP call and clocks a little apart.
LIST_MARGIN = timedelta(minutes=2)
# A row whose fate Twilio's message list cannot tell (the list unreadable) is looked up on
# every sweep; after this long it goes to staff as "outcome unknown".
GIVE_UP_LOOKING_AFTER = timedelta(hours=6)


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
                still_sending(message_id).values(
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
            still_sending(message_id).values(
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
    session.rollback()
    with write_transaction(session):
        result = session.execute(
            still_sending(message_id).values(
                status=OutboundStatus.FAILED,
                error_code=OUTCOME_UNKNOWN,
                error_message=f"{reason}: check Twilio's message log before retrying"[:300],
            )
        )
    return result.rowcount or 0
