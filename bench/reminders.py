"""How fast do RQ workers send reminders, next to RQ's own cost per job?

Run from the repository root (needs PostgreSQL and Redis on 127.0.0.1)::

    .venv/bin/python -m bench.reminders [--count N] [--workers W]

Method. A throwaway PostgreSQL database (``roshni_bench_<random>``, migrated, dropped
at the end; override the server with ``ROSHNI_BENCH_PG``) gets one clinic with a
WhatsApp number and N (default 10,000) booked sessions three days ahead, each with
its own contact, who wrote in an hour ago (inside WhatsApp's 24-hour window, so the
reminder goes free-form), and one reminder row due in the same minute. The rows are
bulk-inserted, exactly as ``schedule_reminders`` would have queued them. Twilio is
``tests.fake_twilio.FakeTwilio``, a local server in this process that the real SDK
talks to over HTTP.

W (default 2) ``python -m roshni.cli worker`` subprocesses (the production worker: RQ's
``SimpleWorker`` with its scheduler) serve the queue on Redis database 10
(``ROSHNI_BENCH_REDIS``), which is flushed before and after. Two phases run through
the same workers once both have registered:

1. no-op: N ``jobs.tasks.noop`` jobs are enqueued in one pipeline; the clock runs
   until RQ has finished all of them. This is the rate of RQ itself.
2. reminders: the clock starts, ``jobs.runner.enqueue_due`` hands the due rows to
   the queue, and runs until every row is "sent" in the database. This process is
   the sweeper (it sweeps again whenever fewer than 500 jobs wait, as a safety net);
   the workers' own sweepers are kept out by holding their Redis lock.

The report gives both rates, their ratio against the target (reminders at least
half the no-op rate; informational, PASS/MISS), and checks that every reminder went
out exactly once: FakeTwilio accepted N messages with N distinct recipients and N
distinct bodies, and every row is "sent" with its own provider id. Everything shares
the machine (the workers, PostgreSQL, Redis, FakeTwilio and this process), so the
numbers are for comparing runs, not a capacity plan. The exit code is 0 when every
reminder was sent exactly once within the time limit, whatever the target says.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time as clock
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from redis import Redis
from rq import Queue, Worker
from rq.registry import FinishedJobRegistry
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bench.harness import stop_process_groups
from bench.slots import postgresql_database
from core.clock import utcnow
from core.config import Config
from core.db import Database
from jobs.runner import QUEUE, SWEEP_LOCK, enqueue_due
from jobs.runtime import Runtime, build_runtime
from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    Channel,
    Contact,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    Patient,
    Relation,
    Therapist,
)
from services.audit import Actor
from services.clinics import catalog
from services.clinics import settings as clinics
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("ROSHNI_BENCH_REDIS", "redis://127.0.0.1:6379/10")
ACTOR = Actor.system()
CLINIC_WHATSAPP = "+14155238886"
PER_THERAPIST = 50  # back-to-back 45-minute sessions per therapist
SWEEP_BELOW = 500  # sweep again when fewer jobs than this wait in the queue
TARGET_RATIO = 0.5
PHASE_LIMIT = 240.0  # seconds; a phase still running then is reported as failed
POLL = 0.05  # seconds between looks at Redis
DB_POLL = 0.25  # seconds between looks at the outbox (a GROUP BY over every row)


@dataclass
class Phase:
    name: str
    count: int
    seconds: float
    done: int

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


# --- data ----------------------------------------------------------------------------------


def seed(
    database: Database,
    count: int,
    *,
    slug: str = "bench",
    whatsapp: str = CLINIC_WHATSAPP,
    phone_prefix: str = "+9198",
) -> None:
    """One clinic; ``count`` contacts, patients, sessions and reminders due in this minute.

    Contacts are ``phone_prefix`` + eight digits (bench/faults.py seeds several clinics)."""
    now = utcnow()
    due = now - timedelta(seconds=30)
    with database.session_scope() as session:
        clinic = clinics.create_clinic(
            session, name=f"Bench Clinic {slug}", slug=slug, timezone="Asia/Kolkata", actor=ACTOR
        )
        location = clinics.add_location(session, clinic_id=clinic.id, name="Main", actor=ACTOR)
        clinics.add_sender_number(
            session,
            clinic_id=clinic.id,
            channel=Channel.WHATSAPP,
            address=whatsapp,
            actor=ACTOR,
        )
        service = catalog.create_service(
            session,
            clinic_id=clinic.id,
            name="Speech Therapy Session",
            specialization="speech",
            duration_minutes=45,
            price_minor=80000,
            actor=ACTOR,
        )
        therapists = -(-count // PER_THERAPIST)
        therapist_ids = _insert(
            session,
            Therapist,
            [
                {"clinic_id": clinic.id, "name": f"Therapist {t}", "specialization": "speech"}
                for t in range(therapists)
            ],
        )
        contact_ids = _insert(
            session,
            Contact,
            [
                {
                    "clinic_id": clinic.id,
                    "phone": f"{phone_prefix}{n:08d}",
                    "name": f"Parent {n}",
                    "consent_at": now - timedelta(days=30),
                    "consent_version": "bench",
                    "whatsapp_last_inbound_at": now - timedelta(hours=1),
                }
                for n in range(count)
            ],
        )
        patient_ids = _insert(
            session,
            Patient,
            [
                {
                    "clinic_id": clinic.id,
                    "contact_id": contact_id,
                    "name": f"Child {n}",
                    "relation": Relation.CHILD,
                }
                for n, contact_id in enumerate(contact_ids)
            ],
        )
        first = (now + timedelta(days=3)).replace(second=0, microsecond=0)
        appointments = []
        for n, patient_id in enumerate(patient_ids):
            start = first + timedelta(minutes=45 * (n % PER_THERAPIST))
            number = f"APT-B-{n:06d}"
            appointments.append(
                {
                    "clinic_id": clinic.id,
                    "number": number,
                    "patient_id": patient_id,
                    "therapist_id": therapist_ids[n // PER_THERAPIST],
                    "service_id": service.id,
                    "location_id": location.id,
                    "start_at": start,
                    "end_at": start + timedelta(minutes=45),
                    "status": AppointmentStatus.BOOKED,
                    "price_minor": 80000,
                    "source": BookingSource.ADMIN,
                    "overlap_key": f"a:{number}",
                    "created_by": "system",
                }
            )
        appointment_ids = _insert(session, Appointment, appointments)
        _insert(
            session,
            OutboundMessage,
            [
                {
                    "clinic_id": clinic.id,
                    "contact_id": contact_id,
                    "appointment_id": appointment_id,
                    "channel": Channel.WHATSAPP,
                    "kind": MessageKind.REMINDER,
                    "template_key": "reminder",
                    "variables": {},
                    "idempotency_key": f"reminder:{appointment_id}:bench:24h",
                    "due_at": due,
                    "next_attempt_at": due,
                }
                for contact_id, appointment_id in zip(contact_ids, appointment_ids, strict=True)
            ],
        )
        session.commit()


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT … RETURNING id, in the order of ``rows``."""
    result = session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(result)


