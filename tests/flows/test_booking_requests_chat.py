"""Approval mode in the chat (the demo clinic approves chat bookings; NOW is Monday 23
Nov 2026, 09:00 in Kolkata): the booking is sent as a request, My appointments shows it
awaiting confirmation, and the patient may withdraw it, free, even inside the window."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Appointment, AppointmentStatus, ClinicPolicy, MessageKind, OutboundMessage
from tests.flows.test_conversation import chat, clinic, onboard_parent  # noqa: F401

# ruff: noqa: F811  (the fixtures imported from test_conversation)


@pytest.fixture
def approving(session, clinic):
    session.get(ClinicPolicy, clinic.id).approve_chat_bookings = True
    session.commit()
    return clinic


def test_a_chat_booking_is_sent_as_a_request_and_listed_awaiting_confirmation(
    chat, session, approving
):
    onboard_parent(chat)
    sent = chat.script("1", "1")  # speech, the first time offered: today 11:15
    assert "✅ Booked!" not in sent
    assert "Your request for Speech Therapy Session for Aarav" in sent
    assert "is sent to Roshni Clinic; we'll message you when they confirm." in sent
    appointment = session.scalar(select(Appointment))
    assert appointment.status is AppointmentStatus.REQUESTED
    assert not session.scalar(
        select(OutboundMessage).where(OutboundMessage.kind == MessageKind.REMINDER)
    )
    listing = chat.say("my appointments")
    assert f"Speech Therapy Session for Aarav ({appointment.number}) · awaiting confirmation" in (
        listing
    )


def test_the_patient_withdraws_a_request_inside_the_window_without_a_fee(chat, session, approving):
    onboard_parent(chat)
    chat.script("1", "1")  # today 11:15: inside the 24-hour cancellation window
    chat.script("my appointments", "1")
    asked = chat.say("cancel")
    assert "stays booked and is charged" not in asked
    assert "is cancelled" in chat.say("1")
    assert session.scalar(select(Appointment)).status is AppointmentStatus.CANCELLED
