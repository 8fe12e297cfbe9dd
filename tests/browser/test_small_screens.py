"""The desk's daily pages on a 390 px phone and an 820 px tablet, as the front desk.

Each page must fit the screen's width (no sideways scrolling of the page), keep the
patient's name on screen, and give its main actions a touch-sized target: 44 px tall,
the size Apple's and WCAG 2.5.5's guidance give for a finger.

Each test books its own session through the services with a therapist of its own
(extra hours for the whole of today, the slot that began a few minutes ago; see
``test_walkin``), so it is today's and under way whenever the test runs and takes no
other test's time. Screenshots are saved only when ``ROSHNI_SCREENSHOTS`` is set.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.clock import utcnow
from models import BookingSource, Contact, ExceptionKind, Service, StaffUser
from services.audit import Actor
from services.clinics import catalog
from services.scheduling.appointments import book_appointment
from tests.browser.conftest import ADMIN_PASSWORD, KOLKATA, SYSTEM, log_in, screenshot
from tests.browser.test_walkin import walk_in_start
from tests.chat import Chat

pytestmark = pytest.mark.browser

OPERATOR_EMAIL = "operator@roshni.example"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "tablet": {"width": 820, "height": 1180}}
TOUCH = 44  # px: the smallest tap target for a primary action
_therapists = itertools.count(1)


@dataclass(frozen=True)
class DeskDay:
    appointment_id: int
    number: str
    patient: str
    guardian: str
    contact_id: int


def session_under_way(db_session, roshni, make_patient, patient: str, guardian: str) -> DeskDay:
    """A physiotherapy session of today's that has just begun, with a therapist of its own."""
    therapist = catalog.create_therapist(
        db_session,
        clinic_id=roshni.id,
        name=f"Dr. Small Screen {next(_therapists)}",
        specialization="physiotherapy",
        actor=SYSTEM,
    )
    service = db_session.scalar(
        select(Service).where(
            Service.clinic_id == roshni.id, Service.name == "Physiotherapy Session"
        )
    )
    admin = db_session.scalar(select(StaffUser).where(StaffUser.email == OPERATOR_EMAIL))
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
    child = make_patient(patient, guardian=guardian)
    start = walk_in_start(
        utcnow(), service.duration_minutes, roshni.clinic.policy.slot_step_minutes
    )
    appointment = book_appointment(
        db_session,
        clinic_id=roshni.id,
        patient_id=child.id,
        service_id=service.id,
        therapist_id=therapist.id,
        start=start,
        now=utcnow(),
        actor=Actor.staff(admin.id),
        source=BookingSource.ADMIN,
    )
    db_session.commit()
    return DeskDay(appointment.id, appointment.number, patient, guardian, child.contact_id)


def snap(page: Any, name: str) -> None:
    if os.environ.get("ROSHNI_SCREENSHOTS"):
        screenshot(page, name)


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def assert_fits(page: Any, where: str) -> None:
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{where}: the page scrolls sideways ({scroll} px > {inner} px)"


def assert_on_screen(page: Any, target: Any, where: str) -> None:
    """Visible and wholly inside the viewport's width (not in a sideways-scrolled box)."""
    target.wait_for()
    box = target.bounding_box()
    width = page.evaluate("() => window.innerWidth")
    assert box is not None and box["width"] > 0, f"{where}: not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (
        f"{where}: off screen sideways (x={box['x']:.0f}, w={box['width']:.0f}, viewport {width})"
    )


def assert_touch_sized(page: Any, targets: Any, where: str) -> None:
    assert targets.count(), f"{where}: no such action on the page"
    for i in range(targets.count()):
        target = targets.nth(i)
        box = target.bounding_box()
        label = target.inner_text().strip() or target.get_attribute("id") or str(i)
        assert box is not None and box["height"] >= TOUCH, (
            f"{where}: '{label}' is {box and round(box['height'])} px tall (< {TOUCH})"
        )
        assert_on_screen(page, target, f"{where}: '{label}'")


@pytest.fixture(params=sorted(VIEWPORTS))
def desk(request, page, db_session, roshni, make_patient) -> DeskDay:
    """The front desk logged in on a phone or a tablet, with a session under way today."""
    day = session_under_way(
        db_session, roshni, make_patient, "Aarav Subramanian", "Lakshmi Subramanian"
    )
    page.set_viewport_size(VIEWPORTS[request.param])
    log_in(page, OPERATOR_EMAIL, ADMIN_PASSWORD)
    page.screen_name = request.param  # for the screenshots' names
    return day


def test_today_fits_with_the_patient_and_touch_sized_actions(page, desk):
    open_page(page, "/admin/")
    where = f"Today ({page.screen_name})"
    row = page.locator(f'#today [data-session="{desk.appointment_id}"]')
    assert_fits(page, where)
    assert_on_screen(page, row.get_by_text(desk.patient), where)
    assert_touch_sized(page, row.locator(".today-actions button"), where)
    snap(page, f"small_{page.screen_name}_today")


def test_the_calendar_opens_on_a_day_that_fits(page, desk):
    open_page(page, "/admin/calendar/")
    where = f"calendar ({page.screen_name})"
    event = page.locator(f'a.cal-event[title="{desk.number}"]')
    event.wait_for()
    # The new therapist's column is added once the sessions are in, which draws them again.
    page.wait_for_load_state("networkidle")
    assert_on_screen(page, event, where)
    assert desk.patient in event.inner_text()
    assert_fits(page, where)
    assert_touch_sized(page, page.locator(".ec-toolbar button"), where)
    if page.screen_name == "phone":  # one column, the day as a list
        assert page.locator(".ec-list").count() == 1
    snap(page, f"small_{page.screen_name}_calendar")

    event.click()  # the session's actions open beside it, inside the screen
    popover = page.locator(".session-popover")
    popover.get_by_text(desk.patient).wait_for()
    assert_fits(page, f"{where}, session popover")
    assert_on_screen(page, popover, f"{where}, session popover")
    assert_touch_sized(page, popover.locator("#session-actions .btn"), f"{where}, popover")
    snap(page, f"small_{page.screen_name}_calendar_popover")


