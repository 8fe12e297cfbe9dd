"""Two more of the desk's tasks in a real browser: printing a therapist's day sheet from the
calendar, and booking a walk-in who is not yet a patient, starting from Today (the click
count the issue sets for it: at most seven)."""

from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import select

from core.clock import utcnow
from models import Appointment, ExceptionKind, Patient, Service
from services.clinics import catalog
from tests.browser.conftest import KOLKATA, SYSTEM, kolkata, log_in, screenshot, weekday_ahead
from tests.browser.test_walkin import walk_in_start

pytestmark = pytest.mark.browser


def test_the_day_sheet_opens_from_the_calendar_and_prints_only_the_sheet(
    page, roshni, make_patient, book
):
    day = weekday_ahead(13)  # a day and time no other browser test books
    book(make_patient("Ishaan Sheet", guardian="Meera Sheet"), kolkata(day, 17))
    page.add_init_script(
        "window.print = function () { window.__printed = (window.__printed || 0) + 1; };"
    )

    log_in(page)
    page.goto(
        f"/admin/calendar/?view=day&date={day.isoformat()}&therapist={roshni.speech_therapist.id}"
    )
    page.locator(".cal-sheet-link").click()
    page.wait_for_url(re.compile(r"/admin/calendar/sheet"))
    sheet = page.locator("body")
    assert "Ishaan Sheet" in sheet.inner_text()
    assert "5:00" in sheet.inner_text()

    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1
    # On paper: the sheet, without the menu and the buttons.
    page.emulate_media(media="print")
    assert not page.locator("#panel-menu").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
    assert page.get_by_text("Ishaan Sheet").first.is_visible()
    screenshot(page, "day_sheet_print")


def test_a_walk_in_who_is_not_a_patient_yet_is_booked_from_today_in_seven_clicks(
    page, db_session, roshni
):
    # A physiotherapist of its own, working all day today: the walk-in's time is free
    # whatever the hour and whatever other browser tests booked (they share one database).
    therapist = catalog.create_therapist(
        db_session,
        clinic_id=roshni.id,
        name="Dr. Walk-in Physio",
        specialization="physiotherapy",
        actor=SYSTEM,
    )
    physio = db_session.scalar(
        select(Service).where(
            Service.clinic_id == roshni.id, Service.name == "Physiotherapy Session"
        )
    )
    today = utcnow().astimezone(KOLKATA).date()
    catalog.add_exception(
        db_session,
        clinic_id=roshni.id,
        kind=ExceptionKind.EXTRA,
        therapist_id=therapist.id,
        location_id=roshni.clinic.locations[0].id,
        start_date=today,
        end_date=today,
        start=time(0, 0),
        end=time(23, 59),
        actor=SYSTEM,
    )
    start = walk_in_start(utcnow(), physio.duration_minutes, roshni.clinic.policy.slot_step_minutes)
    clicks = 0

    log_in(page)
    page.goto("/admin/")
    page.locator("#today-book").click()  # 1
    clicks += 1
    page.locator("#cal-new-patient").click()  # 2
    clicks += 1
    page.get_by_label("Guardian's mobile number").fill("+91 98115 12345")
    page.get_by_label("Guardian's name").fill("Walk-in Parent")
    page.get_by_label("Patient's name").fill("Neel Walkin")
    page.get_by_role("button", name="Save", exact=True).click()  # 3
    clicks += 1

    page.get_by_role("heading", name="Book a session").wait_for()
    neel = db_session.scalars(select(Patient).where(Patient.name == "Neel Walkin")).one()
    assert page.locator("#cal-patient").input_value() == str(neel.id)
    page.locator("#cal-service").select_option(value=str(physio.id))  # 4
    clicks += 1
    # Their own physiotherapist: "any available" could take one another browser test
    # books at this very time (the tests share one database).
    page.locator("#cal-therapist").select_option(value=str(therapist.id))  # 5
    clicks += 1
    # The form opened at now on the slot grid; late in the evening the session would run
    # past midnight, so the test gives the latest start that still ends today.
    page.locator("#cal-start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#cal-book-submit").click()  # 6
    clicks += 1

    page.locator(".alert-success").first.wait_for()
    assert "Neel Walkin" in page.locator(".alert-success").first.inner_text()
    assert clicks <= 7
    db_session.rollback()  # a fresh read, not the snapshot of the one above
    booked = db_session.scalars(select(Appointment).where(Appointment.patient_id == neel.id)).one()
    assert booked.start_at == start
    screenshot(page, "walkin_new_patient_booked")
