"""Booking (and rescheduling) by chat, as a form.

``FORM`` below lists the slots in the order they are asked: service, patient,
therapist, when (day and time in one question), confirm. Every entry point
(``start_booking``, ``fill_booking``, an answer to any question) fills what it
can and calls ``next_question``, which walks the form: a filled slot is checked
(a therapist who does not offer the service, a day already past…) and, when it
fails, asked again with the reason; an empty slot with only one possible value
is filled without asking; the first other empty slot is asked. So "OT for Aarav
tomorrow at 11" goes straight to the confirmation, and a clinic with one speech
therapist never asks "With whom?".

Whatever was understood is echoed back in the confirmation before anything is
booked. The booking itself is ``services.scheduling.appointments``: the same
rules and the same no-double-booking guarantee as the admin panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from core.formatting import format_day, format_money, format_span, format_time, format_when
from flows.dialog import Turn, state
from flows.free_times import (
    Wanted,
    distinct_times,
    nearest,
    nearest_to_clock,
    read_wanted,
    same_weekly_time,
    spread,
)
from flows.payment import booking_payment_note, prepayment_note
from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    Location,
    Patient,
    Service,
    Therapist,
)
from services.errors import NotFound, ServiceError, SlotUnavailable
from services.people import patients
from services.scheduling.appointments import book_appointment, reschedule_appointment
from services.scheduling.availability import BookingContext, Slot, free_slots, load_context

NEAREST_OFFERED = 3
WHEN_KEYS = ("start", "slot_therapist", "slot_location")


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


def booking(turn: Turn) -> dict[str, Any]:
    return turn.data.setdefault("booking", {})


def next_question(turn: Turn, note: str = "") -> str:
    """Ask the first slot that is still empty (or whose given value failed its check)."""
    data = booking(turn)
    for slot in FORM:
        if slot.filled(data):
            reason = slot.check(turn)
            if reason is None:
                continue
            note = _join(note, reason)  # told even when the slot then fills itself
        if slot.only(turn):
            continue
        return _ask(turn, slot, note)
    raise AssertionError("the confirm slot is never filled")  # pragma: no cover


def _ask(turn: Turn, slot: FormSlot, note: str) -> str:
    turn.conversation.state = slot.state
    turn.conversation.misses = 0
    return _join(note, slot.ask(turn))


def _join(first: str, second: str) -> str:
    return f"{first}\n{second}" if first and second else first or second


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
        _forget_time(data)
    return changed


def _forget_time(data: dict[str, Any]) -> None:
    for key in WHEN_KEYS:
        data.pop(key, None)


# --- service -----------------------------------------------------------------------------


def _services(turn: Turn) -> list[Service]:
    return list(
        turn.session.scalars(
            select(Service)
            .where(Service.clinic_id == turn.clinic.id, Service.active.is_(True))
            .order_by(Service.id)
        )
    )


def check_service(turn: Turn) -> str | None:
    data = booking(turn)
    service = turn.session.get(Service, data["service_id"])
    if service is None or service.clinic_id != turn.clinic.id or not service.active:
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
        return _back_to_menu(turn, turn.say("no_services"))
    currency = turn.clinic.currency
    options = [
        (
            s.id,
            turn.say(
                "service_line",
                name=s.name,
                minutes=s.duration_minutes,
                price=format_money(s.price_minor, currency, short=True),
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
    family = patients.active_patients(turn.session, turn.contact) if turn.contact else []
    if data["patient_id"] in {p.id for p in family}:
        return None
    data.pop("patient_id")
    return ""  # not one of this contact's patients: simply asked


def only_patient(turn: Turn) -> bool:
    family = patients.active_patients(turn.session, turn.contact) if turn.contact else []
    if len(family) != 1:
        return False
    booking(turn)["patient_id"] = family[0].id
    return True


def ask_patient(turn: Turn) -> str:
    family = patients.active_patients(turn.session, turn.contact)
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
        matching = [tid for tid in ids if _gender(ctx.therapists[tid]) == wanted]
        if matching:
            return matching
    return ids


def _gender(therapist: Therapist) -> str | None:
    # Recorded only where the clinic keeps it (a later column); absent means unknown.
    return getattr(therapist, "gender", None)


def check_therapist(turn: Turn) -> str | None:
    data = booking(turn)
    therapist_id = data["therapist_id"]
    if therapist_id is None:
        return None  # "any available therapist"
    ctx = _context(turn)
    if ctx is not None and therapist_id in _eligible(turn, ctx):
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
        return _back_to_menu(turn, turn.say("no_services"))
    if not ctx.offers:
        return _back_to_menu(turn, _no_days(turn))
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
    _forget_time(data)
    return next_question(turn)


# --- when: day and time in one question --------------------------------------------------


def only_when(turn: Turn) -> bool:
    """The words asked for exactly one time: that day at that time (or, without a day,
    the first day it is free), or "the earliest"."""
    wanted = _wanted(turn)
    if wanted.at is None and not wanted.earliest:
        return False
    slots = [s for s in _bookable(turn, wanted) if wanted.admits(s)]
    if wanted.at is not None:
        slots = [s for s in slots if s.start.time() == wanted.at]
    if not slots:
        return False
    _choose(turn, distinct_times(slots)[0])
    return True


def ask_when(turn: Turn) -> str:
    """The free times to choose from: spread over the next days and the parts of the day,
    or that day's times spread across it, or the nearest to a time that is not free,
    each with the reason when what was asked for cannot be had."""
    data = booking(turn)
    wanted = _wanted(turn)
    note = ""
    today = turn.now.date()
    horizon = turn.clinic.policy.booking_horizon_days
    if wanted.day is not None and wanted.day < today:
        note, wanted = turn.say("in_the_past"), Wanted()
    elif wanted.day is not None and wanted.day > today + timedelta(days=horizon):
        note, wanted = turn.say("beyond_horizon", days=horizon), Wanted()
    data["wanted"] = wanted.to_data()
    free = _free(turn, today, today + timedelta(days=horizon))
    if not free:
        return _back_to_menu(turn, _no_days(turn))
    fits = [s for s in free if wanted.admits(s)]
    if wanted.day is not None and wanted.at is not None:
        return _join(note, _nearest_offer(turn, wanted, fits, free))
    if wanted.at is not None:
        options = nearest_to_clock(free, wanted.at, NEAREST_OFFERED)
        prompt = turn.say("time_taken_nearest", when=format_time(wanted.at))
        return _join(note, _offer_slots(turn, prompt, options, with_day=True))
    if wanted.day is not None and fits:
        prompt = turn.say(
            "ask_time", day=format_day(wanted.day), part=_constraint_text(turn, wanted)
        )
        return _join(note, _offer_slots(turn, prompt, spread(fits), with_day=False))
    if wanted.day is not None:  # nothing that day: the next day that has something
        note = _join(note, turn.say("day_closed", day=format_day(wanted.day)))
        later = Wanted(part=wanted.part, after=wanted.after, before=wanted.before)
        after_day = [s for s in free if s.start.date() > wanted.day and later.admits(s)]
        if after_day:
            day = after_day[0].start.date()
            prompt = turn.say("ask_time", day=format_day(day), part=_constraint_text(turn, later))
            on_day = [s for s in after_day if s.start.date() == day]
            return _join(note, _offer_slots(turn, prompt, spread(on_day), with_day=False))
        fits, wanted = [], later
    if not fits and not wanted.empty:
        note = _join(note, turn.say("nothing_free", constraint=_constraint_text(turn, wanted)))
        fits, wanted = free, Wanted()
    if not fits:
        fits = free
    prompt = turn.say("ask_when", constraint=_constraint_text(turn, wanted))
    return _join(note, _offer_slots(turn, prompt, spread(fits), with_day=True))


def answer_when(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice is not None:
        start, therapist_id, location_id = choice
        data = booking(turn)
        data.update(start=start, slot_therapist=therapist_id, slot_location=location_id)
        return next_question(turn)
    wanted = read_wanted(text, turn.now, turn.date_order)
    if wanted is None:
        return turn.miss(turn.say("choose_number_or_when", count=turn.choice_count()))
    return _fill_wanted(turn, wanted)


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


def _wanted(turn: Turn) -> Wanted:
    return Wanted.from_data(booking(turn).get("wanted"))


def _bookable(turn: Turn, wanted: Wanted) -> list[Slot]:
    today = turn.now.date()
    horizon = turn.clinic.policy.booking_horizon_days
    first = wanted.day or (min(wanted.days) if wanted.days else today)
    last = wanted.day or (max(wanted.days) if wanted.days else today + timedelta(days=horizon))
    if first < today or first > today + timedelta(days=horizon):
        return []
    return _free(turn, first, last)


def _nearest_offer(turn: Turn, wanted: Wanted, fits: list[Slot], free: list[Slot]) -> str:
    assert wanted.day is not None and wanted.at is not None
    target = datetime.combine(wanted.day, wanted.at, tzinfo=turn.zone)
    same_day = [s for s in free if s.start.date() == wanted.day]
    pool = same_day or [s for s in free if s.start.date() > wanted.day] or free
    options = nearest(pool, target, NEAREST_OFFERED)
    asked = f"{format_day(wanted.day)}, {format_time(wanted.at)}"
    with_day = any(s.start.date() != wanted.day for s in options)
    return _offer_slots(turn, turn.say("time_taken_nearest", when=asked), options, with_day)


def _constraint_text(turn: Turn, wanted: Wanted) -> str:
    text = turn.say("part_suffix", part=turn.say(f"part_{wanted.part}")) if wanted.part else ""
    if wanted.after is not None:
        text += turn.say("after_suffix", time=format_time(wanted.after))
    if wanted.before is not None:
        text += turn.say("before_suffix", time=format_time(wanted.before))
    return text


def _offer_slots(turn: Turn, prompt: str, slots: list[Slot], with_day: bool) -> str:
    turn.conversation.state = "book_when"
    service = turn.session.get(Service, booking(turn)["service_id"])
    group = service is not None and service.capacity > 1

    def label(slot: Slot) -> str:
        text = (
            format_when(slot.start, turn.clinic.timezone) if with_day else format_time(slot.start)
        )
        if group:
            text += turn.say("seats_left", seats=slot.seats_left)
        return text

    options = [(_slot_value(s), label(s)) for s in slots]
    hint = turn.say("ask_when_hint") if len(slots) > 1 else None
    return turn.offer(prompt, options, hint=hint)


def _slot_value(slot: Slot) -> list[Any]:
    return [slot.start.astimezone(UTC).isoformat(), slot.therapist_id, slot.location_id]


def _choose(turn: Turn, slot: Slot) -> None:
    start, therapist_id, location_id = _slot_value(slot)
    booking(turn).update(start=start, slot_therapist=therapist_id, slot_location=location_id)


def _free(turn: Turn, first: date, last: date) -> list[Slot]:
    data = booking(turn)
    return free_slots(
        turn.session,
        clinic_id=turn.clinic.id,
        service_id=data["service_id"],
        therapist_id=data.get("therapist_id"),
        start_date=first,
        end_date=last,
        now=turn.now,
        ignore_appointment_id=data.get("reschedule_id"),
    )


# --- confirm -----------------------------------------------------------------------------


def _summary(turn: Turn, key: str) -> str:
    """The booking as it will be made: who, what, with whom, when, where, the price,
    the group's seats and, for a session paid in advance, what to pay by when."""
    data = booking(turn)
    start = datetime.fromisoformat(data["start"])
    ctx = load_context(turn.session, turn.clinic.id, data["service_id"], data["slot_therapist"])
    offer = ctx.offers[data["slot_therapist"]]
    end = start + timedelta(minutes=offer.duration_minutes)
    patient = turn.session.get(Patient, data["patient_id"])
    location = turn.session.get(Location, data["slot_location"])
    when = format_span(start, end, turn.clinic.timezone)
    if data.get("reschedule_id"):
        return turn.say(
            "confirm_reschedule",
            service=ctx.service.name,
            patient=patient.name if patient else "",
            when=when,
            therapist=offer.name,
        )
    text = turn.say(
        key,
        service=ctx.service.name,
        patient=patient.name if patient else "",
        therapist=offer.name,
        when=when,
        location=_location_text(turn, location),
        price=format_money(offer.price_minor, turn.clinic.currency, short=True),
    )
    if ctx.service.capacity > 1:
        text += "\n" + turn.say(
            "group_line", capacity=ctx.service.capacity, seats=_seats_left(turn, ctx, start)
        )
    note = prepayment_note(turn, ctx.service, data["patient_id"], offer.price_minor)
    return f"{text}\n{note}" if note else text


