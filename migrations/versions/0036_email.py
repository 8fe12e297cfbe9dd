"""email for contacts: contact.email, its preference, bounce and unsubscribe, and the
email outbox (outbound_email)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["outbound_email"],
    "columns": {"contact": ["email", "email_preference", "email_bounced_at", "email_opted_out_at"]},
}

MESSAGE_KINDS = ("reminder", "notice", "dues", "payment", "exercise")
STATUSES = ("queued", "sending", "sent", "delivered", "read", "failed", "undelivered", "cancelled")


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(
            sa.Column(
                "email_preference",
                sa.Enum(
                    "chat",
                    "email",
                    "both",
                    name="email_preference",
                    native_enum=False,
                    create_constraint=True,
                    length=13,
                ),
                server_default="chat",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("email_bounced_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("email_opted_out_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(op.f("ck_contact_email_lowercase"), "email = lower(email)")
        batch_op.create_index("ix_contact_email", ["email"], unique=False)

    op.create_table(
        "outbound_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                *MESSAGE_KINDS,
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
                *STATUSES,
                name="outbound_status",
                native_enum=False,
                create_constraint=True,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column("template_key", sa.String(length=40), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=20), nullable=True),
        sa.Column("error_message", sa.String(length=300), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_outbound_email_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_outbound_email_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_outbound_email_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_outbound_email_invoice_id_invoice"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payment.id"],
            name=op.f("fk_outbound_email_payment_id_payment"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_email")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_email_idempotency_key")),
    )
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_email_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbound_email_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index("ix_outbound_email_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_email_due")
        batch_op.drop_index(batch_op.f("ix_outbound_email_contact_id"))
        batch_op.drop_index(batch_op.f("ix_outbound_email_clinic_id"))
    op.drop_table("outbound_email")

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_email")
        batch_op.drop_constraint(op.f("ck_contact_email_lowercase"), type_="check")
        batch_op.drop_constraint(op.f("ck_contact_email_preference"), type_="check")
        batch_op.drop_column("email_opted_out_at")
        batch_op.drop_column("email_bounced_at")
        batch_op.drop_column("email_preference")
        batch_op.drop_column("email")
