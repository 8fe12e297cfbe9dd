"""How much does a real chat turn cost next to a bare request, on a real server?

Run from the repository root::

    .venv/bin/python -m bench.webhook [--contacts N] [--seconds S] [--clients C]

Set-up: a throwaway, migrated PostgreSQL database ``roshni_bench_<random>`` on
127.0.0.1 (override the server with ``ROSHNI_BENCH_PG``; dropped at the end),
seeded with the two demo clinics; Roshni Clinic's booking horizon is widened,
if need be, so every simulated booking has room. Then a real gunicorn
(``python -m gunicorn -c gunicorn.conf.py wsgi:app``, production's settings and access
log, with this interpreter,
``ROSHNI_ENV=production``) is started on a free loopback port and stopped at the
end, whatever happens.

Both phases use the same pool of client threads, each with its own keep-alive
``http.client`` connection, and time every request from sending it to having
read the whole response. A short untimed warm-up comes first.

1. Bare: ``GET /readyz`` (one ``SELECT 1`` on a pooled connection) in a loop
   for ``--seconds`` in all: the floor of what the stack costs per request.
2. Full turns: ``--contacts`` parents, each with their own WhatsApp number,
   walk the whole booking conversation (consent, names, child's date of birth,
   service, therapist, day, time, confirm: 12 messages) through
   ``POST /webhooks/twilio/whatsapp``, with form bodies signed as Twilio signs
   them and a fresh MessageSid each. A thread plays one parent at a time, like
   a person waiting for each reply. Parents spread over three services (three
   therapists) and the three offered days, so the ones talking at the same
   time rarely want the same slot; when one does lose a slot at confirmation
   ("just taken"), it takes the first alternative offered, and that is counted
   as a collision. New parents stop starting after ``--max-phase2-seconds`` in all.

The two phases take turns, ``--rounds`` times (default 3: bare, turns, bare, turns, bare,
turns), each round with its share of the seconds and of the parents, and each phase's
numbers are taken over all its rounds. Run one after the other, a change in how busy the
machine is (other work starting or ending) fell on one phase only and moved the ratio
by half either way; taking turns spreads it over both.

Throughput is requests (turns) finished while every client thread still had
work, divided by that time, summed over the rounds (so the tail of each round of
turns, when its parents run out, does not count); p50/p95 are nearest-rank
percentiles of all per-request latencies.
Server CPU per request is the gunicorn workers' user + system CPU time over the
phase (from /proc, Linux only; PostgreSQL's own CPU is not in it) divided by
the requests. The client runs on the same machine and takes its share of the
CPU in both phases, and so does anything else running: how busy the machine
was just before the run is printed first. At the end the database is checked:
as many chat bookings as "Booked!" replies, and no two overlapping on one
therapist. The targets are informational: the exit code is 0 whatever they say.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import queue
import secrets
import statistics
import sys
import tempfile
import threading
import time as clock
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased
from twilio.request_validator import RequestValidator

from bench.harness import Gunicorn, free_port, gunicorn_shape, keepalive_request, replies
from core import migrate
from core.clock import utcnow
from core.db import Database
from models import Appointment, AppointmentStatus, BookingSource, Clinic, Service
from roshni.demo import DEMO_CLINICS, seed_demo
from services.scheduling.availability import Slot, free_slots

PG_ADMIN_URL = os.environ.get("ROSHNI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "bench-twilio-auth-token-" + secrets.token_hex(8)
WHATSAPP_PATH = "/webhooks/twilio/whatsapp"
CLINIC = DEMO_CLINICS[0]  # Roshni Clinic: Asia/Kolkata, three one-to-one 45-minute services
CLINIC_NUMBER = f"whatsapp:{CLINIC.whatsapp}"
PHONE_PREFIX = "+9198700"  # + five digits: +9198700xxxxx
WARMUP_PREFIX = "+9198799"
SERVICES_USED = 3  # menu numbers 1-3: speech, occupational, physio, one therapist each
DAYS_OFFERED = 3  # the contacts spread over the next three weekdays
BOOKED = "✅ Booked!"
SLOT_TAKEN = "that time was just taken"
RETRIES = 2  # after a collision, take the first alternative this many times at most

TARGET_THROUGHPUT_PCT = 25.0
TARGET_P95_RATIO = 4.0
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def conversation(service: int, day: date) -> list[str]:
    """tests/flows/test_conversation.py's booking, for one service (1-3) on one day."""
    onboarding = ["hi", "1", "Asha Verma", "Aarav", "12/03/2019"]  # 1: yes, for my child
    # booking follows registering: the service (one therapist each: no "with whom?"); the
    # day typed, which lists its times under what is booked; the first of them books it
    return [*onboarding, str(service), f"{day.day} {day:%b}", "1"]


