"""Whole-database backups, and restores into an empty database.

PostgreSQL is dumped with ``pg_dump --format=custom`` and restored with ``pg_restore``;
SQLite is copied with sqlite3's online backup API (a consistent copy while the app keeps
writing). A backup is one file, ``roshni-<UTC time>-<alembic revision>.<pgdump|sqlite3>``,
kept in a directory or an S3-compatible bucket (``integrations.backup_storage``); after
each backup only the newest ``keep`` of them stay.

A restore refuses a database that already has tables: it never merges into live data.
Afterwards the database is at the revision the dump was taken at, so ``roshni db
upgrade`` brings it to the code's head.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from core import migrate
from core.config import Config
from integrations.backup_storage import BackupStore, S3Settings, StorageError, open_store

T = TypeVar("T")
PG_DUMP = "pgdump"
SQLITE = "sqlite3"
NAME = re.compile(r"^roshni-(?P<at>\d{8}T\d{6}Z)-(?P<rev>[A-Za-z0-9_]+)\.(?P<kind>pgdump|sqlite3)$")
_NO_REVISION = "none"
_MAGIC = {b"PGDMP": PG_DUMP, b"SQLite format 3\x00": SQLITE}
_PG_TIMEOUT = 6 * 3600  # seconds; a dump or restore that hangs longer is stuck


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message is one sentence for an operator."""


@dataclass(frozen=True)
class BackupFile:
    name: str
    taken_at: datetime
    revision: str | None
    kind: str


@dataclass(frozen=True)
class BackupResult:
    name: str
    size_bytes: int
    revision: str | None
    location: str  # the file's path or s3:// URL
    pruned: list[str] = field(default_factory=list)


