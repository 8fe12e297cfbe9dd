"""A therapist's patient's clinical page: a goal charted from a signed record, a progress
report signed, downloaded and sent, a document uploaded (and a fake one refused).

The demo therapist login is linked to Dr. Priya Nair. Each test makes its own patient and
books that patient's session with her three days ago (in Kolkata), at an hour no other
browser test books: she gets extra hours for the whole of that day, so the clinic is open
then whatever day the (real or moved) clock says it is, and the front desk enters the
session after the fact (a backdated booking). The session makes the patient hers.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from models import Appointment
from tests.browser.conftest import (
    ADMIN_PASSWORD,
    ARTIFACTS,
    log_in,
    past_speech_session,
    screenshot,
)
from tests.pdfs import first_page

pytestmark = pytest.mark.browser

THERAPIST_EMAIL = "therapist@roshni.example"
DAYS_AGO = 3  # test_session_record.py books yesterday


def past_session(db_session, roshni, patient, hour: int) -> Appointment:
    return past_speech_session(db_session, roshni, patient, days_ago=DAYS_AGO, hour=hour)


def tiny_png() -> bytes:
    """A real 1×1 PNG (one teal pixel)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x18\xbc\x9c")  # filter byte, then R G B
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_a_goal_set_on_the_page_is_charted_from_a_signed_record(
    page, db_session, roshni, make_patient
):
    patient = make_patient("Reyansh Clinical", guardian="Pooja Clinical")
    appointment = past_session(db_session, roshni, patient, hour=9)

    log_in(page, THERAPIST_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/admin/patient/clinical/{patient.id}")
    page.get_by_text("No goals yet.").wait_for()
    page.locator("#new-goal summary").click()
    form = page.locator("#goal-form")
    form.locator('select[name="term"]').select_option(label="Short-term")
    form.locator('textarea[name="behaviour"]').fill("Says /s/ correctly in short phrases")
    form.locator('input[name="measure"]').fill("percent correct of 10 tries")
    form.locator('input[name="baseline"]').fill("20")
    form.locator('input[name="target"]').fill("80")
    page.locator("#goal-submit").click()
    page.get_by_text("Goal set.").wait_for()
    card = page.locator("#goals .goal[data-goal]")
    assert card.count() == 1
    goal_id = card.get_attribute("data-goal")
    assert "Not measured yet" in card.inner_text()

    page.goto(f"/admin/appointment/notes/{appointment.id}")
    record = page.locator("#record-form")
    record.locator('textarea[name="record-subjective"]').fill("Keen today; tried every card.")
    record.locator(f'input[name="measure-{goal_id}"]').fill("50")
    page.locator("#record-sign").click()
    page.get_by_text("Record signed.").wait_for()
    assert "50" in page.locator(f'dd[data-goal="{goal_id}"]').inner_text()

    page.goto(f"/admin/patient/clinical/{patient.id}")
    card = page.locator(f'#goals .goal[data-goal="{goal_id}"]')
    card.locator(f'canvas[data-goal-chart="{goal_id}"][data-rendered="true"]').wait_for()
    assert "50% of the way" in card.inner_text()
    assert card.locator(".goal-progress").get_attribute("data-percent") == "50"
    row = page.locator(f'#clinical-sessions tr[data-session="{appointment.id}"]')
    assert "Signed" in row.inner_text()
    screenshot(page, "clinical_1_goal_chart")


def test_a_progress_report_is_signed_downloaded_and_sent_to_the_guardian(
    page, db_session, roshni, make_patient
):
    patient = make_patient("Myra Clinical", guardian="Anjali Clinical")
    past_session(db_session, roshni, patient, hour=11)

    log_in(page, THERAPIST_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/admin/patient/clinical/{patient.id}")
    page.locator("#report-new").click()
    form = page.locator("#report-form")
    form.wait_for()
    form.locator('textarea[name="summary"]').fill("Myra now names most everyday pictures.")
    page.locator("#report-sign").click()
    page.get_by_text("Report signed.").wait_for()
    assert page.locator("#report-state").inner_text().startswith("Signed by")
    assert "Myra now names most everyday pictures." in page.locator("#report-signed").inner_text()

    with page.expect_download() as downloading:
        page.locator("#report-download").click()
    pdf = downloading.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    page_one = first_page(pdf)
    assert "Myra Clinical" in page_one.text
    assert "Myra now names most everyday pictures." in page_one.text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page_one.image.save(ARTIFACTS / "clinical_2_report_page1.png")
    assert page_one.inked_share > 0.005  # drawn, not a blank page

    assert page.locator("#report-sent").count() == 0
    page.locator("#report-send").click()
    page.get_by_text("Report sent to the guardian in the chat.").wait_for()
    assert page.locator("#report-sent").inner_text().startswith("Last sent to the guardian")
    screenshot(page, "clinical_3_report_sent")

    page.goto(f"/admin/patient/clinical/{patient.id}")
    listed = page.locator("#progress-reports li[data-report]")
    assert listed.count() == 1
    assert "Signed" in listed.inner_text() and "Sent" in listed.inner_text()


def test_a_document_is_uploaded_and_a_disguised_text_file_is_refused(
    page, db_session, roshni, make_patient
):
    patient = make_patient("Kiaan Clinical", guardian="Divya Clinical")
    past_session(db_session, roshni, patient, hour=13)

    log_in(page, THERAPIST_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/admin/patient/clinical/{patient.id}")
    page.locator("#new-document summary").click()
    form = page.locator("#document-form")
    form.locator('input[name="file"]').set_input_files(
        {"name": "referral-scan.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    form.locator('select[name="tag"]').select_option(label="Referral letter")
    page.locator("#document-submit").click()
    page.get_by_text("Document uploaded.").wait_for()
    rows = page.locator("#document-list tr[data-document]")
    assert rows.count() == 1
    assert "referral-scan.png" in rows.inner_text() and "Referral letter" in rows.inner_text()
    screenshot(page, "clinical_4_document")

    page.locator("#new-document summary").click()
    form.locator('input[name="file"]').set_input_files(
        {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": b"just some text\n"}
    )
    page.locator("#document-submit").click()
    page.get_by_text(
        "This file is not a PDF, JPEG, PNG, HEIC photo or MP4 video; it was not kept."
    ).wait_for()
    assert page.locator("#document-list tr[data-document]").count() == 1
    assert "notes.pdf" not in page.locator("#document-list").inner_text()
    screenshot(page, "clinical_5_document_refused")
