"""waitlist_entry (one time offered to one person at a time: a partial unique index) and
the clinic's waitlist hold and staleness

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["waitlist_entry"],
    "columns": {"clinic_policy": ["waitlist_hold_minutes", "waitlist_days"]},
}


def upgrade() -> None:
    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=True),
        sa.Column("weekdays", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("earliest", sa.Time(), nullable=True),
        sa.Column("latest", sa.Time(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "offered",
                "booked",
                "expired",
                "removed",
                name="waitlist_status",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declined", sa.JSON(), nullable=False),
        sa.Column("offer_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_therapist_id", sa.Integer(), nullable=True),
        sa.Column("offer_location_id", sa.Integer(), nullable=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status <> 'offered' OR (offer_start IS NOT NULL AND offer_expires_at IS NOT NULL)",
            name=op.f("ck_waitlist_entry_offer_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_waitlist_entry_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_waitlist_entry_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offer_location_id"],
            ["location.id"],
            name=op.f("fk_waitlist_entry_offer_location_id_location"),
        ),
        sa.ForeignKeyConstraint(
            ["offer_therapist_id"],
            ["therapist.id"],
            name=op.f("fk_waitlist_entry_offer_therapist_id_therapist"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_waitlist_entry_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_waitlist_entry_service_id_service")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist.id"],
            name=op.f("fk_waitlist_entry_therapist_id_therapist"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entry")),
    )
    with op.batch_alter_table("waitlist_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waitlist_entry_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            "ix_waitlist_entry_line", ["clinic_id", "status", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waitlist_entry_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            "uq_waitlist_entry_one_offer_per_time",
            ["offer_therapist_id", "offer_start"],
            unique=True,
            sqlite_where=sa.text("status = 'offered'"),
            postgresql_where=sa.text("status = 'offered'"),
        )

    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waitlist_hold_minutes", sa.Integer(), server_default="15", nullable=False)
        )
        batch_op.add_column(
            sa.Column("waitlist_days", sa.Integer(), server_default="60", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_policy_waitlist_hold_range"), "waitlist_hold_minutes BETWEEN 5 AND 240"
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_policy_waitlist_days_range"), "waitlist_days BETWEEN 1 AND 365"
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_policy_waitlist_days_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_clinic_policy_waitlist_hold_range"), type_="check")
        batch_op.drop_column("waitlist_days")
        batch_op.drop_column("waitlist_hold_minutes")

    with op.batch_alter_table("waitlist_entry", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_waitlist_entry_one_offer_per_time",
            sqlite_where=sa.text("status = 'offered'"),
            postgresql_where=sa.text("status = 'offered'"),
        )
        batch_op.drop_index(batch_op.f("ix_waitlist_entry_patient_id"))
        batch_op.drop_index("ix_waitlist_entry_line")
        batch_op.drop_index(batch_op.f("ix_waitlist_entry_clinic_id"))

    op.drop_table("waitlist_entry")
