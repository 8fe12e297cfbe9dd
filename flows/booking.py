"""Booking (and rescheduling) by chat, as a form.

``FORM`` below lists the slots in the order they are asked: service, patient,
therapist, when (day and time in one question), in person or online (asked only for
a service given either way: ``flows.booking_delivery``), confirm; for a course ("every
Monday at 5 for 8 weeks") a course step (``flows.booking_course``) takes the place of
the last three. Every entry point (``start_booking``, ``fill_booking``, an answer to any
question) fills what it can and calls ``next_question``, which walks the form: a
filled slot is checked (a therapist who does not offer the service, a day already
past…) and, when it fails, asked again with the reason; an empty slot with only one
possible value is filled without asking; the first other empty slot is asked. So "OT
for Aarav tomorrow at 11" goes straight to the confirmation, and a clinic with one speech
therapist never asks "With whom?".

The "when" slot's question is ``flows.booking_when`` (free times chosen by
``flows.free_times``); the summary to confirm and the booking itself are
``flows.booking_confirm``. What is being booked is said back above the free times;
with the therapist known, a picked time books at once unless the summary would add
something (a payment in advance, a group, a move of a session): then it is confirmed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import select

from flows.booking_confirm import book, nothing_to_add, summary
from flows.booking_course import answer_course, ask_course, is_course
from flows.booking_delivery import ask_delivery, check_delivery, chosen_delivery, only_delivery
from flows.booking_when import (
    ask_when,
    back_to_menu,
    booking,
    choose,
    forget_time,
    free_for,
    join,
    no_days,
    only_when,
)
from flows.dialog import Turn, parse_number, state
from flows.free_times import Wanted, read_wanted, same_weekly_time
from models import (
    Appointment,
    AppointmentStatus,
    Patient,
    Service,
    Therapist,
)
from services.clinics import settings_cache
from services.errors import NotFound
from services.scheduling.availability import BookingContext, load_context

# --- the form ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FormSlot:
    """One question of the form. ``filled`` reads the collected data; ``check`` vets a
    value given in advance (None if fine, else it clears it and says why, or ""); ``only``
    fills the slot when there is one possible value and says whether it did."""

    state: str
    filled: Callable[[dict[str, Any]], bool]
    check: Callable[[Turn], str | None]
    only: Callable[[Turn], bool]
    ask: Callable[[Turn], str]
    answer: Callable[[Turn, str], str]


def next_question(turn: Turn, note: str = "") -> str:
    """Ask the first slot that is still empty (or whose given value failed its check)."""
    data = booking(turn)
    for slot in FORM:
        if slot.filled(data):
            reason = slot.check(turn)
            if reason is None:
                continue
            note = join(note, reason)  # told even when the slot then fills itself
        if slot.only(turn):
            continue
        return _ask(turn, slot, note)
    raise AssertionError("the confirm slot is never filled")  # pragma: no cover


def _ask(turn: Turn, slot: FormSlot, note: str) -> str:
    turn.conversation.state = slot.state
    turn.conversation.misses = 0
    return join(note, slot.ask(turn))


def start_booking(
    turn: Turn,
    *,
    service_id: int | None = None,
    patient_id: int | None = None,
    therapist_id: int | None = None,
    therapist_gender: str | None = None,
    day: date | None = None,
    at: time | None = None,
    part: str | None = None,
    after: time | None = None,
    before: time | None = None,
    earliest: bool = False,
    days: tuple[date, ...] | list[date] = (),
    **preset: Any,
) -> str:
    """Open the booking form with whatever is already known and ask what is not.

    ``preset`` carries other keys of the form's data (``reschedule_id``)."""
    turn.data["booking"] = dict(preset)
    known = _fill(
        turn,
        service_id=service_id,
        patient_id=patient_id,
        therapist_id=therapist_id,
        therapist_gender=therapist_gender,
        wanted=Wanted(day, tuple(days), at, part, after, before, earliest),
    )
    if not known and not preset:
        offer = _same_as_last_time(turn)
        if offer is not None:
            return offer
    return next_question(turn)


def fill_booking(
    turn: Turn,
    *,
    service_id: int | None = None,
    patient_id: int | None = None,
    therapist_id: int | None = None,
    therapist_gender: str | None = None,
    day: date | None = None,
    at: time | None = None,
    part: str | None = None,
    after: time | None = None,
    before: time | None = None,
    earliest: bool = False,
    days: tuple[date, ...] | list[date] = (),
    **preset: Any,
) -> str:
    """Add what a message mid-form carried ("tomorrow at 5", "with Dr. Priya") to the
    booking in progress and ask the next empty slot."""
    booking(turn).update(preset)
    _fill(
        turn,
        service_id=service_id,
        patient_id=patient_id,
        therapist_id=therapist_id,
        therapist_gender=therapist_gender,
        wanted=Wanted(day, tuple(days), at, part, after, before, earliest),
    )
    return next_question(turn)


