"""How long does a message take from the commit that queued it to Twilio?

Run from the repository root (needs PostgreSQL and Redis on 127.0.0.1)::

    .venv/bin/python -m bench.latency [--count N] [--modes embedded,rq] [--no-faults]

Method. A throwaway PostgreSQL database (``roshni_bench_<random>``, migrated, dropped at the
end; ``ROSHNI_BENCH_PG`` names another server) gets the demo clinic, connected to Razorpay
(``tests.fake_razorpay.FakeRazorpay``), and ten WhatsApp contacts who wrote in minutes ago
(so replies go free-form). Twilio is ``tests.fake_twilio.FakeTwilio`` in this process, the
real SDK talking to it over HTTP; each message it accepts is stamped with the wall clock.
The app is ``roshni.app.create_app`` in this process, its own database and dispatch on
commit; the bench's sessions come from the app's session factory, so they dispatch exactly
as the app's requests do. Every commit is stamped (a listener ahead of the dispatcher reads
the rows the commit hands over). N (default 200) messages of each kind go out, one every
``PACE`` seconds, spread over the ten contacts; each kind is waited for before the next:

- staff reply: ``services.messaging.handoff.staff_reply`` (the panel's reply), from its commit;
- reminder: a REMINDER row queued ``REMIND_AHEAD`` s before it is due, from its due moment;
- payment link: a pending link opened in a commit, as a booking or a dues request does, from
  that commit (the link is made at Razorpay, then its message queued and sent);
- receipt: the link paid at Razorpay, its signed ``payment_link.paid`` webhook POSTed to the
  app (stored, answered, applied after the response), from the commit that queued the receipt;
- reply with buttons: a signed WhatsApp webhook ("menu") POSTed to the app; its turn queues
  the reply in the outbox (the webhook answers empty TwiML) and it leaves as a list picker
  (the account's content templates are synced once at setup), from the turn's commit.

Modes: embedded (``jobs.inprocess.start_inprocess``: the app's job thread, woken at commit) and
RQ (``W`` = 2 ``roshni worker`` subprocesses on Redis db 12, ``ROSHNI_LATENCY_REDIS``, under
a supervisor that restarts one that exits; flushed before and after). The sweep runs every
``SWEEP`` = 60 s in both: the embedded thread's interval, and in RQ mode this process is the
sweeper (it holds the workers' sweep lock and calls ``enqueue_due`` every 60 s). A sweep
that falls in a phase shows: in embedded mode it runs in the sending thread (its payment
step fetches every newly created link from Razorpay, holding every send meanwhile); in RQ
mode its payment step takes the links lock and makes pending links from this process,
while the workers' link jobs wait for the lock.

RQ mode then runs two fault phases of N/2 reminders then N/2 staff replies each: one where a
worker is SIGKILLed midway through the reminders (the supervisor starts another), one where
Redis is FLUSHDB'd then (the scheduled reminders and waiting jobs are gone; the next sweep
finds the rows). Their latencies are reported separately, with how many arrived over 3 s.

Checks: every row ends "sent" with its own Twilio SID, and Twilio accepted nothing else (no
message lost, none doubled; a send a killed worker left "sending" is counted as such).
The targets (p50 <= 300 ms, p95 <= 1 s, max <= 3 s) are informational PASS/MISS. Everything
shares the machine, so compare runs, not machines. Exit code 0 when nothing was lost or
doubled, whatever the targets say. A default run takes about five minutes.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import threading
import time as clock
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from bench.harness import Workers
from bench.slots import postgresql_database
from core.clock import utcnow
from core.config import Config
from core.db import EXTENSION, Database, write_transaction
from integrations.twilio.content import ContentApi
from jobs.inprocess import start_inprocess
from jobs.runner import QUEUE, SWEEP_LOCK, enqueue_due
from jobs.runtime import build_runtime
from models import (
    Channel,
    Clinic,
    Contact,
    Conversation,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    PaymentLink,
    SenderNumber,
)
from models.billing import LinkStatus
from roshni.app import create_app
from services.audit import Actor
from services.billing import payment_requests
from services.clinics import settings as clinics
from services.messaging import dispatch, handoff
from services.messaging.content_templates import sync_content_templates
from services.messaging.replies import reply_key
from tests.chat import Chat
from tests.fake_razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, FakeRazorpay
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.outbox import queue_text, seed

REDIS_URL = os.environ.get("ROSHNI_LATENCY_REDIS", "redis://127.0.0.1:6379/12")
CONTACTS = 10
PACE = 0.08  # seconds between two messages of a kind: a brisk clinic, below saturation
REMIND_AHEAD = 2.0  # seconds between queuing a reminder and its due moment
SWEEP = 60.0  # seconds: the sweep's interval in both modes
KIND_LIMIT = 150.0  # seconds to wait for a kind's messages (more than two sweeps)
# Long enough for a sweep to find what Redis lost. A send a killed worker left "sending"
# waits STUCK_AFTER (5 min) for the stuck-send check: counted as such, not waited for.
FAULT_LIMIT = SWEEP + 20.0
TARGETS = (("p50", 0.3), ("p95", 1.0), ("max", 3.0))
UNSETTLED = (OutboundStatus.QUEUED, OutboundStatus.SENDING)
STAFF = Actor.staff(1)
SYSTEM = Actor.system()
WEBHOOK_PATH = "/webhooks/twilio/whatsapp"


# --- stamps ----------------------------------------------------------------------------


class StampedList(list):
    """FakeTwilio's ``sent``: stamps the wall clock as each message is accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.at: dict[str, float] = {}

    def append(self, item: Any) -> None:
        self.at[item["Sid"]] = clock.time()
        super().append(item)


