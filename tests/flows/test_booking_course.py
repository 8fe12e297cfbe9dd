"""A course booked by chat: "every Monday and Thursday at 5 for 8 weeks" as transcripts
through the engine, on the demo clinic (NOW is Monday 23 Nov 2026, 09:00 in Kolkata;
Dr. Priya Nair, the one speech therapist, works Mon-Fri 9:00-18:00)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from models import (
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    BookingSource,
    Invoice,
    Service,
)
from services.scheduling.appointments import book_appointment
from tests.conftest import NOW
from tests.flows.test_booking_form import demo, registered, service_id
from tests.scheduling.booking_support import STAFF, ist


@pytest.fixture
def roshni(session):
    return demo(session, "roshni")


def course_sessions(session) -> list[Appointment]:
    session.expire_all()
    return list(
        session.scalars(
            select(Appointment)
            .where(Appointment.series_id.is_not(None))
            .order_by(Appointment.start_at)
        )
    )


def test_a_guardian_books_two_sessions_a_week_for_eight_weeks_in_two_messages(session, roshni):
    chat = registered(session, roshni)
    summary = chat.say("speech therapy for Aarav every Monday and Thursday at 5 for 8 weeks")
    assert summary.startswith(
        "Speech Therapy Session for Aarav with Dr. Priya Nair, every Monday and Thursday at "
        "5:00 pm: 16 sessions from Mon 23 Nov to Thu 14 Jan, ₹800 each."
    )
    assert "1. Book them\n2. Change" in summary
    assert session.scalar(select(func.count()).select_from(Appointment)) == 0

    booked = chat.say("1")

    assert booked.startswith("✅ Booked 16 sessions of Speech Therapy Session for Aarav")
    assert "The first is Mon 23 Nov, 5:00 pm, the last on Thu 14 Jan." in booked
    sessions = course_sessions(session)
    assert len(sessions) == 16
    assert {(s.start_at.astimezone(ist(NOW.date(), 0).tzinfo).weekday()) for s in sessions} == {
        0,
        3,
    }
    assert {s.source for s in sessions} == {BookingSource.CHAT}
    assert session.scalar(select(func.count()).select_from(AppointmentSeries)) == 1


def test_hinglish_with_the_time_left_out_is_asked_for_it(session, roshni):
    chat = registered(session, roshni)
    assert "Which therapy?" in chat.say("har somvar aur guruvar 8 hafte")
    assert chat.say("1") == "What time on Monday and Thursday? (for example *5 pm*)"
    summary = chat.say("5 baje")
    assert "every Monday and Thursday at 5:00 pm: 16 sessions" in summary
    assert chat.say("haan").startswith("✅ Booked 16 sessions")
    assert len(course_sessions(session)) == 16


def test_without_a_length_the_weeks_are_asked(session, roshni):
    chat = registered(session, roshni)
    asked = chat.say("speech therapy for Aarav every tuesday at 11")
    assert asked == "For how many weeks? Reply with a number, for example *8*."
    assert chat.say("lots") == asked  # not a number: asked again
    summary = chat.say("6")
    assert "every Tuesday at 11:00 am: 6 sessions from Tue 24 Nov to Tue 29 Dec" in summary


def test_a_taken_time_is_named_before_booking_and_the_rest_booked(session, roshni, make_patient):
    chat = registered(session, roshni)
    speech = service_id(session, roshni, "Speech Therapy Session")
    other = make_patient(roshni, name="Kabir")
    book_appointment(
        session,
        clinic_id=roshni.id,
        patient_id=other.id,
        service_id=speech,
        start=ist(date(2026, 12, 3), 17),
        now=NOW,
        actor=STAFF,
        source=BookingSource.ADMIN,
    )
    summary = chat.say("speech therapy for Aarav every Monday and Thursday at 5 for 4 weeks")
    assert "7 sessions from Mon 23 Nov to Thu 17 Dec" in summary
    assert "1 of these times are not free and will not be booked: Thu 3 Dec." in summary
    booked = chat.say("1")
    assert booked.startswith("✅ Booked 7 sessions")
    assert "Not booked, as those times are taken: Thu 3 Dec." in booked
    assert len(course_sessions(session)) == 7


def test_change_drops_the_course_for_one_session(session, roshni):
    chat = registered(session, roshni)
    chat.say("speech therapy for Aarav every Friday at 10 for 6 weeks")
    reply = chat.say("2")
    assert "Speech Therapy Session for Aarav" in reply  # the ordinary free times follow
    assert session.scalar(select(func.count()).select_from(Appointment)) == 0
    assert course_sessions(session) == []


def test_in_hindi_the_course_is_said_back_and_booked_in_hindi(session, roshni):
    chat = registered(session, roshni)
    chat.say("menu")
    chat.say("हिंदी")
    summary = chat.say("हर सोमवार और गुरुवार 5 बजे 8 हफ़्ते स्पीच थेरेपी")
    assert "हर सोमवार और गुरुवार" in summary and "16 सेशन" in summary
    assert "1. बुक करें" in summary
    booked = chat.say("हाँ")
    assert booked.startswith("✅ Aarav के लिए Dr. Priya Nair के साथ Speech Therapy Session के 16")
    assert len(course_sessions(session)) == 16


def test_a_course_billed_as_one_invoice_says_its_total_before_booking(session, roshni):
    from_demo = session.get(Service, service_id(session, roshni, "Speech Therapy Session"))
    from_demo.prepay_required = True
    roshni.policy.course_billing = "package"
    session.commit()
    chat = registered(session, roshni)
    summary = chat.say("speech therapy for Aarav every Monday at 5 for 4 weeks")
    assert "The whole course is billed on one invoice: *₹3,200* in all." in summary
    chat.say("1")
    session.expire_all()
    [invoice] = session.scalars(select(Invoice).where(Invoice.clinic_id == roshni.id))
    assert invoice.total_minor == 320000


# --- in person or online, for a service given either way ---------------------------------


def test_a_course_of_a_service_given_either_way_asks_in_person_or_online(session):
    sunrise = demo(session, "sunrise")  # Speech and Language Therapy: in person or online
    chat = registered(session, sunrise)
    chat.say("1")
    asked = chat.say("every Monday and Thursday at 4pm for 2 weeks")
    assert "In person or online (video call)?" in asked
    assert "1. In person (clinic)\n2. Online (video call)" in asked
    assert course_sessions(session) == []

    summary = chat.say("video")

    assert "4 sessions from" in summary
    assert "💻 Online (video call): the link comes with your booking" in summary
    booked = chat.say("1")
    assert booked.startswith("✅ Booked 4 sessions")
    sessions = course_sessions(session)
    assert len(sessions) == 4
    assert all(s.online for s in sessions)
    assert len({s.video_url for s in sessions if s.video_url}) == 4  # a room each


@pytest.mark.parametrize("answer", ["in person", "1", "क्लिनिक"])
def test_in_person_books_the_course_at_the_clinic_not_a_call_for_a_person(session, answer):
    sunrise = demo(session, "sunrise")
    chat = registered(session, sunrise)
    chat.say("1")
    chat.say("every Monday and Thursday at 4pm for 2 weeks")

    summary = chat.say(answer)

    assert "4 sessions from" in summary and "Online" not in summary
    assert chat.say("1").startswith("✅ Booked 4 sessions")
    sessions = course_sessions(session)
    assert len(sessions) == 4
    assert not any(s.online or s.video_url for s in sessions)


def test_an_unclear_answer_to_in_person_or_online_is_asked_again(session):
    sunrise = demo(session, "sunrise")
    chat = registered(session, sunrise)
    chat.say("1")
    chat.say("every Monday and Thursday at 4pm for 2 weeks")
    assert chat.say("maybe") == "Please reply with a number from 1 to 2."
    assert "Online (video call)" in chat.say("2")
    assert course_sessions(session) == []


def test_a_course_of_a_service_given_one_way_is_not_asked(session, roshni):
    chat = registered(session, roshni)
    summary = chat.say("speech therapy for Aarav every Monday and Thursday at 5 for 2 weeks")
    assert "In person or online" not in summary and "Online" not in summary
    assert summary.startswith("Speech Therapy Session for Aarav")


def test_at_a_clinic_that_approves_chat_bookings_a_course_is_a_request(session, roshni):
    roshni.policy.approve_chat_bookings = True
    session.commit()
    chat = registered(session, roshni)
    chat.say("speech therapy for Aarav every Monday at 5 for 4 weeks")
    sent = chat.say("1")
    assert sent.startswith(
        "📨 Your request for 4 sessions of Speech Therapy Session for Aarav with Dr. Priya Nair"
    )
    assert "is sent to Roshni Clinic; we'll message you when they confirm." in sent
    assert "Add to calendar" not in sent  # not until the clinic confirms
    assert {s.status for s in course_sessions(session)} == {AppointmentStatus.REQUESTED}
