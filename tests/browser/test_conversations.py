"""A patient asks for a person; staff answer from the queue and hand the chat back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import utcnow
from tests.browser.conftest import log_in, screenshot
from tests.chat import Chat

pytestmark = pytest.mark.browser


def test_staff_answer_a_handoff_from_the_queue_then_hand_it_back(
    page, db_session, roshni, make_patient
):
    patient = make_patient("Vihaan", guardian="Sunita Rao")
    chat = Chat(db_session, roshni.clinic, phone=patient.contact.phone, now=utcnow())
    chat.step = timedelta(seconds=1)
    chat.say("talk")  # the real engine, as a WhatsApp message would arrive

    log_in(page)
    page.goto("/admin/conversations/")
    waiting = page.locator("#waiting-conversations tr", has_text="Sunita Rao")
    screenshot(page, "conversations_1_queue")
    waiting.get_by_role("link", name="Open").click()

    assert page.locator("#transcript", has_text="talk").is_visible()
    assert "Waiting for a person" in page.locator("#conversation-state").inner_text()
    assert page.locator("#reply-rules").get_attribute("data-free-form") == "yes"
    page.locator("#reply-text").fill("Hello Sunita, this is the front desk. How can we help?")
    screenshot(page, "conversations_2_transcript")
    page.get_by_role("button", name="Send reply").click()

    reply = page.locator("#transcript .message", has_text="this is the front desk")
    reply.wait_for()
    assert reply.get_attribute("data-status") in {"queued", "sending", "sent"}
    screenshot(page, "conversations_3_replied")

    page.get_by_role("button", name="Hand back to the bot").click()
    page.locator("#conversation-state", has_text="Bot").wait_for()
    assert not page.get_by_role("button", name="Hand back to the bot").count()
    screenshot(page, "conversations_4_handed_back")
