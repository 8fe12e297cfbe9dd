"""inbound media: files and shared locations that came with a chat message

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"tables": ["inbound_media"], "columns": {}}


def upgrade() -> None:
    op.create_table(
        "inbound_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "fetched",
                "kept",
                "refused",
                "failed",
                name="media_status",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("storage_key", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_inbound_media_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbound_message.id"],
            name=op.f("fk_inbound_media_message_id_inbound_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_media")),
        sa.UniqueConstraint("message_id", "index", name=op.f("uq_inbound_media_message_id_index")),
    )
    with op.batch_alter_table("inbound_media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_media_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inbound_media_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index("ix_inbound_media_pending", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_media", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_media_pending")
        batch_op.drop_index(batch_op.f("ix_inbound_media_message_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_media_clinic_id"))
    op.drop_table("inbound_media")
