"""The sweep: everything due in the outbox is handed to a dispatcher.

Runs every minute (RQ mode: one sweeper across workers; embedded mode: a thread
of the web process) and on demand with ``roshni jobs tick``. The outbox table is
the record: a sweep after Redis lost everything finds every unsent message again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from models import Clinic
from services import dues, razorpay_sync
from services.delivery import OUTCOME_UNKNOWN, Sender
from services.messaging import due_ids
from services.stuck_sends import release_stuck

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    released: int
    dues_queued: int
    dispatched: int
    payments: razorpay_sync.SyncResult = field(default_factory=razorpay_sync.SyncResult)


def sweep(
    session: Session,
    *,
    now: datetime,
    dispatch: Callable[[int], None],
    sender_for: Callable[[Clinic], Sender | None] | None = None,
    gateway_for: razorpay_sync.GatewayFor | None = None,
    callback_url: str | None = None,
) -> SweepResult:
    # Sends whose answer was lost are looked up in Twilio's message list (sender_for).
    released = release_stuck(session, now=now, sender_for=sender_for)
    payments = sync_payments(session, now=now, gateway_for=gateway_for, callback_url=callback_url)
    dues_queued = dues.queue_monthly_reminders(session, now=now)
    dispatched = 0
    after_id = 0
    # Page by id, so every due row is handed over once per sweep however many there are
    # (in RQ mode a row stays "queued" until a worker claims it: no re-reading it).
    while page := due_ids(session, now=now, after_id=after_id):
        for message_id in page:
            dispatch(message_id)
        dispatched += len(page)
        after_id = page[-1]
    if released:
        log.warning(
            "%d outbox row(s) a dead worker left in 'sending' marked failed (%s): "
            "Twilio's message list could not settle them; check its log before retrying",
            released,
            OUTCOME_UNKNOWN,
        )
    return SweepResult(
        released=released, dues_queued=dues_queued, dispatched=dispatched, payments=payments
    )


def sync_payments(
    session: Session,
    *,
    now: datetime,
    gateway_for: razorpay_sync.GatewayFor | None,
    callback_url: str | None,
) -> razorpay_sync.SyncResult:
    """Apply stored Razorpay events; with a gateway, create pending links and refunds at
    Razorpay and reconcile links (each link is fetched at most every 15 minutes, and
    at once when its hold runs out), so a missed webhook is repaired."""
    events = razorpay_sync.process_events(session, now=now)
    if gateway_for is None:
        return razorpay_sync.SyncResult(events_processed=events)
    pushed = razorpay_sync.push(session, gateway_for, now=now, callback_url=callback_url)
    checked = razorpay_sync.reconcile(session, gateway_for, now=now, everything=True)
    return razorpay_sync.SyncResult(
        links_created=pushed.links_created,
        refunds_submitted=pushed.refunds_submitted,
        links_checked=checked,
        events_processed=events,
    )
