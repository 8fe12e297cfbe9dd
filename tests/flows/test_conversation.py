"""Conversations as transcripts: what a parent types, what the bot answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    Channel,
    Clinic,
    Contact,
    Conversation,
    InboundMessage,
    Patient,
    Relation,
    RequesterType,
    RescheduleRequest,
)
from roshni.demo import DEMO_CLINICS, seed_clinic
from tests.chat import Chat
from tests.conftest import NOW  # Mon 23 Nov 2026, 09:00 in Kolkata


@pytest.fixture
def clinic(session):
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == "roshni"))


@pytest.fixture
def chat(session, clinic):
    return Chat(session, clinic, now=NOW)


def onboard_parent(chat: Chat) -> None:
    """Asha registers Aarav; after a first registration the bot asks which therapy to book."""
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")


def onboard_parent_to_menu(chat: Chat) -> None:
    """Asha registers Aarav, then asks for the main menu."""
    onboard_parent(chat)
    chat.say("menu")


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_first_contact_asks_consent_then_books_for_a_child(chat, session):
    reply = chat.say("hi")
    assert "Roshni Clinic's booking assistant" in reply
    assert "1. Yes, for my child\n2. Yes, for myself\n3. No thanks" in reply
    assert count(session, Contact) == 0  # nothing personal stored before consent

    assert chat.say("1") == "Thank you! What is your name?"  # yes, for my child
    assert chat.say("Asha Verma").startswith(
        "Nice to meet you, Asha. What is your child's name and date of birth?"
    )
    assert "Aarav's date of birth" in chat.say("Aarav")
    services = chat.say("12/03/2019")
    assert "Aarav is registered" in services
    # A first registration goes straight into booking, not to the menu.
    assert "Let's book the first session (or reply *menu* for anything else)." in services
    assert "What would you like to do?" not in services
    assert "1. Speech Therapy Session — 45 min, ₹800" in services
    assert "4. Group Speech Therapy — 60 min, ₹500" in services
    # One speech therapist: no "With whom?"; day and time are one question, under what is
    # being booked.
    times = chat.say("1")
    assert "With whom?" not in times
    assert (
        "Speech Therapy Session for Aarav (45 min, ₹800) with Dr. Priya Nair\n"
        "When would suit you?" in times
    )
    assert "1. Mon 23 Nov, 11:15 am" in times  # 09:00 now, 2 h notice: today still has room
    assert "4. Tue 24 Nov, 9:00 am" in times
    booked = chat.say("4")  # everything but the time was said: the tap books it
    assert "Please confirm" not in booked
    assert "✅ Booked! APT-2026-000001" in booked
    assert "Aarav · Speech Therapy Session · Tue 24 Nov, 9:00 am · Dr. Priya Nair" in booked
    assert (
        "Roshni Clinic, Main Street (12 Main Street, Indiranagar, Bengaluru 560038) · ₹800"
        in booked
    )
    assert "a day before and 2 hours before" in booked

    appointment = session.scalar(select(Appointment))
    assert appointment.source is BookingSource.CHAT
    assert appointment.patient.name == "Aarav"
    assert appointment.patient.relation is Relation.CHILD
    assert appointment.start_at == datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # 9 am IST
    contact = session.scalar(select(Contact))
    assert contact.consent_at is not None and contact.name == "Asha Verma"


def test_declining_consent_stores_no_contact(chat, session):
    chat.say("hello")
    reply = chat.say("3")  # No thanks
    assert "only your phone number and these messages" in reply
    assert count(session, Contact) == 0
    assert "Is that OK?" in chat.say("hi")


@pytest.mark.parametrize(
    "script",
    [
        ("hi", "2", "Ravi Kumar"),  # Yes, for myself
        ("hi", "yes", "Ravi Kumar", "1"),  # a plain yes, then "Who are the sessions for?" Myself
    ],
)
def test_an_adult_books_for_themself(chat, session, script):
    services = chat.script(*script)
    assert "Let's book the first session" in services
    assert "Which therapy?" in services
    assert "What would you like to do?" not in services
    chat.say("3")  # Physiotherapy (one patient, one physiotherapist: neither asked)
    assert "Tue 24 Nov, 9:00–9:45 am" in chat.say("tomorrow 9am")
    assert "✅ Booked!" in chat.say("1")
    patient = session.scalar(select(Patient))
    assert patient.name == "Ravi Kumar" and patient.relation is Relation.SELF


def test_free_text_day_and_time_are_understood_and_echoed(chat, session):
    onboard_parent(chat)
    chat.say("1")  # speech (Dr. Priya Nair, the only speech therapist)
    summary = chat.say("tomorrow 5pm")  # a typed time is said back to confirm
    assert "Please confirm" in summary
    assert "Tue 24 Nov, 5:00–5:45 pm" in summary
    assert "✅ Booked!" in chat.say("1")


def test_hinglish_day_and_part_of_day(chat):
    onboard_parent(chat)
    chat.say("1")  # speech
    times = chat.say("kal shaam")
    assert "Free on Tue 24 Nov in the evening:" in times
    assert "1. 4:00 pm" in times


def test_a_closed_day_offers_the_next_open_one(chat):
    onboard_parent(chat)
    chat.say("1")  # speech
    reply = chat.say("sunday")  # Sun 29 Nov: closed
    assert "Sun 29 Nov there is nothing free." in reply
    assert "Free on Mon 30 Nov:" in reply


def test_a_time_that_is_not_free_offers_the_nearest_ones(chat):
    onboard_parent(chat)
    chat.say("1")  # speech
    reply = chat.say("tomorrow 8pm")
    assert "Tue 24 Nov, 8:00 pm is not free" in reply
    assert "5:15 pm" in reply  # the last 45-minute slot before 18:00
    assert "✅" not in reply


def test_my_appointments_cancel_outside_the_window(chat, session):
    onboard_parent(chat)
    chat.script("1", "wed 9am", "1")  # Wed 25 Nov 9:00 (more than 24 h away)
    listing = chat.say("2")
    assert "Your upcoming sessions:" in listing
    assert "1. Wed 25 Nov, 9:00 am · Speech Therapy Session for Aarav (APT-2026-000001)" in listing
    assert "1. Reschedule\n2. Cancel\n3. Back to menu" in chat.say("1")
    assert "Cancel Wed 25 Nov" in chat.say("2")
    assert "is cancelled" in chat.say("1")
    assert session.scalar(select(Appointment)).status is AppointmentStatus.CANCELLED


def test_cancelling_inside_the_window_is_refused_with_the_policy(chat, session):
    onboard_parent(chat)
    booked = chat.script("1", "1")  # speech, the first time offered: today 11:15 (2 h notice)
    assert "✅ Booked!" in booked  # tapped: booked without a summary to confirm
    chat.script("my appointments", "1")
    reply = chat.say("cancel")  # the policy is said at the confirm step, before any "yes"
    assert "up to 24 hours before" in reply
    assert "stays booked and is charged" in reply
    assert "1. Talk to the clinic\n2. No, keep it" in reply
    assert "OK, your session stays booked." in chat.say("2")
    assert session.scalar(select(Appointment)).status is AppointmentStatus.BOOKED


def test_reschedule_outside_the_window_moves_the_session(chat, session):
    onboard_parent(chat)
    chat.script("1", "27 nov 9am", "1")  # Fri 27 Nov 9:00, four days away
    chat.script("2", "1", "1")  # my appointments, the first, reschedule
    summary = chat.say("thursday 4pm")
    assert "Please confirm the new time" in summary
    assert "Thu 26 Nov, 4:00–4:45 pm" in summary
    assert "Moved!" in chat.say("1")
    appointment = session.scalar(select(Appointment))
    assert appointment.start_at == datetime(2026, 11, 26, 10, 30, tzinfo=UTC)  # 4 pm IST
    assert appointment.status is AppointmentStatus.BOOKED
    assert count(session, Appointment) == 1


def test_rescheduling_inside_the_window_asks_the_clinic_for_the_time_given(chat, session):
    onboard_parent(chat)
    chat.script("1", "tomorrow 9am", "1")  # Tue 24 Nov 9:00: within 48 h
    chat.script("2", "1")
    reply = chat.say("1")
    assert reply.startswith(
        "That's within 48 hours, so the clinic needs to approve a change. "
        "Which time would suit you?"
    )
    sent = chat.say("thursday 4pm")
    assert sent.startswith(
        "I've asked the clinic to move APT-2026-000001 to Thu 26 Nov, 4:00 pm; "
        "you'll hear back here."
    )
    request = session.scalar(select(RescheduleRequest))
    assert request.proposed_start == datetime(2026, 11, 26, 10, 30, tzinfo=UTC)  # 4 pm IST
    assert request.requester_type is RequesterType.PATIENT
    appointment = session.scalar(select(Appointment))
    assert appointment.start_at == datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # not moved yet


def test_stop_start_and_help_work_in_any_state(chat, session):
    onboard_parent(chat)
    chat.say("1")  # speech: mid-booking
    assert "won't get any more messages" in chat.say("STOP")
    contact = session.scalar(select(Contact))
    assert contact.whatsapp_opted_out_at is not None
    assert "on again" in chat.say("start")
    session.refresh(contact)
    assert contact.whatsapp_opted_out_at is None
    help_text = chat.say("help")
    assert "*talk*" in help_text
    assert "call us on +91 80 4567 8900" in help_text


def test_sms_cancel_is_an_opt_out_and_the_bot_then_stays_quiet(session, clinic):
    chat = Chat(session, clinic, now=NOW, channel=Channel.SMS)
    chat.say("hi")
    assert "won't get any more messages" in chat.say("CANCEL")
    assert chat.say("menu") is None
    assert "on again" in chat.say("START")


def test_an_idle_half_finished_flow_restarts_from_the_menu(chat):
    onboard_parent(chat)
    chat.say("1")  # speech
    chat.wait(timedelta(minutes=31))
    reply = chat.say("2")
    assert "It's been a while" in reply
    assert "What would you like to do?" in reply


def test_three_misses_offer_a_person(chat):
    onboard_parent_to_menu(chat)
    first = chat.say("banana")
    assert "Please reply with a number from 1 to 5" in first
    assert "talk" not in first.lower().split("reply")[-1]
    chat.say("banana")
    assert "Having trouble? Reply *talk*" in chat.say("banana")


def test_talk_to_the_clinic_hands_over_until_the_patient_asks_for_the_menu(chat, session):
    onboard_parent(chat)
    assert "Someone from Roshni Clinic will reply here shortly" in chat.say("talk")
    assert session.scalar(select(Conversation)).handoff_at is not None
    assert chat.say("when can you call?") is None
    assert chat.say("hello?") is None  # still waiting: stays in the staff queue
    assert session.scalar(select(Conversation)).handoff_at is not None
    reply = chat.say("menu")
    assert "no longer has this chat in its queue" in reply
    assert "What would you like to do?" in reply
    assert session.scalar(select(Conversation)).handoff_at is None


def test_a_retried_delivery_gets_the_same_reply_without_running_twice(chat, session):
    chat.say("hi")
    first = chat.send("1", sid="SMduplicate0000000000000000000001")
    again = chat.send("1", sid="SMduplicate0000000000000000000001")
    assert again.duplicate and again.reply == first.reply
    assert count(session, InboundMessage) == 2
    assert session.scalar(select(Conversation)).state == "ask_name"


def test_more_than_thirty_messages_a_minute_are_stored_not_answered(session, clinic):
    chat = Chat(session, clinic, now=NOW, step=timedelta(seconds=1))
    replies = [chat.say("hi") for _ in range(32)]
    assert all(r for r in replies[:30])
    assert "very fast" in replies[30]
    assert replies[31] is None
    assert count(session, InboundMessage) == 32


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "x" * 10_000,
        "مرحبا، أريد حجز موعد",
        "\u202eevil\u202c text",
        "\x00\x07\x1b[31mred",
        "'; DROP TABLE appointment; --",
        "<script>alert(1)</script>",
        "{clinic} {0} %s %(name)s",
    ],
)
def test_nasty_input_gets_a_sensible_reply(chat, session, text):
    onboard_parent_to_menu(chat)
    reply = chat.say(text)
    assert reply  # never silent, never an exception
    assert "Traceback" not in reply
    assert count(session, Appointment) == 0


def test_a_file_of_a_kind_we_do_not_open_is_said_so_and_the_question_asked_again(chat):
    onboard_parent_to_menu(chat)
    reply = chat.say("", num_media=1)  # no type declared: nothing we can open
    assert "can't open that kind of file" in reply
    assert "What would you like to do?" in reply


def test_a_button_payload_means_the_same_as_typing_it(chat):
    chat.say("hi")
    assert chat.say("", payload="1") == "Thank you! What is your name?"


def test_typing_cancel_mid_flow_goes_to_the_only_session_to_cancel(chat, session):
    onboard_parent(chat)
    chat.script("1", "27 nov 9am", "1")  # booked Fri 27 Nov
    assert "Same as last time?" in chat.say("1")  # starting another booking...
    reply = chat.say("cancel")
    assert "Cancel Fri 27 Nov, 9:00 am" in reply
    assert "is cancelled" in chat.say("1")
    assert session.scalar(select(Appointment)).status is AppointmentStatus.CANCELLED


def test_a_number_staff_added_mid_chat_is_linked_at_consent(chat, session, clinic):
    from services.people import patients
    from tests.conftest import SYSTEM

    chat.say("hi")  # the conversation starts before the clinic knows the number
    patients.create_contact(
        session, clinic_id=clinic.id, phone="+919876543210", name="Asha Verma", actor=SYSTEM
    )
    reply = chat.say("1")  # yes, for my child
    assert reply.startswith(  # her name is known already: not asked
        "Nice to meet you, Asha. What is your child's name and date of birth?"
    )
    assert count(session, Contact) == 1
    assert session.scalar(select(Contact)).consent_at is not None


# --- plain yes and no, and the clinic's date order ---------------------------------------------


@pytest.mark.parametrize("word", ["yes", "Yes", "ok", "OK", "okay", "haan"])
def test_a_plain_yes_gives_consent(chat, session, word):
    chat.say("hi")
    assert chat.say(word) == "Thank you! What is your name?"
    assert session.scalar(select(Contact)).consent_at is not None


@pytest.mark.parametrize("word", ["no", "No", "nahi"])
def test_a_plain_no_declines_consent(chat, session, word):
    chat.say("hi")
    assert "only your phone number and these messages" in chat.say(word)
    assert count(session, Contact) == 0


@pytest.mark.parametrize("word", ["yes", "ok", "OK", "haan"])
def test_a_plain_yes_confirms_a_booking(chat, session, word):
    onboard_parent(chat)
    # A group session is still confirmed after the time is tapped (its seats are said).
    assert "Please confirm" in chat.script("4", "1")  # group speech, the first time
    assert "✅ Booked!" in chat.say(word)
    assert count(session, Appointment) == 1


@pytest.mark.parametrize("word", ["no", "nahi"])
def test_a_plain_no_changes_the_time_of_a_booking(chat, session, word):
    onboard_parent(chat)
    assert "Please confirm" in chat.script("4", "1")  # group speech, the first time
    assert "When would suit you?" in chat.say(word)
    assert count(session, Appointment) == 0


@pytest.mark.parametrize("word", ["yes", "ok", "haan"])
def test_a_plain_yes_cancels_the_session_asked_about(chat, session, word):
    onboard_parent(chat)
    chat.script("1", "wed 9am", "1")  # Wed 25 Nov 9:00
    assert "Cancel Wed 25 Nov" in chat.script("2", "1", "2")
    assert "is cancelled" in chat.say(word)
    assert session.scalar(select(Appointment)).status is AppointmentStatus.CANCELLED


@pytest.mark.parametrize("word", ["no", "No", "nahi"])
def test_a_plain_no_keeps_the_session_asked_about(chat, session, word):
    onboard_parent(chat)
    chat.script("1", "wed 9am", "1")
    chat.script("2", "1", "2")
    assert "your session stays booked" in chat.say(word)
    assert session.scalar(select(Appointment)).status is AppointmentStatus.BOOKED


def test_a_us_clinic_reads_a_date_of_birth_month_first(chat, session, clinic):
    clinic.phone_region = "US"
    session.commit()
    chat.script("hi", "1", "Asha Verma", "Aarav")
    assert "Aarav is registered" in chat.say("03/12/2019")
    assert session.scalar(select(Patient)).date_of_birth == date(2019, 3, 12)  # 12 Mar


def test_an_indian_clinic_reads_a_date_of_birth_day_first(chat, session):
    chat.script("hi", "1", "Asha Verma", "Aarav")
    assert "Aarav is registered" in chat.say("03/12/2019")
    assert session.scalar(select(Patient)).date_of_birth == date(2019, 12, 3)  # 3 Dec
