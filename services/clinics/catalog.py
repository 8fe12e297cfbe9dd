"""Therapists, services, prices and working hours: create, validate, save.

The admin panel edits these (and patients and contacts) through ``save_record``
and ``delete_record``, so a form can never store what these validators refuse,
and every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import (
    AvailabilityException,
    Channel,
    ClinicAnswer,
    ClinicPolicy,
    Contact,
    ExceptionKind,
    Location,
    MessageTemplate,
    Package,
    Patient,
    Service,
    Therapist,
    TherapistServiceOverride,
    WeeklyHours,
)
from services import audit
from services.audit import Actor
from services.clinics import video_rooms
from services.clinics.answers import validate_clinic_answer
from services.errors import N_, InvalidInput, NotFound
from services.people.patients import clean_name, validate_contact, validate_patient

GENDERS = ("female", "male")
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
MAX_ALIASES = 10
MAX_ALIAS = 40


def comma_list(value: str | list[str] | None) -> list[str]:
    """A list field as stored (a list) or as the panel's text field gives it ("en, hi")."""
    items = value.split(",") if isinstance(value, str) else value or []
    return [item.strip() for item in items if item and item.strip()]


def validate_service(service: Service) -> None:
    service.name = clean_name(service.name, N_("service name"))
    service.specialization = clean_name(service.specialization, N_("specialization")).lower()
    if service.price_minor is None or service.price_minor < 0:
        raise InvalidInput(detail=N_("The price cannot be negative."))
    if service.duration_minutes is None or not 5 <= service.duration_minutes <= 480:
        raise InvalidInput(detail=N_("A session lasts between 5 and 480 minutes."))
    if service.capacity is None or service.capacity < 1:
        raise InvalidInput(detail=N_("Capacity must be at least 1."))
    if service.in_person is None:
        service.in_person = True
    service.online = bool(service.online)
    if not (service.in_person or service.online):
        raise InvalidInput(detail=N_("A service is given in person, online, or both."))
    if service.hold_minutes is None:
        service.hold_minutes = 30
    if not 15 <= service.hold_minutes <= 1440:
        raise InvalidInput(detail=N_("An unpaid booking is held for 15 to 1440 minutes."))
    aliases = [clean_name(alias, N_("other name")) for alias in comma_list(service.aliases)]
    if len(aliases) > MAX_ALIASES or any(len(alias) > MAX_ALIAS for alias in aliases):
        raise InvalidInput(
            N_("Give up to %(most)s other names of %(length)s characters at most."),
            most=MAX_ALIASES,
            length=MAX_ALIAS,
        )
    service.aliases = list(dict.fromkeys(aliases)) or None


def validate_package(package: Package) -> None:
    package.name = clean_name(package.name, N_("package name"))
    if package.sessions is None or not 1 <= package.sessions <= 200:
        raise InvalidInput(detail=N_("A package has 1 to 200 sessions."))
    if package.price_minor is None or package.price_minor < 0:
        raise InvalidInput(detail=N_("The price cannot be negative."))


def validate_therapist(therapist: Therapist) -> None:
    therapist.name = clean_name(therapist.name, N_("therapist name"))
    therapist.specialization = clean_name(therapist.specialization, N_("specialization")).lower()
    therapist.gender = therapist.gender or None
    if therapist.gender not in (None, *GENDERS):
        raise InvalidInput(detail=N_("Gender is female, male or not recorded."))
    codes = [code.lower() for code in comma_list(therapist.languages)]
    if not all(LANGUAGE_CODE.fullmatch(code) for code in codes):
        raise InvalidInput(
            detail=N_("Languages are codes such as en, hi, ta, separated by commas.")
        )
    therapist.languages = list(dict.fromkeys(codes))
    therapist.video_link = video_rooms.clean_video_url(therapist.video_link)


def validate_location(location: Location) -> None:
    location.name = clean_name(location.name, N_("location name"))
    location.address = (location.address or "").strip() or None
    location.map_url = (location.map_url or "").strip() or None
    if location.map_url is not None and not location.map_url.startswith("https://"):
        raise InvalidInput(detail=N_("A map link starts with https://"))


def validate_override(override: TherapistServiceOverride) -> None:
    if override.price_minor is not None and override.price_minor < 0:
        raise InvalidInput(detail=N_("The price cannot be negative."))
    if override.duration_minutes is not None and not 5 <= override.duration_minutes <= 480:
        raise InvalidInput(detail=N_("A session lasts between 5 and 480 minutes."))


def validate_weekly_hours(hours: WeeklyHours) -> None:
    if hours.weekday is None or not 0 <= hours.weekday <= 6:
        raise InvalidInput(detail=N_("The weekday must be Monday to Sunday."))
    _ordered_times(hours.start_time, hours.end_time)


