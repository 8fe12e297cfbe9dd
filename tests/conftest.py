"""Real databases for every test: SQLite always, PostgreSQL at 127.0.0.1:5432.

Each backend gets a throwaway database migrated with Alembic (the same path as
`roshni db upgrade`). Tests commit for real, because the code under test owns
its transactions (BEGIN IMMEDIATE, row locks, constraints); the tables are
emptied after each test instead of rolling back.
"""

from __future__ import annotations

import os

# Before anything imports the staff accounts: argon2's cheapest parameters (core.passwords).
os.environ["ROSHNI_TEST_CHEAP_PASSWORD_HASHES"] = "1"

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from core import migrate
from core.config import Config
from core.db import Database, get_db
from integrations.twilio.client import TwilioSender
from models import Base, Relation, Role, StaffUser
from services.audit import Actor
from services.clinics import catalog
from services.clinics import settings as clinics
from services.people import patients
from services.staff.accounts import create_staff_user
from tests import clock
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, FakeTwilioState
from tests.seeding import add_therapist

PG_ADMIN_URL = os.environ.get("ROSHNI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
SYSTEM = Actor.system()
# Monday 23 Nov 2026, 09:00 in Kolkata (03:30 UTC): the frozen "now" of most tests.
NOW = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    # make test-clock: the whole run a year ahead or back (tests/clock.py).
    clock.start_shift()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A clock-moved run (``make test-clock``) leaves out what the move cannot change:
    tests that freeze the clock at ``NOW`` (they live on that day whatever the shift) and
    the SQLite half of the tests that run on both backends (the date rules are the same
    Python on both; PostgreSQL, the production database, keeps the run honest about the
    database's own clock)."""
    if not clock.shift_days():
        return
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("db") == "sqlite"
        frozen = "frozen_clock" in getattr(item, "fixturenames", ())
        (left_out if on_sqlite or frozen else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str | None:
    days = clock.shift_days()
    return f"clock moved {days:+d} days ({clock.SHIFT_ENV})" if days else None


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """This process's clock stopped at ``NOW``, for tests that pin dates around it."""
    with time_machine.travel(NOW, tick=False):
        yield


def _pg_connect(dbname: str = "postgres"):
    import psycopg

    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        admin = _pg_connect()
    except Exception as exc:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests are required)")
        pytest.skip(message)
    name = f"roshni_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = "postgresql+psycopg://" + PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'roshni.db'}"
    migrate.upgrade(url)
    return url


_databases: dict[str, Database] = {}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database; every test using it runs on both backends."""
    backend = request.param
    if backend == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_url")
    database = _databases.get(url)
    if database is None:
        database = _databases[url] = Database(url)
    try:
        yield database
    finally:
        database.scoped.remove()
        empty_tables(database)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only (for tests of PostgreSQL-specific guarantees)."""
    database = _databases.get(pg_url) or _databases.setdefault(pg_url, Database(pg_url))
    try:
        yield database
    finally:
        empty_tables(database)


def empty_tables(database: Database) -> None:
    """Every table emptied and every sequence back at 1, as if the database were new.

    On PostgreSQL only the tables that ever held a row are truncated (a table's file is
    empty until its first insert, and TRUNCATE gives it a new empty one): truncating all
    37 cost ~0.1 s per test. Not DELETE: the rows a test inserts must come back in the
    order they were inserted, as in a fresh table, and deleted rows' space is reused."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            used = set(
                conn.exec_driver_sql(
                    "SELECT c.relname FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'r' AND n.nspname = current_schema() "
                    "AND pg_relation_size(c.oid) > 0"
                ).scalars()
            )
            touched = [name for name in tables if name in used]
            if touched:
                conn.execute(text(f"TRUNCATE {', '.join(touched)} RESTART IDENTITY CASCADE"))
            # A sequence can move without its table growing (an insert refused before it
            # was written).
            conn.exec_driver_sql(
                "SELECT setval(c.oid, 1, false) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(scope="session", autouse=True)
def _dispose_databases() -> Iterator[None]:
    yield
    for database in _databases.values():
        database.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.session_scope() as s:
        yield s


# --- factories ---------------------------------------------------------------------------


WEEKDAY_HOURS = {d: (time(9), time(18)) for d in range(5)} | {5: (time(9), time(13))}


@pytest.fixture
def make_clinic(session: Session) -> Callable[..., Any]:
    """A clinic with one location and, unless told otherwise, its default policy."""
    counter = iter(range(1, 1000))

    def make(
        name: str = "Test Clinic",
        slug: str | None = None,
        timezone: str = "Asia/Kolkata",
        currency: str = "INR",
        region: str = "IN",
        **policy: Any,
    ):
        clinic = clinics.create_clinic(
            session,
            name=name,
            slug=slug or f"clinic-{next(counter)}",
            timezone=timezone,
            currency=currency,
            phone_region=region,
            actor=SYSTEM,
        )
        for key, value in policy.items():
            setattr(clinic.policy, key, value)
        session.commit()
        clinics.add_location(session, clinic_id=clinic.id, name="Main", actor=SYSTEM)
        return clinic

    return make


@pytest.fixture
def make_therapist(session: Session) -> Callable[..., Any]:
    """A therapist working ``hours`` ({weekday: (start, end)}) at the clinic's first location."""

    def make(clinic, name: str = "Dr. Priya Nair", specialization: str = "speech", hours=None):
        location_id = (
            clinic.locations[0].id if clinic.locations else _first_location(session, clinic)
        )
        return add_therapist(
            session,
            clinic_id=clinic.id,
            location_id=location_id,
            name=name,
            specialization=specialization,
            hours=WEEKDAY_HOURS if hours is None else hours,
            actor=SYSTEM,
        )

    return make


def _first_location(session: Session, clinic) -> int:
    session.refresh(clinic)
    return clinic.locations[0].id


@pytest.fixture
def make_service(session: Session) -> Callable[..., Any]:
    def make(
        clinic,
        name: str = "Speech Therapy Session",
        specialization: str = "speech",
        minutes: int = 45,
        price: int = 80000,
        capacity: int = 1,
    ):
        return catalog.create_service(
            session,
            clinic_id=clinic.id,
            name=name,
            specialization=specialization,
            duration_minutes=minutes,
            price_minor=price,
            capacity=capacity,
            actor=SYSTEM,
        )

    return make


@pytest.fixture
def make_patient(session: Session) -> Callable[..., Any]:
    phones = iter(f"+9198765{n:05d}" for n in range(10000))

    def make(clinic, name: str = "Aarav", phone: str | None = None, relation=Relation.CHILD):
        contact = patients.create_contact(
            session,
            clinic_id=clinic.id,
            phone=phone or next(phones),
            name="Asha Verma",
            actor=SYSTEM,
        )
        return patients.add_patient(
            session,
            clinic_id=clinic.id,
            contact_id=contact.id,
            name=name,
            relation=relation,
            date_of_birth=date(2019, 3, 12),
            actor=SYSTEM,
            today=NOW.date(),
        )

    return make


# --- the staff panel: its app and one login per role -------------------------------------


@pytest.fixture
def app(db: Database, tmp_path) -> Iterator[Flask]:
    """The staff panel's Flask app on the test's database.

    A module whose views must see a frozen clock overrides it as
    ``def app(app, monkeypatch)``; the payment tests build theirs from ``payments_config``.
    """
    from roshni.app import create_app  # the panel (admin/) loads only for panel tests

    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
        }
    )
    app = create_app(config)
    yield app
    get_db(app).dispose()


