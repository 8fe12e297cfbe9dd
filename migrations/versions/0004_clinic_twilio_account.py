"""clinic twilio account

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": [],
    "columns": {
        "clinic": ["twilio_auth_token_encrypted", "twilio_account_sid"],
    },
}


def upgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("twilio_account_sid", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("twilio_auth_token_encrypted", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("twilio_auth_token_encrypted")
        batch_op.drop_column("twilio_account_sid")
