"""The booking form's last step: the summary the patient confirms, and booking it.

The summary says everything the booking will be: who, what, with whom, when, where
(with the address; an online session says so, and "✅ Booked!" carries its link), the
price, a group's seats left and, for a session paid in advance, what to pay by when; so
"✅ Booked!" is never followed by a surprise. The booking itself is
``services.scheduling.appointments``: the same rules and the same no-double-booking
guarantee as the admin panel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flows.booking_when import back_to_menu, booking, forget_time, free_for, offer_slots
from flows.dialog import Turn
from flows.payment import booking_payment_note, prepayment_note
from models import Appointment, AppointmentStatus, BookingSource, Location, Patient
from services.errors import ServiceError, SlotUnavailable
from services.messaging import online
from services.scheduling.appointments import book_appointment, reschedule_appointment
from services.scheduling.availability import BookingContext, load_context
from services.scheduling.session_calendar import calendar_url


def summary(turn: Turn, key: str) -> str:
    """The booking as it will be made: who, what, with whom, when, where, the price,
    the group's seats and, for a session paid in advance, what to pay by when."""
    data = booking(turn)
    start = datetime.fromisoformat(data["start"])
    ctx = load_context(turn.session, turn.clinic.id, data["service_id"], data["slot_therapist"])
    offer = ctx.offers[data["slot_therapist"]]
    end = start + timedelta(minutes=offer.duration_minutes)
    patient = turn.session.get(Patient, data["patient_id"])
    location = turn.session.get(Location, data["slot_location"])
    when = turn.span(start, end)
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
        location=turn.say("online_place") if data.get("online") else location_text(turn, location),
        price=turn.money(offer.price_minor),
    )
    if ctx.service.capacity > 1:
        text += "\n" + turn.say(
            "group_line", capacity=ctx.service.capacity, seats=_seats_left(turn, ctx, start)
        )
    note = prepayment_note(turn, ctx.service, data["patient_id"], offer.price_minor)
    return f"{text}\n{note}" if note else text


def nothing_to_add(turn: Turn) -> bool:
    """Would the summary say nothing the time list did not: a one-to-one session, not
    paid in advance, not a move of an existing one?"""
    data = booking(turn)
    if data.get("reschedule_id"):
        return False
    ctx = load_context(turn.session, turn.clinic.id, data["service_id"], data["slot_therapist"])
    offer = ctx.offers[data["slot_therapist"]]
    if ctx.service.capacity > 1:
        return False
    return not prepayment_note(turn, ctx.service, data["patient_id"], offer.price_minor)


def _seats_left(turn: Turn, ctx: BookingContext, start: datetime) -> int:
    day = start.astimezone(turn.zone).date()
    for slot in free_for(turn, day, day):
        if slot.start == start and slot.therapist_id == booking(turn)["slot_therapist"]:
            return slot.seats_left
    return ctx.service.capacity


def location_text(turn: Turn, location: Location | None) -> str:
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


def book(turn: Turn) -> str:
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
                online=data.get("online"),
            )
    except SlotUnavailable as exc:
        if not exc.alternatives:
            return back_to_menu(turn, f"{turn.refusal(exc)} {turn.say('offer_talk')}")
        forget_time(data)
        return offer_slots(turn, turn.say("slot_just_taken"), exc.alternatives, with_day=True)
    except ServiceError as exc:
        return back_to_menu(turn, f"{turn.refusal(exc)} {turn.say('offer_talk')}")
    turn.data.pop("booking", None)
    turn.conversation.state = "menu"
    when = turn.when(appointment.start_at)
    if data.get("reschedule_id"):
        moved = turn.say(
            "rescheduled",
            number=appointment.number,
            when=when,
            therapist=appointment.therapist.name,
        )
        if appointment.online:
            moved = f"{moved}\n{online.online_line(turn.lang, appointment, with_link=True)}"
        return moved + calendar_line(turn, appointment)
    return booked_text(turn, appointment)


def booked_text(turn: Turn, appointment: Appointment) -> str:
    """ "✅ Booked!" with everything the booking is (an online session: its link, no
    address), and what to pay if anything; or, at a clinic that approves chat bookings,
    that the request went to the clinic."""
    if appointment.status is AppointmentStatus.REQUESTED:
        return turn.say(
            "booking_requested",
            number=appointment.number,
            patient=appointment.patient.name,
            service=appointment.service.name,
            when=turn.when(appointment.start_at),
            therapist=appointment.therapist.name,
            clinic=turn.clinic.name,
        )
    return (
        turn.say(
            "booked",
            number=appointment.number,
            patient=appointment.patient.name,
            service=appointment.service.name,
            when=turn.when(appointment.start_at),
            therapist=appointment.therapist.name,
            location=online.place_text(
                turn.lang, appointment, location_text(turn, appointment.location)
            ),
            price=turn.money(appointment.price_minor),
            reminders=_reminder_text(turn),
        )
        + calendar_line(turn, appointment)
        + booking_payment_note(turn, appointment)
    )


def calendar_line(turn: Turn, appointment: Appointment) -> str:
    """A new line with the session's "add to calendar" link (a course's session: the
    whole course), or nothing where the channel gave no public links."""
    if turn.links is None:
        return ""
    return "\n" + turn.say("add_to_calendar", calendar_url=calendar_url(turn.links, appointment))


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