def _fill(
    turn: Turn,
    *,
    service_id: int | None,
    patient_id: int | None,
    therapist_id: int | None,
    therapist_gender: str | None,
    wanted: Wanted,
) -> bool:
    """Write the given values into the form; anything new unsettles the chosen time."""
    data = booking(turn)
    given = {
        "service_id": service_id,
        "patient_id": patient_id,
        "therapist_id": therapist_id,
        "therapist_gender": therapist_gender,
    }
    changed = False
    for key, value in given.items():
        if value is not None and data.get(key) != value:
            data[key] = value
            changed = True
    if not wanted.empty:
        data["wanted"] = Wanted.from_data(data.get("wanted")).merged(wanted).to_data()
        changed = True
    if changed:
        forget_time(data)
    return changed


# --- service -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Offered:
    """What the service question shows of a bookable service."""

    id: int
    name: str
    duration_minutes: int
    price_minor: int


def _services(turn: Turn) -> tuple[_Offered, ...]:
    """The clinic's bookable services: this process's copy while the catalogue is unchanged
    (``services.clinics.settings_cache``)."""
    session, clinic_id = turn.session, turn.clinic.id

    def load() -> tuple[_Offered, ...]:
        rows = session.execute(
            select(Service.id, Service.name, Service.duration_minutes, Service.price_minor)
            .where(Service.clinic_id == clinic_id, Service.active.is_(True))
            .order_by(Service.id)
        )
        return tuple(_Offered(*row) for row in rows)

    return settings_cache.cached(session, ("offered_services", clinic_id), load)


def check_service(turn: Turn) -> str | None:
    data = booking(turn)
    try:
        # The service, this clinic's and active: read with what the next questions need
        # of it (availability.load_context is read once per turn).
        load_context(turn.session, turn.clinic.id, data["service_id"])
    except NotFound:
        data.pop("service_id")
        return turn.say("service_not_offered")
    return None


def only_service(turn: Turn) -> bool:
    services = _services(turn)
    if len(services) != 1:
        return False
    booking(turn)["service_id"] = services[0].id
    return True


def ask_service(turn: Turn) -> str:
    services = _services(turn)
    if not services:
        return back_to_menu(turn, turn.say("no_services"))
    options = [
        (
            s.id,
            turn.say(
                "service_line",
                name=s.name,
                minutes=s.duration_minutes,
                price=turn.money(s.price_minor),
            ),
        )
        for s in services
    ]
    return turn.offer(turn.say("ask_service"), options)


def answer_service(turn: Turn, text: str) -> str:
    service_id = turn.pick(text)
    if service_id is None:
        return turn.miss(turn.say("choose_number", count=turn.choice_count()))
    return fill_booking(turn, service_id=service_id)


# --- patient -----------------------------------------------------------------------------


def check_patient(turn: Turn) -> str | None:
    data = booking(turn)
    family = turn.family()
    if data["patient_id"] in {p.id for p in family}:
        return None
    data.pop("patient_id")
    return ""  # not one of this contact's patients: simply asked


def only_patient(turn: Turn) -> bool:
    family = turn.family()
    if len(family) != 1:
        return False
    booking(turn)["patient_id"] = family[0].id
    return True


def ask_patient(turn: Turn) -> str:
    family = turn.family()
    options: list[tuple[Any, str]] = [(p.id, p.name) for p in family]
    options.append(("new", turn.say("someone_else")))
    return turn.offer(turn.say("ask_patient"), options)


