"""People who log in to the admin panel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Timestamped, str_enum
from models.clinic import Clinic
from models.enums import Role


class StaffUser(Timestamped, Base):
    __tablename__ = "staff_user"
    __audit_exclude__ = ("password_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A superadmin runs the deployment and belongs to no clinic; everyone else has one.
    clinic_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    clinic: Mapped[Clinic | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(role = 'superadmin' AND clinic_id IS NULL) OR "
            "(role <> 'superadmin' AND clinic_id IS NOT NULL)",
            name="clinic_matches_role",
        ),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_superadmin(self) -> bool:
        return self.role is Role.SUPERADMIN

    def __str__(self) -> str:
        return self.email