def booking_days(zone: str = "Asia/Kolkata", count: int = DAYS_OFFERED) -> list[date]:
    """The next ``count`` weekdays from tomorrow in the clinic's zone (the demo clinics are
    open Monday to Friday): the days the contacts book on."""
    days: list[date] = []
    day = datetime.now(ZoneInfo(zone)).date()
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


# --- results ---------------------------------------------------------------------------


@dataclass
class Phase:
    """Latencies of one phase, when each request finished, and the phase's clock."""

    name: str
    millis: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)  # perf_counter() at each response
    started: float = 0.0
    steady_end: float = 0.0  # when the first client thread ran out of work
    ended: float = 0.0
    server_cpu: float | None = None  # seconds, gunicorn workers
    failures: int = 0  # non-200 answers and broken connections
    first_failure: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, millis: float) -> None:
        with self.lock:
            self.millis.append(millis)
            self.finished.append(clock.perf_counter())

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures += 1
            self.first_failure = self.first_failure or what

    @property
    def count(self) -> int:
        return len(self.millis)

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def steady_seconds(self) -> float:
        """How long every client thread still had work."""
        return self.steady_end - self.started

    @property
    def steady_done(self) -> int:
        return sum(1 for at in self.finished if at <= self.steady_end)

    @property
    def rate(self) -> float:
        """Requests per second while all client threads were busy."""
        steady = self.steady_seconds
        return self.steady_done / steady if steady > 0 else math.nan

    @property
    def cpu_per_request(self) -> float:
        """Server CPU milliseconds per request (NaN where /proc is not available)."""
        if self.server_cpu is None or not self.count:
            return math.nan
        return 1000 * self.server_cpu / self.count

    @property
    def p50(self) -> float:
        return statistics.median(self.millis) if self.millis else math.nan

    @property
    def p95(self) -> float:
        if not self.millis:
            return math.nan
        ordered = sorted(self.millis)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank


@dataclass
class Rounds:
    """One phase's rounds taken together: the two phases take turns (bare, turns, bare,
    turns...), so a change in how busy the machine is falls on both alike."""

    name: str
    rounds: list[Phase] = field(default_factory=list)

    @property
    def millis(self) -> list[float]:
        return [m for phase in self.rounds for m in phase.millis]

    @property
    def count(self) -> int:
        return sum(phase.count for phase in self.rounds)

    @property
    def seconds(self) -> float:
        return sum(phase.seconds for phase in self.rounds)

    @property
    def failures(self) -> int:
        return sum(phase.failures for phase in self.rounds)

    @property
    def first_failure(self) -> str:
        return next((p.first_failure for p in self.rounds if p.first_failure), "")

    @property
    def rate(self) -> float:
        steady = sum(phase.steady_seconds for phase in self.rounds)
        done = sum(phase.steady_done for phase in self.rounds)
        return done / steady if steady > 0 else math.nan

    @property
    def cpu_per_request(self) -> float:
        if any(phase.server_cpu is None for phase in self.rounds) or not self.count:
            return math.nan
        return 1000 * sum(phase.server_cpu or 0.0 for phase in self.rounds) / self.count

    @property
    def p50(self) -> float:
        return statistics.median(self.millis) if self.millis else math.nan

    @property
    def p95(self) -> float:
        ordered = sorted(self.millis)
        return ordered[math.ceil(0.95 * len(ordered)) - 1] if ordered else math.nan  # nearest


