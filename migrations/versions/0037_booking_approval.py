"""Booking approval: clinic_policy.approve_chat_bookings and the appointment status
"requested" (a chat booking staff approve or decline; it holds the therapist's time
meanwhile, so PostgreSQL's no_overlap exclusion counts it as active).

The status column is VARCHAR + CHECK: the CHECK is rewritten on both backends (a batch
rebuild of appointment on SQLite; appointment carries no triggers). The new clinic_policy
column is added in place (no rebuild), so 0018's settings triggers stay.

Downgrade converts every request to a cancelled session (reason given) rather than
refusing: the old schema has no way to say "waiting for the clinic", and turning a
request into a booking would give the patient a session no one approved. The guarded
downgrade already asks for a backup, as the dropped column holds a value per clinic.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What downgrade() drops; `roshni db downgrade` refuses while any of it holds data.
DOWNGRADE_DROPS = {"columns": {"clinic_policy": ["approve_chat_bookings"]}}

CHECK = "ck_appointment_appointment_status"
OLD_STATUSES = ("booked", "confirmed", "completed", "cancelled", "no_show")
NEW_STATUSES = (*OLD_STATUSES, "requested")
OLD_ACTIVE = ("booked", "confirmed")
NEW_ACTIVE = ("booked", "confirmed", "requested")


def _in(values: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _rewrite(statuses: Sequence[str], active: Sequence[str]) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE appointment DROP CONSTRAINT no_overlap")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), _in(statuses))
    if postgresql:
        op.execute(
            "ALTER TABLE appointment ADD CONSTRAINT no_overlap EXCLUDE USING gist ("
            "therapist_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&, overlap_key WITH <>"
            f") WHERE ({_in(active)})"
        )


def upgrade() -> None:
    op.add_column(
        "clinic_policy",
        sa.Column("approve_chat_bookings", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _rewrite(NEW_STATUSES, NEW_ACTIVE)


def downgrade() -> None:
    op.execute(
        "UPDATE appointment SET status = 'cancelled', cancelled_at = updated_at, "
        "cancelled_by = 'system', cancellation_reason = "
        "'booking request not decided before the approval feature was removed' "
        "WHERE status = 'requested'"
    )
    _rewrite(OLD_STATUSES, OLD_ACTIVE)
    # In place on both backends (SQLite 3.35+), so the settings triggers stay.
    op.drop_column("clinic_policy", "approve_chat_bookings")
