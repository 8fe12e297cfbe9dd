"""``roshni worker`` as operators run it (no ``--burst``): it stays up while idle, rides
out a Redis outage, stops cleanly on SIGTERM, and its scheduler never outlives it.

Fixtures and helpers: tests/jobs_support.py. Redis "goes away" behind a TCP proxy
(tests/tcp_proxy.py) that the worker is pointed at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rq.job import JobStatus
from sqlalchemy import func, select, update

from core.clock import utcnow
from jobs.runner import enqueue_due
from jobs.tasks import noop
from models import OutboundMessage, WorkerHeartbeat

# ruff: noqa: F811
from tests.jobs_support import (  # noqa: F401  (fixtures)
    REDIS_URL,
    TIMEOUT,
    db,
    due_reminders,
    env,
    queue,
    redis,
    runtime,
    start_worker,
    twilio,
    wait_for,
)
from tests.tcp_proxy import TcpProxy

# RQ keeps its scheduler lock for the interval (1 s) + 60 s; a scheduler killed before it
# let go of the lock is replaced only once the lock lapses.
SCHEDULER_LOCK_SECONDS = 61


def heartbeats(session) -> int:
    count = session.scalar(select(func.count()).select_from(WorkerHeartbeat))
    session.rollback()
    return count


def stop(worker: subprocess.Popen[str]) -> str:
    """SIGTERM, as a supervisor stops it; the worker's output for assertion messages."""
    if worker.poll() is None:
        os.kill(worker.pid, signal.SIGTERM)
    output, _ = worker.communicate(timeout=TIMEOUT)
    return output


def test_an_idle_worker_stays_up_and_delivers_what_comes_later(
    env, due_reminders, runtime, queue, twilio, session
):
    worker = start_worker(env, burst=False)
    try:
        wait_for(lambda: heartbeats(session) == 1, "the worker's first heartbeat")
        # redis-py's default 5-second socket timeout used to end an idle worker here
        # ("Redis connection timeout, quitting...", exit code 0). Longer, by hand:
        # ROSHNI_TEST_IDLE_SECONDS=660 (past RQ's own 405-second blocking read).
        time.sleep(float(os.environ.get("ROSHNI_TEST_IDLE_SECONDS", "8")))
        assert worker.poll() is None, worker.communicate()[0]
        due_reminders(1)
        assert enqueue_due(runtime, queue).dispatched == 1
        wait_for(lambda: len(twilio.sent) == 1, "the idle worker to send the reminder")
    finally:
        output = stop(worker)
    assert worker.returncode == 0, output
    assert heartbeats(session) == 0, "a clean stop removes the worker's heartbeat"


def test_a_worker_rides_out_a_redis_outage(env, due_reminders, runtime, queue, twilio, session):
    redis_at = urlsplit(REDIS_URL)
    with TcpProxy(redis_at.hostname or "127.0.0.1", redis_at.port or 6379) as proxy:
        through_proxy = f"redis://127.0.0.1:{proxy.port}{redis_at.path}"
        worker = start_worker({**env, "REDIS_URL": through_proxy}, burst=False)
        try:
            wait_for(lambda: heartbeats(session) == 1, "the worker's first heartbeat")
            reminders = due_reminders(2)
            later = reminders.ids[1]
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == later)
                .values(next_attempt_at=utcnow() + timedelta(hours=1))
            )
            session.commit()

            proxy.cut()  # Redis is gone: the worker's sweeper sends what is due itself
            wait_for(lambda: len(twilio.sent) == 1, "the due reminder sent without Redis")
            assert worker.poll() is None, worker.communicate()[0]

            proxy.restore()
            time.sleep(1)
            assert worker.poll() is None, worker.communicate()[0]
        finally:
            output = stop(worker)
    assert worker.returncode == 0, output
    [sent] = twilio.sent  # the due one, once; the later one waits for its time
    assert sent["To"] in set(reminders.recipients)


@pytest.mark.parametrize("reset", [False, True], ids=["silent", "reset"])
def test_a_worker_takes_jobs_from_rq_again_after_a_redis_outage(env, queue, session, reset):
    """Silent: the worker's idle connections die unheard (a failover, a dropped NAT entry;
    see tests/tcp_proxy.py), and Redis hands what is enqueued to the dead one until its
    blocking read times out server-side. Reset: every connection closes at once (a restart)."""
    redis_at = urlsplit(REDIS_URL)
    with TcpProxy(redis_at.hostname or "127.0.0.1", redis_at.port or 6379) as proxy:
        through_proxy = f"redis://127.0.0.1:{proxy.port}{redis_at.path}"
        worker = start_worker({**env, "REDIS_URL": through_proxy}, burst=False)
        try:
            wait_for(lambda: heartbeats(session) == 1, "the worker's first heartbeat")
            proxy.cut(reset=reset)
            time.sleep(5)
            proxy.restore()
            job = queue.enqueue(noop, 1)
            wait_for(
                lambda: job.get_status(refresh=True) == JobStatus.FINISHED,
                "the worker to take a job from RQ again",
            )
            later = queue.enqueue_in(timedelta(seconds=1), noop, 2)
            # When the outage killed the scheduler before it could let go of its lock, a
            # new one waits for the lock to lapse: RQ keeps it interval + 60 s (61 s).
            wait_for(
                lambda: later.get_status(refresh=True) == JobStatus.FINISHED,
                "RQ's scheduler (which the outage ended) to run again",
                timeout=SCHEDULER_LOCK_SECONDS + 15,
            )
            assert worker.poll() is None
        finally:
            output = stop(worker)
    assert worker.returncode == 0, output


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_workers_scheduler_does_not_outlive_it(env, session, redis):
    worker = start_worker(env, burst=False)
    try:
        seen: list[int] = []

        def one_scheduler() -> bool:  # the same look that is checked is the one kept
            seen[:] = children(worker.pid)
            return len(seen) == 1

        wait_for(one_scheduler, "RQ's scheduler process")
        [scheduler] = seen
        # At once: the scheduler is often still starting (the worker's signal handlers
        # then), which once let it live on after its worker.
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=TIMEOUT)  # not communicate: an orphan would hold the pipe
        wait_for(lambda: not running(scheduler), "the orphaned scheduler to stop")
    finally:
        for pid in [*seen, worker.pid]:  # never leave one behind for the next tests
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker.communicate(timeout=TIMEOUT)


# A worker whose SIGTERM handler only asks its own loop to stop (as RQ's does), then forks a
# child that has not yet put in handlers of its own (RQ's scheduler while it starts), then
# dies: the child must not live on.
_CHILD_STARTING_WHEN_ITS_PARENT_DIES = """
import os, signal, sys, time
from jobs.worker import _end_forked_children_with_this_process
signal.signal(signal.SIGTERM, lambda signum, frame: None)
_end_forked_children_with_this_process()
child = os.fork()
if child == 0:
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
os._exit(0)
"""


def test_a_child_still_starting_when_its_worker_dies_dies_too():
    parent = subprocess.run(
        [sys.executable, "-c", _CHILD_STARTING_WHEN_ITS_PARENT_DIES],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    child = int(parent.stdout)
    try:
        wait_for(lambda: not running(child), "the child to end with its parent")
    finally:
        with suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_a_worker_that_cannot_reach_redis_exits_non_zero(env):
    with TcpProxy("127.0.0.1", 6379) as proxy:
        unreachable = f"redis://127.0.0.1:{proxy.port}/9"
    worker = start_worker({**env, "REDIS_URL": unreachable}, burst=False)
    output, _ = worker.communicate(timeout=TIMEOUT)
    assert worker.returncode != 0, output
    assert "Traceback" not in output
