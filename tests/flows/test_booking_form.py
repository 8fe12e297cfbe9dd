"""The booking form as transcripts: what is already known is not asked again.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata (03:30 in London). The demo clinics: Roshni
Clinic (India, one therapist per specialisation, a group speech session for six, a
prepaid assessment paid by UPI) and Sunrise Therapy Centre (London, one therapist per
specialisation), both open Mon-Fri 9:00-18:00 (Roshni also Sat 9:00-13:00), with 2 h
minimum notice.
"""

from __future__ import annotations

import copy
import re
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from flows.booking import fill_booking, start_booking
from flows.dialog import Turn
from models import (
    Appointment,
    Channel,
    Clinic,
    Conversation,
    Location,
    Patient,
    Service,
    Therapist,
)
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.clinics import catalog
from tests.chat import Chat
from tests.conftest import NOW, SYSTEM

TUE, WED, SUN = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 29)
CHANNELS = [Channel.WHATSAPP, Channel.SMS]
# What is being booked, said above the free times once the therapist is known.
SPEECH = "Speech Therapy Session for Aarav (45 min, ₹800) with Dr. Priya Nair\n"


def demo(session, slug: str) -> Clinic:
    seed_clinic(session, next(d for d in DEMO_CLINICS if d.slug == slug), admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == slug))


@pytest.fixture
def roshni(session):
    return demo(session, "roshni")


@pytest.fixture
def sunrise(session):
    return demo(session, "sunrise")


def registered(session, clinic: Clinic, channel: Channel = Channel.WHATSAPP, **kw) -> Chat:
    """A guardian with one child, just registered: at the first booking's "Which therapy?"."""
    phone = "+447911123456" if clinic.slug == "sunrise" else "+919876543210"
    chat = Chat(session, clinic, now=NOW, channel=channel, phone=kw.get("phone", phone))
    reply = chat.script("hi", "1", kw.get("name", "Asha Verma"), "Aarav", "12/03/2019")
    assert "Aarav is registered. ✅" in reply and "Which therapy?" in reply
    return chat


def enter(session, chat: Chat, entry=start_booking, **slots) -> str:
    """What the engine will do once it understands a message: open (or add to) the
    booking form with the slots it found, as one turn of this chat."""
    conversation = session.scalar(
        select(Conversation).where(
            Conversation.phone == chat.phone, Conversation.channel == chat.channel
        )
    )
    turn = Turn(
        session=session,
        clinic=chat.clinic,
        conversation=conversation,
        now=chat.now.astimezone(ZoneInfo(chat.clinic.timezone)),
        data=copy.deepcopy(conversation.data or {}),
    )
    reply = entry(turn, **slots)
    conversation.data = turn.data
    conversation.last_turn_at = chat.now
    session.commit()
    return reply


def service_id(session, clinic: Clinic, name: str) -> int:
    return session.scalar(
        select(Service.id).where(Service.clinic_id == clinic.id, Service.name == name)
    )


def therapist_id(session, clinic: Clinic, name: str) -> int:
    return session.scalar(
        select(Therapist.id).where(Therapist.clinic_id == clinic.id, Therapist.name == name)
    )


def options(reply: str) -> list[str]:
    return re.findall(r"^\d+\. (.*)$", reply, re.M)


def bookings(session) -> int:
    return session.scalar(select(func.count()).select_from(Appointment))


# --- prefilled entry ---------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_slot_known_goes_straight_to_the_confirmation(session, roshni, channel):
    chat = registered(session, roshni, channel)
    aarav = session.scalar(select(Patient.id))
    summary = enter(
        session,
        chat,
        service_id=service_id(session, roshni, "Occupational Therapy Session"),
        patient_id=aarav,
        day=TUE,
        at=time(11),
    )
    assert summary.startswith("Please confirm:\nOccupational Therapy Session for Aarav")
    assert "with Rahul Mehta, Tue 24 Nov, 11:00–11:45 am" in summary
    assert (
        "Roshni Clinic, Main Street (12 Main Street, Indiranagar, Bengaluru 560038) · ₹750"
        in summary
    )
    assert "✅ Booked!" in chat.say("1")
    assert bookings(session) == 1


