"""A request made before the contact said who they are, picked up once they have.

"mere bete Aarav ke liye kal shaam speech therapy chahiye" as a first message gets the privacy
notice, not a booking: the booking slots it carried (service, day, time, ...), whether it is
for the writer or a child, and the child's name are kept in the conversation's data as plain
JSON. Onboarding then asks only what is still missing (the writer's name and Aarav's date of
birth, in one question) and goes straight on to the booking instead of the menu.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from flows.dialog import Turn

KEY = "pending"
_TIMES = ("at", "after", "before")


def keep(
    turn: Turn,
    slots: dict[str, Any],
    *,
    for_self: bool = False,
    for_child: bool = False,
    child: str | None = None,
) -> None:
    turn.data[KEY] = {
        "slots": {key: _plain(value) for key, value in slots.items()},
        "for_self": for_self,
        "for_child": for_child or child is not None,
        "child": child,
    }


def say_whom(turn: Turn, *, child: bool) -> None:
    """The consent's answer said who the sessions are for ("Yes, for my child")."""
    kept = turn.data.setdefault(KEY, {})  # no "slots": nothing was asked for yet
    kept["for_child" if child else "for_self"] = True


def whom_known(turn: Turn) -> bool:
    kept = peek(turn)
    return bool(kept.get("for_self") or kept.get("for_child") or kept.get("child"))


def peek(turn: Turn) -> dict[str, Any]:
    """What is kept ({} when nothing is)."""
    return turn.data.get(KEY) or {}


def drop(turn: Turn) -> None:
    turn.data.pop(KEY, None)


def take_slots(turn: Turn) -> dict[str, Any] | None:
    """The kept booking slots, once, with their dates and times restored (None: nothing kept)."""
    kept = turn.data.pop(KEY, None)
    if not kept or "slots" not in kept:
        return None
    restored: dict[str, Any] = {}
    for key, value in kept.get("slots", {}).items():
        if key == "day":
            restored[key] = date.fromisoformat(value)
        elif key in _TIMES:
            restored[key] = time.fromisoformat(value)
        elif key == "days":
            restored[key] = tuple(date.fromisoformat(v) for v in value)
        else:
            restored[key] = value
    return restored


def _plain(value: Any) -> Any:
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
