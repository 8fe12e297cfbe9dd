"""Handing outbox rows to RQ: at commit (services.messaging.dispatch) and from the sweep.

Every send job has the id ``send-message-<row id>``, whoever enqueues it, so a row already
waiting in Redis is never added twice. A row due now is enqueued; a row due later is
scheduled with ``enqueue_at`` for its due moment (RQ's scheduler runs inside each
``roshni worker``). A committed pending payment link gets a job that makes it at Razorpay
(``create-payment-link-<id>``), whose commit then queues and dispatches its message.
Redis failing at commit fails nothing: a warning, and the sweep sends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta

from redis import Redis
from redis.exceptions import LockError, RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from services.messaging.dispatch import EMAIL, PAYMENT_LINK, Installed, Queued, install

log = logging.getLogger(__name__)

QUEUE = "roshni"
SEND_TASK = "jobs.tasks.send_message"
LINKS_TASK = "jobs.tasks.create_payment_links"
EMAIL_TASK = "jobs.tasks.send_email"
# Jobs that will still run (see jobs/runner.py for why "started" is not among them).
PENDING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
# A scheduled job this late was not moved to the queue: no scheduler is running (every
# worker runs one, and looks every second); the sweep enqueues the row itself.
SCHEDULER_LATE = timedelta(seconds=30)
# After Redis failed at commit, commits hand nothing to it for this long (the sweep sends):
# a request must not wait on a dead Redis's timeouts over and over.
QUIET_AFTER_FAILURE = 10.0  # seconds


def send_job_id(message_id: int) -> str:
    return f"send-message-{message_id}"


def enqueue_send(
    queue: Queue,
    message_id: int,
    *,
    due_at: datetime | None = None,
    now: datetime | None = None,
    stranded: Collection[str] = (),
) -> bool:
    """Hand one row to RQ: now, or at ``due_at`` when that is later. False when a job
    for it is already waiting (queued, or scheduled for this moment)."""
    now = now or utcnow()
    later = due_at is not None and due_at > now
    job_id = send_job_id(message_id)
    status = job_status(queue, job_id)
    registry = queue.scheduled_job_registry
    if status is JobStatus.SCHEDULED:
        try:
            at = registry.get_scheduled_time(job_id)
        except NoSuchJobError:
            at = None
        if at is not None and (_same_moment(at, due_at) if later else at > now - SCHEDULER_LATE):
            return False  # the scheduler will move it to the queue at its time
        registry.remove(job_id)  # a new due time, or no scheduler to move it
    elif status in PENDING and job_id not in stranded:
        return False
    options = {"job_id": job_id, "result_ttl": 300, "failure_ttl": 24 * 3600}
    if later:
        assert due_at is not None
        schedule_at(queue, due_at, SEND_TASK, message_id, **options)
    else:
        queue.enqueue(SEND_TASK, message_id, **options)
    return True


def email_job_id(email_id: int) -> str:
    return f"send-email-{email_id}"


def enqueue_email(queue: Queue, email_id: int, *, due_at: datetime | None = None) -> bool:
    """Hand one outbox email to RQ: now, or at ``due_at`` (a retry's backoff). False when
    a job for it waits already."""
    job_id = email_job_id(email_id)
    if job_status(queue, job_id) in PENDING:
        return False
    options = {"job_id": job_id, "result_ttl": 300, "failure_ttl": 24 * 3600}
    if due_at is not None and due_at > utcnow():
        schedule_at(queue, due_at, EMAIL_TASK, email_id, **options)
    else:
        queue.enqueue(EMAIL_TASK, email_id, **options)
    return True


LINKS_LOCK = "roshni:payment-links-lock"
# Making one clinic's pending links takes a Razorpay call per link; a holder that dies
# blocks link jobs (they fail, and the sweep makes the links) for at most this long.
LINKS_LOCK_TTL = 120  # seconds


@contextmanager
def links_lock(redis: Redis, *, wait: float = 0.0) -> Iterator[bool]:
    """Held by whoever makes pending payment links at Razorpay (a link job, the sweep's
    payment step): a row's claim does not keep out a second claimant while the link is
    pending, and two at once would both ask Razorpay for it. Yields whether we have it
    (waiting up to ``wait`` seconds)."""
    lock = redis.lock(LINKS_LOCK, timeout=LINKS_LOCK_TTL, sleep=0.05)
    ours = bool(lock.acquire(blocking=wait > 0, blocking_timeout=wait or None))
    try:
        yield ours
    finally:
        if ours:
            with suppress(LockError, RedisError):  # expired: someone else's now
                lock.release()


def job_status(queue: Queue, job_id: str) -> JobStatus | None:
    """The status of RQ job ``job_id``; None when Redis has no such job."""
    try:
        return Job.fetch(job_id, connection=queue.connection).get_status()
    except NoSuchJobError:
        return None


def link_job_id(link_id: int) -> str:
    return f"create-payment-link-{link_id}"


def enqueue_link_creation(queue: Queue, link_id: int) -> bool:
    """A committed pending payment link: a worker makes it at Razorpay now, and its message
    is queued (and dispatched) by that commit. False when a job for it waits already."""
    job_id = link_job_id(link_id)
    if job_status(queue, job_id) in PENDING:
        return False
    queue.enqueue(LINKS_TASK, link_id, job_id=job_id, result_ttl=300, failure_ttl=24 * 3600)
    return True


def schedule_at(queue: Queue, moment: datetime, task: str, *args: object, **options: object) -> Job:
    """``queue.enqueue_at`` to the microsecond. RQ scores a scheduled job in whole seconds
    (rounding down); our workers' scheduler (jobs/worker.py) reads scores as exact times
    every ``SCHEDULER_EVERY``, so the score is set to the exact moment in the same
    transaction. Rounded up first: RQ's own scheduler, reading whole seconds, would
    otherwise move the job to the queue before the row is due (it would find it not due
    and leave it to the sweep)."""
    with queue.connection.pipeline() as pipe:
        job = queue.enqueue_at(_whole_second_up(moment), task, *args, pipeline=pipe, **options)
        pipe.zadd(queue.scheduled_job_registry.key, {job.id: moment.timestamp()})
        pipe.execute()
    return job


def _same_moment(a: datetime, b: datetime | None) -> bool:
    # A score is a float: a microsecond either way is the same moment.
    return b is not None and abs((a - b).total_seconds()) < 0.001


def _whole_second_up(moment: datetime) -> datetime:
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


class RQDispatcher:
    """At commit, the committed rows go to RQ (``services.messaging.dispatch.install``)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self._quiet_until = 0.0
        self._lock = threading.Lock()

    def __call__(self, rows: list[Queued]) -> None:
        if time.monotonic() < self._quiet_until:
            return
        now = utcnow()
        try:
            for row in rows:  # in id order: the order workers take them
                if row.what == PAYMENT_LINK:
                    enqueue_link_creation(self.queue, row.id)
                elif row.what == EMAIL:
                    enqueue_email(self.queue, row.id, due_at=row.due_at)
                else:
                    enqueue_send(self.queue, row.id, due_at=row.due_at, now=now)
        except RedisError as exc:
            with self._lock:
                self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE
            # No ids, numbers or text: only that the sweep will send them.
            log.warning(
                "Redis refused %d committed message(s) (%s); the sweep will send them",
                len(rows),
                type(exc).__name__,
            )


def commit_connection(url: str) -> Redis:
    """The Redis client commits enqueue with: a request never waits long on Redis."""
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1, socket_keepalive=True)


def dispatch_to_rq(session_factory: sessionmaker[Session], redis_url: str) -> Installed:
    """Every commit of ``session_factory``'s sessions hands its outbox rows to RQ."""
    return install(
        session_factory, RQDispatcher(Queue(QUEUE, connection=commit_connection(redis_url)))
    )
