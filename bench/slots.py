"""How fast is ``services.scheduling.availability.free_slots`` on a busy calendar?

Run from the repository root::

    .venv/bin/python -m bench.slots [--runs N] [--warmup N] [--backend sqlite|postgresql]

For each backend it builds a throwaway, migrated database (SQLite: a temporary
file; PostgreSQL: ``roshni_bench_<random>`` on 127.0.0.1, dropped at the end;
override the server with ``ROSHNI_BENCH_PG``), with one clinic, one therapist
working Mon-Sat 09:00-18:00, one 45-minute service and 300 real bookings over
the next 90 days, made through ``book_appointment``. It then times
``free_slots`` over 14 and 90 days and prints the median, p95, SQL statements
per call and slots returned, next to the targets. The targets are
informational: the exit code is 0 whatever they say.

Each timed call is what one request does: ``free_slots`` on a session whose
previous transaction has ended, so the call opens its own. Statements are
counted with a ``before_cursor_execute`` listener, leaving out transaction
control (SQLite's ``BEGIN`` is sent as a statement, PostgreSQL's is not).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select

from core import migrate
from core.db import Database
from models import Appointment, AppointmentStatus, BookingSource, Relation
from services.audit import Actor
from services.clinics import catalog
from services.clinics import settings as clinics
from services.people import patients
from services.scheduling.appointments import book_appointment
from services.scheduling.availability import Slot, free_slots
from tests.seeding import add_therapist

PG_ADMIN_URL = os.environ.get("ROSHNI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ACTOR = Actor.system()
# Monday 23 Nov 2026, 09:00 in Kolkata: a fixed "now" keeps every run comparable.
NOW = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
APPOINTMENTS = 300
BOOKED_DAYS = 90
PATIENTS = 30
RANGES = (14, 90)

TARGET_RATIO = 7.0
TARGET_STATEMENTS = 3
TARGET_P95_14_MS = 20.0


@dataclass
class Timing:
    days: int
    millis: list[float]
    statements: list[int]
    slots: int

    @property
    def median(self) -> float:
        return statistics.median(self.millis)

    @property
    def p95(self) -> float:
        ordered = sorted(self.millis)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank


@dataclass
class Calendar:
    clinic_id: int
    therapist_id: int
    service_id: int
    today: date
    booked: int


# --- databases -------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="roshni_bench_") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


@contextmanager
def postgresql_database() -> Iterator[Database]:
    import psycopg

    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    name = f"roshni_bench_{uuid.uuid4().hex[:10]}"
    server = PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0]
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        database: Database | None = None
        try:
            url = f"postgresql+psycopg://{server}/{name}"
            migrate.upgrade(url)
            database = Database(url)
            yield database
        finally:
            if database is not None:
                database.dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


BACKENDS: dict[str, Callable[[], Any]] = {
    "sqlite": sqlite_database,
    "postgresql": postgresql_database,
}


# --- data ------------------------------------------------------------------------------


def build_calendar(database: Database, rng: random.Random) -> Calendar:
    """One clinic, one therapist (Mon-Sat 09:00-18:00), one 45-minute service, 300 bookings."""
    with database.session_scope() as session:
        clinic = clinics.create_clinic(
            session, name="Bench Clinic", slug="bench", timezone="Asia/Kolkata", actor=ACTOR
        )
        clinic.policy.booking_horizon_days = 120  # a 90-day query must not be clipped
        clinic.policy.min_notice_hours = 1
        session.commit()
        location = clinics.add_location(session, clinic_id=clinic.id, name="Main", actor=ACTOR)
        therapist = add_therapist(
            session,
            clinic_id=clinic.id,
            location_id=location.id,
            name="Dr. Bench",
            specialization="speech",
            hours={weekday: (time(9), time(18)) for weekday in range(6)},
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
        patient_ids = []
        for n in range(PATIENTS):
            contact = patients.create_contact(
                session, clinic_id=clinic.id, phone=f"+9198765{n:05d}", actor=ACTOR
            )
            patient = patients.add_patient(
                session,
                clinic_id=clinic.id,
                contact_id=contact.id,
                name=f"Child {n}",
                relation=Relation.CHILD,
                actor=ACTOR,
                today=NOW.date(),
            )
            patient_ids.append(patient.id)

        today = NOW.astimezone(ZoneInfo(clinic.timezone)).date()
        free = free_slots(
            session,
            clinic_id=clinic.id,
            service_id=service.id,
            start_date=today,
            end_date=today + timedelta(days=BOOKED_DAYS - 1),
            now=NOW,
        )
        session.rollback()
        for n, slot in enumerate(_pick_disjoint(free, APPOINTMENTS, rng)):
            book_appointment(
                session,
                clinic_id=clinic.id,
                patient_id=patient_ids[n % PATIENTS],
                service_id=service.id,
                start=slot.start,
                now=NOW,
                actor=ACTOR,
                source=BookingSource.ADMIN,
            )
        booked = session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.therapist_id == therapist.id,
                Appointment.status.in_(AppointmentStatus.active()),
            )
        )
        session.rollback()
        return Calendar(clinic.id, therapist.id, service.id, today, booked or 0)


def _pick_disjoint(free: list[Slot], count: int, rng: random.Random) -> list[Slot]:
    """``count`` random free slots, none overlapping another, in time order."""
    candidates = free[:]
    rng.shuffle(candidates)
    chosen: list[Slot] = []
    for slot in candidates:
        if all(slot.end <= c.start or c.end <= slot.start for c in chosen):
            chosen.append(slot)
            if len(chosen) == count:
                break
    if len(chosen) < count:
        raise RuntimeError(f"only {len(chosen)} disjoint free slots for {count} bookings")
    return sorted(chosen)


# --- measuring -------------------------------------------------------------------------


class StatementCounter:
    """Counts SQL statements sent on an engine, transaction control left out."""

    SKIP = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

    def __init__(self, database: Database) -> None:
        self.engine = database.engine
        self.count = 0

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(self.SKIP):
            self.count += 1


def measure(database: Database, cal: Calendar, days: int, runs: int, warmup: int) -> Timing:
    millis: list[float] = []
    statements: list[int] = []
    slots = -1
    with StatementCounter(database) as counter, database.session_scope() as session:
        for i in range(warmup + runs):
            before = counter.count
            started = clock.perf_counter()
            result = free_slots(
                session,
                clinic_id=cal.clinic_id,
                service_id=cal.service_id,
                start_date=cal.today,
                end_date=cal.today + timedelta(days=days - 1),
                now=NOW,
            )
            elapsed = (clock.perf_counter() - started) * 1000
            session.rollback()  # end the request's read transaction
            if i >= warmup:
                millis.append(elapsed)
                statements.append(counter.count - before)
                slots = len(result)
    return Timing(days, millis, statements, slots)


# --- report ----------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(backend: str, database: Database, cal: Calendar, timings: dict[int, Timing]) -> None:
    version = database.engine.dialect.server_version_info or ()
    print(f"\n== {backend} {'.'.join(map(str, version))} ==")
    print(
        f"calendar: 1 therapist, Mon-Sat 09:00-18:00, 45-min service, {cal.booked} active bookings"
    )
    print(f"          over {BOOKED_DAYS} days from {cal.today}")
    for days, t in timings.items():
        low, high = min(t.statements), max(t.statements)
        stmts = f"{low}" if low == high else f"{low}-{high}"
        print(
            f"  {days:>2}-day range: median {t.median:7.2f} ms   p95 {t.p95:7.2f} ms   "
            f"statements/call {stmts}   slots {t.slots}   (runs {len(t.millis)})"
        )
    short, long = timings[RANGES[0]], timings[RANGES[-1]]
    ratio = long.median / short.median
    most = max(max(t.statements) for t in timings.values())
    print("  targets:")
    print(
        f"    median({RANGES[-1]})/median({RANGES[0]}) = {ratio:5.2f}  (<= {TARGET_RATIO:g})   "
        f"{mark(ratio <= TARGET_RATIO)}"
    )
    print(
        f"    statements per call = {most}      (<= {TARGET_STATEMENTS})   "
        f"{mark(most <= TARGET_STATEMENTS)}"
    )
    print(
        f"    {RANGES[0]}-day p95 = {short.p95:6.2f} ms   (<= {TARGET_P95_14_MS:g} ms) "
        f"{mark(short.p95 <= TARGET_P95_14_MS)}"
    )


def run_backend(backend: str, runs: int, warmup: int, seed: int) -> None:
    started = clock.perf_counter()
    with ExitStack() as stack:
        try:
            database = stack.enter_context(BACKENDS[backend]())
        except Exception as exc:  # a missing server is reported, not fatal
            print(f"\n== {backend} ==\n  skipped: {type(exc).__name__}: {exc}")
            return
        cal = build_calendar(database, random.Random(seed))
        setup = clock.perf_counter() - started
        timings = {days: measure(database, cal, days, runs, warmup) for days in RANGES}
        report(backend, database, cal, timings)
        print(f"  (setup {setup:.1f} s, total {clock.perf_counter() - started:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.slots", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=50, help="timed calls per range (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first (default 5)")
    parser.add_argument("--seed", type=int, default=2026, help="where the bookings fall")
    parser.add_argument(
        "--backend", choices=sorted(BACKENDS), action="append", help="repeatable; default both"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup not negative")
    print(
        f"free_slots benchmark: {args.runs} runs per range after {args.warmup} warm-up calls, "
        f"python {sys.version.split()[0]}"
    )
    for backend in args.backend or ["sqlite", "postgresql"]:
        run_backend(backend, args.runs, args.warmup, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
