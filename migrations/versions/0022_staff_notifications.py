"""staff_notification; staff_user.phone, notify_whatsapp; clinic_policy.tell_therapists_by_whatsapp

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["staff_notification"],
    "columns": {
        "staff_user": ["phone", "notify_whatsapp"],
        "clinic_policy": ["tell_therapists_by_whatsapp"],
    },
}


def upgrade() -> None:
    op.create_table(
        "staff_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "booked",
                "moved",
                "cancelled",
                "request",
                name="staff_notification_kind",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_staff_notification_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_staff_notification_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_user.id"],
            name=op.f("fk_staff_notification_staff_user_id_staff_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notification")),
    )
    with op.batch_alter_table("staff_notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_notification_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_staff_notification_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            "ix_staff_notification_user_read", ["staff_user_id", "read_at"], unique=False
        )
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("notify_whatsapp", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tell_therapists_by_whatsapp",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.drop_column("tell_therapists_by_whatsapp")
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_column("notify_whatsapp")
        batch_op.drop_column("phone")
    with op.batch_alter_table("staff_notification", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_notification_user_read")
        batch_op.drop_index(batch_op.f("ix_staff_notification_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_staff_notification_appointment_id"))
    op.drop_table("staff_notification")
