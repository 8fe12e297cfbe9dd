"""A staff member switches the panel to Hindi on My profile and reads Today in Hindi.

The test signs in as a desk account of its own (the demo admin keeps English for the other
tests). With ROSHNI_SCREENSHOTS set to a directory, it keeps Today, the calendar and a
session page in both languages there (``<page>_<lang>.png``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Role, StaffUser
from services.staff.accounts import create_staff_user
from tests.browser.conftest import (
    ADMIN_PASSWORD,
    SYSTEM,
    kolkata,
    log_in,
    screenshot,
    weekday_ahead,
)

pytestmark = pytest.mark.browser

EMAIL = "hindi-desk@roshni.example"
LOAD_DEVANAGARI = """Promise.all(['400', '700'].map(
  w => document.fonts.load(w + ' 1em "Roshni Devanagari"', 'आ')
)).then(() => document.fonts.ready).then(() => true)"""


def keep(page, name: str) -> None:
    """Into ROSHNI_SCREENSHOTS when it names a directory; the run's artifacts either way."""
    # Devanagari comes in a web font fetched on first use (admin/static/devanagari.css).
    page.evaluate(LOAD_DEVANAGARI)
    screenshot(page, f"staff_language_{name}")
    target = os.environ.get("ROSHNI_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


def the_pages(page, appointment_id: int, lang: str) -> None:
    page.goto("/admin/")
    keep(page, f"today_{lang}")
    page.goto("/admin/calendar/")
    page.wait_for_selector(".ec", state="visible")
    page.wait_for_load_state("networkidle")  # its sessions and free times
    keep(page, f"calendar_{lang}")
    page.goto(f"/admin/appointment/details/?id={appointment_id}")
    page.wait_for_selector("#session-page")
    keep(page, f"session_{lang}")


def test_switching_to_hindi_on_my_profile(page, db_session, roshni, make_patient, book):
    if db_session.scalar(select(StaffUser).where(StaffUser.email == EMAIL)) is None:
        create_staff_user(
            db_session,
            email=EMAIL,
            password=ADMIN_PASSWORD,
            role=Role.OPERATOR,
            clinic_id=roshni.id,
            name="Sunita",
            actor=SYSTEM,
        )
    day = weekday_ahead(1)
    appointment = book(make_patient("Kabir"), kolkata(day, 11))
    db_session.commit()

    log_in(page, EMAIL)
    assert page.get_by_role("heading", name="Today's sessions").is_visible()
    the_pages(page, appointment.id, "en")

    page.goto("/admin/profile/")
    page.select_option("#locale", "hi")
    page.click("#save-language")
    page.wait_for_url("**/admin/profile/")
    assert page.locator("h1", has_text="मेरी प्रोफ़ाइल").is_visible()
    assert page.get_by_text("आपकी भाषा सेव हो गई।").is_visible()

    page.goto("/admin/")
    assert page.get_by_role("heading", name="आज के सेशन").is_visible()
    assert page.get_by_role("button", name="लॉगआउट").is_visible()
    assert page.locator("#panel-menu").get_by_text("अपॉइंटमेंट").first.is_visible()
    the_pages(page, appointment.id, "hi")
    assert page.get_by_text("अभिभावक").is_visible()
