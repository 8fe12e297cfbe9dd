"""outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["outbound_message", "message_template"],
    "columns": {
        "clinic_policy": ["dues_reminder_time", "dues_reminder_day", "dues_reminders_enabled"],
    },
}


def upgrade() -> None:
    op.create_table(
        "message_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "whatsapp",
                "sms",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("content_sid", sa.String(length=64), nullable=True),
        sa.Column("variable_order", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("dlt_template_id", sa.String(length=40), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_message_template_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_template")),
        sa.UniqueConstraint(
            "clinic_id", "channel", "key", name=op.f("uq_message_template_clinic_id_channel_key")
        ),
    )
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_template_clinic_id"), ["clinic_id"], unique=False
        )

    op.create_table(
        "outbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "whatsapp",
                "sms",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "reminder",
                "notice",
                "dues",
                name="message_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sending",
                "sent",
                "delivered",
                "read",
                "failed",
                "undelivered",
                "cancelled",
                name="outbound_status",
                native_enum=False,
                create_constraint=True,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column("template_key", sa.String(length=40), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.String(length=20), nullable=True),
        sa.Column("error_message", sa.String(length=300), nullable=True),
        sa.Column("fallback_of_id", sa.Integer(), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_outbound_message_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_outbound_message_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_outbound_message_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fallback_of_id"],
            ["outbound_message.id"],
            name=op.f("fk_outbound_message_fallback_of_id_outbound_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_message_idempotency_key")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_outbound_message_provider_sid")),
    )
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_message_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbound_message_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            "ix_outbound_message_due", ["status", "next_attempt_at"], unique=False
        )

    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "dues_reminders_enabled", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("dues_reminder_day", sa.Integer(), nullable=False, server_default="15")
        )
        batch_op.add_column(
            sa.Column("dues_reminder_time", sa.Time(), nullable=False, server_default="10:00:00")
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_policy_dues_day_range"), "dues_reminder_day BETWEEN 1 AND 28"
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_policy_dues_day_range"), type_="check")
        batch_op.drop_column("dues_reminder_time")
        batch_op.drop_column("dues_reminder_day")
        batch_op.drop_column("dues_reminders_enabled")

    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_message_due")
        batch_op.drop_index(batch_op.f("ix_outbound_message_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_message_appointment_id"))

    op.drop_table("outbound_message")
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_template_clinic_id"))

    op.drop_table("message_template")
