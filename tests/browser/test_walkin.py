"""The desk books a walk-in now, finding the patient by typing part of a phone number.

"Now" is the real clock (moved or not): Dr. Priya gets extra hours for the whole of
today, so the clinic is open whenever the test runs, and the walk-in starts at the
slot that began a few minutes ago (or, late at night, the last one that fits today).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from models import Appointment, OutboundMessage
from tests.browser.conftest import KOLKATA, log_in, screenshot, speech_therapist_all_day

pytestmark = pytest.mark.browser


def walk_in_start(now: datetime, minutes: int, step: int) -> datetime:
    """The step-aligned start at or just before ``now`` in Kolkata that still ends today."""
    local = now.astimezone(KOLKATA)
    floor = local.replace(minute=local.minute - local.minute % step, second=0, microsecond=0)
    latest = datetime.combine(local.date(), time(23, 59), tzinfo=KOLKATA) - timedelta(
        minutes=minutes
    )
    while floor > latest:
        floor -= timedelta(minutes=step)
    return floor


def test_the_desk_books_a_walk_in_now_by_typing_part_of_a_phone_number(
    page, db_session, roshni, make_patient
):
    kavya = make_patient("Kavya Rao", guardian="Sunil Rao", phone="+919811223344")
    make_patient("Kavya Menon", guardian="Latha Menon")
    today = utcnow().astimezone(KOLKATA).date()
    speech_therapist_all_day(db_session, roshni, today)
    start = walk_in_start(
        utcnow(),
        roshni.speech_session.duration_minutes,
        roshni.clinic.policy.slot_step_minutes,
    )

    log_in(page)
    page.goto("/admin/calendar/book")
    page.get_by_role("heading", name="Book a session").wait_for()
    # Nothing is chosen for the desk.
    assert page.locator("#cal-patient").input_value() == ""
    assert page.locator("#cal-service").input_value() == ""

    # "Find" runs even though no patient is chosen yet (the browser must not block it).
    page.get_by_label("Find a patient").fill("Kavya")
    with page.expect_navigation():
        page.get_by_role("button", name="Find", exact=True).click()
    assert page.locator("#cal-patient option", has_text="Kavya").count() == 2

    # Search as you type: part of the guardian's number, then pick the match.
    box = page.get_by_label("Find a patient")
    box.fill("")
    box.press_sequentially("112 233")
    match = page.get_by_role("button", name="Kavya Rao — Sunil Rao, +91 98112 23344")
    match.wait_for()
    assert page.locator(".patient-matches button").count() == 1
    screenshot(page, "walkin_1_search")
    match.click()
    assert page.locator("#cal-patient").input_value() == str(kavya.id)

    page.locator("#cal-service").select_option(value=str(roshni.speech_session.id))
    page.locator("#cal-start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Book", exact=True).click()

    confirmation = page.locator(".alert-success").first
    confirmation.wait_for()
    text = confirmation.inner_text()
    screenshot(page, "walkin_2_booked")
    assert "Kavya Rao" in text and "Speech Therapy Session" in text
    db_session.expire_all()
    appointment = db_session.scalars(
        select(Appointment).where(Appointment.patient_id == kavya.id)
    ).one()
    assert appointment.start_at == start
    # It started before the desk pressed Book: marked back-dated, and nothing is sent.
    assert appointment.backdated
    assert "back-dated" in text and "Sunil Rao is not sent any message" in text
    assert not db_session.scalars(
        select(OutboundMessage).where(OutboundMessage.appointment_id == appointment.id)
    ).all()


def test_the_appointment_form_finds_a_patient_as_you_type_and_chooses_nothing_itself(
    page, make_patient
):
    anvi = make_patient("Anvi Shah", guardian="Rekha Shah", phone="+919811556677")

    log_in(page)
    page.goto("/admin/appointment/new/")
    patient = page.locator("select#patient")
    assert patient.input_value() in ("", "__None")
    assert page.locator("select#service").input_value() in ("", "__None")

    page.get_by_label("Find a patient").press_sequentially("rekha")
    page.get_by_role("button", name="Anvi Shah — Rekha Shah, +91 98115 56677").click()
    assert patient.input_value() == str(anvi.id)
    screenshot(page, "walkin_3_appointment_form")
