"""Backups, restores and guarded downgrades, on real databases and a real S3 wire protocol.

The restore drill runs on SQLite and PostgreSQL: a clinic books, is paid and writes a
note; the backup is restored into a brand-new database and every table holds the same
rows. S3 is moto's server (``ThreadedMotoServer``) spoken to by boto3, as MinIO or R2
would be. The command line runs as a real process (tests/core/test_cli.py's ``roshni``).
"""

from __future__ import annotations

import ast
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from core import backup, migrate
from core.clock import utcnow
from core.config import Config
from core.db import Database
from core.storage import media_store
from integrations.backup_storage import LocalStore, S3Settings, StorageError, open_store
from jobs import backups as daily
from models import Base, BookingSource, PaymentMethod, Relation, Role
from services.audit import Actor
from services.billing.payments import record_payment
from services.clinical.notes import add_progress_note
from services.clinics import catalog
from services.clinics import settings as clinics
from services.people import patients
from services.scheduling.appointments import book_appointment
from services.staff.accounts import create_staff_user
from tests.conftest import NOW, SYSTEM, _pg_connect
from tests.core.test_cli import roshni
from tests.seeding import add_therapist

IST = ZoneInfo("Asia/Kolkata")
HEAD = migrate.head_revision()
VERSIONS = Path(migrate.MIGRATIONS_DIR) / "versions"


# --- a clinic's day, through the service verbs -------------------------------------------


def seed_a_clinic_day(session: Session) -> None:
    """A clinic, its admin, a therapist, a booked session, a cash payment and a note."""
    clinic = clinics.create_clinic(
        session,
        name="Backup Clinic",
        slug=f"backup-{uuid.uuid4().hex[:6]}",
        timezone="Asia/Kolkata",
        currency="INR",
        phone_region="IN",
        actor=SYSTEM,
    )
    location = clinics.add_location(session, clinic_id=clinic.id, name="Main", actor=SYSTEM)
    admin = create_staff_user(
        session,
        email=f"admin-{clinic.slug}@example.com",
        password="a-long-password-123",
        role=Role.ADMIN,
        clinic_id=clinic.id,
        actor=SYSTEM,
    )
    therapist = add_therapist(
        session,
        clinic_id=clinic.id,
        location_id=location.id,
        name="Dr. Priya Nair",
        specialization="speech",
        hours={weekday: (time(9), time(18)) for weekday in range(6)},
        actor=SYSTEM,
    )
    service = catalog.create_service(
        session,
        clinic_id=clinic.id,
        name="Speech Therapy Session",
        specialization="speech",
        duration_minutes=45,
        price_minor=80000,
        capacity=1,
        actor=SYSTEM,
    )
    contact = patients.create_contact(
        session, clinic_id=clinic.id, phone="+919876500001", name="Asha Verma", actor=SYSTEM
    )
    patient = patients.add_patient(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        name="Aarav",
        relation=Relation.CHILD,
        date_of_birth=date(2019, 3, 12),
        actor=SYSTEM,
        today=NOW.date(),
    )
    appointment = book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        therapist_id=therapist.id,
        start=datetime(2026, 11, 24, 10, tzinfo=IST),
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )
    record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        patient_id=patient.id,
        amount_minor=80000,
        method=PaymentMethod.CASH,
        now=NOW,
        actor=Actor.staff(admin.id),
    )
    add_progress_note(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        body="Worked on /s/ blends; practise at home.",
        now=NOW,
        actor=Actor.staff(admin.id),
        author_id=admin.id,
    )


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (and the migration revision), in primary-key order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in [*Base.metadata.sorted_tables]:
                order = list(table.primary_key.columns) or list(table.columns)
                out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
            out["alembic_version"] = [
                tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version"))
            ]
    finally:
        engine.dispose()
    return out


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database on the same backend as ``db`` (the restore target)."""
    db: Database = request.getfixturevalue("db")
    if db.dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    yield from _new_pg_database()


def _new_pg_database() -> Iterator[str]:
    name = f"roshni_test_restore_{uuid.uuid4().hex[:8]}"
    admin = _pg_connect()
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def fresh_pg(pg_url: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own (pg_url proves the server is there)."""
    yield from _new_pg_database()


# --- the restore drill -------------------------------------------------------------------


