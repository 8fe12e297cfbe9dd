"""The daily backup, when ``BACKUP_TARGET`` is set.

The target itself is the record of when the last backup was taken (its file names carry
the time), so "is one due?" has the same answer in every process and survives restarts
and a Redis flush. Runners ask at most every ``CHECK_EVERY``; a backup is due when the
newest is ``DUE_AFTER`` old (or there is none), which keeps it to at most one a day.

RQ mode: the sweeper that holds the lock enqueues ``jobs.tasks.daily_backup`` under the
deterministic id ``backup-<UTC date>`` (never twice while one waits or runs); the task
checks again before dumping. Embedded mode: the web process's job thread runs it.
Failures are logged (and, with RQ, kept in the failed job registry); ``roshni doctor``
warns when the newest backup is older than ``STALE_AFTER``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from core.backup import BackupError, BackupResult, newest_backup, store_for, take_backup
from core.clock import utcnow
from core.config import Config

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=15)
DUE_AFTER = timedelta(hours=24)
STALE_AFTER = timedelta(hours=26)


def backup_due(config: Config, *, now: datetime) -> bool:
    """A backup target is set and its newest backup is a day old, or there is none."""
    if not config.backup_target:
        return False
    newest = newest_backup(store_for(config))
    return newest is None or now - newest.taken_at >= DUE_AFTER


def run_daily_backup(config: Config, *, now: datetime | None = None) -> BackupResult | None:
    """Take today's backup if it is due; failures are logged, then raised."""
    moment = now or utcnow()
    try:
        if not backup_due(config, now=moment):
            return None
        result = take_backup(
            config.database_url, store_for(config), keep=config.backup_keep, now=moment
        )
    except BackupError as exc:
        log.error("daily backup failed: %s", exc)
        raise
    log.info(
        "daily backup %s written to %s (%d bytes); %d old backup(s) deleted",
        result.name,
        result.location,
        result.size_bytes,
        len(result.pruned),
    )
    return result


def backup_job_id(now: datetime) -> str:
    return f"backup-{now:%Y-%m-%d}"


class DailyBackupCheck:
    """Asks "is a backup due?" at most every CHECK_EVERY (listing a bucket every few
    seconds would cost requests for nothing)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.next_check: datetime | None = None

    def should_check(self, now: datetime) -> bool:
        if not self.config.backup_target:
            return False
        if self.next_check is not None and now < self.next_check:
            return False
        self.next_check = now + CHECK_EVERY
        return True
