"""Are the jobs running? Heartbeats of the processes that send, and the outbox backlog.

Every job runner (an RQ worker, or the web process's thread in embedded mode) records
a heartbeat every few seconds. Monitoring asks ``jobs_health``: it fails when no runner
has been seen for two minutes, or the oldest due message has waited too long: either
way patients are not getting their messages. Both facts come from the database, so the
answer holds while Redis is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import WorkerHeartbeat
from services.messaging.outbox import backlog

ALIVE_WITHIN = timedelta(minutes=2)
FORGET_AFTER = timedelta(days=1)  # rows of processes long gone are pruned


def record_heartbeat(
    session: Session, *, name: str, kind: str, started_at: datetime, now: datetime
) -> None:
    """This process is alive (insert or refresh its row; prune the long dead)."""
    with write_transaction(session):
        row = session.get(WorkerHeartbeat, name)
        if row is None:
            session.add(WorkerHeartbeat(name=name, kind=kind, started_at=started_at, seen_at=now))
        else:
            row.seen_at = now
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - FORGET_AFTER))


def forget_heartbeat(session: Session, *, name: str) -> None:
    """A clean shutdown: stop counting this process at once."""
    with write_transaction(session):
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))


@dataclass(frozen=True)
class JobsHealth:
    runners_alive: int
    last_seen_seconds: float | None  # since any runner's last heartbeat; None: never seen
    outbox_due: int
    oldest_due_seconds: float | None
    max_delay_seconds: int

    @property
    def problems(self) -> list[str]:
        found = []
        if self.runners_alive == 0:
            if self.last_seen_seconds is None:
                found.append("no job runner has ever reported")
            else:
                found.append(f"no job runner seen for {self.last_seen_seconds:.0f} s")
        if self.oldest_due_seconds is not None and self.oldest_due_seconds > self.max_delay_seconds:
            found.append(
                f"the oldest due message has waited {self.oldest_due_seconds:.0f} s "
                f"(limit {self.max_delay_seconds} s)"
            )
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "runners_alive": self.runners_alive,
            "last_seen_seconds": self.last_seen_seconds,
            "outbox_due": self.outbox_due,
            "oldest_due_seconds": self.oldest_due_seconds,
            "max_delay_seconds": self.max_delay_seconds,
        }


def jobs_health(session: Session, *, now: datetime, max_delay_seconds: int) -> JobsHealth:
    alive, last_seen = session.execute(
        select(
            func.count().filter(WorkerHeartbeat.seen_at >= now - ALIVE_WITHIN),
            func.max(WorkerHeartbeat.seen_at),
        )
    ).one()
    session.rollback()
    waiting = backlog(session, now=now)
    return JobsHealth(
        runners_alive=alive,
        last_seen_seconds=None
        if last_seen is None
        else round(max(0.0, (now - last_seen).total_seconds()), 1),
        outbox_due=waiting.due,
        oldest_due_seconds=waiting.oldest_wait_seconds(now),
        max_delay_seconds=max_delay_seconds,
    )
