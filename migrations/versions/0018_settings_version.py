"""settings version: a token every write to clinic settings and catalogue changes (triggers)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
# The token is only a cache key ("derived": no refusal for it): losing it costs each
# process one reload.
DOWNGRADE_DROPS = {"tables": ["settings_version"], "derived": ["settings_version"]}

# The tables processes cache (models.SettingsVersion). A random token, not a counter, so
# a table emptied and written again can never bring back a token a process has seen.
WATCHED = ("clinic", "clinic_policy", "location", "sender_number", "service", "therapist")

PG_FUNCTION = """
CREATE FUNCTION roshni_new_settings_version() RETURNS trigger AS $$
BEGIN
    INSERT INTO settings_version (id, token) VALUES (1, md5(random()::text || clock_timestamp()::text))
    ON CONFLICT (id) DO UPDATE SET token = excluded.token;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
SQLITE_BODY = (
    "INSERT INTO settings_version (id, token) VALUES (1, lower(hex(randomblob(16)))) "
    "ON CONFLICT (id) DO UPDATE SET token = excluded.token;"
)


def upgrade() -> None:
    op.create_table(
        "settings_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_version")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_settings_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                "EXECUTE FUNCTION roshni_new_settings_version()"
            )
    else:
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_settings_version_{event.lower()} AFTER {event} "
                    f"ON {table} BEGIN {SQLITE_BODY} END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_settings_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS roshni_new_settings_version()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_settings_version_{event}")
    op.drop_table("settings_version")