@dataclass
class Outcomes:
    """How the simulated conversations ended."""

    started: int = 0
    booked: int = 0
    collisions: int = 0  # "just taken" at confirmation (each one, retried or not)
    unfinished: int = 0  # ended without a booking
    first_unfinished: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, booked: bool, collisions: int, last_reply: str) -> None:
        with self.lock:
            self.started += 1
            self.collisions += collisions
            if booked:
                self.booked += 1
            else:
                self.unfinished += 1
                self.first_unfinished = self.first_unfinished or last_reply


# --- database --------------------------------------------------------------------------


@contextmanager
def postgresql_database() -> Iterator[str]:
    """A migrated throwaway database; yields its SQLAlchemy URL, drops it afterwards."""
    import psycopg

    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    name = f"roshni_bench_{uuid.uuid4().hex[:10]}"
    server = PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0]
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"postgresql+psycopg://{server}/{name}"
            migrate.upgrade(url)
            yield url
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def seed(url: str, bookings_per_service: int) -> tuple[int, int]:
    """Demo clinics, with a horizon long enough; returns (horizon days, fewest free slots)."""
    database = Database(url)
    try:
        with database.session_scope() as session:
            seed_demo(session, "bench-password-123")
            clinic = session.scalar(select(Clinic).where(Clinic.slug == CLINIC.slug))
            assert clinic is not None
            services = session.scalars(
                select(Service.id)
                .where(Service.clinic_id == clinic.id)
                .order_by(Service.id)
                .limit(SERVICES_USED)
            ).all()
            horizon = clinic.policy.booking_horizon_days
            while True:
                room = min(_room(session, clinic.id, sid, horizon) for sid in services)
                session.rollback()
                # Some slack (about a week of one therapist's slots) for the last days.
                if room >= bookings_per_service + 60 or horizon >= 366:
                    break
                horizon = min(366, horizon * 2)
            if horizon != clinic.policy.booking_horizon_days:
                clinic.policy.booking_horizon_days = horizon
                session.commit()
            return horizon, room
    finally:
        database.dispose()


def _room(session: Session, clinic_id: int, service_id: int, horizon: int) -> int:
    """Bookings that still fit: free slots taken earliest first, none overlapping."""
    now = utcnow()
    today = now.astimezone(ZoneInfo(CLINIC.timezone)).date()
    slots = free_slots(
        session,
        clinic_id=clinic_id,
        service_id=service_id,
        start_date=today,
        end_date=today + timedelta(days=horizon),
        now=now,
    )
    return _disjoint_count(slots)


def _disjoint_count(slots: list[Slot]) -> int:
    ends: dict[int, datetime] = {}  # therapist -> end of the last slot taken
    count = 0
    for slot in sorted(slots):
        last = ends.get(slot.therapist_id)
        if last is None or slot.start >= last:
            ends[slot.therapist_id] = slot.end
            count += 1
    return count


def check_bookings(url: str) -> tuple[int, int]:
    """(chat bookings in the database, pairs of them that overlap on one therapist)."""
    database = Database(url)
    a, b = aliased(Appointment), aliased(Appointment)
    active = AppointmentStatus.active()
    try:
        with database.session_scope() as session:
            booked = session.scalar(
                select(func.count())
                .select_from(Appointment)
                .where(Appointment.source == BookingSource.CHAT, Appointment.status.in_(active))
            )
            overlapping = session.scalar(
                select(func.count())
                .select_from(a)
                .join(b, (a.therapist_id == b.therapist_id) & (a.id < b.id))
                .where(
                    a.start_at < b.end_at,
                    b.start_at < a.end_at,
                    a.status.in_(active),
                    b.status.in_(active),
                )
            )
            return booked or 0, overlapping or 0
    finally:
        database.dispose()


# --- server ----------------------------------------------------------------------------


