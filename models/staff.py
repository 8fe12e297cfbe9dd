"""People who log in to the admin panel, and the failed logins that slow down guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Timestamped, str_enum
from models.clinic import Clinic
from models.enums import Role


class StaffUser(Timestamped, Base):
    __tablename__ = "staff_user"
    __audit_exclude__ = (
        "password_hash",
        "totp_secret_encrypted",
        "totp_last_step",
        "session_epoch",
    )

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
    # Consecutive wrong passwords or codes; at the limit the account is locked a while.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    # Optional second factor: an RFC 6238 secret, encrypted with core.secrets. A secret
    # counts only once totp_enabled_at is set (after the user proved a code from it).
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None]
    # The 30-second step of the last code accepted: a code is good once, never again.
    totp_last_step: Mapped[int | None]
    # Every login session carries the epoch it began in; raising it (logout, a new
    # password, deactivation) ends all of the account's sessions at their next request.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # The panel's language ("en", "hi"); None reads the clinic's language (admin/i18n.py).
    locale: Mapped[str | None] = mapped_column(String(8))
    # Where the clinic may tell this member of staff about their patients' sessions by
    # WhatsApp (E.164), and whether they want it (``services.staff.notifications``).
    phone: Mapped[str | None] = mapped_column(String(20))
    notify_whatsapp: Mapped[bool] = mapped_column(default=False, server_default=false())

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
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret_encrypted is not None

    @property
    def is_superadmin(self) -> bool:
        return self.role is Role.SUPERADMIN

    def __str__(self) -> str:
        return self.email


class LoginAttempt(Base):
    """A failed login from a client, kept a short while to limit guessing per address.

    In the database rather than in memory so that every web worker sees the same
    count. ``ip_hash`` is a keyed SHA-256 of the address: the raw IP is never stored.
    """

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]

    __table_args__ = (
        Index("ix_login_attempt_ip_hash_at", "ip_hash", "at"),
        Index("ix_login_attempt_at", "at"),
    )
