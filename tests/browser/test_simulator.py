"""Book through the chat simulator, replying with numbers as a patient would."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

# (what we send, what the bot's answer says): a new contact agrees, registers a
# child, and books a speech session with any therapist on the second day offered.
SCRIPT = (
    ("hi", "1. Yes, continue"),
    ("1", "What is your name?"),
    ("Asha Verma", "Who are the sessions for?"),
    ("2", "What is your child's name?"),
    ("Aarav", "date of birth"),
    ("12/03/2019", "1. Book a session"),
    ("1", "1. Speech Therapy Session"),
    ("1", "When would suit you?"),  # one speech therapist: free times straight away
    ("tomorrow", "Free on"),  # the times of that day
    ("1", "Speech Therapy Session for Aarav"),  # the summary to confirm
    ("1", "Booked!"),
)
SHOTS = {1: "simulator_2_consent", 7: "simulator_3_services", 9: "simulator_4_times"}
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
