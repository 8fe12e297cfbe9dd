"""reschedule requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["reschedule_request"],
}


def upgrade() -> None:
    op.create_table(
        "reschedule_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column(
            "requester_type",
            sa.Enum(
                "patient",
                "therapist",
                name="reschedule_requester_type",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("proposed_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "withdrawn",
                name="reschedule_status",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("new_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("original_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_reschedule_request_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_reschedule_request_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reschedule_request")),
    )
    with op.batch_alter_table("reschedule_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reschedule_request_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reschedule_request_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            "ix_reschedule_request_clinic_status", ["clinic_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_reschedule_request_one_pending",
            ["appointment_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("reschedule_request", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_reschedule_request_one_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index("ix_reschedule_request_clinic_status")
        batch_op.drop_index(batch_op.f("ix_reschedule_request_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_reschedule_request_appointment_id"))

    op.drop_table("reschedule_request")
