"""clinic_policy.course_billing: a prepaid course is invoiced per session or as one
package (one invoice for every session, each session paid from its credit)

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOWNGRADE_DROPS = {"columns": {"clinic_policy": ["course_billing"]}}

# SQLite alters clinic_policy by copying it, and a copy keeps no triggers: 0018's
# settings-version triggers are put back after (as 0035 does).
SQLITE_BODY = (
    "INSERT INTO settings_version (id, token) VALUES (1, lower(hex(randomblob(16)))) "
    "ON CONFLICT (id) DO UPDATE SET token = excluded.token;"
)


def _triggers_again() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS clinic_policy_settings_version_{event.lower()} "
            f"AFTER {event} ON clinic_policy BEGIN {SQLITE_BODY} END"
        )


def upgrade() -> None:
    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "course_billing", sa.String(length=10), server_default="session", nullable=False
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_policy_course_billing_value"),
            "course_billing IN ('session', 'package')",
        )
    _triggers_again()


def downgrade() -> None:
    with op.batch_alter_table("clinic_policy", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_policy_course_billing_value"), type_="check")
        batch_op.drop_column("course_billing")
    _triggers_again()
