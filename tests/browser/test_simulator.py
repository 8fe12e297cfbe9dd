"""Book through the chat simulator, replying with numbers as a patient would."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

# (what we send, what the bot's answer says): a new contact agrees (for a child),
# registers the child, and books a speech session tomorrow.
SCRIPT = (
    ("hi", "1. Yes, for my child"),
    ("1", "What is your name?"),
    ("Asha Verma", "What is your child's name and date of birth?"),
    ("Aarav", "date of birth"),
    ("12/03/2019", "1. Speech Therapy Session"),  # booking follows registering
    ("1", "Speech Therapy Session for Aarav"),  # one speech therapist: said back, free times
    ("tomorrow", "Free on"),  # the times of that day
    ("1", "Booked!"),  # everything but the time was said: the tap books
)
SHOTS = {1: "simulator_2_consent", 5: "simulator_3_services", 7: "simulator_4_times"}
SHOTS[len(SCRIPT)] = "simulator_5_booked"


def test_a_new_contact_books_a_session_through_the_simulator(page):
    log_in(page)
    page.goto("/admin/simulator/")
    page.get_by_role("heading", name="Chat simulator", level=1).wait_for()
    screenshot(page, "simulator_1_empty")

    bot = page.locator('#simulator-chat .message[data-side="out"] .message-text')
    for step, (text, expected) in enumerate(SCRIPT, start=1):
        answered = bot.count()
        page.locator("#simulator-text").fill(text)
        page.get_by_role("button", name="Send", exact=True).click()
        page.wait_for_function(
            "n => document.querySelectorAll("
            "'#simulator-chat .message[data-side=\"out\"]').length > n",
            arg=answered,
        )
        last = bot.last.inner_text()
        assert expected in last, f"step {step}, after {text!r} the bot said:\n{last}"
        if step in SHOTS:
            screenshot(page, SHOTS[step])
