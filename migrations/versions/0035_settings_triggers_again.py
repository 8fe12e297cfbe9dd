"""the settings-version triggers again on SQLite: 0033 and 0034 rebuilt clinic_policy,
service, therapist and payment_link (SQLite alters a table by copying it), and a copy
keeps no triggers, so edits to those tables stopped telling processes that their cached
catalogue was stale (0018). PostgreSQL alters in place: nothing to do there.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0018's watched tables and trigger body, as it created them.
WATCHED = ("clinic", "clinic_policy", "location", "sender_number", "service", "therapist")
SQLITE_BODY = (
    "INSERT INTO settings_version (id, token) VALUES (1, lower(hex(randomblob(16)))) "
    "ON CONFLICT (id) DO UPDATE SET token = excluded.token;"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_settings_version_{event.lower()} "
                f"AFTER {event} ON {table} BEGIN {SQLITE_BODY} END"
            )


def downgrade() -> None:
    """The triggers are 0018's; 0033's and 0034's downgrades rebuild tables again, and
    an upgrade through this migration brings them back."""
