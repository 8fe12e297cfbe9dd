"""billing

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": [
        "refund",
        "payment_allocation",
        "payment",
        "payment_link",
        "invoice_line",
        "credit_entry",
        "invoice",
        "package",
        "provider_event",
        "document_counter",
    ],
    "columns": {
        "service": ["accept_partial", "hold_minutes", "prepay_required"],
        "clinic_policy": ["financial_year_start_month", "tax_rate_bp", "tax_label"],
        "clinic": [
            "upi_payee_name",
            "upi_vpa",
            "razorpay_webhook_secret_encrypted",
            "razorpay_key_secret_encrypted",
            "razorpay_key_id",
            "tax_id",
        ],
        "appointment": ["hold_expires_at"],
    },
}


def upgrade() -> None:
    op.create_table(
        "document_counter",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_document_counter_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clinic_id", "series", "year", name=op.f("pk_document_counter")),
    )
    op.create_table(
        "provider_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_provider_event_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_event")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_provider_event_provider_event_id")
        ),
    )
    with op.batch_alter_table("provider_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_event_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index("ix_provider_event_pending", ["processed_at", "id"], unique=False)

    op.create_table(
        "package",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_package_price_not_negative")),
        sa.CheckConstraint("sessions BETWEEN 1 AND 200", name=op.f("ck_package_sessions_range")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_package_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_package_service_id_service"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package")),
        sa.UniqueConstraint("clinic_id", "name", name=op.f("uq_package_clinic_id_name")),
    )
    with op.batch_alter_table("package", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_package_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_minor", sa.Integer(), nullable=False),
        sa.Column("tax_label", sa.String(length=20), nullable=True),
        sa.Column("tax_rate_bp", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("tax_minor", sa.Integer(), nullable=False),
        sa.Column("total_minor", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issued",
                "void",
                name="invoice_status",
                native_enum=False,
                create_constraint=True,
                length=14,
            ),
            nullable=False,
        ),
        sa.Column("void_reason", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "subtotal_minor >= 0 AND tax_minor >= 0", name=op.f("ck_invoice_amounts_not_negative")
        ),
        sa.CheckConstraint(
            "total_minor = subtotal_minor + tax_minor", name=op.f("ck_invoice_total_adds_up")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_invoice_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_invoice_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_invoice_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice")),
        sa.UniqueConstraint("clinic_id", "number", name=op.f("uq_invoice_clinic_id_number")),
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "credit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "package",
                "drawn",
                "returned",
                "adjustment",
                name="credit_kind",
                native_enum=False,
                create_constraint=True,
                length=18,
            ),
            nullable=False,
        ),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("package_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("sessions <> 0", name=op.f("ck_credit_entry_sessions_not_zero")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_credit_entry_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_credit_entry_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_credit_entry_invoice_id_invoice"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["package.id"],
            name=op.f("fk_credit_entry_package_id_package"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_credit_entry_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_credit_entry_service_id_service"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entry")),
    )
    with op.batch_alter_table("credit_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_entry_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_credit_entry_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_credit_entry_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "invoice_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "session",
                "package",
                "other",
                name="line_kind",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_minor", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("package_id", sa.Integer(), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "amount_minor = quantity * unit_minor", name=op.f("ck_invoice_line_amount_adds_up")
        ),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_invoice_line_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_invoice_line_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_invoice_line_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_invoice_line_invoice_id_invoice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["package.id"],
            name=op.f("fk_invoice_line_package_id_package"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line")),
    )
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_line_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoice_line_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index("ix_invoice_line_invoice", ["invoice_id"], unique=False)

    op.create_table(
        "payment_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("reference_id", sa.String(length=40), nullable=False),
        sa.Column("provider_link_id", sa.String(length=40), nullable=True),
        sa.Column("short_url", sa.String(length=300), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("amount_paid_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("accept_partial", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "created",
                "partially_paid",
                "paid",
                "expired",
                "cancelled",
                "failed",
                name="link_status",
                native_enum=False,
                create_constraint=True,
                length=22,
            ),
            nullable=False,
        ),
        sa.Column("expire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor >= 100", name=op.f("ck_payment_link_amount_minimum")),
        sa.CheckConstraint(
            "amount_paid_minor >= 0", name=op.f("ck_payment_link_paid_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_payment_link_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_payment_link_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_payment_link_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_payment_link_invoice_id_invoice"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_link")),
        sa.UniqueConstraint("provider_link_id", name=op.f("uq_payment_link_provider_link_id")),
        sa.UniqueConstraint("reference_id", name=op.f("uq_payment_link_reference_id")),
    )
    with op.batch_alter_table("payment_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_link_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payment_link_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payment_link_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            "ix_payment_link_status_expire", ["status", "expire_at"], unique=False
        )

    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column(
            "method",
            sa.Enum(
                "payment_link",
                "upi",
                "cash",
                "card",
                "bank_transfer",
                "credit",
                name="payment_method",
                native_enum=False,
                create_constraint=True,
                length=21,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "awaiting_confirmation",
                "received",
                "rejected",
                name="payment_state",
                native_enum=False,
                create_constraint=True,
                length=29,
            ),
            nullable=False,
        ),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=40), nullable=True),
        sa.Column("payment_link_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("receipt_number", sa.String(length=32), nullable=True),
        sa.Column("public_token", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("recorded_by", sa.String(length=40), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payment_amount_positive")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_payment_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_payment_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_payment_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["payment_link_id"],
            ["payment_link.id"],
            name=op.f("fk_payment_payment_link_id_payment_link"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint(
            "clinic_id", "receipt_number", name=op.f("uq_payment_clinic_id_receipt_number")
        ),
        sa.UniqueConstraint("public_token", name=op.f("uq_payment_public_token")),
        sa.UniqueConstraint("provider_payment_id", name=op.f("uq_payment_provider_payment_id")),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "payment_allocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payment_allocation_amount_positive")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_payment_allocation_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_payment_allocation_invoice_id_invoice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payment.id"],
            name=op.f("fk_payment_allocation_payment_id_payment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_allocation")),
    )
    with op.batch_alter_table("payment_allocation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_allocation_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_allocation_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_allocation_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processed",
                "failed",
                name="refund_status",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("provider_refund_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_refund_amount_positive")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_refund_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_refund_payment_id_payment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund")),
        sa.UniqueConstraint("provider_refund_id", name=op.f("uq_refund_provider_refund_id")),
    )
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refund_payment_id"), ["payment_id"], unique=False)

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tax_id", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("razorpay_key_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("razorpay_key_secret_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("razorpay_webhook_secret_encrypted", sa.Text(), nullable=True)
        )
        batch_op.add_column(sa.Column("upi_vpa", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("upi_payee_name", sa.String(length=60), nullable=True))

    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tax_label", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("tax_rate_bp", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "financial_year_start_month", sa.Integer(), nullable=False, server_default="4"
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_policy_tax_rate_range"), "tax_rate_bp BETWEEN 0 AND 5000"
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_policy_fy_month_range"), "financial_year_start_month BETWEEN 1 AND 12"
        )

    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prepay_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("hold_minutes", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(
            sa.Column("accept_partial", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_check_constraint(
            op.f("ck_service_hold_range"), "hold_minutes BETWEEN 15 AND 1440"
        )

    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_message_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_outbound_message_message_kind"),
            "kind IN ('reminder', 'notice', 'dues', 'payment')",
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_message_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_outbound_message_message_kind"), "kind IN ('reminder', 'notice', 'dues')"
        )

    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_service_hold_range"), type_="check")
        batch_op.drop_column("accept_partial")
        batch_op.drop_column("hold_minutes")
        batch_op.drop_column("prepay_required")

    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_policy_fy_month_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_clinic_policy_tax_rate_range"), type_="check")
        batch_op.drop_column("financial_year_start_month")
        batch_op.drop_column("tax_rate_bp")
        batch_op.drop_column("tax_label")

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("upi_payee_name")
        batch_op.drop_column("upi_vpa")
        batch_op.drop_column("razorpay_webhook_secret_encrypted")
        batch_op.drop_column("razorpay_key_secret_encrypted")
        batch_op.drop_column("razorpay_key_id")
        batch_op.drop_column("tax_id")

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_column("hold_expires_at")

    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_payment_id"))
        batch_op.drop_index(batch_op.f("ix_refund_clinic_id"))

    op.drop_table("refund")
    with op.batch_alter_table("payment_allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_allocation_payment_id"))
        batch_op.drop_index(batch_op.f("ix_payment_allocation_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_payment_allocation_clinic_id"))

    op.drop_table("payment_allocation")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_contact_id"))
        batch_op.drop_index(batch_op.f("ix_payment_clinic_id"))

    op.drop_table("payment")
    with op.batch_alter_table("payment_link", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_link_status_expire")
        batch_op.drop_index(batch_op.f("ix_payment_link_contact_id"))
        batch_op.drop_index(batch_op.f("ix_payment_link_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_payment_link_appointment_id"))

    op.drop_table("payment_link")
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_line_invoice")
        batch_op.drop_index(batch_op.f("ix_invoice_line_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_line_appointment_id"))

    op.drop_table("invoice_line")
    with op.batch_alter_table("credit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_entry_patient_id"))
        batch_op.drop_index(batch_op.f("ix_credit_entry_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_credit_entry_appointment_id"))

    op.drop_table("credit_entry")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_patient_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_contact_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_clinic_id"))

    op.drop_table("invoice")
    with op.batch_alter_table("package", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_package_clinic_id"))

    op.drop_table("package")
    with op.batch_alter_table("provider_event", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_event_pending")
        batch_op.drop_index(batch_op.f("ix_provider_event_clinic_id"))

    op.drop_table("provider_event")
    op.drop_table("document_counter")
