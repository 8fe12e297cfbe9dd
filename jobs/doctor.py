"""``roshni doctor``: can this deployment take messages and send them? One line per check.

The same facts as ``/readyz`` and ``/healthz/jobs``, from the command line (a container
health check, a cron job, an operator at 2 am), plus what only the command line can say:
whether the schema is at the code's migration head and how sending is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import migrate
from core.backup import BackupError, newest_backup, store_for
from core.clock import utcnow
from core.config import Config
from core.db import Database
from core.probes import redis_status
from jobs.backups import STALE_AFTER
from services.messaging.job_health import jobs_health


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # worth a look, but does not fail the run

    @property
    def fails(self) -> bool:
        return not self.ok and not self.warning


def run_checks(config: Config) -> list[Check]:
    checks = [Check("configuration", True, f"{config.env}, {_backend(config)}")]
    database = Database(config.database_url)
    try:
        checks.append(_database(database))
        if checks[-1].ok:
            checks.append(_migrations(config))
        if checks[-1].ok:  # the jobs' tables exist
            checks.append(_jobs(database, config))
    finally:
        database.dispose()
    checks.append(_redis(config))
    checks.append(_sending(config))
    checks.append(_backups(config, now=utcnow()))
    return checks


def _backend(config: Config) -> str:
    return "SQLite" if config.is_sqlite else "PostgreSQL"


def _database(database: Database) -> Check:
    try:
        with database.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        return Check("database", False, f"unreachable ({type(exc).__name__})")
    return Check("database", True, "answers")


def _migrations(config: Config) -> Check:
    head, current = migrate.head_revision(), migrate.current_revision(config.database_url)
    if current == head:
        return Check("migrations", True, f"at {head}")
    return Check(
        "migrations",
        False,
        f"at {current or 'nothing'}, code expects {head}: run `roshni db upgrade`",
    )


def _jobs(database: Database, config: Config) -> Check:
    with database.session_scope() as session:
        health = jobs_health(session, now=utcnow(), max_delay_seconds=config.jobs_max_delay_seconds)
    due = f"{health.outbox_due} message(s) due"
    if health.oldest_due_seconds is not None:
        due += f", oldest waiting {health.oldest_due_seconds:.0f} s"
    if not health.ok:
        return Check("jobs", False, "; ".join(health.problems) + f" ({due})")
    return Check("jobs", True, f"{health.runners_alive} runner(s) alive, {due}")


def _redis(config: Config) -> Check:
    if not config.redis_url:
        return Check("redis", True, "not configured: the web process sends (embedded mode)")
    status = redis_status(config.redis_url)
    # Down is not fatal: workers send from the outbox directly until it is back.
    return Check("redis", status == "ok", status, warning=status != "ok")


def _sending(config: Config) -> Check:
    if config.twilio_account_sid and config.twilio_auth_token:
        return Check("twilio", True, "deployment account configured")
    if config.is_production:
        # Not fatal: clinics may each have their own Twilio account (Settings -> Clinics).
        detail = "no deployment account: clinics without their own send nothing"
        return Check("twilio", False, detail, warning=True)
    return Check("twilio", True, "dry run: messages are recorded, not sent", warning=True)


def _backups(config: Config, *, now: datetime) -> Check:
    """Warns (never fails: messages still flow) when the daily backup is missing or late."""
    if not config.backup_target:
        detail = "BACKUP_TARGET is not set: no daily backup is taken"
        production = config.is_production
        return Check("backups", not production, detail, warning=production)
    try:
        store = store_for(config)
        newest = newest_backup(store)
    except BackupError as exc:
        return Check("backups", False, f"cannot read the backup target: {exc}", warning=True)
    if newest is None:
        return Check("backups", False, f"no backup in {store.description} yet", warning=True)
    hours = (now - newest.taken_at).total_seconds() / 3600
    detail = f"newest {newest.name}, {hours:.1f} h old"
    if now - newest.taken_at > STALE_AFTER:
        limit = STALE_AFTER.total_seconds() / 3600
        detail += f" (older than {limit:.0f} h: is the daily backup failing? see the worker's log)"
        return Check("backups", False, detail, warning=True)
    return Check("backups", True, detail)
