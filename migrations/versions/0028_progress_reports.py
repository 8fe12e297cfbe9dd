"""progress_report: a period's report for a patient's guardians, draft until signed

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"tables": ["progress_report"]}


def upgrade() -> None:
    op.create_table(
        "progress_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("recommendations", sa.Text(), nullable=True),
        sa.Column("home_programme", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "signed",
                name="progress_report_status",
                native_enum=False,
                create_constraint=True,
                length=14,
            ),
            nullable=False,
        ),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link_token", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'signed') = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL)",
            name=op.f("ck_progress_report_signed_has_signer"),
        ),
        sa.CheckConstraint(
            "length(home_programme) <= 5000", name=op.f("ck_progress_report_home_programme_length")
        ),
        sa.CheckConstraint(
            "length(recommendations) <= 5000",
            name=op.f("ck_progress_report_recommendations_length"),
        ),
        sa.CheckConstraint(
            "length(summary) <= 5000", name=op.f("ck_progress_report_summary_length")
        ),
        sa.CheckConstraint(
            "period_end >= period_start", name=op.f("ck_progress_report_period_in_order")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_user.id"], name=op.f("fk_progress_report_author_id_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_progress_report_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_progress_report_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["staff_user.id"],
            name=op.f("fk_progress_report_signed_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_report")),
        sa.UniqueConstraint("link_token", name=op.f("uq_progress_report_link_token")),
    )
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_report_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_progress_report_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_progress_report_patient_id"))
        batch_op.drop_index(batch_op.f("ix_progress_report_clinic_id"))

    op.drop_table("progress_report")
