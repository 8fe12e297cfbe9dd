"""Engine and session factory. Nothing connects until a session is used."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from core import tenancy

log = logging.getLogger(__name__)
T = TypeVar("T")

# Execution option that makes a SQLite transaction take the write lock at BEGIN.
SQLITE_IMMEDIATE = {"sqlite_begin": "IMMEDIATE"}


def make_engine(url: str, *, echo: bool = False, **kwargs: Any) -> Engine:
    # Statement parameters are phone numbers, names and message bodies: never in a log
    # line or an error's text (SQLAlchemy then shows "[SQL parameters hidden ...]").
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, echo=echo, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, issue BEGIN, so we can choose BEGIN IMMEDIATE.

    pysqlite's own transaction handling defers BEGIN until the first write, which
    makes read-check-then-insert racy; this is the recipe from SQLAlchemy's SQLite
    dialect docs ("Serializable isolation / Savepoints / Transactional DDL").
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


class Database:
    """One engine and session factory per app (or per test database)."""

    def __init__(self, url: str, *, echo: bool = False, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo, **engine_kwargs)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        # Request-scoped session for the web edges; released at teardown.
        self.scoped = scoped_session(self.session_factory)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, clinic_id: int | None = None) -> Session:
        session = self.session_factory()
        if clinic_id is not None:
            tenancy.bind(session, clinic_id)
        return session

    @contextmanager
    def session_scope(self, clinic_id: int | None = None) -> Iterator[Session]:
        session = self.session(clinic_id)
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.scoped.remove()
        self.engine.dispose()


_UNIT_OF_WORK = "roshni.unit_of_work"


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """One service call = one transaction: commit on success, roll back on any error.

    On SQLite the transaction starts with BEGIN IMMEDIATE, so a check-then-insert
    cannot interleave with another writer; PostgreSQL relies on row locks and
    constraints instead. A read-only transaction the session already had (say,
    loading the logged-in user) is closed first; unflushed changes are a bug.

    Inside ``unit_of_work`` the call becomes a SAVEPOINT instead: its failure
    undoes only its own changes, and the unit of work commits everything at once.
    """
    if isinstance(session, scoped_session):
        session = session()  # the proxy lacks in_transaction()
    if session.info.get(_UNIT_OF_WORK):
        with session.begin_nested():
            yield session
        return
    sqlite = session.get_bind().dialect.name == "sqlite"
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("a service was called with unsaved changes in its session")
        if sqlite:
            session.commit()  # to start again with BEGIN IMMEDIATE
        # PostgreSQL (READ COMMITTED) simply carries on in the read transaction.
    if sqlite:
        session.connection(execution_options=SQLITE_IMMEDIATE)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Several service calls in one transaction, e.g. a chat turn.

    The turn's state change and the booking it makes commit together or not at
    all; row locks taken at the start (the conversation's) hold to the end. Inside
    another unit of work (a service that groups calls, called in a chat turn) it is a
    SAVEPOINT of that one, and the outer one still commits everything.
    """
    if in_unit_of_work(session):
        with write_transaction(session):
            yield session
        return
    with write_transaction(session):
        session.info[_UNIT_OF_WORK] = True
        try:
            yield session
        finally:
            session.info.pop(_UNIT_OF_WORK, None)


def in_unit_of_work(session: Session) -> bool:
    return bool(session.info.get(_UNIT_OF_WORK))


_KEPT = "roshni.kept_loaded"


@contextmanager
def keep_loaded(session: Session) -> Iterator[Session]:
    """Hold every row the block loads until it ends, so ``Session.get`` answers from the
    identity map instead of loading a row again that nothing happened to refer to any
    more (the identity map holds objects weakly). For short blocks: a chat turn."""
    if isinstance(session, scoped_session):
        session = session()
    outer = session.info.get(_KEPT)
    session.info[_KEPT] = [] if outer is None else outer
    try:
        yield session
    finally:
        if outer is None:
            session.info.pop(_KEPT, None)


@event.listens_for(Session, "loaded_as_persistent")
def _keep(session: Session, instance: object) -> None:
    kept = session.info.get(_KEPT)
    if kept is not None:
        kept.append(instance)


# Pauses before the second and third try: a failover or restart takes a moment.
RETRY_PAUSES = (0.1, 0.5)


def retry_on_disconnect(session: Session | scoped_session[Session], work: Callable[[], T]) -> T:
    """Run ``work`` again (twice at most) if the database connection dropped under it.

    A PostgreSQL restart or failover ends every pooled connection; pre-ping catches the
    ones checked out afterwards, but a request already inside its transaction fails
    with a disconnect error and would answer 500 with nothing stored. SQLAlchemy has by
    then invalidated the pool, so the next try runs on a fresh connection. Only for
    work that is safe to repeat: a webhook is deduplicated by its provider id, so if
    the lost transaction did commit, the next try finds it and does nothing new.
    """
    for pause in RETRY_PAUSES:
        try:
            return work()
        except (DBAPIError, PendingRollbackError) as exc:
            if not _dropped(exc):
                raise
            session.rollback()
            log.warning("the database connection dropped mid-request; trying once more")
            time.sleep(pause)
    return work()


# SQLSTATEs of a connection that is gone: class 08 (connection exception) and the server
# shutting it down (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now).
_LOST = ("08", "57P01", "57P02", "57P03")


def _dropped(exc: DBAPIError | PendingRollbackError) -> bool:
    if isinstance(exc, PendingRollbackError):
        # "Can't reconnect until invalid transaction is rolled back": the connection died
        # while a savepoint was being unwound (e.g. a lost insert race), and the next
        # statement met it invalidated.
        return exc.code == RECONNECT_AFTER_INVALIDATION
    return exc.connection_invalidated or _connection_lost(exc)


# SQLAlchemy's code for PendingRollbackError raised on an invalidated connection.
RECONNECT_AFTER_INVALIDATION = "8s2b"


def _connection_lost(exc: DBAPIError) -> bool:
    """A connection ended while it was being opened (SQLAlchemy marks only the ones it
    had in use as invalidated): the server terminated it, so another try may succeed.

    Either the server said so (a SQLSTATE in ``_LOST``), or the driver found the socket
    closed before any answer came: an OperationalError without a SQLSTATE ("server
    closed the connection unexpectedly" while a new connection's first query ran)."""
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    if sqlstate:
        return sqlstate.startswith(_LOST)
    return isinstance(exc, OperationalError)


EXTENSION = "roshni.db"  # where create_app keeps the app's Database


def get_db(app: Flask | None = None) -> Database:
    """The Database of ``app`` (default: the app handling this request)."""
    return (app or current_app).extensions[EXTENSION]
