"""The outbox through real RQ workers, Redis and PostgreSQL: every reminder goes out once.

Workers are real: ``python -m core.cli worker --burst`` subprocesses (what operators run)
or RQ's ``SimpleWorker`` in this process, both reading their settings from the
environment like production (``DATABASE_URL``, ``REDIS_URL``, ``TWILIO_*``). Twilio is
``FakeTwilio``, a local server the real SDK talks to; what it accepted is the truth
about what patients received.

Workers read the real clock, so the reminders here are real bookings three days
ahead whose 24-hour reminder is made due a minute ago. Redis is the database
``ROSHNI_TEST_REDIS`` names (default db 9 on 127.0.0.1), flushed before and after
each test; the tests skip when it is not reachable, except under CI=true.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import Config
from core.db import Database
from jobs import runtime as job_runtime
from jobs.runner import QUEUE, enqueue_due, tick
from jobs.runtime import build_runtime
from models import BookingSource, Channel, Contact, MessageKind, OutboundMessage, OutboundStatus
from services import clinics
from services.appointments import book_appointment
from services.delivery import OUTCOME_UNKNOWN, release_stuck
from tests.conftest import IN_CI, SYSTEM
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("ROSHNI_TEST_REDIS", "redis://127.0.0.1:6379/9")
CLINIC_WHATSAPP = "+14155238886"
TIMEOUT = 30  # seconds for any one worker run or wait


@pytest.fixture
def db(pg_db: Database) -> Database:
    """PostgreSQL only: the ``session`` and ``make_*`` factories use this database."""
    return pg_db


@pytest.fixture
def redis() -> Iterator[Redis]:
    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as exc:
        message = f"Redis not reachable at {REDIS_URL}: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the RQ tests are required)")
        pytest.skip(message)
    connection.flushdb()
    try:
        yield connection
    finally:
        connection.flushdb()
        connection.close()


@pytest.fixture
def queue(redis: Redis) -> Queue:
    return Queue(QUEUE, connection=redis)


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def env(pg_url: str, twilio: FakeTwilio, tmp_path: Path) -> dict[str, str]:
    """A worker's environment: this test's PostgreSQL, Redis db and fake Twilio."""
    return {
        "DATABASE_URL": pg_url,
        "REDIS_URL": REDIS_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": twilio.url,
        "ROSHNI_ENV": "test",
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
    }


@pytest.fixture
def runtime(env: dict[str, str], db: Database):
    """The runtime the workers build from ``env``, on this process's database."""
    return build_runtime(Config.from_env(env), database=db)


