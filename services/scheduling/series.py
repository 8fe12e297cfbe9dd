"""Courses of sessions: a child who comes every Monday and Thursday at 5 for eight weeks.

``book_series`` checks every occurrence under the same guarantee as a single booking
(the therapist's row locked, the exclusion constraint behind it), books the free ones in
one transaction and returns the rest as clashes, each with its nearest free times: never
a partial, silent result. Its statements do not grow with the number of sessions: one
read of the therapist's hours and bookings over the whole course, one block of numbers,
one INSERT for the sessions and one for their reminders.

Later changes work per session, on this one, this and the following, or all of them
(``cancel_series``, ``move_series``); each is one transaction and the patient hears
once, not once per session.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clinic_time
from core.clock import require_aware
from core.db import unit_of_work, write_transaction
from models import (
    Appointment,
    AppointmentCounter,
    AppointmentSeries,
    AppointmentStatus,
    BookingSource,
    Clinic,
    NotificationKind,
    Patient,
    PaymentStatus,
    Therapist,
)
from services import audit
from services.audit import Actor
from services.billing import payment_requests
from services.billing.numbering import next_value
from services.errors import N_, InThePast, InvalidInput, NotFound, SlotTaken, SlotUnavailable
from services.locks import lock_appointment
from services.messaging import outbox as messaging
from services.messaging.staff_notices import notify_therapist
from services.scheduling import video
from services.scheduling.appointments import (
    ALTERNATIVES,
    book_appointment,
    cancel_appointment,
    check_time_policy,
    is_request,
    overlap_key,
    reschedule_appointment,
)
from services.scheduling.availability import BookingContext, Slot, load_context, slots_for_context

MAX_SESSIONS = 104  # two years of weekly sessions
# How far from a clashing time its alternatives may be (either side).
ALTERNATIVE_REACH = timedelta(days=3)


class Scope(StrEnum):
    """Which sessions of a course a change applies to."""

    THIS = "this"
    FOLLOWING = "following"
    ALL = "all"


@dataclass(frozen=True)
class Pattern:
    """When a course's sessions fall: every ``every_weeks`` weeks on ``weekdays``
    (0 = Monday) at ``local_time``, from ``first_date``, for ``sessions`` sessions or
    until ``until`` (inclusive), whichever comes first."""

    weekdays: tuple[int, ...]
    local_time: time
    first_date: date
    every_weeks: int = 1
    sessions: int | None = None
    until: date | None = None

    def checked(self) -> Pattern:
        days = tuple(sorted(set(self.weekdays)))
        if not days or any(d not in range(7) for d in days):
            raise InvalidInput(detail=N_("Choose at least one weekday for the sessions."))
        if self.every_weeks not in range(1, 5):
            raise InvalidInput(detail=N_("A course repeats every 1 to 4 weeks."))
        if self.sessions is None and self.until is None:
            raise InvalidInput(detail=N_("Give the number of sessions or the last date."))
        if self.sessions is not None and not 1 <= self.sessions <= MAX_SESSIONS:
            raise InvalidInput(detail=N_("A course has between 1 and 104 sessions."))
        if self.until is not None and self.until < self.first_date:
            raise InvalidInput(detail=N_("The last date comes before the first."))
        return replace(self, weekdays=days)

    def starts(self, zone: str) -> list[datetime]:
        """Each session's start, aware in the clinic's zone (so 5 pm stays 5 pm across a
        DST change); at most ``MAX_SESSIONS``."""
        week = self.first_date - timedelta(days=self.first_date.weekday())
        starts: list[datetime] = []
        limit = min(self.sessions or MAX_SESSIONS, MAX_SESSIONS)
        while len(starts) < limit:
            for weekday in self.weekdays:
                day = week + timedelta(days=weekday)
                if day < self.first_date:
                    continue
                if (self.until is not None and day > self.until) or len(starts) == limit:
                    return starts
                starts.append(clinic_time.at(day, self.local_time, zone))
            week += timedelta(weeks=self.every_weeks)
        return starts


@dataclass(frozen=True)
class Clash:
    """A session of the course that could not be booked: ``taken`` (someone else has
    the time) or outside the therapist's hours; ``alternatives`` are the nearest free
    times, within a few days of it."""

    start: datetime
    taken: bool
    alternatives: list[Slot]


@dataclass(frozen=True)
class SeriesBooking:
    """What booking a course did: the series (None when no session was free), the
    sessions booked, and those that clashed."""

    series: AppointmentSeries | None
    booked: list[Appointment]
    clashes: list[Clash]


def book_series(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    service_id: int,
    therapist_id: int,
    pattern: Pattern,
    now: datetime,
    actor: Actor,
    source: BookingSource,
    location_id: int | None = None,
    online: bool | None = None,
) -> SeriesBooking:
    """Book every free session of ``pattern`` with one therapist; report the others.

    The clinic's booking horizon and notice hold for the first session only (a course
    runs past the horizon by design); staff are held to neither, as for one booking.
    ``online`` as for one booking (``video.choose_online``): each online session gets
    its own video room."""
    pattern = pattern.checked()
    now = require_aware(now, "now").astimezone(UTC)
    try:
        with write_transaction(session):
            patient = session.get(Patient, patient_id)
            if patient is None or patient.clinic_id != clinic_id or not patient.active:
                raise NotFound(what=N_("patient"))
            ctx = _context(session, clinic_id, service_id, therapist_id)
            is_online = video.choose_online(ctx.service, online)
            starts = _starts(ctx, pattern, now, actor)
            session.execute(
                select(Therapist.id).where(Therapist.id == therapist_id).with_for_update()
            )
            chosen, clashes = _plan(session, ctx, starts, now, location_id)
            if not chosen:
                return SeriesBooking(None, [], clashes)
            series = AppointmentSeries(
                clinic_id=clinic_id,
                patient_id=patient.id,
                therapist_id=therapist_id,
                service_id=service_id,
                weekdays=list(pattern.weekdays),
                local_time=pattern.local_time,
                every_weeks=pattern.every_weeks,
                first_date=pattern.first_date,
                sessions=pattern.sessions,
                until=pattern.until,
                online=is_online,
                created_by=actor.label(),
            )
            session.add(series)
            session.flush()
            requested = is_request(ctx.policy, source)
            booked = _add_sessions(
                session, ctx, series, patient, chosen, now, actor, source, requested
            )
            audit.record(
                session, clinic_id=clinic_id, actor=actor, action="series.book", entity=series
            )
            for appointment in booked:
                audit.record(
                    session,
                    clinic_id=clinic_id,
                    actor=actor,
                    action="appointment.request" if requested else "appointment.book",
                    entity=appointment,
                )
            if not requested:  # a request: all this once the clinic approves it
                start_course(session, booked, now=now, actor=actor)
            if actor.is_staff:
                _tell_patient(session, booked, "series_booked", len(clashes), now=now)
    except IntegrityError as exc:  # the exclusion constraint: a race the lock missed
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != "no_overlap":
            raise
        raise SlotTaken(alternatives=[]) from None
    return SeriesBooking(series, booked, clashes)


def start_course(
    session: Session, sessions: list[Appointment], *, now: datetime, actor: Actor
) -> None:
    """What a course's booked sessions get (at once, or when the clinic approves the
    course a patient asked for): its billing as one package where the clinic bills so,
    their reminders, and the therapist told."""
    payment_requests.request_for_course(session, sessions, now=now, actor=actor)
    messaging.schedule_new_reminders(session, sessions, now=now)
    notify_therapist(session, sessions[0], NotificationKind.BOOKED, actor, now=now)


@dataclass(frozen=True)
class SeriesPlan:
    """What booking a course would do as things stand: the free sessions and the clashes."""

    free: list[Slot]
    clashes: list[Clash]


def plan_series(
    session: Session,
    *,
    clinic_id: int,
    service_id: int,
    therapist_id: int,
    pattern: Pattern,
    now: datetime,
    actor: Actor,
    location_id: int | None = None,
) -> SeriesPlan:
    """``book_series`` without booking: the summary a guardian confirms in chat. The same
    rules refuse the same patterns (a first session past the horizon, no weekday…)."""
    pattern = pattern.checked()
    now = require_aware(now, "now").astimezone(UTC)
    ctx = _context(session, clinic_id, service_id, therapist_id)
    starts = _starts(ctx, pattern, now, actor)
    return SeriesPlan(*_plan(session, ctx, starts, now, location_id))


def series_sessions(
    session: Session, clinic_id: int, appointment: Appointment, scope: Scope, *, now: datetime
) -> list[Appointment]:
    """The active sessions ``scope`` covers, from ``appointment`` (a session of a course):
    itself; itself and those after it; or every one still ahead."""
    if scope is Scope.THIS or appointment.series_id is None:
        return [appointment]
    query = select(Appointment).where(
        Appointment.clinic_id == clinic_id,
        Appointment.series_id == appointment.series_id,
        Appointment.status.in_(AppointmentStatus.active()),
    )
    since = appointment.start_at if scope is Scope.FOLLOWING else now
    query = query.where(Appointment.start_at >= since)
    return list(session.scalars(query.order_by(Appointment.start_at)))


def cancel_series(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    scope: Scope,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
) -> list[Appointment]:
    """Cancel a course's session, it and the following, or all still ahead: each as
    ``cancel_appointment`` does (window, billing, reminders withdrawn, therapist told),
    in one transaction; the patient hears once."""
    now = require_aware(now, "now").astimezone(UTC)
    with unit_of_work(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        targets = series_sessions(session, clinic_id, appointment, scope, now=now)
        if scope is not Scope.THIS and not targets:
            raise InvalidInput(detail=N_("No session of this course is left to cancel."))
        cancelled = [
            cancel_appointment(
                session,
                clinic_id=clinic_id,
                appointment_id=target.id,
                now=now,
                actor=actor,
                reason=reason,
                tell_patient=len(targets) == 1,
            )
            for target in targets
        ]
        if len(cancelled) > 1 and actor.is_staff:
            _tell_patient(session, cancelled, "series_cancelled", 0, now=now)
    return cancelled


def add_to_series(
    session: Session,
    *,
    clinic_id: int,
    series_id: int,
    start: datetime,
    now: datetime,
    actor: Actor,
    source: BookingSource = BookingSource.ADMIN,
) -> Appointment:
    """Book one more session into a course (staff taking a clash's alternative): the
    course's patient, service and therapist at ``start``, booked as ``book_appointment``
    books one (the patient told as for one booking), and joined to the course."""
    with unit_of_work(session):
        series = session.get(AppointmentSeries, series_id)
        if series is None or series.clinic_id != clinic_id:
            raise NotFound(what=N_("course"))
        appointment = book_appointment(
            session,
            clinic_id=clinic_id,
            patient_id=series.patient_id,
            service_id=series.service_id,
            therapist_id=series.therapist_id,
            start=start,
            now=now,
            actor=actor,
            source=source,
            online=series.online,
        )
        before = audit.snapshot(appointment)
        appointment.series_id = series.id
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="series.add",
            entity=appointment,
            before=before,
        )
    return appointment


@dataclass(frozen=True)
class SeriesMove:
    moved: list[Appointment]
    clashes: list[Clash]


def move_series(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    new_start: datetime,
    scope: Scope,
    now: datetime,
    actor: Actor,
) -> SeriesMove:
    """Move a course's session to ``new_start``, or it and the following (or all still
    ahead) by the same step: each later session moves as many days as this one and to
    the same clock time, so "Thursdays at 5" become "Fridays at 4". Sessions whose new
    time is not free stay where they were and come back as clashes."""
    require_aware(new_start, "new_start")
    now = require_aware(now, "now").astimezone(UTC)
    with unit_of_work(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        targets = series_sessions(session, clinic_id, appointment, scope, now=now)
        clinic = session.get(Clinic, clinic_id)
        assert clinic is not None
        clinic_zone = clinic.timezone
        zone = clinic_time.zone_of(clinic_zone)
        old_local = appointment.start_at.astimezone(zone)
        new_local = new_start.astimezone(zone)
        shift = new_local.date() - old_local.date()
        moved: list[Appointment] = []
        clashes: list[Clash] = []
        # Later ones first when moving later (earlier first when earlier), so a session
        # never lands on a sibling that is about to move out of its way.
        later = (shift, new_local.time()) > (timedelta(0), old_local.time())
        for target in sorted(targets, key=lambda a: a.start_at, reverse=later):
            day = target.start_at.astimezone(zone).date() + shift
            start = clinic_time.at(day, new_local.time().replace(tzinfo=None), clinic_zone)
            try:
                moved.append(
                    reschedule_appointment(
                        session,
                        clinic_id=clinic_id,
                        appointment_id=target.id,
                        new_start=start,
                        now=now,
                        actor=actor,
                        tell_patient=len(targets) == 1,
                    )
                )
            except SlotUnavailable as refused:
                clashes.append(
                    Clash(
                        start,
                        isinstance(refused, SlotTaken),
                        refused.params.get("alternatives", []),
                    )
                )
        moved.sort(key=lambda a: a.start_at)
        clashes.sort(key=lambda c: c.start)
        if scope is not Scope.THIS and appointment.series_id is not None and moved:
            _reshape(session, appointment.series_id, moved, clinic_zone, actor)
        if len(targets) > 1 and moved and actor.is_staff:
            _tell_patient(session, moved, "series_moved", len(clashes), now=now)
    return SeriesMove(moved, clashes)


# --- internals -------------------------------------------------------------------------


def _context(
    session: Session, clinic_id: int, service_id: int, therapist_id: int
) -> BookingContext:
    ctx = load_context(session, clinic_id, service_id, therapist_id)
    if therapist_id not in ctx.offers:
        raise InvalidInput(detail=N_("This therapist does not offer that service."))
    return ctx


def _starts(ctx: BookingContext, pattern: Pattern, now: datetime, actor: Actor) -> list[datetime]:
    """The course's starts still bookable: after now (for a patient, after the clinic's
    minimum notice too, so "every Monday" from today begins with the first Monday they
    may book), the first of them held to the clinic's rules for one booking."""
    earliest = now if actor.is_staff else now + timedelta(hours=ctx.policy.min_notice_hours)
    starts = [s for s in pattern.starts(ctx.clinic.timezone) if s > earliest]
    if not starts:
        raise InThePast()
    check_time_policy(ctx, starts[0], now, actor)
    return starts