def test_the_session_page_fits_with_touch_sized_actions(page, desk):
    open_page(page, f"/admin/appointment/details/?id={desk.appointment_id}")
    where = f"session page ({page.screen_name})"
    assert_fits(page, where)
    assert_on_screen(page, page.locator("#session-page h1"), where)
    assert desk.patient in page.locator("#session-page h1").inner_text()
    assert_touch_sized(page, page.locator("#session-actions .btn"), where)
    assert_touch_sized(page, page.locator("#take-payment-submit"), where)
    snap(page, f"small_{page.screen_name}_session")


def test_the_contact_page_fits_with_touch_sized_actions(page, desk):
    open_page(page, f"/admin/contact/details/?id={desk.contact_id}")
    where = f"contact page ({page.screen_name})"
    assert_fits(page, where)
    assert_on_screen(page, page.locator("#contact-name"), where)
    patients = page.locator("#contact-patients td", has_text=desk.patient)
    assert_on_screen(page, patients, where)
    assert_touch_sized(page, page.locator("#contact-actions .btn"), where)
    snap(page, f"small_{page.screen_name}_contact")


def test_conversations_fit_with_touch_sized_actions(page, desk, db_session, roshni):
    contact = db_session.get(Contact, desk.contact_id)
    chat = Chat(db_session, roshni.clinic, phone=contact.phone, now=utcnow())
    chat.step = timedelta(seconds=1)
    chat.say("talk")

    open_page(page, "/admin/conversations/")
    where = f"conversations ({page.screen_name})"
    # The other viewport's run left a chat from a guardian of the same name: either will do.
    row = page.locator("#waiting-conversations tr", has_text=desk.guardian).first
    assert_fits(page, where)
    assert_on_screen(page, row.get_by_text(desk.guardian), where)
    assert_touch_sized(page, row.locator(".open-conversation"), where)
    snap(page, f"small_{page.screen_name}_conversations")

    row.locator(".open-conversation").click()
    page.locator("#transcript").wait_for()
    page.wait_for_load_state("load")  # the new page's styles, before measuring
    where = f"conversation ({page.screen_name})"
    assert_fits(page, where)
    assert_on_screen(page, page.locator("h1", has_text=desk.guardian), where)
    assert_touch_sized(page, page.locator("#reply-send"), where)
    snap(page, f"small_{page.screen_name}_conversation")


def test_record_payment_fits_with_a_touch_sized_submit(page, desk):
    open_page(page, f"/admin/payment/record/?contact_id={desk.contact_id}")
    where = f"record payment ({page.screen_name})"
    assert_fits(page, where)
    assert_on_screen(page, page.locator("select#contact"), where)
    assert desk.guardian in page.locator("select#contact option:checked").inner_text()
    assert_touch_sized(page, page.get_by_role("button", name="Record payment"), where)
    snap(page, f"small_{page.screen_name}_record_payment")


def test_the_appointments_list_keeps_the_patient_and_time_on_screen(page, desk):
    open_page(page, f"/admin/appointment/?search={desk.number}")
    where = f"appointments list ({page.screen_name})"
    row = page.locator("table.model-list tbody tr", has_text=desk.number)
    assert_fits(page, where)
    assert_on_screen(page, row.locator("td.col-patient"), where)
    assert desk.patient in row.locator("td.col-patient").inner_text()
    assert_on_screen(page, row.locator("td.col-start_at"), where)
    assert_touch_sized(page, row.locator("td.list-buttons-column a.icon"), where)
    # On a phone the header is hidden: each value shows its column's name above it,
    # but the patient heading the card and the buttons need none.
    before = "cell => getComputedStyle(cell, '::before').content"
    labels = {
        cell: row.locator(f"td.{cell}").evaluate(before)
        for cell in ("col-therapist", "col-status", "col-patient", "list-buttons-column")
    }
    if page.screen_name == "phone":
        assert labels["col-therapist"] == '"Therapist"' and labels["col-status"] == '"Status"'
    else:
        assert labels["col-therapist"] == "none"  # a table with its header: no labels
    assert labels["col-patient"] == "none" and labels["list-buttons-column"] == "none"
    snap(page, f"small_{page.screen_name}_appointments")


def test_on_a_phone_the_desk_opens_a_session_from_today_and_marks_arrived(
    page, db_session, roshni, make_patient
):
    day = session_under_way(db_session, roshni, make_patient, "Diya Menon", "Anita Menon")
    page.set_viewport_size(VIEWPORTS["phone"])
    log_in(page, OPERATOR_EMAIL, ADMIN_PASSWORD)

    open_page(page, "/admin/")
    page.locator("#today").get_by_role("link", name=day.number).click()
    page.locator("#session-page").wait_for()
    page.wait_for_load_state("load")  # the new page's styles, before measuring
    assert_fits(page, "session page (phone)")
    arrived = page.get_by_role("button", name="Arrived")
    assert_touch_sized(page, arrived, "session page (phone)")
    arrived.click()
    page.get_by_text("Checked in").wait_for()
    page.wait_for_load_state("load")  # the new page's styles, before measuring
    assert "arrived" in page.locator("#session-status").inner_text()
    assert_fits(page, "session page after check-in (phone)")
    snap(page, "small_phone_task_arrived")
