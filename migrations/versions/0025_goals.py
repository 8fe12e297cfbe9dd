"""goal, goal_measure: therapy goals per patient and the values sessions measured

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"tables": ["goal_measure", "goal"]}


def upgrade() -> None:
    op.create_table(
        "goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "term",
            sa.Enum(
                "long",
                "short",
                name="goal_term",
                native_enum=False,
                create_constraint=True,
                length=13,
            ),
            nullable=False,
        ),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("behaviour", sa.Text(), nullable=False),
        sa.Column("measure", sa.String(length=120), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "achieved",
                "discontinued",
                name="goal_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("baseline <> target", name=op.f("ck_goal_baseline_is_not_target")),
        sa.CheckConstraint(
            "length(behaviour) BETWEEN 1 AND 5000", name=op.f("ck_goal_behaviour_length")
        ),
        sa.CheckConstraint("length(measure) >= 1", name=op.f("ck_goal_measure_length")),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_goal_clinic_id_clinic"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["goal.id"], name=op.f("fk_goal_parent_id_goal")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_goal_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["staff_user.id"], name=op.f("fk_goal_set_by_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal")),
    )
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goal_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_goal_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "goal_measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_goal_measure_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goal.id"], name=op.f("fk_goal_measure_goal_id_goal")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["session_record.id"],
            name=op.f("fk_goal_measure_record_id_session_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_measure")),
        sa.UniqueConstraint("goal_id", "record_id", name=op.f("uq_goal_measure_goal_id_record_id")),
    )
    with op.batch_alter_table("goal_measure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goal_measure_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_goal_measure_goal_id"), ["goal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_goal_measure_record_id"), ["record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("goal_measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goal_measure_record_id"))
        batch_op.drop_index(batch_op.f("ix_goal_measure_goal_id"))
        batch_op.drop_index(batch_op.f("ix_goal_measure_clinic_id"))

    op.drop_table("goal_measure")
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goal_patient_id"))
        batch_op.drop_index(batch_op.f("ix_goal_clinic_id"))

    op.drop_table("goal")
