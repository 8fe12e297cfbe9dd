"""Online sessions: which link a session gets, when it may be online at all, and that a
move keeps the link (or takes the new therapist's own room).

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the default therapist works Mon-Fri
09:00-18:00. Staff book (no notice rules in the way).
"""

from __future__ import annotations

import re
from datetime import time

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from models import Appointment, BookingSource
from services import audit
from services.clinics import catalog
from services.errors import InvalidInput, NotFound
from services.scheduling import calendar_feed, video
from services.scheduling.appointments import book_appointment, reschedule_appointment
from services.scheduling.series import Pattern, book_series
from tests.conftest import NOW, SYSTEM
from tests.scheduling.booking_support import (  # noqa: F401  (fixtures)
    STAFF,
    TUE,
    WED,
    clinic,
    ist,
    patient,
    reloaded,
    therapist,
)

# ruff: noqa: F811  (the fixtures imported from booking_support)

ROOM = re.compile(r"[A-Za-z0-9_-]{32}")  # token_urlsafe(24): 192 random bits


def save(session, record, clinic, **changes):
    """Change a catalogue record through the panel's verb (validated, audited)."""
    clinic_id, before = clinic.id, audit.snapshot(record)
    for name, value in changes.items():
        setattr(record, name, value)
    return catalog.save_record(session, record, clinic_id=clinic_id, actor=SYSTEM, before=before)


@pytest.fixture
def either(session, clinic, therapist):
    return catalog.create_service(
        session,
        clinic_id=clinic.id,
        name="Speech Therapy Session",
        specialization="speech",
        duration_minutes=45,
        price_minor=80000,
        actor=SYSTEM,
        in_person=True,
        online=True,
    )


def book(session, clinic, patient, service, start, *, online=None, therapist=None):
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=start,
        now=NOW,
        actor=STAFF,
        source=BookingSource.ADMIN,
        online=online,
        therapist_id=therapist.id if therapist is not None else None,
    )


def count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Appointment))


# --- Jitsi rooms -----------------------------------------------------------------------------


def test_each_online_session_gets_its_own_unguessable_jitsi_room(
    session, clinic, either, patient, make_patient
):
    first = book(session, clinic, patient, either, ist(TUE, 11), online=True)
    second = book(session, clinic, make_patient(clinic, "Anaya"), either, ist(TUE, 12), online=True)
    links = [reloaded(session, a).video_url for a in (first, second)]
    rooms = []
    for link in links:
        base, room = link.rsplit("/", 1)
        assert base == "https://meet.jit.si"
        assert ROOM.fullmatch(room)
        rooms.append(room)
    assert rooms[0] != rooms[1]
    for name in ("aarav", "anaya", clinic.slug, clinic.name.lower(), "apt"):
        assert all(name not in room.lower() for room in rooms)  # names nobody


def test_a_self_hosted_jitsi_server_is_used_as_set(session, clinic, either, patient):
    save(session, clinic.policy, clinic, jitsi_base_url="https://video.clinic.example/meet/")
    appointment = book(session, clinic, patient, either, ist(TUE, 11), online=True)
    base, room = reloaded(session, appointment).video_url.rsplit("/", 1)
    assert base == "https://video.clinic.example/meet" and ROOM.fullmatch(room)


# --- which way a service is given ------------------------------------------------------------


def test_either_way_is_in_person_unless_online_is_chosen(session, clinic, either, patient):
    appointment = book(session, clinic, patient, either, ist(TUE, 11))
    stored = reloaded(session, appointment)
    assert stored.online is False and stored.video_url is None


def test_an_online_only_service_is_online_without_asking(session, clinic, either, patient):
    save(session, either, clinic, in_person=False)
    stored = reloaded(session, book(session, clinic, patient, either, ist(TUE, 11)))
    assert stored.online is True and stored.video_url.startswith("https://meet.jit.si/")


def test_online_is_refused_for_an_in_person_service_and_the_reverse(
    session, clinic, either, patient
):
    save(session, either, clinic, online=False)
    with pytest.raises(video.WrongDelivery, match="in person only"):
        book(session, clinic, patient, either, ist(TUE, 11), online=True)
    save(session, either, clinic, in_person=False, online=True)
    with pytest.raises(video.WrongDelivery, match="online only"):
        book(session, clinic, patient, either, ist(TUE, 11), online=False)
    assert count(session) == 0


# --- therapists' own rooms -------------------------------------------------------------------


def test_with_therapists_rooms_the_session_gets_the_therapists_link(
    session, clinic, therapist, either, patient
):
    save(session, clinic.policy, clinic, video_rooms="therapist")
    save(session, therapist, clinic, video_link="https://zoom.us/j/1234567890")
    first = book(session, clinic, patient, either, ist(TUE, 11), online=True)
    second = book(session, clinic, patient, either, ist(TUE, 12), online=True)
    assert reloaded(session, first).video_url == "https://zoom.us/j/1234567890"
    assert reloaded(session, second).video_url == "https://zoom.us/j/1234567890"


def test_a_therapist_without_a_room_cannot_take_an_online_session(
    session, clinic, therapist, either, patient
):
    save(session, clinic.policy, clinic, video_rooms="therapist")
    with pytest.raises(video.NoVideoRoom) as refused:
        book(session, clinic, patient, either, ist(TUE, 11), online=True)
    assert "Dr. Priya Nair has no video room on file" in refused.value.message
    assert count(session) == 0
    book(session, clinic, patient, either, ist(TUE, 11), online=False)  # in person is fine
    assert count(session) == 1


