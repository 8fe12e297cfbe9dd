"""Who changed what, when: one row per change, never updated."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum
from models.enums import ActorType


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null only for deployment-level changes a superadmin makes (e.g. creating a clinic).
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    actor_type: Mapped[ActorType] = mapped_column(str_enum(ActorType, "actor_type"))
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC))

    __table_args__ = (
        Index("ix_audit_log_clinic_created", "clinic_id", "created_at"),
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
    )
