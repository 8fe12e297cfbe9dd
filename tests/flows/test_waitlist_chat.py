"""The waitlist in the chat, through the engine on the demo clinic (NOW is Monday 23 Nov
2026, 09:00 in Kolkata): nothing free offers the waitlist; a time freed and offered by
the sweep is booked with "1" or passed on with "2"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.sweep import offer_waitlist
from models import Appointment, ExceptionKind, Patient, WaitlistEntry, WaitlistStatus
from services.clinics.catalog import add_exception
from services.scheduling.waitlist import join_waitlist
from tests.conftest import NOW
from tests.flows.test_booking_form import demo, registered, service_id
from tests.scheduling.booking_support import STAFF


@pytest.fixture
def roshni(session):
    return demo(session, "roshni")


def entry(session) -> WaitlistEntry | None:
    session.expire_all()
    return session.scalar(select(WaitlistEntry))


def test_nothing_free_offers_the_waitlist_and_joins_it(session, roshni):
    chat = registered(session, roshni)
    add_exception(  # the clinic is closed for the whole booking horizon
        session,
        clinic_id=roshni.id,
        kind=ExceptionKind.CLOSED,
        start_date=NOW.date(),
        end_date=NOW.date() + timedelta(days=40),
        actor=STAFF,
    )
    offer = chat.say("speech therapy for Aarav")
    assert "no free times for Speech Therapy Session" in offer
    assert "Shall we put Aarav on the waitlist?" in offer
    assert "1. Yes, join the waitlist\n2. No, back to the menu" in offer

    joined = chat.say("1")

    assert joined.startswith("✅ Aarav is on the waitlist for Speech Therapy Session.")
    assert "hold it for you for 15 minutes" in joined
    waiting = entry(session)
    assert waiting.status is WaitlistStatus.WAITING
    assert waiting.service_id == service_id(session, roshni, "Speech Therapy Session")


def waiting_for_speech(session, roshni) -> WaitlistEntry:
    aarav = session.scalar(select(Patient).where(Patient.name == "Aarav"))
    return join_waitlist(
        session,
        clinic_id=roshni.id,
        patient_id=aarav.id,
        service_id=service_id(session, roshni, "Speech Therapy Session"),
        now=NOW,
        actor=STAFF,
    )


def test_an_offer_is_booked_with_one_reply(session, roshni):
    chat = registered(session, roshni)
    waiting_for_speech(session, roshni)
    assert offer_waitlist(session, now=NOW) == 1  # the sweep's step
    held = entry(session)
    assert held.status is WaitlistStatus.OFFERED

    booked = chat.say("1")

    assert booked.startswith("✅ Booked!")
    appointment = session.scalar(select(Appointment))
    assert appointment.start_at == held.offer_start
    assert entry(session).status is WaitlistStatus.BOOKED


def test_passing_keeps_them_waiting_and_never_offers_that_time_again(session, roshni):
    chat = registered(session, roshni)
    waiting_for_speech(session, roshni)
    offer_waitlist(session, now=NOW)
    first = entry(session).offer_start

    assert chat.say("2").startswith("OK, we'll offer it to the next person.")

    again = entry(session)
    # Nobody else waits: the next free time is offered to them straight away.
    assert again.status is WaitlistStatus.OFFERED and again.offer_start != first
    assert session.scalar(select(Appointment)) is None