def _plan(
    session: Session,
    ctx: BookingContext,
    starts: list[datetime],
    now: datetime,
    location_id: int | None,
) -> tuple[list[Slot], list[Clash]]:
    """The free slot of each start that has one, and the clashes of those that have not."""
    free = _free_by_start(session, ctx, starts, now, location_id)
    chosen = [free[s] for s in starts if s in free]
    missing = [s for s in starts if s not in free]
    return chosen, _clashes(session, ctx, missing, free, chosen, now, location_id)


def _free_by_start(
    session: Session,
    ctx: BookingContext,
    starts: list[datetime],
    now: datetime,
    location_id: int | None,
) -> dict[datetime, Slot]:
    """The therapist's free slots over the whole course and a few days either side
    (the clashes' alternatives come from the same read), by start."""
    zone = ctx.zone
    free: dict[datetime, Slot] = {}
    for slot in slots_for_context(
        session,
        ctx,
        start_date=(starts[0] - ALTERNATIVE_REACH).astimezone(zone).date(),
        end_date=(starts[-1] + ALTERNATIVE_REACH).astimezone(zone).date(),
        now=now,
        location_id=location_id,
        respect_policy=False,
    ):
        free.setdefault(slot.start, slot)
    return free


def _clashes(
    session: Session,
    ctx: BookingContext,
    missing: list[datetime],
    free: dict[datetime, Slot],
    chosen: list[Slot],
    now: datetime,
    location_id: int | None,
) -> list[Clash]:
    """Each clashing time with the nearest free times (not overlapping the course's own
    sessions), and whether it is taken or simply outside the therapist's hours."""
    if not missing:
        return []
    workable = {
        slot.start
        for slot in slots_for_context(
            session,
            ctx,
            start_date=missing[0].astimezone(ctx.zone).date(),
            end_date=missing[-1].astimezone(ctx.zone).date(),
            now=now,
            location_id=location_id,
            respect_policy=False,
            respect_bookings=False,
        )
    }
    open_slots = [
        s for s in free.values() if not any(s.start < c.end and c.start < s.end for c in chosen)
    ]
    clashes = []
    for start in missing:
        near = [s for s in open_slots if abs(s.start - start) <= ALTERNATIVE_REACH]
        near.sort(key=lambda s: (abs(s.start.astimezone(UTC) - start.astimezone(UTC)), s.start))
        clashes.append(Clash(start, start in workable, sorted(near[:ALTERNATIVES])))
    return clashes


