"""What an understood message does before the current question sees it.

Every inbound text is read once by ``flows.understanding`` (an intent and its entities). Most
messages are answers to the question just asked (a number, yes or no, a name, a date): those go
to the current state as before. The others change course wherever the chat is:

* a question ("what's the fee?", "open on Sunday?") is answered from the clinic's data
  (``flows.answers``) and the form resumes where it was; a question with no answer goes to
  staff, and the patient is told so;
* "book OT for Aarav tomorrow at 11", "cancel Anaya's Tuesday session", "my appointments" and
  "pay" start (or fill) their form with everything the message carried;
* "running late" is passed to staff; "thank you 🙏" gets a kind word;
* a request made before consent ("mere bete ke liye kal speech therapy chahiye" as a first
  message) is kept and picked up once the contact has said who they are.

``route`` returns the reply, or None when the current state should answer.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows import booking, my_appointments, payment, pending
from flows.answers import answer_for_turn
from flows.dialog import STATES, Turn, hand_to_staff
from flows.parsing import parse_number
from flows.understanding import Named, Therapist, Understanding, Vocabulary, understand
from flows.understanding.lexicon import is_known
from models import Service
from models import Therapist as TherapistRow
from services.clinics import settings_cache

# Intents that start a form of their own, wherever the chat is.
FORMS = frozenset({"book", "cancel", "reschedule", "my_appointments", "pay"})
# Before the contact has said who they are, a request is kept for later (``keep_pending``).
ONBOARDING_STATES = frozenset(
    {"new", "consent", "ask_name", "ask_for_whom", "family_relation", "patient_name", "patient_dob"}
)


def vocabulary_for(turn: Turn) -> Vocabulary:
    """The clinic's bookable services (with the other names it gave them) and therapists,
    and the contact's own patients."""
    clinic_id = turn.clinic.id
    services, therapists = settings_cache.cached(
        turn.session, ("vocabulary", clinic_id), lambda: _catalogue_names(turn.session, clinic_id)
    )
    family = turn.family()
    return Vocabulary(
        services=services,
        therapists=therapists,
        patients=tuple(Named(id=p.id, name=p.name) for p in family),
        date_order=turn.date_order,
    )


def _catalogue_names(
    session: Session, clinic_id: int
) -> tuple[tuple[Named, ...], tuple[Therapist, ...]]:
    services = session.execute(
        select(Service.id, Service.name, Service.aliases).where(
            Service.clinic_id == clinic_id, Service.active.is_(True)
        )
    ).all()
    therapists = session.execute(
        select(TherapistRow.id, TherapistRow.name, TherapistRow.gender).where(
            TherapistRow.clinic_id == clinic_id, TherapistRow.active.is_(True)
        )
    ).all()
    return (
        tuple(
            Named(id=row.id, name=row.name, aliases=tuple(row.aliases or ())) for row in services
        ),
        tuple(Therapist(id=r.id, name=r.name, gender=r.gender) for r in therapists),
    )


def understanding_for(turn: Turn, text: str) -> Understanding:
    """The message understood. A bare number ("2", "two") names no service, therapist or
    patient: it is read without the clinic's vocabulary, so the commonest turn costs no
    queries here."""
    if parse_number(text) is not None:
        return understand(text, vocabulary=Vocabulary(date_order=turn.date_order), now=turn.now)
    return understand(text, vocabulary=vocabulary_for(turn), now=turn.now)


def route(turn: Turn, understood: Understanding, text: str) -> str | None:
    """The reply when the message changes course; None when the current state answers."""
    intent = understood.intent
    state = turn.conversation.state
    if intent == "question":
        return _answer(turn, understood, text)
    if intent == "running_late":
        hand_to_staff(turn)
        return turn.say("late_noted")
    if intent == "thanks" and understood.whole and state not in ONBOARDING_STATES:
        # (while a name is asked, "Dhanya" or "Meherbano" is a name, not a thank-you)
        return _resume(turn, turn.say("thanks_reply"))
    if intent not in FORMS or understood.choice is not None:
        return None
    if state in ONBOARDING_STATES:
        keep_pending(turn, understood, text)
        return None
    if intent == "book":
        slots = booking_slots(understood)
        if state.startswith("book_"):  # a step of the booking form: the message fills it
            return booking.fill_booking(turn, **slots)
        return booking.start_booking(turn, **slots)
    if intent != "pay" and not state.startswith("my_") and state != "reminder":
        turn.data.pop("booking", None)
        return my_appointments.start_my_appointments(turn, **change_slots(understood))
    if intent == "pay" and state != "pay_dues":
        turn.data.pop("booking", None)
        return payment.start_pay_dues(turn)
    return None


