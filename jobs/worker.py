"""RQ mode (REDIS_URL set): the worker process, its scheduler and its sweeper."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from contextlib import suppress

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.job import Job
from rq.scheduler import RQScheduler

from jobs.backups import DailyBackupCheck
from jobs.dispatch import QUEUE
from jobs.runner import (
    SWEEP_EVERY,
    SWEEP_LOCK,
    SWEEPER_LOOKS_EVERY,
    Every,
    Heartbeat,
    enqueue_backup_if_due,
    enqueue_due,
    note_failures,
    tick,
)
from jobs.runtime import Runtime

log = logging.getLogger(__name__)

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


def start_sweeper(rt: Runtime, redis: Redis, queue: Queue) -> Every:
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
            note_failures(tick(rt))
            return
        if ours:
            note_failures(enqueue_due(rt, queue))
            enqueue_backup_if_due(rt, queue, backups)

    thread = Every(SWEEPER_LOOKS_EVERY, maybe_sweep, name="roshni-sweeper")
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
    stop, which lets the lock go; plain death before RQ's handlers are in) when its
    parent dies. Elsewhere this is a no-op."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getpid()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def in_child() -> None:
        # Until RQ's scheduler installs its own handlers, the child has the worker's: a
        # SIGTERM then (its parent dying while it starts) would ask a worker that is not
        # running here to stop, and the scheduler would start and run on. Die of it instead.
        with suppress(ValueError):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    os.register_at_fork(after_in_child=in_child)