def _add_sessions(
    session: Session,
    ctx: BookingContext,
    series: AppointmentSeries,
    patient: Patient,
    slots: list[Slot],
    now: datetime,
    actor: Actor,
    source: BookingSource,
    requested: bool,
) -> list[Appointment]:
    """The course's sessions, numbered from one block and inserted in one statement."""
    year = now.astimezone(ctx.zone).year
    last = next_value(
        session, AppointmentCounter.__table__, step=len(slots), clinic_id=ctx.clinic.id, year=year
    )
    therapist = ctx.therapists[series.therapist_id]
    price = ctx.offers[series.therapist_id].price_minor
    booked = []
    for i, slot in enumerate(slots):
        number = f"APT-{year}-{last - len(slots) + 1 + i:06d}"
        appointment = Appointment(
            clinic_id=ctx.clinic.id,
            number=number,
            patient_id=patient.id,
            therapist_id=slot.therapist_id,
            service_id=ctx.service.id,
            location_id=slot.location_id,
            start_at=slot.start,
            end_at=slot.end,
            price_minor=price,
            status=AppointmentStatus.REQUESTED if requested else AppointmentStatus.BOOKED,
            payment_status=PaymentStatus.UNPAID if price else PaymentStatus.NOT_REQUIRED,
            source=source,
            overlap_key=overlap_key(ctx, slot.start, number),
            created_by=actor.label(),
            series_id=series.id,
            online=series.online,
            video_url=video.video_url_for(ctx.policy, therapist) if series.online else None,
        )
        appointment.patient = patient
        appointment.service = ctx.service
        appointment.therapist = therapist
        booked.append(appointment)
    session.add_all(booked)
    session.flush()
    return booked


def _reshape(
    session: Session,
    series_id: int,
    moved: list[Appointment],
    zone: str,
    actor: Actor,
) -> None:
    """After "this and following" or "all" moved, the course's pattern says where its
    sessions now fall: the moved sessions' weekdays and time, from the first moved."""
    series = session.get(AppointmentSeries, series_id)
    assert series is not None
    before = audit.snapshot(series)
    local = [m.start_at.astimezone(clinic_time.zone_of(zone)) for m in moved]
    series.weekdays = sorted({d.weekday() for d in local})
    series.local_time = local[0].time().replace(tzinfo=None)
    audit.record(
        session,
        clinic_id=series.clinic_id,
        actor=actor,
        action="series.move",
        entity=series,
        before=before,
    )


def _tell_patient(
    session: Session, sessions: list[Appointment], event: str, clashes: int, *, now: datetime
) -> None:
    """One message for the course's change, on its first session: how many, from when,
    and how many of the times asked for were not free."""
    messaging.notify_patient(
        session,
        sessions[0],
        event=f"{event}_gaps" if clashes else event,
        now=now,
        variables={"count": len(sessions), "missed": clashes},
    )
