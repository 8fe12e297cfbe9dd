"""Payment providers' webhook events, the part every provider shares: stored once by
(provider, event id) before anything else, then applied each in its own unit of work,
a failing one retried on later runs without blocking the rest.

What an event means is the provider's module's (``razorpay_sync``, ``stripe_sync``):
each passes its own ``apply``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import unit_of_work, write_transaction
from models import ProviderEvent

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
Apply = Callable[[Session, str, dict[str, Any], datetime], None]


def store_event(
    session: Session,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
    clinic_id: int | None,
) -> int | None:
    """Keep the event (once per provider and id); its row id, or None when seen before."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    with write_transaction(session):
        row_id = session.execute(
            insert(ProviderEvent)
            .values(
                provider=provider,
                event_id=event_id[:64],
                event_type=event_type[:60],
                payload=payload,
                received_at=now,
                clinic_id=clinic_id,
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(ProviderEvent.id)
        ).scalar()
    return row_id


def process_events(
    session: Session, *, provider: str, apply: Apply, now: datetime, limit: int = 200
) -> int:
    """Apply the provider's stored events not yet applied, oldest first."""
    pending = list(
        session.scalars(
            select(ProviderEvent.id)
            .where(
                ProviderEvent.provider == provider,
                ProviderEvent.processed_at.is_(None),
                ProviderEvent.attempts < MAX_ATTEMPTS,
            )
            .order_by(ProviderEvent.id)
            .limit(limit)
        )
    )
    session.rollback()
    done = 0
    for event_pk in pending:
        done += process_event(session, event_pk, apply=apply, now=now)
    return done


def process_event(session: Session, event_pk: int, *, apply: Apply, now: datetime) -> bool:
    try:
        # One unit of work: a late payment may book its released slot again
        # (services.reconciliation.late_payments), and a refused booking undoes only itself.
        with unit_of_work(session):
            event = session.scalar(
                select(ProviderEvent)
                .where(ProviderEvent.id == event_pk, ProviderEvent.processed_at.is_(None))
                .with_for_update(skip_locked=True)
            )
            if event is None:
                return False
            apply(session, event.event_type, event.payload, now)
            event.processed_at = now
            event.attempts += 1
            event.error = None
        return True
    except Exception as exc:
        session.rollback()
        log.exception("payment event %s could not be applied", event_pk)
        with write_transaction(session):
            session.execute(
                update(ProviderEvent)
                .where(ProviderEvent.id == event_pk)
                .values(attempts=ProviderEvent.attempts + 1, error=type(exc).__name__)
            )
        return False