CLINIC_ROLES = (Role.ADMIN, Role.OPERATOR, Role.THERAPIST, Role.ACCOUNTANT)


def staff_logins(
    session: Session, clinic_id: int, *, password: str, domain: str, label: str = ""
) -> dict[Role, StaffUser]:
    """One login per clinic role, ``<role>@<domain>``; named "Admin <label>" … given a label."""
    return {
        role: create_staff_user(
            session,
            email=f"{role.value}@{domain}",
            password=password,
            role=role,
            clinic_id=clinic_id,
            actor=SYSTEM,
            name=f"{role.value.title()} {label}" if label else "",
        )
        for role in CLINIC_ROLES
    }


# --- counting SQL statements -------------------------------------------------------------


@contextmanager
def counting_statements(engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block, in order."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- Twilio, as the real SDK sees it (tests/fake_twilio.py) ---------------------------------
@pytest.fixture(scope="module")
def twilio_server():
    with FakeTwilio() as fake:  # one server: stopping one takes up to half a second
        yield fake


@pytest.fixture
def twilio(twilio_server):
    twilio_server.state = FakeTwilioState()  # nothing sent, no errors scripted, no delay
    return twilio_server


@pytest.fixture
def sender(twilio):
    return TwilioSender(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url)


# --- Razorpay, as the real SDK sees it (tests/fake_razorpay.py) -----------------------------
RAZORPAY_BASE_URL = "https://roshni.example.com"


@pytest.fixture(scope="session")
def razorpay_server():
    from tests.fake_razorpay import FakeRazorpay

    with FakeRazorpay() as fake:  # one server for the run; each test gets a fresh state
        yield fake


@pytest.fixture
def razorpay(razorpay_server):
    """The fake, emptied, with its clock at NOW (tests move it with ``razorpay.now += …``)."""
    from tests.fake_razorpay import FakeRazorpayState

    razorpay_server.state = FakeRazorpayState(now=NOW)
    return razorpay_server


def payments_env(db, tmp_path, razorpay, **more: str) -> dict[str, str]:
    """A test environment whose key encrypts clinics' Razorpay secrets and whose Razorpay
    is the fake; ``more`` adds or overrides variables."""
    return {
        "ROSHNI_ENV": "test",
        "DATABASE_URL": db.url,
        "SECRET_KEY": "x" * 40,
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
        "PUBLIC_BASE_URL": RAZORPAY_BASE_URL,
        "RAZORPAY_API_URL": razorpay.url,
        **more,
    }


@pytest.fixture
def payments_config(db, tmp_path, razorpay):
    """A test Config whose key encrypts clinics' Razorpay secrets and points at the fake."""
    from core.config import Config

    return Config.from_env(payments_env(db, tmp_path, razorpay))


@pytest.fixture
def connect_razorpay(session, payments_config):
    """``connect_razorpay(clinic)``: the clinic takes payments through the fake's account."""
    from tests.fake_razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET

    def connect(clinic, *, webhook_secret: str = WEBHOOK_SECRET):
        return clinics.set_razorpay_account(
            session,
            clinic_id=clinic.id,
            key_id=KEY_ID,
            key_secret=KEY_SECRET,
            webhook_secret=webhook_secret,
            config=payments_config,
            actor=SYSTEM,
        )

    return connect


@pytest.fixture
def gateway_for(payments_config, razorpay):
    """What the jobs are given: a clinic's gateway to the fake, or None without an account."""
    from integrations.razorpay_client import RazorpayGateway

    def gateway(clinic):
        account = clinics.razorpay_account(clinic, payments_config)
        return None if account is None else RazorpayGateway(account, api_url=razorpay.url)

    return gateway