class Server(Gunicorn):
    """The harness's gunicorn, with its workers' CPU time read from /proc."""

    def worker_cpu(self) -> float | None:
        """User + system CPU seconds of the gunicorn workers so far (Linux /proc)."""
        assert self.process is not None
        total = 0.0
        try:
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:  # the process ended meanwhile
                    continue
                if int(fields[1]) == self.process.pid:  # fields[1]: the parent's pid
                    total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        except (OSError, IndexError, ValueError):
            return None
        return total


@contextmanager
def gunicorn(database_url: str, port: int, instance_dir: Path) -> Iterator[Server]:
    """A real gunicorn serving wsgi:app on 127.0.0.1:port, stopped at the end."""
    env = {
        **os.environ,
        "ROSHNI_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "ROSHNI_INSTANCE_DIR": str(instance_dir),
    }
    server = Server(env, port, instance_dir / "gunicorn.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- client ----------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection, reopened if the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request("GET", path, None, {})

    def post_signed(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """A form post signed the way Twilio signs its webhooks."""
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params),
        }
        return self._request("POST", path, urlencode(params).encode(), headers)

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        # Resending is safe: GET /readyz reads only, and a webhook with a MessageSid
        # already seen gets its stored reply.
        return keepalive_request(
            self.conn,
            method,
            path,
            body,
            headers,
            retry_on=(http.client.HTTPException, ConnectionError),
        )

    def close(self) -> None:
        self.conn.close()


def timed(phase: Phase, call: Callable[[], tuple[int, bytes]]) -> bytes | None:
    """Run one request; record its latency, or the failure. Returns the body if 200."""
    started = clock.perf_counter()
    try:
        status, body = call()
    except (OSError, http.client.HTTPException) as exc:
        phase.fail(f"{type(exc).__name__}: {exc}")
        return None
    phase.record((clock.perf_counter() - started) * 1000)
    if status != 200:
        phase.fail(f"HTTP {status}: {body[:200]!r}")
        return None
    return body


def run_clients(server: Server, clients: int, phase: Phase, work: Callable[[Client], None]) -> None:
    """Run ``work`` on ``clients`` threads, each with its own connection; clock the phase."""
    done: list[float] = []

    def thread_main() -> None:
        client = Client(server.port)
        try:
            work(client)
        finally:
            client.close()
            done.append(clock.perf_counter())

    threads = [threading.Thread(target=thread_main, daemon=True) for _ in range(clients)]
    cpu_before = server.worker_cpu()
    phase.started = clock.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.ended = clock.perf_counter()
    phase.steady_end = min(done, default=phase.ended)
    cpu_after = server.worker_cpu()
    if cpu_before is not None and cpu_after is not None:
        phase.server_cpu = cpu_after - cpu_before


# --- phase 1: bare ---------------------------------------------------------------------


def bare_phase(server: Server, clients: int, seconds: float) -> Phase:
    phase = Phase("bare: GET /readyz")
    deadline = clock.perf_counter() + seconds

    def work(client: Client) -> None:
        while clock.perf_counter() < deadline:
            timed(phase, lambda: client.get("/readyz"))

    run_clients(server, clients, phase, work)
    return phase


# --- phase 2: full turns ---------------------------------------------------------------


def talk(client: Client, phase: Phase, phone: str, messages: list[str]) -> tuple[str, bool]:
    """Send the messages one by one; (the last reply, whether every answer was a 200)."""
    reply = ""
    for text in messages:
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"whatsapp:{phone}",
            "To": CLINIC_NUMBER,
            "Body": text,
            "NumMedia": "0",
            "ProfileName": "Asha",
            "WaId": phone.lstrip("+"),
        }
        body = timed(phase, lambda params=params: client.post_signed(WHATSAPP_PATH, params))
        if body is None:
            return reply, False
        reply = replies(body)
    return reply, True


