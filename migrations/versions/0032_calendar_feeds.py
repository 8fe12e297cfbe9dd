"""therapist.calendar_token_hash, calendar_issued_at: a therapist's private calendar feed

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"columns": {"therapist": ["calendar_token_hash", "calendar_issued_at"]}}


def upgrade() -> None:
    with op.batch_alter_table("therapist", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("calendar_issued_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_therapist_calendar_token_hash"), ["calendar_token_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("therapist", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_therapist_calendar_token_hash"), type_="unique")
        batch_op.drop_column("calendar_issued_at")
        batch_op.drop_column("calendar_token_hash")
