"""Names, families, corrections, cancel and reschedule as forms, and a booking kept
over a pause: transcripts of what a parent types and what the bot answers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    Channel,
    Clinic,
    Contact,
    Conversation,
    Patient,
    Service,
)
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.audit import Actor
from services.scheduling.appointments import book_appointment
from tests.chat import Chat
from tests.conftest import NOW  # Mon 23 Nov 2026, 09:00 in Kolkata

KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def clinic(session):
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == "roshni"))


@pytest.fixture(params=[Channel.WHATSAPP, Channel.SMS], ids=["whatsapp", "sms"])
def chat(request, session, clinic):
    return Chat(session, clinic, now=NOW, channel=request.param)


def contact_of(session) -> Contact:
    return session.scalar(select(Contact))


def family(session) -> dict[str, Patient]:
    return {p.name: p for p in session.scalars(select(Patient).order_by(Patient.id))}


def onboard_two_children(chat: Chat) -> None:
    """Registers Aarav and Anaya ("1. Yes, for my child" at consent), then leaves the first
    booking the bot starts for the main menu."""
    chat.script("hi", "1", "Asha Verma", "Aarav and Anaya", "12/03/2019", "05/06/2021")
    assert "What would you like to do?" in chat.say("menu")


def book(session, clinic, patient: Patient, local: datetime) -> Appointment:
    service = session.scalar(
        select(Service).where(Service.clinic_id == clinic.id, Service.name.like("Speech Therapy%"))
    )
    appointment = book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=local,
        now=NOW,
        actor=Actor.system(),
        source=BookingSource.ADMIN,
    )
    session.commit()
    return appointment


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored", "greeted"),
    [
        ("my name is Farida Khan", "Farida Khan", "Farida"),
        ("I am Pooja", "Pooja", "Pooja"),
        ("I'm Pooja", "Pooja", "Pooja"),
        ("Mrs. Shalini Sharma", "Shalini Sharma", "Shalini"),
        ("Dr Rao", "Dr Rao", "Dr Rao"),
        ("mera naam Pooja hai", "Pooja", "Pooja"),
        ("मेरा नाम पूजा है", "पूजा", "पूजा"),
        ("asha verma 🙏", "Asha Verma", "Asha"),
    ],
)
def test_the_name_in_an_introduction_is_stored_and_greeted(chat, session, typed, stored, greeted):
    chat.script("hi", "1")  # yes, for my child
    reply = chat.say(typed)
    assert f"Nice to meet you, {greeted}. What is your child's name and date of birth?" in reply
    assert contact_of(session).name == stored


@pytest.mark.parametrize(
    "typed", ["I want to book speech therapy", "12345", "<b>Asha</b>", "www.example.com"]
)
def test_what_is_not_a_name_is_asked_again(chat, session, typed):
    chat.script("hi", "1")
    assert "Please reply with your name" in chat.say(typed)
    assert contact_of(session).name is None


def test_several_children_in_one_message_are_each_registered(chat, session):
    chat.script("hi", "1", "Asha Verma")
    assert "And Aarav's date of birth?" in chat.say("Aarav and Anaya")
    reply = chat.say("12/03/2019")
    assert "Aarav is registered" in reply
    assert "And Anaya's date of birth?" in reply
    reply = chat.say("05/06/2021")
    assert "Anaya is registered" in reply
    assert "Let's book the first session" in reply
    assert "Which therapy?" in reply
    children = family(session)
    assert children["Aarav"].date_of_birth == date(2019, 3, 12)
    assert children["Anaya"].date_of_birth == date(2021, 6, 5)


@pytest.mark.parametrize("typed", ["Aarav aur Anaya", "आरव और अनाया", "Aarav, Anaya"])
def test_several_children_in_hinglish_and_hindi(chat, session, typed):
    chat.script("hi", "1", "Asha Verma", typed, "12/03/2019", "05/06/2021")
    assert len(family(session)) == 2


def test_a_childs_name_and_date_of_birth_in_one_message(chat, session):
    chat.script("hi", "1", "Asha Verma")
    reply = chat.say("Asha Verma, 12/03/2019")
    assert "Asha Verma is registered" in reply
    assert "Which therapy?" in reply
    assert family(session)["Asha Verma"].date_of_birth == date(2019, 3, 12)


def test_a_guardians_name_and_a_known_childs_date_of_birth_in_one_reply(chat, session):
    """The first message named the child (the understanding step keeps it as the patient
    being added); at the name question both answers may come together."""
    chat.script("hi", "1")
    conversation = session.scalar(select(Conversation))
    conversation.data = {"new_patient": {"relation": "child", "name": "Aarav"}}
    session.commit()
    reply = chat.say("Asha Verma, 12/03/2019")
    assert "Aarav is registered" in reply
    assert "Which therapy?" in reply
    assert contact_of(session).name == "Asha Verma"
    assert family(session)["Aarav"].date_of_birth == date(2019, 3, 12)


# --- corrections ---------------------------------------------------------------------------


def test_my_name_is_corrects_the_name_any_time(chat, session):
    onboard_two_children(chat)
    reply = chat.say("my name is Asha Sharma")
    assert "Thank you, Asha. I've updated your name." in reply
    assert "What would you like to do?" in reply
    assert contact_of(session).name == "Asha Sharma"
    assert session.scalar(select(AuditLog).where(AuditLog.action == "contact.update").limit(1))


def test_a_name_correction_mid_booking_resumes_the_question(chat, session):
    onboard_two_children(chat)
    chat.say("1")  # book: which therapy?
    reply = chat.say("mera naam Asha Sharma hai")
    assert "I've updated your name" in reply
    assert "Which therapy?" in reply
    assert contact_of(session).name == "Asha Sharma"


def test_change_a_childs_date_of_birth(chat, session):
    onboard_two_children(chat)
    assert "What is Aarav's correct date of birth?" in chat.say("change Aarav's date of birth")
    reply = chat.say("13/03/2019")
    assert "Aarav's date of birth is now 13/03/2019" in reply
    assert "What would you like to do?" in reply
    assert family(session)["Aarav"].date_of_birth == date(2019, 3, 13)
    assert session.scalar(select(AuditLog).where(AuditLog.action == "patient.update"))


@pytest.mark.parametrize(
    "typed",
    [
        "Aarav's date of birth is 14/03/2019",
        "Aarav ki janam tithi 14/03/2019 hai",
        "Aarav ka DOB 14 March 2019",
    ],
)
def test_a_date_of_birth_said_directly_is_updated(chat, session, typed):
    onboard_two_children(chat)
    assert "Aarav's date of birth is now 14/03/2019" in chat.say(typed)
    assert family(session)["Aarav"].date_of_birth == date(2019, 3, 14)
    assert family(session)["Anaya"].date_of_birth == date(2021, 6, 5)


def test_a_hinglish_date_of_birth_change_asks_for_the_date(chat, session):
    onboard_two_children(chat)
    assert "What is Anaya's correct date of birth?" in chat.say("Anaya ki DOB galat hai")
    assert "Please give the date of birth" in chat.say("soon")
    chat.say("06/06/2021")
    assert family(session)["Anaya"].date_of_birth == date(2021, 6, 6)


def test_a_date_of_birth_that_cannot_be_right_is_asked_again(chat, session):
    onboard_two_children(chat)
    assert "What is Aarav's correct date of birth?" in chat.say(
        "Aarav's date of birth is 12/03/2030"
    )
    assert family(session)["Aarav"].date_of_birth == date(2019, 3, 12)


def test_a_correction_in_hindi_is_confirmed_in_hindi(chat, session):
    onboard_two_children(chat)
    contact_of(session).language = "hi"
    session.commit()
    assert "आरव" not in chat.say("change Aarav's date of birth")  # the stored name is used
    assert "Aarav की जन्म तिथि अब 13/03/2019 है" in chat.say("13/03/2019")


# --- cancel and reschedule as forms --------------------------------------------------------


@pytest.fixture
def two_sessions(chat, session, clinic):
    """Aarav on Tue 24 and Fri 27 Nov, Anaya on Tue 24 Nov."""
    onboard_two_children(chat)
    children = family(session)
    return {
        "aarav_tue": book(
            session, clinic, children["Aarav"], datetime(2026, 11, 24, 10, tzinfo=KOLKATA)
        ),
        "anaya_tue": book(
            session, clinic, children["Anaya"], datetime(2026, 11, 24, 11, tzinfo=KOLKATA)
        ),
        "aarav_fri": book(
            session, clinic, children["Aarav"], datetime(2026, 11, 27, 10, tzinfo=KOLKATA)
        ),
    }


def test_cancel_a_named_session_goes_straight_to_its_confirmation(chat, session, two_sessions):
    reply = chat.say("cancel Anaya's Tuesday session")
    assert reply.startswith("Cancel Tue 24 Nov, 11:00 am · Speech Therapy Session for Anaya")
    assert "more than 24 hours away, so there is no charge" in reply
    assert "is cancelled" in chat.say("1")
    assert two_sessions["anaya_tue"].status is AppointmentStatus.CANCELLED
    assert two_sessions["aarav_tue"].status is AppointmentStatus.BOOKED


def test_cancel_with_several_matches_chooses_among_only_those(chat, two_sessions):
    reply = chat.say("cancel Aarav's session")
    assert reply.startswith("Which session?")
    assert "Anaya" not in reply
    assert "1. Tue 24 Nov" in reply and "2. Fri 27 Nov" in reply
    reply = chat.say("2")
    assert reply.startswith("Cancel Fri 27 Nov")  # no "Reschedule / Cancel" again
    assert "Yes, cancel it" in reply


def test_cancel_with_no_match_says_so_and_lists_the_sessions(chat, two_sessions):
    reply = chat.say("cancel Anaya's Friday session")
    assert reply.startswith("I couldn't find that session.\nYour upcoming sessions:")
    assert "3. Fri 27 Nov" in reply


def test_after_cancel_and_a_choice_the_confirmation_follows(chat, two_sessions):
    assert "Your upcoming sessions:" in chat.say("cancel my appointment")  # SMS: "cancel" = STOP
    reply = chat.say("1")
    assert reply.startswith("Cancel Tue 24 Nov, 10:00 am")
    assert "Reschedule" not in reply


def test_cancel_by_reference(chat, two_sessions):
    number = two_sessions["aarav_fri"].number
    assert chat.say(f"cancel {number}").startswith("Cancel Fri 27 Nov")


def test_reschedule_a_named_session_goes_to_the_day_question(chat, two_sessions):
    reply = chat.say("reschedule Aarav's Friday session")
    assert "When would suit you?" in reply
    reply = chat.say("thursday 4pm")
    assert "Please confirm the new time" in reply


def test_reschedule_a_session_inside_the_window_asks_the_clinic(chat, two_sessions):
    reply = chat.say("move Anaya's Tuesday session")
    assert "within 48 hours, so the clinic needs to approve a change" in reply
    assert "Which time would suit you?" in reply


def test_several_family_members_added_from_the_menu(chat, session):
    onboard_two_children(chat)
    chat.say("3")  # add a family member
    assert chat.say("1").startswith("What is your child's name and date of birth?")
    assert "And Kabir's date of birth?" in chat.say("Kabir and Meera")
    assert "And Meera's date of birth?" in chat.say("01/01/2020")
    assert "Meera is registered" in chat.say("02/02/2022")
    assert set(family(session)) == {"Aarav", "Anaya", "Kabir", "Meera"}


@pytest.mark.parametrize(
    "typed",
    [
        "cancel Anaya ka kal wala session",  # kal = Tue 24 Nov
        "Anaya ka kal wala session cancel karna hai",
        "अनाया का कल वाला सेशन रद्द करना है",
    ],
)
def test_a_hinglish_or_hindi_cancel_sentence(chat, session, two_sessions, typed):
    if not typed.isascii():
        family(session)["Anaya"].name = "अनाया"
        session.commit()
    reply = chat.say(typed)
    assert reply.startswith("Cancel Tue 24 Nov, 11:00 am")


def test_a_sentence_with_cancel_but_no_session_is_read_by_the_current_question(chat, two_sessions):
    chat.say("cancel my appointment")
    reply = chat.say("2")
    assert reply.startswith("Cancel Tue 24 Nov, 11:00 am")
    assert "is cancelled" in chat.say("yes, cancel it")


# --- a booking waiting for its confirmation survives a pause ---------------------------------


def at_confirmation(chat: Chat) -> None:
    """A group session still asks for a confirmation (a one-to-one session with its only
    therapist is booked as soon as the time is tapped)."""
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")  # booking starts right away
    chat.say("4")  # Group Speech Therapy, its only therapist is not asked about
    assert "Please confirm" in chat.say("tomorrow 9am")  # Tue 24 Nov, 9:00 am


def test_after_a_pause_a_booking_at_its_confirmation_is_offered_again(chat, session):
    at_confirmation(chat)
    chat.wait(timedelta(minutes=45))
    reply = chat.say("1")
    assert reply.startswith(
        "Still want Group Speech Therapy for Aarav on Tue 24 Nov, 9:00 am?\n1. Yes, book it\n2. No"
    )
    assert "✅ Booked!" in chat.say("1")
    assert session.scalar(select(Appointment)).status is AppointmentStatus.BOOKED


def test_a_kept_booking_whose_time_went_meanwhile_offers_alternatives(chat, session, clinic):
    at_confirmation(chat)
    chat.wait(timedelta(hours=2))
    other = Patient(clinic_id=clinic.id, contact_id=contact_of(session).id, name="Kabir")
    session.add(other)
    session.flush()
    taken = book(session, clinic, other, datetime(2026, 11, 24, 9, tzinfo=KOLKATA))
    chat.say("haan")
    reply = chat.say("yes")
    assert "that time was just taken" in reply
    assert session.scalar(select(Appointment).where(Appointment.id != taken.id)) is None


def test_saying_no_after_a_pause_drops_the_booking(chat, session):
    at_confirmation(chat)
    chat.wait(timedelta(minutes=31))
    assert "Still want" in chat.say("sorry, got busy")
    reply = chat.say("2")
    assert "OK, I haven't booked it." in reply
    assert "What would you like to do?" in reply
    assert session.scalar(select(Appointment)) is None


def test_a_booking_whose_time_has_passed_is_not_offered_again(chat, session):
    at_confirmation(chat)
    chat.wait(timedelta(days=2))
    assert "It's been a while" in chat.say("1")
    assert session.scalar(select(Appointment)) is None


def test_other_forms_still_restart_after_a_pause(chat):
    at_confirmation(chat)
    chat.say("2")  # change: back to the day question
    chat.wait(timedelta(minutes=31))
    assert "It's been a while" in chat.say("1")