def test_a_therapist_who_does_not_offer_the_service_is_said_and_the_right_one_taken(
    session, roshni
):
    chat = registered(session, roshni)
    reply = enter(
        session,
        chat,
        service_id=service_id(session, roshni, "Speech Therapy Session"),
        therapist_id=therapist_id(session, roshni, "Rahul Mehta"),
        day=TUE,
        at=time(11),
    )
    assert reply.startswith("Rahul Mehta does not offer Speech Therapy Session.\nPlease confirm:")
    assert "with Dr. Priya Nair, Tue 24 Nov, 11:00–11:45 am" in reply


def test_a_taken_time_is_said_with_the_nearest_free_ones(session, roshni):
    first = registered(session, roshni)
    speech = service_id(session, roshni, "Speech Therapy Session")
    enter(session, first, service_id=speech, day=WED, at=time(11))
    first.say("1")
    second = registered(session, roshni, phone="+919876543299", name="Ravi Kumar")
    reply = enter(session, second, service_id=speech, day=WED, at=time(11))
    assert reply.startswith(SPEECH + "Wed 25 Nov, 11:00 am is not free. The nearest free times:")
    assert options(reply) == ["10:00 am", "10:15 am", "11:45 am"]
    booked = second.say("2")  # what was said back above the times: the tap books it
    assert "✅ Booked!" in booked and "Wed 25 Nov, 10:15 am" in booked


def test_a_closed_day_and_a_day_past_are_said_never_a_dead_end(session, roshni):
    chat = registered(session, roshni)
    speech = service_id(session, roshni, "Speech Therapy Session")
    closed = enter(session, chat, service_id=speech, day=SUN, part="evening")
    assert closed.startswith(
        SPEECH + "Sun 29 Nov there is nothing free.\nFree on Mon 30 Nov in the evening:"
    )
    assert options(closed) == ["4:00 pm", "4:15 pm", "4:30 pm", "4:45 pm", "5:00 pm", "5:15 pm"]
    past = enter(session, chat, service_id=speech, day=date(2026, 11, 20))
    assert past.startswith(SPEECH + "That day has already passed.")
    assert "When would suit you?" in past and len(options(past)) == 6
    beyond = enter(session, chat, service_id=speech, day=date(2027, 3, 1))
    assert beyond.startswith(SPEECH + "We can book up to 30 days ahead.")


def test_a_message_mid_form_fills_its_slots_and_moves_on(session, roshni):
    chat = registered(session, roshni)
    assert "Which therapy?" in chat.last
    reply = enter(
        session, chat, fill_booking, service_id=service_id(session, roshni, "Physiotherapy Session")
    )
    assert reply.startswith(
        "Physiotherapy Session for Aarav (45 min, ₹700) with Dr. Kavya Rao\nWhen would suit you?"
    )
    summary = enter(session, chat, fill_booking, day=TUE, at=time(17))
    assert (
        "Physiotherapy Session for Aarav\nwith Dr. Kavya Rao, Tue 24 Nov, 5:00–5:45 pm" in summary
    )


# --- the one question for day and time ---------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_free_times_are_spread_over_days_and_parts_of_the_day(session, roshni, channel):
    chat = registered(session, roshni, channel)
    times = chat.say("1")  # speech: its only therapist is not asked about
    assert "With whom?" not in times
    assert times.startswith(SPEECH + "When would suit you? The nearest free times:")
    assert options(times) == [
        "Mon 23 Nov, 11:15 am",
        "Mon 23 Nov, 12:00 pm",
        "Mon 23 Nov, 4:00 pm",
        "Tue 24 Nov, 9:00 am",
        "Tue 24 Nov, 12:00 pm",
        "Tue 24 Nov, 4:00 pm",
    ]
    day = chat.say("wed")
    assert day.startswith(SPEECH + "Free on Wed 25 Nov:")
    # Across the day, not its first eight quarter hours.
    assert options(day) == ["9:00 am", "10:00 am", "12:00 pm", "1:00 pm", "4:00 pm", "5:00 pm"]


