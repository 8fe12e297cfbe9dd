"""Running the jobs: RQ workers when REDIS_URL is set, else a thread of the web process.

Both run the same functions (``jobs.sweep.sweep`` and ``services.messaging.delivery.deliver``);
only throughput differs. With RQ, one sweeper at a time (a Redis lock) hands due
rows to the queue under deterministic job ids; workers deliver them. With BACKUP_TARGET
set, the same sweeper (or the embedded thread) also takes the daily backup (jobs/backups.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from typing import TypeVar

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from sqlalchemy.orm import Session

from core.backup import BackupError
from core.clock import utcnow
from jobs.backups import DailyBackupCheck, backup_due, backup_job_id, run_daily_backup
from jobs.dispatch import PENDING, QUEUE, enqueue_send, job_status, links_lock
from jobs.runtime import Runtime
from jobs.sweep import SweepResult, dispatch_due, sweep
from services.messaging import dispatch
from services.messaging.delivery import deliver
from services.messaging.job_health import forget_heartbeat, record_heartbeat
from services.messaging.media import fetch_media
from services.messaging.outbox import next_due_at
from services.reconciliation import razorpay_sync

log = logging.getLogger(__name__)
T = TypeVar("T")

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
# Embedded mode sweeps in its own thread at little cost (no Redis to lose anything, so
# only the payment sync, media and stuck sends depend on it): every 30 s.
INPROCESS_EVERY = 30.0  # seconds, embedded mode
SWEEP_LOCK = "roshni:sweep-lock"
HEARTBEAT_EVERY = 20.0  # seconds; /healthz/jobs calls a runner dead after 120
# An idle RQ worker blocks in BLMOVE for worker_ttl - 15 seconds, then heartbeats and
# blocks again. A connection can die without the worker hearing of it (a failover, a
# proxy or NAT that drops it, a partition): the blocking read then waits for the socket
# timeout, and Redis may hand a job to the dead connection until its own BLMOVE timeout
# runs out (that job then sits in RQ's intermediate list until the sweep or RQ's
# maintenance picks it up). RQ's default (405-second reads, a socket timeout past them)
# kept a worker deaf for minutes after Redis came back; short reads bound both delays.
WORKER_TTL = 18  # seconds: 3-second reads; RQ's worker key lives WORKER_TTL + 60
# redis-py gives every connection a 5-second socket timeout unless told otherwise; RQ needs
# the read to outlast the block, and raises the timeout to read + 10 s itself when lower.
WORKER_SOCKET_TIMEOUT = WORKER_TTL - 15 + 10
# RQ retries a failed dequeue with a growing wait (1, 2, 4 ... s), capped at 60 s by default:
# a worker would take jobs again up to a minute after Redis is back.
RECONNECT_MAX_WAIT = 5.0  # seconds
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


def send_due(rt: Runtime, *, now: datetime | None = None) -> int:
    """Deliver the outbox rows due now, in id order, in this process (the sweep's
    outbox step alone: what the in-process sender does when woken)."""
    moment = now or utcnow()
    with rt.database.session_scope() as session:
        return dispatch_due(session, now=moment, dispatch=_sender(rt, session, moment))


def make_links(rt: Runtime, *, now: datetime | None = None) -> int:
    """Make the pending payment links at Razorpay (each one's commit queues its message):
    what the in-process sender does when a commit opened a link."""
    with rt.database.session_scope() as session:
        return razorpay_sync.create_pending_links(
            session, rt.gateway_for, now=now or utcnow(), callback_url=rt.payment_callback
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
            fetch_media=fetch_now,
            links_lock=links_lock,
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
            fetch_media=lambda i: _enqueue_fetch(queue, i, stranded),
            links_lock=lambda: links_lock(queue.connection),
        )


def _note_failures(result: SweepResult) -> None:
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


class InprocessSender(threading.Thread):
    """Embedded mode's sending thread: sends each outbox row the moment it is due.

    A commit that queued rows wakes it (``wake``, the dispatcher installed on the app's
    sessions); between wake-ups it sleeps until the next row falls due (a reminder, a
    retry's backoff), looking anyway every ``sweep_every`` seconds. The full sweep
    (payment sync, dues, stuck sends, media; heartbeat and backup) runs in a thread of
    its own (``roshni-sweep``) every ``sweep_every`` seconds, as the net: a slow step
    (reconciling links at Razorpay, a media download) never holds a send, and the due
    rows it finds wake this thread. This thread alone sends, in id order: messages keep
    their order. Payment links are made by one thread at a time (``links``).
    """

    def __init__(self, rt: Runtime, sweep: Callable[[], object], *, sweep_every: float) -> None:
        super().__init__(name="roshni-jobs", daemon=True)
        self.rt = rt
        self.sweep = sweep
        self.sweep_every = sweep_every
        self.stopped = threading.Event()
        self._woken = threading.Event()
        self._links = threading.Event()  # a commit opened a payment link
        self.links = threading.Lock()  # held while links are made at Razorpay
        self.passes = 0  # sending passes done (tests wait on it; no timing in it)
        self.sweeps = 0  # sweeps done
        self.hook: dispatch.Installed | None = None  # how commits wake it
        self._sweeper = threading.Thread(target=self._sweep_loop, name="roshni-sweep", daemon=True)

    def start(self) -> None:
        super().start()
        self._sweeper.start()

    def wake(self, rows: list[dispatch.Queued] | None = None) -> None:
        """Rows were committed: look at the outbox now (the rows' due times are read there),
        and make at Razorpay any payment link the commit opened."""
        if rows and any(row.what == dispatch.PAYMENT_LINK for row in rows):
            self._links.set()
        self._woken.set()

    @contextmanager
    def making_links(self) -> Iterator[bool]:
        """The sweep's payment step and this thread make links one at a time."""
        with self.links:
            yield True

    def run(self) -> None:
        while not self.stopped.is_set():
            self._woken.clear()  # before the pass: a commit during it wakes the next one
            # The pass sends what is due by this moment, and the timer looks for what falls
            # due after it: a row falling due during the pass is not missed (read at a later
            # moment, "due after now" would skip it until the sweep).
            moment = utcnow()
            if self._links.is_set():
                self._links.clear()
                # Its commit queues the link's message and wakes the next pass.
                self._guarded("making payment links", self._make_links)
            self._guarded("sending", lambda m=moment: send_due(self.rt, now=m))
            self.passes += 1
            pause = self.sweep_every
            soonest = self._guarded("the outbox timer", lambda m=moment: self._next_due(m))
            if soonest is not None:
                # A hair after it, so the row is due when we look.
                pause = min(pause, (soonest - utcnow()).total_seconds() + 0.01)
            if pause > 0:
                self._woken.wait(pause)

    def _make_links(self) -> None:
        with self.making_links():
            make_links(self.rt)

    def _sweep_loop(self) -> None:
        while not self.stopped.is_set():
            self._guarded("the sweep", self.sweep)
            self.sweeps += 1
            self.stopped.wait(self.sweep_every)

    def _next_due(self, after: datetime) -> datetime | None:
        with self.rt.database.session_scope() as session:
            return next_due_at(session, now=after)

    def _guarded(self, what: str, work: Callable[[], T]) -> T | None:
        try:
            return work()
        except Exception:
            log.exception("%s failed in the job thread; it runs again soon", what)
            return None

    def stop(self) -> None:
        if self.hook is not None:
            self.hook.remove()
        self.stopped.set()
        self._woken.set()

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self._sweeper.is_alive():
            self._sweeper.join(timeout)


def start_inprocess(rt: Runtime, *, sweep_every: float = INPROCESS_EVERY) -> InprocessSender:
    """Embedded mode: the web process sends what the app's commits queue at once and what
    falls due on time, sweeps every ``sweep_every`` seconds (and says so), and takes the
    daily backup when BACKUP_TARGET is set."""
    heartbeat = Heartbeat(rt, "web")
    backups = DailyBackupCheck(rt.config)

    def work() -> None:
        heartbeat.beat()
        tick(rt, hand_over=lambda _message_id: thread.wake(), links_lock=thread.making_links)
        now = utcnow()
        if backups.should_check(now):
            # In the sweep's thread, after the sweep: sends never wait on it (SQLite's
            # online backup of a clinic's database takes well under a second anyway).
            run_daily_backup(rt.config, now=now)

    thread = InprocessSender(rt, work, sweep_every=sweep_every)
    thread.hook = dispatch.install(rt.database.session_factory, thread.wake)
    thread.start()
    return thread


class Heartbeat:
    """Tells the database, every few seconds, that this process runs jobs."""

    def __init__(self, rt: Runtime, kind: str) -> None:
        self.rt = rt
        self.kind = kind
        self.name = f"{kind}:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.started_at = utcnow()
        self._thread: _Every | None = None

    def beat(self) -> None:
        with self.rt.database.session_scope() as session:
            record_heartbeat(
                session, name=self.name, kind=self.kind, started_at=self.started_at, now=utcnow()
            )

    def start(self) -> Heartbeat:
        self._thread = _Every(HEARTBEAT_EVERY, self.beat, name=f"roshni-heartbeat-{self.kind}")
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


def worker_connection(url: str) -> Redis:
    """The Redis client an RQ worker blocks on (see WORKER_SOCKET_TIMEOUT)."""
    return Redis.from_url(
        url,
        socket_timeout=WORKER_SOCKET_TIMEOUT,
        socket_connect_timeout=10,
        socket_keepalive=True,
        health_check_interval=30,
    )


def command_connection(url: str) -> Redis:
    """A client for short commands (the sweeper's lock and enqueues): fail fast."""
    return Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, socket_keepalive=True)


def start_sweeper(rt: Runtime, redis: Redis, queue: Queue) -> _Every:
    """RQ mode: every worker runs this; the Redis lock lets one sweep per interval.

    Redis unreachable: each worker sends what is due itself (the claim on each row keeps
    that to once), so an outage of the transport does not stop reminders.
    """

    backups = DailyBackupCheck(rt.config)

    def maybe_sweep() -> None:
        try:
            ours = redis.set(SWEEP_LOCK, "1", nx=True, px=int(SWEEP_EVERY * 1000) - 500)
        except RedisError as exc:
            log.warning(
                "Redis unreachable (%s): sending what is due from this worker", type(exc).__name__
            )
            _note_failures(tick(rt))
            return
        if ours:
            _note_failures(enqueue_due(rt, queue))
            enqueue_backup_if_due(rt, queue, backups)

    thread = _Every(SWEEPER_LOOKS_EVERY, maybe_sweep, name="roshni-sweeper")
    thread.start()
    return thread


class WorkerStopped(RuntimeError):
    """The worker cannot start: Redis does not answer."""


# How often the scheduler (in one worker at a time) moves jobs whose moment has come to
# the queue: a reminder leaves within this of falling due. RQ's default (1 s, and whole
# seconds) made due reminders wait 1-2 s; ten small Redis reads a second cost nothing.
SCHEDULER_EVERY = 0.1  # seconds


class _Scheduler(RQScheduler):
    """RQ's scheduler, reading scheduled times to the microsecond (jobs.dispatch.schedule_at
    scores them so) every SCHEDULER_EVERY seconds. Its ``interval`` stays RQ's whole second:
    RQ derives key and lock lifetimes from it, and Redis takes whole seconds there."""

    def work(self) -> None:  # RQ's loop, looking every SCHEDULER_EVERY seconds
        self._install_signal_handlers()
        self.register_birth()
        while True:
            if self._stop_requested:
                self.stop()
                break
            if self.should_reacquire_locks:
                self.acquire_locks()
            self.heartbeat()
            self.enqueue_scheduled_jobs()
            time.sleep(SCHEDULER_EVERY)

    def enqueue_scheduled_jobs(self) -> None:
        self._status = self.Status.WORKING
        if not self._scheduled_job_registries and self._acquired_locks:
            self.prepare_registries()
        for registry in self._scheduled_job_registries:
            job_ids = registry.get_jobs_to_schedule(time.time())  # type: ignore[arg-type]
            if not job_ids:
                continue
            queue = Queue(registry.name, connection=self.connection, serializer=self.serializer)
            with self.connection.pipeline() as pipeline:
                jobs = Job.fetch_many(
                    job_ids, connection=self.connection, serializer=self.serializer
                )
                for job in jobs:
                    if job is not None:
                        queue._enqueue_job(
                            job, pipeline=pipeline, at_front=job.should_enqueue_at_front()
                        )
                for job_id in job_ids:
                    registry.remove(job_id, pipeline=pipeline)
                pipeline.execute()
        self._status = self.Status.STARTED


class _Worker(SimpleWorker):
    """RQ's worker (jobs run in this process) that knows whether it was asked to stop,
    retries Redis no more than a few seconds apart, and starts its scheduler again when an
    outage killed it (RQ itself would wait for its ten-minute maintenance)."""

    max_connection_wait_time = RECONNECT_MAX_WAIT

    def __init__(self, queues: list[Queue], *, stop: threading.Event) -> None:
        super().__init__(queues, connection=queues[0].connection, worker_ttl=WORKER_TTL)
        self.stopping = stop
        self.asked_to_stop = False

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        if self.stopping.is_set():  # the signal came while no RQ loop was running
            self.asked_to_stop = True
            self._stop_requested = True  # RQ's loop checks it before its first dequeue

    def handle_warm_shutdown_request(self) -> None:
        self.asked_to_stop = True
        self.stopping.set()
        super().handle_warm_shutdown_request()

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """RQ's, with our scheduler (RQ builds its own here, with no way to choose)."""
        self.scheduler = _Scheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        super().heartbeat(timeout, pipeline)
        # RQ heartbeats before every blocking read, so this runs every few seconds. Not once
        # asked to stop: RQ has stopped the scheduler then, and a new one forked now would
        # inherit RQ's handler that ignores a second SIGTERM within a second.
        process = self.scheduler._process if self.scheduler else None
        if (
            pipeline is None
            and not self.asked_to_stop
            and process is not None
            and not process.is_alive()
        ):
            self.scheduler.acquire_locks(auto_start=True)  # unless another worker's has it


def run_worker(rt: Runtime, *, burst: bool = False) -> None:
    """``roshni worker``: an RQ worker (with RQ's scheduler), the sweeper and a heartbeat.

    Returns when asked to stop (SIGTERM, SIGINT, ``rq shutdown``) or, in burst mode, when
    the queue is empty. Raises ``WorkerStopped`` when Redis does not answer at start, so
    the process exits non-zero and its supervisor (Procfile platform, compose) restarts
    it. Once started, it rides out Redis outages: see ``_work_until_asked_to_stop``.
    """
    if not rt.config.redis_url:
        raise RuntimeError("REDIS_URL is not set: jobs run inside the web process instead")
    redis = worker_connection(rt.config.redis_url)
    queue = Queue(QUEUE, connection=redis)
    if burst:
        enqueue_due(rt, queue)
        _Worker([queue], stop=threading.Event()).work(burst=True)
        return
    try:
        redis.ping()
    except RedisError as exc:
        raise WorkerStopped(f"cannot reach Redis ({exc}); exiting to be restarted") from None
    commands = command_connection(rt.config.redis_url)
    heartbeat = Heartbeat(rt, "worker").start()
    sweeper = start_sweeper(rt, commands, Queue(QUEUE, connection=commands))
    _end_forked_children_with_this_process()
    try:
        _work_until_asked_to_stop(queue)
    finally:
        sweeper.stop()
        heartbeat.stop()


def _work_until_asked_to_stop(queue: Queue) -> None:
    """Run RQ's loop; whenever it ends by itself, start a fresh worker once Redis answers.

    RQ's loop retries only a failed dequeue. Redis failing anywhere else (registering at
    start, the heartbeat after a job, the suspension check, the registry cleaning) or timing
    out ends the loop ("Redis connection timeout, quitting..."), and its teardown fails in
    turn. The sweeper sends what is due from the outbox meanwhile.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:  # between two RQ loops
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while True:
        worker = _Worker([queue], stop=stop)
        try:
            worker.work(with_scheduler=True)
        except RedisError as exc:
            log.warning("RQ's worker lost Redis (%s)", type(exc).__name__)
        if worker.asked_to_stop:
            return
        # RQ's handlers (bound to the finished worker) would call Redis to stop it.
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        log.warning("RQ's loop ended by itself; starting it again once Redis answers")
        _release(worker)
        if not _wait_for_redis(queue.connection, stop):
            return
        with suppress(RedisError):  # best effort: else RQ lists it, and its scheduler's
            worker.register_death()  # lock stops the next one, until their keys expire
            if worker.scheduler is not None:
                worker.scheduler.release_locks()


def _release(worker: _Worker) -> None:
    """Stop what a worker whose teardown failed left running: its Pub/Sub thread (which
    would keep reconnecting to a channel no one reads) and its scheduler process."""
    if worker.pubsub_thread is not None:
        worker.pubsub_thread.stop()
        worker.pubsub_thread.join(timeout=1)
    if worker.scheduler is not None:
        worker.stop_scheduler()


def _wait_for_redis(connection: Redis, stop: threading.Event) -> bool:
    """True once Redis answers; False when asked to stop first."""
    wait = 1.0
    while not stop.wait(wait):
        try:
            connection.ping()
        except RedisError:
            wait = min(wait * 2, RECONNECT_MAX_WAIT)
            continue
        return True
    return False


_PR_SET_PDEATHSIG = 1


def _end_forked_children_with_this_process() -> None:
    """RQ's scheduler runs in a forked child. A worker killed with SIGKILL never stops it,
    and the orphan keeps the scheduler lock; ask Linux to send it SIGTERM (RQ's warm
    stop) when its parent dies. Elsewhere this is a no-op."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getpid()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def in_child() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    os.register_at_fork(after_in_child=in_child)
