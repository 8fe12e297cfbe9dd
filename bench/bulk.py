"""Bulk rows for the benchmarks' big databases: PostgreSQL COPY with the models' own
Python-side defaults, and the next free id of a table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select

from core.db import Database


def _column_defaults(table: Table, now: datetime) -> dict[str, Any]:
    """Python-side defaults of a table (timestamps, flags), as COPY does not apply them."""
    out: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if default is None or column.primary_key:
            continue
        if getattr(default, "is_scalar", False):
            value = default.arg
            out[column.name] = value.value if hasattr(value, "value") else value
        elif getattr(default, "is_callable", False):
            out[column.name] = default.arg(None)
    for name in ("created_at", "updated_at"):
        if name in table.columns:
            out[name] = now
    return out


def copy_rows(database: Database, model: Any, rows: Iterable[dict[str, Any]], now: datetime) -> int:
    """COPY rows into a model's table; unset columns take the model's Python defaults."""
    table: Table = model.__table__
    defaults = _column_defaults(table, now)
    rows = list(rows)
    if not rows:
        return 0
    names = [c.name for c in table.columns if c.name in rows[0] or c.name in defaults]
    with database.engine.connect() as conn:
        pg = conn.connection.driver_connection
        with pg.cursor() as cursor:
            columns = ", ".join(names)
            with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_plain(row.get(n, defaults.get(n))) for n in names])
            if "id" in names:
                # The table name is our model's, never input.
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table.name}))"
                )
        pg.commit()
    return len(rows)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") and not isinstance(value, datetime) else value


def next_id(database: Database, model: Any) -> int:
    with database.session_scope() as session:
        return int(session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1