def validate_exception(exc: AvailabilityException) -> None:
    if exc.start_date is None or exc.end_date is None or exc.start_date > exc.end_date:
        raise InvalidInput(detail=N_("The end date cannot be before the start date."))
    if (exc.start_time is None) != (exc.end_time is None):
        raise InvalidInput(detail=N_("Give both a start and an end time, or neither."))
    if exc.start_time is not None:
        _ordered_times(exc.start_time, exc.end_time)
    if exc.kind is ExceptionKind.EXTRA and (
        exc.therapist_id is None or exc.location_id is None or exc.start_time is None
    ):
        raise InvalidInput(detail=N_("Extra hours need a therapist, a location and times."))


def validate_template(template: MessageTemplate) -> None:
    """A WhatsApp template needs the Content SID Twilio gave it; an SMS one its text."""
    template.key = (template.key or "").strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", template.key):
        raise InvalidInput(detail=N_("The key is a short name such as reminder or dues_reminder."))
    if template.channel is Channel.WHATSAPP:
        if not re.fullmatch(r"HX[0-9a-fA-F]{32}", (template.content_sid or "").strip()):
            raise InvalidInput(
                detail=N_("A WhatsApp template needs its Content SID (HX + 32 hex).")
            )
        template.content_sid = template.content_sid.strip()
    elif not (template.body or "").strip():
        raise InvalidInput(detail=N_("An SMS template needs its registered text."))
    order = template.variable_order or []
    if isinstance(order, str):
        order = [name.strip() for name in order.split(",") if name.strip()]
    if not all(re.fullmatch(r"[a-z_]+", name) for name in order):
        raise InvalidInput(detail=N_("Variables are names such as patient, when, number."))
    template.variable_order = order


def validate_policy(policy: ClinicPolicy) -> None:
    """Booking rules within sane bounds; reminder offsets as whole hours, largest first."""
    ranges = {
        "booking_horizon_days": (1, 366, N_("The booking horizon is 1 to 366 days.")),
        "min_notice_hours": (0, 720, N_("Minimum notice is 0 to 720 hours.")),
        "cancellation_window_hours": (0, 720, N_("The cancellation window is 0 to 720 hours.")),
        "reschedule_window_hours": (0, 720, N_("The reschedule window is 0 to 720 hours.")),
        "slot_step_minutes": (5, 240, N_("The slot step is 5 to 240 minutes.")),
        "dues_reminder_day": (1, 28, N_("The dues reminder day is 1 to 28.")),
        "tax_rate_bp": (0, 5000, N_("The tax rate is 0 to 5000 basis points (0 to 50 %).")),
        "financial_year_start_month": (1, 12, N_("The financial year starts in month 1 to 12.")),
        "document_max_mb": (1, 50, N_("The largest document is 1 to 50 MB.")),
    }
    defaults = (("tax_rate_bp", 0), ("financial_year_start_month", 4), ("document_max_mb", 10))
    for name, default in defaults:
        if getattr(policy, name) is None:
            setattr(policy, name, default)
    for name, (low, high, message) in ranges.items():
        value = getattr(policy, name)
        if value is None or not low <= value <= high:
            raise InvalidInput(detail=message)
    offsets = policy.reminder_offsets_hours
    if isinstance(offsets, str):
        try:
            offsets = [int(part) for part in offsets.replace(" ", "").split(",") if part]
        except ValueError:
            raise InvalidInput(detail=N_("Reminder offsets are hours, e.g. 24, 2.")) from None
    if not all(isinstance(h, int) and 1 <= h <= 720 for h in offsets or []):
        raise InvalidInput(detail=N_("Each reminder offset is 1 to 720 hours before the session."))
    policy.reminder_offsets_hours = sorted(set(offsets or []), reverse=True)
    policy.video_rooms = video_rooms.clean_video_rooms(policy.video_rooms or video_rooms.JITSI)
    policy.jitsi_base_url = video_rooms.clean_jitsi_base_url(policy.jitsi_base_url)


VALIDATORS: dict[type, Callable[[Any], None]] = {
    Service: validate_service,
    Therapist: validate_therapist,
    TherapistServiceOverride: validate_override,
    WeeklyHours: validate_weekly_hours,
    AvailabilityException: validate_exception,
    Location: validate_location,
    Patient: validate_patient,
    Contact: validate_contact,
    MessageTemplate: validate_template,
    ClinicPolicy: validate_policy,
    Package: validate_package,
    ClinicAnswer: validate_clinic_answer,
}


