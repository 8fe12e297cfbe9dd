"""The dashboard's numbers: pure reads, each a fixed number of SQL statements.

Every function takes a ``Session``, the clinic, ``now`` (aware) and, where days or
months matter, the clinic's zone. Aggregation happens in SQL, so a clinic with
50,000 sessions costs the same round trips as one with five. Day and month
boundaries are computed here in the clinic's zone (DST-safe) and sent as UTC
instants: the database never converts zones, which keeps SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, extract, func, or_, select
from sqlalchemy.orm import Session

from core import clinic_time
from core.clock import require_aware
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Invoice,
    Patient,
    Payment,
    PaymentMethod,
    PaymentState,
    Refund,
    RefundStatus,
    Service,
    StaffUser,
    Therapist,
)

# A cheap, single statement (weekly hours UNION exceptions) and the very rules that
# decide free slots: utilisation must count the same hours the booking flow offers.
from services.billing import invoices as billing
from services.scheduling.availability import load_rules

WEEK_DAYS = 7
ATTENDANCE_DAYS = 30
# Sessions that took (or will take) a therapist's time; cancelled ones did not.
HELD = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)


# --- clinic-local calendar -------------------------------------------------------------


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return require_aware(now, "now").astimezone(zone).date()


def day_bounds(first_day: date, days: int, zone: ZoneInfo) -> list[datetime]:
    """``days + 1`` UTC instants: the starts of each local day and the end of the last."""
    return [
        clinic_time.local_midnight(first_day + timedelta(days=n), zone) for n in range(days + 1)
    ]


def _day_index(column: ColumnElement[datetime], bounds: list[datetime]) -> ColumnElement[int]:
    """Which local day (0-based) an instant falls in; callers filter to the whole range."""
    return case(
        *[(column < bound, n) for n, bound in enumerate(bounds[1:-1])],
        else_=len(bounds) - 2,
    )


def _seconds_between(session: Session, start: ColumnElement, end: ColumnElement) -> ColumnElement:
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", end - start)
    # SQLite stores UTC text; julianday() reads it as days.
    return (func.julianday(end) - func.julianday(start)) * 86400


# --- today's sessions ------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    appointment_id: int
    number: str
    start: datetime
    end: datetime
    status: AppointmentStatus
    patient: str
    service: str
    arrived_at: datetime | None = None
    started_at: datetime | None = None
    online: bool = False  # a video session: nobody arrives at the desk


@dataclass
class TherapistDay:
    therapist_id: int
    name: str
    sessions: list[SessionRow] = field(default_factory=list)

    @property
    def counts(self) -> Counter[AppointmentStatus]:
        return Counter(s.status for s in self.sessions)

    def next_up(self, now: datetime) -> int | None:
        """The session this therapist sees next: the first still to begin and not over."""
        for row in self.sessions:
            if (
                row.status in AppointmentStatus.booked()
                and row.started_at is None
                and row.end > now
            ):
                return row.appointment_id
        return None


def todays_sessions(
    session: Session,
    clinic_id: int,
    *,
    now: datetime,
    zone: ZoneInfo,
    therapist_id: int | None = None,
) -> list[TherapistDay]:
    """Every session of the clinic-local day (cancelled ones too), by therapist, in time order.

    One statement.
    """
    start, end = day_bounds(local_today(now, zone), 1, zone)
    a = Appointment
    stmt = (
        select(
            a.id,
            a.number,
            a.start_at,
            a.end_at,
            a.status,
            Patient.name,
            Service.name,
            Therapist.id,
            Therapist.name,
            a.arrived_at,
            a.started_at,
            a.online,
        )
        .join(Patient, Patient.id == a.patient_id)
        .join(Service, Service.id == a.service_id)
        .join(Therapist, Therapist.id == a.therapist_id)
        .where(a.clinic_id == clinic_id, a.start_at >= start, a.start_at < end)
        .order_by(Therapist.name, Therapist.id, a.start_at, a.id)
    )
    if therapist_id is not None:
        stmt = stmt.where(a.therapist_id == therapist_id)
    days: dict[int, TherapistDay] = {}
    for row in session.execute(stmt):
        aid, number, s, e, status, patient, service, tid, tname, arrived, started, online = row
        day = days.setdefault(tid, TherapistDay(tid, tname))
        day.sessions.append(
            SessionRow(aid, number, s, e, status, patient, service, arrived, started, online)
        )
    return list(days.values())


# --- the week ahead: load and utilisation ----------------------------------------------


@dataclass
class TherapistWeek:
    therapist_id: int
    name: str
    sessions_per_day: list[int]
    booked_minutes: int = 0
    available_minutes: int = 0

    @property
    def sessions(self) -> int:
        return sum(self.sessions_per_day)

    @property
    def utilisation(self) -> float | None:
        """Booked ÷ available hours; None when the therapist has no hours that week."""
        if self.available_minutes <= 0:
            return None
        return self.booked_minutes / self.available_minutes


@dataclass
class WeekLoad:
    days: list[date]
    therapists: list[TherapistWeek]

    @property
    def sessions_per_day(self) -> list[int]:
        return [sum(t.sessions_per_day[n] for t in self.therapists) for n in range(len(self.days))]

    @property
    def sessions(self) -> int:
        return sum(self.sessions_per_day)

    @property
    def utilisation(self) -> float | None:
        available = sum(t.available_minutes for t in self.therapists)
        booked = sum(t.booked_minutes for t in self.therapists)
        return booked / available if available > 0 else None


def week_ahead(
    session: Session,
    clinic_id: int,
    *,
    now: datetime,
    zone: ZoneInfo,
    days: int = WEEK_DAYS,
    therapist_id: int | None = None,
) -> WeekLoad:
    """Sessions per local day and per therapist from today on, and each therapist's
    utilisation: booked hours ÷ available hours (weekly hours + extra − closures).

    Three statements: the therapists, their working rules, the booked aggregates.
    A group session's seats count as sessions each but as its hours once.
    """
    first_day = local_today(now, zone)
    day_list = [first_day + timedelta(days=n) for n in range(days)]
    bounds = day_bounds(first_day, days, zone)
    a = Appointment
    in_range = and_(
        a.clinic_id == clinic_id,
        a.status.in_(HELD),
        a.start_at >= bounds[0],
        a.start_at < bounds[-1],
    )

    weeks = {
        tid: TherapistWeek(tid, name, [0] * days)
        for tid, name in session.execute(_therapists_stmt(clinic_id, in_range, therapist_id))
    }
    if not weeks:
        return WeekLoad(day_list, [])

    # Available minutes, from the same rules free slots use.
    rules = load_rules(session, clinic_id, list(weeks), day_list[0], day_list[-1], None)
    for tid, week in weeks.items():
        for day in day_list:
            week.available_minutes += _merged_minutes(rules.windows(tid, day))

    for tid, day, seats, seconds in session.execute(
        _booked_stmt(session, in_range, bounds, list(weeks))
    ):
        week = weeks[tid]
        week.sessions_per_day[int(day)] += int(seats)
        week.booked_minutes += round(float(seconds or 0) / 60)
    return WeekLoad(day_list, list(weeks.values()))


def _therapists_stmt(clinic_id: int, in_range: Any, therapist_id: int | None) -> Select[Any]:
    """Active therapists, and inactive ones who still have sessions that week."""
    a = Appointment
    stmt = (
        select(Therapist.id, Therapist.name)
        .where(
            Therapist.clinic_id == clinic_id,
            or_(
                Therapist.active.is_(True), Therapist.id.in_(select(a.therapist_id).where(in_range))
            ),
        )
        .order_by(Therapist.name, Therapist.id)
    )
    return stmt if therapist_id is None else stmt.where(Therapist.id == therapist_id)


def _booked_stmt(
    session: Session, in_range: Any, bounds: list[datetime], therapist_ids: list[int]
) -> Select[Any]:
    """Seats and booked time per therapist and day. Seats of one group session share an
    overlap key, so the inner GROUP BY turns them into one stretch of time."""
    a = Appointment
    rows = (
        select(
            a.therapist_id,
            _day_index(a.start_at, bounds).label("day"),
            a.overlap_key,
            a.start_at,
            _seconds_between(session, a.start_at, a.end_at).label("seconds"),
        )
        .where(in_range, a.therapist_id.in_(therapist_ids))
        .subquery()
    )
    stretches = (
        select(
            rows.c.therapist_id,
            rows.c.day,
            func.count().label("seats"),
            func.max(rows.c.seconds).label("seconds"),
        )
        .group_by(rows.c.therapist_id, rows.c.day, rows.c.overlap_key, rows.c.start_at)
        .subquery()
    )
    return select(
        stretches.c.therapist_id,
        stretches.c.day,
        func.sum(stretches.c.seats),
        func.sum(stretches.c.seconds),
    ).group_by(stretches.c.therapist_id, stretches.c.day)


def _merged_minutes(windows: list[tuple[int, int, int]]) -> int:
    """Minutes covered by (location, start, end) windows sorted by start; overlaps once."""
    total, reach = 0, 0
    for _loc, start, end in windows:
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


# --- attendance ------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendance:
    since: datetime
    until: datetime
    scheduled: int  # sessions that started in the window, whatever became of them
    completed: int
    no_show: int
    cancelled: int

    @property
    def no_show_rate(self) -> float | None:
        """No-shows among sessions whose outcome is known (completed or no-show)."""
        decided = self.completed + self.no_show
        return self.no_show / decided if decided else None

    @property
    def cancellation_rate(self) -> float | None:
        """Cancelled among every session scheduled in the window."""
        return self.cancelled / self.scheduled if self.scheduled else None


def attendance(
    session: Session,
    clinic_id: int,
    *,
    now: datetime,
    days: int = ATTENDANCE_DAYS,
    therapist_id: int | None = None,
) -> Attendance:
    """Sessions scheduled in the last ``days`` × 24 hours, by outcome. One statement."""
    until = require_aware(now, "now").astimezone(UTC)
    since = until - timedelta(days=days)
    a = Appointment
    stmt = (
        select(a.status, func.count())
        .where(
            a.clinic_id == clinic_id,
            a.start_at >= since,
            a.start_at < until,
            a.status != AppointmentStatus.REQUESTED,  # never a session, unless approved
        )
        .group_by(a.status)
    )
    if therapist_id is not None:
        stmt = stmt.where(a.therapist_id == therapist_id)
    counts = {status: int(n) for status, n in session.execute(stmt)}
    return Attendance(
        since=since,
        until=until,
        scheduled=sum(counts.values()),
        completed=counts.get(AppointmentStatus.COMPLETED, 0),
        no_show=counts.get(AppointmentStatus.NO_SHOW, 0),
        cancelled=counts.get(AppointmentStatus.CANCELLED, 0),
    )


# --- money -----------------------------------------------------------------------------


def money_received(clinic_id: int, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """The payments that are money in, received in ``[start, end)`` (UTC instants)."""
    return [
        Payment.clinic_id == clinic_id,
        Payment.status == PaymentState.RECEIVED,
        # Credit drawn from a package is not new money; the package sale was.
        Payment.method != PaymentMethod.CREDIT,
        Payment.received_at >= start,
        Payment.received_at < end,
    ]


def money_refunded(clinic_id: int, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """The refunds that are money out, processed in ``[start, end)``."""
    return [
        Refund.clinic_id == clinic_id,
        Refund.status == RefundStatus.PROCESSED,
        Refund.processed_at >= start,
        Refund.processed_at < end,
    ]


@dataclass(frozen=True)
class MonthMoney:
    month_start: date
    received_minor: int  # payments received in the clinic-local month
    refunded_minor: int  # refunds processed in that month
    outstanding_minor: int  # owed today, over every contact who owes something
    owing_contacts: int

    @property
    def collected_minor(self) -> int:
        return self.received_minor - self.refunded_minor


def month_money(session: Session, clinic_id: int, *, now: datetime, zone: ZoneInfo) -> MonthMoney:
    """This month's money collected (received − refunded) and today's outstanding dues.

    One statement: two scalar subqueries and one pass over the dues. Dues follow
    ``services.billing.invoices.outstanding_by_contact``: per contact, issued invoices minus
    what payments settle, counted only where positive.
    """
    today = local_today(now, zone)
    first, last = clinic_time.month_of(today)
    start, end = (
        clinic_time.local_midnight(first, zone),
        clinic_time.local_midnight(last + timedelta(days=1), zone),
    )

    received = select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
        *money_received(clinic_id, start, end)
    )
    refunded = select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
        *money_refunded(clinic_id, start, end)
    )
    per_contact = billing.owed_by(clinic_id, Invoice.contact_id).subquery()
    owed = per_contact.c.owed
    # One pass over the contacts gives both the total and how many owe.
    dues = (
        select(
            func.coalesce(func.sum(owed), 0).label("total"),
            func.count().label("owing"),
        )
        .where(owed > 0)
        .subquery()
    )
    row = session.execute(
        select(
            received.scalar_subquery(),
            refunded.scalar_subquery(),
            dues.c.total,
            dues.c.owing,
        )
    ).one()
    return MonthMoney(
        month_start=first,
        received_minor=int(row[0]),
        refunded_minor=int(row[1]),
        outstanding_minor=int(row[2]),
        owing_contacts=int(row[3]),
    )


# --- the deployment, for a superadmin ---------------------------------------------------


@dataclass(frozen=True)
class ClinicSummary:
    clinic_id: int
    name: str
    slug: str
    active: bool
    staff: int
    patients: int
    sessions_next_week: int


def clinics_overview(session: Session, *, now: datetime) -> list[ClinicSummary]:
    """Every clinic with its staff, patients and the next seven days' sessions. One statement."""
    now = require_aware(now, "now").astimezone(UTC)
    staff = (
        select(func.count())
        .where(StaffUser.clinic_id == Clinic.id)
        .correlate(Clinic)
        .scalar_subquery()
    )
    patients = (
        select(func.count()).where(Patient.clinic_id == Clinic.id).correlate(Clinic)
    ).scalar_subquery()
    upcoming = (
        select(func.count())
        .where(
            Appointment.clinic_id == Clinic.id,
            Appointment.status.in_(AppointmentStatus.booked()),  # not requests
            Appointment.start_at >= now,
            Appointment.start_at < now + timedelta(days=WEEK_DAYS),
        )
        .correlate(Clinic)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Clinic.id, Clinic.name, Clinic.slug, Clinic.active, staff, patients, upcoming
        ).order_by(Clinic.name, Clinic.id)
    )
    return [
        ClinicSummary(cid, name, slug, active, int(s), int(p), int(u))
        for cid, name, slug, active, s, p, u in rows
    ]