@pytest.fixture
def inprocess_worker(
    env: dict[str, str], queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], None]]:
    """RQ's own ``SimpleWorker`` in this process, its jobs configured from ``env``."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    job_runtime.runtime.cache_clear()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def work() -> None:
        SimpleWorker([queue], connection=queue.connection).work(burst=True)

    try:
        yield work
    finally:
        for sig, handler in handlers.items():  # the worker installs its own
            signal.signal(sig, handler)
        if job_runtime.runtime.cache_info().currsize:
            job_runtime.runtime().database.dispose()
        job_runtime.runtime.cache_clear()


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    """``roshni worker --burst`` in its own process group: sweeps once, drains the queue."""
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "worker", "--burst"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def run_worker(env: dict[str, str]) -> None:
    worker = start_worker(env)
    output, _ = worker.communicate(timeout=TIMEOUT)
    assert worker.returncode == 0, output


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminders:
    ids: list[int]
    phones: list[str]

    @property
    def recipients(self) -> Counter[str]:
        return Counter(f"whatsapp:{phone}" for phone in self.phones)


@pytest.fixture
def due_reminders(
    session: Session, make_clinic, make_therapist, make_service, make_patient
) -> Callable[[int], Reminders]:
    """``count`` booked sessions three days ahead, each with its 24-hour reminder due now.

    The contacts wrote in an hour ago, so the reminders go free-form (no template).
    """

    def make(count: int) -> Reminders:
        now = utcnow()
        clinic = make_clinic(reminder_offsets_hours=[24])
        clinics.add_sender_number(
            session,
            clinic_id=clinic.id,
            channel=Channel.WHATSAPP,
            address=CLINIC_WHATSAPP,
            actor=SYSTEM,
        )
        make_therapist(clinic, hours={d: (clock_time(8), clock_time(20)) for d in range(7)})
        service = make_service(clinic)
        day = (now + timedelta(days=3)).astimezone(ZoneInfo(clinic.timezone)).date()
        for n in range(count):
            patient = make_patient(clinic, name=f"Child {n}")
            start = datetime.combine(day, clock_time(8 + n), tzinfo=ZoneInfo(clinic.timezone))
            book_appointment(
                session,
                clinic_id=clinic.id,
                patient_id=patient.id,
                service_id=service.id,
                start=start,
                now=now,
                actor=SYSTEM,
                source=BookingSource.ADMIN,
            )
        session.execute(update(Contact).values(whatsapp_last_inbound_at=now - timedelta(hours=1)))
        session.execute(
            update(OutboundMessage).values(
                due_at=now - timedelta(minutes=1), next_attempt_at=now - timedelta(minutes=1)
            )
        )
        session.commit()
        rows = session.execute(
            select(OutboundMessage.id, Contact.phone)
            .join(Contact, Contact.id == OutboundMessage.contact_id)
            .where(OutboundMessage.kind == MessageKind.REMINDER)
            .order_by(OutboundMessage.id)
        ).all()
        session.rollback()
        assert len(rows) == count
        return Reminders(ids=[r.id for r in rows], phones=[r.phone for r in rows])

    return make


def statuses(session: Session) -> Counter[OutboundStatus]:
    session.expire_all()
    found = Counter(session.scalars(select(OutboundMessage.status)))
    session.rollback()
    return found


def recipients(twilio: FakeTwilio) -> Counter[str]:
    return Counter(message["To"] for message in twilio.sent)


# --- tests ---------------------------------------------------------------------------------


def test_due_reminders_are_enqueued_and_sent_once(
    due_reminders, runtime, queue, env, twilio, session
):
    reminders = due_reminders(5)

    first = enqueue_due(runtime, queue)
    second = enqueue_due(runtime, queue)  # a second sweep before any worker ran
    assert first.dispatched == second.dispatched == 5
    assert queue.count == 5, "a row already waiting in Redis is not added again"
    # Even a job that slipped past the dedupe (another id) does not send twice: the claim wins.
    queue.enqueue("jobs.tasks.send_message", reminders.ids[0], job_id="stray-duplicate")

    run_worker(env)  # sweeps once more itself, then drains the queue

    assert recipients(twilio) == reminders.recipients
    assert all(not m.get("ContentSid") and "Reminder" in m["Body"] for m in twilio.sent)
    assert statuses(session) == {OutboundStatus.SENT: 5}
    assert enqueue_due(runtime, queue).dispatched == 0
    assert queue.count == 0


def test_a_sweep_after_redis_lost_everything_finds_every_unsent_row(
    due_reminders, runtime, queue, redis, inprocess_worker, twilio, session
):
    reminders = due_reminders(4)
    assert enqueue_due(runtime, queue).dispatched == 4
    assert queue.count == 4

    redis.flushdb()  # a Redis restart without persistence
    assert queue.count == 0

    assert enqueue_due(runtime, queue).dispatched == 4
    assert queue.count == 4
    inprocess_worker()

    assert recipients(twilio) == reminders.recipients
    assert statuses(session) == {OutboundStatus.SENT: 4}


def test_a_worker_killed_inside_the_twilio_call_causes_no_duplicate(
    due_reminders, runtime, queue, redis, env, twilio, session
):
    """SIGKILL while Twilio holds the request: Twilio accepts it, the answer is lost.

    The row stays in "sending" with no provider id. Sending it again could only be
    right if Twilio had not accepted it, which nobody can know; ``release_stuck``
    must hand it to staff instead ("outcome unknown"), and everything else goes once.
    """
    reminders = due_reminders(4)
    twilio.delay_responses(1.0)
    worker = start_worker(env)
    try:
        wait_for(lambda: twilio.state.requests >= 1, "the worker's first Twilio request")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=TIMEOUT)
    wait_for(lambda: len(twilio.sent) == 1, "Twilio to accept the in-flight message")
    twilio.delay_responses(0)
    assert statuses(session) == {OutboundStatus.SENDING: 1, OutboundStatus.QUEUED: 3}

    # Five minutes and more pass. RQ gives up on the dead worker's job (its heartbeat
    # stopped); the worker subprocesses read the real clock, so rather than moving
    # "now" forward the claim is moved back.
    StartedJobRegistry(QUEUE, connection=redis).cleanup(timestamp=time.time() + 3600)
    stuck = session.scalars(
        select(OutboundMessage).where(OutboundMessage.status == OutboundStatus.SENDING)
    ).one()
    assert stuck.claimed_at is not None and stuck.provider_sid is None
    stuck.claimed_at -= timedelta(minutes=6)
    session.commit()
    assert release_stuck(session, now=utcnow()) == 1

    run_worker(env)  # its sweep re-enqueues whatever the outbox still says is due
    assert enqueue_due(runtime, queue).dispatched == 0

    assert recipients(twilio) == reminders.recipients  # each exactly once
    assert statuses(session) == {OutboundStatus.SENT: 3, OutboundStatus.FAILED: 1}
    unknown = session.scalars(
        select(OutboundMessage).where(OutboundMessage.status == OutboundStatus.FAILED)
    ).one()
    assert unknown.error_code == OUTCOME_UNKNOWN
    assert unknown.provider_sid is None
    assert f"whatsapp:{unknown.contact.phone}" == twilio.sent[0]["To"]


def test_inprocess_mode_sends_what_rq_mode_sends(
    due_reminders, runtime, queue, inprocess_worker, twilio, session
):
    reminders = due_reminders(4)
    enqueue_due(runtime, queue)
    inprocess_worker()
    by_rq = sorted((m["From"], m["To"], m["Body"]) for m in twilio.sent)

    # The same rows, queued again, through the embedded runner instead.
    session.execute(
        update(OutboundMessage).values(
            status=OutboundStatus.QUEUED,
            provider_sid=None,
            body=None,
            sent_at=None,
            attempts=0,
            next_attempt_at=utcnow() - timedelta(minutes=1),
        )
    )
    session.commit()
    assert tick(runtime).dispatched == 4
    by_tick = sorted((m["From"], m["To"], m["Body"]) for m in twilio.sent[4:])

    assert len(by_rq) == 4
    assert by_tick == by_rq
    assert Counter(to for _, to, _ in by_rq) == reminders.recipients
    assert statuses(session) == {OutboundStatus.SENT: 4}


def test_a_failure_before_the_twilio_call_puts_the_row_back(
    due_reminders, runtime, twilio, session, monkeypatch
):
    """Only a death *during* the call is "outcome unknown": a bug before it is retried."""
    due_reminders(1)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in rendering")

    monkeypatch.setattr("services.delivery.render", broken)
    with pytest.raises(RuntimeError):
        tick(runtime)
    row = session.scalars(select(OutboundMessage)).one()
    assert (row.status, row.attempts) == (OutboundStatus.QUEUED, 1)
    assert row.error_message == "RuntimeError before sending"
    assert row.next_attempt_at > utcnow()
    session.rollback()

    monkeypatch.undo()
    assert tick(runtime, now=row.next_attempt_at).dispatched == 1
    assert len(twilio.sent) == 1
    assert statuses(session) == {OutboundStatus.SENT: 1}
