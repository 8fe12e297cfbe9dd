"""The sweep: everything due in the outbox is handed to a dispatcher.

Runs every minute (RQ mode: one sweeper across workers; embedded mode: a thread
of the web process) and on demand with ``roshni jobs tick``. The outbox table is
the record: a sweep after Redis lost everything finds every unsent message again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services import dues
from services.messaging import OUTCOME_UNKNOWN, due_ids, release_stuck

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    released: int
    dues_queued: int
    dispatched: int


def sweep(session: Session, *, now: datetime, dispatch: Callable[[int], None]) -> SweepResult:
    released = release_stuck(session, now=now)
    dues_queued = dues.queue_monthly_reminders(session, now=now)
    ids = due_ids(session, now=now)
    for message_id in ids:
        dispatch(message_id)
    if released:
        log.warning(
            "%d outbox row(s) a dead worker left in 'sending' marked failed (%s): "
            "check them in Twilio's message log before retrying",
            released,
            OUTCOME_UNKNOWN,
        )
    return SweepResult(released=released, dues_queued=dues_queued, dispatched=len(ids))
