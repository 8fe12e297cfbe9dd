"""The sweep: everything due in the outbox is handed to a dispatcher.

Runs every minute (RQ mode: one sweeper across workers; embedded mode: a thread
of the web process) and on demand with ``roshni jobs tick``. The outbox table is
the record: a sweep after Redis lost everything finds every unsent message again.

Each step (stuck-send release, payment sync, dues reminders, unanswered booking
requests, waitlist offers, outbox dispatch, fetching the files patients sent) is
guarded on its own, and payment sync and dues one clinic at a time: a failure (say,
a clinic's Razorpay secret that no longer decrypts after a key rotation) is logged
against its step and clinic, rolled back, and reported in ``SweepResult.failed``;
the other clinics and steps still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Clinic
from services.billing import dues
from services.messaging.delivery import OUTCOME_UNKNOWN, Sender
from services.messaging.email_outbox import due_email_ids
from services.messaging.media import pending_media_ids
from services.messaging.outbox import due_ids
from services.messaging.stuck_sends import release_stuck
from services.reconciliation import razorpay_sync, stripe_sync
from services.scheduling import booking_requests, waitlist

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class StepFailure:
    """A sweep step that raised: for the whole step (clinic_id None) or for one clinic."""

    step: str
    clinic_id: int | None = None

    def __str__(self) -> str:
        return self.step if self.clinic_id is None else f"{self.step} (clinic {self.clinic_id})"


@dataclass(frozen=True)
class SweepResult:
    released: int
    dues_queued: int
    dispatched: int
    payments: razorpay_sync.SyncResult = field(default_factory=razorpay_sync.SyncResult)
    failed: tuple[StepFailure, ...] = ()


class _Guard:
    """Runs sweep steps so that one raising is logged, rolled back and noted, not fatal."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.failed: list[StepFailure] = []

    def run(self, step: str, fn: Callable[[], T], default: T, clinic_id: int | None = None) -> T:
        try:
            return fn()
        except Exception:
            self.session.rollback()
            if clinic_id is None:
                log.exception("sweep step %s failed", step)
            else:
                log.exception("sweep step %s failed for clinic %s", step, clinic_id)
            if StepFailure(step, clinic_id) not in self.failed:
                self.failed.append(StepFailure(step, clinic_id))
            return default


def sweep(
    session: Session,
    *,
    now: datetime,
    dispatch: Callable[[int], None],
    sender_for: Callable[[Clinic], Sender | None] | None = None,
    gateway_for: razorpay_sync.GatewayFor | None = None,
    callback_url: str | None = None,
    fetch_media: Callable[[int], None] | None = None,
    links_lock: Callable[[], AbstractContextManager[bool]] | None = None,
    stripe_for: stripe_sync.StripeFor | None = None,
    stripe_return: str = "",
    send_email: Callable[[int], None] | None = None,
) -> SweepResult:
    """``links_lock`` (RQ mode): held while a clinic's links are made at Razorpay, which
    link jobs do too (jobs/dispatch.py); a clinic whose lock is taken is skipped."""
    guard = _Guard(session)
    # Sends whose answer was lost are looked up in Twilio's message list (sender_for).
    released = guard.run(
        "release stuck sends", lambda: release_stuck(session, now=now, sender_for=sender_for), 0
    )
    payments = sync_payments(
        session,
        now=now,
        gateway_for=gateway_for,
        callback_url=callback_url,
        guard=guard,
        links_lock=links_lock,
        stripe_for=stripe_for,
        stripe_return=stripe_return,
    )
    dues_queued = queue_dues(session, now=now, guard=guard)
    # Before the waitlist (the time a declined request frees is offered in this sweep)
    # and the outbox (the patient is told in it).
    decline_unanswered_requests(session, now=now, guard=guard)
    # Before the outbox: a freed time's offer goes out in this same sweep.
    offer_waitlist(session, now=now, guard=guard)
    dispatched = guard.run(
        "dispatch", lambda: dispatch_due(session, now=now, dispatch=dispatch, guard=guard), 0
    )
    if send_email is not None:
        guard.run(
            "email", lambda: dispatch_due_emails(session, now=now, send=send_email, guard=guard), 0
        )
    if fetch_media is not None:
        # After the outbox, so due messages never wait on a download.
        guard.run("media", lambda: fetch_pending_media(session, fetch_media, guard), 0)
    if released:
        log.warning(
            "%d outbox row(s) a dead worker left in 'sending' marked failed (%s): "
            "Twilio's message list could not settle them; check its log before retrying",
            released,
            OUTCOME_UNKNOWN,
        )
    return SweepResult(
        released=released,
        dues_queued=dues_queued,
        dispatched=dispatched,
        payments=payments,
        failed=tuple(guard.failed),
    )


