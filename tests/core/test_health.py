"""What monitoring sees: /readyz for the web process, /healthz/jobs and `roshni doctor`
for whether messages leave. These read the real clock, so the rows here are stamped
with it too (never with the suite's fixed NOW)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from core.config import Config
from core.db import write_transaction
from jobs.runner import Heartbeat
from jobs.runtime import build_runtime
from models import Channel, MessageKind, WorkerHeartbeat
from services.messaging import outbox as messaging
from services.messaging.job_health import record_heartbeat
from tests.core.test_cli import roshni


def config_for(db, tmp_path, **extra: str) -> Config:
    return Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "h" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            **extra,
        }
    )


@pytest.fixture
def client(db, tmp_path):
    from core.db import get_db
    from roshni.app import create_app

    app = create_app(config_for(db, tmp_path, JOBS_MAX_DELAY_SECONDS="120"))
    yield app.test_client()
    get_db(app).dispose()


def beat(session, *, ago: timedelta, name: str = "worker:test:1") -> None:
    now = utcnow()
    record_heartbeat(session, name=name, kind="worker", started_at=now - ago, now=now - ago)


def queue_due(session, patient, *, ago: timedelta) -> None:
    with write_transaction(session):
        messaging.queue_message(
            session,
            clinic_id=patient.clinic_id,
            contact_id=patient.contact_id,
            channel=Channel.WHATSAPP,
            kind=MessageKind.DUES,
            template_key="dues_reminder",
            idempotency_key=f"health:{ago.total_seconds()}",
            due_at=utcnow() - ago,
        )


@pytest.fixture
def patient(make_clinic, make_patient):
    return make_patient(make_clinic())


def test_readyz_stays_ready_but_degraded_when_redis_is_down(db, tmp_path):
    from core.db import get_db
    from roshni.app import create_app

    # Port 1: nothing listens. Webhooks still store messages; the outbox is the record.
    app = create_app(config_for(db, tmp_path, REDIS_URL="redis://127.0.0.1:1/0"))
    ready = app.test_client().get("/readyz")
    get_db(app).dispose()
    assert ready.status_code == 200
    assert ready.json["status"] == "degraded"
    assert ready.json["degraded"] == ["redis"]
    assert ready.json["checks"]["database"] == "ok"
    assert ready.json["checks"]["redis"].startswith("error")


def test_readyz_is_unavailable_without_the_database(tmp_path):
    from core.db import get_db
    from roshni.app import create_app

    missing = tmp_path / "no-such-dir" / "x.db"  # SQLite cannot create it: no directory
    app = create_app(
        Config.from_env(
            {
                "ROSHNI_ENV": "test",
                "DATABASE_URL": f"sqlite:///{missing}",
                "SECRET_KEY": "h" * 40,
                "ROSHNI_INSTANCE_DIR": str(tmp_path),
            }
        )
    )
    ready = app.test_client().get("/readyz")
    get_db(app).dispose()
    assert ready.status_code == 503
    assert ready.json["checks"]["database"].startswith("error")


def test_jobs_check_fails_until_a_runner_reports(client, session):
    failing = client.get("/healthz/jobs")
    assert failing.status_code == 503
    assert failing.json["problems"] == ["no job runner has ever reported"]

    beat(session, ago=timedelta(seconds=5))
    ok = client.get("/healthz/jobs")
    assert ok.status_code == 200, ok.json
    assert ok.json["checks"]["runners_alive"] == 1


def test_jobs_check_fails_when_the_last_runner_went_quiet_two_minutes_ago(client, session):
    beat(session, ago=timedelta(minutes=3))
    quiet = client.get("/healthz/jobs")
    assert quiet.status_code == 503
    assert quiet.json["problems"][0].startswith("no job runner seen for 18")


def test_jobs_check_fails_when_the_oldest_due_message_waited_too_long(client, session, patient):
    beat(session, ago=timedelta(seconds=1))
    queue_due(session, patient, ago=timedelta(seconds=30))
    assert client.get("/healthz/jobs").status_code == 200

    queue_due(session, patient, ago=timedelta(minutes=5))
    stalled = client.get("/healthz/jobs")
    assert stalled.status_code == 503
    assert stalled.json["checks"]["outbox_due"] == 2
    assert "the oldest due message has waited 30" in stalled.json["problems"][0]
    assert "(limit 120 s)" in stalled.json["problems"][0]


def test_the_embedded_job_thread_reports_itself(db, tmp_path, session):
    runtime = build_runtime(config_for(db, tmp_path), database=db)
    heartbeat = Heartbeat(runtime, "web")
    heartbeat.beat()
    [row] = session.scalars(select(WorkerHeartbeat)).all()
    assert (row.kind, row.name.split(":")[0]) == ("web", "web")
    session.rollback()
    heartbeat.stop()
    assert session.scalars(select(WorkerHeartbeat)).all() == []


def test_doctor_names_what_is_wrong_and_exits_non_zero(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'doctor.db'}",
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
        "REDIS_URL": "",
    }
    empty = roshni("doctor", env=env)
    assert empty.returncode == 1
    assert "FAIL  migrations    at nothing, code expects" in empty.stdout

    assert roshni("db", "upgrade", env=env).returncode == 0
    no_runner = roshni("doctor", env=env)
    assert no_runner.returncode == 1
    assert "FAIL  jobs          no job runner has ever reported" in no_runner.stdout
    assert "ok    migrations" in no_runner.stdout

    from core.db import Database

    database = Database(env["DATABASE_URL"])
    with database.session_scope() as session:
        beat(session, ago=timedelta(seconds=2))
    database.dispose()
    healthy = roshni("doctor", env=env)
    assert healthy.returncode == 0, healthy.stdout
    assert "ok    jobs          1 runner(s) alive, 0 message(s) due" in healthy.stdout
    assert "Traceback" not in healthy.stderr
