"""Running the jobs: RQ workers when REDIS_URL is set, else a thread of the web process.

Both run the same functions (``jobs.sweep.sweep`` and ``services.delivery.deliver``);
only throughput differs. With RQ, one sweeper at a time (a Redis lock) hands due
rows to the queue under deterministic job ids; workers deliver them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from redis import Redis
from rq import Queue, SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from core.clock import utcnow
from jobs.runtime import Runtime
from jobs.sweep import SweepResult, sweep
from services.delivery import deliver

log = logging.getLogger(__name__)

QUEUE = "roshni"
SWEEP_EVERY = 60.0  # seconds, with RQ
INPROCESS_EVERY = 15.0  # seconds, embedded mode
SWEEP_LOCK = "roshni:sweep-lock"
_PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def tick(rt: Runtime, *, now: datetime | None = None) -> SweepResult:
    """One sweep, delivering in this process (``roshni jobs tick``, embedded mode)."""
    moment = now or utcnow()
    with rt.database.session_scope() as session:

        def send_now(message_id: int) -> None:
            deliver(
                session,
                message_id,
                now=moment,
                sender_for=rt.sender_for,
                status_callback=rt.status_callback,
                base_url=rt.base_url,
            )

        return sweep(
            session,
            now=moment,
            dispatch=send_now,
            gateway_for=rt.gateway_for,
            callback_url=rt.payment_callback,
        )


def enqueue_due(rt: Runtime, queue: Queue, *, now: datetime | None = None) -> SweepResult:
    """One sweep, handing due rows to RQ (a row already waiting in Redis is not re-added)."""
    with rt.database.session_scope() as session:
        return sweep(
            session,
            now=now or utcnow(),
            dispatch=lambda i: _enqueue(queue, i),
            gateway_for=rt.gateway_for,
            callback_url=rt.payment_callback,
        )


def _enqueue(queue: Queue, message_id: int) -> None:
    job_id = f"send-message-{message_id}"
    try:
        if Job.fetch(job_id, connection=queue.connection).get_status() in _PENDING:
            return
    except NoSuchJobError:
        pass
    queue.enqueue(
        "jobs.tasks.send_message",
        message_id,
        job_id=job_id,
        result_ttl=300,
        failure_ttl=24 * 3600,
    )


class _Every(threading.Thread):
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


def start_inprocess(rt: Runtime) -> _Every:
    """Embedded mode: the web process sweeps and sends every few seconds."""
    thread = _Every(INPROCESS_EVERY, lambda: tick(rt), name="roshni-jobs")
    thread.start()
    return thread


def start_sweeper(rt: Runtime, redis: Redis, queue: Queue) -> _Every:
    """RQ mode: every worker runs this; the Redis lock lets one sweep per interval."""

    def maybe_sweep() -> None:
        if redis.set(SWEEP_LOCK, "1", nx=True, px=int(SWEEP_EVERY * 1000) - 500):
            enqueue_due(rt, queue)

    thread = _Every(SWEEP_EVERY / 4, maybe_sweep, name="roshni-sweeper")
    thread.start()
    return thread


def run_worker(rt: Runtime, *, burst: bool = False) -> None:
    """``roshni worker``: an RQ worker (with RQ's scheduler) plus the sweeper."""
    if not rt.config.redis_url:
        raise RuntimeError("REDIS_URL is not set: jobs run inside the web process instead")
    redis = Redis.from_url(rt.config.redis_url)
    queue = Queue(QUEUE, connection=redis)
    sweeper = None if burst else start_sweeper(rt, redis, queue)
    if burst:
        enqueue_due(rt, queue)
    try:
        SimpleWorker([queue], connection=redis).work(with_scheduler=not burst, burst=burst)
    finally:
        if sweeper:
            sweeper.stop()