def dispatch_due(
    session: Session,
    *,
    now: datetime,
    dispatch: Callable[[int], None],
    guard: _Guard | None = None,
) -> int:
    guard = guard or _Guard(session)
    dispatched = 0
    after_id = 0
    # Page by id, so every due row is handed over once per sweep however many there are
    # (in RQ mode a row stays "queued" until a worker claims it: no re-reading it).
    while page := due_ids(session, now=now, after_id=after_id):
        for message_id in page:
            # One row that cannot go (say, its clinic's Twilio token no longer decrypts,
            # when this process sends itself) is logged and skipped, never the rest.
            guard.run("dispatch", lambda m=message_id: dispatch(m), None)
        dispatched += len(page)
        after_id = page[-1]
    return dispatched


def dispatch_due_emails(
    session: Session,
    *,
    now: datetime,
    send: Callable[[int], None],
    guard: _Guard | None = None,
) -> int:
    """The outbox emails due now, each handed to ``send`` (one that fails is logged and
    left for the next pass, never the rest)."""
    guard = guard or _Guard(session)
    ids = due_email_ids(session, now=now)
    for email_id in ids:
        guard.run("email", lambda e=email_id: send(e), None)
    return len(ids)


def fetch_pending_media(
    session: Session, fetch: Callable[[int], None], guard: _Guard | None = None
) -> int:
    """Hand each file waiting to be fetched from Twilio to ``fetch`` (one at a time: one
    that raises is logged and skipped, never the rest)."""
    guard = guard or _Guard(session)
    ids = pending_media_ids(session)
    for media_id in ids:
        guard.run("media", lambda m=media_id: fetch(m), None)
    return len(ids)


def queue_dues(session: Session, *, now: datetime, guard: _Guard | None = None) -> int:
    """Each clinic's monthly dues reminders, one clinic at a time."""
    guard = guard or _Guard(session)
    clinic_ids = guard.run("dues", lambda: dues.clinics_due(session), [])
    return sum(
        guard.run(
            "dues", lambda c=clinic_id: dues.queue_for_clinic(session, c, now=now), 0, clinic_id
        )
        for clinic_id in clinic_ids
    )


def decline_unanswered_requests(
    session: Session, *, now: datetime, guard: _Guard | None = None
) -> int:
    """Each clinic's booking requests nobody answered before the clinic's minimum notice
    are declined (the patient told), one clinic at a time."""
    guard = guard or _Guard(session)
    step = "booking requests"
    clinic_ids = guard.run(step, lambda: booking_requests.clinics_with_requests(session), [])
    return sum(
        guard.run(
            step,
            lambda c=clinic_id: booking_requests.decline_unanswered(session, clinic_id=c, now=now),
            0,
            clinic_id,
        )
        for clinic_id in clinic_ids
    )


def offer_waitlist(session: Session, *, now: datetime, guard: _Guard | None = None) -> int:
    """Each clinic's waitlist pass (stale entries, lapsed offers, freed times offered),
    one clinic at a time."""
    guard = guard or _Guard(session)
    clinic_ids = guard.run("waitlist", lambda: waitlist.clinics_waiting(session), [])
    return sum(
        guard.run(
            "waitlist",
            lambda c=clinic_id: waitlist.offer_freed_times(session, clinic_id=c, now=now).offered,
            0,
            clinic_id,
        )
        for clinic_id in clinic_ids
    )


