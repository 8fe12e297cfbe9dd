"""content templates for WhatsApp buttons and lists, per Twilio account, shape and language

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
# (The templates stay at Twilio: `roshni whatsapp sync` adopts them again by name.)
DOWNGRADE_DROPS = {"tables": ["content_template"]}


def upgrade() -> None:
    op.create_table(
        "content_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("shape", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("content_sid", sa.String(length=34), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_template")),
        sa.UniqueConstraint(
            "account_sid",
            "shape",
            "language",
            name=op.f("uq_content_template_account_sid_shape_language"),
        ),
    )


def downgrade() -> None:
    op.drop_table("content_template")
