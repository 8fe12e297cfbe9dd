"""Per-process copies of what rarely changes (a clinic's catalogue), exactly as current as
the database.

Every write to the clinics' settings and catalogue tables gives ``settings_version`` a new
random token, by triggers, in the writer's own transaction (``models.SettingsVersion``).
A copy is kept with the token it was read under and used only while the token the
database holds is the same: a second web process sees a panel edit on its next turn. A
chat turn reads the token on a statement it runs anyway (``token_column`` in
``flows.receive``), so a current copy costs no round trip; anything else pays one.

Copies hold plain values (tuples, frozen dataclasses), never ORM objects, and are kept
per engine (per database).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, ScalarSelect, select
from sqlalchemy.orm import Session, scoped_session

from models import SettingsVersion

T = TypeVar("T")

_NOTED = "roshni.settings_token"  # session.info: (transaction, token)
_copies: WeakKeyDictionary[Engine, dict[Hashable, tuple[str, Any]]] = WeakKeyDictionary()
_lock = threading.Lock()


def token_column() -> ScalarSelect[str]:
    """The current token, as a column for a SELECT the caller runs anyway."""
    return select(SettingsVersion.token).where(SettingsVersion.id == 1).scalar_subquery()


def note_token(session: Session, token: str | None) -> None:
    """The token this transaction read (with ``token_column``); for this transaction only.
    Only for a transaction that writes none of the watched tables (a chat turn)."""
    session = _plain(session)
    session.info[_NOTED] = (session.get_transaction(), token)


def cached(session: Session, key: Hashable, load: Callable[[], T]) -> T:
    """``load()``'s value, from this process's copy while the token is unchanged.

    The token is read before ``load`` runs, so a copy is never newer-tagged than its
    content (READ COMMITTED: a later statement sees at least what an earlier one did).
    """
    token = _token(_plain(session))
    if token is None:  # no settings written yet: nothing to key a copy on
        return load()
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _lock:
        copies = _copies.setdefault(engine, {})
        held = copies.get(key)
    if held is not None and held[0] == token:
        return held[1]
    value = load()
    with _lock:
        copies[key] = (token, value)
    return value


def _token(session: Session) -> str | None:
    noted = session.info.get(_NOTED)
    transaction = session.get_transaction()
    if noted is not None and transaction is not None and noted[0] is transaction:
        return noted[1]
    return session.scalar(select(SettingsVersion.token).where(SettingsVersion.id == 1))


def _plain(session: Session) -> Session:
    return session() if isinstance(session, scoped_session) else session