def booking_slots(understood: Understanding) -> dict[str, Any]:
    """The booking form's slots the message fills (flows.booking.start_booking's keywords)."""
    when = understood.when
    slots: dict[str, Any] = {
        "service_id": _only(understood.service_ids),
        "patient_id": _only(understood.patient_ids),
        "therapist_id": _only(understood.therapist_ids),
        "therapist_gender": understood.therapist_gender,
        "day": when.date if when else None,
        "at": when.time if when else None,
        "part": when.part if when else None,
        "after": understood.after,
        "before": understood.before,
        "earliest": understood.earliest,
        "days": understood.days,
        "repeat": understood.repeat.to_data() if understood.repeat else None,
    }
    return {key: value for key, value in slots.items() if value not in (None, False, ())}


def change_slots(understood: Understanding) -> dict[str, Any]:
    """Which session a cancel/reschedule/my-appointments message names."""
    intent = understood.intent
    slots: dict[str, Any] = {
        "intent": None if intent == "my_appointments" else intent,
        "patient_id": _only(understood.patient_ids),
        "day": understood.when.date if understood.when else None,
        "reference": understood.reference,
    }
    return {key: value for key, value in slots.items() if value is not None}


def _only(ids: tuple[int, ...]) -> int | None:
    return ids[0] if len(ids) == 1 else None


def _answer(turn: Turn, understood: Understanding, text: str) -> str:
    when = understood.when
    found = answer_for_turn(
        turn,
        understood.topic,
        service_id=_only(understood.service_ids),
        therapist_gender=understood.therapist_gender,
        day=when.date if when else None,
        text=text,
    )
    if found is None:  # passed on, with who will answer and roughly when
        return f"{turn.say('question_to_staff')} {hand_to_staff(turn)}"
    if found.notify_staff:
        return f"{found.text}\n\n{turn.say('question_to_staff')} {hand_to_staff(turn)}"
    return _resume(turn, found.text)


def _resume(turn: Turn, reply: str) -> str:
    """The reply, then the question the chat was on, so nothing is lost."""
    handler = STATES.get(turn.conversation.state)
    if handler is None or turn.conversation.state in ("new", "handoff"):
        return reply
    return f"{reply}\n\n{handler.ask(turn)}"


# --- a request made before consent ------------------------------------------------------------

# "my son Aarav", "mere bete Aarav", "मेरे बेटे आरव": a child named in a first message.
_CHILD = re.compile(
    r"(?:\b(?:my|our)\s+(?:little\s+)?(?:son|daughter|child|kid|boy|girl)"
    r"|\b(?:mere|meri|hamare|hamari|mera)\s+(?:bete|beti|beta|bachche|bacche|bachchi)"
    r"|(?:मेरे|मेरी|हमारे|हमारी)\s+(?:बेटे|बेटी|बच्चे|बच्ची))"
    r"\s+(?P<name>[^\W\d_]{2,30})",
    re.IGNORECASE,
)


def keep_pending(turn: Turn, understood: Understanding, text: str) -> None:
    """Remember what a first message asked for, to pick it up after onboarding."""
    if understood.intent != "book":
        return
    pending.keep(
        turn,
        booking_slots(understood),
        for_self=understood.for_self,
        for_child=understood.for_child,
        child=_child_named(text),
    )


def _child_named(text: str) -> str | None:
    """The name after "my son"/"mere bete"/"मेरे बेटे", when it is one: a Latin name must be
    written with a capital ("my son needs ..." names nobody) and no word the lexicon knows."""
    match = _CHILD.search(text)
    if match is None:
        return None
    name = match.group("name")
    if is_known(name.casefold()) or (name.isascii() and not name[0].isupper()):
        return None
    return name
