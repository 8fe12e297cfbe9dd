"""Patients' questions answered from the clinic's own data: fees, address, hours, services,
online sessions, therapists, payment methods, cancellation and reschedule policy.

Why here (services.reports) and not in services.clinics: an answer reads working hours and
closures (scheduling) and how patients pay (billing), and services.clinics sits below both
in the domain order (tests/test_layers.py). services.reports is the read-only floor above
every domain, and answering a question is a read-only report of the clinic's data for one
patient. The staff's own Q&A (the writes and the fuzzy match) stays in
services.clinics.answers, which this module calls.

``answer`` is the dispatcher: a staff answer written for the topic wins; then the built-in
answer; then, for "parking" and anything else, the staff Q&A matched against the text.
None means nothing to say: the caller hands the question to staff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote_plus

from babel import Locale
from babel.dates import get_day_names
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clinic_time import zone_of
from core.formatting import babel_locale, format_day, format_money, format_phone, format_time
from models import (
    AvailabilityException,
    Clinic,
    ExceptionKind,
    Location,
    Service,
    Therapist,
    TherapistServiceOverride,
    WeeklyHours,
)
from services.billing.payment_requests import link_provider, uses_upi
from services.clinics.answers import match_staff_answer, staff_answer_for_topic
from services.messaging.catalogue import say
from services.scheduling.opening_hours import open_windows

MAP_SEARCH = "https://www.google.com/maps/search/?api=1&query="
CLOSURES_AHEAD = timedelta(days=21)  # "closures/holidays in the next weeks"


@dataclass(frozen=True)
class Answer:
    """What to reply; ``notify_staff``: the answer is partial, a person should follow up."""

    text: str
    topic: str | None
    notify_staff: bool = False
    staff_answer_id: int | None = None


@dataclass(frozen=True)
class Question:
    """What a topic's answer may use besides the clinic: the understanding layer's entities."""

    lang: str
    now: datetime
    service_id: int | None = None
    therapist_gender: str | None = None
    day: date | None = None


def answer(
    session: Session,
    clinic: Clinic,
    topic: str | None,
    *,
    lang: str,
    now: datetime,
    service_id: int | None = None,
    therapist_gender: str | None = None,
    question_text: str | None = None,
    day: date | None = None,
) -> Answer | None:
    """The answer to a question on ``topic`` (None: unknown topic, matched by its text)."""
    if topic is not None:
        own = staff_answer_for_topic(session, clinic, topic, lang)
        if own is not None:
            return Answer(own.text, topic, staff_answer_id=own.answer_id)
        built_in = TOPICS.get(topic)
        if built_in is not None:
            question = Question(lang, now, service_id, therapist_gender, day)
            found = built_in(session, clinic, question)
            if found is not None:
                return found
    if question_text:
        staff = match_staff_answer(session, clinic, question_text, lang)
        if staff is not None:
            return Answer(staff.text, staff.topic or topic, staff_answer_id=staff.answer_id)
    return None


# --- fee and services ----------------------------------------------------------------------


def _services(session: Session, clinic: Clinic, service_id: int | None = None) -> list[Service]:
    query = (
        select(Service)
        .where(Service.clinic_id == clinic.id, Service.active.is_(True))
        .order_by(Service.id)
    )
    if service_id is not None:
        query = query.where(Service.id == service_id)
    return list(session.scalars(query))


def _price(amount_minor: int, clinic: Clinic) -> str:
    return format_money(amount_minor, clinic.currency, short=True)


def _service_line(service: Service, clinic: Clinic, lang: str) -> str:
    return say(
        lang,
        "service_line",
        name=service.name,
        minutes=service.duration_minutes,
        price=_price(service.price_minor, clinic),
    )


def fee(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    """Each service's length and price, and a therapist's own where it differs; for one
    named service only its line."""
    services = _services(session, clinic, q.service_id)
    if not services:
        return None
    overrides: dict[int, list[tuple[TherapistServiceOverride, Therapist]]] = {}
    rows = session.execute(
        select(TherapistServiceOverride, Therapist)
        .join(Therapist, Therapist.id == TherapistServiceOverride.therapist_id)
        .where(
            TherapistServiceOverride.clinic_id == clinic.id,
            TherapistServiceOverride.service_id.in_([s.id for s in services]),
            Therapist.active.is_(True),
        )
        .order_by(Therapist.name)
    )
    for override, therapist in rows:
        overrides.setdefault(override.service_id, []).append((override, therapist))
    lines = []
    for service in services:
        lines.append(_service_line(service, clinic, q.lang))
        for override, therapist in overrides.get(service.id, []):
            # The same rule as booking (availability.load_context): an override's own
            # price or length where set, the service's otherwise.
            price = override.price_minor
            price = service.price_minor if price is None else price
            minutes = override.duration_minutes or service.duration_minutes
            if (price, minutes) == (service.price_minor, service.duration_minutes):
                continue  # nothing different to say
            lines.append(
                say(
                    q.lang,
                    "answer_fee_override",
                    therapist=therapist.name,
                    minutes=minutes,
                    price=_price(price, clinic),
                )
            )
    if q.service_id is not None:
        return Answer("\n".join(lines), "fee")
    intro = say(q.lang, "answer_fee_intro", clinic=clinic.name)
    return Answer("\n".join([intro, *lines]), "fee")


def services_offered(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    services = _services(session, clinic)
    if not services:
        return None
    lines = [
        _service_line(s, clinic, q.lang) + (say(q.lang, "answer_online_tag") if s.online else "")
        for s in services
    ]
    intro = say(q.lang, "answer_services_intro", clinic=clinic.name)
    return Answer("\n".join([intro, *lines]), "services")


def online(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    services = _services(session, clinic)
    if not services:
        return None
    offered = [s for s in services if s.online]
    if not offered:
        return Answer(say(q.lang, "answer_online_no", clinic=clinic.name), "online")
    names = "\n".join(s.name for s in offered)
    return Answer(say(q.lang, "answer_online_yes", clinic=clinic.name, services=names), "online")


# --- where --------------------------------------------------------------------------------


def map_link(location: Location) -> str | None:
    """The clinic's own map link, else a Google Maps search for the address."""
    if location.map_url:
        return location.map_url
    if location.address:
        return MAP_SEARCH + quote_plus(location.address)
    return None


