"""The booking form's "when" slot: day and time in one question.

Offers a few free times spread over the coming days and over morning, afternoon and
evening (``flows.free_times`` chooses them); a day asked for shows that day's times
spread across it; what cannot be had (a day past, beyond the horizon or closed, a
time taken) is said with the nearest alternatives. Its answer lives with the form in
``flows.booking``, which also reads and writes the form's data through ``booking``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flows.dialog import Turn
from flows.free_times import (
    Wanted,
    distinct_times,
    nearest,
    nearest_to_clock,
    spread,
    spread_settled,
)
from models import Location, Patient, Service
from services.scheduling.availability import Slot, free_slots, load_context

NEAREST_OFFERED = 3

WHEN_KEYS = ("start", "slot_therapist", "slot_location")


def booking(turn: Turn) -> dict[str, Any]:
    return turn.data.setdefault("booking", {})


def join(first: str, second: str) -> str:
    return f"{first}\n{second}" if first and second else first or second


def only_when(turn: Turn) -> bool:
    """The words asked for exactly one time: that day at that time (or, without a day,
    the first day it is free), or "the earliest"."""
    wanted = wanted_of(turn)
    if wanted.at is None and not wanted.earliest:
        return False
    slots = [s for s in _bookable(turn, wanted) if wanted.admits(s)]
    if wanted.at is not None:
        slots = [s for s in slots if s.start.time() == wanted.at]
    if not slots:
        return False
    choose(turn, distinct_times(slots)[0])
    return True


def ask_when(turn: Turn) -> str:
    """What is being booked (so a sentence's service, patient and therapist are seen
    understood), then the free times to choose from."""
    return join(_what(turn), _times(turn))


def _what(turn: Turn) -> str:
    """ "Speech Therapy Session for Aarav (45 min, ₹800) with Dr. Priya Nair", once per
    form (again after any of them changes): with the therapist known, everything but the
    time has been said, so a picked time books without a summary to confirm."""
    data = booking(turn)
    if data.get("said_back"):
        return ""
    patient = turn.session.get(Patient, data.get("patient_id") or 0)
    if data.get("service_id") is None or patient is None or data.get("reschedule_id"):
        return ""
    therapist_id = data.get("therapist_id")
    # The therapist's own length and price where they have one: the booking's own rule.
    ctx = load_context(turn.session, turn.clinic.id, data["service_id"], therapist_id)
    offer = ctx.offers.get(therapist_id) if therapist_id else None
    what = turn.say(
        "when_for",
        service=ctx.service.name,
        patient=patient.name,
        minutes=offer.duration_minutes if offer else ctx.service.duration_minutes,
        price=turn.money(offer.price_minor if offer else ctx.service.price_minor),
    )
    if offer is None:
        return what
    data["said_back"] = True
    return turn.say("when_with", what=what, therapist=offer.name)


def _times(turn: Turn) -> str:
    """The free times to choose from: spread over the next days and the parts of the day,
    or that day's times spread across it, or the nearest to a time that is not free,
    each with the reason when what was asked for cannot be had."""
    data = booking(turn)
    wanted = wanted_of(turn)
    note = ""
    today = turn.now.date()
    horizon = turn.clinic.policy.booking_horizon_days
    if wanted.day is not None and wanted.day < today:
        note, wanted = turn.say("in_the_past"), Wanted()
    elif wanted.day is not None and wanted.day > today + timedelta(days=horizon):
        note, wanted = turn.say("beyond_horizon", days=horizon), Wanted()
    data["wanted"] = wanted.to_data()
    free = _free_to_offer(turn, wanted, today, today + timedelta(days=horizon))
    if not free and data.get("reschedule_id"):
        return back_to_menu(turn, no_days(turn))
    if not free:  # nothing at all: the waitlist is offered (flows.waitlist)
        return turn.goto("book_waitlist")
    fits = [s for s in free if wanted.admits(s)]
    if wanted.day is not None and wanted.at is not None:
        return join(note, _nearest_offer(turn, wanted, fits, free))
    if wanted.at is not None:
        options = nearest_to_clock(free, wanted.at, NEAREST_OFFERED)
        prompt = turn.say("time_taken_nearest", when=turn.time(wanted.at))
        return join(note, offer_slots(turn, prompt, options, with_day=True))
    if wanted.day is not None and fits:
        prompt = turn.say("ask_time", day=turn.day(wanted.day), part=_constraint_text(turn, wanted))
        return join(note, offer_slots(turn, prompt, spread(fits), with_day=False))
    if wanted.day is not None:  # nothing that day: the next day that has something
        note = join(note, turn.say("day_closed", day=turn.day(wanted.day)))
        later = Wanted(part=wanted.part, after=wanted.after, before=wanted.before)
        after_day = [s for s in free if s.start.date() > wanted.day and later.admits(s)]
        if after_day:
            day = after_day[0].start.date()
            prompt = turn.say("ask_time", day=turn.day(day), part=_constraint_text(turn, later))
            on_day = [s for s in after_day if s.start.date() == day]
            return join(note, offer_slots(turn, prompt, spread(on_day), with_day=False))
        fits, wanted = [], later
    if not fits and not wanted.empty:
        note = join(note, turn.say("nothing_free", constraint=_constraint_text(turn, wanted)))
        fits, wanted = free, Wanted()
    if not fits:
        fits = free
    prompt = turn.say("ask_when", constraint=_constraint_text(turn, wanted))
    return join(note, offer_slots(turn, prompt, spread(fits), with_day=True))


# Nothing asked for: the first days' free times, when they already decide what is offered.
FIRST_DAYS = 7


def _free_to_offer(turn: Turn, wanted: Wanted, today: date, last: date) -> list[Slot]:
    """The free times ``_times`` needs, computed for no more days than it looks at: a day
    asked for alone (with nothing that day, every day, for the next that has something);
    nothing asked for, the first week, and the days after it only when they could still
    change the spread (``spread_settled``); anything else, every day to the horizon."""
    if wanted.day is not None and wanted.at is None:
        on_day = free_for(turn, wanted.day, wanted.day)
        if any(wanted.admits(s) for s in on_day):
            return on_day
    elif wanted.empty:
        week_end = min(last, today + timedelta(days=FIRST_DAYS - 1))
        first = free_for(turn, today, week_end)
        if week_end >= last or spread_settled(first):
            return first
        return first + free_for(turn, week_end + timedelta(days=1), last)
    return free_for(turn, today, last)


def wanted_of(turn: Turn) -> Wanted:
    return Wanted.from_data(booking(turn).get("wanted"))


def _bookable(turn: Turn, wanted: Wanted) -> list[Slot]:
    today = turn.now.date()
    horizon = turn.clinic.policy.booking_horizon_days
    first = wanted.day or (min(wanted.days) if wanted.days else today)
    last = wanted.day or (max(wanted.days) if wanted.days else today + timedelta(days=horizon))
    if first < today or first > today + timedelta(days=horizon):
        return []
    return free_for(turn, first, last)


def _nearest_offer(turn: Turn, wanted: Wanted, fits: list[Slot], free: list[Slot]) -> str:
    assert wanted.day is not None and wanted.at is not None
    target = datetime.combine(wanted.day, wanted.at, tzinfo=turn.zone)
    same_day = [s for s in free if s.start.date() == wanted.day]
    pool = same_day or [s for s in free if s.start.date() > wanted.day] or free
    options = nearest(pool, target, NEAREST_OFFERED)
    asked = f"{turn.day(wanted.day)}, {turn.time(wanted.at)}"
    with_day = any(s.start.date() != wanted.day for s in options)
    return offer_slots(turn, turn.say("time_taken_nearest", when=asked), options, with_day)


def _constraint_text(turn: Turn, wanted: Wanted) -> str:
    text = turn.say("part_suffix", part=turn.say(f"part_{wanted.part}")) if wanted.part else ""
    if wanted.after is not None:
        text += turn.say("after_suffix", time=turn.time(wanted.after))
    if wanted.before is not None:
        text += turn.say("before_suffix", time=turn.time(wanted.before))
    return text


def offer_slots(turn: Turn, prompt: str, slots: list[Slot], with_day: bool) -> str:
    turn.conversation.state = "book_when"
    service = turn.session.get(Service, booking(turn)["service_id"])
    group = service is not None and service.capacity > 1

    places = {s.location_id for s in slots}

    def label(slot: Slot) -> str:
        text = turn.when(slot.start) if with_day else turn.time(slot.start)
        if len(places) > 1:  # where, too, since a tap may book it without a summary
            location = turn.session.get(Location, slot.location_id)
            text += f" · {location.name}" if location else ""
        if group:
            text += turn.say("seats_left", seats=slot.seats_left)
        return text

    options = [(_slot_value(s), label(s)) for s in slots]
    hint = turn.say("ask_when_hint") if len(slots) > 1 else None
    return turn.offer(prompt, options, hint=hint)


def _slot_value(slot: Slot) -> list[Any]:
    return [slot.start.astimezone(UTC).isoformat(), slot.therapist_id, slot.location_id]


def choose(turn: Turn, slot: Slot) -> None:
    start, therapist_id, location_id = _slot_value(slot)
    booking(turn).update(start=start, slot_therapist=therapist_id, slot_location=location_id)


def free_for(turn: Turn, first: date, last: date) -> list[Slot]:
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


def no_days(turn: Turn) -> str:
    service = turn.session.get(Service, booking(turn).get("service_id"))
    return turn.say(
        "no_days",
        service=service.name if service else "",
        days=turn.clinic.policy.booking_horizon_days,
    )


def back_to_menu(turn: Turn, message: str) -> str:
    turn.data.pop("booking", None)
    return f"{message}\n{turn.goto('menu')}"


def forget_time(data: dict[str, Any]) -> None:
    """The chosen time is gone; so is what was said back, to be said again with the times."""
    for key in (*WHEN_KEYS, "said_back"):
        data.pop(key, None)
