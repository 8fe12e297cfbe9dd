"""Booking (and rescheduling) by chat: service → patient → therapist → day → time → confirm.

Days and times are offered as numbered choices and also understood as free text
(``flows.parsing.parse_when``). Whatever was understood is echoed back before
anything is booked. The booking itself is ``services.scheduling.appointments``: the same
rules and the same no-double-booking guarantee as the admin panel.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from flows.dialog import Turn, state
from flows.parsing import PART_OF_DAY_WINDOWS, When, parse_when
from flows.payment import booking_payment_note
from models import BookingSource, Location, Patient, Service
from services.errors import NotFound, ServiceError, SlotUnavailable
from services.people import patients
from services.scheduling.appointments import book_appointment, reschedule_appointment
from services.scheduling.availability import Slot, free_slots, load_context

DAYS_OFFERED = 3
TIMES_OFFERED = 8
NEAREST_OFFERED = 3
LOOKAHEAD_DAYS = 14  # how far to look for the next free day when the asked one is full


def start_booking(turn: Turn, **preset: Any) -> str:
    turn.data["booking"] = dict(preset)
    if "service_id" in preset:
        return turn.goto("book_day")
    return turn.goto("book_service")


def booking(turn: Turn) -> dict[str, Any]:
    return turn.data.setdefault("booking", {})


# --- service -------------------------------------------------------------------------------


def ask_service(turn: Turn) -> str:
    services = turn.session.scalars(
        select(Service)
        .where(Service.clinic_id == turn.clinic.id, Service.active.is_(True))
        .order_by(Service.id)
    ).all()
    if not services:
        return _back_to_menu(turn, turn.say("no_services"))
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
    booking(turn)["service_id"] = service_id
    family = patients.active_patients(turn.session, turn.contact)
    if len(family) == 1:
        booking(turn)["patient_id"] = family[0].id
        return turn.goto("book_therapist")
    return turn.goto("book_patient")


state("book_service", ask=ask_service, answer=answer_service)


# --- patient -------------------------------------------------------------------------------


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
    booking(turn).pop("awaiting_patient", None)
    booking(turn)["patient_id"] = patient_id
    return turn.goto("book_therapist")


state("book_patient", ask=ask_patient, answer=answer_patient)


# --- therapist -----------------------------------------------------------------------------


def ask_therapist(turn: Turn) -> str:
    try:
        ctx = load_context(turn.session, turn.clinic.id, booking(turn)["service_id"])
    except NotFound:
        return _back_to_menu(turn, turn.say("no_services"))
    if not ctx.offers:
        return _back_to_menu(turn, _no_days(turn))
    options: list[tuple[Any, str]] = [("any", turn.say("any_therapist"))]
    options += [
        (
            offer.therapist_id,
            turn.say("therapist_line", name=offer.name, specialization=ctx.service.specialization),
        )
        for offer in ctx.offers.values()
    ]
    return turn.offer(turn.say("ask_therapist"), options)


def answer_therapist(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice is None:
        return turn.miss(turn.say("choose_number", count=turn.choice_count()))
    booking(turn)["therapist_id"] = None if choice == "any" else choice
    return turn.goto("book_day")


state("book_therapist", ask=ask_therapist, answer=answer_therapist)


# --- day -----------------------------------------------------------------------------------


def ask_day(turn: Turn) -> str:
    today = turn.now.date()
    horizon = turn.clinic.policy.booking_horizon_days
    days: list[date] = []
    # Look a week ahead first; only a sparse calendar needs the whole horizon.
    for span in sorted({min(7, horizon), horizon}):
        slots = _free(turn, today, today + timedelta(days=span))
        days = list(dict.fromkeys(slot.start.date() for slot in slots))[:DAYS_OFFERED]
        if len(days) == DAYS_OFFERED:
            break
    if not days:
        return _back_to_menu(turn, _no_days(turn))
    return turn.offer(turn.say("ask_day"), [(d.isoformat(), turn.day(d)) for d in days])


def answer_day(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice is not None:
        return _show_times(turn, date.fromisoformat(choice), part=None)
    when = _parse(turn, text)
    if when is None:
        return turn.miss(turn.say("choose_number_or_day", count=turn.choice_count()))
    return _understood(turn, when)


state("book_day", ask=ask_day, answer=answer_day)


# --- time ----------------------------------------------------------------------------------


def ask_time(turn: Turn) -> str:
    data = booking(turn)
    return _show_times(turn, date.fromisoformat(data["day"]), data.get("part"))


def answer_time(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice is not None:
        return _choose(turn, choice)
    when = _parse(turn, text)
    if when is None:
        return turn.miss(turn.say("choose_number_or_time", count=turn.choice_count()))
    day = date.fromisoformat(booking(turn)["day"])
    if when.date is not None and when.date != day:
        return _understood(turn, when)
    if when.time is not None:
        return _try_time(turn, day, when.time)
    return _show_times(turn, day, when.part)


state("book_time", ask=ask_time, answer=answer_time)


# --- confirm -------------------------------------------------------------------------------


def ask_confirm(turn: Turn) -> str:
    data = booking(turn)
    start = datetime.fromisoformat(data["start"])
    ctx = load_context(turn.session, turn.clinic.id, data["service_id"], data["slot_therapist"])
    offer = ctx.offers[data["slot_therapist"]]
    end = start + timedelta(minutes=offer.duration_minutes)
    patient = turn.session.get(Patient, data["patient_id"])
    location = turn.session.get(Location, data["slot_location"])
    when = turn.span(start, end)
    if data.get("reschedule_id"):
        summary = turn.say(
            "confirm_reschedule",
            service=ctx.service.name,
            patient=patient.name if patient else "",
            when=when,
            therapist=offer.name,
        )
    else:
        summary = turn.say(
            "confirm_booking",
            service=ctx.service.name,
            patient=patient.name if patient else "",
            therapist=offer.name,
            when=when,
            location=f"{turn.clinic.name}, {location.name}" if location else turn.clinic.name,
            price=turn.money(offer.price_minor),
        )
    return turn.offer(summary, [("confirm", turn.say("confirm")), ("change", turn.say("change"))])


def answer_confirm(turn: Turn, text: str) -> str:
    choice = turn.pick_or_yes_no(text, yes="confirm", no="change")
    if choice == "confirm":
        return _book(turn)
    if choice == "change":
        return turn.goto("book_day")
    return turn.miss(turn.say("choose_number", count=2))


state("book_confirm", ask=ask_confirm, answer=answer_confirm)


# --- internals -----------------------------------------------------------------------------


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


def _parse(turn: Turn, text: str) -> When | None:
    return parse_when(text, turn.now, date_order=turn.date_order)


def _understood(turn: Turn, when: When) -> str:
    today = turn.now.date()
    horizon = turn.clinic.policy.booking_horizon_days
    day = when.date or _first_offered_day(turn) or today
    if day < today:
        return turn.miss(turn.say("in_the_past"))
    if day > today + timedelta(days=horizon):
        return turn.miss(turn.say("beyond_horizon", days=horizon))
    if when.time is not None:
        return _try_time(turn, day, when.time)
    return _show_times(turn, day, when.part)


def _first_offered_day(turn: Turn) -> date | None:
    for value, _label in turn.data.get("choices") or []:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None
    return None


def _in_part(slot: Slot, part: str | None) -> bool:
    if part is None:
        return True
    start, end = PART_OF_DAY_WINDOWS[part]
    return start <= slot.start.time() < end


def _distinct_times(slots: list[Slot]) -> list[Slot]:
    return list({slot.start: slot for slot in reversed(slots)}.values())[::-1]


def _slot_value(slot: Slot) -> list[Any]:
    return [slot.start.astimezone(UTC).isoformat(), slot.therapist_id, slot.location_id]


def _show_times(turn: Turn, day: date, part: str | None) -> str:
    slots = _distinct_times([s for s in _free(turn, day, day) if _in_part(s, part)])
    prefix = ""
    if not slots:
        later = [
            s
            for s in _free(turn, day + timedelta(days=1), day + timedelta(days=LOOKAHEAD_DAYS))
            if _in_part(s, part)
        ]
        if not later:
            return turn.miss(_no_days(turn))
        prefix = turn.say("day_closed", day=turn.day(day)) + " "
        day = later[0].start.date()
        slots = _distinct_times([s for s in later if s.start.date() == day])
    data = booking(turn)
    data["day"] = day.isoformat()
    data["part"] = part
    turn.conversation.state = "book_time"
    part_text = turn.say("part_suffix", part=turn.say(f"part_{part}")) if part else ""
    options = [(_slot_value(s), turn.time(s.start)) for s in slots[:TIMES_OFFERED]]
    return prefix + turn.offer(
        turn.say("ask_time", day=turn.day(day), part=part_text),
        options,
        hint=turn.say("ask_time_hint") if len(slots) > 1 else None,
    )


def _try_time(turn: Turn, day: date, wanted: time) -> str:
    slots = _distinct_times(_free(turn, day, day))
    for slot in slots:
        if slot.start.time() == wanted:
            return _choose(turn, _slot_value(slot))
    target = datetime.combine(day, wanted, tzinfo=turn.zone)
    if not slots:
        later = _free(turn, day + timedelta(days=1), day + timedelta(days=LOOKAHEAD_DAYS))
        slots = _distinct_times(later)
    if not slots:
        return turn.miss(_no_days(turn))
    nearest = sorted(slots, key=lambda s: (abs(s.start - target), s.start))[:NEAREST_OFFERED]
    nearest.sort(key=lambda s: s.start)
    data = booking(turn)
    data["day"] = nearest[0].start.date().isoformat()
    data["part"] = None
    turn.conversation.state = "book_time"
    label_day = len({s.start.date() for s in nearest}) > 1 or nearest[0].start.date() != day
    options = [
        (
            _slot_value(s),
            turn.when(s.start) if label_day else turn.time(s.start),
        )
        for s in nearest
    ]
    asked = f"{turn.day(day)}, {turn.time(wanted)}"
    return turn.offer(turn.say("time_taken_nearest", when=asked), options)


def _choose(turn: Turn, value: list[Any]) -> str:
    start, therapist_id, location_id = value
    data = booking(turn)
    data["start"] = start
    data["slot_therapist"] = therapist_id
    data["slot_location"] = location_id
    return turn.goto("book_confirm")


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
        data["day"] = exc.alternatives[0].start.date().isoformat()
        turn.conversation.state = "book_time"
        options = [(_slot_value(s), turn.when(s.start)) for s in exc.alternatives]
        return turn.offer(turn.say("slot_just_taken"), options)
    except ServiceError as exc:
        return _back_to_menu(turn, f"{exc.message} {turn.say('offer_talk')}")
    turn.data.pop("booking", None)
    turn.conversation.state = "menu"
    when = turn.when(appointment.start_at)
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
        location=f"{turn.clinic.name}, {appointment.location.name}",
        price=turn.money(appointment.price_minor),
        reminders=_reminder_text(turn),
    ) + booking_payment_note(turn, appointment)


def _reminder_text(turn: Turn) -> str:
    def phrase(hours: int) -> str:
        if hours % 24 == 0:
            days = hours // 24
            return (
                turn.say("remind_day_before")
                if days == 1
                else turn.say("remind_days_before", count=days)
            )
        if hours == 1:
            return turn.say("remind_hour_before")
        return turn.say("remind_hours_before", count=hours)

    offsets = sorted(turn.clinic.policy.reminder_offsets_hours or [], reverse=True)
    if not offsets:
        return turn.say("reminders_default")
    phrases = [phrase(int(h)) for h in offsets]
    text = phrases[-1]
    for earlier in reversed(phrases[:-1]):
        text = turn.say("remind_and", first=earlier, second=text)
    return text


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
