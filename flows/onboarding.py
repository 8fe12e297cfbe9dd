"""First contact (privacy notice and consent, name, who the sessions are for),
adding family members (several children in one message), keeping a booking after a
pause, and the main menu."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime
from typing import Any

from flows import booking, pending
from flows.booking import continue_with_patient, start_booking
from flows.dialog import Turn, hand_to_staff, state
from flows.language import greeting
from flows.my_appointments import start_my_appointments
from flows.names import (
    child_names,
    greeting_name,
    name_and_date_of_birth,
    person_name,
)
from flows.parsing import parse_date_of_birth
from flows.payment import start_pay_dues
from models import Patient, Relation, Service
from services.audit import Actor
from services.errors import Duplicate, InvalidInput
from services.messaging.catalogue import CONSENT_VERSION
from services.people import patients

# --- consent ---------------------------------------------------------------------------


def ask_consent(turn: Turn) -> str:
    """The privacy notice; its yes also says who the sessions are for, unless the first
    message said so or the number is known already (one tap fewer for a new guardian)."""
    if pending.whom_known(turn) or turn.contact is not None:
        yes = [("yes", turn.say("consent_yes"))]
    else:
        yes = [("child", turn.say("consent_yes_child")), ("self", turn.say("consent_yes_self"))]
    return turn.offer(
        f"{greeting(turn)} {turn.say('privacy')}", [*yes, ("no", turn.say("consent_no"))]
    )


def answer_consent(turn: Turn, text: str) -> str:
    choice = turn.pick_or_yes_no(text, yes="yes", no="no")
    if choice == "no":
        pending.drop(turn)
        turn.conversation.state = "new"
        phone = turn.clinic.phone or turn.clinic.name
        return turn.say("consent_declined", clinic_phone=phone)
    if choice in ("child", "self"):
        pending.say_whom(turn, child=choice == "child")
    elif choice != "yes":
        return turn.miss(turn.say("choose_number", count=turn.choice_count()))
    # Staff may have added this number since the chat began: find it before creating.
    contact = turn.contact or patients.find_contact(
        turn.session, turn.clinic.id, turn.conversation.phone
    )
    if contact is None:  # the usual first contact: created with the consent just given
        contact = patients.create_contact(
            turn.session,
            clinic_id=turn.clinic.id,
            phone=turn.conversation.phone,
            actor=Actor.system(),
            already_normalised=True,
            consent=(CONSENT_VERSION, turn.now),
            language=turn.data.get("lang"),
        )
        turn.conversation.contact = contact
    else:  # known already (staff added them, or they once said STOP)
        turn.conversation.contact = contact
        patients.record_consent(
            turn.session,
            clinic_id=turn.clinic.id,
            contact_id=contact.id,
            version=CONSENT_VERSION,
            now=turn.now,
            actor=Actor.contact(contact.id),
        )
    if contact.name:
        return _after_name(turn)
    child = pending.peek(turn).get("child")
    if child and not patients.active_patients(turn.session, contact):
        # Named in the first message: their date of birth is asked with the writer's name.
        turn.data["new_patient"] = {"relation": Relation.CHILD.value, "name": child}
    return turn.goto("ask_name")


state("consent", ask=ask_consent, answer=answer_consent)


# --- the contact's name and the first patient ----------------------------------------------


def answer_name(turn: Turn, text: str) -> str:
    """Their name; with a child already named (from the first message) the child's date of
    birth may come in the same reply: "Asha Verma, 12/03/2019"."""
    contact = turn.contact
    assert contact is not None
    pending = turn.data.get("new_patient") or {}
    parsed, born = person_name(text), None
    if parsed is None and pending.get("name"):
        both = name_and_date_of_birth(text, turn.now.date(), date_order=turn.date_order)
        if both is not None:
            parsed, born = person_name(both[0]), both[1]
    if parsed is None:
        return turn.miss(turn.say("bad_name"))
    try:
        patients.update_contact(turn.session, contact=contact, name=parsed.stored, actor=turn.actor)
    except InvalidInput:
        return turn.miss(turn.say("bad_name"))
    if born is not None:
        return _register(turn, born)
    return _after_name(turn)


def _after_name(turn: Turn) -> str:
    """Who the sessions are for, unless the first message said so already."""
    if turn.family():
        return _onward(turn)
    kept = pending.peek(turn)
    new = turn.data.get("new_patient") or {}
    if new.get("name"):  # named in the first message; the date of birth did not come yet
        return turn.goto("patient_dob")
    if kept.get("for_child"):
        turn.data["new_patient"] = {"relation": Relation.CHILD.value}
        name = greeting_name(turn.contact.name if turn.contact else None)
        return f"{turn.say('nice_to_meet', name=name)} {turn.goto('patient_name')}"
    if kept.get("for_self"):
        return _register_self(turn)
    return turn.goto("ask_for_whom")


def ask_name(turn: Turn) -> str:
    child = (turn.data.get("new_patient") or {}).get("name")
    return turn.say("ask_name_and_dob", name=child) if child else turn.say("ask_name")


state("ask_name", ask=ask_name, answer=answer_name)


def ask_for_whom(turn: Turn) -> str:
    name = greeting_name(turn.contact.name if turn.contact else None)
    return turn.offer(
        turn.say("ask_for_whom", name=name),
        [("self", turn.say("for_self")), ("child", turn.say("for_child"))],
    )


def answer_for_whom(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice == "self":
        return _register_self(turn)
    if choice == "child":
        turn.data["new_patient"] = {"relation": Relation.CHILD.value}
        return turn.goto("patient_name")
    return turn.miss(turn.say("choose_number", count=2))


state("ask_for_whom", ask=ask_for_whom, answer=answer_for_whom)


# --- adding a child or another family member ---------------------------------------------


def ask_family_relation(turn: Turn) -> str:
    return turn.offer(
        turn.say("ask_patient"),
        [("child", turn.say("for_child")), ("other", turn.say("for_other"))],
    )


def answer_family_relation(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice not in ("child", "other"):
        return turn.miss(turn.say("choose_number", count=2))
    turn.data["new_patient"] = {"relation": choice}
    return turn.goto("patient_name")


state("family_relation", ask=ask_family_relation, answer=answer_family_relation)


def ask_patient_name(turn: Turn) -> str:
    relation = turn.data.get("new_patient", {}).get("relation")
    return turn.say("ask_child_name" if relation == Relation.CHILD.value else "ask_other_name")


def answer_patient_name(turn: Turn, text: str) -> str:
    """One name ("Aarav"), several ("Aarav and Anaya": each date of birth is asked in
    turn), or a name with its date of birth ("Asha Verma, 12/03/2019")."""
    new = turn.data.setdefault("new_patient", {})
    both = name_and_date_of_birth(text, turn.now.date(), date_order=turn.date_order)
    if both is not None:
        new["name"] = both[0]
        return _register(turn, both[1])
    names = child_names(text)
    if not names and (parsed := person_name(text)) is not None:
        names = [parsed.stored]
    if not names:
        return turn.miss(turn.say("bad_child_name"))
    new["name"], new["queue"] = names[0], names[1:]
    return turn.goto("patient_dob")


state("patient_name", ask=ask_patient_name, answer=answer_patient_name)


def answer_patient_dob(turn: Turn, text: str) -> str:
    born = parse_date_of_birth(text, turn.now.date(), date_order=turn.date_order)
    if born is None:
        return turn.miss(turn.say("bad_dob"))
    return _register(turn, born)


def _register(turn: Turn, born: date) -> str:
    """Register the patient being added; then ask the next child's date of birth, carry
    on with the booking that was waiting for a patient, or show the menu."""
    new = turn.data.get("new_patient") or {}
    contact = turn.contact
    assert contact is not None
    try:
        patient = patients.add_patient(
            turn.session,
            clinic_id=turn.clinic.id,
            contact_id=contact.id,
            name=new.get("name", ""),
            relation=Relation(new.get("relation", Relation.CHILD.value)),
            date_of_birth=born,
            actor=turn.actor,
            today=turn.now.date(),
        )
        turn.forget_family()
        said = turn.say("patient_added", name=patient.name)
        new.setdefault("added", []).append(patient.id)
    except (Duplicate, InvalidInput) as exc:
        said = turn.refusal(exc)
    queue = list(new.get("queue") or [])
    if queue:
        new["name"], new["queue"] = queue[0], queue[1:]
        turn.data["new_patient"] = new
        return f"{said}\n{turn.goto('patient_dob')}"
    turn.data.pop("new_patient", None)
    added = new.get("added") or []
    waiting = turn.data.get("booking")
    if added and waiting is not None and waiting.get("awaiting_patient"):
        return f"{said}\n" + continue_with_patient(turn, added[0])
    first = bool(added) and len(turn.family()) == len(added)
    return f"{said}\n{_onward(turn, first=first)}"


def _register_self(turn: Turn) -> str:
    contact = turn.contact
    assert contact is not None and contact.name
    with suppress(Duplicate):  # already registered: carry on
        patients.add_patient(
            turn.session,
            clinic_id=turn.clinic.id,
            contact_id=contact.id,
            name=contact.name,
            relation=Relation.SELF,
            actor=turn.actor,
            today=turn.now.date(),
        )
    turn.forget_family()
    return _onward(turn, first=True)


def _onward(turn: Turn, *, first: bool = False) -> str:
    """After onboarding: the booking a first message asked for; after a first registration
    the booking itself (what nearly every new contact came for, *menu* for the rest); else
    the menu."""
    slots = pending.take_slots(turn)
    if slots is not None:
        return start_booking(turn, **slots)
    if first:
        return f"{turn.say('first_booking')}\n{start_booking(turn)}"
    return turn.goto("menu")


state(
    "patient_dob",
    ask=lambda turn: turn.say("ask_dob", name=turn.data.get("new_patient", {}).get("name", "")),
    answer=answer_patient_dob,
)


# --- main menu -----------------------------------------------------------------------------


def menu_options(turn: Turn) -> list[tuple[str, str]]:
    return [
        ("book", turn.say("menu_book")),
        ("mine", turn.say("menu_mine")),
        ("family", turn.say("menu_family")),
        ("talk", turn.say("menu_talk")),
        ("pay", turn.say("menu_pay")),
    ]


def ask_menu(turn: Turn) -> str:
    return turn.offer(turn.say("menu"), menu_options(turn))


def answer_menu(turn: Turn, text: str) -> str:
    # The menu's numbers mean the same whether or not the menu was just shown
    # (after "✅ Booked!" the patient may type "2" straight away).
    turn.data["choices"] = [[value, label] for value, label in menu_options(turn)]
    choice = turn.pick(text)
    if choice is None:
        word = text.casefold()
        if "book" in word or ("appointment" in word and "my" not in word):
            choice = "book"
        elif "cancel" in word or "reschedule" in word or "my" in word:
            choice = "mine"
        elif "pay" in word or "dues" in word or "bill" in word:
            choice = "pay"
    if choice == "book":
        return start_booking(turn)
    if choice == "mine":
        return start_my_appointments(turn)
    if choice == "family":
        return turn.goto("family_relation")
    if choice == "talk":
        return hand_to_staff(turn)
    if choice == "pay":
        return start_pay_dues(turn)
    return turn.miss(turn.say("choose_number", count=5))


state("menu", ask=ask_menu, answer=answer_menu)
state(
    "new",
    ask=ask_consent,
    answer=lambda turn, text: turn.goto("consent"),
)
state("handoff", ask=lambda turn: turn.say("handoff"), answer=lambda t, x: t.goto("menu"))


# --- a booking left at "Please confirm" for a while ----------------------------------------

_KEEP_NEEDS = ("service_id", "patient_id", "start", "slot_therapist")


def keep_waiting_booking(turn: Turn) -> str | None:
    """After a pause, a booking waiting only for its confirmation is offered again
    (None when there is none: the caller restarts as usual)."""
    waiting = turn.data.get("booking") or {}
    if turn.conversation.state not in ("book_confirm", "book_keep"):
        return None
    if not all(waiting.get(key) is not None for key in _KEEP_NEEDS):
        return None
    if datetime.fromisoformat(waiting["start"]) <= turn.now:
        return None  # its time has passed: nothing left to keep
    return turn.goto("book_keep")


def ask_keep(turn: Turn) -> str:
    waiting = booking.booking(turn)
    service = turn.session.get(Service, waiting["service_id"])
    patient = turn.session.get(Patient, waiting["patient_id"])
    when = turn.when(datetime.fromisoformat(waiting["start"]))
    question = turn.say(
        "keep_booking",
        service=service.name if service else "",
        patient=patient.name if patient else "",
        when=when,
    )
    options: list[tuple[Any, str]] = [
        ("yes", turn.say("keep_booking_yes")),
        ("no", turn.say("keep_booking_no")),
    ]
    return turn.offer(question, options)


def answer_keep(turn: Turn, text: str) -> str:
    choice = turn.pick_or_yes_no(text, yes="yes", no="no")
    if choice == "yes":
        # The booking flow's own confirm step books it, checking the time is still free.
        turn.conversation.state = "book_confirm"
        booking.ask_confirm(turn)
        return booking.answer_confirm(turn, "1")
    if choice == "no":
        turn.data.pop("booking", None)
        return f"{turn.say('booking_dropped')}\n{turn.goto('menu')}"
    return turn.miss(turn.say("choose_number", count=2))


state("book_keep", ask=ask_keep, answer=answer_keep)