def test_another_clinics_therapist_room_is_never_used(
    session, clinic, therapist, either, patient, make_clinic, make_therapist
):
    other = make_clinic(name="Other Clinic")
    theirs = make_therapist(other, name="Dr. Else Where")
    save(session, theirs, other, video_link="https://meet.google.com/abc-defg-hij")
    save(session, clinic.policy, clinic, video_rooms="therapist")
    with pytest.raises(video.NoVideoRoom):
        book(session, clinic, patient, either, ist(TUE, 11), online=True)
    with pytest.raises(NotFound):  # their therapist cannot be named for our booking
        book(session, clinic, patient, either, ist(TUE, 11), online=True, therapist=theirs)
    with pytest.raises(video.NoVideoRoom):  # nor lend us their room
        video.video_url_for(clinic.policy, theirs)
    assert count(session) == 0


def test_a_move_keeps_the_jitsi_link_even_to_another_therapist(
    session, clinic, therapist, either, patient, make_therapist
):
    colleague = make_therapist(clinic, name="Dr. Meera Iyer")
    appointment = book(session, clinic, patient, either, ist(TUE, 11), online=True)
    link = reloaded(session, appointment).video_url
    reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(WED, 11),
        therapist_id=colleague.id,
        now=NOW,
        actor=STAFF,
    )
    assert reloaded(session, appointment).video_url == link


def test_with_therapists_rooms_a_move_to_another_therapist_takes_their_room(
    session, clinic, therapist, either, patient, make_therapist
):
    colleague = make_therapist(clinic, name="Dr. Meera Iyer")
    save(session, clinic.policy, clinic, video_rooms="therapist")
    save(session, therapist, clinic, video_link="https://zoom.us/j/111")
    save(session, colleague, clinic, video_link="https://meet.google.com/xyz")
    appointment = book(session, clinic, patient, either, ist(TUE, 11), online=True)
    common = {"clinic_id": clinic.id, "appointment_id": appointment.id, "now": NOW}
    reschedule_appointment(session, new_start=ist(TUE, 14), actor=STAFF, **common)
    assert reloaded(session, appointment).video_url == "https://zoom.us/j/111"
    reschedule_appointment(
        session, new_start=ist(WED, 11), therapist_id=colleague.id, actor=STAFF, **common
    )
    assert reloaded(session, appointment).video_url == "https://meet.google.com/xyz"
    save(session, therapist, clinic, video_link=None)
    with pytest.raises(video.NoVideoRoom):  # back to a therapist who has no room now
        reschedule_appointment(
            session, new_start=ist(WED, 14), therapist_id=therapist.id, actor=STAFF, **common
        )
    assert reloaded(session, appointment).video_url == "https://meet.google.com/xyz"


# --- the settings, as saved ------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://zoom.us/j/1",
        "javascript:alert(1)",
        "zoom.us/j/1",
        "https://",
        "https://zoom.us/j/1 2",
        "https://zoom.us/" + "a" * 500,
    ],
)
def test_a_video_link_must_be_an_https_address(session, clinic, therapist, link):
    with pytest.raises(InvalidInput, match="https://"):
        save(session, therapist, clinic, video_link=link)


def test_the_video_settings_are_checked(session, clinic, either):
    with pytest.raises(InvalidInput, match="https://"):
        save(session, clinic.policy, clinic, jitsi_base_url="http://meet.jit.si")
    session.rollback()
    with pytest.raises(InvalidInput, match="Jitsi or the therapists"):
        save(session, clinic.policy, clinic, video_rooms="zoom")
    session.rollback()
    with pytest.raises(InvalidInput, match="in person, online, or both"):
        save(session, either, clinic, in_person=False, online=False)
    session.rollback()
    save(session, clinic.policy, clinic, jitsi_base_url="  ")
    assert clinic.policy.jitsi_base_url == "https://meet.jit.si"  # blank: the public server


# --- the therapist's calendar feed -----------------------------------------------------------


def test_the_calendar_feed_puts_the_link_in_location_and_url(
    session, clinic, therapist, either, patient
):
    online = book(session, clinic, patient, either, ist(TUE, 11), online=True)
    book(session, clinic, patient, either, ist(TUE, 12))
    link = reloaded(session, online).video_url
    events = list(
        Calendar.from_ical(calendar_feed.feed_calendar(session, therapist, now=NOW)).walk("VEVENT")
    )
    assert len(events) == 2
    assert str(events[0]["location"]) == link and str(events[0]["url"]) == link
    assert "url" not in events[1] and "Main" in str(events[1]["location"])


def test_an_online_course_gives_each_session_its_own_room(
    session, clinic, therapist, either, patient
):
    result = book_series(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=either.id,
        therapist_id=therapist.id,
        pattern=Pattern(weekdays=(1,), local_time=time(11), first_date=TUE, sessions=3),
        now=NOW,
        actor=STAFF,
        source=BookingSource.ADMIN,
        online=True,
    )
    assert result.series.online is True
    assert all(a.online for a in result.booked)
    rooms = [a.video_url.rsplit("/", 1)[1] for a in result.booked]
    assert len(set(rooms)) == 3 and all(ROOM.fullmatch(r) for r in rooms)
