"""A therapist's calendar feed: made on My profile, read by a calendar app from a private
link, parsed back here as a calendar app would (icalendar): the therapist's sessions at
the clinic's wall-clock hour across a DST change, a cancelled one as CANCELLED, nobody
else's; a new link stops the old, a stopped link and a guessed one find nothing.

Dates are pinned around ``NOW`` (the app's clock frozen there)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from models import AuditLog, BookingSource, Role, Therapist
from services.audit import Actor
from services.scheduling import calendar_feed
from services.scheduling.appointments import book_appointment, cancel_appointment
from tests.admin.test_admin import PASSWORD, csrf_token, fresh, log_in
from tests.conftest import NOW, SYSTEM, staff_logins

LONDON = ZoneInfo("Europe/London")
# British Summer Time begins on Sunday 28 March 2027: Friday before, Monday after.
BEFORE_DST = datetime(2027, 3, 26, 10, 0, tzinfo=LONDON)
AFTER_DST = datetime(2027, 3, 29, 10, 0, tzinfo=LONDON)


@pytest.fixture
def clinic(session, make_clinic, make_therapist, make_service, make_patient):
    """A London clinic: Dr. Jones (a login of her own) and Dr. Smith, one patient each."""
    london = make_clinic(name="Bright Steps London", timezone="Europe/London", currency="GBP")
    jones = make_therapist(london, name="Dr. Ann Jones")
    smith = make_therapist(london, name="Dr. Ben Smith")
    users = staff_logins(session, london.id, password=PASSWORD, domain="london.example")
    jones.staff_user_id = users[Role.THERAPIST].id
    session.commit()
    speech = make_service(london)
    return {
        "clinic": london,
        "jones": jones,
        "smith": smith,
        "user": users[Role.THERAPIST],
        "users": users,
        "speech": speech,
        "oliver": make_patient(london, name="Oliver Twist"),
        "ada": make_patient(london, name="Ada Lovelace"),
    }


def book(session, c, patient, therapist, start):
    return book_appointment(
        session,
        clinic_id=c["clinic"].id,
        patient_id=patient.id,
        service_id=c["speech"].id,
        therapist_id=therapist.id,
        start=start,
        now=NOW,
        actor=Actor.staff(c["users"][Role.ADMIN].id),  # the desk books far ahead
        source=BookingSource.ADMIN,
    )


def issue(session, c, user=None):
    user = user or c["user"]
    return calendar_feed.issue_feed(
        session,
        clinic_id=c["clinic"].id,
        therapist_id=c["jones"].id,
        now=NOW,
        actor=Actor.staff(user.id),
    )


def events(ics: bytes) -> list[dict]:
    """The feed's events as a calendar app reads them, in start order."""
    calendar = Calendar.from_ical(ics)
    found = [
        {
            "summary": str(e["summary"]),
            "start": e.decoded("dtstart"),
            "end": e.decoded("dtend"),
            "status": str(e["status"]),
            "uid": str(e["uid"]),
        }
        for e in calendar.walk("VEVENT")
    ]
    return sorted(found, key=lambda e: e["start"])