def sync_payments(
    session: Session,
    *,
    now: datetime,
    gateway_for: razorpay_sync.GatewayFor | None,
    callback_url: str | None,
    guard: _Guard | None = None,
    links_lock: Callable[[], AbstractContextManager[bool]] | None = None,
    stripe_for: stripe_sync.StripeFor | None = None,
    stripe_return: str = "",
) -> razorpay_sync.SyncResult:
    """Apply stored Razorpay and Stripe events; with gateways, create pending links and
    refunds there and reconcile links (each link is fetched at most every 15 minutes,
    and at once when its hold runs out), so a missed webhook is repaired. One clinic at
    a time: a clinic whose account cannot be read (or whose sync raises) is skipped."""
    guard = guard or _Guard(session)
    events = guard.run("payment events", lambda: razorpay_sync.process_events(session, now=now), 0)
    events += guard.run("payment events", lambda: stripe_sync.process_events(session, now=now), 0)
    if gateway_for is None:
        return razorpay_sync.SyncResult(events_processed=events)
    clinic_ids = guard.run("payment sync", lambda: _clinic_ids(session), [])
    totals = razorpay_sync.SyncResult(events_processed=events)
    for clinic_id in clinic_ids:
        done = guard.run(
            "payment sync",
            lambda c=clinic_id: _sync_clinic(
                session,
                c,
                gateway_for,
                now,
                callback_url,
                links_lock,
                stripe_for=stripe_for,
                stripe_return=stripe_return,
            ),
            None,
            clinic_id,
        )
        if done is not None:
            totals = razorpay_sync.SyncResult(
                links_created=totals.links_created + done.links_created,
                refunds_submitted=totals.refunds_submitted + done.refunds_submitted,
                links_checked=totals.links_checked + done.links_checked,
                events_processed=events,
            )
    return totals


def nullcontext_true() -> AbstractContextManager[bool]:
    """No lock to take (embedded mode: one thread makes links): always ours."""
    return nullcontext(True)


def _clinic_ids(session: Session) -> list[int]:
    ids = list(session.scalars(select(Clinic.id).order_by(Clinic.id)))
    session.rollback()
    return ids


def _sync_clinic(
    session: Session,
    clinic_id: int,
    gateway_for: razorpay_sync.GatewayFor,
    now: datetime,
    callback_url: str | None,
    links_lock: Callable[[], AbstractContextManager[bool]] | None = None,
    *,
    stripe_for: stripe_sync.StripeFor | None = None,
    stripe_return: str = "",
) -> razorpay_sync.SyncResult:
    clinic = session.get(Clinic, clinic_id)
    # Read the clinic's accounts once, before touching any of its links: a secret that
    # no longer decrypts raises here, and nothing of the clinic's is changed.
    gateway = gateway_for(clinic) if clinic is not None else None
    card_gateway = stripe_for(clinic) if clinic is not None and stripe_for is not None else None
    session.rollback()

    def only_this_clinic(other: Clinic) -> razorpay_sync.RazorpayGateway | None:
        return gateway if other.id == clinic_id else None

    def only_this_clinic_stripe(other: Clinic) -> stripe_sync.StripeGateway | None:
        return card_gateway if other.id == clinic_id else None

    pushed = razorpay_sync.SyncResult()
    by_card = razorpay_sync.SyncResult()
    with (links_lock or nullcontext_true)() as ours:
        if ours:  # else a link job is making links right now: the next sweep pushes
            pushed = razorpay_sync.push(
                session, only_this_clinic, now=now, callback_url=callback_url, clinic_id=clinic_id
            )
            if card_gateway is not None:
                by_card = stripe_sync.push(
                    session,
                    only_this_clinic_stripe,
                    now=now,
                    success_url=stripe_return,
                    clinic_id=clinic_id,
                )
    checked = razorpay_sync.reconcile(
        session, only_this_clinic, now=now, everything=True, clinic_id=clinic_id
    )
    if card_gateway is not None:
        checked += stripe_sync.reconcile(
            session, only_this_clinic_stripe, now=now, everything=True, clinic_id=clinic_id
        )
    return razorpay_sync.SyncResult(
        links_created=pushed.links_created + by_card.links_created,
        refunds_submitted=pushed.refunds_submitted + by_card.refunds_submitted,
        links_checked=checked,
    )
