"""Booking an online session in chat: one extra question, only for a service given either way.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata (03:30 in London). The London demo clinic's
Speech and Language Therapy is given in person or online (the patient chooses); its
Physiotherapy Session in person only; the clinic uses the public Jitsi server.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import Appointment, Service
from services import audit
from services.clinics import catalog
from tests.chat import Chat
from tests.conftest import NOW, SYSTEM
from tests.flows.test_booking_form import registered, sunrise  # noqa: F401  (fixture)

# ruff: noqa: F811  (the fixture imported above)

JITSI_LINK = re.compile(r"https://meet\.jit\.si/[A-Za-z0-9_-]{32}")


def only_appointment(session) -> Appointment:
    return session.scalars(select(Appointment)).one()


def test_either_way_asks_in_person_or_online_and_the_booking_carries_its_link(session, sunrise):
    chat = registered(session, sunrise)
    chat.say("1")  # Speech and Language Therapy: Emma Clarke only
    asked = chat.say("tomorrow 4pm")
    assert "In person or online (video call)?" in asked
    assert "1. In person (clinic)\n2. Online (video call)" in asked
    summary = chat.say("video")
    assert "💻 Online (video call): the link comes with your booking" in summary
    assert "High Street" not in summary  # no address for a video call
    booked = chat.say("yes")
    assert "✅ Booked!" in booked
    appointment = only_appointment(session)
    assert appointment.online is True
    assert JITSI_LINK.fullmatch(appointment.video_url)
    assert f"Join here at the time: {appointment.video_url}" in booked
    assert "High Street" not in booked


def test_the_question_is_asked_and_answered_in_hindi(session, sunrise):
    chat = Chat(session, sunrise, now=NOW, phone="+447911123456")
    chat.script("नमस्ते", "1", "आशा वर्मा", "Aarav, 12/03/2019", "1")
    asked = chat.say("कल 4 बजे")
    assert "क्लिनिक आकर या ऑनलाइन (वीडियो कॉल)?" in asked
    assert "1. क्लिनिक आकर\n2. ऑनलाइन (वीडियो कॉल)" in asked
    summary = chat.say("ऑनलाइन")
    assert "ऑनलाइन (वीडियो कॉल): लिंक बुकिंग के साथ आएगा" in summary
    booked = chat.say("1")
    appointment = only_appointment(session)
    assert appointment.online is True
    assert f"समय पर यहाँ जुड़ें: {appointment.video_url}" in booked


@pytest.mark.parametrize("answer", ["in person", "clinic", "1", "क्लिनिक"])
def test_in_person_words_book_at_the_clinic_not_a_call_for_a_person(session, sunrise, answer):
    chat = registered(session, sunrise)
    chat.script("1", "tomorrow 4pm")
    summary = chat.say(answer)
    assert "Sunrise House (1 High Street, London SW1A 1AA)" in summary
    assert "✅ Booked!" in chat.say("1")
    appointment = only_appointment(session)
    assert appointment.online is False and appointment.video_url is None


def test_an_answer_that_is_neither_is_asked_again(session, sunrise):
    chat = registered(session, sunrise)
    chat.script("1", "tomorrow 4pm")
    assert chat.say("maybe") == "Please reply with a number from 1 to 2."
    assert "✅ Booked!" not in chat.say("2")  # the question still stands: 2 is online
    assert session.scalars(select(Appointment)).first() is None
    assert "✅ Booked!" in chat.say("1")
    assert only_appointment(session).online is True


def _deliver(session, clinic, name: str, *, in_person: bool, online: bool) -> None:
    service = session.scalar(
        select(Service).where(Service.clinic_id == clinic.id, Service.name == name)
    )
    before = audit.snapshot(service)
    service.in_person, service.online = in_person, online
    catalog.save_record(session, service, clinic_id=clinic.id, actor=SYSTEM, before=before)


def test_a_service_given_one_way_asks_nothing_more(session, sunrise):
    # in person only: Physiotherapy; online only: Speech and Language Therapy
    _deliver(session, sunrise, "Speech and Language Therapy", in_person=False, online=True)
    chat = registered(session, sunrise)
    summary = chat.script("1", "tomorrow 4pm")
    assert "In person or online" not in summary
    assert "💻 Online (video call)" in summary
    chat.say("1")
    assert only_appointment(session).online is True

    other = registered(session, sunrise, phone="+447911123457")
    summary = other.script("2", "tomorrow 4pm")  # Physiotherapy Session
    assert "In person or online" not in summary
    assert "Sunrise House" in summary
