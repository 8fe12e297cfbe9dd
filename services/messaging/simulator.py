"""The chat simulator's test contacts, and the rule that their messages never leave.

Staff try the real flows in the panel as a test contact of their clinic. The test
contact's number is a fictional one: NANP reserves 555-0100 to 555-0199 in every
area code for fiction (films, books, demos), so no real patient can have it, yet
``phonenumbers`` accepts it as a valid mobile-capable number, so every code path
that formats or checks phones treats it like any other. ``services.messaging.delivery``
never hands a message for such a number to a provider: the simulator shows it
(``delivery.deliver_due_to_simulator`` settles them at once).
"""

from __future__ import annotations

import re

# Area codes (all valid for phonenumbers) for a staff user's test contacts 1, 2, 3…
AREA_CODES = ("201", "202", "203", "205", "206", "207", "208", "209", "210", "212")
TEST_CONTACTS = len(AREA_CODES)
_FICTIONAL = re.compile(r"^\+1[2-9]\d\d55501\d\d$")

# How an outbox row for a simulator contact ends: never sent, shown in the simulator.
SIMULATED = "simulator"
SIMULATED_REASON = "simulator contact: shown in the chat simulator, never sent to a provider"


def simulator_phone(staff_user_id: int, slot: int = 1) -> str:
    """Test contact ``slot`` (1…10) of a staff user, e.g. ``+12015550107``.

    Staff users whose ids differ by a multiple of 100 share their test contacts;
    harmless, since nothing a test contact does reaches anyone.
    """
    if not 1 <= slot <= TEST_CONTACTS:
        raise ValueError(f"slot must be 1 to {TEST_CONTACTS}")
    return f"+1{AREA_CODES[slot - 1]}55501{staff_user_id % 100:02d}"


def is_simulator_phone(phone: str | None) -> bool:
    return bool(phone) and _FICTIONAL.match(phone or "") is not None
