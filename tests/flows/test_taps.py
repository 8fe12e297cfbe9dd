"""Taps on WhatsApp buttons and list rows, as the engine reads them: an option id of the
menu held now is its number; one from an older menu is told apart; "more…" pages on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flows.dialog import choices_key, option_id, read_option_id
from models import Conversation
from services.messaging.content_templates import MORE_ID
from tests.chat import Chat
from tests.conftest import NOW
from tests.outbox import seed


@pytest.fixture
def clinic(session):
    return seed(session, templates=True)


@pytest.fixture
def chat(session, clinic):
    return Chat(session, clinic, now=NOW)


def current_id(session, number: int) -> str:
    """The id the button or list row ``number`` of the menu held now carries."""
    session.rollback()
    conversation = session.scalar(select(Conversation))
    return option_id(choices_key(conversation.state, conversation.data["choices"]), number)


def test_option_ids_are_read_back_and_nothing_else_is():
    assert read_option_id(option_id("0123456789", 7)) == ("0123456789", 7)
    for other in ("confirm", "7", "c123.1", "more", "", None):
        assert read_option_id(other) is None


def test_a_tap_is_its_number_and_more_pages_through_a_long_menu(
    chat, session, clinic, make_service
):
    for n in range(1, 8):
        make_service(clinic, name=f"Speech Extra {n}")
    session.commit()
    services = chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")
    assert "12. Speech Extra 7" in services
    more = chat.send("More…", payload=current_id(session, 0)).reply  # this list's row
    assert more.startswith("More choices:\n10. Speech Extra 5 — 45 min")
    assert "\n12. Speech Extra 7 — 45 min" in more
    assert "9." not in more
    # Row 11 of the second page: the eleventh service, as if "11" had been typed.
    times = chat.send("Speech Extra 6", payload=current_id(session, 11)).reply
    assert "Speech Extra 6 for Aarav" in times


def test_the_plain_more_id_pages_the_menu_held_now_and_an_older_lists_more_is_stale(
    chat, session, clinic, make_service
):
    for n in range(1, 8):
        make_service(clinic, name=f"Speech Extra {n}")
    session.commit()
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")
    services_more = current_id(session, 0)
    assert chat.send("More…", payload=MORE_ID).reply.startswith("More choices:\n10. ")
    assert chat.send("More…", payload=MORE_ID).reply.startswith("More choices:\n1. ")  # again
    chat.say("1")  # Speech therapy: the times now
    stale = chat.send("More…", payload=services_more).reply
    assert stale.startswith("That choice was from an earlier message.")
    assert "When would suit you?" in stale


def test_a_tap_from_an_older_menu_is_not_read_as_the_current_one(chat, session):
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")
    services_tap = current_id(session, 1)
    assert "When would suit you?" in chat.say("1")  # Speech therapy: now the times
    session.rollback()
    asking = session.scalar(select(Conversation)).state
    stale = chat.send("Speech Therapy Session", payload=services_tap).reply
    assert stale.startswith("That choice was from an earlier message.")
    assert "When would suit you?" in stale
    session.rollback()
    assert session.scalar(select(Conversation)).state == asking
    # Typed numbers keep working exactly as before.
    assert chat.say("1").startswith("✅ Booked!")