class CommitStamps:
    """The wall-clock moment each outbox row's transaction committed. Listens ahead of the
    dispatcher, reading the rows it is about to hand over (services.messaging.dispatch)."""

    def __init__(self, database: Database) -> None:
        self.at: dict[int, float] = {}
        self.target = database.session_factory
        event.listen(self.target, "after_commit", self._stamp, insert=True)

    def _stamp(self, session: Session) -> None:
        if session.get_nested_transaction() is not None:
            return  # a savepoint's release: not the commit
        pending = session.info.get(dispatch._PENDING) or {}
        now = clock.time()
        for rows in pending.values():
            for row in rows:
                if row.what == dispatch.MESSAGE:  # not a payment link's id
                    self.at.setdefault(row.id, now)

    def remove(self) -> None:
        event.remove(self.target, "after_commit", self._stamp)


# --- results ---------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    stuck: int = 0  # left "sending" by a killed worker (settled by the sweep much later)
    note: str = ""

    def stat(self, which: str) -> float:
        values = sorted(self.latencies)
        if not values:
            return float("nan")
        if which == "max":
            return values[-1]
        if which == "p50":
            return statistics.median(values)
        return values[math.ceil(0.95 * len(values)) - 1]  # nearest rank

    def line(self, *, targets: bool = True) -> str:
        if not self.latencies:
            why = self.note or f"lost {self.lost}, stuck {self.stuck}"
            return f"    {self.name:<16} no messages ({why})"
        cells = "  ".join(f"{w} {self.stat(w) * 1000:8.0f} ms" for w, _ in TARGETS)
        marks = ""
        if targets:
            marks = "  " + " ".join(
                f"{w}:{'PASS' if self.stat(w) <= limit else 'MISS'}" for w, limit in TARGETS
            )
        extra = f"  lost {self.lost}" if self.lost else ""
        extra += f"  stuck {self.stuck}" if self.stuck else ""
        late = sum(1 for v in self.latencies if v > 3.0)
        extra += f"  >3s {late}" if late else ""
        return f"    {self.name:<16} n={len(self.latencies):<4} {cells}{marks}{extra}"


# --- the world -------------------------------------------------------------------------


