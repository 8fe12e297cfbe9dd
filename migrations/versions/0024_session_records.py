"""session_record: the structured note per session (SOAP), draft until signed

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"tables": ["session_record"]}


def upgrade() -> None:
    op.create_table(
        "session_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=True),
        sa.Column("objective", sa.Text(), nullable=True),
        sa.Column("assessment", sa.Text(), nullable=True),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("activities", sa.Text(), nullable=True),
        sa.Column("homework", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column(
            "attendance",
            sa.Enum(
                "on_time",
                "late",
                "partial",
                name="session_attendance",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "signed",
                name="session_record_status",
                native_enum=False,
                create_constraint=True,
                length=14,
            ),
            nullable=False,
        ),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'signed') = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL)",
            name=op.f("ck_session_record_signed_has_signer"),
        ),
        sa.CheckConstraint(
            "length(activities) <= 5000", name=op.f("ck_session_record_activities_length")
        ),
        sa.CheckConstraint(
            "length(assessment) <= 5000", name=op.f("ck_session_record_assessment_length")
        ),
        sa.CheckConstraint(
            "length(homework) <= 5000", name=op.f("ck_session_record_homework_length")
        ),
        sa.CheckConstraint(
            "length(objective) <= 5000", name=op.f("ck_session_record_objective_length")
        ),
        sa.CheckConstraint("length(plan) <= 5000", name=op.f("ck_session_record_plan_length")),
        sa.CheckConstraint(
            "length(response) <= 5000", name=op.f("ck_session_record_response_length")
        ),
        sa.CheckConstraint(
            "length(subjective) <= 5000", name=op.f("ck_session_record_subjective_length")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_session_record_appointment_id_appointment"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_user.id"], name=op.f("fk_session_record_author_id_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_session_record_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_session_record_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["staff_user.id"],
            name=op.f("fk_session_record_signed_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_record")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_session_record_appointment_id")),
    )
    with op.batch_alter_table("session_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_record_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_session_record_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("session_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_record_patient_id"))
        batch_op.drop_index(batch_op.f("ix_session_record_clinic_id"))

    op.drop_table("session_record")
