"""answers from the clinic's data: staff Q&A, map links, online services, therapists'
gender and languages

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["clinic_answer"],
    "columns": {
        "location": ["map_url"],
        "service": ["online"],
        "therapist": ["gender", "languages"],
    },
}


def upgrade() -> None:
    op.create_table(
        "clinic_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("keywords", sa.String(length=300), nullable=True),
        sa.Column("question_hi", sa.String(length=300), nullable=True),
        sa.Column("answer_en", sa.Text(), nullable=False),
        sa.Column("answer_hi", sa.Text(), nullable=True),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(answer_en) BETWEEN 1 AND 1000", name=op.f("ck_clinic_answer_answer_length")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_clinic_answer_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_answer")),
    )
    with op.batch_alter_table("clinic_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clinic_answer_clinic_id"), ["clinic_id"], unique=False)

    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.add_column(sa.Column("map_url", sa.String(length=500), nullable=True))

    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("online", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("therapist", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gender", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("languages", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.create_check_constraint(
            op.f("ck_therapist_gender_value"), "gender IS NULL OR gender IN ('female', 'male')"
        )


def downgrade() -> None:
    with op.batch_alter_table("therapist", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_therapist_gender_value"), type_="check")
        batch_op.drop_column("languages")
        batch_op.drop_column("gender")

    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_column("online")

    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.drop_column("map_url")

    with op.batch_alter_table("clinic_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinic_answer_clinic_id"))

    op.drop_table("clinic_answer")
