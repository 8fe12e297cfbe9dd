"""The staff panel served for real and driven by Debian's headless Chromium.

One server for the whole run: the app from ``create_app`` on a throwaway SQLite
file migrated to head and seeded with the demo clinics, listening on a free port.
Each test gets a fresh browser context (no cookies), logs in through the form and
leaves a screenshot of every page it visits under ``test-artifacts/screenshots``.
Tests add the rows they need through the services (their own patients and
times), so the order they run in does not matter.

The browser is ``/usr/bin/chromium`` from Debian (``make test`` installs it);
Playwright is only the driver and never downloads a browser of its own.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from core import migrate
from core.clock import utcnow
from core.config import Config
from core.db import get_db
from models import (
    Appointment,
    BookingSource,
    Clinic,
    ExceptionKind,
    Relation,
    Service,
    StaffUser,
    Therapist,
)
from roshni.app import create_app
from roshni.demo import seed_demo
from services.audit import Actor
from services.clinics import catalog
from services.people import patients
from services.scheduling.appointments import book_appointment

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
ADMIN_EMAIL = "admin@roshni.example"
ADMIN_PASSWORD = "demo-password-123"
KOLKATA = ZoneInfo("Asia/Kolkata")
SYSTEM = Actor.system()


# --- the browser ---------------------------------------------------------------------------


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the browser tests are required)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed ({CHROMIUM}): run make test, which installs it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed: run make install")

    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # the screenshots are of this run only
    driver = sync_playwright().start()
    chromium = driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
    )
    try:
        yield chromium
    finally:
        chromium.close()
        driver.stop()


# Reported to the console by every page, for every directive the CSP refuses: a blocked
# script, style, font, image or form. (Playwright's init script is not subject to the CSP.)
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.effectiveDirective + " refused " +
    (event.blockedURI || "inline code") + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""


@pytest.fixture
def csp_violations() -> list[str]:
    """What the CSP refused in this test's tab (the page fixture fails the test on any)."""
    return []


@pytest.fixture
def page(browser: Any, live_server: str, csp_violations: list[str]) -> Iterator[Any]:
    """A logged-out tab on the live server. Script errors and CSP violations on any page
    fail the test: a script or style the CSP blocks is a broken page even if nothing throws."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(f"{tab.url}: {exc}"))
    tab.on(
        "console",
        lambda msg: (
            csp_violations.append(f"{tab.url}: {msg.text}")
            if msg.type == "error"
            and ("Content Security Policy" in msg.text or msg.text.startswith("CSP violation"))
            else None
        ),
    )
    try:
        yield tab
        assert not errors + csp_violations, "the browser reported errors:\n" + "\n".join(
            errors + csp_violations
        )
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")


# --- the server ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def panel_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'roshni.db'}"
    migrate.upgrade(url)
    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": url,
            "SECRET_KEY": "b" * 40,
            "ROSHNI_INSTANCE_DIR": str(folder),
            "ROSHNI_INPROCESS_JOBS": "false",  # the outbox stays put; nothing is sent
        }
    )
    app = create_app(config)
    with get_db(app).session_scope() as session:
        seed_demo(session, admin_password=ADMIN_PASSWORD)
    try:
        yield app
    finally:
        get_db(app).dispose()


@pytest.fixture(scope="session")
def live_server(panel_app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, panel_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-live-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def db_session(panel_app: Any) -> Iterator[Session]:
    with get_db(panel_app).session_scope() as session:
        yield session


# --- the demo clinic and the rows a test adds to it ----------------------------------------


@dataclass(frozen=True)
class DemoClinic:
    clinic: Clinic
    speech_therapist: Therapist
    speech_session: Service

    @property
    def id(self) -> int:
        return self.clinic.id


@pytest.fixture
def roshni(db_session: Session) -> DemoClinic:
    """Roshni Clinic as ``seed_demo`` made it (Asia/Kolkata, weekdays 09:00–18:00)."""
    clinic = db_session.scalar(select(Clinic).where(Clinic.slug == "roshni"))
    assert clinic is not None
    therapist = db_session.scalar(
        select(Therapist).where(
            Therapist.clinic_id == clinic.id, Therapist.name == "Dr. Priya Nair"
        )
    )
    service = db_session.scalar(
        select(Service).where(
            Service.clinic_id == clinic.id, Service.name == "Speech Therapy Session"
        )
    )
    assert therapist is not None and service is not None
    return DemoClinic(clinic, therapist, service)


_phones = itertools.count(1)


@pytest.fixture
def make_patient(db_session: Session, roshni: DemoClinic) -> Callable[..., Any]:
    """``make_patient("Ishaan")``: a child with a guardian who has a fresh phone number."""

    def make(name: str, guardian: str = "Meera Iyer", phone: str | None = None):
        contact = patients.create_contact(
            db_session,
            clinic_id=roshni.id,
            phone=phone or f"+919845{next(_phones):06d}",
            name=guardian,
            consent=("v1", utcnow()),
            actor=SYSTEM,
        )
        return patients.add_patient(
            db_session,
            clinic_id=roshni.id,
            contact_id=contact.id,
            name=name,
            relation=Relation.CHILD,
            date_of_birth=date(2019, 5, 4),
            actor=SYSTEM,
            today=utcnow().astimezone(KOLKATA).date(),
        )

    return make


@pytest.fixture
def book(db_session: Session, roshni: DemoClinic) -> Callable[..., Appointment]:
    """``book(patient, start)``: a speech session with Dr. Priya Nair, booked by the front desk."""

    def make(patient: Any, start: datetime) -> Appointment:
        return book_appointment(
            db_session,
            clinic_id=roshni.id,
            patient_id=patient.id,
            service_id=roshni.speech_session.id,
            therapist_id=roshni.speech_therapist.id,
            start=start,
            now=utcnow(),
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )

    return make


def weekday_ahead(days: int) -> date:
    """The first Monday–Friday at least ``days`` days from today in Kolkata: always in the
    future, inside the 30-day horizon, and on a day the demo clinic is open 09:00–18:00."""
    day = utcnow().astimezone(KOLKATA).date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def kolkata(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=KOLKATA)


def speech_therapist_all_day(db_session, roshni, day) -> None:
    """Dr. Priya Nair works all of ``day`` (Kolkata): extra hours, whatever its weekday."""
    catalog.add_exception(
        db_session,
        clinic_id=roshni.id,
        kind=ExceptionKind.EXTRA,
        therapist_id=roshni.speech_therapist.id,
        location_id=roshni.clinic.locations[0].id,
        start_date=day,
        end_date=day,
        start=time(0, 0),
        end=time(23, 59),
        actor=SYSTEM,
    )


def past_speech_session(
    db_session: Session, roshni: Any, patient: Any, *, days_ago: int, hour: int
) -> Appointment:
    """Dr. Priya Nair's speech session ``days_ago`` days back at ``hour``:00 Kolkata, entered
    by the admin (staff may enter a session that already began). She gets extra hours for
    that whole day, so the day of the week never matters."""
    day = utcnow().astimezone(KOLKATA).date() - timedelta(days=days_ago)
    speech_therapist_all_day(db_session, roshni, day)
    admin = db_session.scalar(select(StaffUser).where(StaffUser.email == ADMIN_EMAIL))
    appointment = book_appointment(
        db_session,
        clinic_id=roshni.id,
        patient_id=patient.id,
        service_id=roshni.speech_session.id,
        therapist_id=roshni.speech_therapist.id,
        start=kolkata(day, hour),
        now=utcnow(),
        actor=Actor.staff(admin.id),
        source=BookingSource.ADMIN,
    )
    db_session.commit()
    return appointment
