"""How long does the waitlist's pass take over a long line?

Run from the repository root::

    .venv/bin/python -m bench.waitlist [--entries N] [--runs N]

On a throwaway PostgreSQL database (as ``bench.slots`` makes one) it builds a clinic
whose one therapist (Mon-Sat 09:00-18:00) is booked full for three weeks, puts
10,000 patients' entries on the waitlist (any time), cancels 20 sessions, and times
``services.scheduling.waitlist.offer_freed_times``: the pass that offers the freed
times inside its two-week window to the first in line, then the steady pass (every
minute: the offers stand, nothing new), each with its SQL statements. The baseline,
in the same run, is the steady pass over a line of 100 in a second clinic built the
same way. Targets: the 10,000-entry steady pass within a second at p95 and statements
that do not grow with the line. Informational: the exit code is 0 whatever they say.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time as clock
from datetime import timedelta
from zoneinfo import ZoneInfo

from bench.bulk import copy_rows
from bench.series import NOW, STAFF, TIMES, Desk, build
from bench.slots import StatementCounter, postgresql_database
from core.db import Database
from models import Appointment, BookingSource, WaitlistEntry
from services.scheduling.appointments import cancel_appointment
from services.scheduling.series import Pattern, book_series
from services.scheduling.waitlist import offer_freed_times

FREED = 20
TODAY = NOW.astimezone(ZoneInfo("Asia/Kolkata")).date()
TARGET_P95_MS = 1000.0


def fill(database: Database, desk: Desk) -> list[int]:
    """The therapist booked full for three weeks from today (the offer window is two):
    its session ids."""
    ids: list[int] = []
    with database.session_scope() as session:
        for n, at in enumerate(TIMES):
            result = book_series(
                session,
                clinic_id=desk.clinic_id,
                patient_id=desk.patient_ids[n],
                service_id=desk.service_id,
                therapist_id=desk.therapist_id,
                pattern=Pattern(
                    weekdays=(0, 1, 2, 3, 4, 5), local_time=at, first_date=TODAY, sessions=18
                ),
                now=NOW,
                actor=STAFF,
                source=BookingSource.ADMIN,
            )
            ids += [a.id for a in result.booked]
    return ids


def line_up(database: Database, desk: Desk, entries: int) -> None:
    rows = [
        {
            "clinic_id": desk.clinic_id,
            "patient_id": desk.patient_ids[i % len(desk.patient_ids)],
            "service_id": desk.service_id,
            "position": i + 1,
            "status": "waiting",
            "expires_at": NOW + timedelta(days=60),
            "declined": "[]",
            "created_by": "bench",
        }
        for i in range(entries)
    ]
    copy_rows(database, WaitlistEntry, rows, NOW)


def free_some(database: Database, desk: Desk, ids: list[int]) -> None:
    step = len(ids) // FREED
    with database.session_scope() as session:
        for appointment_id in ids[::step][:FREED]:
            cancel_appointment(
                session,
                clinic_id=desk.clinic_id,
                appointment_id=appointment_id,
                now=NOW,
                actor=STAFF,
            )


def timed(database: Database, desk: Desk, runs: int) -> tuple[list[float], list[int], int]:
    millis, statements, offered = [], [], 0
    with StatementCounter(database) as counter, database.session_scope() as session:
        for _ in range(runs):
            before = counter.count
            started = clock.perf_counter()
            offered += offer_freed_times(session, clinic_id=desk.clinic_id, now=NOW).offered
            millis.append((clock.perf_counter() - started) * 1000)
            statements.append(counter.count - before)
    return millis, statements, offered


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def clinic_with_line(database: Database, entries: int, slug: str) -> Desk:
    desk = build(database, slug=slug)
    ids = fill(database, desk)
    line_up(database, desk, entries)
    free_some(database, desk, ids)
    return desk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    with postgresql_database() as database:
        long = clinic_with_line(database, args.entries, "bench-long")
        short = clinic_with_line(database, 100, "bench-short")
        first, first_statements, offered = timed(database, long, 1)
        steady, steady_statements, _ = timed(database, long, args.runs)
        timed(database, short, 1)  # its own first pass: offers made
        base, base_statements, _ = timed(database, short, args.runs)
        booked = 0
        with database.session_scope() as session:
            booked = session.query(Appointment).count()
    version = ".".join(map(str, database.engine.dialect.server_version_info or ()))
    print(f"\n== postgresql {version} ==")
    print(f"  line of {args.entries}: {FREED} freed times, {booked} sessions in the database")
    print(
        f"  first pass (offers {offered}):   {first[0]:8.1f} ms   statements {first_statements[0]}"
    )
    print(
        f"  steady pass, {args.entries} waiting: median {statistics.median(steady):7.1f} ms   "
        f"p95 {p95(steady):7.1f} ms   statements {max(steady_statements)}"
    )
    print(
        f"  steady pass, 100 waiting:    median {statistics.median(base):7.1f} ms   "
        f"p95 {p95(base):7.1f} ms   statements {max(base_statements)}"
    )
    ratio = statistics.median(steady) / statistics.median(base)
    print("  targets:")
    print(f"    {args.entries}/100 steady median ratio = {ratio:6.1f}   (informational)")
    ok = p95(steady) <= TARGET_P95_MS
    mark = "PASS" if ok else "MISS"
    print(f"    steady p95 = {p95(steady):7.1f} ms (<= {TARGET_P95_MS:g})   {mark}")
    same = max(steady_statements) == max(base_statements)
    print(
        f"    statements, {args.entries} vs 100 waiting = {max(steady_statements)} vs "
        f"{max(base_statements)}   {'PASS' if same else 'MISS'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
