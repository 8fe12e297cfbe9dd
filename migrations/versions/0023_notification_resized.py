"""staff_notification.kind: "resized" (a session's length changed, not its time)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "ck_staff_notification_staff_notification_kind"


def upgrade() -> None:
    with op.batch_alter_table("staff_notification", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(
            op.f(CHECK), "kind IN ('booked', 'moved', 'cancelled', 'request', 'resized')"
        )


def downgrade() -> None:
    # Before this revision a length change was told as a move: say so again.
    op.execute("UPDATE staff_notification SET kind = 'moved' WHERE kind = 'resized'")
    with op.batch_alter_table("staff_notification", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(
            op.f(CHECK), "kind IN ('booked', 'moved', 'cancelled', 'request')"
        )