@dataclass
class World:
    database: Database
    twilio: FakeTwilio
    razorpay: FakeRazorpay
    env: dict[str, str]
    clinic_id: int
    conversations: list[int]  # one per contact
    contacts: list[int]
    phones: list[str]
    clinic_whatsapp: str


def setup(database: Database, twilio: FakeTwilio, razorpay: FakeRazorpay, tmp: Path) -> World:
    env = {
        "ROSHNI_ENV": "test",
        "DATABASE_URL": database.url,
        "SECRET_KEY": "latency-bench-" + "x" * 32,
        "ROSHNI_INSTANCE_DIR": str(tmp),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": twilio.url,
        "RAZORPAY_API_URL": razorpay.url,
        "PUBLIC_BASE_URL": "https://clinic.example",
        "ROSHNI_INPROCESS_JOBS": "false",
    }
    config = Config.from_env(env)
    with database.session_scope() as session:
        clinic = seed(session)
        clinics.set_razorpay_account(
            session,
            clinic_id=clinic.id,
            key_id=KEY_ID,
            key_secret=KEY_SECRET,
            webhook_secret=WEBHOOK_SECRET,
            config=config,
            actor=SYSTEM,
        )
        wrote = utcnow() - timedelta(minutes=5)
        phones = [f"+91970000{n:04d}" for n in range(CONTACTS)]
        for phone in phones:
            Chat(session, clinic, phone=phone, now=wrote).script("hi", "2", "Asha Verma")
        session.commit()
        # The account's buttons and lists, as `roshni whatsapp sync` makes them.
        sync_content_templates(
            session,
            account_sid=ACCOUNT_SID,
            api=ContentApi(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url),
            now=utcnow(),
        )
        whatsapp = session.scalar(
            select(SenderNumber.address).where(
                SenderNumber.clinic_id == clinic.id, SenderNumber.channel == Channel.WHATSAPP
            )
        )
        assert whatsapp is not None
        session.commit()
        rows = session.execute(
            select(Conversation.id, Conversation.contact_id)
            .where(Conversation.clinic_id == clinic.id)
            .order_by(Conversation.id)
        ).all()
        session.commit()
        return World(
            database,
            twilio,
            razorpay,
            env,
            clinic.id,
            [r.id for r in rows],
            [r.contact_id for r in rows],
            phones,
            whatsapp,
        )


def app_for(world: World, *, redis: bool) -> tuple[Flask, Database]:
    env = dict(world.env)
    if redis:
        env["REDIS_URL"] = REDIS_URL
    app = create_app(Config.from_env(env))
    return app, app.extensions[EXTENSION]


# --- the kinds -------------------------------------------------------------------------


def paced(count: int, each: Callable[[int], None]) -> None:
    started = clock.monotonic()
    for n in range(count):
        wait = started + n * PACE - clock.monotonic()
        if wait > 0:
            clock.sleep(wait)
        each(n)


def staff_replies(world: World, db: Database, count: int, tag: str) -> dict[int, float | None]:
    """Row id -> start moment (None: the commit stamp)."""
    made: dict[int, float | None] = {}

    def one(n: int) -> None:
        with db.session_scope() as session:
            message = handoff.staff_reply(
                session,
                clinic_id=world.clinic_id,
                conversation_id=world.conversations[n % CONTACTS],
                now=utcnow(),
                actor=STAFF,
                text=f"Reply {tag}-{n}: we have a slot at 4 pm.",
            )
            made[message.id] = None

    paced(count, one)
    return made


def reminders(world: World, db: Database, count: int, tag: str) -> dict[int, float | None]:
    made: dict[int, float | None] = {}

    def one(n: int) -> None:
        due = utcnow() + timedelta(seconds=REMIND_AHEAD)
        with db.session_scope() as session, write_transaction(session):
            message = queue_text(
                session,
                world.clinic_id,
                world.contacts[n % CONTACTS],
                f"Reminder {tag}-{n}: your session is tomorrow.",
                key=f"bench-reminder:{tag}:{n}",
                due_at=due,
                kind=MessageKind.REMINDER,
            )
            made[message.id] = due.timestamp()

    paced(count, one)
    return made