def parse_name(name: str) -> BackupFile | None:
    """The facts a backup's file name carries, or None for a file that is not ours."""
    match = NAME.match(name)
    if match is None:
        return None
    rev = match["rev"]
    return BackupFile(
        name=name,
        taken_at=datetime.strptime(match["at"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC),
        revision=None if rev == _NO_REVISION else rev,
        kind=match["kind"],
    )


def backup_name(taken_at: datetime, revision: str | None, kind: str) -> str:
    stamp = taken_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"roshni-{stamp}-{revision or _NO_REVISION}.{kind}"


def store_for(config: Config, target: str | None = None) -> BackupStore:
    """The configured target (``BACKUP_TARGET``), or ``target`` when given."""
    where = target or config.backup_target
    if not where:
        raise BackupError("no backup target: set BACKUP_TARGET or pass --to DIR|s3://bucket/prefix")
    try:
        return open_store(where, s3_settings(config))
    except StorageError as exc:
        raise BackupError(str(exc)) from None


def s3_settings(config: Config) -> S3Settings:
    return S3Settings(
        endpoint_url=config.backup_s3_endpoint_url,
        region=config.backup_s3_region,
        access_key_id=config.backup_s3_access_key_id,
        secret_access_key=config.backup_s3_secret_access_key,
    )


# --- taking a backup ------------------------------------------------------------------------


def take_backup(database_url: str, store: BackupStore, *, keep: int, now: datetime) -> BackupResult:
    """Dump the database into ``store``, then keep only the newest ``keep`` backups."""
    if keep < 1:
        raise BackupError("keep must be at least 1")
    kind = SQLITE if _is_sqlite(database_url) else PG_DUMP
    if kind == SQLITE and not _sqlite_path(database_url).exists():
        # Checked first: connecting to read the revision would create an empty file.
        raise BackupError(f"there is no SQLite database at {_sqlite_path(database_url)}")
    revision = _reachable(migrate.current_revision, database_url)
    name = backup_name(now, revision, kind)
    with tempfile.TemporaryDirectory(prefix="roshni-backup-") as tmp:
        local = Path(tmp) / name
        if kind == SQLITE:
            _dump_sqlite(database_url, local)
        else:
            _dump_postgres(database_url, local)
        size = local.stat().st_size
        _storage(store.put, local, name)
    pruned = prune(store, keep=keep)
    return BackupResult(
        name=name,
        size_bytes=size,
        revision=revision,
        location=store.locate(name),
        pruned=pruned,
    )


def backups_in(store: BackupStore) -> list[BackupFile]:
    """Our backups in ``store``, oldest first (files with other names are left alone)."""
    found = [b for b in map(parse_name, _storage(store.names)) if b is not None]
    return sorted(found, key=lambda b: (b.taken_at, b.name))


def newest_backup(store: BackupStore) -> BackupFile | None:
    found = backups_in(store)
    return found[-1] if found else None


def prune(store: BackupStore, *, keep: int) -> list[str]:
    """Delete the oldest backups beyond the newest ``keep``; returns the names deleted."""
    doomed = [b.name for b in backups_in(store)[:-keep]]
    for name in doomed:
        _storage(store.delete, name)
    return doomed


def _dump_sqlite(database_url: str, out: Path) -> None:
    path = _sqlite_path(database_url)
    if not path.exists():
        raise BackupError(f"there is no SQLite database at {path}")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(out)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def _dump_postgres(database_url: str, out: Path) -> None:
    url, env = _libpq(database_url)
    tool = _pg_tool("pg_dump", _server_major(database_url))
    _run([tool, "--format=custom", f"--file={out}", f"--dbname={url}"], env, "pg_dump")


# --- restoring ------------------------------------------------------------------------------


def fetch(source: str, config: Config, into: Path) -> Path:
    """Bring ``source`` (a file path or ``s3://bucket/prefix/NAME``) to a local file."""
    if source.startswith("s3://"):
        where, _, name = source.rpartition("/")
        if not name:
            raise BackupError(f"{source!r} names no backup file")
        store = store_for(config, where)
        local = into / name
        _storage(store.get, name, local)
        return local
    path = Path(source).expanduser()
    if not path.is_file():
        raise BackupError(f"there is no backup file at {path}")
    return path


def restore(database_url: str, backup: Path) -> str | None:
    """Load ``backup`` into the (empty) database; returns the revision it is now at."""
    kind = backup_kind(backup)
    if kind == SQLITE and not _is_sqlite(database_url):
        raise BackupError(
            f"{backup.name} is a SQLite backup but DATABASE_URL is PostgreSQL: "
            "restore it into a SQLite database"
        )
    if kind == PG_DUMP and _is_sqlite(database_url):
        raise BackupError(
            f"{backup.name} is a PostgreSQL dump but DATABASE_URL is SQLite: "
            "restore it into a PostgreSQL database"
        )
    tables = _reachable(existing_tables, database_url)
    if tables:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise BackupError(
            f"refusing to restore: the target database is not empty (it has {len(tables)} "
            f"table(s): {shown}); create an empty database, point DATABASE_URL at it and "
            "run the restore again"
        )
    if kind == SQLITE:
        _restore_sqlite(backup, _sqlite_path(database_url))
    else:
        _restore_postgres(backup, database_url)
    return migrate.current_revision(database_url)


def backup_kind(path: Path) -> str:
    """A dump's kind from its first bytes (its name may have been changed)."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    raise BackupError(f"{path.name} is neither a pg_dump custom-format dump nor a SQLite backup")


def existing_tables(database_url: str) -> list[str]:
    """The tables already in the database (none: it may be restored into)."""
    if _is_sqlite(database_url) and not _sqlite_path(database_url).exists():
        return []
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return sorted(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _restore_sqlite(backup: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    target = sqlite3.connect(path)
    try:
        with target:
            source.backup(target)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup.name} could not be restored: {exc}") from None
    finally:
        target.close()
        source.close()


def _restore_postgres(backup: Path, database_url: str) -> None:
    url, env = _libpq(database_url)
    tool = _pg_tool("pg_restore", _server_major(database_url))
    # No owners or grants from the old server: the restoring role owns everything, as on
    # a fresh managed database. One transaction: a failed restore leaves the database empty.
    _run(
        [
            tool,
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url}",
            str(backup),
        ],
        env,
        "pg_restore",
    )


# --- PostgreSQL client tools ----------------------------------------------------------------


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (which would show in ``ps``) and the environment
    that carries it instead."""
    url: URL = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _server_major(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            number = conn.exec_driver_sql("SHOW server_version_num").scalar_one()
    except Exception as exc:
        raise BackupError(f"cannot reach the database ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    return int(number) // 10000


def _pg_tool(name: str, server_major: int) -> str:
    """``name`` from the server's major version's client tools when installed side by side
    (Debian's /usr/lib/postgresql/N/bin), else from PATH; older than the server is refused,
    because pg_dump cannot dump a newer server."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            major = _tool_major(candidate)
            if major >= server_major:
                return str(candidate)
            raise BackupError(
                f"{candidate} is from PostgreSQL {major} but the server runs {server_major}: "
                f"install the PostgreSQL {server_major} client tools"
            )
    raise BackupError(
        f"{name} is not installed: install the PostgreSQL {server_major} client tools"
    )


def _tool_major(tool: Path) -> int:
    out = subprocess.run(  # noqa: S603 (a fixed binary, no shell)
        [str(tool), "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(  # noqa: S603 (a fixed binary, no shell)
            args, env=env, capture_output=True, text=True, check=False, timeout=_PG_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {_PG_TIMEOUT // 3600} hours") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {result.returncode}"
        raise BackupError(f"{what} failed: {detail}")


# --- small helpers --------------------------------------------------------------------------


def _is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _reachable(call: Callable[[str], T], database_url: str) -> T:
    """Ask the database; unreachable is one sentence (never the URL: it may hold a password)."""
    try:
        return call(database_url)
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot reach the database ({type(exc).__name__})") from None


def _storage(call: Callable[..., T], *args: object) -> T:
    """Call a store's method; its failure becomes a BackupError (one sentence)."""
    try:
        return call(*args)
    except StorageError as exc:
        raise BackupError(str(exc)) from None
