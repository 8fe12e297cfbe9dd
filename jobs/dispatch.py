"""Handing outbox rows to RQ: at commit (services.messaging.dispatch) and from the sweep.

Every send job has the id ``send-message-<row id>``, whoever enqueues it, so a row already
waiting in Redis is never added twice. A row due now is enqueued; a row due later is
scheduled with ``enqueue_at`` for its due moment (RQ's scheduler runs inside each
``roshni worker``). Redis failing at commit fails nothing: a warning, and the sweep sends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection
from datetime import datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utcnow
from services.messaging.dispatch import Installed, Queued, install

log = logging.getLogger(__name__)

QUEUE = "roshni"
SEND_TASK = "jobs.tasks.send_message"
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
    # RQ keeps a scheduled time in whole seconds (rounding down): a job run before the
    # row is due would find it not due and leave it to the sweep, so round up.
    at_second = _whole_second_up(due_at) if later and due_at is not None else None
    job_id = send_job_id(message_id)
    try:
        status = Job.fetch(job_id, connection=queue.connection).get_status()
    except NoSuchJobError:
        status = None
    registry = queue.scheduled_job_registry
    if status is JobStatus.SCHEDULED:
        try:
            at = registry.get_scheduled_time(job_id)
        except NoSuchJobError:
            at = None
        if at is not None and (at == at_second if later else at > now - SCHEDULER_LATE):
            return False  # the scheduler will move it to the queue at its time
        registry.remove(job_id)  # a new due time, or no scheduler to move it
    elif status in PENDING and job_id not in stranded:
        return False
    options = {"job_id": job_id, "result_ttl": 300, "failure_ttl": 24 * 3600}
    if later:
        assert at_second is not None
        queue.enqueue_at(at_second, SEND_TASK, message_id, **options)
    else:
        queue.enqueue(SEND_TASK, message_id, **options)
    return True


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
