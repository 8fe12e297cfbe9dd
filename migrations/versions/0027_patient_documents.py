"""patient_document: files kept about a patient (referral letters, reports, consent forms)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"tables": ["patient_document"]}


def upgrade() -> None:
    op.create_table(
        "patient_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=120), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column(
            "tag",
            sa.Enum(
                "referral",
                "prior_report",
                "consent",
                "school_report",
                "other",
                name="document_tag",
                native_enum=False,
                create_constraint=True,
                length=21,
            ),
            nullable=False,
        ),
        sa.Column(
            "access",
            sa.Enum(
                "clinical",
                "all_staff",
                name="document_access",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by_id", sa.Integer(), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(file_name) >= 1", name=op.f("ck_patient_document_file_name_length")
        ),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_patient_document_size_not_negative")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_patient_document_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by_id"],
            ["staff_user.id"],
            name=op.f("fk_patient_document_deleted_by_id_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_document_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["staff_user.id"],
            name=op.f("fk_patient_document_uploaded_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_document")),
    )
    with op.batch_alter_table("patient_document", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_document_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_document_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("patient_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_document_patient_id"))
        batch_op.drop_index(batch_op.f("ix_patient_document_clinic_id"))

    op.drop_table("patient_document")