def test_the_feed_holds_her_sessions_at_the_clinic_s_hour_across_a_dst_change(session, clinic):
    c = clinic
    book(session, c, c["oliver"], c["jones"], BEFORE_DST)
    after = book(session, c, c["ada"], c["jones"], AFTER_DST)
    book(session, c, c["oliver"], c["smith"], BEFORE_DST + timedelta(hours=2))  # not hers
    gone = book(session, c, c["ada"], c["jones"], BEFORE_DST + timedelta(hours=3))
    cancel_appointment(
        session,
        clinic_id=c["clinic"].id,
        appointment_id=gone.id,
        reason="ill",
        now=NOW,
        actor=SYSTEM,
    )

    ics = calendar_feed.feed_calendar(session, c["jones"], now=NOW)

    found = events(ics)
    speech = c["speech"].name
    assert [(e["summary"], e["status"]) for e in found] == [
        (f"{speech} · Oliver T.", "CONFIRMED"),
        (f"{speech} · Ada L.", "CANCELLED"),
        (f"{speech} · Ada L.", "CONFIRMED"),
    ]
    by_start = {e["start"]: e for e in found}
    friday, monday = by_start[BEFORE_DST], by_start[AFTER_DST]
    # The same 10:00 on the wall; an hour apart in UTC (GMT, then BST).
    assert friday["start"].astimezone(LONDON).time() == monday["start"].astimezone(LONDON).time()
    assert (friday["start"].utcoffset(), monday["start"].utcoffset()) == (
        timedelta(0),
        timedelta(hours=1),
    )
    assert monday["uid"] == f"appointment-{after.id}@{c['clinic'].slug}.roshni"
    assert b"Twist" not in ics and b"Lovelace" not in ics  # first names and initials only
    calendar = Calendar.from_ical(ics)
    assert [str(t["tzid"]) for t in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_sessions_far_past_or_far_ahead_are_left_out(session, clinic):
    c = clinic
    book(
        session,
        c,
        c["oliver"],
        c["jones"],
        datetime.combine(
            (NOW + timedelta(days=calendar_feed.DAYS_AHEAD + 7)).date(), time(10), LONDON
        ),
    )
    assert events(calendar_feed.feed_calendar(session, c["jones"], now=NOW)) == []


def test_only_the_therapist_herself_makes_her_feed_and_each_link_replaces_the_last(session, clinic):
    c = clinic
    with pytest.raises(calendar_feed.FeedRefused):
        issue(session, c, user=c["users"][Role.ADMIN])
    first = issue(session, c)
    second = issue(session, c)

    assert calendar_feed.therapist_for_feed(session, first) is None
    assert calendar_feed.therapist_for_feed(session, second).id == c["jones"].id
    stored = session.scalar(
        select(Therapist.calendar_token_hash).where(Therapist.id == c["jones"].id)
    )
    assert second not in stored  # only its digest is kept
    assert calendar_feed.stop_feed(
        session,
        clinic_id=c["clinic"].id,
        therapist_id=c["jones"].id,
        actor=Actor.staff(c["user"].id),
    )
    assert calendar_feed.therapist_for_feed(session, second) is None
    actions = session.scalars(
        select(AuditLog.action)
        .where(AuditLog.action.like("therapist.calendar%"))
        .order_by(AuditLog.id)
    ).all()
    assert actions == ["therapist.calendar_feed_issue"] * 2 + ["therapist.calendar_feed_stop"]
    assert all(second not in str(row.after) for row in session.scalars(select(AuditLog)).all())


def test_an_inactive_therapist_s_feed_is_not_served(session, clinic):
    token = issue(session, clinic)
    clinic["jones"].active = False
    session.commit()
    assert calendar_feed.therapist_for_feed(session, token) is None


# --- the panel and the link --------------------------------------------------------------


def test_she_makes_the_link_on_my_profile_and_her_calendar_reads_it(
    app, session, clinic, frozen_clock
):
    c = clinic
    book(session, c, c["oliver"], c["jones"], AFTER_DST)
    client = app.test_client()
    log_in(client, c["user"].email)

    page = client.post(
        "/admin/profile/calendar/new", data={"csrf_token": csrf_token(client, "/admin/profile/")}
    )

    assert "shown only once" in page.text
    link = re.search(r'id="calendar-link" value="([^"]+)"', page.text).group(1)
    path = link.split("localhost", 1)[1]
    feed = app.test_client().get(path)  # a calendar app: no login
    assert feed.status_code == 200
    assert feed.mimetype == "text/calendar"
    assert [e["summary"] for e in events(feed.data)] == [f"{c['speech'].name} · Oliver T."]
    again = client.get("/admin/profile/").text
    assert link not in again and "is in use" in again

    client.post(
        "/admin/profile/calendar/stop", data={"csrf_token": csrf_token(client, "/admin/profile/")}
    )
    assert app.test_client().get(path).status_code == 404
    assert app.test_client().get("/calendar/" + "x" * 43 + ".ics").status_code == 404


def test_no_feed_without_a_therapist_login_or_the_form_s_token(app, session, clinic):
    c = clinic
    desk = app.test_client()
    log_in(desk, c["users"][Role.OPERATOR].email)
    token = csrf_token(desk, "/admin/profile/")
    refused = desk.post(
        "/admin/profile/calendar/new", data={"csrf_token": token}, follow_redirects=True
    )
    assert "own login has a calendar feed." in refused.text
    mine = app.test_client()
    log_in(mine, c["user"].email)
    assert mine.post("/admin/profile/calendar/new", data={}).status_code == 400
    fresh(session)
    assert session.get(Therapist, c["jones"].id).calendar_token_hash is None
