"""Dispatch on commit: outbox rows go to delivery the moment their transaction commits.

The rows a transaction queues (new ``OutboundMessage`` rows, and rows put back in the
queue) are noted as they are flushed, per transaction: a savepoint that rolls back takes
its rows with it, one that is released hands them to the transaction around it. Only the
outermost COMMIT hands them over, to a ``Dispatcher`` (jobs/dispatchers.py: an RQ enqueue,
or a wake-up of the in-process sender). A savepoint's release is not a commit: rows
handed over then could be sent before they exist for anyone else, or never exist at all.

Handing over is best effort. The outbox table stays the record and the sweep its net:
a dispatcher that fails loses nothing, the next sweep finds the rows due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction, scoped_session, sessionmaker

from core.clock import utcnow
from models import LinkStatus, OutboundEmail, OutboundMessage, OutboundStatus, PaymentLink

log = logging.getLogger(__name__)

# session.info key: {transaction (root or savepoint): [Queued, ...]}
_PENDING = "roshni.dispatch.pending"


MESSAGE = "message"
PAYMENT_LINK = "payment_link"
EMAIL = "email"  # an outbox email (models.email.OutboundEmail)


@dataclass(frozen=True, order=True)
class Queued:
    """An outbox row waiting to be sent, from ``due_at`` (its next attempt) on; or, when
    ``what`` is ``PAYMENT_LINK``, a payment link row waiting to be made at Razorpay (its
    message is queued once it exists there: a booking's link must not wait for the sweep)."""

    id: int
    due_at: datetime
    what: str = MESSAGE


class Dispatcher(Protocol):
    def __call__(self, rows: list[Queued]) -> None: ...


def note_queued(
    session: Session | scoped_session[Session], rows: Iterable[tuple[int, datetime]]
) -> None:
    """Rows queued by a bulk UPDATE (which no flush sees), handed over like new ones.
    (The panel's session is a ``scoped_session``: its transactions are its session's.)"""
    real = session() if isinstance(session, scoped_session) else session
    _pending_for(real, _innermost(real)).extend(Queued(i, due) for i, due in rows)


def _innermost(session: Session) -> SessionTransaction:
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # autobegin has not happened: begin, as the flush would
        transaction = session.begin()
    return transaction


def _pending_for(session: Session, transaction: SessionTransaction) -> list[Queued]:
    pending: dict[SessionTransaction, list[Queued]] = session.info.setdefault(_PENDING, {})
    return pending.setdefault(transaction, [])


def _collect(session: Session, _flush_context: Any) -> None:
    """after_flush: the rows this flush queued (ids are assigned by now)."""
    found = []
    for obj in session.new:
        if isinstance(obj, OutboundMessage) and obj.status in (None, OutboundStatus.QUEUED):
            found.append(Queued(obj.id, obj.next_attempt_at))
        elif isinstance(obj, OutboundEmail) and obj.status in (None, OutboundStatus.QUEUED):
            found.append(Queued(obj.id, obj.next_attempt_at, EMAIL))
        elif isinstance(obj, PaymentLink) and obj.status in (None, LinkStatus.PENDING):
            found.append(Queued(obj.id, obj.created_at or utcnow(), PAYMENT_LINK))
    for obj in session.dirty:
        if isinstance(obj, OutboundMessage) and obj.status is OutboundStatus.QUEUED:
            state = inspect(obj)
            if (
                state.attrs.status.history.has_changes()
                or state.attrs.next_attempt_at.history.has_changes()
            ):
                found.append(Queued(obj.id, obj.next_attempt_at))
    if found:
        _pending_for(session, _innermost(session)).extend(found)


def _enclosing(transaction: SessionTransaction) -> SessionTransaction:
    """The savepoint or root transaction a released savepoint's rows now belong to."""
    parent = transaction.parent
    while parent is not None and not parent.nested and parent.parent is not None:
        parent = parent.parent
    assert parent is not None
    return parent


def _make_hand_over(dispatcher: Dispatcher) -> Callable[[Session], None]:
    def hand_over(session: Session) -> None:
        """after_commit: fires for a savepoint's release too; only the outermost commit
        hands rows over, in id order (the order the sweep keeps)."""
        pending: dict[SessionTransaction, list[Queued]] | None = session.info.get(_PENDING)
        if not pending:
            return
        savepoint = session.get_nested_transaction()
        if savepoint is not None:  # RELEASE SAVEPOINT: the rows wait for the real COMMIT
            rows = pending.pop(savepoint, None)
            if rows:
                _pending_for(session, _enclosing(savepoint)).extend(rows)
            return
        rows = sorted({row for group in pending.values() for row in group})
        pending.clear()
        if not rows:
            return
        try:
            dispatcher(rows)
        except Exception:  # never fail a commit that has happened; the sweep sends them
            log.warning(
                "could not hand %d committed message(s) to delivery; the sweep will",
                len(rows),
                exc_info=True,
            )

    return hand_over


def _forget(session: Session, transaction: SessionTransaction) -> None:
    """after_transaction_end: a rolled-back (or closed) transaction's rows are not sent."""
    pending: dict[SessionTransaction, list[Queued]] | None = session.info.get(_PENDING)
    if pending:
        pending.pop(transaction, None)
        if transaction.parent is None:
            pending.clear()


class Installed:
    """The listeners ``install`` added; ``remove()`` takes them off again."""

    def __init__(self, target: sessionmaker[Session], dispatcher: Dispatcher) -> None:
        self.target = target
        self._listeners: list[tuple[str, Callable[..., None]]] = [
            ("after_flush", _collect),
            ("after_commit", _make_hand_over(dispatcher)),
            ("after_transaction_end", _forget),
        ]
        for name, fn in self._listeners:
            event.listen(target, name, fn)

    def remove(self) -> None:
        for name, fn in self._listeners:
            if event.contains(self.target, name, fn):
                event.remove(self.target, name, fn)

    def __enter__(self) -> Installed:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.remove()


def install(target: sessionmaker[Session], dispatcher: Dispatcher) -> Installed:
    """Hand the outbox rows of every session ``target`` makes to ``dispatcher`` at commit."""
    return Installed(target, dispatcher)