def test_a_backup_restored_into_a_new_database_holds_the_same_rows_in_every_table(
    db, session, empty_database, tmp_path, frozen_clock
):
    seed_a_clinic_day(session)
    session.commit()
    before = table_rows(db.url)
    for must_have_rows in ("clinic", "appointment", "payment", "progress_note", "audit_log"):
        assert before[must_have_rows], must_have_rows

    store = LocalStore(tmp_path / "backups")
    result = backup.take_backup(db.url, store, keep=3, now=utcnow())
    kind = "sqlite3" if db.dialect == "sqlite" else "pgdump"
    assert result.name.endswith(f"-{HEAD}.{kind}")
    assert store.names() == [result.name]

    revision = backup.restore(empty_database, store.directory / result.name)
    assert revision == HEAD
    assert table_rows(empty_database) == before
    migrate.upgrade(empty_database)  # `roshni db upgrade` works on the restored database
    assert migrate.current_revision(empty_database) == HEAD


def test_restore_refuses_a_database_that_has_tables_and_changes_nothing(db, session, tmp_path):
    seed_clinic = clinics.create_clinic(
        session,
        name="Live",
        slug="live",
        timezone="Asia/Kolkata",
        currency="INR",
        phone_region="IN",
        actor=SYSTEM,
    )
    session.commit()
    store = LocalStore(tmp_path)
    result = backup.take_backup(db.url, store, keep=1, now=utcnow())
    before = table_rows(db.url)
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(db.url, store.directory / result.name)
    assert str(refused.value).startswith("refusing to restore: the target database is not empty")
    assert table_rows(db.url) == before
    assert seed_clinic.id in [row[0] for row in before["clinic"]]


def test_a_dump_from_one_backend_is_not_restored_into_the_other(tmp_path, pg_url):
    sqlite_url = f"sqlite:///{tmp_path / 'a.db'}"
    migrate.upgrade(sqlite_url)
    result = backup.take_backup(sqlite_url, LocalStore(tmp_path / "b"), keep=1, now=utcnow())
    with pytest.raises(backup.BackupError, match="is a SQLite backup but DATABASE_URL is Post"):
        backup.restore(pg_url, tmp_path / "b" / result.name)


# --- the command line --------------------------------------------------------------------


def sqlite_env(tmp_path: Path, name: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / name}",
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
        "BACKUP_TARGET": "",
        **extra,
    }


def test_roshni_restore_brings_back_an_older_revision_and_db_upgrade_then_works(tmp_path):
    old = sqlite_env(tmp_path, "old.db")
    assert roshni("db", "upgrade", "0009", env=old).returncode == 0
    taken = roshni("backup", "--to", str(tmp_path / "bk"), env=old)
    assert taken.returncode == 0, taken.stderr
    [name] = LocalStore(tmp_path / "bk").names()
    assert backup.parse_name(name).revision == "0009"

    new = sqlite_env(tmp_path, "new.db")
    restored = roshni("restore", str(tmp_path / "bk" / name), env=new)
    assert restored.returncode == 0, restored.stderr
    assert "the database is at revision 0009" in restored.stdout
    assert migrate.current_revision(new["DATABASE_URL"]) == "0009"
    assert roshni("db", "upgrade", env=new).returncode == 0
    assert migrate.current_revision(new["DATABASE_URL"]) == HEAD


def test_roshni_restore_refuses_a_non_empty_database_in_one_sentence(tmp_path):
    env = sqlite_env(tmp_path, "live.db")
    assert roshni("db", "upgrade", env=env).returncode == 0
    assert roshni("backup", "--to", str(tmp_path / "bk"), env=env).returncode == 0
    [name] = LocalStore(tmp_path / "bk").names()
    refused = roshni("restore", str(tmp_path / "bk" / name), env=env)
    assert refused.returncode == 1
    assert "Error: refusing to restore: the target database is not empty" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_roshni_backup_keeps_the_newest_n_and_leaves_other_files_alone(tmp_path):
    env = sqlite_env(tmp_path, "a.db", BACKUP_TARGET=str(tmp_path / "bk"), BACKUP_KEEP="2")
    assert roshni("db", "upgrade", env=env).returncode == 0
    store = LocalStore(tmp_path / "bk")
    for hours_ago in (72, 48, 24):  # older backups, as earlier days left them
        backup.take_backup(
            env["DATABASE_URL"], store, keep=10, now=utcnow() - timedelta(hours=hours_ago)
        )
    (tmp_path / "bk" / "notes.txt").write_text("not a backup")
    taken = roshni("backup", env=env)
    assert taken.returncode == 0, taken.stderr
    ours = [b.name for b in backup.backups_in(store)]
    assert len(ours) == 2
    assert f"backed up to {tmp_path / 'bk' / ours[-1]}" in taken.stdout
    assert taken.stdout.count("deleted old backup") == 2
    assert "notes.txt" in store.names()


