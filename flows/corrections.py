"""Corrections said at any point of a chat: "my name is …", "change Aarav's date of
birth", "Aarav's date of birth is 12/03/2019".

The engine asks ``read_correction`` before the current state's answer; the
understanding layer may call ``correct_name`` and ``start_dob_change`` directly.
Every change goes through ``services.people.patients`` (audited); afterwards the chat
goes back to the question it was at.
"""

from __future__ import annotations

import re
from datetime import date

from flows.dialog import STATES, Turn, state
from flows.names import ParsedName, mentioned, person_name
from flows.parsing import parse_date_of_birth
from models import Patient
from services.errors import InvalidInput
from services.people import patients

# States where a name or a date of birth is the expected answer, not a correction.
NAME_STATES = frozenset({"new", "consent", "ask_name", "patient_name", "patient_dob", "dob_change"})
_DOB_WORDS = re.compile(r"date of birth|\bdob\b|birth ?date|birthday|\bjanam|जन्म", re.IGNORECASE)
_CHANGE_WORDS = re.compile(
    r"\b(?:change|correct|update|fix|wrong|galat|badal\w*|badlo|sahi)\b|बदल|गलत|सही",
    re.IGNORECASE,
)
DATE_WINDOW = 4  # a date of birth is at most this many words ("12th of March 2019")


def read_correction(turn: Turn, text: str) -> str | None:
    """The reply to a correction said in the middle of anything else, or None when the
    message is not one. The engine asks this before the current state's answer."""
    contact = turn.contact
    if contact is None or turn.conversation.state in NAME_STATES:
        return None
    if _DOB_WORDS.search(text):
        patient = _named_patient(turn, text)
        if patient is None:
            return None
        born = _date_of_birth_in(turn, text)
        if born is not None:
            return _set_date_of_birth(turn, patient, born) + _resume(turn)
        # A change asked for, or a date we could not take (a typo, a future date): ask.
        if _CHANGE_WORDS.search(text) or any(ch.isdigit() for ch in text):
            return start_dob_change(turn, patient.id)
        return None
    parsed = person_name(text)
    if parsed is not None and parsed.explicit and contact.name:
        return correct_name(turn, parsed)
    return None


def correct_name(turn: Turn, parsed: ParsedName) -> str:
    """ "my name is …" from a contact who has a name: update it (audited), confirm, and
    ask again whatever was being asked."""
    contact = turn.contact
    assert contact is not None
    try:
        patients.update_contact(turn.session, contact=contact, name=parsed.stored, actor=turn.actor)
    except InvalidInput:
        return turn.miss(turn.say("bad_name"))
    return turn.say("name_updated", name=parsed.greeting) + _resume(turn)


def start_dob_change(turn: Turn, patient_id: int) -> str:
    """Ask for a patient's correct date of birth; afterwards the chat goes back to where it was."""
    previous = turn.conversation.state
    turn.data["dob_change"] = {"patient_id": patient_id, "resume": previous}
    return turn.goto("dob_change")


def _dob_patient(turn: Turn) -> Patient | None:
    wanted = (turn.data.get("dob_change") or {}).get("patient_id")
    contact = turn.contact
    if contact is None:
        return None
    return next(
        (p for p in patients.active_patients(turn.session, contact) if p.id == wanted), None
    )


def ask_dob_change(turn: Turn) -> str:
    patient = _dob_patient(turn)
    if patient is None:
        turn.data.pop("dob_change", None)
        return turn.goto("menu")
    return turn.say("ask_new_dob", name=patient.name)


def answer_dob_change(turn: Turn, text: str) -> str:
    patient = _dob_patient(turn)
    if patient is None:
        turn.data.pop("dob_change", None)
        return turn.goto("menu")
    born = parse_date_of_birth(text, turn.now.date(), date_order=turn.date_order)
    if born is None:
        return turn.miss(turn.say("bad_dob"))
    said = _set_date_of_birth(turn, patient, born)
    resume = (turn.data.pop("dob_change", None) or {}).get("resume")
    back = resume if resume in STATES and resume not in NAME_STATES else "menu"
    return f"{said}\n{turn.goto(back)}"


state("dob_change", ask=ask_dob_change, answer=answer_dob_change)


def _set_date_of_birth(turn: Turn, patient: Patient, born: date) -> str:
    try:
        patients.correct_date_of_birth(
            turn.session,
            patient=patient,
            date_of_birth=born,
            today=turn.now.date(),
            actor=turn.actor,
        )
    except InvalidInput as exc:
        return turn.refusal(exc)
    shown = born.strftime("%m/%d/%Y" if turn.date_order == "MDY" else "%d/%m/%Y")
    return turn.say("dob_updated", name=patient.name, date=shown)


def _named_patient(turn: Turn, text: str) -> Patient | None:
    """The one patient of this contact the text names (by full or first name)."""
    contact = turn.contact
    assert contact is not None
    family = patients.active_patients(turn.session, contact)
    found = mentioned(text, [p.name for p in family])
    return family[found[0]] if len(found) == 1 else None


def _date_of_birth_in(turn: Turn, text: str) -> date | None:
    tokens = text.split()
    for size in range(DATE_WINDOW, 0, -1):
        for first in range(len(tokens) - size + 1):
            part = " ".join(tokens[first : first + size])
            born = parse_date_of_birth(part, turn.now.date(), date_order=turn.date_order)
            if born is not None:
                return born
    return None


def _resume(turn: Turn) -> str:
    """Ask again what was being asked, on a new line ("" when nothing was)."""
    handler = STATES.get(turn.conversation.state)
    return f"\n{handler.ask(turn)}" if handler is not None else ""
