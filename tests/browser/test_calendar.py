"""The calendar in a real browser: book from a free time, drag a session to a new time,
drag its end to change its length, and a refused drag snaps back with the reason
(EventCalendar under the panel's CSP)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Appointment
from tests.browser.conftest import kolkata, log_in, screenshot, weekday_ahead

pytestmark = pytest.mark.browser


def box_of(locator) -> dict[str, float]:
    """The element's box once it is on screen: EventCalendar redraws its sessions after
    every change (a refetch, a drop), and an element caught mid-redraw has no box yet."""
    for _ in range(50):
        locator.wait_for(state="visible")
        box = locator.bounding_box()
        if box is not None:
            return box
        locator.page.wait_for_timeout(100)
    raise AssertionError(f"{locator} never settled on screen")


def day_view(page, roshni, day) -> None:
    # Tall enough for the whole working day: mouse positions stay inside the viewport.
    page.set_viewport_size({"width": 1366, "height": 2000})
    page.goto(
        f"/admin/calendar/?view=day&date={day.isoformat()}&therapist={roshni.speech_therapist.id}"
    )
    page.locator(".ec-body").wait_for()


def slot_y(page, hour: int, minute: int = 0) -> float:
    """The page y of a clinic wall-clock time in the time grid (from the time labels)."""
    label = page.locator(f'.ec-sidebar time[datetime$="T{hour:02d}:{minute:02d}:00"]')
    box = box_of(label)
    return box["y"] + box["height"] / 2


def column_x(page) -> float:
    box = box_of(page.locator(".ec-body .ec-day").first)
    return box["x"] + box["width"] / 2


def drag(page, event, hour: int) -> None:
    """Grab the session a few pixels under its top edge and drop it with its top at
    ``hour``."""
    box = box_of(event)
    grab = box["y"] + 4
    start_y = slot_y(page, *_hour_minute(event))
    page.mouse.move(box["x"] + box["width"] / 2, grab)
    page.mouse.down()
    target = slot_y(page, hour) + (grab - start_y)
    for fraction in (0.25, 0.5, 0.75, 1.0):  # several moves: a real drag, not a jump
        page.mouse.move(box["x"] + box["width"] / 2, grab + (target - grab) * fraction)
    page.mouse.up()


def drag_end(page, event, hours: float) -> None:
    """Grab the session's resize handle and drag its end ``hours`` later (or earlier)."""
    event.hover()
    handle = event.locator(".ec-resizer")
    box = box_of(handle)
    x, grab = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target = grab + hours * (slot_y(page, 11) - slot_y(page, 10))
    page.mouse.move(x, grab)
    page.mouse.down()
    for fraction in (0.25, 0.5, 0.75, 1.0):
        page.mouse.move(x, grab + (target - grab) * fraction)
    page.mouse.up()


def end_of(db_session, appointment_id: int):
    db_session.rollback()  # a fresh read, not the snapshot of an earlier one
    db_session.expire_all()
    return db_session.scalar(select(Appointment.end_at).where(Appointment.id == appointment_id))


def _hour_minute(event) -> tuple[int, int]:
    text = event.locator(".ec-event-time").inner_text()  # "10:00 – 10:45 AM"
    first = text.split("–")[0].strip().split()[0]
    hour, minute = (int(part) for part in first.split(":"))
    meridiem = text.split()[-1]
    if meridiem == "PM" and hour != 12:
        hour += 12
    return hour, minute


def start_of(db_session, appointment_id: int):
    db_session.expire_all()
    return db_session.scalar(select(Appointment.start_at).where(Appointment.id == appointment_id))


def test_clicking_a_free_time_books_it_and_the_session_shows_there(page, roshni, make_patient):
    patient = make_patient("Ishaan", guardian="Kiran Kapoor")
    day = weekday_ahead(8)  # days and times no other browser test books

    log_in(page)
    page.get_by_role("link", name="Calendar", exact=True).click()
    page.locator(".ec-body").wait_for()
    day_view(page, roshni, day)
    page.locator(".ec-bg-event.cal-ev-free").first.wait_for()
    screenshot(page, "calendar_1_day")

    page.mouse.click(column_x(page), slot_y(page, 15) + 3)
    page.get_by_role("heading", name="Book a session").wait_for()
    assert page.locator("#cal-start").input_value() == f"{day.isoformat()}T15:00"
    page.locator("#cal-service").select_option(label=roshni.speech_session.name)
    page.locator("#cal-patient").select_option(value=str(patient.id))
    screenshot(page, "calendar_2_book")
    page.get_by_role("button", name="Book", exact=True).click()

    page.get_by_text("Booked ").first.wait_for()
    event = page.locator(".ec-event", has_text="Ishaan")
    event.wait_for()
    assert "3:00" in event.inner_text()
    screenshot(page, "calendar_3_booked")


def test_dragging_a_session_moves_it_and_a_refused_drag_snaps_back(
    page, roshni, make_patient, book, db_session
):
    day = weekday_ahead(9)  # (the browser tests share one database)
    moving = book(make_patient("Rohan"), kolkata(day, 10))
    book(make_patient("Sana"), kolkata(day, 12))
    book(make_patient("Tara"), kolkata(day, 16))

    log_in(page)
    day_view(page, roshni, day)
    event = page.locator(f'.ec-event[data-appointment="{moving.id}"]')
    event.wait_for()

    drag(page, event, 14)
    page.locator(".cal-message.alert-success").wait_for()
    assert "moved" in page.locator(".cal-message").inner_text()
    assert start_of(db_session, moving.id) == kolkata(day, 14)
    event = page.locator(f'.ec-event[data-appointment="{moving.id}"]')
    assert "2:00" in event.inner_text()
    screenshot(page, "calendar_4_moved")

    before = box_of(event)
    drag(page, event, 12)  # onto Sana's session: the service refuses
    refusal = page.locator(".cal-message.alert-danger")
    refusal.wait_for()
    assert refusal.inner_text().strip()
    assert start_of(db_session, moving.id) == kolkata(day, 14)  # nothing changed
    after = page.locator(f'.ec-event[data-appointment="{moving.id}"]')
    assert "2:00" in after.inner_text()
    assert abs(box_of(after)["y"] - before["y"]) < 2  # back where it was
    screenshot(page, "calendar_5_refused")

    # Its end dragged from 2:45 to 3:30: 45 minutes more, through change_length.
    drag_end(page, after, 0.75)
    page.locator(".cal-message.alert-success").wait_for()
    assert end_of(db_session, moving.id) == kolkata(day, 15, 30)
    after = page.locator(f'.ec-event[data-appointment="{moving.id}"]')
    assert "3:30" in after.inner_text()
    tall = box_of(after)["height"]

    # Past 4:00, into Tara's session: refused, and it snaps back to 3:30.
    drag_end(page, after, 1)
    page.locator(".cal-message.alert-danger").wait_for()
    assert end_of(db_session, moving.id) == kolkata(day, 15, 30)  # nothing changed
    after = page.locator(f'.ec-event[data-appointment="{moving.id}"]')
    assert "3:30" in after.inner_text()
    assert abs(box_of(after)["height"] - tall) < 2
    screenshot(page, "calendar_6_resized")