# --- S3-compatible storage (moto's server, boto3 on the wire) -----------------------------


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


S3_KEY_ID = "AKIAROSHNITEST000001"
S3_SECRET = "roshni-test-secret-never-printed"


@pytest.fixture
def bucket(s3_server: str) -> str:
    import boto3

    name = f"roshni-backups-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    ).create_bucket(Bucket=name)
    return name


def s3_env(s3_server: str) -> dict[str, str]:
    return {
        "BACKUP_S3_ENDPOINT_URL": s3_server,
        "BACKUP_S3_REGION": "us-east-1",
        "BACKUP_S3_ACCESS_KEY_ID": S3_KEY_ID,
        "BACKUP_S3_SECRET_ACCESS_KEY": S3_SECRET,
    }


def test_backups_go_to_an_s3_bucket_keep_the_newest_n_and_restore_from_there(
    tmp_path, s3_server, bucket
):
    env = sqlite_env(tmp_path, "a.db", **s3_env(s3_server))
    assert roshni("db", "upgrade", env=env).returncode == 0
    config = Config.from_env(env)
    store = open_store(f"s3://{bucket}/nightly", backup.s3_settings(config))
    other = open_store(f"s3://{bucket}/nightly/older", backup.s3_settings(config))
    (tmp_path / "x").write_text("kept: not in this folder")
    other.put(tmp_path / "x", "roshni-20200101T000000Z-0001.sqlite3")
    for hours_ago in (50, 26):
        backup.take_backup(
            env["DATABASE_URL"], store, keep=5, now=utcnow() - timedelta(hours=hours_ago)
        )

    taken = roshni("backup", "--to", f"s3://{bucket}/nightly", "--keep", "2", env=env)
    assert taken.returncode == 0, taken.stderr
    names = store.names()
    assert len(names) == 2
    assert f"backed up to s3://{bucket}/nightly/{names[-1]}" in taken.stdout
    assert other.names() == ["roshni-20200101T000000Z-0001.sqlite3"]
    assert S3_SECRET not in taken.stdout + taken.stderr

    new = sqlite_env(tmp_path, "restored.db", **s3_env(s3_server))
    restored = roshni("restore", f"s3://{bucket}/nightly/{names[-1]}", env=new)
    assert restored.returncode == 0, restored.stderr
    assert table_rows(new["DATABASE_URL"]) == table_rows(env["DATABASE_URL"])


def test_a_bucket_that_does_not_exist_is_one_clear_sentence(tmp_path, s3_server):
    env = sqlite_env(tmp_path, "a.db", **s3_env(s3_server))
    assert roshni("db", "upgrade", env=env).returncode == 0
    failed = roshni("backup", "--to", "s3://no-such-bucket/x", env=env)
    assert failed.returncode == 1
    assert "Error: cannot upload to s3://no-such-bucket/x/: NoSuchBucket" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert S3_SECRET not in failed.stderr


# --- guarded downgrades ------------------------------------------------------------------


def _seeded(url: str) -> None:
    database = Database(url)
    with database.session_scope() as session:
        seed_a_clinic_day(session)
    database.dispose()