def address(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    locations = session.scalars(
        select(Location)
        .where(
            Location.clinic_id == clinic.id,
            Location.active.is_(True),
            Location.address.is_not(None),
        )
        .order_by(Location.id)
    ).all()
    if not locations:
        return None
    lines = [say(q.lang, "answer_address_intro", clinic=clinic.name)]
    for location in locations:
        lines.append(
            say(
                q.lang,
                "answer_location",
                name=location.name,
                address=location.address,
                map_url=map_link(location),
            )
        )
    if clinic.phone:
        lines.append(say(q.lang, "answer_phone", phone=format_phone(clinic.phone)))
    return Answer("\n".join(lines), "address")


# --- when ---------------------------------------------------------------------------------


Windows = list[tuple[int, int]]  # (start minute, end minute) after local midnight


def _merge(windows: list[tuple[int, int]]) -> Windows:
    merged: Windows = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clock(minute: int) -> str:
    return format_time(time.max if minute >= 24 * 60 else time(minute // 60, minute % 60))


def _span(windows: Windows, lang: str) -> str:
    if not windows:
        return say(lang, "answer_closed")
    return ", ".join(f"{_clock(start)}–{_clock(end)}" for start, end in windows)


def _day_names(lang: str) -> dict[int, str]:
    """Mon … Sun (0 = Monday, as ``date.weekday``) in the contact's language."""
    return dict(get_day_names("abbreviated", locale=babel_locale(lang)))


def _day_label(day: date, lang: str) -> str:
    return format_day(day, lang)


def weekly_hours(session: Session, clinic: Clinic) -> dict[int, Windows]:
    """The clinic's usual week: for each weekday, when any active therapist works."""
    rows = session.execute(
        select(WeeklyHours.weekday, WeeklyHours.start_time, WeeklyHours.end_time)
        .join(Therapist, Therapist.id == WeeklyHours.therapist_id)
        .where(WeeklyHours.clinic_id == clinic.id, Therapist.active.is_(True))
    )
    by_day: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
    for weekday, start, end in rows:
        by_day[weekday].append((start.hour * 60 + start.minute, end.hour * 60 + end.minute))
    return {d: _merge(w) for d, w in by_day.items()}


def hours_on(session: Session, clinic: Clinic, day: date) -> Windows:
    """When the clinic is open on one date: weekly hours, extra hours and closures applied
    exactly as the booking rules apply them (services.scheduling.opening_hours)."""
    return open_windows(session, clinic, day, day)[day]


def _week_lines(week: dict[int, Windows], lang: str) -> list[str]:
    """Consecutive days with the same hours on one line: ``Mon–Fri: 9:00 am–6:00 pm``."""
    names = _day_names(lang)
    lines, day = [], 0
    while day < 7:
        last = day
        while last + 1 < 7 and week[last + 1] == week[day]:
            last += 1
        days = names[day] if last == day else f"{names[day]}–{names[last]}"
        lines.append(say(lang, "answer_hours_line", days=days, hours=_span(week[day], lang)))
        day = last + 1
    return lines


def clinic_closures(session: Session, clinic: Clinic, today: date) -> list[AvailabilityException]:
    """Whole-clinic closures (holidays) from today over the next weeks."""
    return list(
        session.scalars(
            select(AvailabilityException)
            .where(
                AvailabilityException.clinic_id == clinic.id,
                AvailabilityException.kind == ExceptionKind.CLOSED,
                AvailabilityException.therapist_id.is_(None),
                AvailabilityException.end_date >= today,
                AvailabilityException.start_date <= today + CLOSURES_AHEAD,
            )
            .order_by(AvailabilityException.start_date)
        )
    )


def _closure_line(closure: AvailabilityException, today: date, lang: str) -> str:
    first = max(closure.start_date, today)
    day = _day_label(first, lang)
    if closure.end_date > first:
        day = f"{day}–{_day_label(closure.end_date, lang)}"
    if closure.start_time is not None and closure.end_time is not None:
        day = f"{day}, {format_time(closure.start_time)}–{format_time(closure.end_time)}"
    reason = f" ({closure.reason})" if closure.reason else ""
    return say(lang, "answer_closure_line", day=day, reason=reason)


def _today(clinic: Clinic, now: datetime) -> date:
    return now.astimezone(zone_of(clinic.timezone)).date()


def hours(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    week = weekly_hours(session, clinic)
    if not any(week.values()):
        return None
    lines = [say(q.lang, "answer_hours_intro", clinic=clinic.name), *_week_lines(week, q.lang)]
    today = _today(clinic, q.now)
    closures = clinic_closures(session, clinic, today)
    if closures:
        lines.append(say(q.lang, "answer_closures_intro"))
        lines += [_closure_line(c, today, q.lang) for c in closures]
    return Answer("\n".join(lines), "hours")


def open_day(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    """ "Open on Sunday?": yes with that day's hours, or no (with a holiday's reason); with no
    day, the week."""
    if q.day is None:
        found = hours(session, clinic, q)
        return Answer(found.text, "open_day") if found is not None else None
    windows = hours_on(session, clinic, q.day)
    day = _day_label(q.day, q.lang)
    if windows:
        text = say(
            q.lang, "answer_open_yes", clinic=clinic.name, day=day, hours=_span(windows, q.lang)
        )
        return Answer(text, "open_day")
    holiday = next(
        (
            c
            for c in clinic_closures(session, clinic, q.day)
            if c.start_date <= q.day <= c.end_date and c.start_time is None
        ),
        None,
    )
    reason = f" ({holiday.reason})" if holiday is not None and holiday.reason else ""
    return Answer(
        say(q.lang, "answer_open_no", clinic=clinic.name, day=day, reason=reason), "open_day"
    )


# --- who ----------------------------------------------------------------------------------


def _language_names(codes: list[str], lang: str) -> str:
    names = Locale.parse(babel_locale(lang)).languages
    return ", ".join(names.get(code, code) for code in codes)


def _therapist_line(therapist: Therapist, lang: str) -> str:
    details = []
    if therapist.gender in ("female", "male"):
        details.append(say(lang, f"answer_{therapist.gender}"))
    if therapist.languages:
        languages = _language_names(therapist.languages, lang)
        details.append(say(lang, "answer_speaks", languages=languages))
    line = say(lang, "therapist_line", name=therapist.name, specialization=therapist.specialization)
    return " · ".join([line, *details])


def _therapists(session: Session, clinic: Clinic) -> list[Therapist]:
    return list(
        session.scalars(
            select(Therapist)
            .where(Therapist.clinic_id == clinic.id, Therapist.active.is_(True))
            .order_by(Therapist.name)
        )
    )


def therapists(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    """The therapists, with specialization and, where recorded, gender and languages; asked
    for a gender, those of it (or a plain "no", or a person to answer if none is recorded)."""
    everyone = _therapists(session, clinic)
    if not everyone:
        return None
    listing = "\n".join(_therapist_line(t, q.lang) for t in everyone)
    gender = q.therapist_gender if q.therapist_gender in ("female", "male") else None
    if gender is None:
        intro = say(q.lang, "answer_therapists_intro")
        return Answer(f"{intro}\n{listing}", "therapists")
    matching = [t for t in everyone if t.gender == gender]
    if matching:
        lines = "\n".join(_therapist_line(t, q.lang) for t in matching)
        text = say(q.lang, f"answer_{gender}_yes", clinic=clinic.name, therapists=lines)
        return Answer(text, "therapist_gender")
    if all(t.gender is not None for t in everyone):
        text = say(q.lang, f"answer_{gender}_none", clinic=clinic.name, therapists=listing)
        return Answer(text, "therapist_gender")
    text = say(q.lang, "answer_not_recorded", clinic=clinic.name, therapists=listing)
    return Answer(text, "therapist_gender", notify_staff=True)


# --- money and rules ----------------------------------------------------------------------


def payment_methods(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    """How patients pay, decided where payment requests decide it
    (services.billing.payment_requests): a payment link (by card only through Stripe), UPI,
    and always the desk."""
    ways = []
    provider = link_provider(clinic)
    if provider == "stripe":  # Stripe's Checkout takes cards here, not UPI or net banking
        ways.append(say(q.lang, "answer_pay_card_online"))
    elif provider is not None:
        ways.append(say(q.lang, "answer_pay_online"))
    if uses_upi(clinic):
        ways.append(say(q.lang, "answer_pay_upi", vpa=clinic.upi_vpa))
    ways.append(say(q.lang, "answer_pay_desk"))
    lines = [say(q.lang, "answer_pay_intro", clinic=clinic.name), *(f"• {w}" for w in ways)]
    return Answer("\n".join(lines), "payment_methods")


def cancellation_policy(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    policy = clinic.policy
    text = say(q.lang, "answer_cancellation", hours=policy.cancellation_window_hours)
    return Answer(text, "cancellation_policy")


def reschedule_policy(session: Session, clinic: Clinic, q: Question) -> Answer | None:
    policy = clinic.policy
    text = say(
        q.lang,
        "answer_reschedule",
        hours=policy.reschedule_window_hours,
        notice=policy.min_notice_hours,
    )
    return Answer(text, "reschedule_policy")


TOPICS: dict[str, Callable[[Session, Clinic, Question], Answer | None]] = {
    "fee": fee,
    "address": address,
    "hours": hours,
    "open_day": open_day,
    "services": services_offered,
    "online": online,
    "therapists": therapists,
    "therapist_gender": therapists,
    "payment_methods": payment_methods,
    "cancellation_policy": cancellation_policy,
    "reschedule_policy": reschedule_policy,
}
