""" "My appointments": list upcoming sessions, then reschedule or cancel one."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.formatting import format_time, format_when
from flows.engine import Turn, state
from flows.messages import reminder_choices
from models import Appointment, AppointmentStatus, Patient
from services.appointments import cancel_appointment, confirm_appointment
from services.errors import ServiceError, TooLateToReschedule

LISTED = 10


def start_my_appointments(turn: Turn, intent: str | None = None) -> str:
    """List upcoming sessions; with an intent ("cancel", "reschedule") and only one
    session to choose from, go straight to that action for it."""
    if intent is not None:
        appointments = upcoming(turn)
        if len(appointments) == 1:
            turn.data["manage_id"] = appointments[0].id
            if intent == "cancel":
                return turn.goto("my_cancel")
            return _start_reschedule(turn, appointments[0])
    return turn.goto("my_list")


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
    return turn.say(
        "appointment_line",
        when=format_when(appointment.start_at, turn.clinic.timezone),
        service=appointment.service.name,
        patient=appointment.patient.name,
        number=appointment.number,
    )


def ask_list(turn: Turn) -> str:
    appointments = upcoming(turn)
    if not appointments:
        turn.conversation.state = "menu"
        return f"{turn.say('no_upcoming')}\n{turn.goto('menu')}"
    return turn.offer(turn.say("upcoming"), [(a.id, _line(turn, a)) for a in appointments])


def answer_list(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice is None:
        return turn.miss(turn.say("choose_number", count=turn.choice_count()))
    turn.data["manage_id"] = choice
    return turn.goto("my_manage")


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
    from flows.booking import start_booking

    window = turn.clinic.policy.reschedule_window_hours
    if appointment.start_at - turn.now < timedelta(hours=window):
        refusal = TooLateToReschedule(hours=window)
        return f"{refusal.message}\n{turn.goto('menu')}"
    return start_booking(
        turn,
        service_id=appointment.service_id,
        patient_id=appointment.patient_id,
        therapist_id=appointment.therapist_id,
        reschedule_id=appointment.id,
    )


def ask_cancel(turn: Turn) -> str:
    appointment = _managed(turn)
    if appointment is None:
        return turn.goto("my_list")
    return turn.offer(
        turn.say("confirm_cancel", summary=_line(turn, appointment)),
        [("yes", turn.say("yes_cancel")), ("no", turn.say("no_keep"))],
    )


def answer_cancel(turn: Turn, text: str) -> str:
    choice = turn.pick(text) or {"yes": "yes", "no": "no"}.get(text.casefold())
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
        return f"{exc.message}\n{turn.goto('menu')}"
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
    choice = turn.pick(text) or {"yes": "confirm", "ok": "confirm"}.get(text.casefold())
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
            return f"{exc.message}\n{turn.goto('menu')}"
        turn.conversation.state = "menu"
        turn.data.pop("reminder_id", None)
        start = appointment.start_at.astimezone(turn.zone)
        return turn.say("reminder_thanks", time=format_time(start))
    if choice == "reschedule":
        turn.data["manage_id"] = appointment.id
        return _start_reschedule(turn, appointment)
    if choice == "cancel":
        turn.data["manage_id"] = appointment.id
        return turn.goto("my_cancel")
    return turn.miss(turn.say("choose_number", count=3))


state("reminder", ask=ask_reminder, answer=answer_reminder)
