"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Base


def test_migrations_match_the_models(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


# The tables whose writes change the settings token (migration 0018, models.SettingsVersion).
WATCHED = ("clinic", "clinic_policy", "location", "sender_number", "service", "therapist")


def test_every_settings_table_still_has_its_triggers_at_head(db):
    """A migration that rebuilds a watched table on SQLite (a batch alter copies it) loses
    its triggers, and processes then serve a stale catalogue: head must have them all."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
            ).all()
            expected = {
                (t, f"{t}_settings_version_{e}")
                for t in WATCHED
                for e in ("insert", "update", "delete")
            }
        else:
            rows = conn.exec_driver_sql(
                "SELECT event_object_table, trigger_name FROM information_schema.triggers"
            ).all()
            expected = {(t, f"{t}_settings_version") for t in WATCHED}
    assert expected <= set(map(tuple, rows))
