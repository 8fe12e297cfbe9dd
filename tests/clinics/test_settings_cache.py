"""A process's copy of a clinic's catalogue is used only while the database says it is
current: an edit made anywhere else (the panel in another process) is seen on the next read."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from core.config import PROJECT_ROOT
from core.db import Database
from models import Service, SettingsVersion
from services.audit import Actor
from services.clinics import catalog, settings_cache

SYSTEM = Actor.system()


def names(db: Database, clinic_id: int, loads: list[int]) -> list[str]:
    """The clinic's service names through the cache, in a session (and transaction) of
    its own; ``loads`` counts the reads that reached the tables."""

    def load() -> tuple[str, ...]:
        loads.append(1)
        return tuple(session.scalars(select(Service.name).where(Service.clinic_id == clinic_id)))

    with db.session_scope() as session:
        return list(settings_cache.cached(session, ("test-names", clinic_id), load))


def test_a_copy_serves_until_the_catalogue_changes_anywhere(db, session, make_clinic, make_service):
    clinic = make_clinic()
    service = make_service(clinic, name="Speech Therapy Session")
    loads: list[int] = []
    assert names(db, clinic.id, loads) == ["Speech Therapy Session"]
    assert names(db, clinic.id, loads) == ["Speech Therapy Session"]
    assert len(loads) == 1  # the second read was the copy

    # The panel's edit, on another connection: the copy is stale from its commit on.
    with db.session_scope() as panel:
        edited = panel.get(Service, service.id)
        before = {"name": edited.name}
        edited.name = "Speech and Language Therapy"
        catalog.save_record(panel, edited, clinic_id=clinic.id, actor=SYSTEM, before=before)
    assert names(db, clinic.id, loads) == ["Speech and Language Therapy"]
    assert len(loads) == 2


def test_an_uncommitted_edit_leaves_the_copy_alone(db, make_clinic, make_service):
    clinic = make_clinic()
    service = make_service(clinic, name="Speech Therapy Session")
    loads: list[int] = []
    names(db, clinic.id, loads)
    with db.session_scope() as panel:
        panel.get(Service, service.id).name = "Draft name"
        panel.flush()  # the trigger ran, in a transaction nobody else sees yet
        assert names(db, clinic.id, loads) == ["Speech Therapy Session"]
        panel.rollback()
    assert names(db, clinic.id, loads) == ["Speech Therapy Session"]


def test_another_process_writing_the_catalogue_changes_the_token(db, make_clinic, make_service):
    """What a second gunicorn worker relies on: the token lives in the database, and any
    write to a watched table by any process (here plain SQL from a child) replaces it."""
    clinic = make_clinic()
    make_service(clinic)
    loads: list[int] = []
    assert names(db, clinic.id, loads) == ["Speech Therapy Session"]
    with db.session_scope() as session:
        before = session.scalar(select(SettingsVersion.token))
    script = (
        "import sys; from sqlalchemy import create_engine, text\n"
        "engine = create_engine(sys.argv[1])\n"
        "with engine.begin() as conn:\n"
        "    conn.execute(text(\"UPDATE service SET name = 'Renamed' WHERE clinic_id = :c\"),"
        " {'c': int(sys.argv[2])})\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, db.url, str(clinic.id)],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=60,
    )
    with db.session_scope() as session:
        assert session.scalar(select(SettingsVersion.token)) not in (None, before)
    assert names(db, clinic.id, loads) == ["Renamed"]
    assert len(loads) == 2
