"""Alembic, driven from code so `roshni db upgrade` and the tests share one path.

Downgrades are guarded: a migration whose downgrade drops a table or a column declares
it in a module-level ``DOWNGRADE_DROPS = {"tables": [...], "columns": {table: [...]}}``
(tests/core/test_backups.py checks every migration does), and ``downgrade`` refuses to step
back over one whose tables still hold rows or whose columns still hold values, unless
the operator says they have a backup. A table whose rows are derived (a cache key) is
listed under ``"derived"`` as well, and never refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import create_engine, inspect, text

from core.config import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class DowngradeWouldLoseData(RuntimeError):
    """The downgrade would drop data; ``str()`` is the one sentence to show."""

    def __init__(self, revision: str, losses: list[Loss]) -> None:
        self.revision = revision
        self.losses = losses
        what = ", ".join(loss.describe() for loss in losses)
        super().__init__(
            f"refusing to downgrade to {revision}: it would drop {what}; "
            "take a backup first (`roshni backup`) and run it again with --i-have-a-backup"
        )


@dataclass(frozen=True)
class Loss:
    table: str
    column: str | None  # None: the whole table
    count: int  # rows, or non-null values of the column

    def describe(self) -> str:
        if self.column is None:
            return f"table {self.table} ({self.count} row{'s' if self.count != 1 else ''})"
        plural = "s" if self.count != 1 else ""
        return f"column {self.table}.{self.column} ({self.count} value{plural})"


def alembic_config(database_url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str, *, have_backup: bool = False) -> None:
    """Step back to ``revision``; refused when that drops data, unless ``have_backup``."""
    if not have_backup:
        losses = downgrade_losses(database_url, revision)
        if losses:
            raise DowngradeWouldLoseData(revision, losses)
    command.downgrade(alembic_config(database_url), revision)


def reverted_by(database_url: str, revision: str) -> list[Script]:
    """The migrations a downgrade to ``revision`` would undo, newest first."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    current = current_revision(database_url)
    if current is None:
        return []
    chain: list[Script] = []
    node = script.get_revision(current)
    while node is not None:
        chain.append(node)
        node = script.get_revision(node.down_revision) if node.down_revision else None
    if revision == "base":
        return chain
    if revision.startswith("-") and revision[1:].isdigit():
        return chain[: int(revision[1:])]
    try:
        target = script.get_revision(revision)
    except RevisionError:
        return []  # alembic's own downgrade then names the unknown revision
    ids = [s.revision for s in chain]
    if target is None or target.revision not in ids:
        return []  # not below the current revision: nothing is undone
    return chain[: ids.index(target.revision)]


def downgrade_drops(migration: Script) -> tuple[list[str], dict[str, list[str]]]:
    """What ``migration``'s downgrade drops, as its module declares it."""
    declared = getattr(migration.module, "DOWNGRADE_DROPS", None) or {}
    return list(declared.get("tables", [])), dict(declared.get("columns", {}))


def _derived_tables(migration: Script) -> set[str]:
    """Dropped tables whose rows are derived (a cache key): ``DOWNGRADE_DROPS["derived"]``."""
    declared = getattr(migration.module, "DOWNGRADE_DROPS", None) or {}
    return set(declared.get("derived", []))


def downgrade_losses(database_url: str, revision: str) -> list[Loss]:
    """The tables with rows and columns with values a downgrade to ``revision`` drops."""
    dropped_tables: list[str] = []
    dropped_columns: dict[str, list[str]] = {}
    for migration in reverted_by(database_url, revision):
        tables, columns = downgrade_drops(migration)
        derived = _derived_tables(migration)  # rebuilt on their own: nothing to lose
        dropped_tables += [t for t in tables if t not in dropped_tables and t not in derived]
        for table, names in columns.items():
            dropped_columns.setdefault(table, []).extend(names)
    if not dropped_tables and not dropped_columns:
        return []
    losses: list[Loss] = []
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            present = set(inspector.get_table_names())
            quote = conn.dialect.identifier_preparer.quote
            for table in dropped_tables:
                if table in present:
                    sql = f"SELECT count(*) FROM {quote(table)}"  # noqa: S608 (declared names)
                    if count := conn.execute(text(sql)).scalar_one():
                        losses.append(Loss(table, None, count))
            for table, names in dropped_columns.items():
                if table not in present or table in dropped_tables:
                    continue  # a dropped table is counted whole
                existing = {c["name"] for c in inspector.get_columns(table)}
                for column in dict.fromkeys(names):
                    if column in existing:
                        sql = f"SELECT count({quote(column)}) FROM {quote(table)}"  # noqa: S608
                        if count := conn.execute(text(sql)).scalar_one():
                            losses.append(Loss(table, column, count))
    finally:
        engine.dispose()
    return losses


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=False)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The applied revision, or None on an empty database."""
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
