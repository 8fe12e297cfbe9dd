"""The waitlist in the chat (``services.scheduling.waitlist``).

Joining: when the booking form finds no free time at all, it offers the waitlist for
that service (and therapist, if one was chosen) instead of a dead end. Answering an
offer: "1"/"yes" books the time held for them, "2"/"no" passes it to the next in line.
The offer itself went out from the sweep, which set the "waitlist_offer" state
(``services.messaging.conversations``)."""

from __future__ import annotations

from flows.booking_confirm import booked_text
from flows.booking_when import booking, join, no_days
from flows.dialog import Turn, state
from models import Patient, Service, WaitlistEntry, WaitlistStatus
from services.errors import ServiceError, SlotUnavailable
from services.scheduling.waitlist import (
    OfferGone,
    accept_offer,
    decline_offer,
    join_waitlist,
)


def ask_join(turn: Turn) -> str:
    patient = turn.session.get(Patient, booking(turn).get("patient_id") or 0)
    if patient is None:
        return turn.goto("menu")
    return turn.offer(
        join(no_days(turn), turn.say("waitlist_ask_join", patient=patient.name)),
        [("join", turn.say("waitlist_join")), ("menu", turn.say("waitlist_no_join"))],
    )


def answer_join(turn: Turn, text: str) -> str:
    choice = turn.pick_or_yes_no(text, yes="join", no="menu")
    if choice is None:
        return turn.miss(turn.say("choose_number", count=2))
    data = turn.data.pop("booking", {})
    if choice == "menu":
        return turn.goto("menu")
    try:
        entry = join_waitlist(
            turn.session,
            clinic_id=turn.clinic.id,
            patient_id=data["patient_id"],
            service_id=data["service_id"],
            therapist_id=data.get("therapist_id"),
            now=turn.now,
            actor=turn.actor,
        )
    except ServiceError as exc:
        return f"{turn.refusal(exc)}\n{turn.goto('menu')}"
    turn.conversation.state = "menu"
    service = turn.session.get(Service, entry.service_id)
    return turn.say(
        "waitlist_joined",
        patient=entry.patient.name,
        service=service.name if service else "",
        minutes=turn.clinic.policy.waitlist_hold_minutes,
    )


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


state("book_waitlist", ask=ask_join, answer=answer_join)
state("waitlist_offer", ask=ask_offer, answer=answer_offer)
