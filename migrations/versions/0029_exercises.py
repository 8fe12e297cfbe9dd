"""exercise, exercise_assignment, exercise_reply: home exercise programmes and the
guardians' answers; outbound kind "exercise" (the nudges); patient_document.inbound_media_id
(a document filed from a chat attachment)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["exercise_reply", "exercise_assignment", "exercise"],
    "columns": {"patient_document": ["inbound_media_id"]},
}
KINDS_BEFORE = "kind IN ('reminder', 'notice', 'dues', 'payment')"
KINDS_AFTER = "kind IN ('reminder', 'notice', 'dues', 'payment', 'exercise')"


def upgrade() -> None:
    op.create_table(
        "exercise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("therapy_type", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(instructions) BETWEEN 1 AND 5000", name=op.f("ck_exercise_instructions_length")
        ),
        sa.CheckConstraint("length(name) >= 1", name=op.f("ck_exercise_name_length")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_exercise_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise")),
        sa.UniqueConstraint(
            "clinic_id",
            "therapy_type",
            "name",
            name=op.f("uq_exercise_clinic_id_therapy_type_name"),
        ),
    )
    with op.batch_alter_table("exercise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exercise_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "exercise_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("repetitions", sa.Integer(), nullable=False),
        sa.Column("nudge_time", sa.Time(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_by_id", sa.Integer(), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_exercise_assignment_period_in_order")
        ),
        sa.CheckConstraint(
            "length(notes) <= 5000", name=op.f("ck_exercise_assignment_notes_length")
        ),
        sa.CheckConstraint(
            "repetitions BETWEEN 1 AND 50", name=op.f("ck_exercise_assignment_repetitions_range")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["staff_user.id"],
            name=op.f("fk_exercise_assignment_assigned_by_id_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_exercise_assignment_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_exercise_assignment_exercise_id_exercise"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_exercise_assignment_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["stopped_by_id"],
            ["staff_user.id"],
            name=op.f("fk_exercise_assignment_stopped_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_assignment")),
    )
    with op.batch_alter_table("exercise_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exercise_assignment_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exercise_assignment_exercise_id"), ["exercise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exercise_assignment_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "exercise_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "done",
                "partial",
                "skipped",
                "media",
                name="exercise_outcome",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("done_count", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "done_count >= 0", name=op.f("ck_exercise_reply_done_count_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["exercise_assignment.id"],
            name=op.f("fk_exercise_reply_assignment_id_exercise_assignment"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_exercise_reply_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbound_message.id"],
            name=op.f("fk_exercise_reply_message_id_inbound_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_reply")),
        sa.UniqueConstraint(
            "assignment_id", "day", name=op.f("uq_exercise_reply_assignment_id_day")
        ),
    )
    with op.batch_alter_table("exercise_reply", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exercise_reply_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exercise_reply_clinic_id"), ["clinic_id"], unique=False
        )

    with op.batch_alter_table("patient_document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inbound_media_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_patient_document_inbound_media_id_inbound_media"),
            "inbound_media",
            ["inbound_media_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_message_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_kind"), KINDS_AFTER)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM outbound_message WHERE kind = 'exercise'"))
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_message_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_kind"), KINDS_BEFORE)

    with op.batch_alter_table("patient_document", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_patient_document_inbound_media_id_inbound_media"), type_="foreignkey"
        )
        batch_op.drop_column("inbound_media_id")

    with op.batch_alter_table("exercise_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_reply_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_exercise_reply_assignment_id"))

    op.drop_table("exercise_reply")
    with op.batch_alter_table("exercise_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_assignment_patient_id"))
        batch_op.drop_index(batch_op.f("ix_exercise_assignment_exercise_id"))
        batch_op.drop_index(batch_op.f("ix_exercise_assignment_clinic_id"))

    op.drop_table("exercise_assignment")
    with op.batch_alter_table("exercise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_clinic_id"))

    op.drop_table("exercise")
