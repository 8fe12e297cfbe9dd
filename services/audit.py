"""Audit rows. Services call ``record`` inside the transaction of the change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from models import ActorType, AuditLog
from models.base import column_values


@dataclass(frozen=True)
class Actor:
    """Who is doing something: a staff user, a contact (over chat) or the system."""

    type: ActorType
    id: int | None = None

    @classmethod
    def staff(cls, user_id: int) -> Actor:
        return cls(ActorType.STAFF, user_id)

    @classmethod
    def contact(cls, contact_id: int) -> Actor:
        return cls(ActorType.CONTACT, contact_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM, None)

    @property
    def is_staff(self) -> bool:
        return self.type is ActorType.STAFF

    def label(self) -> str:
        return self.type.value if self.id is None else f"{self.type.value}:{self.id}"


def snapshot(obj: Any) -> dict[str, Any]:
    return column_values(obj)


def record(
    session: Session,
    *,
    clinic_id: int | None,
    actor: Actor,
    action: str,
    entity: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to the session; it commits with the change it describes."""
    if after is None and not action.endswith(".delete"):
        if getattr(entity, "id", "") is None:
            session.flush()  # the new row needs its id for the audit entry
        after = snapshot(entity)
    before, after = _changed_only(before, after)
    row = AuditLog(
        clinic_id=clinic_id,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        entity_type=type(entity).__name__,
        entity_id=None if getattr(entity, "id", None) is None else str(entity.id),
        before=before,
        after=after,
    )
    session.add(row)
    return row


def _changed_only(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Whole rows for creates and deletes; for updates only what changed."""
    if before is None or after is None:
        return before, after
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
