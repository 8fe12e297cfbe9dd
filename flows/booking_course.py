"""The booking form's course step: "every Monday and Thursday at 5 for 8 weeks".

When the message asked for a course (``Understanding.repeat``, kept in the form's data
as ``repeat``), this step takes the place of the "when" question once service, patient
and therapist are known. It asks only what the words left out (the time of day, how
many weeks) and, for a service given either way, "In person or online (video call)?"
(``flows.booking_delivery``'s question, answered as for one session), then says the
course back: how many sessions, from when to when, at what price, online or not, and
which of its times are not free. "Yes" books it (online or in person) through
``services.scheduling.series`` (the panel's rules and no-double-booking guarantee); the
reply names the first and last sessions and the times that could not be had. "Change"
drops the course and asks for one time, as the ordinary form does.

With "any therapist", the course goes to the therapist who has the most of its times
free (a course keeps one therapist).
"""

from __future__ import annotations

import re
from datetime import date, time

from flows.booking_confirm import calendar_line
from flows.booking_delivery import ask_delivery, check_delivery, chosen_delivery, only_delivery
from flows.booking_when import back_to_menu, booking, forget_time, wanted_of
from flows.dialog import Turn
from flows.free_times import Wanted, read_wanted
from flows.understanding.repeat import MAX_WEEKS, Repeat
from models import AppointmentStatus, BookingSource, Patient
from services.billing.payment_requests import course_package_total
from services.errors import ServiceError
from services.scheduling.availability import load_context
from services.scheduling.series import Clash, Pattern, SeriesPlan, book_series, plan_series

REPEAT = "repeat"
DELIVERY = "delivery"  # the course step's "in person or online?" (``course_asks``)
SHOWN_CLASHES = 6  # the times not free, named one by one up to this many
_A_NUMBER = re.compile(r"[0-9०-९]+")


def is_course(data: dict) -> bool:
    return REPEAT in data


def ask_course(turn: Turn) -> str:
    data = booking(turn)
    repeat = Repeat.from_data(data[REPEAT])
    at = wanted_of(turn).at
    if at is None:
        data["course_asks"] = "time"
        return turn.say("course_ask_time", days=turn.weekdays(repeat.weekdays))
    if repeat.session_count() is None:
        data["course_asks"] = "weeks"
        return turn.say("course_ask_weeks")
    if "online" in data:
        check_delivery(turn)  # a choice made for another service is asked again
    if "online" not in data and not only_delivery(turn):
        data["course_asks"] = DELIVERY
        return ask_delivery(turn)
    data["course_asks"] = "confirm"
    try:
        therapist_id, plan = _best_plan(turn, _pattern(turn, repeat, at))
    except ServiceError as exc:
        return back_to_menu(turn, f"{turn.refusal(exc)} {turn.say('offer_talk')}")
    if not plan.free:
        return back_to_menu(turn, turn.say("course_none_free"))
    data["course_therapist"] = therapist_id
    ctx = load_context(turn.session, turn.clinic.id, data["service_id"], therapist_id)
    offer = ctx.offers[therapist_id]
    patient = turn.session.get(Patient, data["patient_id"])
    text = turn.say(
        "course_summary",
        service=ctx.service.name,
        patient=patient.name if patient else "",
        therapist=offer.name,
        every=_every(turn, repeat, at),
        count=len(plan.free),
        first=turn.day(plan.free[0].start.date()),
        last=turn.day(plan.free[-1].start.date()),
        price=turn.money(offer.price_minor),
    )
    if data.get("online"):
        text += "\n" + turn.say("online_place")
    if plan.clashes:
        text += "\n" + turn.say(
            "course_clashes", missed=len(plan.clashes), days=_days(turn, plan.clashes)
        )
    total = course_package_total(turn.clinic, ctx.service, offer.price_minor, len(plan.free))
    if total is not None:
        text += "\n" + turn.say("course_package", total=turn.money(total))
    return turn.offer(text, [("confirm", turn.say("course_book")), ("change", turn.say("change"))])


