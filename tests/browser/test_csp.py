"""The panel works under a CSP without 'unsafe-inline': what Flask-Admin did with inline
handlers (list actions and their confirmations, select all, filters, delete buttons) is
done by admin/static/panel.js, and Chromium reports no violation on the way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from models import AvailabilityException, ExceptionKind
from services.clinics import catalog
from tests.browser.conftest import SYSTEM, kolkata, log_in, screenshot, weekday_ahead

pytestmark = pytest.mark.browser


def test_the_detector_sees_an_inline_script_refused(page, csp_violations):
    """The check every browser test relies on can fail: an inline script is reported."""
    page.goto("/login")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.ran = true";
          document.body.appendChild(script);
        }"""
    )
    page.wait_for_function("() => true")
    assert page.evaluate("() => window.ran === undefined")  # it did not run
    assert any("script-src" in line for line in csp_violations), csp_violations
    csp_violations.clear()  # seen on purpose


def test_list_actions_filters_and_delete_confirmations_work_under_the_csp(
    page, csp_violations, db_session, roshni, make_patient, book
):
    book(make_patient("Kabir"), kolkata(weekday_ahead(3), 15))
    # Another test's rows (a walk-in day's extra hours) go first: the list must be this test's.
    db_session.execute(
        delete(AvailabilityException).where(AvailabilityException.clinic_id == roshni.id)
    )
    db_session.commit()
    # Leave for the speech therapist well past the booking horizon: rows this test owns
    # (the demo clinic has no exceptions), deleted again by the end.
    first_day = weekday_ahead(60)
    for offset in range(3):
        day = first_day + timedelta(days=offset)
        catalog.add_exception(
            db_session,
            clinic_id=roshni.id,
            kind=ExceptionKind.CLOSED,
            therapist_id=roshni.speech_therapist.id,
            start_date=day,
            end_date=day,
            reason="Conference",
            actor=SYSTEM,
        )
    dialogs: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", on_dialog)

    log_in(page)
    # A filter: "Add filter" → Status → booked → Apply.
    page.goto("/admin/appointment/", wait_until="load")
    page.get_by_role("link", name="Add Filter").click()
    page.locator(".field-filters a.filter", has_text="Status").click()
    assert page.url.endswith("/admin/appointment/")  # the entry's link went nowhere
    # The value's <select> hides under select2's widget: choose on the <select> itself.
    page.locator("#filter_form select.filter-val").select_option("booked", force=True)
    page.locator("#filter_form button[type=submit]").click()
    page.wait_for_url("**/admin/appointment/?*", wait_until="load")
    assert "status" in page.url
    assert page.locator("input.action-checkbox").count() >= 1
    screenshot(page, "csp_1_filtered")
    # A date-range filter: its picker draws itself with the CSP in force.
    page.get_by_role("link", name="Add Filter").click()
    page.locator(".field-filters a.filter", has_text="Date").click()
    page.locator("#filter_form input.filter-val").last.click()
    screenshot(page, "csp_2_date_filter")

    page.goto("/admin/availabilityexception/", wait_until="load")
    rows = page.locator("input.action-checkbox")
    assert rows.count() == 3
    # Flask-Admin's "javascript:void(0)" links (here the current tab) are not followed.
    listing = page.url
    page.locator('a.nav-link.active[href^="javascript:"]').click()
    assert page.url == listing

    # A row's delete button asks first: "no" keeps the row, "yes" deletes it.
    page.get_by_title("Delete Record").first.click()
    assert dialogs == ["Are you sure you want to delete this record?"]
    assert rows.count() == 3
    answer["accept"] = True
    page.get_by_title("Delete Record").first.click()
    page.wait_for_load_state("load")
    page.get_by_text("Record was successfully deleted.").wait_for()
    assert rows.count() == 2
    screenshot(page, "csp_3_row_deleted")

    # Select all, then "With selected → Delete": its confirmation, then both rows go.
    answer["accept"] = False
    listing = page.url
    page.get_by_title("Select all records").check()
    assert all(box.is_checked() for box in rows.all())
    page.get_by_role("button", name="With selected").click()
    page.locator("[data-model-action=delete]").click()
    assert dialogs[-1] == "Are you sure you want to delete selected records?"
    assert rows.count() == 2 and page.url == listing  # "no": nothing posted, no "#" followed
    answer["accept"] = True
    page.get_by_role("button", name="With selected").click()
    page.locator("[data-model-action=delete]").click()
    page.get_by_text("2 records were successfully deleted.").wait_for()
    assert rows.count() == 0
    screenshot(page, "csp_4_all_deleted")

    db_session.rollback()
    left = select(func.count()).where(AvailabilityException.clinic_id == roshni.id)
    assert db_session.scalar(left) == 0
    assert csp_violations == []
