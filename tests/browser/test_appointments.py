"""Cancel an appointment from the list, giving a reason."""

from __future__ import annotations

import pytest

from tests.browser.conftest import kolkata, log_in, screenshot, weekday_ahead

pytestmark = pytest.mark.browser


def test_cancelling_with_a_reason_shows_the_session_cancelled(page, make_patient, book):
    appointment = book(make_patient("Anaya"), kolkata(weekday_ahead(4), 14))

    log_in(page)
    page.get_by_role("link", name="Appointments", exact=True).click()
    row = page.locator("tr", has_text=appointment.number)
    screenshot(page, "appointments_1_list")

    row.get_by_title("Cancel with reason").click()
    page.get_by_role("heading", name=f"Cancel {appointment.number}").wait_for()
    page.get_by_label("Reason").fill("Family is travelling that week")
    screenshot(page, "appointments_2_cancel")
    page.get_by_role("button", name="Cancel appointment").click()

    page.get_by_text(f"Cancelled {appointment.number}").wait_for()
    row = page.locator("tr", has_text=appointment.number)
    assert "cancelled" in row.inner_text().lower()
    screenshot(page, "appointments_3_cancelled")

    row.get_by_title("View Record").click()
    assert "Family is travelling that week" in page.locator("#session-summary").inner_text()
    screenshot(page, "appointments_4_details")


def test_the_search_box_finds_a_patient_without_putting_the_name_in_the_url(
    page, make_patient, book
):
    appointment = book(make_patient("Ishaan Kapoor"), kolkata(weekday_ahead(5), 11))

    log_in(page)
    page.get_by_role("link", name="Appointments", exact=True).click()
    # search.js, at the end of the page, turns the box into a POST once the page loads.
    page.wait_for_url("**/admin/appointment/", wait_until="load")
    box = page.locator('form[role="search"] input[name="search"]')
    box.fill("Ishaan")
    box.press("Enter")
    page.wait_for_load_state()

    assert "sq=" in page.url and "Ishaan" not in page.url
    assert page.locator("tr", has_text=appointment.number).count() == 1
    screenshot(page, "appointments_5_searched")