def _seats_left(turn: Turn, ctx: BookingContext, start: datetime) -> int:
    day = start.astimezone(turn.zone).date()
    for slot in _free(turn, day, day):
        if slot.start == start and slot.therapist_id == booking(turn)["slot_therapist"]:
            return slot.seats_left
    return ctx.service.capacity


def _location_text(turn: Turn, location: Location | None) -> str:
    if location is None:
        return turn.clinic.name
    if location.address:
        return turn.say(
            "location_address",
            clinic=turn.clinic.name,
            location=location.name,
            address=location.address,
        )
    return f"{turn.clinic.name}, {location.name}"


def ask_confirm(turn: Turn) -> str:
    summary = _summary(turn, "confirm_booking")
    return turn.offer(summary, [("confirm", turn.say("confirm")), ("change", turn.say("change"))])


def answer_confirm(turn: Turn, text: str) -> str:
    choice = turn.pick_or_yes_no(text, yes="confirm", no="change")
    if choice == "confirm":
        return _book(turn)
    if choice == "change":
        data = booking(turn)
        _forget_time(data)
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
    FormSlot(
        "book_when",
        filled=lambda d: "start" in d,
        check=lambda turn: None,  # a chosen time is checked again when it is booked
        only=only_when,
        ask=ask_when,
        answer=answer_when,
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
    today = turn.now.date()
    free = _free(turn, today, today + timedelta(days=turn.clinic.policy.booking_horizon_days))
    local = last.start_at.astimezone(turn.zone)
    slot = same_weekly_time(free, local.weekday(), local.time())
    if slot is None:
        data.clear()
        return None
    _choose(turn, slot)
    turn.conversation.state = "book_again"
    turn.conversation.misses = 0
    return ask_again(turn)


def ask_again(turn: Turn) -> str:
    return turn.offer(
        _summary(turn, "same_as_last_time"),
        [("yes", turn.say("book_it")), ("other", turn.say("something_else"))],
    )


def answer_again(turn: Turn, text: str) -> str:
    choice = turn.pick_or_yes_no(text, yes="yes", no="other")
    if choice == "yes":
        return _book(turn)
    if choice == "other":
        turn.data["booking"] = {}
        return next_question(turn)
    return turn.miss(turn.say("choose_number", count=2))


state("book_again", ask=ask_again, answer=answer_again)


# --- booking it --------------------------------------------------------------------------


def _book(turn: Turn) -> str:
    data = booking(turn)
    start = datetime.fromisoformat(data["start"])
    try:
        if data.get("reschedule_id"):
            appointment = reschedule_appointment(
                turn.session,
                clinic_id=turn.clinic.id,
                appointment_id=data["reschedule_id"],
                new_start=start,
                therapist_id=data["slot_therapist"],
                now=turn.now,
                actor=turn.actor,
            )
        else:
            appointment = book_appointment(
                turn.session,
                clinic_id=turn.clinic.id,
                patient_id=data["patient_id"],
                service_id=data["service_id"],
                therapist_id=data.get("therapist_id"),
                start=start,
                now=turn.now,
                actor=turn.actor,
                source=BookingSource.CHAT,
            )
    except SlotUnavailable as exc:
        if not exc.alternatives:
            return _back_to_menu(turn, f"{exc.message} {turn.say('offer_talk')}")
        _forget_time(data)
        return _offer_slots(turn, turn.say("slot_just_taken"), exc.alternatives, with_day=True)
    except ServiceError as exc:
        return _back_to_menu(turn, f"{exc.message} {turn.say('offer_talk')}")
    turn.data.pop("booking", None)
    turn.conversation.state = "menu"
    when = format_when(appointment.start_at, turn.clinic.timezone)
    if data.get("reschedule_id"):
        return turn.say(
            "rescheduled",
            number=appointment.number,
            when=when,
            therapist=appointment.therapist.name,
        )
    return turn.say(
        "booked",
        number=appointment.number,
        patient=appointment.patient.name,
        service=appointment.service.name,
        when=when,
        therapist=appointment.therapist.name,
        location=_location_text(turn, appointment.location),
        price=format_money(appointment.price_minor, turn.clinic.currency, short=True),
        reminders=_reminder_text(turn),
    ) + booking_payment_note(turn, appointment)


def _reminder_text(turn: Turn) -> str:
    def phrase(hours: int) -> str:
        if hours % 24 == 0:
            days = hours // 24
            return "a day before" if days == 1 else f"{days} days before"
        return "an hour before" if hours == 1 else f"{hours} hours before"

    offsets = sorted(turn.clinic.policy.reminder_offsets_hours or [], reverse=True)
    if not offsets:
        return turn.say("reminders_default")
    return " and ".join(phrase(int(h)) for h in offsets)


def _no_days(turn: Turn) -> str:
    service = turn.session.get(Service, booking(turn).get("service_id"))
    return turn.say(
        "no_days",
        service=service.name if service else "",
        days=turn.clinic.policy.booking_horizon_days,
    )


def _back_to_menu(turn: Turn, message: str) -> str:
    turn.data.pop("booking", None)
    return f"{message}\n{turn.goto('menu')}"
