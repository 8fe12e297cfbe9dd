"""Free slots: weekly hours, minus exceptions, minus bookings, within policy.

Three SQL statements whatever the date range: (1) the service with its clinic,
policy and eligible therapists, (2) weekly hours and exceptions in one UNION,
(3) the active appointments in range. Everything else is arithmetic in Python.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CompoundSelect,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, scoped_session

from core import clinic_time
from core.clock import require_aware
from models import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    Clinic,
    ClinicPolicy,
    Service,
    Therapist,
    TherapistServiceOverride,
    WeeklyHours,
)
from services.errors import N_, NotFound

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime  # aware, in the clinic's zone
    end: datetime
    therapist_id: int
    location_id: int
    seats_left: int = 1


@dataclass(frozen=True)
class TherapistOffer:
    """A therapist who delivers the service, with their own price and duration."""

    therapist_id: int
    name: str
    duration_minutes: int
    price_minor: int


@dataclass
class BookingContext:
    """What the rules need to know about one service at one clinic."""

    clinic: Clinic
    policy: ClinicPolicy
    service: Service
    offers: dict[int, TherapistOffer] = field(default_factory=dict)
    therapists: dict[int, Therapist] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic.timezone)


def load_context(
    session: Session, clinic_id: int, service_id: int, therapist_id: int | None = None
) -> BookingContext:
    """Statement 1: service, clinic, policy and eligible therapists in one query.

    Read once per transaction: a chat turn asks for the same context several times
    (what is booked, the free times, the booking itself), and within one transaction
    the answer is the one read first (the rows are the session's own objects anyway).
    """
    if isinstance(session, scoped_session):
        session = session()  # the proxy lacks get_transaction()
    transaction = session.get_transaction()
    memo = session.info.get(_CONTEXTS)
    contexts = memo[1] if memo is not None and transaction is memo[0] is not None else {}
    key = (clinic_id, service_id, therapist_id)
    ctx = contexts.get(key)
    if ctx is None:
        every = contexts.get((clinic_id, service_id, None))
        if therapist_id is not None and every is not None:
            ctx = one_therapist(every, therapist_id)  # the same rows, narrowed
        else:
            ctx = _read_context(session, clinic_id, service_id, therapist_id)
        contexts[key] = ctx
        # Kept with the transaction that read it (begun by the read when none was open).
        session.info[_CONTEXTS] = (session.get_transaction(), contexts)
    return ctx


def one_therapist(ctx: BookingContext, therapist_id: int) -> BookingContext:
    """``ctx`` narrowed to one of its therapists (the same rows, no query)."""
    if therapist_id not in ctx.offers:
        raise NotFound(what=N_("therapist for this service"))
    return BookingContext(
        clinic=ctx.clinic,
        policy=ctx.policy,
        service=ctx.service,
        offers={therapist_id: ctx.offers[therapist_id]},
        therapists={therapist_id: ctx.therapists[therapist_id]},
    )


_CONTEXTS = "roshni.booking_contexts"  # session.info: (transaction, {key: context})


# The three statements are built once per shape and run with parameters: a chat turn
# runs them several times, and building one costs more than running it from the cache.


def _context_statement(one_therapist: bool) -> Select[Any]:
    eligible = and_(
        Therapist.clinic_id == Service.clinic_id,
        Therapist.specialization == Service.specialization,
        Therapist.active.is_(True),
        *([Therapist.id == bindparam("therapist_id")] if one_therapist else []),
    )
    return (
        select(
            Service,
            Clinic,
            ClinicPolicy,
            Therapist,
            TherapistServiceOverride.duration_minutes,
            TherapistServiceOverride.price_minor,
        )
        .join(Clinic, Clinic.id == Service.clinic_id)
        .join(ClinicPolicy, ClinicPolicy.clinic_id == Clinic.id)
        .outerjoin(Therapist, eligible)
        .outerjoin(
            TherapistServiceOverride,
            and_(
                TherapistServiceOverride.therapist_id == Therapist.id,
                TherapistServiceOverride.service_id == Service.id,
            ),
        )
        .where(Service.id == bindparam("service_id"), Service.clinic_id == bindparam("clinic_id"))
        .order_by(Therapist.id)
    )


_CONTEXT = {one: _context_statement(one) for one in (False, True)}


def _read_context(
    session: Session, clinic_id: int, service_id: int, therapist_id: int | None
) -> BookingContext:
    params = {"clinic_id": clinic_id, "service_id": service_id}
    if therapist_id is not None:
        params["therapist_id"] = therapist_id
    rows = session.execute(_CONTEXT[therapist_id is not None], params).all()
    if not rows or not rows[0].Service.active:
        raise NotFound(what=N_("service"))
    first = rows[0]
    ctx = BookingContext(clinic=first.Clinic, policy=first.ClinicPolicy, service=first.Service)
    for row in rows:
        therapist = row.Therapist
        if therapist is None:
            continue
        ctx.therapists[therapist.id] = therapist
        ctx.offers[therapist.id] = TherapistOffer(
            therapist_id=therapist.id,
            name=therapist.name,
            duration_minutes=row.duration_minutes or first.Service.duration_minutes,
            price_minor=row.price_minor
            if row.price_minor is not None
            else first.Service.price_minor,
        )
    if therapist_id is not None and therapist_id not in ctx.offers:
        raise NotFound(what=N_("therapist for this service"))
    return ctx


def free_slots(
    session: Session,
    *,
    clinic_id: int,
    service_id: int,
    start_date: date,
    end_date: date,
    now: datetime,
    therapist_id: int | None = None,
    location_id: int | None = None,
    ignore_appointment_id: int | None = None,
    respect_policy: bool = True,
) -> list[Slot]:
    """Bookable slots for a service between two clinic-local dates (inclusive).

    ``respect_policy=False`` is what staff may book: from now on, with no minimum
    notice and no horizon (the patient rules; see ``appointments.check_time_policy``).
    """
    ctx = load_context(session, clinic_id, service_id, therapist_id)
    return slots_for_context(
        session,
        ctx,
        start_date=start_date,
        end_date=end_date,
        now=now,
        location_id=location_id,
        ignore_appointment_id=ignore_appointment_id,
        respect_policy=respect_policy,
    )


def slots_for_context(
    session: Session,
    ctx: BookingContext,
    *,
    start_date: date,
    end_date: date,
    now: datetime,
    location_id: int | None = None,
    ignore_appointment_id: int | None = None,
    respect_policy: bool = True,
    respect_bookings: bool = True,
    allow_past: bool = False,
) -> list[Slot]:
    """Free slots between two clinic-local dates (inclusive).

    ``respect_policy=False`` drops the minimum notice and the booking horizon (staff);
    ``allow_past`` also keeps starts already past (staff entering a walk-in that began a
    few minutes ago, or a session that already happened).
    """
    # In UTC, so "now + N hours" is real time even when now is given in the clinic's zone.
    now = require_aware(now, "now").astimezone(UTC)
    if not ctx.offers or end_date < start_date:
        return []
    zone = ctx.zone
    policy = ctx.policy
    earliest = now + timedelta(hours=policy.min_notice_hours) if respect_policy else now
    latest = now + timedelta(days=policy.booking_horizon_days)
    first_day = max(start_date, now.astimezone(zone).date())
    if allow_past:
        earliest = datetime.min.replace(tzinfo=UTC)
        first_day = start_date
    last_day = min(end_date, latest.astimezone(zone).date()) if respect_policy else end_date
    if last_day < first_day:
        return []

    therapist_ids = sorted(ctx.offers)
    rules = load_rules(session, ctx.clinic.id, therapist_ids, first_day, last_day, location_id)
    range_start = _LocalDay(first_day, zone).utc(0, end=True)
    range_end = _LocalDay(last_day, zone).utc(MINUTES_PER_DAY, end=True)
    assert range_start is not None and range_end is not None
    busy = (
        _load_busy(
            session, ctx.clinic.id, therapist_ids, range_start, range_end, ignore_appointment_id
        )
        if respect_bookings
        else {}
    )
    if not respect_policy:
        latest = datetime.max.replace(tzinfo=UTC)

    # Everything below compares UTC instants: aware datetimes sharing one tzinfo
    # compare without consulting the zone, which keeps the loop cheap.
    step = policy.slot_step_minutes
    service_id, capacity = ctx.service.id, ctx.service.capacity
    slots: list[Slot] = []
    day = first_day
    while day <= last_day:
        local_day = _LocalDay(day, zone)
        for tid in therapist_ids:
            duration = timedelta(minutes=ctx.offers[tid].duration_minutes)
            therapist_busy = busy.get(tid)
            for loc_id, start_min, end_min in rules.windows(tid, day):
                window_end = local_day.utc(end_min, end=True)
                assert window_end is not None
                for minute in range(start_min, end_min, step):
                    start = local_day.utc(minute)
                    if start is None:  # wall-clock time skipped by a DST change
                        continue
                    end = start + duration
                    if end > window_end:
                        break
                    if start < earliest or start >= latest:
                        continue
                    seats = _seats_left(therapist_busy, start, end, service_id, capacity)
                    if seats > 0:
                        slots.append(
                            Slot(start.astimezone(zone), end.astimezone(zone), tid, loc_id, seats)
                        )
        day += timedelta(days=1)
    slots.sort()
    return slots


def group_overlap_key(service_id: int, start: datetime) -> str:
    """Seats of one group session share a key; see Appointment.overlap_key."""
    return f"g:{service_id}:{start.astimezone(UTC):%Y%m%dT%H%M}"


# --- rules -----------------------------------------------------------------------------


class _Rules:
    """Weekly hours and exceptions, answering 'when does therapist T work on day D'."""

    def __init__(self) -> None:
        self.weekly: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
        self.extra: list[tuple[int, int, date, date, int, int]] = []
        self.closed: list[tuple[int | None, int | None, date, date, int, int]] = []

    def windows(self, therapist_id: int, day: date) -> list[tuple[int, int, int]]:
        """(location_id, start_minute, end_minute) windows, closures subtracted."""
        windows = list(self.weekly.get((therapist_id, day.weekday()), ()))
        windows += [
            (loc, s, e)
            for tid, loc, d0, d1, s, e in self.extra
            if tid == therapist_id and d0 <= day <= d1
        ]
        if not windows:
            return []
        for tid, loc, d0, d1, s, e in self.closed:
            if (tid is None or tid == therapist_id) and d0 <= day <= d1:
                windows = [
                    piece
                    for w in windows
                    for piece in ([w] if loc is not None and loc != w[0] else _subtract(w, s, e))
                ]
        return sorted(windows, key=lambda w: w[1])


def _subtract(window: tuple[int, int, int], s: int, e: int) -> list[tuple[int, int, int]]:
    loc, ws, we = window
    if e <= ws or s >= we:
        return [window]
    pieces = []
    if ws < s:
        pieces.append((loc, ws, s))
    if e < we:
        pieces.append((loc, e, we))
    return pieces


def load_rules(
    session: Session,
    clinic_id: int,
    therapist_ids: list[int],
    first_day: date,
    last_day: date,
    location_id: int | None,
) -> _Rules:
    """Statement 2: weekly hours UNION ALL exceptions touching the date range."""
    params = {
        "clinic_id": clinic_id,
        "therapist_ids": therapist_ids,
        "first_day": first_day,
        "last_day": last_day,
    }
    if location_id is not None:
        params["location_id"] = location_id
    rules = _Rules()
    rows = session.execute(_RULES[location_id is not None], params)
    for kind, tid, loc, weekday, d0, d1, t0, t1 in rows:
        start_min = _time_to_minutes(t0) if t0 is not None else 0
        end_min = _time_to_minutes(t1) if t1 is not None else MINUTES_PER_DAY
        if kind == "weekly":
            rules.weekly[(tid, weekday)].append((loc, start_min, end_min))
        elif kind == "extra":
            rules.extra.append((tid, loc, d0, d1, start_min, end_min))
        else:
            rules.closed.append((tid, loc, d0, d1, start_min, end_min))
    return rules


def _rules_statement(at_location: bool) -> CompoundSelect[Any]:
    wh, ex = WeeklyHours, AvailabilityException
    therapists = bindparam("therapist_ids", expanding=True)
    weekly = select(
        literal("weekly", String).label("kind"),
        wh.therapist_id,
        wh.location_id,
        wh.weekday,
        cast(null(), Date).label("start_date"),
        cast(null(), Date).label("end_date"),
        wh.start_time,
        wh.end_time,
    ).where(wh.clinic_id == bindparam("clinic_id"), wh.therapist_id.in_(therapists))
    exceptions = select(
        cast(ex.kind, String),
        ex.therapist_id,
        ex.location_id,
        cast(null(), Integer),
        ex.start_date,
        ex.end_date,
        ex.start_time,
        ex.end_time,
    ).where(
        ex.clinic_id == bindparam("clinic_id"),
        or_(ex.therapist_id.in_(therapists), ex.therapist_id.is_(None)),
        ex.start_date <= bindparam("last_day"),
        ex.end_date >= bindparam("first_day"),
    )
    if at_location:
        location = bindparam("location_id")
        weekly = weekly.where(wh.location_id == location)
        exceptions = exceptions.where(or_(ex.location_id == location, ex.location_id.is_(None)))
    return union_all(weekly, exceptions)


_RULES = {at: _rules_statement(at) for at in (False, True)}


# --- bookings --------------------------------------------------------------------------


@dataclass
class _Busy:
    """One therapist's active appointments, sorted; they never overlap except group seats."""

    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def _load_busy(
    session: Session,
    clinic_id: int,
    therapist_ids: Iterable[int],
    range_start: datetime,
    range_end: datetime,
    ignore_appointment_id: int | None,
) -> dict[int, _Busy]:
    """Statement 3: active appointments overlapping the range."""
    params = {
        "clinic_id": clinic_id,
        "therapist_ids": list(therapist_ids),
        "range_start": range_start,
        "range_end": range_end,
    }
    if ignore_appointment_id is not None:
        params["ignore_id"] = ignore_appointment_id
    busy: dict[int, _Busy] = defaultdict(_Busy)
    rows = session.execute(_BUSY[ignore_appointment_id is not None], params)
    for tid, start, end, key in rows:
        b = busy[tid]
        b.starts.append(start)
        b.ends.append(end)
        b.keys.append(key)
    return busy


def _busy_statement(ignoring_one: bool) -> Select[Any]:
    a = Appointment
    stmt = (
        select(a.therapist_id, a.start_at, a.end_at, a.overlap_key)
        .where(
            a.clinic_id == bindparam("clinic_id"),
            a.therapist_id.in_(bindparam("therapist_ids", expanding=True)),
            a.status.in_(AppointmentStatus.active()),
            a.start_at < bindparam("range_end"),
            a.end_at > bindparam("range_start"),
        )
        .order_by(a.therapist_id, a.start_at, a.end_at)
    )
    return stmt.where(a.id != bindparam("ignore_id")) if ignoring_one else stmt


_BUSY = {ignoring: _busy_statement(ignoring) for ignoring in (False, True)}


def _seats_left(
    busy: _Busy | None, start: datetime, end: datetime, service_id: int, capacity: int
) -> int:
    """Seats still free in [start, end) (UTC): 0 when another session overlaps."""
    if busy is None:
        return capacity
    i = bisect_right(busy.ends, start)  # first appointment ending after our start
    if i == len(busy.starts) or busy.starts[i] >= end:
        return capacity
    group_key = group_overlap_key(service_id, start) if capacity > 1 else None
    taken = 0
    while i < len(busy.starts) and busy.starts[i] < end:
        if busy.keys[i] != group_key:
            return 0  # overlaps a different session
        taken += 1
        i += 1
    return capacity - taken


# --- local time helpers ----------------------------------------------------------------


def _time_to_minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _minutes_to_time(minutes: int) -> time:
    if minutes >= MINUTES_PER_DAY:
        return time.max
    return time(minutes // 60, minutes % 60)


class _LocalDay:
    """Minutes after a clinic-local midnight, as UTC instants.

    Most days have one UTC offset from midnight to midnight, and then a minute
    is just ``midnight + minutes``; only the two DST days a year take the slow,
    careful path through ``core.clinic_time``.
    """

    def __init__(self, day: date, zone: ZoneInfo) -> None:
        self.day, self.zone = day, zone
        opening = datetime.combine(day, time.min, tzinfo=zone).utcoffset()
        closing = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).utcoffset()
        self.midnight: datetime | None = None
        if opening is not None and opening == closing:
            self.midnight = datetime.combine(day, time.min, tzinfo=UTC) - opening

    def utc(self, minute: int, *, end: bool = False) -> datetime | None:
        if self.midnight is not None:
            return self.midnight + timedelta(minutes=minute)
        t = _minutes_to_time(minute)
        # A start DST skips is no slot; an end in the gap moves to the first real instant
        # after it, so the window still closes.
        if (
            not end
            and t != time.max
            and not clinic_time.exists(datetime.combine(self.day, t), self.zone)
        ):
            return None
        return clinic_time.at(self.day, t, self.zone).astimezone(UTC)
