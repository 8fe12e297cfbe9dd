"""A clinic's numbers for a chosen period: revenue by therapist, by service and by payment
method, the GST summary and sessions by outcome.

Pure reads, five aggregate statements whatever the clinic's size (GROUP BY in SQL, no rows
loaded one by one), every one scoped to the clinic. The period is a run of whole days in
the clinic's zone, ``first`` to ``last`` inclusive, sent to the database as the UTC
instants ``[start, end)`` (DST-safe; the database never converts zones).

What each figure counts, as the page says it:

- *by therapist / by service*: the value of sessions invoiced in the period (invoices
  issued in it and not void), before GST. A refund returns a payment, not a session's
  price, so refunds show in the payment-method table, not here. Lines that are not
  sessions (packages, other) are one row of their own.
- *by payment method*: money received in the period (``dashboard.money_received``: no
  package credit drawn) less refunds processed in it, by the method of the refunded
  payment.
- *GST*: invoices issued in the period and not void, by tax label and rate.
- *sessions*: sessions that start in the period, by therapist and outcome, and of them
  the online (video) ones, counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal_column, select, union_all
from sqlalchemy.orm import Session

from core import clinic_time
from models import (
    Appointment,
    AppointmentStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Refund,
    Service,
    Therapist,
)
from services.reports.dashboard import money_received, money_refunded

NOT_A_SESSION = "Packages and other lines"
NO_TAX = "No GST"
MAX_DAYS = 366 * 3  # a period longer than this is refused by the page, not the database


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive
    start: datetime  # UTC: the clinic's midnight starting ``first``
    end: datetime  # UTC: the clinic's midnight after ``last``


def period(first: date, last: date, zone: ZoneInfo) -> Period:
    if last < first:
        first, last = last, first
    return Period(
        first=first,
        last=last,
        start=clinic_time.local_midnight(first, zone),
        end=clinic_time.local_midnight(last + timedelta(days=1), zone),
    )


@dataclass(frozen=True)
class RevenueRow:
    label: str
    sessions: int
    amount_minor: int


@dataclass(frozen=True)
class MethodRow:
    method: PaymentMethod
    received_minor: int
    refunded_minor: int

    @property
    def net_minor(self) -> int:
        return self.received_minor - self.refunded_minor


@dataclass(frozen=True)
class GstRow:
    label: str
    rate_bp: int  # basis points: 1800 = 18 %
    invoices: int
    taxable_minor: int
    tax_minor: int
    total_minor: int


@dataclass(frozen=True)
class SessionsRow:
    therapist: str
    completed: int
    no_show: int
    cancelled: int
    not_marked: int  # still booked or confirmed
    online: int = 0  # of the total, video sessions (whatever became of them)

    @property
    def total(self) -> int:
        return self.completed + self.no_show + self.cancelled + self.not_marked


@dataclass(frozen=True)
class PeriodReport:
    period: Period
    by_therapist: list[RevenueRow]
    by_service: list[RevenueRow]
    by_method: list[MethodRow]
    gst: list[GstRow]
    sessions: list[SessionsRow]


def _invoiced_in(clinic_id: int, p: Period) -> list:
    return [
        Invoice.clinic_id == clinic_id,
        Invoice.status == InvoiceStatus.ISSUED,
        Invoice.issued_at >= p.start,
        Invoice.issued_at < p.end,
    ]


def _revenue_by(session: Session, clinic_id: int, p: Period, target) -> list[RevenueRow]:
    """Invoiced session value grouped by the session's therapist or service."""
    stmt = (
        select(
            target.id,
            target.name,
            func.count(InvoiceLine.appointment_id),
            func.coalesce(func.sum(InvoiceLine.amount_minor), 0),
        )
        .select_from(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .outerjoin(
            Appointment,
            (Appointment.id == InvoiceLine.appointment_id) & (Appointment.clinic_id == clinic_id),
        )
        .outerjoin(
            target,
            (target.id == getattr(Appointment, f"{target.__tablename__}_id"))
            & (target.clinic_id == clinic_id),
        )
        .where(InvoiceLine.clinic_id == clinic_id, *_invoiced_in(clinic_id, p))
        .group_by(target.id, target.name)
    )
    rows = [
        RevenueRow(label=name or NOT_A_SESSION, sessions=int(n), amount_minor=int(amount))
        for _id, name, n, amount in session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: (r.label == NOT_A_SESSION, -r.amount_minor, r.label))


def _by_method(session: Session, clinic_id: int, p: Period) -> list[MethodRow]:
    zero = literal_column("0")
    moves = union_all(
        select(
            Payment.method.label("method"),
            Payment.amount_minor.label("received"),
            zero.label("refunded"),
        ).where(*money_received(clinic_id, p.start, p.end)),
        select(Payment.method, zero, Refund.amount_minor)
        .join(Payment, (Payment.id == Refund.payment_id) & (Payment.clinic_id == clinic_id))
        .where(*money_refunded(clinic_id, p.start, p.end)),
    ).subquery()
    stmt = select(moves.c.method, func.sum(moves.c.received), func.sum(moves.c.refunded)).group_by(
        moves.c.method
    )
    rows = [
        MethodRow(method=PaymentMethod(method), received_minor=int(r), refunded_minor=int(f))
        for method, r, f in session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: (-r.net_minor, r.method.value))


def _gst(session: Session, clinic_id: int, p: Period) -> list[GstRow]:
    stmt = (
        select(
            Invoice.tax_label,
            Invoice.tax_rate_bp,
            func.count(),
            func.sum(Invoice.subtotal_minor),
            func.sum(Invoice.tax_minor),
            func.sum(Invoice.total_minor),
        )
        .where(*_invoiced_in(clinic_id, p))
        .group_by(Invoice.tax_label, Invoice.tax_rate_bp)
    )
    rows = [
        GstRow(
            label=label or NO_TAX,
            rate_bp=int(rate),
            invoices=int(n),
            taxable_minor=int(taxable),
            tax_minor=int(tax),
            total_minor=int(total),
        )
        for label, rate, n, taxable, tax, total in session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: (-r.rate_bp, r.label))


def _sessions(session: Session, clinic_id: int, p: Period) -> list[SessionsRow]:
    a = Appointment
    stmt = (
        select(Therapist.id, Therapist.name, a.status, a.online, func.count())
        .join(Therapist, (Therapist.id == a.therapist_id) & (Therapist.clinic_id == clinic_id))
        .where(a.clinic_id == clinic_id, a.start_at >= p.start, a.start_at < p.end)
        .group_by(Therapist.id, Therapist.name, a.status, a.online)
    )
    counts: dict[tuple[int, str], dict[AppointmentStatus, int]] = {}
    online: dict[tuple[int, str], int] = {}
    for therapist_id, name, status, is_online, n in session.execute(stmt):
        by = counts.setdefault((therapist_id, name), {})
        by[AppointmentStatus(status)] = by.get(AppointmentStatus(status), 0) + int(n)
        if is_online:
            online[(therapist_id, name)] = online.get((therapist_id, name), 0) + int(n)
    rows = [
        SessionsRow(
            therapist=name,
            completed=by.get(AppointmentStatus.COMPLETED, 0),
            no_show=by.get(AppointmentStatus.NO_SHOW, 0),
            cancelled=by.get(AppointmentStatus.CANCELLED, 0),
            not_marked=by.get(AppointmentStatus.BOOKED, 0) + by.get(AppointmentStatus.CONFIRMED, 0),
            online=online.get((_id, name), 0),
        )
        for (_id, name), by in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.total, r.therapist))


def period_report(
    session: Session, clinic_id: int, *, first: date, last: date, zone: ZoneInfo
) -> PeriodReport:
    """Every table of the reports page for the clinic-local days ``first``..``last``."""
    p = period(first, last, zone)
    return PeriodReport(
        period=p,
        by_therapist=_revenue_by(session, clinic_id, p, Therapist),
        by_service=_revenue_by(session, clinic_id, p, Service),
        by_method=_by_method(session, clinic_id, p),
        gst=_gst(session, clinic_id, p),
        sessions=_sessions(session, clinic_id, p),
    )