def answer_patient(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice is None:
        return turn.miss(turn.say("choose_number", count=turn.choice_count()))
    if choice == "new":
        booking(turn)["awaiting_patient"] = True
        return turn.goto("family_relation")
    return continue_with_patient(turn, choice)


def continue_with_patient(turn: Turn, patient_id: int) -> str:
    """Back to the form once the patient is known (also after registering a new one)."""
    booking(turn).pop("awaiting_patient", None)
    return fill_booking(turn, patient_id=patient_id)


# --- therapist ---------------------------------------------------------------------------


def _context(turn: Turn) -> BookingContext | None:
    try:
        return load_context(turn.session, turn.clinic.id, booking(turn)["service_id"])
    except NotFound:
        return None


def _eligible(turn: Turn, ctx: BookingContext) -> list[int]:
    """Therapists who deliver the service, narrowed to the gender asked for where the
    clinic records one (a clinic that records none is not narrowed)."""
    wanted = booking(turn).get("therapist_gender")
    ids = list(ctx.offers)
    if wanted:
        matching = [tid for tid in ids if ctx.therapists[tid].gender == wanted]
        if matching:
            return matching
    return ids


def check_therapist(turn: Turn) -> str | None:
    data = booking(turn)
    therapist_id = data["therapist_id"]
    if therapist_id is None:
        return None  # "any available therapist"
    ctx = _context(turn)
    if ctx is not None and therapist_id in ctx.offers:  # named: kept whatever the filter
        return None
    data.pop("therapist_id")
    therapist = turn.session.get(Therapist, therapist_id)
    if therapist is None or therapist.clinic_id != turn.clinic.id or ctx is None:
        return ""
    return turn.say("therapist_not_for_service", therapist=therapist.name, service=ctx.service.name)


def only_therapist(turn: Turn) -> bool:
    ctx = _context(turn)
    if ctx is None:
        return False
    eligible = _eligible(turn, ctx)
    if len(eligible) != 1:
        return False
    booking(turn)["therapist_id"] = eligible[0]
    return True


def ask_therapist(turn: Turn) -> str:
    ctx = _context(turn)
    if ctx is None:
        return back_to_menu(turn, turn.say("no_services"))
    if not ctx.offers:
        return back_to_menu(turn, no_days(turn))
    eligible = _eligible(turn, ctx)
    options: list[tuple[Any, str]] = []
    if len(eligible) == len(ctx.offers):
        options.append(("any", turn.say("any_therapist")))
    options += [
        (
            tid,
            turn.say(
                "therapist_line",
                name=ctx.offers[tid].name,
                specialization=ctx.service.specialization,
            ),
        )
        for tid in eligible
    ]
    return turn.offer(turn.say("ask_therapist"), options)


def answer_therapist(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice is None:
        return turn.miss(turn.say("choose_number", count=turn.choice_count()))
    data = booking(turn)
    data["therapist_id"] = None if choice == "any" else choice
    forget_time(data)
    return next_question(turn)


# --- in person or online (only for a service given either way) ------------------------


def answer_delivery(turn: Turn, text: str) -> str:
    choice = chosen_delivery(turn, text)
    if choice is None:
        return turn.miss(turn.say("choose_number", count=2))
    booking(turn)["online"] = choice
    return next_question(turn)


# --- when: day and time in one question --------------------------------------------------


def answer_when(turn: Turn, text: str) -> str:
    # Words first: "wed" asks for Wednesday's times, even when one Wednesday time is listed.
    wanted = (
        None if parse_number(text) is not None else read_wanted(text, turn.now, turn.date_order)
    )
    if wanted is not None:
        return _fill_wanted(turn, wanted)
    choice = turn.pick(text)
    if isinstance(choice, list) and len(choice) == 3:  # [start, therapist, location]
        start, therapist_id, location_id = choice
        data = booking(turn)
        data.update(start=start, slot_therapist=therapist_id, slot_location=location_id)
        return next_question(turn)
    return turn.miss(turn.say("choose_number_or_when", count=turn.choice_count()))


def _fill_wanted(turn: Turn, wanted: Wanted) -> str:
    return fill_booking(
        turn,
        day=wanted.day,
        at=wanted.at,
        part=wanted.part,
        after=wanted.after,
        before=wanted.before,
        earliest=wanted.earliest,
        days=wanted.days,
    )


# --- confirm -----------------------------------------------------------------------------


def ask_confirm(turn: Turn) -> str:
    """The summary to confirm; none when the time list already said everything but the
    time (a sentence's booking, CONVERSATION.md) and nothing is left to surprise: no
    payment in advance, no group, no move of an existing session."""
    if booking(turn).get("said_back") and nothing_to_add(turn):
        return book(turn)
    text = summary(turn, "confirm_booking")
    return turn.offer(text, [("confirm", turn.say("confirm")), ("change", turn.say("change"))])


def answer_confirm(turn: Turn, text: str) -> str:
    choice = turn.pick_or_yes_no(text, yes="confirm", no="change")
    if choice == "confirm":
        return book(turn)
    if choice == "change":
        data = booking(turn)
        forget_time(data)
        data.pop("wanted", None)
        return next_question(turn)
    wanted = read_wanted(text, turn.now, turn.date_order)
    if wanted is not None:  # "actually 5pm": a new time, asked like any other
        return _fill_wanted(turn, wanted)
    return turn.miss(turn.say("choose_number", count=2))


FORM: tuple[FormSlot, ...] = (
    FormSlot(
        "book_service",
        filled=lambda d: "service_id" in d,
        check=check_service,
        only=only_service,
        ask=ask_service,
        answer=answer_service,
    ),
    FormSlot(
        "book_patient",
        filled=lambda d: "patient_id" in d,
        check=check_patient,
        only=only_patient,
        ask=ask_patient,
        answer=answer_patient,
    ),
    FormSlot(
        "book_therapist",
        filled=lambda d: "therapist_id" in d,
        check=check_therapist,
        only=only_therapist,
        ask=ask_therapist,
        answer=answer_therapist,
    ),
    FormSlot(  # a course ("every Monday at 5 for 8 weeks") instead of one time
        "book_course",
        filled=lambda d: not is_course(d),
        check=lambda turn: None,
        only=lambda turn: False,
        ask=ask_course,
        answer=answer_course,
    ),
    FormSlot(
        "book_when",
        filled=lambda d: "start" in d,
        check=lambda turn: None,  # a chosen time is checked again when it is booked
        only=only_when,
        ask=ask_when,
        answer=answer_when,
    ),
    FormSlot(
        "book_delivery",
        filled=lambda d: "online" in d,
        check=check_delivery,
        only=only_delivery,
        ask=ask_delivery,
        answer=answer_delivery,
    ),
    FormSlot(
        "book_confirm",
        filled=lambda d: False,
        check=lambda turn: None,
        only=lambda turn: False,
        ask=ask_confirm,
        answer=answer_confirm,
    ),
)

for _slot in FORM:
    state(_slot.state, ask=_slot.ask, answer=_slot.answer)
# Conversations stored before day and time became one question resume at that question.
state("book_day", ask=ask_when, answer=answer_when)
state("book_time", ask=ask_when, answer=answer_when)


# --- same as last time -------------------------------------------------------------------


def _same_as_last_time(turn: Turn) -> str | None:
    """A returning patient's first offer: their last session's service and therapist at
    the next free time on the same weekday and clock time (or the nearest)."""
    contact = turn.contact
    if contact is None:
        return None
    last = turn.session.scalar(
        select(Appointment)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.clinic_id == turn.clinic.id,
            Patient.contact_id == contact.id,
            Patient.active.is_(True),
            Appointment.status != AppointmentStatus.CANCELLED,
        )
        .order_by(Appointment.start_at.desc())
        .limit(1)
    )
    if last is None:
        return None
    data = booking(turn)
    data.update(service_id=last.service_id, patient_id=last.patient_id)
    if check_service(turn) is not None:
        data.clear()
        return None
    ctx = _context(turn)
    data["therapist_id"] = last.therapist_id if ctx and last.therapist_id in ctx.offers else None
    if ctx is not None and ctx.service.online and last.online:
        data["online"] = True  # the same way as last time, where the service still allows it
    today = turn.now.date()
    free = free_for(turn, today, today + timedelta(days=turn.clinic.policy.booking_horizon_days))
    local = last.start_at.astimezone(turn.zone)
    slot = same_weekly_time(free, local.weekday(), local.time())
    if slot is None:
        data.clear()
        return None
    choose(turn, slot)
    turn.conversation.state = "book_again"
    turn.conversation.misses = 0
    return ask_again(turn)


def ask_again(turn: Turn) -> str:
    return turn.offer(
        summary(turn, "same_as_last_time"),
        [("yes", turn.say("book_it")), ("other", turn.say("something_else"))],
    )


def answer_again(turn: Turn, text: str) -> str:
    choice = turn.pick_or_yes_no(text, yes="yes", no="other")
    if choice == "yes":
        return book(turn)
    if choice == "other":
        turn.data["booking"] = {}
        return next_question(turn)
    wanted = read_wanted(text, turn.now, turn.date_order)
    if wanted is not None:  # the same session at another time: "tomorrow 5pm"
        data = booking(turn)
        forget_time(data)
        data.pop("wanted", None)
        return _fill_wanted(turn, wanted)
    return turn.miss(turn.say("choose_number", count=2))


state("book_again", ask=ask_again, answer=answer_again)


# --- booking it --------------------------------------------------------------------------
