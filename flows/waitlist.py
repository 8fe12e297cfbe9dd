"""A waitlist offer answered in the chat: "1"/"yes" books the time held for them, "2"/"no"
passes it to the next in line (``services.scheduling.waitlist``). The offer itself went
out from the sweep, which set this state (``services.messaging.conversations``)."""

from __future__ import annotations

from flows.booking_confirm import booked_text
from flows.dialog import Turn, state
from models import WaitlistEntry, WaitlistStatus
from services.errors import ServiceError, SlotUnavailable
from services.scheduling.waitlist import OfferGone, accept_offer, decline_offer


def _entry(turn: Turn) -> WaitlistEntry | None:
    entry = turn.session.get(WaitlistEntry, turn.data.get("waitlist_entry_id") or 0)
    if entry is None or entry.clinic_id != turn.clinic.id:
        return None
    return entry


def ask_offer(turn: Turn) -> str:
    entry = _entry(turn)
    if entry is None or entry.status is not WaitlistStatus.OFFERED:
        return turn.goto("menu")
    return turn.offer(
        turn.say("waitlist_offer_again", when=turn.when(entry.offer_start)),  # type: ignore[arg-type]
        [("yes", turn.say("waitlist_take")), ("no", turn.say("waitlist_pass"))],
    )


def answer_offer(turn: Turn, text: str) -> str:
    entry = _entry(turn)
    if entry is None:
        return turn.goto("menu")
    turn.data["choices"] = [
        ["yes", turn.say("waitlist_take")],
        ["no", turn.say("waitlist_pass")],
    ]
    choice = turn.pick_or_yes_no(text, yes="yes", no="no")
    if choice is None:
        return turn.miss(turn.say("choose_number", count=2))
    turn.data.pop("waitlist_entry_id", None)
    turn.conversation.state = "menu"
    if choice == "no":
        decline_offer(
            turn.session,
            clinic_id=turn.clinic.id,
            entry_id=entry.id,
            now=turn.now,
            actor=turn.actor,
        )
        return turn.say("waitlist_passed")
    try:
        appointment = accept_offer(
            turn.session,
            clinic_id=turn.clinic.id,
            entry_id=entry.id,
            now=turn.now,
            actor=turn.actor,
        )
    except OfferGone:
        return turn.say("waitlist_gone")
    except SlotUnavailable:
        return turn.say("waitlist_taken")
    except ServiceError as exc:
        return f"{turn.refusal(exc)} {turn.say('offer_talk')}"
    return booked_text(turn, appointment)


state("waitlist_offer", ask=ask_offer, answer=answer_offer)
