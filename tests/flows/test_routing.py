"""Messages that change course wherever the chat is: questions answered mid-form, a person
asked for, running late, thanks, and a request made before consent picked up after it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from flows import routing
from flows.dialog import Turn
from flows.parsing import parse_number
from models import (
    Appointment,
    Channel,
    Clinic,
    Contact,
    Conversation,
    Patient,
    Relation,
    Service,
    Therapist,
    TherapistServiceOverride,
)
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.audit import Actor
from services.clinics import catalog
from tests.chat import Chat
from tests.conftest import NOW, counting_statements  # NOW: Mon 23 Nov 2026, 09:00 Kolkata


@pytest.fixture
def clinic(session):
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == "roshni"))


@pytest.fixture
def london(session):
    seed_clinic(session, DEMO_CLINICS[1], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == "sunrise"))


@pytest.fixture
def chat(session, clinic):
    return Chat(session, clinic, now=NOW)


def onboarded(chat: Chat) -> Chat:
    """A parent with one child, at the menu (a first registration goes on to booking)."""
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")
    assert "Let's book the first session" in chat.last
    assert "What would you like to do?" in chat.say("menu")
    return chat


def conversation(session, chat: Chat) -> Conversation:
    return session.scalar(select(Conversation).where(Conversation.phone == chat.phone))


def test_a_question_at_the_menu_is_answered_and_the_menu_offered_again(chat):
    onboarded(chat)
    reply = chat.say("what's the fee for speech therapy?")
    assert "Speech Therapy Session" in reply and "₹800" in reply
    assert "1. Book a session" in reply  # where the chat was
    assert "Please reply with a number" not in reply


def test_a_question_in_the_middle_of_booking_is_answered_and_the_booking_resumes(chat):
    onboarded(chat)
    services = chat.say("1")
    assert "Which therapy?" in services
    reply = chat.say("where is the clinic?")
    assert "12 Main Street" in reply
    assert "Which therapy?" in reply  # the same question again, nothing lost
    assert "Which therapy?" not in chat.say("1")  # and the form goes on


def test_a_question_in_hindi_is_answered_in_hindi(chat, session):
    onboarded(chat)
    chat.say("hindi")
    reply = chat.say("फीस कितनी है?")
    assert "₹800" in reply
    assert "क्या" in reply or "चुनें" in reply or "सेशन" in reply


def test_a_question_with_no_answer_goes_to_staff_and_the_patient_is_told(chat, session):
    onboarded(chat)
    reply = chat.say("is there a lift for a wheelchair?")
    assert "passed your question to Roshni Clinic" in reply
    assert conversation(session, chat).handoff_at is not None


def test_running_late_is_passed_to_staff(chat, session):
    onboarded(chat)
    reply = chat.say("running 10 minutes late, sorry")
    assert "Thanks for letting us know" in reply
    assert conversation(session, chat).handoff_at is not None


def test_thanks_gets_a_kind_word_and_the_question_again(chat):
    onboarded(chat)
    reply = chat.say("thank you 🙏")
    assert reply.startswith("You're welcome!")
    assert "1. Book a session" in reply


def test_a_booking_sentence_at_the_menu_fills_the_form(chat):
    onboarded(chat)
    reply = chat.say("I want to book speech therapy")
    assert "Which therapy?" not in reply  # the service was said
    assert "Speech Therapy" in reply or "Dr. Priya Nair" in reply


def test_a_first_message_that_says_what_is_picked_up_after_consent(chat, session):
    first = chat.say("Hi, I'd like to book speech therapy for my son Aarav tomorrow evening")
    assert "booking assistant" in first
    assert session.scalar(select(Contact)) is None  # nothing personal before consent
    asked = chat.say("yes")
    assert "What is your name, and Aarav's date of birth?" in asked
    offer = chat.say("Asha Verma, 12/03/2019")
    assert "Aarav is registered" in offer
    assert "Which therapy?" not in offer and "What would you like to do?" not in offer
    patient = session.scalar(select(Patient))
    assert (patient.name, patient.relation) == ("Aarav", Relation.CHILD)
    assert "Tue 24 Nov" in offer  # tomorrow, in the evening
    assert "pm" in offer


def test_a_hindi_first_message_is_picked_up_after_consent(chat, session):
    chat.say("नमस्ते, मेरे बेटे आरव के लिए कल शाम स्पीच थेरेपी चाहिए")
    asked = chat.say("हाँ")
    assert "आरव" in asked
    offer = chat.say("Asha Verma, 12/03/2019")
    assert session.scalar(select(Patient)).name == "आरव"
    assert "24" in offer


def test_declining_consent_forgets_the_request(chat, session):
    chat.say("book physio for me tomorrow")
    chat.say("no")
    assert "pending" not in (conversation(session, chat).data or {})


def test_a_request_for_oneself_registers_the_writer_as_the_patient(london, session):
    chat = Chat(session, london, now=NOW, phone="+447911123456", channel=Channel.SMS)
    chat.say("Hello, can I book physio for myself on Wednesday morning?")
    assert "Hello!" in chat.transcript[-1][1]  # a London clinic greets as London does
    chat.say("yes")
    offer = chat.say("Tom Baker")
    patient = session.scalar(select(Patient))
    assert (patient.name, patient.relation) == ("Tom Baker", Relation.SELF)
    assert "Wed 25 Nov" in offer
    assert session.scalar(select(Appointment)) is None  # nothing booked without a yes


@pytest.mark.parametrize("name", ["Dhanya Rao", "Meherbano", "Dhanya"])
def test_a_name_that_reads_like_thanks_is_taken_as_a_name(chat, session, name):
    chat.script("hi", "1")  # yes, for my child
    reply = chat.say(name)
    assert reply.startswith(f"Nice to meet you, {name.split()[0]}. What is your child's name")
    assert session.scalar(select(Contact)).name == name


def test_the_time_list_says_the_therapists_own_price_that_a_tap_books(chat, session, clinic):
    speech = session.scalar(select(Service).where(Service.name == "Speech Therapy Session"))
    priya = session.scalar(select(Therapist).where(Therapist.name == "Dr. Priya Nair"))
    catalog.save_record(
        session,
        TherapistServiceOverride(
            therapist_id=priya.id, service_id=speech.id, price_minor=95000, duration_minutes=60
        ),
        clinic_id=clinic.id,
        actor=Actor.system(),
        before=None,
    )
    onboarded(chat)
    offer = chat.say("book speech therapy for Aarav tomorrow")
    assert "(60 min, ₹950) with Dr. Priya Nair" in offer
    booked = chat.say("1")
    assert "✅ Booked!" in booked and "₹950" in booked
    assert session.scalar(select(Appointment)).price_minor == 95000


def test_a_name_the_clinic_gave_a_service_books_it(session, clinic, chat):
    speech = session.scalar(
        select(Service).where(Service.clinic_id == clinic.id, Service.name.startswith("Speech"))
    )
    speech.aliases = ["baat cheet"]
    session.commit()
    onboarded(chat)
    reply = chat.say("baat cheet book karna hai")
    assert "Speech Therapy Session for Aarav" in reply
    assert "Which therapy?" not in reply


@pytest.mark.parametrize("text", ["2", "two", "#3"])
def test_a_bare_number_is_understood_without_reading_the_clinics_names(session, chat, text):
    onboarded(chat)
    turn = Turn(
        session=session,
        clinic=chat.clinic,
        conversation=conversation(session, chat),
        now=chat.now.astimezone(ZoneInfo(chat.clinic.timezone)),
    )
    session.expire_all()
    with counting_statements(session.get_bind()) as statements:
        understood = routing.understanding_for(turn, text)
    assert understood.choice == parse_number(text)
    assert not [s for s in statements if "FROM service" in s or "FROM therapist" in s]
    # A sentence does read them: from the database, or from this process's copy once it
    # has checked the copy is current (services.clinics.settings_cache).
    with counting_statements(session.get_bind()) as statements:
        assert routing.understanding_for(turn, "book speech").service_ids
    assert [s for s in statements if "FROM service" in s or "FROM settings_version" in s]
