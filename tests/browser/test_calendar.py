"""Book from a free slot of the calendar's week view; the session shows where it was clicked."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.clock import utcnow
from tests.browser.conftest import KOLKATA, log_in, screenshot, weekday_ahead

pytestmark = pytest.mark.browser


def weeks_from_this_one(day: date) -> int:
    """How many times to press Next from this week's calendar to reach ``day``'s week."""
    today = utcnow().astimezone(KOLKATA).date()
    return (
        (day - timedelta(days=day.weekday())) - (today - timedelta(days=today.weekday()))
    ).days // 7


def test_clicking_a_free_slot_books_it_and_the_session_shows_in_that_slot(
    page, roshni, make_patient
):
    patient = make_patient("Ishaan", guardian="Kiran Kapoor")
    day = weekday_ahead(3)

    log_in(page)
    page.get_by_role("link", name="Calendar", exact=True).click()
    page.get_by_label("Show", exact=True).select_option(label=roshni.speech_therapist.name)
    page.get_by_label("Free times for").select_option(label=roshni.speech_session.name)
    with page.expect_navigation():
        page.get_by_role("button", name="Show", exact=True).click()
    for _ in range(weeks_from_this_one(day)):
        with page.expect_navigation():
            page.get_by_role("link", name="Next").click()
    cell = page.locator(f'td.cal-cell[data-day="{day.isoformat()}"]:has(a.cal-free)').first
    when = cell.get_attribute("data-time")
    screenshot(page, "calendar_1_week")

    cell.locator("a.cal-free").first.click()
    page.get_by_role("heading", name="Book a session").wait_for()
    # By id: the form's <label for="patient"> does not point at the select (id "cal-patient").
    page.locator("#cal-patient").select_option(value=str(patient.id))
    screenshot(page, "calendar_2_book")
    page.get_by_role("button", name="Book", exact=True).click()

    page.get_by_text("Booked ").first.wait_for()
    assert "Ishaan" in page.locator(".alert-success").first.inner_text()
    event = page.locator(
        f'td.cal-cell[data-day="{day.isoformat()}"][data-time="{when}"] a.cal-event'
    )
    assert "Ishaan" in event.inner_text()
    assert "booked" in event.inner_text()
    screenshot(page, "calendar_3_booked")
