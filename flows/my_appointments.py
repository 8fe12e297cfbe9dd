""" "My appointments": list upcoming sessions, then reschedule or cancel one.

Inside the clinic's reschedule window a patient cannot move a session
themselves; the chat collects the time they would like instead and files a
request the front desk approves (``services.scheduling.reschedule_requests``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from flows.booking import start_booking
from flows.dialog import Turn, hand_to_staff, normalise, state
from flows.parsing import PART_OF_DAY_WINDOWS, When, parse_when
from models import Appointment, AppointmentStatus, Patient
from services.errors import ServiceError
from services.messaging.catalogue import reminder_choices
from services.scheduling.appointments import cancel_appointment, confirm_appointment
from services.scheduling.availability import Slot, free_slots
from services.scheduling.reschedule_requests import pending_request, request_reschedule

LISTED = 10


def start_my_appointments(
    turn: Turn,
    intent: str | None = None,
    patient_id: int | None = None,
    day: date | None = None,
    reference: str | None = None,
) -> str:
    """Upcoming sessions, as a small form: ``intent`` ("cancel", "reschedule") and what
    names a session (a patient, a clinic-local day, an APT- reference) may come filled.
    One session fits → straight to that action (or the choice of action, without an
    intent); several → choose among only those; none of those named → say so and list all.
    """
    turn.data.pop("my_intent", None)
    turn.data.pop("my_only", None)
    if intent is not None:
        turn.data["my_intent"] = intent
    narrowed = patient_id is not None or day is not None or reference is not None
    if intent is None and not narrowed:
        return turn.goto("my_list")
    appointments = upcoming(turn)
    fits = [a for a in appointments if _fits(turn, a, patient_id, day, reference)]
    if len(fits) == 1:
        return _act(turn, fits[0])
    if narrowed and not fits and appointments:
        return f"{turn.say('no_matching_session')}\n{turn.goto('my_list')}"
    if narrowed and fits:
        turn.data["my_only"] = [a.id for a in fits]
    return turn.goto("my_list")


def _fits(
    turn: Turn,
    appointment: Appointment,
    patient_id: int | None,
    day: date | None,
    reference: str | None,
) -> bool:
    if patient_id is not None and appointment.patient_id != patient_id:
        return False
    if day is not None and appointment.start_at.astimezone(turn.zone).date() != day:
        return False
    return reference is None or appointment.number.casefold() == reference.casefold()


def _act(turn: Turn, appointment: Appointment) -> str:
    """The chosen session: do what was asked for, or ask what to do."""
    intent = turn.data.pop("my_intent", None)
    turn.data.pop("my_only", None)
    turn.data["manage_id"] = appointment.id
    if intent == "cancel":
        return turn.goto("my_cancel")
    if intent == "reschedule":
        return _start_reschedule(turn, appointment)
    return turn.goto("my_manage")


def upcoming(turn: Turn) -> list[Appointment]:
    contact = turn.contact
    if contact is None:
        return []
    return list(
        turn.session.scalars(
            select(Appointment)
            .join(Patient, Patient.id == Appointment.patient_id)
            .options(
                joinedload(Appointment.patient),
                joinedload(Appointment.service),
                joinedload(Appointment.therapist),
            )
            .where(
                Appointment.clinic_id == turn.clinic.id,
                Patient.contact_id == contact.id,
                Appointment.status.in_(AppointmentStatus.active()),
                Appointment.start_at >= turn.now.astimezone(UTC),
            )
            .order_by(Appointment.start_at)
            .limit(LISTED)
        )
    )


def _line(turn: Turn, appointment: Appointment) -> str:
    requested = appointment.status is AppointmentStatus.REQUESTED
    return turn.say(
        "appointment_line_requested" if requested else "appointment_line",
        when=turn.when(appointment.start_at),
        service=appointment.service.name,
        patient=appointment.patient.name,
        number=appointment.number,
    )


def ask_list(turn: Turn) -> str:
    appointments = upcoming(turn)
    if not appointments:
        turn.data.pop("my_intent", None)
        turn.data.pop("my_only", None)
        turn.conversation.state = "menu"
        return f"{turn.say('no_upcoming')}\n{turn.goto('menu')}"
    only = [a for a in appointments if a.id in (turn.data.get("my_only") or ())]
    prompt = turn.say("choose_session" if only else "upcoming")
    return turn.offer(prompt, [(a.id, _line(turn, a)) for a in only or appointments])


def answer_list(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    appointment = next((a for a in upcoming(turn) if a.id == choice), None)
    if appointment is None:
        return turn.miss(turn.say("choose_number", count=turn.choice_count()))
    return _act(turn, appointment)


state("my_list", ask=ask_list, answer=answer_list)


def _managed(turn: Turn) -> Appointment | None:
    appointment_id = turn.data.get("manage_id")
    return next((a for a in upcoming(turn) if a.id == appointment_id), None)


def ask_manage(turn: Turn) -> str:
    appointment = _managed(turn)
    if appointment is None:
        return turn.goto("my_list")
    options: list[tuple[Any, str]] = [
        ("reschedule", turn.say("reschedule")),
        ("cancel", turn.say("cancel")),
        ("back", turn.say("back")),
    ]
    return turn.offer(turn.say("manage", summary=_line(turn, appointment)), options)


def answer_manage(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    appointment = _managed(turn)
    if appointment is None:
        return turn.goto("my_list")
    if choice == "cancel":
        return turn.goto("my_cancel")
    if choice == "reschedule":
        return _start_reschedule(turn, appointment)
    if choice == "back":
        return turn.goto("menu")
    return turn.miss(turn.say("choose_number", count=3))


state("my_manage", ask=ask_manage, answer=answer_manage)


def _start_reschedule(turn: Turn, appointment: Appointment) -> str:
    window = turn.clinic.policy.reschedule_window_hours
    if appointment.start_at - turn.now < timedelta(hours=window):
        return _start_request(turn, appointment, window)
    return start_booking(
        turn,
        service_id=appointment.service_id,
        patient_id=appointment.patient_id,
        therapist_id=appointment.therapist_id,
        reschedule_id=appointment.id,
    )


def _too_late_to_cancel(turn: Turn, appointment: Appointment) -> bool:
    """Inside the cancellation window a patient cannot cancel (services refuse it); a
    request the clinic has not approved they withdraw at any time."""
    if appointment.status is AppointmentStatus.REQUESTED:
        return False
    hours = turn.clinic.policy.cancellation_window_hours
    return appointment.start_at - turn.now < timedelta(hours=hours)


def ask_cancel(turn: Turn) -> str:
    """The cancellation, with the policy: free outside the window; inside it, say the
    session stays booked and charged, and offer the clinic."""
    appointment = _managed(turn)
    if appointment is None:
        return turn.goto("my_list")
    hours = turn.clinic.policy.cancellation_window_hours
    summary = _line(turn, appointment)
    if _too_late_to_cancel(turn, appointment):
        return turn.offer(
            turn.say("cancel_too_late", summary=summary, hours=hours),
            [("talk", turn.say("menu_talk")), ("no", turn.say("no_keep"))],
        )
    question = (
        turn.say("confirm_cancel_free", summary=summary, hours=hours)
        if hours
        else turn.say("confirm_cancel", summary=summary)
    )
    return turn.offer(question, [("yes", turn.say("yes_cancel")), ("no", turn.say("no_keep"))])


def answer_cancel(turn: Turn, text: str) -> str:
    appointment = _managed(turn)
    late = appointment is not None and _too_late_to_cancel(turn, appointment)
    choice = turn.pick_or_yes_no(text, yes="talk" if late else "yes", no="no")
    if choice == "talk":
        turn.data.pop("manage_id", None)
        return hand_to_staff(turn)
    if choice == "no":
        return f"{turn.say('kept')}\n{turn.goto('menu')}"
    if choice != "yes":
        return turn.miss(turn.say("choose_number", count=2))
    try:
        appointment = cancel_appointment(
            turn.session,
            clinic_id=turn.clinic.id,
            appointment_id=turn.data.get("manage_id"),
            now=turn.now,
            actor=turn.actor,
            reason="Cancelled by the patient in chat",
        )
    except ServiceError as exc:
        return f"{turn.refusal(exc)}\n{turn.goto('menu')}"
    turn.data.pop("manage_id", None)
    return f"{turn.say('cancelled', number=appointment.number)}\n{turn.goto('menu')}"


state("my_cancel", ask=ask_cancel, answer=answer_cancel)


# --- answering a reminder ("1. I'll be there 2. Reschedule 3. Cancel") ---------------------------


def _reminded(turn: Turn) -> Appointment | None:
    appointment_id = turn.data.get("reminder_id")
    return next((a for a in upcoming(turn) if a.id == appointment_id), None)


def ask_reminder(turn: Turn) -> str:
    appointment = _reminded(turn)
    if appointment is None:
        return turn.goto("menu")
    return turn.offer(_line(turn, appointment), reminder_choices(turn.lang))


def answer_reminder(turn: Turn, text: str) -> str:
    appointment = _reminded(turn)
    if appointment is None:  # cancelled or over since the reminder went out
        return turn.goto("menu")
    turn.data["choices"] = [[value, label] for value, label in reminder_choices(turn.lang)]
    choice = turn.pick_or_yes_no(text, yes="confirm")
    if choice == "confirm":
        try:
            confirm_appointment(
                turn.session,
                clinic_id=turn.clinic.id,
                appointment_id=appointment.id,
                now=turn.now,
                actor=turn.actor,
            )
        except ServiceError as exc:
            return f"{turn.refusal(exc)}\n{turn.goto('menu')}"
        turn.conversation.state = "menu"
        turn.data.pop("reminder_id", None)
        start = appointment.start_at.astimezone(turn.zone)
        return turn.say("reminder_thanks", time=turn.time(start))
    if choice == "reschedule":
        turn.data["manage_id"] = appointment.id
        return _start_reschedule(turn, appointment)
    if choice == "cancel":
        turn.data["manage_id"] = appointment.id
        return turn.goto("my_cancel")
    return turn.miss(turn.say("choose_number", count=3))


state("reminder", ask=ask_reminder, answer=answer_reminder)


# --- inside the window: ask the clinic to move it ---------------------------------------------

SUGGESTED_DAYS = 3  # the usual time on the next few days with room
SUGGEST_AHEAD_DAYS = 7
TIMES_OFFERED = 6
ANY_TIME_WORDS = frozenset(
    {"any", "any time", "anytime", "any other time", "any day", "whenever", "kabhi bhi"}
)


def _start_request(turn: Turn, appointment: Appointment, window: int) -> str:
    turn.data.pop("booking", None)
    if pending_request(turn.session, appointment.id) is not None:
        return f"{turn.say('request_pending', number=appointment.number)}\n{turn.goto('menu')}"
    turn.data["request_for"] = appointment.id
    return f"{turn.say('request_intro', hours=window)} {turn.goto('my_request')}"


def _requested(turn: Turn) -> Appointment | None:
    appointment_id = turn.data.get("request_for")
    return next((a for a in upcoming(turn) if a.id == appointment_id), None)


def ask_request(turn: Turn) -> str:
    appointment = _requested(turn)
    if appointment is None:
        return turn.goto("menu")
    return _offer_times(turn, turn.say("request_ask_time"), _suggestions(turn, appointment))


def answer_request(turn: Turn, text: str) -> str:
    appointment = _requested(turn)
    if appointment is None:  # cancelled or over meanwhile
        turn.data.pop("request_for", None)
        return turn.goto("menu")
    choice = turn.pick(text)
    if choice == "keep":
        turn.data.pop("request_for", None)
        return f"{turn.say('kept')}\n{turn.goto('menu')}"
    if choice == "any" or normalise(text) in ANY_TIME_WORDS:
        return _send_request(turn, appointment, None, note=None if choice else text)
    if isinstance(choice, str):
        return _send_request(turn, appointment, datetime.fromisoformat(choice), note=None)
    when = parse_when(text, turn.now, date_order=turn.date_order)
    if when is None:
        return turn.miss(turn.say("request_reask", count=turn.choice_count()))
    return _understood(turn, appointment, when, text)


state("my_request", ask=ask_request, answer=answer_request)


def _understood(turn: Turn, appointment: Appointment, when: When, text: str) -> str:
    """A day and/or time in words: file it if that exact time is free, else offer times."""
    today = turn.now.date()
    horizon = turn.clinic.policy.booking_horizon_days
    # "5pm" or "evening" alone means the session's own day.
    day = when.date or appointment.start_at.astimezone(turn.zone).date()
    if day < today:
        return turn.miss(turn.say("in_the_past"))
    if day > today + timedelta(days=horizon):
        return turn.miss(turn.say("beyond_horizon", days=horizon))
    if when.time is not None:
        target = datetime.combine(day, when.time, tzinfo=turn.zone)
        if any(s.start == target for s in _free(turn, appointment, day, day)):
            return _send_request(turn, appointment, target, note=text)
        nearby = _free(turn, appointment, day, day + timedelta(days=SUGGEST_AHEAD_DAYS))
        nearest = sorted(nearby, key=lambda s: (abs(s.start - target), s.start))[:3]
        asked = f"{turn.day(day)}, {turn.time(when.time)}"
        return _offer_times(turn, turn.say("request_not_free", when=asked), sorted(nearest))
    slots = [s for s in _free(turn, appointment, day, day) if _in_part(s, when.part)]
    prefix = ""
    if not slots:
        ahead = day + timedelta(days=SUGGEST_AHEAD_DAYS)
        later = _free(turn, appointment, day + timedelta(days=1), ahead)
        later = [s for s in later if _in_part(s, when.part)]
        prefix = turn.say("day_closed", day=turn.day(day)) + " "
        slots = [s for s in later if s.start.date() == later[0].start.date()] if later else []
    if not slots:
        return turn.miss(prefix + _offer_times(turn, turn.say("request_ask_time"), []))
    shown_day = slots[0].start.date()
    part = turn.say("part_suffix", part=turn.say(f"part_{when.part}")) if when.part else ""
    prompt = turn.say("ask_time", day=turn.day(shown_day), part=part)
    return prefix + _offer_times(turn, prompt, slots[:TIMES_OFFERED])


def _send_request(
    turn: Turn, appointment: Appointment, start: datetime | None, *, note: str | None
) -> str:
    turn.data.pop("request_for", None)
    try:
        request_reschedule(
            turn.session,
            clinic_id=turn.clinic.id,
            appointment_id=appointment.id,
            proposed_start=start,
            note=note,
            now=turn.now,
            actor=turn.actor,
        )
    except ServiceError as exc:
        return f"{turn.refusal(exc)}\n{turn.goto('menu')}"
    if start is None:
        sent = turn.say("request_sent_any", number=appointment.number)
    else:
        when = turn.when(start)
        sent = turn.say("request_sent", number=appointment.number, when=when)
    return f"{sent}\n{turn.goto('menu')}"


def _offer_times(turn: Turn, prompt: str, slots: list[Slot]) -> str:
    options: list[tuple[Any, str]] = [
        (s.start.astimezone(UTC).isoformat(), turn.when(s.start)) for s in slots
    ]
    options += [("any", turn.say("request_any_time")), ("keep", turn.say("request_keep"))]
    return turn.offer(prompt, options, hint=turn.say("request_hint"))


def _suggestions(turn: Turn, appointment: Appointment) -> list[Slot]:
    """The free time nearest the session's usual time of day, on each of the next days
    (not the session's own day: a patient who cannot come usually cannot come that day)."""
    today = turn.now.date()
    usual = appointment.start_at.astimezone(turn.zone)
    minutes = usual.hour * 60 + usual.minute
    by_day: dict[date, list[Slot]] = {}
    for slot in _free(turn, appointment, today, today + timedelta(days=SUGGEST_AHEAD_DAYS)):
        if slot.start.date() != usual.date():
            by_day.setdefault(slot.start.date(), []).append(slot)
    return [
        min(by_day[day], key=lambda s: (abs(s.start.hour * 60 + s.start.minute - minutes), s))
        for day in sorted(by_day)[:SUGGESTED_DAYS]
    ]


def _free(turn: Turn, appointment: Appointment, first: date, last: date) -> list[Slot]:
    """Free times with the same therapist, one per start, other than the session's own."""
    slots = free_slots(
        turn.session,
        clinic_id=turn.clinic.id,
        service_id=appointment.service_id,
        therapist_id=appointment.therapist_id,
        start_date=first,
        end_date=last,
        now=turn.now,
        ignore_appointment_id=appointment.id,
    )
    distinct = {s.start: s for s in reversed(slots) if s.start != appointment.start_at}
    return sorted(distinct.values())


def _in_part(slot: Slot, part: str | None) -> bool:
    if part is None:
        return True
    start, end = PART_OF_DAY_WINDOWS[part]
    return start <= slot.start.time() < end
