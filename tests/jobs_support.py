"""Shared fixtures for the tests of the jobs (tests/jobs/test_jobs.py, tests/jobs/test_worker.py).

Not collected itself: each test module imports the fixtures it uses by name.

Workers are real: ``roshni worker`` subprocesses (what operators run) or RQ's
``SimpleWorker`` in this process, both reading their settings from the environment like
production (``DATABASE_URL``, ``REDIS_URL``, ``TWILIO_*``). Twilio is ``FakeTwilio``, a
local server the real SDK talks to; what it accepted is the truth about what patients
received.

Workers read the real clock, so the reminders here are real bookings three days
ahead whose 24-hour reminder is made due a minute ago. Redis is the database
``ROSHNI_TEST_REDIS`` names (default db 9 on 127.0.0.1), flushed before and after
each test; the tests skip when it is not reachable, except under CI=true.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import Config
from core.db import Database
from jobs import runtime as job_runtime
from jobs.runner import QUEUE
from jobs.runtime import build_runtime
from models import BookingSource, Channel, Contact, MessageKind, OutboundMessage, OutboundStatus
from services.clinics import settings as clinics
from services.scheduling.appointments import book_appointment
from tests.clock import python_command
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
    with worker_in_process(queue, env, monkeypatch) as work:
        yield work


@contextmanager
def worker_in_process(
    queue: Queue, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], None]]:
    """``work()`` runs RQ's own ``SimpleWorker`` on ``queue`` in this process (burst); its
    jobs read their settings from ``env`` in the environment, as a worker's do. On the way
    out the signal handlers the worker installs are undone and the jobs' runtime dropped."""
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


def start_worker(env: dict[str, str], *, burst: bool = True) -> subprocess.Popen[str]:
    """``roshni worker`` in its own process group; ``--burst``: sweep once, drain the queue."""
    return subprocess.Popen(
        python_command("roshni.cli", "worker", *(["--burst"] if burst else [])),
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


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminders:
    ids: list[int]
    phones: list[str]
    clinic_id: int

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

    def make(count: int, *, address: str = CLINIC_WHATSAPP) -> Reminders:
        now = utcnow()
        clinic = make_clinic(reminder_offsets_hours=[24])
        clinics.add_sender_number(
            session,
            clinic_id=clinic.id,
            channel=Channel.WHATSAPP,
            address=address,
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
        session.execute(
            update(Contact)
            .where(Contact.clinic_id == clinic.id)
            .values(whatsapp_last_inbound_at=now - timedelta(hours=1))
        )
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.clinic_id == clinic.id)
            .values(due_at=now - timedelta(minutes=1), next_attempt_at=now - timedelta(minutes=1))
        )
        session.commit()
        rows = session.execute(
            select(OutboundMessage.id, Contact.phone)
            .join(Contact, Contact.id == OutboundMessage.contact_id)
            .where(OutboundMessage.kind == MessageKind.REMINDER)
            .where(OutboundMessage.clinic_id == clinic.id)
            .order_by(OutboundMessage.id)
        ).all()
        session.rollback()
        assert len(rows) == count
        return Reminders(
            ids=[r.id for r in rows], phones=[r.phone for r in rows], clinic_id=clinic.id
        )

    return make


def statuses(session: Session) -> Counter[OutboundStatus]:
    session.expire_all()
    found = Counter(session.scalars(select(OutboundMessage.status)))
    session.rollback()
    return found


def recipients(twilio: FakeTwilio) -> Counter[str]:
    return Counter(message["To"] for message in twilio.sent)


def assert_each_sent_once(
    twilio: FakeTwilio, session: Session, reminders: Reminders, *, sent: int
) -> None:
    """Twilio took each reminder exactly once, and the outbox holds ``sent`` rows, all sent."""
    assert recipients(twilio) == reminders.recipients
    assert statuses(session) == {OutboundStatus.SENT: sent}
