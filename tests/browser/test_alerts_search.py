"""The menu's badge counts a chat waiting for a person, refreshes itself, and leads to the
chat; "/" jumps to the top bar's search, which finds the patient by part of a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from core.clock import utcnow
from tests.browser.conftest import log_in, screenshot
from tests.chat import Chat

pytestmark = pytest.mark.browser


def chats_badge(page) -> int:
    badge = page.locator('#panel-menu .alert-badge[data-alert-for="conversations"]')
    return int(badge.text_content() or 0)


def test_the_badge_shows_a_waiting_chat_and_opens_it_and_slash_searches(
    page, db_session, roshni, make_patient
):
    patient = make_patient("Kabir", guardian="Lalita Badge", phone="+919812300077")
    page.clock.install()  # the badge polls every 20 s: fast-forwarded below, not waited for
    log_in(page)
    before = chats_badge(page)
    title = page.title()

    chat = Chat(db_session, roshni.clinic, phone=patient.contact.phone, now=utcnow())
    chat.step = timedelta(seconds=1)
    chat.say("talk")  # the patient asks for a person while the page is open

    page.clock.fast_forward(21_000)
    badge = page.locator('#panel-menu .alert-badge[data-alert-for="conversations"]')
    badge.filter(has_text=str(before + 1)).wait_for(state="attached")  # in the People menu
    people = page.locator("#panel-menu .dropdown-toggle", has_text="People")
    assert people.locator(".alert-badge").is_visible()  # what shows with the menu closed
    assert re.match(r"^\(\d+\) ", page.title()) and page.title().endswith(title)
    screenshot(page, "alerts_1_badge")

    # From the badge (People ▸ Conversations) to the waiting chat.
    people.click()
    page.locator("#panel-menu a.dropdown-item", has_text="Conversations").click()
    page.locator("#waiting-conversations tr", has_text="Lalita Badge").get_by_role(
        "link", name="Open"
    ).click()
    page.locator("#transcript", has_text="talk").wait_for()
    # The shortcuts listen once the page's scripts have run: a key pressed while the page
    # is still loading would go unheard.
    page.wait_for_load_state("load")

    # "?" lists the shortcuts; "g m" (typed outside any box) comes back to the chats.
    page.locator("body").press("?")
    # Bootstrap opens the panel once its backdrop has faded in: on a busy machine the
    # browser may skip the transition's end event, and Bootstrap's fallback timer runs on
    # the installed clock.
    page.clock.run_for(1_000)
    help_panel = page.locator("#shortcuts-help")
    help_panel.get_by_text("Conversations").wait_for()
    help_panel.get_by_role("button", name="Close").click()
    page.clock.run_for(1_000)  # Bootstrap's fade-out runs on the (installed) clock
    help_panel.wait_for(state="hidden")
    page.locator("body").press("g")
    page.locator("body").press("m")
    page.wait_for_url("**/admin/conversations/")

    # "/" focuses the search box from anywhere but a text box; part of the phone finds them.
    page.locator("body").press("/")
    box = page.locator("#global-search-q")
    assert box.evaluate("el => el === document.activeElement")
    box.fill("123 00077")
    box.press("Enter")
    results = page.locator("#search-patients")
    results.get_by_role("link", name="Kabir").wait_for()
    assert "Lalita Badge" in page.locator("#search-contacts").inner_text()
    assert "123" not in page.url and "00077" not in page.url
    screenshot(page, "alerts_2_search")