def payment_links(world: World, db: Database, count: int) -> dict[int, float]:
    """Link id -> the moment the commit that opened it returned."""
    made: dict[int, float] = {}

    def one(n: int) -> None:
        with db.session_scope() as session:
            with write_transaction(session):
                clinic = session.get(Clinic, world.clinic_id)
                contact = session.get(Contact, world.contacts[n % CONTACTS])
                assert clinic is not None and contact is not None
                now = utcnow()
                link = payment_requests.open_link(
                    session,
                    clinic=clinic,
                    contact=contact,
                    amount_minor=50000 + n,
                    description=f"Bench dues {n}",
                    expire_at=now + timedelta(days=2),
                    now=now,
                )
                assert link is not None
                session.flush()
                link_id = link.id
            made[link_id] = clock.time()

    paced(count, one)
    return made


def link_messages(db: Database, links: dict[int, float]) -> dict[int, float | None]:
    """The outbox rows that sent ``links`` (row id -> the link's commit)."""
    with db.session_scope() as session:
        rows = session.execute(
            select(OutboundMessage.id, OutboundMessage.idempotency_key).where(
                OutboundMessage.template_key == "payment_link_dues"
            )
        ).all()
    found: dict[int, float | None] = {}
    for row in rows:
        link_id = int(row.idempotency_key.split(":")[1])
        if link_id in links:
            found[row.id] = links[link_id]
    return found


def receipts(world: World, app: Flask, db: Database, links: dict[int, float]) -> set[str]:
    """Pay each link at Razorpay and POST its signed webhook; the receipts' idempotency keys
    are unknown until applied, so the caller finds the rows by id range."""
    with db.session_scope() as session:
        provider_ids = list(
            session.scalars(
                select(PaymentLink.provider_link_id)
                .where(PaymentLink.id.in_(links), PaymentLink.status == LinkStatus.CREATED)
                .order_by(PaymentLink.id)
            )
        )
    client = app.test_client()
    refused: set[str] = set()

    def one(n: int) -> None:
        paid = world.razorpay.pay(provider_ids[n])
        response = client.post("/webhooks/razorpay", data=paid.body, headers=paid.headers())
        response.close()  # runs the after-response step that applies the event
        if response.status_code != 200:
            refused.add(provider_ids[n])

    paced(len(provider_ids), one)
    return refused


def button_replies(world: World, app: Flask, count: int, tag: str) -> dict[int, float | None]:
    """Each contact writes "menu" on WhatsApp; the bot's reply (the menu, a list picker) is
    queued in the outbox by the turn. Row id -> start moment (None: the commit stamp)."""
    client = app.test_client()
    sids: list[str] = []

    def one(n: int) -> None:
        sid = f"SM{tag}{n:031x}"[:34]
        form = {
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{world.phones[n % CONTACTS]}",
            "To": f"whatsapp:{world.clinic_whatsapp}",
            "Body": "menu",
            "NumMedia": "0",
        }
        url = world.env["PUBLIC_BASE_URL"] + WEBHOOK_PATH
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        response = client.post(WEBHOOK_PATH, data=form, headers={"X-Twilio-Signature": signature})
        response.close()
        if response.status_code == 200:
            sids.append(sid)

    paced(count, one)
    with world.database.session_scope() as session:
        rows = session.execute(
            select(OutboundMessage.id).where(
                OutboundMessage.idempotency_key.in_([reply_key(sid) for sid in sids])
            )
        ).all()
    return {row.id: None for row in rows}


def interactive_count(world: World, started: dict[int, float | None]) -> int:
    """How many of the replies the stand-in received as content (a list), not text."""
    with world.database.session_scope() as session:
        provider_sids = set(
            session.scalars(
                select(OutboundMessage.provider_sid).where(OutboundMessage.id.in_(started))
            )
        )
    return sum(
        1 for sent in world.twilio.sent if sent["Sid"] in provider_sids and "ContentSid" in sent
    )


