"""A service's refusal reaches the patient in their own language (issue 12: booking and
registration refusals were English in Hindi chats)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Clinic, Patient
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.errors import (
    BeyondHorizon,
    Duplicate,
    InThePast,
    InvalidInput,
    OutsideHours,
    SlotTaken,
    TooLateToCancel,
    TooLateToReschedule,
    TooSoon,
)
from services.messaging.catalogue import refusal
from tests.chat import Chat
from tests.conftest import NOW

# Every refusal the chat can meet, with the params its raise gives.
REFUSALS = [
    SlotTaken(),
    OutsideHours(),
    TooSoon(hours=2),
    InThePast(),
    BeyondHorizon(days=60),
    TooLateToCancel(hours=24),
    TooLateToReschedule(hours=24),
    Duplicate(
        detail="Aarav is already registered with this number.",
        code="already_registered",
        name="Aarav",
    ),
    InvalidInput(detail="The date of birth cannot be in the future.", code="born_in_future"),
]


@pytest.mark.parametrize("error", REFUSALS, ids=lambda e: e.code)
def test_each_refusal_reads_the_same_in_english_and_has_a_hindi_sentence(error):
    assert refusal("en", error) == error.message  # the panel's sentence and the chat's agree
    hindi = refusal("hi", error)
    assert hindi != error.message
    assert any("\u0900" <= ch <= "\u097f" for ch in hindi)
    for value in error.params.values():
        if isinstance(value, int):
            assert str(value) in hindi


def test_a_refusal_without_a_sentence_of_its_own_falls_back_to_the_english_one():
    error = InvalidInput(detail="Give the key secret that belongs to this key id.")
    assert refusal("hi", error) == error.message


@pytest.fixture
def clinic(session) -> Clinic:
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == DEMO_CLINICS[0].slug))


def test_a_child_registered_twice_is_refused_in_hindi_in_a_hindi_chat(session, clinic):
    chat = Chat(session, clinic, now=NOW)
    chat.script("नमस्ते", "1", "आशा वर्मा", "Aarav, 12/03/2019", "menu")
    assert "आप क्या करना चाहेंगे?" in chat.last
    chat.script("3", "1")  # add a family member: a child
    reply = chat.say("Aarav, 12/03/2019")
    assert reply is not None
    assert "Aarav इस नंबर पर पहले से दर्ज हैं।" in reply
    assert "already registered" not in reply
    assert len(session.scalars(select(Patient)).all()) == 1