def save_record(
    session: Session,
    obj: Any,
    *,
    clinic_id: int,
    actor: Actor,
    before: dict[str, Any] | None,
) -> Any:
    """Validate and store a new or edited catalogue row of ``clinic_id``, with its audit row.

    ``before`` is the snapshot taken before the form touched the object (None
    for a new one). The caller must not have flushed the object.
    """
    validator = VALIDATORS.get(type(obj))
    if validator is None:
        raise TypeError(f"{type(obj).__name__} is not a catalogue record")
    validator(obj)
    obj.clinic_id = clinic_id
    _check_references(session, obj, clinic_id)
    session.add(obj)
    session.flush()
    action = f"{_entity(obj)}.{'create' if before is None else 'update'}"
    audit.record(
        session, clinic_id=clinic_id, actor=actor, action=action, entity=obj, before=before
    )
    session.commit()
    return obj


def delete_record(session: Session, obj: Any, *, clinic_id: int, actor: Actor) -> None:
    if type(obj) not in VALIDATORS or obj.clinic_id != clinic_id:
        raise NotFound(what=N_("record"))
    before = audit.snapshot(obj)
    audit.record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action=f"{_entity(obj)}.delete",
        entity=obj,
        before=before,
    )
    session.delete(obj)
    session.commit()


def create_therapist(
    session: Session, *, clinic_id: int, name: str, specialization: str, actor: Actor
) -> Therapist:
    with write_transaction(session):
        therapist = Therapist(clinic_id=clinic_id, name=name, specialization=specialization)
        validate_therapist(therapist)
        session.add(therapist)
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="therapist.create", entity=therapist
        )
    return therapist


def create_service(
    session: Session,
    *,
    clinic_id: int,
    name: str,
    specialization: str,
    duration_minutes: int,
    price_minor: int,
    actor: Actor,
    capacity: int = 1,
    in_person: bool = True,
    online: bool = False,
) -> Service:
    with write_transaction(session):
        service = Service(
            clinic_id=clinic_id,
            name=name,
            specialization=specialization,
            duration_minutes=duration_minutes,
            price_minor=price_minor,
            capacity=capacity,
            in_person=in_person,
            online=online,
        )
        validate_service(service)
        session.add(service)
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="service.create", entity=service
        )
    return service


def add_weekly_hours(
    session: Session,
    *,
    clinic_id: int,
    therapist_id: int,
    location_id: int,
    weekday: int,
    start: time,
    end: time,
    actor: Actor,
) -> WeeklyHours:
    with write_transaction(session):
        hours = WeeklyHours(
            clinic_id=clinic_id,
            therapist_id=therapist_id,
            location_id=location_id,
            weekday=weekday,
            start_time=start,
            end_time=end,
        )
        validate_weekly_hours(hours)
        _check_references(session, hours, clinic_id)
        session.add(hours)
        audit.record(session, clinic_id=clinic_id, actor=actor, action="hours.create", entity=hours)
    return hours


def add_exception(
    session: Session,
    *,
    clinic_id: int,
    kind: ExceptionKind,
    start_date: date,
    end_date: date,
    actor: Actor,
    therapist_id: int | None = None,
    location_id: int | None = None,
    start: time | None = None,
    end: time | None = None,
    reason: str | None = None,
) -> AvailabilityException:
    with write_transaction(session):
        exc = AvailabilityException(
            clinic_id=clinic_id,
            kind=kind,
            therapist_id=therapist_id,
            location_id=location_id,
            start_date=start_date,
            end_date=end_date,
            start_time=start,
            end_time=end,
            reason=reason,
        )
        validate_exception(exc)
        _check_references(session, exc, clinic_id)
        session.add(exc)
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="exception.create", entity=exc
        )
    return exc


def _ordered_times(start: time | None, end: time | None) -> None:
    if start is None or end is None or start >= end:
        raise InvalidInput(detail=N_("The start time must be before the end time."))


_REFERENCES = {
    "contact_id": Contact,
    "therapist_id": Therapist,
    "service_id": Service,
    "location_id": Location,
}


def _check_references(session: Session, obj: Any, clinic_id: int) -> None:
    """A row may only point at rows of its own clinic (forms post raw ids)."""
    for attr, model in _REFERENCES.items():
        ref = getattr(obj, attr, None)
        if ref is None:
            continue
        owner = session.scalar(select(model.clinic_id).where(model.id == ref))
        if owner != clinic_id:
            raise NotFound(what=model.__name__.lower())


def _entity(obj: Any) -> str:
    return {
        WeeklyHours: "hours",
        AvailabilityException: "exception",
        TherapistServiceOverride: "override",
        MessageTemplate: "template",
        ClinicPolicy: "policy",
        ClinicAnswer: "clinic_answer",
    }.get(type(obj), type(obj).__name__.lower())