def test_after_four_offers_evening_times_on_distinct_days(session, roshni):
    chat = registered(session, roshni)
    chat.say("1")
    reply = chat.say("after 4")
    assert reply.startswith(SPEECH + "When would suit you? The nearest free times after 4:00 pm:")
    assert options(reply) == [
        "Mon 23 Nov, 4:00 pm",
        "Tue 24 Nov, 4:00 pm",
        "Wed 25 Nov, 4:00 pm",
        "Thu 26 Nov, 4:00 pm",
        "Fri 27 Nov, 4:00 pm",
        "Mon 30 Nov, 4:00 pm",
    ]
    tomorrow = chat.say("tomorrow evening")
    assert tomorrow.startswith(SPEECH + "Free on Tue 24 Nov in the evening:")
    assert options(tomorrow)[:2] == ["4:00 pm", "4:15 pm"]
    booked = chat.say("2")
    assert "✅ Booked!" in booked and "Tue 24 Nov, 4:15 pm" in booked


def test_asap_and_a_bare_time_choose_the_first_fitting_time(session, roshni):
    chat = registered(session, roshni)
    chat.say("1")
    assert "Mon 23 Nov, 11:15 am–12:00 pm" in chat.say("asap")
    assert "Mon 23 Nov, 5:00–5:45 pm" in chat.say("5pm")  # "actually 5pm", at the confirm


def test_the_london_clinic_skips_its_only_speech_therapist_too(session, sunrise):
    chat = registered(session, sunrise, Channel.SMS)
    times = chat.say("1")  # Speech and Language Therapy: Emma Clarke only
    assert "With whom?" not in times
    assert options(times)[0] == "Mon 23 Nov, 9:00 am"  # 03:30 in London: the day is free
    # given in person or online: the one extra question, after the time
    assert "In person or online (video call)?" in chat.say("tomorrow 4pm")
    summary = chat.say("in person")
    assert "with Emma Clarke, Tue 24 Nov, 4:00–4:50 pm" in summary
    assert "Sunrise Therapy Centre, Sunrise House (1 High Street, London SW1A 1AA) · £65" in summary
    assert "✅ Booked!" in chat.say("yes")


# --- returning patients ------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_returning_patient_books_the_same_again_in_three_messages(session, roshni, channel):
    chat = registered(session, roshni, channel)
    chat.script("1", "tomorrow 5pm", "1")  # Tue 24 Nov, 5 pm with Dr. Priya Nair
    chat.wait(timedelta(hours=2))
    sent = len(chat.transcript)
    chat.say("hi")
    offer = chat.say("1")
    assert offer.startswith("Same as last time?\nSpeech Therapy Session for Aarav")
    assert "with Dr. Priya Nair, Tue 1 Dec, 5:00–5:45 pm" in offer  # the next free Tuesday 5 pm
    assert options(offer) == ["Yes, book it", "Choose something else"]
    booked = chat.say("yes")
    assert "✅ Booked!" in booked and "Tue 1 Dec, 5:00 pm" in booked
    assert len(chat.transcript) - sent == 3
    assert bookings(session) == 2


def test_choosing_something_else_opens_the_form(session, roshni):
    chat = registered(session, roshni)
    chat.script("1", "tomorrow 5pm", "1")
    chat.say("1")
    assert "Which therapy?" in chat.say("2")


# --- groups and prepaid sessions ---------------------------------------------------------


def test_group_sessions_say_what_the_group_is_and_the_seats_left(session, roshni):
    first = registered(session, roshni)
    times = first.say("4")  # Group Speech Therapy, six seats
    assert options(times)[0] == "Mon 23 Nov, 11:15 am · 6 seats left"
    summary = first.say("1")
    assert "A group session for up to 6: 6 seats left." in summary
    assert "✅ Booked!" in first.say("1")
    second = registered(session, roshni, phone="+919876543299", name="Ravi Kumar")
    assert options(second.say("4"))[0] == "Mon 23 Nov, 11:15 am · 5 seats left"
    summary = second.say("1")
    assert "Group Speech Therapy for Aarav" in summary
    assert "A group session for up to 6: 5 seats left." in summary
    assert "✅ Booked!" in second.say("1")


