"""A therapist writes yesterday's session record from Today: a draft, then signed.

The demo therapist login is linked to Dr. Priya Nair. Her sessions here are yesterday's
(in Kolkata), at times no other browser test books: she gets extra hours for the whole of
yesterday, so the clinic is open then whatever day the (real or moved) clock says it is,
and the front desk enters each session after the fact (a backdated booking). Yesterday is
within the 14 days that "Sessions needing notes" looks back over.
"""

from __future__ import annotations

import pytest

from models import Appointment
from tests.browser.conftest import (
    ADMIN_PASSWORD,
    log_in,
    past_speech_session,
    screenshot,
)
from tests.browser.test_small_screens import VIEWPORTS, assert_fits

pytestmark = pytest.mark.browser

THERAPIST_EMAIL = "therapist@roshni.example"


def yesterdays_session(db_session, roshni, patient, hour: int) -> Appointment:
    return past_speech_session(db_session, roshni, patient, days_ago=1, hour=hour)


SOAP = {
    "subjective": "Mother says he names more pictures at home.",
    "objective": "Named 14 of 20 picture cards; /s/ clusters 6 of 10.",
    "assessment": "Steady progress towards the naming goal.",
    "plan": "Continue /s/ clusters; add two-word phrases.",
}


def test_a_therapist_writes_signs_and_clears_a_session_needing_notes(
    page, db_session, roshni, make_patient
):
    patient = make_patient("Vihaan Record", guardian="Sneha Record")
    appointment = yesterdays_session(db_session, roshni, patient, hour=10)

    log_in(page, THERAPIST_EMAIL, ADMIN_PASSWORD)
    page.goto("/admin/")
    row = page.locator(f'#needing-notes li[data-session="{appointment.id}"]')
    assert "Vihaan Record" in row.inner_text()
    row.get_by_role("link", name="Write notes").click()
    page.wait_for_url(f"**/admin/appointment/notes/{appointment.id}")
    form = page.locator("#record-form")
    assert page.locator("#record-state").count() == 0  # nothing written yet

    for part, text in SOAP.items():
        form.locator(f'textarea[name="record-{part}"]').fill(text)
    form.locator('select[name="record-attendance"]').select_option(label="Late")
    page.locator("#record-save").click()
    page.get_by_text("Record saved as a draft.").wait_for()
    assert page.locator("#record-state").inner_text().startswith("Draft, last saved by")
    for part, text in SOAP.items():
        assert form.locator(f'textarea[name="record-{part}"]').input_value() == text
    assert form.locator('select[name="record-attendance"]').input_value() == "late"

    page.locator("#record-sign").click()
    page.get_by_text("Record signed.").wait_for()
    assert page.locator("#record-form").count() == 0
    assert page.locator("#record-state").inner_text().startswith("Signed by")
    signed = page.locator("#record-signed").inner_text()
    labels = ("Subjective", "Objective", "Assessment", "Plan")
    for label, text in zip(labels, SOAP.values(), strict=True):
        assert label in signed and text in signed
    assert "Late" in signed
    screenshot(page, "record_1_signed")

    page.goto("/admin/")
    page.get_by_role("heading", name="Roshni Clinic").wait_for()
    assert page.locator(f'#needing-notes li[data-session="{appointment.id}"]').count() == 0


def test_the_notes_page_fits_a_phone(page, db_session, roshni, make_patient):
    patient = make_patient("Anvi Record", guardian="Kiran Record")
    appointment = yesterdays_session(db_session, roshni, patient, hour=12)

    page.set_viewport_size(VIEWPORTS["phone"])
    log_in(page, THERAPIST_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/admin/appointment/notes/{appointment.id}")
    page.locator("#record-form").wait_for()
    assert_fits(page, "notes page, record form (phone)")
    page.locator('textarea[name="record-subjective"]').fill(SOAP["subjective"])
    page.locator("#record-save").click()
    page.get_by_text("Record saved as a draft.").wait_for()
    assert_fits(page, "notes page, draft (phone)")
    screenshot(page, "record_2_phone_draft")
