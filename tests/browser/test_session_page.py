"""From Today to the session page: check the patient in, complete the session, take UPI.

"Now" is the real clock: Dr. Kavya Rao gets extra hours for the whole of today, and the
session starts at the slot that began a few minutes ago (see ``test_walkin``), so it is
today's and under way whenever the test runs.
"""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from core.clock import utcnow
from models import BookingSource, ExceptionKind, Service, StaffUser, Therapist
from services.audit import Actor
from services.clinics import catalog
from services.scheduling.appointments import book_appointment
from tests.browser.conftest import ADMIN_EMAIL, KOLKATA, SYSTEM, log_in, screenshot
from tests.browser.test_walkin import walk_in_start

pytestmark = pytest.mark.browser


def under_way(db_session, roshni, patient, therapist_name: str, service_name: str):
    """A session of today's that has just begun, with hours added for the whole day."""
    therapist = db_session.scalar(select(Therapist).where(Therapist.name == therapist_name))
    service = db_session.scalar(
        select(Service).where(Service.clinic_id == roshni.id, Service.name == service_name)
    )
    admin = db_session.scalar(select(StaffUser).where(StaffUser.email == ADMIN_EMAIL))
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
    start = walk_in_start(
        utcnow(), service.duration_minutes, roshni.clinic.policy.slot_step_minutes
    )
    appointment = book_appointment(
        db_session,
        clinic_id=roshni.id,
        patient_id=patient.id,
        service_id=service.id,
        therapist_id=therapist.id,
        start=start,
        now=utcnow(),
        actor=Actor.staff(admin.id),
        source=BookingSource.ADMIN,
    )
    db_session.commit()
    return appointment


def test_the_desk_checks_in_completes_and_takes_upi_from_the_session_page(
    page, db_session, roshni, make_patient
):
    patient = make_patient("Tara Bose", guardian="Rina Bose")
    appointment = under_way(db_session, roshni, patient, "Dr. Kavya Rao", "Physiotherapy Session")

    log_in(page)
    page.goto("/admin/")
    page.get_by_role("link", name=appointment.number).click()
    page.locator("#session-page").wait_for()
    screenshot(page, "session_1_page")

    page.get_by_role("button", name="Arrived").click()
    page.get_by_text("Checked in").wait_for()
    assert "arrived" in page.locator("#session-status").inner_text()
    page.get_by_role("button", name="Completed").click()
    page.get_by_text("Marked as completed.").wait_for()
    assert "completed" in page.locator("#session-status").inner_text()
    screenshot(page, "session_2_completed")

    assert page.locator("#take-payment-amount").input_value() == "700"
    page.locator("#take-payment-method").select_option(label="UPI")
    page.get_by_role("button", name="Take payment").click()
    page.get_by_text("by UPI").wait_for()
    assert page.locator("#session-payment").inner_text().startswith("paid")
    assert page.locator("#take-payment").count() == 0
    screenshot(page, "session_3_paid")


def test_a_session_s_actions_open_in_a_popover_from_the_calendar(
    page, db_session, roshni, make_patient
):
    patient = make_patient("Neel Das", guardian="Ritu Das")
    appointment = under_way(
        db_session, roshni, patient, "Rahul Mehta", "Occupational Therapy Session"
    )

    log_in(page)
    page.goto("/admin/calendar/?view=day")
    page.locator(f'a.cal-event[title="{appointment.number}"]').click()
    popover = page.locator(".session-popover")
    popover.get_by_text("Neel Das").wait_for()
    screenshot(page, "session_4_calendar_popover")
    popover.get_by_role("button", name="Arrived").click()

    page.get_by_text("Checked in").wait_for()
    assert "/admin/calendar/" in page.url and "view=day" in page.url
    page.locator(f'a.cal-event[title="{appointment.number}"]').click()
    assert "arrived" in page.locator(".session-popover #session-status").inner_text()
    page.keyboard.press("Escape")
    assert page.locator(".session-popover").count() == 0