def book(client: Client, phase: Phase, outcomes: Outcomes, index: int, phone: str) -> None:
    """One parent's whole booking; a lost slot is retried with the first alternative."""
    service, day = index % SERVICES_USED + 1, index // SERVICES_USED % DAYS_OFFERED
    reply, ok = talk(client, phase, phone, conversation(service, booking_days()[day]))
    collisions = 0
    while ok and SLOT_TAKEN in reply and collisions < RETRIES:
        collisions += 1
        reply, ok = talk(client, phase, phone, ["1", "1"])  # first alternative; confirm
    collisions += int(ok and SLOT_TAKEN in reply)
    outcomes.add(booked=ok and BOOKED in reply, collisions=collisions, last_reply=reply)


def turns_phase(
    server: Server, clients: int, contacts: range, max_seconds: float, outcomes: Outcomes
) -> Phase:
    phase = Phase(f"full turns: POST {WHATSAPP_PATH}")
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in contacts:
        todo.put(index)
    deadline = clock.perf_counter() + max_seconds

    def work(client: Client) -> None:
        while clock.perf_counter() < deadline:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            book(client, phase, outcomes, index, f"{PHONE_PREFIX}{index:05d}")

    run_clients(server, clients, phase, work)
    return phase


def warm_up(server: Server, clients: int) -> Outcomes:
    """Untimed: open the workers' database pools, fill SQLAlchemy's statement caches."""
    scratch = Phase("warm-up")
    outcomes = Outcomes()

    def work(client: Client) -> None:
        for _ in range(20):
            timed(scratch, lambda: client.get("/readyz"))

    run_clients(server, clients, scratch, work)
    numbers = iter(range(clients))
    lock = threading.Lock()

    def parent(client: Client) -> None:
        with lock:
            index = next(numbers)
        book(client, scratch, outcomes, index, f"{WARMUP_PREFIX}{index:05d}")

    run_clients(server, clients, scratch, parent)
    if scratch.failures:
        raise RuntimeError(f"warm-up failed: {scratch.first_failure}")
    return outcomes


# --- machine ---------------------------------------------------------------------------


def print_idle_load() -> None:
    """Other work on the machine lowers both phases' numbers: say how busy it is now."""
    busy = machine_busy()
    if busy is None:
        return
    warning = "  (other work is running: expect lower numbers)" if busy >= 0.1 else ""
    print(f"machine CPU busy before the run: {100 * busy:.0f}% of {os.cpu_count()} CPUs{warning}")


def machine_busy(seconds: float = 1.0) -> float | None:
    """Fraction of all CPUs' time spent busy over ``seconds`` (Linux /proc/stat)."""

    def sample() -> tuple[int, int]:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = ticks[3] + ticks[4]  # idle, iowait
        return sum(ticks[:8]) - idle, sum(ticks[:8])

    try:
        busy_before, total_before = sample()
        clock.sleep(seconds)
        busy_after, total_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total_after - total_before
    return (busy_after - busy_before) / total if total else None


# --- report ----------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_phase(phase: Rounds, unit: str) -> None:
    print(f"  {phase.name} ({len(phase.rounds)} rounds)")
    print(
        f"    {phase.count} {unit} in {phase.seconds:.1f} s   {phase.rate:7.1f} {unit}/s   "
        f"p50 {phase.p50:6.2f} ms   p95 {phase.p95:6.2f} ms   failures {phase.failures}"
    )
    print(f"    server CPU {phase.cpu_per_request:6.2f} ms per {unit[:-1]} (gunicorn workers)")
    if phase.failures:
        print(f"    first failure: {phase.first_failure}")


