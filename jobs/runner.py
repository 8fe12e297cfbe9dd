"""Running the jobs: RQ workers when REDIS_URL is set, else a thread of the web process.

Both run the same functions (``jobs.sweep.sweep`` and ``services.messaging.delivery.deliver``);
only throughput differs. With RQ, one sweeper at a time (a Redis lock) hands due
rows to the queue under deterministic job ids; workers deliver them. With BACKUP_TARGET
set, the same sweeper (or the embedded thread) also takes the daily backup (jobs/backups.py).

This module holds what both modes share (one sweep, sending what is due, the heartbeat);
``jobs.inprocess`` runs embedded mode's thread, ``jobs.worker`` the RQ worker process.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from rq import Queue
from rq.job import JobStatus
from sqlalchemy.orm import Session

from core.backup import BackupError
from core.clock import utcnow
from jobs.backups import DailyBackupCheck, backup_due, backup_job_id
from jobs.dispatch import PENDING, QUEUE, enqueue_email, enqueue_send, job_status, links_lock
from jobs.runtime import Runtime
from jobs.sweep import SweepResult, dispatch_due, dispatch_due_emails, sweep
from services.billing.emailed import attachments
from services.messaging.delivery import deliver
from services.messaging.email_delivery import deliver_email
from services.messaging.job_health import forget_heartbeat, record_heartbeat
from services.messaging.media import fetch_media
from services.reconciliation import razorpay_sync, stripe_sync

log = logging.getLogger(__name__)

__all__ = ["QUEUE"]  # re-exported: where the queue's name was always imported from
# The sweep is the net, not the delivery path: commits hand rows (and pending payment
# links) to RQ at once, and rows due later are scheduled for their moment. What still
# waits for it: rows Redis lost (a flush, an outage), payment links whose hold ran out,
# Razorpay events the webhook did not apply, and files patients sent (fetched only by the
# sweep). Two minutes keeps those within a couple of minutes while halving the sweeps'
# load; longer would leave a patient's photo unfetched, or a held slot unreleased, for as
# long. Sends a dead worker left "sending" wait STUCK_AFTER (5 min) whatever this is.
SWEEP_EVERY = 120.0  # seconds, with RQ
# How often each worker's sweeper tries the sweep lock, and, while Redis is unreachable,
# sends what is due itself: not tied to SWEEP_EVERY, so an outage delays no more than this.
SWEEPER_LOOKS_EVERY = 15.0  # seconds
SWEEP_LOCK = "roshni:sweep-lock"
HEARTBEAT_EVERY = 20.0  # seconds; /healthz/jobs calls a runner dead after 120
# Jobs that will still run: PENDING (jobs.dispatch). Not "started": a row the sweep finds
# due has not been claimed, so a started job for it belongs to a worker that died before its
# claim (kill -9, OOM); RQ calls it abandoned only minutes later. Enqueued again, the claim
# keeps it to one send. A backup job that has started is running: never enqueue its id
# again meanwhile.
_BACKUP_PENDING = PENDING | {JobStatus.STARTED}
BACKUP_JOB_TIMEOUT = 6 * 3600  # seconds: a large pg_dump to a slow bucket takes a while


def _sender(rt: Runtime, session: Session, moment: datetime) -> Callable[[int], None]:
    def send_now(message_id: int) -> None:
        deliver(
            session,
            message_id,
            now=moment,
            sender_for=rt.sender_for,
            status_callback=rt.status_callback,
            base_url=rt.base_url,
        )

    return send_now


def _emailer(rt: Runtime, session: Session, moment: datetime) -> Callable[[int], None]:
    def send_now(email_id: int) -> None:
        deliver_email(
            session,
            email_id,
            now=moment,
            mailer=rt.mailer,
            setup=rt.email_setup,
            attach=attachments,
        )

    return send_now


def send_due_emails(rt: Runtime, *, now: datetime | None = None) -> int:
    """Deliver the outbox emails due now, in this process (the in-process sender)."""
    moment = now or utcnow()
    with rt.database.session_scope() as session:
        return dispatch_due_emails(session, now=moment, send=_emailer(rt, session, moment))


def send_due(rt: Runtime, *, now: datetime | None = None) -> int:
    """Deliver the outbox rows due now, in id order, in this process (the sweep's
    outbox step alone: what the in-process sender does when woken)."""
    moment = now or utcnow()
    with rt.database.session_scope() as session:
        return dispatch_due(session, now=moment, dispatch=_sender(rt, session, moment))


def make_links(rt: Runtime, *, now: datetime | None = None) -> int:
    """Make the pending payment links at Razorpay and Stripe (each one's commit queues its
    message): what the in-process sender does when a commit opened a link."""
    with rt.database.session_scope() as session:
        return make_pending_links(rt, session, now=now or utcnow())


def make_pending_links(rt: Runtime, session: Session, *, now: datetime) -> int:
    made = razorpay_sync.create_pending_links(
        session, rt.gateway_for, now=now, callback_url=rt.payment_callback
    )
    return made + stripe_sync.create_pending_sessions(
        session, rt.stripe_for, now=now, success_url=rt.stripe_return
    )


def tick(
    rt: Runtime,
    *,
    now: datetime | None = None,
    hand_over: Callable[[int], None] | None = None,
    links_lock: Callable[[], AbstractContextManager[bool]] | None = None,
) -> SweepResult:
    """One sweep in this process (``roshni jobs tick``; embedded mode's sweep thread).
    Due rows are delivered here, or given to ``hand_over`` (embedded mode: a wake-up of
    the sending thread, which alone sends)."""
    moment = now or utcnow()
    with rt.database.session_scope() as session:
        send_now = _sender(rt, session, moment)

        def fetch_now(media_id: int) -> None:
            fetch_media(
                session,
                media_id,
                fetcher_for=rt.media_fetcher_for,
                store=rt.media_store,
                now=utcnow(),
            )

        return sweep(
            session,
            now=moment,
            dispatch=hand_over or send_now,
            sender_for=rt.sender_for,
            gateway_for=rt.gateway_for,
            callback_url=rt.payment_callback,
            stripe_for=rt.stripe_for,
            stripe_return=rt.stripe_return,
            fetch_media=fetch_now,
            links_lock=links_lock,
            send_email=_emailer(rt, session, moment),
        )


def enqueue_due(rt: Runtime, queue: Queue, *, now: datetime | None = None) -> SweepResult:
    """One sweep, handing due rows to RQ (a row already waiting in Redis is not re-added)."""
    # A worker moves a job to RQ's intermediate list as it takes it, and off it as it
    # starts it. One killed in between strands the job there, still "queued", until RQ's
    # maintenance (every ten minutes) fails it: such a job is not waiting, so re-add it.
    stranded = set(queue.intermediate_queue.get_job_ids())
    with rt.database.session_scope() as session:
        return sweep(
            session,
            now=now or utcnow(),
            dispatch=lambda i: _enqueue(queue, i, stranded),
            sender_for=rt.sender_for,
            gateway_for=rt.gateway_for,
            callback_url=rt.payment_callback,
            stripe_for=rt.stripe_for,
            stripe_return=rt.stripe_return,
            fetch_media=lambda i: _enqueue_fetch(queue, i, stranded),
            links_lock=lambda: links_lock(queue.connection),
            send_email=lambda i: enqueue_email(queue, i),
        )


def note_failures(result: SweepResult) -> None:
    """One line per sweep naming the steps and clinics that failed (each was logged)."""
    if result.failed:
        log.warning(
            "sweep: %d step(s) failed: %s", len(result.failed), ", ".join(map(str, result.failed))
        )


def _enqueue(queue: Queue, message_id: int, stranded: set[str]) -> None:
    # A due row: enqueued unless its job waits already (dispatched at commit, say).
    enqueue_send(queue, message_id, stranded=stranded)


def _enqueue_fetch(queue: Queue, media_id: int, stranded: set[str]) -> None:
    """A file patients sent, fetched by a worker (a row already waiting in Redis is not
    re-added; the job itself skips a row no longer pending)."""
    job_id = f"fetch-media-{media_id}"
    if job_status(queue, job_id) in PENDING and job_id not in stranded:
        return
    queue.enqueue(
        "jobs.tasks.fetch_media",
        media_id,
        job_id=job_id,
        result_ttl=300,
        failure_ttl=24 * 3600,
    )


class Every(threading.Thread):
    """Call ``work`` every ``interval`` seconds until stopped; errors are logged, not fatal."""

    def __init__(self, interval: float, work: Callable[[], object], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.work = work
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.work()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", self.name, self.interval)
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


def enqueue_backup_if_due(
    rt: Runtime, queue: Queue, check: DailyBackupCheck, *, now: datetime | None = None
) -> bool:
    """RQ mode: hand the daily backup to a worker when one is due (see jobs/backups.py)."""
    moment = now or utcnow()
    if not check.should_check(moment):
        return False
    try:
        if not backup_due(rt.config, now=moment):
            return False
    except BackupError as exc:
        log.error("cannot check the backup target: %s", exc)
        return False
    job_id = backup_job_id(moment)
    if job_status(queue, job_id) in _BACKUP_PENDING:
        return False
    queue.enqueue(
        "jobs.tasks.daily_backup",
        job_id=job_id,
        job_timeout=BACKUP_JOB_TIMEOUT,
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,  # a failed backup stays visible in RQ for a week
    )
    return True


class Heartbeat:
    """Tells the database, every few seconds, that this process runs jobs."""

    def __init__(self, rt: Runtime, kind: str) -> None:
        self.rt = rt
        self.kind = kind
        self.name = f"{kind}:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.started_at = utcnow()
        self._thread: Every | None = None

    def beat(self) -> None:
        with self.rt.database.session_scope() as session:
            record_heartbeat(
                session, name=self.name, kind=self.kind, started_at=self.started_at, now=utcnow()
            )

    def start(self) -> Heartbeat:
        self._thread = Every(HEARTBEAT_EVERY, self.beat, name=f"roshni-heartbeat-{self.kind}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
        try:
            with self.rt.database.session_scope() as session:
                forget_heartbeat(session, name=self.name)
        except Exception:  # the row ages out by itself; shutting down matters more
            log.warning("could not remove this process's heartbeat", exc_info=True)