def test_downgrade_refuses_to_drop_clinical_notes_without_a_backup(tmp_path, frozen_clock):
    env = sqlite_env(tmp_path, "live.db")
    assert roshni("db", "upgrade", env=env).returncode == 0
    _seeded(env["DATABASE_URL"])

    refused = roshni("db", "downgrade", "0008", env=env)
    assert refused.returncode == 1
    assert (
        "Error: refusing to downgrade to 0008: it would drop table progress_note (1 row), "
        "column clinic_policy.course_billing (1 value), "
        "column clinic_policy.approve_chat_bookings (1 value), "
        "column clinic_policy.waitlist_hold_minutes (1 value), "
        "column clinic_policy.waitlist_days (1 value), "
        "column clinic_policy.video_rooms (1 value), "
        "column clinic_policy.jitsi_base_url (1 value), "
        "column clinic_policy.document_max_mb (1 value), "
        "column clinic_policy.tell_therapists_by_whatsapp (1 value), "
        "column contact.email_preference (1 value), "
        "column appointment.online (1 value), "
        "column service.in_person (1 value), column service.online (1 value), "
        "column therapist.languages (1 value), "
        "column staff_user.notify_whatsapp (1 value), column staff_user.session_epoch "
        "(1 value); take a "
        "backup first (`roshni backup`) and run it again with --i-have-a-backup"
    ) in refused.stderr
    assert migrate.current_revision(env["DATABASE_URL"]) == HEAD
    assert table_rows(env["DATABASE_URL"])["progress_note"]

    went = roshni("db", "downgrade", "0008", "--i-have-a-backup", env=env)
    assert went.returncode == 0, went.stderr
    assert migrate.current_revision(env["DATABASE_URL"]) == "0008"


def test_downgrade_names_every_column_that_holds_data(tmp_path, frozen_clock):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrate.upgrade(url)
    _seeded(url)
    losses = {loss.describe() for loss in migrate.downgrade_losses(url, "0004")}
    assert "table progress_note (1 row)" in losses
    assert "table payment (1 row)" in losses
    assert "column service.prepay_required (1 value)" in losses
    assert "column staff_user.failed_logins (1 value)" in losses
    assert not any(loss.startswith("column clinic.razorpay") for loss in losses)  # all null
    with pytest.raises(migrate.DowngradeWouldLoseData):
        migrate.downgrade(url, "0004")


def test_downgrade_of_an_empty_database_needs_no_flag(tmp_path):
    env = sqlite_env(tmp_path, "empty.db")
    assert roshni("db", "upgrade", env=env).returncode == 0
    went = roshni("db", "downgrade", "0008", env=env)
    assert went.returncode == 0, went.stderr
    assert migrate.current_revision(env["DATABASE_URL"]) == "0008"


def test_downgrade_guard_on_postgresql(fresh_pg, frozen_clock):
    migrate.upgrade(fresh_pg)
    _seeded(fresh_pg)
    with pytest.raises(migrate.DowngradeWouldLoseData, match=r"table progress_note \(1 row\)"):
        migrate.downgrade(fresh_pg, "0008")
    assert migrate.current_revision(fresh_pg) == HEAD
    migrate.downgrade(fresh_pg, "0008", have_backup=True)
    assert migrate.current_revision(fresh_pg) == "0008"
    assert "progress_note" not in backup.existing_tables(fresh_pg)


def _declared_by_the_code(source: str) -> tuple[list[str], dict[str, list[str]]]:
    """What a migration's ``downgrade()`` really drops, read from its source."""
    function = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name == "downgrade"
    )
    tables: list[str] = []
    columns: dict[str, list[str]] = {}

    def walk(nodes: list[ast.stmt], batch_table: str | None) -> None:
        for node in nodes:
            if isinstance(node, ast.With):
                table = batch_table
                for item in node.items:
                    call = item.context_expr
                    if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == (
                        "batch_alter_table"
                    ):
                        table = ast.literal_eval(call.args[0])
                walk(node.body, table)
                continue
            for call in ast.walk(node):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                    continue
                if call.func.attr not in ("drop_table", "drop_column"):
                    continue
                args = [ast.literal_eval(a) for a in call.args[:2]]
                if call.func.attr == "drop_table":
                    tables.append(args[0])
                elif call.func.attr == "drop_column":
                    table, column = (batch_table, args[0]) if len(args) == 1 else args
                    columns.setdefault(table, []).append(column)

    walk(function.body, None)
    return tables, columns


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda p: p.name)
def test_every_migration_declares_what_its_downgrade_drops(path):
    from alembic.script import ScriptDirectory

    tables, columns = _declared_by_the_code(path.read_text())
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    [migration] = [s for s in script.walk_revisions() if Path(s.path).name == path.name]
    declared_tables, declared_columns = migrate.downgrade_drops(migration)
    assert sorted(declared_tables) == sorted(tables)
    assert {t: sorted(c) for t, c in declared_columns.items()} == {
        t: sorted(c) for t, c in columns.items()
    }


# --- the daily backup and what the doctor says -------------------------------------------


