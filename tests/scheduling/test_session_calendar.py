"""A patient's "add to calendar" link: made for a session, opened with no login as a phone
would, parsed back as a calendar app would (icalendar). A London session after the DST
change keeps its wall-clock hour, a cancelled one says CANCELLED, an online one is at its
video link, a course's link brings every session; a forged or altered token, or one
signed with another key, finds nothing; and the chat's "✅ Booked!" carries the link.

Dates are pinned around ``NOW`` (the app's clock frozen there where a page is opened)."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from icalendar import Calendar

from core.public_links import PublicLinks, links_for
from models import BookingSource, Role
from services.audit import Actor
from services.clinics import catalog
from services.scheduling import session_calendar
from services.scheduling.appointments import book_appointment, cancel_appointment
from services.scheduling.series import Pattern, book_series
from tests.chat import Chat
from tests.conftest import NOW, SYSTEM
from tests.flows.test_booking_form import demo, registered
from tests.scheduling.test_calendar_feed import (  # noqa: F401  (the London clinic fixture)
    AFTER_DST,
    BEFORE_DST,
    LONDON,
    book,
    clinic,
)

# ruff: noqa: F811  (the fixture imported above)

LINK = re.compile(r"Add to calendar: (https?://\S+)")


@pytest.fixture
def links(app) -> PublicLinks:
    return links_for(app.config["ROSHNI"])


def opened(app, links: PublicLinks, appointment):
    """The link as a phone opens it: no login, no cookie."""
    return app.test_client().get(session_calendar.calendar_path(links, appointment))


def parsed(response) -> list:
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="session.ics"'
    assert "no-store" in response.headers["Cache-Control"]
    return list(Calendar.from_ical(response.data).walk("VEVENT"))


def test_a_london_session_after_the_clocks_change_keeps_its_hour(
    app, session, clinic, links, frozen_clock
):
    c = clinic
    after = book(session, c, c["oliver"], c["jones"], AFTER_DST)

    response = opened(app, links, after)

    [event] = parsed(response)
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert event["dtstart"].params["TZID"] == "Europe/London"
    assert start.astimezone(LONDON).time() == time(10)  # as on the wall in London
    assert start.utcoffset() == timedelta(hours=1)  # BST: 09:00 UTC
    assert start.astimezone(LONDON) == AFTER_DST and end > start
    assert str(event["summary"]) == f"{c['speech'].name} — {c['clinic'].name}"
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["uid"]) == f"session-{after.id}@{c['clinic'].slug}.roshni"
    assert str(event["description"]) == after.number
    calendar = Calendar.from_ical(response.data)
    assert [str(t["tzid"]) for t in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_a_cancelled_session_says_cancelled_with_a_higher_sequence(
    session, clinic, links, app, frozen_clock
):
    c = clinic
    appointment = book(session, c, c["ada"], c["jones"], BEFORE_DST)
    [before] = parsed(opened(app, links, appointment))
    cancel_appointment(
        session,
        clinic_id=c["clinic"].id,
        appointment_id=appointment.id,
        reason="ill",
        now=NOW + timedelta(hours=2),
        actor=SYSTEM,
    )

    [event] = parsed(opened(app, links, appointment))

    assert str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == str(before["uid"])  # the same event, now cancelled
    assert int(event["sequence"]) >= int(before["sequence"])


def test_an_online_session_is_at_its_video_link(session, clinic, links, app, frozen_clock):
    c = clinic
    either = catalog.create_service(
        session,
        clinic_id=c["clinic"].id,
        name="Speech (online or in person)",
        specialization="speech",
        duration_minutes=45,
        price_minor=6000,
        actor=SYSTEM,
        in_person=True,
        online=True,
    )
    appointment = book_appointment(
        session,
        clinic_id=c["clinic"].id,
        patient_id=c["oliver"].id,
        service_id=either.id,
        therapist_id=c["jones"].id,
        start=AFTER_DST,
        now=NOW,
        actor=Actor.staff(c["users"][Role.ADMIN].id),
        source=BookingSource.ADMIN,
        online=True,
    )
    assert appointment.video_url

    [event] = parsed(opened(app, links, appointment))

    assert str(event["location"]) == appointment.video_url
    assert str(event["url"]) == appointment.video_url


def test_a_course_s_link_brings_every_session_at_its_hour(
    session, clinic, links, app, frozen_clock
):
    c = clinic
    result = book_series(
        session,
        clinic_id=c["clinic"].id,
        patient_id=c["oliver"].id,
        service_id=c["speech"].id,
        therapist_id=c["jones"].id,
        pattern=Pattern(
            weekdays=(4,),  # Fridays, either side of the change
            local_time=time(10),
            first_date=BEFORE_DST.date(),
            every_weeks=1,
            sessions=3,
        ),
        now=NOW,
        actor=Actor.staff(c["users"][Role.ADMIN].id),
        source=BookingSource.ADMIN,
    )
    assert len(result.booked) == 3

    events = parsed(opened(app, links, result.booked[1]))  # any session's link

    assert len(events) == 3
    assert len({str(e["uid"]) for e in events}) == 3
    starts = sorted(e.decoded("dtstart") for e in events)
    assert [s.astimezone(LONDON).time() for s in starts] == [time(10)] * 3
    assert [s.utcoffset() for s in starts] == [timedelta(0), timedelta(hours=1), timedelta(hours=1)]


def test_a_forged_altered_or_foreign_token_finds_nothing(session, clinic, links, app):
    c = clinic
    appointment = book(session, c, c["oliver"], c["jones"], AFTER_DST)
    good = session_calendar.calendar_path(links, appointment)
    token = good.removeprefix("/calendar/session/").removesuffix(".ics")
    other_key = PublicLinks(base_url=links.base_url, secret_key="another-deployment-" + "z" * 30)
    guessed = other_key.sign(session_calendar.PURPOSE, [c["clinic"].id, appointment.id])
    elsewhere = links.sign(session_calendar.PURPOSE, [c["clinic"].id + 999, appointment.id])
    other_purpose = links.sign("something-else", [c["clinic"].id, appointment.id])
    client = app.test_client()
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        guessed,
        elsewhere,  # signed, but for a clinic that does not hold the session
        other_purpose,
        "x" * 43,
        "a" * 500,
    ):
        response = client.get(f"/calendar/session/{bad}.ics")
        assert response.status_code == 404, bad
        assert b"VCALENDAR" not in response.data
    assert client.get(good).status_code == 200


def test_the_chat_s_booked_reply_carries_a_link_that_opens_the_session(session, app, frozen_clock):
    roshni = demo(session, "roshni")
    chat = registered(session, roshni)
    chat.links = links_for(app.config["ROSHNI"])
    reply = chat.say("speech therapy for Aarav tomorrow at 11")
    booked = reply if "✅ Booked!" in reply else chat.say("1")
    assert "✅ Booked!" in booked, booked
    url = LINK.search(booked).group(1)
    assert url.startswith("http://127.0.0.1:5000/calendar/session/")

    [event] = parsed(app.test_client().get(url.split("5000", 1)[1]))

    start = event.decoded("dtstart")
    assert start.date() == (NOW + timedelta(days=1)).date()
    assert str(event["summary"]).endswith("— Roshni Clinic")


def test_a_chat_without_public_links_books_without_one(session):
    roshni = demo(session, "roshni")
    chat = Chat(session, roshni, now=NOW, links=None)
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")
    reply = chat.say("speech therapy for Aarav tomorrow at 11")
    booked = reply if "✅ Booked!" in reply else chat.say("1")
    assert "✅ Booked!" in booked and "Add to calendar" not in booked


def test_a_course_booked_by_chat_ends_with_its_link(session):
    roshni = demo(session, "roshni")
    chat = registered(session, roshni)
    chat.say("speech therapy for Aarav every Monday and Thursday at 5 for 2 weeks")
    booked = chat.say("1")
    assert booked.startswith("✅ Booked 4 sessions")
    assert LINK.search(booked.splitlines()[-1])
