"""outbox: note when a send was handed to Twilio, and when a lost answer was checked

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": [],
    "columns": {"outbound_message": ["outcome_checked_at", "send_started_at"]},
}


def upgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("outcome_checked_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_column("outcome_checked_at")
        batch_op.drop_column("send_started_at")