def outbox_counts(database: Database) -> dict[OutboundStatus, int]:
    with database.session_scope() as session:
        rows = session.execute(
            select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
        ).all()
    return {status: n for status, n in rows}


# --- workers -------------------------------------------------------------------------------


@contextmanager
def workers(count: int, env: dict[str, str], log: TextIO) -> Iterator[list[subprocess.Popen]]:
    """``count`` production workers; stopped (SIGTERM, then SIGKILL) on the way out."""
    started: list[subprocess.Popen] = []
    try:
        for _ in range(count):
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "roshni.cli", "worker"],
                    cwd=ROOT,
                    env={**os.environ, **env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        yield started
    finally:
        stop_process_groups([worker for worker in started if worker.poll() is None])


def wait_registered(redis: Redis, procs: list[subprocess.Popen], count: int) -> None:
    deadline = clock.monotonic() + 30
    while len(Worker.all(connection=redis)) < count:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker exited during start-up (see its log)")
        if clock.monotonic() > deadline:
            raise RuntimeError("the workers did not register within 30 s")
        clock.sleep(POLL)


# --- phases --------------------------------------------------------------------------------


def run_noop(queue: Queue, count: int) -> Phase:
    finished = FinishedJobRegistry(queue=queue)
    jobs = [
        Queue.prepare_data("jobs.tasks.noop", (n,), result_ttl=600, job_id=f"noop-{n}")
        for n in range(count)
    ]
    started = clock.perf_counter()
    queue.enqueue_many(jobs)
    done = 0
    while clock.perf_counter() - started < PHASE_LIMIT:
        done = finished.get_job_count(cleanup=False)
        if done >= count:
            break
        clock.sleep(POLL)
    return Phase("no-op job", count, clock.perf_counter() - started, done)


def run_reminders(
    rt: Runtime, queue: Queue, database: Database, count: int, workers: int
) -> tuple[Phase, int]:
    """Sweep, and sweep again while rows are left, until every row is settled."""
    sweeps = 0
    done = 0
    started = clock.perf_counter()
    while clock.perf_counter() - started < PHASE_LIMIT:
        counts = outbox_counts(database)
        queued = counts.get(OutboundStatus.QUEUED, 0)
        done = counts.get(OutboundStatus.SENT, 0)
        if not queued + counts.get(OutboundStatus.SENDING, 0):
            break
        waiting = queue.count
        # Rows due but not in Redis yet (a job popped and not yet claimed counts as one).
        if waiting < SWEEP_BELOW and queued > waiting + workers:
            enqueue_due(rt, queue)
            sweeps += 1
        clock.sleep(DB_POLL)
    return Phase("reminder", count, clock.perf_counter() - started, done), sweeps


# --- checks and report ---------------------------------------------------------------------


def verify(twilio: FakeTwilio, database: Database, count: int) -> list[str]:
    """What is wrong, if anything, with "every reminder sent exactly once"."""
    problems = []
    sent = twilio.sent
    recipients = {m["To"] for m in sent}
    bodies = {m["Body"] for m in sent}
    print(
        f"  FakeTwilio: {len(sent)} accepted, {len(recipients)} distinct recipients, "
        f"{len(bodies)} distinct bodies, {sum(1 for m in sent if m.get('ContentSid'))} templates"
    )
    if not len(sent) == len(recipients) == len(bodies) == count:
        problems.append(f"Twilio accepted {len(sent)} messages, expected {count} distinct ones")
    with database.session_scope() as session:
        phones = set(session.scalars(select(Contact.phone)))
        sids = session.scalar(select(func.count(func.distinct(OutboundMessage.provider_sid))))
    if recipients != {f"whatsapp:{p}" for p in phones}:
        problems.append("the recipients are not exactly the contacts")
    counts = outbox_counts(database)
    print(
        "  outbox: "
        + ", ".join(f"{s.value} {n}" for s, n in sorted(counts.items()))
        + f"; {sids} distinct provider ids"
    )
    if counts != {OutboundStatus.SENT: count} or sids != count:
        problems.append(f"expected {count} rows 'sent' with distinct provider ids")
    return problems


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(noop: Phase, reminders: Phase, sweeps: int, workers: int) -> None:
    print(f"  results ({workers} workers):")
    for phase in (noop, reminders):
        print(
            f"    {phase.name:<10} {phase.done:>6}/{phase.count} in {phase.seconds:6.2f} s   "
            f"{phase.rate:8.1f} /s"
        )
    print(f"    sweeps (enqueue_due calls) during the reminder phase: {sweeps}")
    ratio = reminders.rate / noop.rate if noop.rate else 0.0
    print("  target:")
    print(
        f"    reminder rate / no-op rate = {ratio:6.1%}  (>= {TARGET_RATIO:.0%})   "
        f"{mark(ratio >= TARGET_RATIO)}"
    )


def run(count: int, worker_count: int) -> int:
    print(
        f"reminders benchmark: {count} reminders due in one minute, {worker_count} RQ workers, "
        f"python {sys.version.split()[0]}"
    )
    begun = clock.perf_counter()
    redis = Redis.from_url(REDIS_URL)
    redis.ping()
    with ExitStack() as stack:
        redis.flushdb()
        stack.callback(redis.close)
        stack.callback(redis.flushdb)
        database = stack.enter_context(postgresql_database())
        twilio = stack.enter_context(FakeTwilio())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="roshni_bench_")))
        log = stack.enter_context((tmp / "workers.log").open("w+"))
        seed(database, count)
        setup = clock.perf_counter() - begun
        print(f"  setup: database seeded in {setup:.1f} s")

        env = {
            "DATABASE_URL": database.url,
            "REDIS_URL": REDIS_URL,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_URL": twilio.url,
            "ROSHNI_ENV": "test",
            "ROSHNI_INSTANCE_DIR": str(tmp),
        }
        # This process is the only sweeper: the workers' sweepers find the lock taken.
        redis.set(SWEEP_LOCK, "bench", ex=3600)
        queue = Queue(QUEUE, connection=redis)
        rt = build_runtime(Config.from_env(env), database=database)
        try:
            procs = stack.enter_context(workers(worker_count, env, log))
            wait_registered(redis, procs, worker_count)
            noop = run_noop(queue, count)
            reminders, sweeps = run_reminders(rt, queue, database, count, worker_count)
            report(noop, reminders, sweeps, worker_count)
            problems = verify(twilio, database, count)
            if noop.done < count or reminders.done < count:
                problems.append(f"a phase did not finish within {PHASE_LIMIT:.0f} s")
        except Exception as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
        if problems:
            log.flush()
            log.seek(0)
            tail = log.read()[-3000:]
            print("  FAILED: " + "; ".join(problems))
            print("  last worker output:\n" + tail)
        else:
            print("  every reminder was sent exactly once")
    print(f"  (total {clock.perf_counter() - begun:.1f} s; database dropped, Redis db flushed)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reminders", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", type=int, default=10_000, help="reminders (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers (default 2)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.workers < 1:
        parser.error("--count and --workers must be at least 1")
    return run(args.count, args.workers)


if __name__ == "__main__":
    raise SystemExit(main())
