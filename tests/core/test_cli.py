"""The operator's command line, run as a real process against real databases."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from models import Appointment, AuditLog, Clinic, SenderNumber, Service, StaffUser, Therapist
from tests.clock import python_command

ROOT = Path(__file__).resolve().parents[2]


def roshni(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        python_command("roshni.cli", *args),
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def fresh_sqlite(tmp_path):
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
        "ADMIN_PASSWORD": "demo-password-123",
    }


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {
            model.__name__: conn.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (
                Clinic,
                Therapist,
                Service,
                SenderNumber,
                StaffUser,
                AuditLog,
                Appointment,
            )
        }
    engine.dispose()
    return out


def test_db_upgrade_then_seed_demo_twice_changes_nothing_the_second_time(fresh_sqlite):
    upgrade = roshni("db", "upgrade", env=fresh_sqlite)
    assert upgrade.returncode == 0, upgrade.stderr
    first = roshni("seed-demo", env=fresh_sqlite)
    assert first.returncode == 0, first.stderr
    assert "roshni, sunrise" in first.stdout
    after_first = counts(fresh_sqlite["DATABASE_URL"])
    second = roshni("seed-demo", env=fresh_sqlite)
    assert second.returncode == 0, second.stderr
    assert counts(fresh_sqlite["DATABASE_URL"]) == after_first
    assert after_first["Clinic"] == 2
    assert after_first["Therapist"] == 5
    assert after_first["Service"] == 7
    assert after_first["StaffUser"] == 8  # admin, operator, therapist, accountant × 2


def test_seed_demo_without_a_password_generates_and_prints_one_once(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "ROSHNI_INSTANCE_DIR": str(tmp_path)}
    env_no_password = {**env, "ADMIN_PASSWORD": ""}
    assert roshni("db", "upgrade", env=env_no_password).returncode == 0
    first = roshni("seed-demo", env=env_no_password)
    assert "created with password:" in first.stdout
    second = roshni("seed-demo", env=env_no_password)
    assert "password" not in second.stdout


def test_db_upgrade_works_on_postgresql(pg_url):
    # The session fixture already migrated this database; upgrading again is a no-op.
    result = roshni("db", "upgrade", env={"DATABASE_URL": pg_url})
    assert result.returncode == 0, result.stderr
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        constraint = conn.execute(
            text("SELECT 1 FROM pg_constraint WHERE conname = 'no_overlap'")
        ).scalar()
    engine.dispose()
    assert constraint == 1


def test_a_bad_setting_is_a_clear_error_not_a_traceback(fresh_sqlite):
    result = roshni("db", "upgrade", env={**fresh_sqlite, "PORT": "not-a-port"})
    assert result.returncode != 0
    assert "configuration error: PORT must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_roshni_chat_runs_the_booking_assistant_in_the_terminal(fresh_sqlite):
    assert roshni("db", "upgrade", env=fresh_sqlite).returncode == 0
    assert roshni("seed-demo", env=fresh_sqlite).returncode == 0
    result = subprocess.run(
        python_command("roshni.cli", "chat", "--clinic", "roshni", "--phone", "98765 43210"),
        cwd=ROOT,
        env={**os.environ, **fresh_sqlite},
        input="hi\n1\nAsha Verma\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Chatting with Roshni Clinic as +919876543210" in result.stdout
    assert "Roshni Clinic's booking assistant" in result.stdout
    assert "Nice to meet you, Asha" in result.stdout


def test_roshni_chat_explains_an_unknown_clinic(fresh_sqlite):
    assert roshni("db", "upgrade", env=fresh_sqlite).returncode == 0
    result = roshni("chat", "--clinic", "nowhere", "--phone", "9876543210", env=fresh_sqlite)
    assert result.returncode != 0
    assert "no clinic with slug 'nowhere'" in result.stderr


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("passwordpassword", "That password repeats the same part over and over"),
        ("operator-at-the-desk", "must not contain the name part of your email address"),
    ],
)
def test_seed_demo_with_a_weak_admin_password_stops_with_one_sentence(
    fresh_sqlite, password, reason
):
    assert roshni("db", "upgrade", env=fresh_sqlite).returncode == 0
    result = roshni("seed-demo", env={**fresh_sqlite, "ADMIN_PASSWORD": password})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]]  # one sentence, no traceback
    assert "ADMIN_PASSWORD is refused:" in lines[0]
    assert reason in lines[0]
    assert password not in result.stderr + result.stdout


def test_whatsapp_sync_without_twilio_says_so_and_succeeds(fresh_sqlite):
    assert roshni("db", "upgrade", env=fresh_sqlite).returncode == 0
    result = roshni("whatsapp", "sync", env={**fresh_sqlite, "TWILIO_ACCOUNT_SID": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "No Twilio account is configured (dry run): nothing to sync."


def test_whatsapp_sync_creates_the_templates_once_and_again_what_twilio_lost(fresh_sqlite, twilio):
    from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

    env = {
        **fresh_sqlite,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": twilio.url,
    }
    assert roshni("db", "upgrade", env=env).returncode == 0
    assert roshni("seed-demo", env=env).returncode == 0
    first = roshni("whatsapp", "sync", env=env)
    assert first.returncode == 0, first.stderr
    assert "account …aaaa (the deployment's; clinics: roshni, sunrise)" in first.stdout
    assert "18 template(s) created, 0 found at Twilio, 0 already in place" in first.stdout
    assert twilio.content_creates == 18
    twilio.delete_content(next(iter(twilio.contents)))
    second = roshni("whatsapp", "sync", env=env)
    assert second.returncode == 0, second.stderr
    assert "1 template(s) created, 0 found at Twilio, 17 already in place" in second.stdout
    third = roshni("whatsapp", "sync", env=env)
    assert "0 template(s) created, 0 found at Twilio, 18 already in place" in third.stdout
    assert twilio.content_creates == 19 and len(twilio.contents) == 18


def test_whatsapp_sync_fails_loudly_when_twilio_refuses(fresh_sqlite, twilio):
    env = {
        **fresh_sqlite,
        "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
        "TWILIO_AUTH_TOKEN": "not-the-right-token",
        "TWILIO_API_URL": twilio.url,
    }
    assert roshni("db", "upgrade", env=env).returncode == 0
    result = roshni("whatsapp", "sync", env=env)
    assert result.returncode == 1
    assert "failed: Twilio refused to list content (HTTP 401, code 20003)" in result.stderr
    assert "1 account(s) could not be synced" in result.stderr
    assert "not-the-right-token" not in result.stdout + result.stderr
