"""clinic_logo: the picture at the head of a clinic's PDFs

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"tables": ["clinic_logo"]}


def upgrade() -> None:
    op.create_table(
        "clinic_logo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_clinic_logo_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_logo")),
        sa.UniqueConstraint("clinic_id", name=op.f("uq_clinic_logo_clinic_id")),
    )
    with op.batch_alter_table("clinic_logo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clinic_logo_clinic_id"), ["clinic_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clinic_logo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinic_logo_clinic_id"))

    op.drop_table("clinic_logo")
