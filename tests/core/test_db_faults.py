"""The database blinks (PostgreSQL backends terminated, as in a restart or failover)
while Twilio is delivering a burst of messages: every message is still stored once and
answered, never a 500 with nothing kept.

Eight threads post signed WhatsApp webhooks from 120 contacts while another thread
terminates the app's PostgreSQL connections (found by their application_name) again and
again. Pre-ping replaces connections that died while idle; a request whose connection
dies under it runs its unit of work again (``core.db.retry_on_disconnect``).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError, PendingRollbackError
from sqlalchemy.orm import Session

from core.config import Config
from core.db import get_db, retry_on_disconnect
from models import InboundMessage
from roshni.app import create_app
from roshni.demo import DEMO_CLINICS, seed_clinic
from tests.bot.test_webhooks import TOKEN, form, post

pytestmark = pytest.mark.postgres_only
APP_NAME = "roshni-fault-test"
CONTACTS = 120


@pytest.fixture
def app(pg_db, tmp_path):
    with pg_db.session_scope() as session:
        seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
        session.commit()
    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": f"{pg_db.url}?application_name={APP_NAME}",
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": "https://roshni.example.com",
        }
    )
    app = create_app(config)
    yield app
    get_db(app).dispose()


def test_terminated_connections_lose_no_webhook(app, pg_db, caplog):
    caplog.set_level(logging.WARNING, logger="core.db")
    forms = [
        form(word, sender=f"whatsapp:+9198{n:08d}") for n in range(CONTACTS) for word in ("hi", "1")
    ]
    done = threading.Event()
    kills: list[int] = []

    def terminate_the_apps_connections() -> None:
        with pg_db.engine.connect() as conn:
            while not done.is_set():
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name AND datname = current_database()"
                    ),
                    {"name": APP_NAME},
                ).scalar_one()
                conn.commit()
                kills.append(killed)
                time.sleep(1.0)  # a blink, then a second of calm: a restart, not an outage

    def deliver(data: dict) -> int:
        return post(app.test_client(), "/webhooks/twilio/whatsapp", data).status_code

    killer = threading.Thread(target=terminate_the_apps_connections, daemon=True)
    killer.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(deliver, forms))
    finally:
        done.set()
        killer.join(timeout=10)

    assert sum(kills) > 0, "the fault never happened: nothing was terminated"
    retried = [r for r in caplog.records if "trying once more" in r.getMessage()]
    assert retried, "no request met a dropped connection: the test proved nothing"
    assert codes.count(200) == len(forms), sorted(set(codes))
    with pg_db.session_scope() as session:
        stored = session.scalar(select(func.count(func.distinct(InboundMessage.provider_sid))))
        rows = session.scalar(select(func.count()).select_from(InboundMessage))
    assert (stored, rows) == (len(forms), len(forms))


def test_a_connection_found_invalidated_mid_savepoint_is_tried_again():
    # The connection died while a lost insert race's savepoint was being unwound; the next
    # statement meets it invalidated (SQLAlchemy's PendingRollbackError, code 8s2b).
    session = Session(create_engine("sqlite://"))
    tries = []

    def work() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise PendingRollbackError("Can't reconnect until invalid transaction", code="8s2b")
        return "stored"

    assert retry_on_disconnect(session, work) == "stored"
    assert len(tries) == 2


def test_a_flush_that_failed_is_not_tried_again():
    session = Session(create_engine("sqlite://"))
    tries = []

    def work() -> str:
        tries.append(1)
        raise PendingRollbackError("This Session's transaction has been rolled back", code="7s2a")

    with pytest.raises(PendingRollbackError):
        retry_on_disconnect(session, work)
    assert len(tries) == 1


def test_a_connection_closed_while_it_was_being_opened_is_tried_again():
    # Terminated while a new connection ran its first query (the dialect's set-up): the
    # driver finds the socket closed and has no SQLSTATE; SQLAlchemy has not marked it
    # invalidated, since it was not yet a connection in use.
    session = Session(create_engine("sqlite://"))
    tries = []

    def work() -> str:
        tries.append(1)
        if len(tries) == 1:
            closed = psycopg.OperationalError(
                "consuming input failed: server closed the connection"
            )
            raise OperationalError("show transaction isolation level", None, closed)
        return "stored"

    assert retry_on_disconnect(session, work) == "stored"
    assert len(tries) == 2


def test_an_error_the_server_answered_with_is_not_tried_again():
    session = Session(create_engine("sqlite://"))
    tries = []

    def work() -> str:
        tries.append(1)
        raise OperationalError("SELECT 1", None, psycopg.errors.LockNotAvailable("lock timeout"))

    with pytest.raises(OperationalError):
        retry_on_disconnect(session, work)
    assert len(tries) == 1