# --- waiting and measuring ---------------------------------------------------------------


def max_row_id(db: Database) -> int:
    with db.session_scope() as session:
        return session.scalar(select(OutboundMessage.id).order_by(OutboundMessage.id.desc())) or 0


def rows_after(db: Database, after: int, upto: int | None = None) -> list[Any]:
    with db.session_scope() as session:
        query = select(
            OutboundMessage.id, OutboundMessage.status, OutboundMessage.provider_sid
        ).where(OutboundMessage.id > after)
        if upto is not None:
            query = query.where(OutboundMessage.id <= upto)
        return list(session.execute(query.order_by(OutboundMessage.id)).all())


def settle(db: Database, ids: set[int], limit: float, *, sending_is_settled: bool = False) -> None:
    """Until every row in ``ids`` is sent or failed, or ``limit`` seconds pass (with
    ``sending_is_settled``, a row left "sending" by a killed worker is not waited for)."""
    waiting = (OutboundStatus.QUEUED,) if sending_is_settled else UNSETTLED
    deadline = clock.monotonic() + limit
    while clock.monotonic() < deadline:
        with db.session_scope() as session:
            left = session.scalar(
                select(OutboundMessage.id)
                .where(OutboundMessage.id.in_(ids))
                .where(OutboundMessage.status.in_(waiting))
                .limit(1)
            )
        if left is None:
            return
        clock.sleep(0.1)


def measure(
    name: str,
    db: Database,
    stamps: CommitStamps,
    sent_at: StampedList,
    starts: dict[int, float | None],
) -> Result:
    result = Result(name)
    with db.session_scope() as session:
        rows = session.execute(
            select(OutboundMessage.id, OutboundMessage.status, OutboundMessage.provider_sid).where(
                OutboundMessage.id.in_(starts)
            )
        ).all()
    for row in rows:
        start = starts[row.id]
        if start is None:
            start = stamps.at.get(row.id)
        arrived = sent_at.at.get(row.provider_sid or "")
        if row.status is OutboundStatus.SENDING:
            result.stuck += 1
        elif arrived is None or start is None:
            result.lost += 1
        else:
            result.latencies.append(max(0.0, arrived - start))
    result.lost += len(starts) - len(rows)
    return result


def run_kinds(
    world: World, app: Flask, db: Database, count: int, mode: str, stamps: CommitStamps
) -> list[Result]:
    sent_at: StampedList = world.twilio.state.sent  # type: ignore[assignment]
    results = []
    tag = mode[:1]

    started = staff_replies(world, db, count, tag)
    settle(db, set(started), KIND_LIMIT)
    results.append(measure("staff reply", db, stamps, sent_at, started))

    started = reminders(world, db, count, tag)
    settle(db, set(started), KIND_LIMIT + REMIND_AHEAD)
    results.append(measure("due reminder", db, stamps, sent_at, started))

    links = payment_links(world, db, count)
    deadline = clock.monotonic() + KIND_LIMIT
    starts = link_messages(db, links)
    while len(starts) < len(links) and clock.monotonic() < deadline:
        clock.sleep(0.2)
        starts = link_messages(db, links)
    settle(db, set(starts), max(1.0, deadline - clock.monotonic()))
    link_result = measure("payment link", db, stamps, sent_at, starts)
    link_result.lost += len(links) - len(starts)
    results.append(link_result)

    before = max_row_id(db)
    refused = receipts(world, app, db, links)
    starts = {row.id: None for row in rows_after(db, before)}
    settle(db, set(starts), KIND_LIMIT)
    receipt_result = measure("receipt", db, stamps, sent_at, starts)
    receipt_result.lost += len(refused)
    results.append(receipt_result)

    started = button_replies(world, app, count, tag)
    settle(db, set(started), KIND_LIMIT)
    buttons = measure("reply w/ buttons", db, stamps, sent_at, started)
    buttons.lost += count - len(started)
    interactive = interactive_count(world, started)
    if interactive < len(started):
        buttons.note = f"{len(started) - interactive} went as plain text"
    results.append(buttons)
    return results


