"""Reaching a person: the chat stays with staff until they hand it back or the patient
asks for the menu, and the patient is told who answers and roughly when."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from models import Clinic, Conversation, ExceptionKind
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.audit import Actor
from services.clinics import catalog
from services.messaging import handoff
from services.scheduling.opening_hours import clinic_opening
from tests.chat import Chat
from tests.conftest import NOW  # Mon 23 Nov 2026, 09:00 in Kolkata

# Roshni Clinic (Kolkata): Mon-Fri 9-18, Sat 9-13. Sunrise (London): Mon-Fri 9-18.


@pytest.fixture
def clinic(session):
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == DEMO_CLINICS[0].slug))


@pytest.fixture
def london(session):
    seed_clinic(session, DEMO_CLINICS[1], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == DEMO_CLINICS[1].slug))


def onboarded(session, clinic, now: datetime) -> Chat:
    chat = Chat(session, clinic, now=now, step=timedelta(seconds=1))
    # A first registration goes straight into booking; *menu* reaches the menu.
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")
    assert "Let's book the first session" in chat.last
    chat.say("menu")
    assert "What would you like to do?" in chat.last
    return chat


def conversation(session) -> Conversation:
    session.expire_all()
    found = session.scalar(select(Conversation))
    assert found is not None
    return found


@pytest.mark.parametrize(
    "words",
    [
        "talk",
        "can I talk to someone?",
        "Call me",
        "I want a real person",
        "speak to a person",
        "kisi se baat karni hai",
        "बात करनी है",
    ],
)
def test_asking_for_a_person_in_many_words_hands_the_chat_to_staff(session, clinic, words):
    chat = onboarded(session, clinic, NOW)
    assert "Someone from Roshni Clinic will reply here shortly" in chat.say(words)
    assert conversation(session).handoff_at is not None


def test_hello_while_waiting_keeps_the_chat_with_staff_until_they_hand_it_back(session, clinic):
    chat = onboarded(session, clinic, NOW)
    chat.say("talk")
    for waiting in ("hello?", "hi", "anyone there", "1"):
        assert chat.say(waiting) is None
        assert conversation(session).state == "handoff"
        assert conversation(session).handoff_at is not None
    handoff.hand_back(
        session,
        clinic_id=clinic.id,
        conversation_id=conversation(session).id,
        now=chat.now,
        actor=Actor.staff(1),
    )
    assert "What would you like to do?" in chat.say("hi")


def test_menu_ends_the_hand_off_and_says_so(session, clinic):
    chat = onboarded(session, clinic, NOW)
    chat.say("can I talk to someone")
    reply = chat.say("Main menu")
    assert reply.startswith("OK, you're back with the assistant")
    assert "Reply *talk* any time" in reply
    assert "1. Book a session" in reply
    assert conversation(session).handoff_at is None


def test_after_closing_the_patient_is_told_when_the_clinic_opens(session, clinic):
    monday_evening = datetime(2026, 11, 23, 12, 35, tzinfo=UTC)  # 18:05 in Kolkata
    chat = onboarded(session, clinic, monday_evening)
    assert chat.say("talk") == (
        "Roshni Clinic opens again tomorrow at 9:00 am; a colleague will reply then."
    )


def test_on_saturday_afternoon_the_next_opening_is_monday(session, clinic):
    saturday = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # 13:30 in Kolkata
    chat = onboarded(session, clinic, saturday)
    assert chat.say("talk") == (
        "Roshni Clinic opens again on Mon 30 Nov at 9:00 am; a colleague will reply then."
    )


def test_opening_hours_across_a_closing_time_and_a_weekend_in_the_clinics_zone(
    session, clinic, london
):
    kolkata = datetime(2026, 11, 23, 12, 29, tzinfo=UTC)  # Mon 17:59 IST
    assert clinic_opening(session, clinic, kolkata).open_now
    closed = clinic_opening(session, clinic, kolkata + timedelta(minutes=1))  # 18:00
    assert not closed.open_now
    assert closed.opens_at == datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # Tue 9:00 IST
    early = clinic_opening(session, clinic, datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # 6:30
    assert early.opens_at == datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # today, 9:00

    # London on a Friday evening: Monday 9:00 London time (GMT in November).
    friday = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)
    weekend = clinic_opening(session, london, friday)
    assert not weekend.open_now
    assert weekend.opens_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert weekend.opens_at.tzinfo is not None and str(weekend.opens_at.tzinfo) == "Europe/London"
    # The same instant is Saturday 00:00 in Kolkata: Roshni opens at 9:00 that day.
    assert clinic_opening(session, clinic, friday).opens_at == datetime(
        2026, 11, 28, 3, 30, tzinfo=UTC
    )


def test_a_clinic_wide_closure_moves_the_next_opening(session, clinic):
    catalog.add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.CLOSED,
        start_date=date(2026, 11, 24),
        end_date=date(2026, 11, 24),
        actor=Actor.system(),
        reason="Holiday",
    )
    session.commit()
    monday_evening = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 18:30 in Kolkata
    opening = clinic_opening(session, clinic, monday_evening)
    assert opening.opens_at == datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # Wed 9:00
