"""Embedded mode (no REDIS_URL): the web process sends what its commits queue at once,
what falls due on time, and sweeps in a thread of its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from core.clock import utcnow
from jobs.backups import DailyBackupCheck, run_daily_backup
from jobs.runner import Heartbeat, make_links, send_due, send_due_emails, tick
from jobs.runtime import Runtime
from services.messaging import dispatch
from services.messaging.email_outbox import next_email_due_at
from services.messaging.outbox import next_due_at

log = logging.getLogger(__name__)
T = TypeVar("T")

# Embedded mode sweeps in its own thread at little cost (no Redis to lose anything, so
# only the payment sync, media and stuck sends depend on it): every 30 s.
INPROCESS_EVERY = 30.0  # seconds, embedded mode


class InprocessSender(threading.Thread):
    """Embedded mode's sending thread: sends each outbox row the moment it is due.

    A commit that queued rows wakes it (``wake``, the dispatcher installed on the app's
    sessions); between wake-ups it sleeps until the next row falls due (a reminder, a
    retry's backoff), looking anyway every ``sweep_every`` seconds. The full sweep
    (payment sync, dues, stuck sends, media; heartbeat and backup) runs in a thread of
    its own (``roshni-sweep``) every ``sweep_every`` seconds, as the net: a slow step
    (reconciling links at Razorpay, a media download) never holds a send, and the due
    rows it finds wake this thread. This thread alone sends, in id order: messages keep
    their order. Payment links are made by one thread at a time (``links``).
    """

    def __init__(self, rt: Runtime, sweep: Callable[[], object], *, sweep_every: float) -> None:
        super().__init__(name="roshni-jobs", daemon=True)
        self.rt = rt
        self.sweep = sweep
        self.sweep_every = sweep_every
        self.stopped = threading.Event()
        self._woken = threading.Event()
        self._links = threading.Event()  # a commit opened a payment link
        self.links = threading.Lock()  # held while links are made at Razorpay
        self.passes = 0  # sending passes done (tests wait on it; no timing in it)
        self.sweeps = 0  # sweeps done
        self.hook: dispatch.Installed | None = None  # how commits wake it
        self._sweeper = threading.Thread(target=self._sweep_loop, name="roshni-sweep", daemon=True)

    def start(self) -> None:
        super().start()
        self._sweeper.start()

    def wake(self, rows: list[dispatch.Queued] | None = None) -> None:
        """Rows were committed: look at the outbox now (the rows' due times are read there),
        and make at Razorpay any payment link the commit opened."""
        if rows and any(row.what == dispatch.PAYMENT_LINK for row in rows):
            self._links.set()
        self._woken.set()

    @contextmanager
    def making_links(self) -> Iterator[bool]:
        """The sweep's payment step and this thread make links one at a time."""
        with self.links:
            yield True

    def run(self) -> None:
        while not self.stopped.is_set():
            self._woken.clear()  # before the pass: a commit during it wakes the next one
            # The pass sends what is due by this moment, and the timer looks for what falls
            # due after it: a row falling due during the pass is not missed (read at a later
            # moment, "due after now" would skip it until the sweep).
            moment = utcnow()
            if self._links.is_set():
                self._links.clear()
                # Its commit queues the link's message and wakes the next pass.
                self._guarded("making payment links", self._make_links)
            self._guarded("sending", lambda m=moment: send_due(self.rt, now=m))
            self._guarded("emailing", lambda m=moment: send_due_emails(self.rt, now=m))
            self.passes += 1
            pause = self.sweep_every
            soonest = self._guarded("the outbox timer", lambda m=moment: self._next_due(m))
            if soonest is not None:
                # A hair after it, so the row is due when we look.
                pause = min(pause, (soonest - utcnow()).total_seconds() + 0.01)
            if pause > 0:
                self._woken.wait(pause)

    def _make_links(self) -> None:
        with self.making_links():
            make_links(self.rt)

    def _sweep_loop(self) -> None:
        while not self.stopped.is_set():
            self._guarded("the sweep", self.sweep)
            self.sweeps += 1
            self.stopped.wait(self.sweep_every)

    def _next_due(self, after: datetime) -> datetime | None:
        with self.rt.database.session_scope() as session:
            times = [next_due_at(session, now=after), next_email_due_at(session, now=after)]
        return min((t for t in times if t is not None), default=None)

    def _guarded(self, what: str, work: Callable[[], T]) -> T | None:
        try:
            return work()
        except Exception:
            log.exception("%s failed in the job thread; it runs again soon", what)
            return None

    def stop(self) -> None:
        if self.hook is not None:
            self.hook.remove()
        self.stopped.set()
        self._woken.set()

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self._sweeper.is_alive():
            self._sweeper.join(timeout)


def start_inprocess(rt: Runtime, *, sweep_every: float = INPROCESS_EVERY) -> InprocessSender:
    """Embedded mode: the web process sends what the app's commits queue at once and what
    falls due on time, sweeps every ``sweep_every`` seconds (and says so), and takes the
    daily backup when BACKUP_TARGET is set."""
    heartbeat = Heartbeat(rt, "web")
    backups = DailyBackupCheck(rt.config)

    def work() -> None:
        heartbeat.beat()
        tick(rt, hand_over=lambda _message_id: thread.wake(), links_lock=thread.making_links)
        now = utcnow()
        if backups.should_check(now):
            # In the sweep's thread, after the sweep: sends never wait on it (SQLite's
            # online backup of a clinic's database takes well under a second anyway).
            run_daily_backup(rt.config, now=now)

    thread = InprocessSender(rt, work, sweep_every=sweep_every)
    thread.hook = dispatch.install(rt.database.session_factory, thread.wake)
    thread.start()
    return thread