def answer_course(turn: Turn, text: str) -> str:
    data = booking(turn)
    repeat = Repeat.from_data(data[REPEAT])
    asks = data.get("course_asks")
    if asks == "time":
        wanted = read_wanted(text, turn.now, turn.date_order)
        if wanted is None or wanted.at is None:
            return turn.miss(turn.say("course_ask_time", days=turn.weekdays(repeat.weekdays)))
        data["wanted"] = Wanted(at=wanted.at).to_data()
        return ask_course(turn)
    if asks == "weeks":
        match = _A_NUMBER.search(text.translate(_DEVANAGARI_DIGITS))
        weeks = int(match[0]) if match else None
        if weeks is None or not 1 <= weeks <= MAX_WEEKS:
            return turn.miss(turn.say("course_ask_weeks"))
        data[REPEAT] = Repeat(repeat.weekdays, repeat.every_weeks, weeks=weeks).to_data()
        return ask_course(turn)
    if asks == DELIVERY:
        online = chosen_delivery(turn, text)
        if online is None:
            return turn.miss(turn.say("choose_number", count=2))
        data["online"] = online
        return ask_course(turn)
    choice = turn.pick_or_yes_no(text, yes="confirm", no="change")
    if choice == "confirm":
        return _book(turn, repeat)
    if choice == "change":  # one session after all: the ordinary "when" question
        for key in (REPEAT, "course_asks", "course_therapist", "wanted"):
            data.pop(key, None)
        forget_time(data)
        return turn.goto("book_when")
    return turn.miss(turn.say("choose_number", count=2))


_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


def _pattern(turn: Turn, repeat: Repeat, at: time) -> Pattern:
    today: date = turn.now.date()
    return Pattern(
        weekdays=repeat.weekdays,
        local_time=at,
        first_date=today,
        every_weeks=repeat.every_weeks,
        sessions=repeat.session_count(),
    )


def _best_plan(turn: Turn, pattern: Pattern) -> tuple[int, SeriesPlan]:
    """The therapist asked for, or (any therapist) the one with most of the times free."""
    data = booking(turn)
    chosen = data.get("therapist_id")
    candidates = (
        [chosen]
        if chosen
        else sorted(load_context(turn.session, turn.clinic.id, data["service_id"]).offers)
    )
    plans = [
        (
            therapist_id,
            plan_series(
                turn.session,
                clinic_id=turn.clinic.id,
                service_id=data["service_id"],
                therapist_id=therapist_id,
                pattern=pattern,
                now=turn.now,
                actor=turn.actor,
            ),
        )
        for therapist_id in candidates
    ]
    return max(plans, key=lambda p: (len(p[1].free), -candidates.index(p[0])))


def _every(turn: Turn, repeat: Repeat, at: time) -> str:
    key = "course_every" if repeat.every_weeks == 1 else "course_every_other"
    return turn.say(key, days=turn.weekdays(repeat.weekdays), time=turn.time(at))


def _days(turn: Turn, clashes: list[Clash]) -> str:
    named = ", ".join(turn.day(c.start.date()) for c in clashes[:SHOWN_CLASHES])
    return f"{named}, …" if len(clashes) > SHOWN_CLASHES else named


def _book(turn: Turn, repeat: Repeat) -> str:
    data = booking(turn)
    at = wanted_of(turn).at
    assert at is not None
    try:
        result = book_series(
            turn.session,
            clinic_id=turn.clinic.id,
            patient_id=data["patient_id"],
            service_id=data["service_id"],
            therapist_id=data["course_therapist"],
            pattern=_pattern(turn, repeat, at),
            now=turn.now,
            actor=turn.actor,
            source=BookingSource.CHAT,
            online=data.get("online"),
        )
    except ServiceError as exc:
        return back_to_menu(turn, f"{turn.refusal(exc)} {turn.say('offer_talk')}")
    if not result.booked:
        return back_to_menu(turn, turn.say("course_none_free"))
    first, last = result.booked[0], result.booked[-1]
    requested = first.status is AppointmentStatus.REQUESTED  # the clinic approves first
    text = turn.say(
        "course_requested" if requested else "course_booked",
        count=len(result.booked),
        service=first.service.name,
        patient=first.patient.name,
        therapist=first.therapist.name,
        every=_every(turn, repeat, at),
        first=turn.when(first.start_at),
        last=turn.day(last.start_at.astimezone(turn.zone).date()),
        clinic=turn.clinic.name,
    )
    if result.clashes:
        text += "\n" + turn.say("course_not_booked", days=_days(turn, result.clashes))
    if not requested:
        text += calendar_line(turn, first)  # the whole course, in one file
    turn.data.pop("booking", None)
    turn.conversation.state = "menu"
    return text