def test_the_daily_backup_runs_once_a_day(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    migrate.upgrade(url)
    config = Config.from_env(sqlite_env(tmp_path, "a.db", BACKUP_TARGET=str(tmp_path / "bk")))
    now = utcnow()
    first = daily.run_daily_backup(config, now=now)
    assert first is not None
    assert daily.run_daily_backup(config, now=now + timedelta(hours=23)) is None
    second = daily.run_daily_backup(config, now=now + timedelta(hours=24))
    assert second is not None
    assert [b.name for b in backup.backups_in(LocalStore(tmp_path / "bk"))] == [
        first.name,
        second.name,
    ]
    unset = Config.from_env(sqlite_env(tmp_path, "a.db"))
    assert daily.run_daily_backup(unset, now=now + timedelta(days=5)) is None


def test_a_failing_daily_backup_is_logged_and_raised(tmp_path, caplog):
    config = Config.from_env(sqlite_env(tmp_path, "missing.db", BACKUP_TARGET=str(tmp_path / "bk")))
    with pytest.raises(backup.BackupError):
        daily.run_daily_backup(config, now=utcnow())
    assert "daily backup failed: there is no SQLite database at" in caplog.text


def test_the_sweeper_enqueues_the_daily_backup_once_under_a_per_day_id_and_a_worker_runs_it(
    tmp_path, monkeypatch
):
    from redis import Redis
    from rq import Queue

    from jobs.runner import QUEUE, enqueue_backup_if_due
    from jobs.runtime import build_runtime
    from tests.jobs_support import REDIS_URL, worker_in_process

    redis = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        redis.ping()
    except Exception as exc:  # the same rule as the RQ tests' fixture
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    redis.flushdb()
    env = sqlite_env(tmp_path, "a.db", BACKUP_TARGET=str(tmp_path / "bk"), ROSHNI_ENV="test")
    migrate.upgrade(env["DATABASE_URL"])
    config = Config.from_env(env)
    rt = build_runtime(config)
    queue = Queue(QUEUE, connection=redis)
    store = LocalStore(tmp_path / "bk")
    # Noon of today: the job id is per day, so the checks below must not cross midnight.
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    try:
        check = daily.DailyBackupCheck(config)
        assert enqueue_backup_if_due(rt, queue, check, now=now)
        assert queue.job_ids == [f"backup-{now:%Y-%m-%d}"]
        # Within the check interval nothing is asked; after it, the waiting job is not doubled.
        assert not enqueue_backup_if_due(rt, queue, check, now=now + timedelta(minutes=1))
        later = now + daily.CHECK_EVERY
        assert not enqueue_backup_if_due(rt, queue, daily.DailyBackupCheck(config), now=later)
        assert len(queue.job_ids) == 1

        with worker_in_process(queue, env, monkeypatch) as work:
            work()
        [taken] = backup.backups_in(store)
        assert taken.revision == HEAD

        # The target now has today's backup: nothing is due, nothing is enqueued.
        assert not enqueue_backup_if_due(rt, queue, daily.DailyBackupCheck(config), now=later)
        assert queue.job_ids == []
    finally:
        redis.flushdb()
        redis.close()
        rt.database.dispose()


def test_in_embedded_mode_the_web_process_takes_the_daily_backup(tmp_path):
    import time as wall

    from jobs.inprocess import start_inprocess
    from jobs.runtime import build_runtime

    env = sqlite_env(tmp_path, "a.db", BACKUP_TARGET=str(tmp_path / "bk"), ROSHNI_ENV="test")
    migrate.upgrade(env["DATABASE_URL"])
    rt = build_runtime(Config.from_env(env))
    thread = start_inprocess(rt)
    try:
        deadline = wall.monotonic() + 30
        while not LocalStore(tmp_path / "bk").names() and wall.monotonic() < deadline:
            wall.sleep(0.2)
    finally:
        thread.stop()
        thread.join(timeout=30)
        rt.database.dispose()
    [taken] = backup.backups_in(LocalStore(tmp_path / "bk"))
    assert taken.revision == HEAD


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BACKUP_TARGET", "ftp://host/dir", "BACKUP_TARGET must be a directory or s3://"),
        ("BACKUP_TARGET", "s3:///prefix", "BACKUP_TARGET s3:// URLs need a bucket"),
        ("BACKUP_KEEP", "0", "BACKUP_KEEP must be between 1 and 1000"),
        ("BACKUP_S3_ENDPOINT_URL", "minio:9000", "BACKUP_S3_ENDPOINT_URL must start with http"),
    ],
)
def test_bad_backup_settings_stop_start_up_naming_the_variable(tmp_path, name, value, message):
    from core.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        Config.from_env({"ROSHNI_INSTANCE_DIR": str(tmp_path), name: value})


