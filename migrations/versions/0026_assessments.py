"""assessment, assessment_template, goal.assessment_id: assessments per patient, the clinic's
assessment templates per therapy type, and the assessment that set a goal

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["assessment", "assessment_template"],
    "columns": {"goal": ["assessment_id"]},
}


def upgrade() -> None:
    op.create_table(
        "assessment_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("therapy_type", sa.String(length=60), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_assessment_template_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_template")),
        sa.UniqueConstraint(
            "clinic_id", "therapy_type", name=op.f("uq_assessment_template_clinic_id_therapy_type")
        ),
    )
    with op.batch_alter_table("assessment_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_template_clinic_id"), ["clinic_id"], unique=False
        )

    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "initial",
                "progress",
                "reassessment",
                "discharge",
                name="assessment_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("therapy_type", sa.String(length=60), nullable=False),
        sa.Column("presenting_concerns", sa.Text(), nullable=True),
        sa.Column("history", sa.Text(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("recommendations", sa.Text(), nullable=True),
        sa.Column("sessions_per_week", sa.Integer(), nullable=True),
        sa.Column("session_minutes", sa.Integer(), nullable=True),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "signed",
                name="assessment_status",
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
            name=op.f("ck_assessment_signed_has_signer"),
        ),
        sa.CheckConstraint("length(findings) <= 5000", name=op.f("ck_assessment_findings_length")),
        sa.CheckConstraint("length(history) <= 5000", name=op.f("ck_assessment_history_length")),
        sa.CheckConstraint(
            "length(presenting_concerns) <= 5000",
            name=op.f("ck_assessment_presenting_concerns_length"),
        ),
        sa.CheckConstraint(
            "length(recommendations) <= 5000", name=op.f("ck_assessment_recommendations_length")
        ),
        sa.CheckConstraint(
            "length(therapy_type) >= 1", name=op.f("ck_assessment_therapy_type_length")
        ),
        sa.CheckConstraint(
            "session_minutes IS NULL OR session_minutes BETWEEN 5 AND 480",
            name=op.f("ck_assessment_session_minutes_range"),
        ),
        sa.CheckConstraint(
            "sessions_per_week IS NULL OR sessions_per_week BETWEEN 1 AND 14",
            name=op.f("ck_assessment_sessions_per_week_range"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_assessment_appointment_id_appointment"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_user.id"], name=op.f("fk_assessment_author_id_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_assessment_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_assessment_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["staff_user.id"], name=op.f("fk_assessment_signed_by_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
    )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assessment_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessment_patient_id"), ["patient_id"], unique=False)

    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_goal_assessment_id_assessment"), "assessment", ["assessment_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_goal_assessment_id_assessment"), type_="foreignkey")
        batch_op.drop_column("assessment_id")

    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_patient_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_appointment_id"))

    op.drop_table("assessment")
    with op.batch_alter_table("assessment_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_template_clinic_id"))

    op.drop_table("assessment_template")