def test_a_prepaid_session_states_the_amount_before_the_patient_confirms(session, roshni):
    chat = registered(session, roshni)
    chat.say("5")  # Assessment Session: paid in advance (UPI at this clinic)
    summary = chat.say("wed 10am")
    assert "Assessment Session for Aarav" in summary
    assert (
        "💳 Paid in advance: ₹1,200 by UPI. When you confirm I'll send the details; "
        "the clinic confirms once the money arrives."
    ) in summary
    assert summary.index("💳") < summary.index("1. Confirm")
    booked = chat.say("1")
    assert "Please pay ₹1,200 by UPI" in booked


# --- Hindi --------------------------------------------------------------------------------


def test_the_time_question_is_asked_in_hindi(session, roshni):
    chat = registered(session, roshni)
    contact = session.scalar(select(Conversation)).contact
    contact.language = "hi"
    session.commit()
    reply = chat.say("1")
    what = "Aarav के लिए Speech Therapy Session (45 मिनट, ₹800), Dr. Priya Nair के साथ\n"
    assert reply.startswith(what + "आपके लिए कब ठीक रहेगा? सबसे नज़दीकी खाली समय:")
    assert chat.say("kal shaam").startswith(what + "मंगल, 24 नव॰ शाम के खाली समय:")


def test_another_time_for_the_same_session_is_understood_at_the_offer(session, roshni):
    chat = registered(session, roshni)
    chat.script("1", "tomorrow 5pm", "1")
    assert "Same as last time?" in chat.say("1")
    summary = chat.say("wed 10am")
    assert summary.startswith("Please confirm:\nSpeech Therapy Session for Aarav")
    assert "with Dr. Priya Nair, Wed 25 Nov, 10:00–10:45 am" in summary


def test_candidate_days_and_a_before_window_narrow_the_offer(session, roshni):
    chat = registered(session, roshni)
    reply = enter(
        session,
        chat,
        service_id=service_id(session, roshni, "Physiotherapy Session"),
        days=[WED, date(2026, 11, 27)],
        before=time(10),
    )
    assert reply.startswith(
        "Physiotherapy Session for Aarav (45 min, ₹700) with Dr. Kavya Rao\n"
        "When would suit you? The nearest free times before 10:00 am:"
    )
    assert options(reply) == [
        "Wed 25 Nov, 9:00 am",
        "Wed 25 Nov, 9:15 am",
        "Wed 25 Nov, 9:30 am",
        "Wed 25 Nov, 9:45 am",
        "Fri 27 Nov, 9:00 am",
        "Fri 27 Nov, 9:30 am",
    ]


def test_a_gender_asked_for_narrows_the_therapists_and_one_left_is_not_asked(session, roshni):
    location = session.scalar(select(Location.id).where(Location.clinic_id == roshni.id))
    arjun = catalog.create_therapist(
        session, clinic_id=roshni.id, name="Arjun Das", specialization="speech", actor=SYSTEM
    )
    for weekday in range(5):
        catalog.add_weekly_hours(
            session,
            clinic_id=roshni.id,
            therapist_id=arjun.id,
            location_id=location,
            weekday=weekday,
            start=time(9),
            end=time(18),
            actor=SYSTEM,
        )
    session.commit()
    speech = service_id(session, roshni, "Speech Therapy Session")
    chat = registered(session, roshni)
    assert "1. Any available therapist\n2. Dr. Priya Nair (speech)\n3. Arjun Das (speech)" in (
        chat.say("1")
    )
    female = session.scalar(select(Therapist.gender).where(Therapist.name == "Dr. Priya Nair"))
    reply = enter(session, chat, service_id=speech, therapist_gender=female, day=TUE, at=time(11))
    assert "with Dr. Priya Nair, Tue 24 Nov, 11:00–11:45 am" in reply
