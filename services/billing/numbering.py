"""Gap-free, per-clinic document numbers from counter rows bumped in one statement.

An upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING) is atomic on both
backends, so two bookings or two invoices never get the same number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def next_value(session: Session, table: Table, *, step: int = 1, **key: Any) -> int:
    """The next value of the counter row identified by ``key`` (created at 1); with
    ``step`` > 1 a block of that many values is taken at once and the last is returned
    (a course of sessions numbers them all in this one statement)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(**key, last_value=step)
        .on_conflict_do_update(
            index_elements=[table.c[name] for name in key],
            set_={"last_value": table.c.last_value + step},
        )
        .returning(table.c.last_value)
    )
    return int(session.execute(stmt).scalar_one())