def test_the_bucket_secret_may_come_from_a_file_and_is_not_in_the_config_repr(tmp_path):
    secret_file = tmp_path / "s3-secret"
    secret_file.write_text("from-a-file-secret\n")
    config = Config.from_env(
        {
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "BACKUP_TARGET": "s3://bucket/prefix",
            "BACKUP_S3_SECRET_ACCESS_KEY_FILE": str(secret_file),
        }
    )
    assert config.backup_s3_secret_access_key == "from-a-file-secret"
    assert "from-a-file-secret" not in repr(config)


def test_doctor_warns_when_the_newest_backup_is_older_than_26_hours(tmp_path):
    env = sqlite_env(tmp_path, "a.db", BACKUP_TARGET=str(tmp_path / "bk"), REDIS_URL="")
    assert roshni("db", "upgrade", env=env).returncode == 0
    store = LocalStore(tmp_path / "bk")

    none_yet = roshni("doctor", env=env)
    assert f"warn  backups       no backup in {tmp_path / 'bk'} yet" in none_yet.stdout

    backup.take_backup(env["DATABASE_URL"], store, keep=5, now=utcnow() - timedelta(hours=27))
    stale = roshni("doctor", env=env)
    assert "warn  backups       newest roshni-" in stale.stdout
    assert "(older than 26 h: is the daily backup failing?" in stale.stdout

    backup.take_backup(env["DATABASE_URL"], store, keep=5, now=utcnow() - timedelta(hours=2))
    fresh = roshni("doctor", env=env)
    assert "ok    backups       newest roshni-" in fresh.stdout


def test_backup_names_carry_the_utc_time_and_the_revision():
    taken = datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC)
    name = backup.backup_name(taken, "0010", "pgdump")
    assert name == "roshni-20261206T010203Z-0010.pgdump"
    parsed = backup.parse_name(name)
    assert (parsed.taken_at, parsed.revision, parsed.kind) == (taken, "0010", "pgdump")
    assert backup.parse_name("notes.txt") is None
    assert "xyzzy" not in repr(S3Settings(secret_access_key="xyzzy"))


def test_a_sqlite_backup_is_a_consistent_sqlite_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    migrate.upgrade(url)
    result = backup.take_backup(url, LocalStore(tmp_path / "bk"), keep=1, now=utcnow())
    conn = sqlite3.connect(tmp_path / "bk" / result.name)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_an_unreachable_database_is_one_sentence_without_its_password(tmp_path):
    url = "postgresql+psycopg://roshni:hunter2-secret@127.0.0.1:1/roshni"
    with pytest.raises(backup.BackupError) as failed:
        backup.take_backup(url, LocalStore(tmp_path), keep=1, now=utcnow())
    assert str(failed.value) == "cannot reach the database (OperationalError)"
    dump = tmp_path / "roshni-20261206T000000Z-0010.pgdump"
    dump.write_bytes(b"PGDMP" + b"\0" * 32)
    with pytest.raises(backup.BackupError, match="cannot reach the database") as refused:
        backup.restore(url, dump)
    assert "hunter2" not in str(refused.value)
    assert LocalStore(tmp_path).names() == [dump.name]


def test_chat_media_is_kept_in_the_instance_folder_or_the_bucket_media_target_names(
    tmp_path, s3_server, bucket
):
    local = media_store(Config.from_env(sqlite_env(tmp_path, "a.db")))
    local.put_bytes(b"photo", "abc.jpg")
    assert (tmp_path / "media" / "abc.jpg").read_bytes() == b"photo"
    assert local.get_bytes("abc.jpg") == b"photo"

    env = sqlite_env(tmp_path, "a.db", MEDIA_TARGET=f"s3://{bucket}/media", **s3_env(s3_server))
    remote = media_store(Config.from_env(env))
    remote.put_bytes(b"voice", "def.ogg")
    assert remote.get_bytes("def.ogg") == b"voice"
    assert remote.names() == ["def.ogg"]
    with pytest.raises(StorageError, match=r"cannot download gone\.ogg"):
        remote.get_bytes("gone.ogg")
