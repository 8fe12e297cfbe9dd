"""How does booking a course of sessions scale with its length?

Run from the repository root::

    .venv/bin/python -m bench.series [--runs N] [--backend sqlite|postgresql]

For each backend it builds a throwaway, migrated database (as ``bench.slots`` does) with
one clinic, one therapist working Mon-Sat 09:00-18:00 and one 45-minute service, then
books, as the front desk would, courses of 24 sessions (Monday and Thursday, twelve
weeks) and of 6 sessions (Tuesday and Friday, three weeks) through
``services.scheduling.series.book_series``, each run at another time of day, and, as
the baseline in the same run, 24 single sessions one ``book_appointment`` at a time
(Wednesdays and Saturdays). It prints the p95 and median of each and the SQL statements
per call, next to the targets: statements per course do not grow with its length (the
24-session course sends as many as the 6-session one), and a 24-session course takes a
fraction of the time of 24 single bookings. The targets are informational: the exit
code is 0 whatever they say.

On PostgreSQL the sessions, their audit rows and their reminders each go in one
multi-row INSERT. SQLite (the embedded default) misses the statement target by design:
SQLAlchemy inserts one row per statement there, as SQLite cannot hand back the new ids
of a multi-row INSERT in order without a sentinel column; those statements are
in-process calls, and the course still takes a fraction of the single bookings' time.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time as clock
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bench.slots import BACKENDS, StatementCounter
from core.db import Database
from models import BookingSource, Relation
from services.audit import Actor
from services.clinics import catalog
from services.clinics import settings as clinics
from services.people import patients
from services.scheduling.appointments import book_appointment
from services.scheduling.series import Pattern, book_series
from tests.seeding import add_therapist

ACTOR = Actor.system()
STAFF = Actor.staff(1)  # the desk: a course runs past the patients' horizon
# Monday 23 Nov 2026, 09:00 in Kolkata: a fixed "now" keeps every run comparable.
NOW = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
FIRST_MONDAY = date(2026, 11, 30)
_ZONE = ZoneInfo("Asia/Kolkata")
# A run's time of day: 45-minute sessions end by 18:00.
TIMES = [time(9 + (45 * i) // 60, (45 * i) % 60) for i in range(12)]
LONG, SHORT = 24, 6

# statements(24) / statements(6): the same, give or take the settings-cache check a
# call may or may not make.
TARGET_STATEMENT_RATIO = 1.1
TARGET_TIME_RATIO = 0.5  # a 24-session course / 24 single bookings


@dataclass
class Timing:
    label: str
    millis: list[float]
    statements: list[int]
    booked: int

    @property
    def median(self) -> float:
        return statistics.median(self.millis)

    @property
    def p95(self) -> float:
        ordered = sorted(self.millis)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank


@dataclass
class Desk:
    clinic_id: int
    therapist_id: int
    service_id: int
    patient_ids: list[int]


def build(database: Database, slug: str = "bench") -> Desk:
    with database.session_scope() as session:
        clinic = clinics.create_clinic(
            session, name=f"Bench Clinic {slug}", slug=slug, timezone="Asia/Kolkata", actor=ACTOR
        )
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
        for n in range(len(TIMES)):
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
        return Desk(clinic.id, therapist.id, service.id, patient_ids)


def timed(database: Database, label: str, runs: int, call: Callable[[object, int], int]) -> Timing:
    millis: list[float] = []
    statements: list[int] = []
    booked = 0
    with StatementCounter(database) as counter, database.session_scope() as session:
        for run in range(runs):
            before = counter.count
            started = clock.perf_counter()
            booked = call(session, run)
            millis.append((clock.perf_counter() - started) * 1000)
            statements.append(counter.count - before)
    return Timing(label, millis, statements, booked)


def course(desk: Desk, weekdays: tuple[int, int], sessions: int) -> Callable[[object, int], int]:
    def call(session: object, run: int) -> int:
        result = book_series(
            session,  # type: ignore[arg-type]
            clinic_id=desk.clinic_id,
            patient_id=desk.patient_ids[run],
            service_id=desk.service_id,
            therapist_id=desk.therapist_id,
            pattern=Pattern(
                weekdays=weekdays,
                local_time=TIMES[run],
                first_date=FIRST_MONDAY,
                sessions=sessions,
            ),
            now=NOW,
            actor=STAFF,
            source=BookingSource.ADMIN,
        )
        assert not result.clashes, "every run books free times"
        return len(result.booked)

    return call


def singles(desk: Desk) -> Callable[[object, int], int]:
    """The baseline: the same 24 sessions, one booking at a time (Wednesday, Saturday)."""

    def call(session: object, run: int) -> int:
        at = TIMES[run]
        for week in range(LONG // 2):
            for offset in (2, 5):
                day = FIRST_MONDAY + timedelta(weeks=week, days=offset)
                book_appointment(
                    session,  # type: ignore[arg-type]
                    clinic_id=desk.clinic_id,
                    patient_id=desk.patient_ids[run],
                    service_id=desk.service_id,
                    therapist_id=desk.therapist_id,
                    start=datetime.combine(day, at, tzinfo=_ZONE),
                    now=NOW,
                    actor=STAFF,
                    source=BookingSource.ADMIN,
                )
        return LONG

    return call


def report(backend: str, database: Database, timings: list[Timing]) -> None:
    version = database.engine.dialect.server_version_info or ()
    print(f"\n== {backend} {'.'.join(map(str, version))} ==")
    for t in timings:
        low, high = min(t.statements), max(t.statements)
        stmts = f"{low}" if low == high else f"{low}-{high}"
        print(
            f"  {t.label:<28} median {t.median:8.2f} ms   p95 {t.p95:8.2f} ms   "
            f"statements/call {stmts:>7}   sessions {t.booked}   (runs {len(t.millis)})"
        )
    long, short, baseline = timings
    statement_ratio = max(long.statements) / max(short.statements)
    time_ratio = long.median / baseline.median
    print("  targets:")
    print(
        f"    statements({LONG}) / statements({SHORT}) = {statement_ratio:5.2f}  "
        f"(<= {TARGET_STATEMENT_RATIO:g})   {_mark(statement_ratio <= TARGET_STATEMENT_RATIO)}"
    )
    print(
        f"    {LONG}-session course / {LONG} single bookings (median) = {time_ratio:5.2f}  "
        f"(<= {TARGET_TIME_RATIO:g})   {_mark(time_ratio <= TARGET_TIME_RATIO)}"
    )


def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def run_backend(backend: str, runs: int) -> None:
    with ExitStack() as stack:
        try:
            database = stack.enter_context(BACKENDS[backend]())
        except Exception as exc:  # a missing server is reported, not fatal
            print(f"\n== {backend} ==\n  skipped: {type(exc).__name__}: {exc}")
            return
        desk = build(database)
        timings = [
            timed(database, f"course of {LONG} (Mon, Thu)", runs, course(desk, (0, 3), LONG)),
            timed(database, f"course of {SHORT} (Tue, Fri)", runs, course(desk, (1, 4), SHORT)),
            timed(database, f"{LONG} single bookings", runs, singles(desk)),
        ]
        report(backend, database, timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=len(TIMES))
    parser.add_argument("--backend", choices=sorted(BACKENDS), action="append")
    args = parser.parse_args(argv)
    runs = max(1, min(args.runs, len(TIMES)))
    for backend in args.backend or ["sqlite", "postgresql"]:
        run_backend(backend, runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
