"""clinic_policy.document_max_mb: the clinic's limit on a patient document (10 MB unless set)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"columns": {"clinic_policy": ["document_max_mb"]}}


def upgrade() -> None:
    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("document_max_mb", sa.Integer(), server_default="10", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_policy_document_max_range"), "document_max_mb BETWEEN 1 AND 50"
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_policy_document_max_range"), type_="check")
        batch_op.drop_column("document_max_mb")