def report(bare: Rounds, full: Rounds, outcomes: Outcomes, contacts: int) -> None:
    print("\n== results ==")
    print_phase(bare, "requests")
    print_phase(full, "turns")
    print(
        f"    conversations: {outcomes.started} of {contacts} started, "
        f"{outcomes.booked} ended '{BOOKED}', {outcomes.unfinished} did not; "
        f"slot collisions {outcomes.collisions}"
    )
    if outcomes.unfinished:
        last = " / ".join(outcomes.first_unfinished.splitlines()[:3])
        print(f"    first unfinished, last reply: {last[:200]}")
    throughput = 100 * full.rate / bare.rate if bare.rate else math.nan
    p95_ratio = full.p95 / bare.p95 if bare.p95 else math.nan
    cpu_ratio = full.cpu_per_request / bare.cpu_per_request
    print(f"  server CPU per turn / per bare request = {cpu_ratio:5.1f}x")
    print("  targets:")
    print(
        f"    full-turn throughput = {throughput:5.1f}% of bare   "
        f"(>= {TARGET_THROUGHPUT_PCT:g}%)   {mark(throughput >= TARGET_THROUGHPUT_PCT)}"
    )
    print(
        f"    full p95 / bare p95  = {p95_ratio:5.2f}x           (<= {TARGET_P95_RATIO:g}x)   "
        f"{mark(p95_ratio <= TARGET_P95_RATIO)}"
    )


# --- main ------------------------------------------------------------------------------


def _shares(contacts: int, rounds: int) -> list[range]:
    """The contacts' numbers split into ``rounds`` consecutive runs, as even as can be."""
    bounds = [contacts * r // rounds for r in range(rounds + 1)]
    return [range(bounds[r], bounds[r + 1]) for r in range(rounds)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--contacts", type=int, default=200, help="parents who book (default 200)")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="length of the bare phase (default 10)"
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="client threads in both phases (default 8)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="the phases take turns this many times, each with its share (default 3)",
    )
    parser.add_argument(
        "--max-phase2-seconds",
        type=float,
        default=60.0,
        help="no new parent starts after this (default 60)",
    )
    args = parser.parse_args(argv)
    if args.contacts < 1 or args.seconds <= 0 or args.clients < 1 or args.contacts > 99_999:
        parser.error("--contacts 1-99999, --seconds > 0 and --clients >= 1")
    if args.rounds < 1 or args.contacts < args.rounds * args.clients:
        # Fewer parents than threads in a round: a thread has no work from the start, and
        # no turn finishes while every thread is busy.
        parser.error("--rounds >= 1, and --contacts at least --rounds x --clients")
    workers, threads = gunicorn_shape()
    print(
        f"webhook benchmark: gunicorn {workers} workers x {threads} threads "
        "(production's gunicorn.conf.py, access log on), "
        f"{args.clients} client threads, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    print_idle_load()
    started = clock.perf_counter()
    with postgresql_database() as url, tempfile.TemporaryDirectory(prefix="roshni_bench_") as tmp:
        per_service = math.ceil((args.contacts + args.clients) / SERVICES_USED)
        horizon, room = seed(url, per_service)
        print(
            f"clinic: {CLINIC.name}, booking horizon {horizon} days, room for {room} bookings "
            f"per service, {per_service} wanted"
        )
        with gunicorn(url, free_port(), Path(tmp)) as server:
            up = clock.perf_counter() - started
            print(f"server: http://127.0.0.1:{server.port}, answering {up:.1f} s after start")
            warm = warm_up(server, args.clients)
            bare, full = Rounds("bare: GET /readyz"), Rounds(f"full turns: POST {WHATSAPP_PATH}")
            outcomes = Outcomes()
            for share in _shares(args.contacts, args.rounds):
                bare.rounds.append(bare_phase(server, args.clients, args.seconds / args.rounds))
                full.rounds.append(
                    turns_phase(
                        server, args.clients, share, args.max_phase2_seconds / args.rounds, outcomes
                    )
                )
            tracebacks = server.tracebacks()
        report(bare, full, outcomes, args.contacts)
        in_db, overlapping = check_bookings(url)
        expected = warm.booked + outcomes.booked
        print(
            f"  database: {in_db} chat bookings ({expected} confirmed in replies, "
            f"warm-up included), {overlapping} overlapping pairs   "
            f"{mark(in_db == expected and overlapping == 0)}"
        )
        print(f"  server log: {tracebacks} tracebacks")
    print(f"  (total {clock.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