# --- modes ---------------------------------------------------------------------------


def embedded(world: World, count: int) -> list[Result]:
    app, db = app_for(world, redis=False)
    stamps = CommitStamps(db)
    sender = start_inprocess(build_runtime(app.config["ROSHNI"], db), sweep_every=SWEEP)
    try:
        deadline = clock.monotonic() + 60
        while sender.sweeps < 1 and clock.monotonic() < deadline:
            clock.sleep(0.05)  # its start-up sweep: not what is measured
        return run_kinds(world, app, db, count, "embedded", stamps)
    finally:
        sender.stop()
        sender.join(timeout=30)
        stamps.remove()
        db.dispose()


class Sweeper(threading.Thread):
    """This process as RQ mode's sweeper, every ``SWEEP`` seconds (the lock keeps the
    workers' own sweepers out; it is set again after a FLUSHDB)."""

    def __init__(self, rt: Any, redis: Redis) -> None:
        super().__init__(name="bench-sweeper", daemon=True)
        self.rt, self.redis = rt, redis
        self.queue = Queue(QUEUE, connection=redis)
        self.stopped = threading.Event()
        self.sweeps = 0

    def hold_lock(self) -> None:
        self.redis.set(SWEEP_LOCK, "bench", ex=3600)

    def run(self) -> None:
        while not self.stopped.is_set():
            self.hold_lock()
            try:
                enqueue_due(self.rt, self.queue)
                self.sweeps += 1
            except Exception as exc:  # a bench: say so and carry on
                print(f"    (sweep failed: {type(exc).__name__}: {exc})")
            self.stopped.wait(SWEEP)


def rq_mode(world: World, count: int, tmp: Path, faults: bool) -> list[Result]:
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    app, db = app_for(world, redis=True)
    stamps = CommitStamps(db)
    rt = build_runtime(app.config["ROSHNI"], db)
    sweeper = Sweeper(rt, redis)
    sweeper.hold_lock()
    env = {**world.env, "REDIS_URL": REDIS_URL}
    env.pop("ROSHNI_INPROCESS_JOBS")
    with ExitStack() as stack, (tmp / "workers.log").open("ab") as log:
        workers = Workers(2, env, log)
        workers.start()
        stack.callback(workers.stop)
        workers.wait_registered(redis)
        sweeper.start()
        stack.callback(sweeper.stopped.set)
        stack.callback(stamps.remove)
        stack.callback(redis.flushdb)
        results = run_kinds(world, app, db, count, "rq", stamps)
        if faults:
            results += fault_phases(world, db, stamps, workers, redis, sweeper, count)
        print(f"    (RQ mode: {sweeper.sweeps} sweeps, {workers.restarts} worker restarts)")
    db.dispose()
    return results


