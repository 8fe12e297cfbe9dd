"""Courses, video and cards: appointment_series (+ appointment.series_id), online sessions
(service.in_person, appointment.online/video_url, therapist.video_link, the clinic's video
rooms) and Stripe (the clinic's keys, payment_link.provider, longer link ids and URLs)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {
    "tables": ["appointment_series"],
    "columns": {
        "appointment": ["series_id", "online", "video_url"],
        "clinic": ["stripe_secret_key_encrypted", "stripe_webhook_secret_encrypted"],
        "clinic_policy": ["video_rooms", "jitsi_base_url"],
        "payment_link": ["provider"],
        "service": ["in_person"],
        "therapist": ["video_link"],
    },
}


def upgrade() -> None:
    op.create_table(
        "appointment_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("every_weeks", sa.Integer(), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "every_weeks BETWEEN 1 AND 4", name=op.f("ck_appointment_series_every_weeks_range")
        ),
        sa.CheckConstraint(
            "sessions IS NOT NULL OR until IS NOT NULL",
            name=op.f("ck_appointment_series_has_an_end"),
        ),
        sa.CheckConstraint(
            "sessions IS NULL OR sessions BETWEEN 1 AND 104",
            name=op.f("ck_appointment_series_sessions_range"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_appointment_series_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_appointment_series_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_appointment_series_service_id_service")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist.id"],
            name=op.f("fk_appointment_series_therapist_id_therapist"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_series")),
    )
    with op.batch_alter_table("appointment_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_series_clinic_id"), ["clinic_id"])
        batch_op.create_index(batch_op.f("ix_appointment_series_patient_id"), ["patient_id"])

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("online", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("video_url", sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointment_series_id"), ["series_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_appointment_series_id_appointment_series"),
            "appointment_series",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stripe_secret_key_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("stripe_webhook_secret_encrypted", sa.Text(), nullable=True))

    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("video_rooms", sa.String(length=10), server_default="jitsi", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "jitsi_base_url",
                sa.String(length=200),
                server_default="https://meet.jit.si",
                nullable=False,
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_policy_video_rooms_value"), "video_rooms IN ('jitsi', 'therapist')"
        )

    with op.batch_alter_table("payment_link", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider", sa.String(length=10), server_default="razorpay", nullable=False)
        )
        batch_op.alter_column(
            "provider_link_id",
            existing_type=sa.VARCHAR(length=40),
            type_=sa.String(length=80),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "short_url",
            existing_type=sa.VARCHAR(length=300),
            type_=sa.String(length=1000),
            existing_nullable=True,
        )
        batch_op.create_check_constraint(
            op.f("ck_payment_link_provider_value"), "provider IN ('razorpay', 'stripe')"
        )

    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_person", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_service_delivered_somehow"), "in_person OR online"
        )

    with op.batch_alter_table("therapist", schema=None) as batch_op:
        batch_op.add_column(sa.Column("video_link", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("therapist", schema=None) as batch_op:
        batch_op.drop_column("video_link")

    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_service_delivered_somehow"), type_="check")
        batch_op.drop_column("in_person")

    with op.batch_alter_table("payment_link", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payment_link_provider_value"), type_="check")
        batch_op.alter_column(
            "short_url",
            existing_type=sa.String(length=1000),
            type_=sa.VARCHAR(length=300),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "provider_link_id",
            existing_type=sa.String(length=80),
            type_=sa.VARCHAR(length=40),
            existing_nullable=True,
        )
        batch_op.drop_column("provider")

    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_policy_video_rooms_value"), type_="check")
        batch_op.drop_column("jitsi_base_url")
        batch_op.drop_column("video_rooms")

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("stripe_webhook_secret_encrypted")
        batch_op.drop_column("stripe_secret_key_encrypted")

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_appointment_series_id_appointment_series"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_appointment_series_id"))
        batch_op.drop_column("video_url")
        batch_op.drop_column("online")
        batch_op.drop_column("series_id")

    with op.batch_alter_table("appointment_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_series_patient_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_series_clinic_id"))

    op.drop_table("appointment_series")