def fault_phases(
    world: World,
    db: Database,
    stamps: CommitStamps,
    workers: Workers,
    redis: Redis,
    sweeper: Sweeper,
    count: int,
) -> list[Result]:
    sent_at: StampedList = world.twilio.state.sent  # type: ignore[assignment]
    half = max(1, count // 2)
    results = []

    def phase(name: str, fault: Callable[[], None]) -> Result:
        # Midway through the reminders: some sent, some due any moment (scheduled in
        # Redis), some not queued yet; the staff replies come after it.
        timer = threading.Timer(half * PACE / 2, fault)
        timer.start()
        started = reminders(world, db, half, name[:2])
        started |= staff_replies(world, db, half, name[:2])
        timer.join()
        settle(db, set(started), FAULT_LIMIT, sending_is_settled=True)
        settle(db, set(started), 5.0)  # a send in flight, not one a killed worker left
        return measure(name, db, stamps, sent_at, started)

    def kill() -> None:
        workers.kill9(0)

    def flush() -> None:
        redis.flushdb()
        sweeper.hold_lock()

    results.append(phase("worker SIGKILL", kill))
    workers.wait_registered(redis)
    results.append(phase("Redis FLUSHDB", flush))
    return results


# --- checks and report -----------------------------------------------------------------


def verify(world: World) -> list[str]:
    """Every row sent once with its own SID; Twilio accepted nothing else."""
    problems = []
    sent = world.twilio.sent
    with world.database.session_scope() as session:
        rows = session.execute(select(OutboundMessage.status, OutboundMessage.provider_sid)).all()
    sids = [r.provider_sid for r in rows if r.status is OutboundStatus.SENT]
    stuck = sum(1 for r in rows if r.status is OutboundStatus.SENDING)
    unsent = [r for r in rows if r.status not in (OutboundStatus.SENT, OutboundStatus.SENDING)]
    accepted = {m["Sid"] for m in sent}
    print(
        f"  checks: {len(rows)} outbox rows, {len(sids)} sent, {len(unsent)} not sent; "
        f"Twilio accepted {len(sent)}"
    )
    if stuck:
        print(
            f"  {stuck} row(s) a killed worker left 'sending': the stuck-send check settles "
            "them after 5 minutes (Twilio's message list first), not waited for here"
        )
    if unsent:
        states: dict[str, int] = {}
        for r in unsent:
            states[r.status.value] = states.get(r.status.value, 0) + 1
        problems.append(f"rows not sent: {states}")
    if len(set(sids)) != len(sids) or set(sids) - accepted:
        problems.append("rows share a SID or name one Twilio never issued")
    # A stuck row may have reached Twilio before its worker died: accepted, not recorded.
    if (extra := len(accepted - set(sids))) > stuck:
        problems.append(f"Twilio accepted {extra - stuck} message(s) no row records: doubled")
    return problems


def report(mode: str, results: list[Result]) -> None:
    print(f"  {mode}:")
    for result in results:
        print(result.line(targets=result.name not in ("worker SIGKILL", "Redis FLUSHDB")))


@contextmanager
def world(tmp: Path) -> Iterator[World]:
    with ExitStack() as stack:
        database = stack.enter_context(postgresql_database())
        twilio = stack.enter_context(FakeTwilio())
        twilio.state.sent = StampedList()
        razorpay = stack.enter_context(FakeRazorpay())
        yield setup(database, twilio, razorpay, tmp)


def run(count: int, modes: list[str], faults: bool) -> int:
    print(
        f"latency benchmark: {count} messages of each kind, modes {', '.join(modes)}, "
        f"sweep every {SWEEP:.0f} s, python {sys.version.split()[0]}"
    )
    print(
        "  targets: "
        + ", ".join(f"{w} <= {limit * 1000:.0f} ms" for w, limit in TARGETS)
        + " (informational)"
    )
    begun = clock.perf_counter()
    with tempfile.TemporaryDirectory(prefix="roshni_latency_") as name, world(Path(name)) as w:
        for mode in modes:
            started = clock.perf_counter()
            if mode == "embedded":
                results = embedded(w, count)
            else:
                results = rq_mode(w, count, Path(name), faults)
            report(f"{mode} ({clock.perf_counter() - started:.0f} s)", results)
        problems = verify(w)
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    if not problems:
        print("  none lost, none doubled")
    print(f"  (total {clock.perf_counter() - begun:.0f} s; database dropped, Redis db flushed)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", type=int, default=200, help="messages per kind (200)")
    parser.add_argument("--modes", default="embedded,rq", help="embedded,rq (both)")
    parser.add_argument("--no-faults", action="store_true", help="skip the kill/flush phases")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.count < 1 or not modes or set(modes) - {"embedded", "rq"}:
        parser.error("--count must be at least 1; --modes takes embedded and/or rq")
    return run(args.count, modes, not args.no_faults)


if __name__ == "__main__":
    raise SystemExit(main())
