"""The reports page's numbers (services.reports.period_report), worked out by hand.

November 2026 in Kolkata (UTC+05:30): the period runs from 31 Oct 18:30 UTC to
30 Nov 18:30 UTC, so moments near midnight land in the clinic's month, not UTC's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import clinic_time
from models import BookingSource, PaymentMethod
from services.audit import Actor
from services.billing import invoices as billing
from services.billing import payments, refunds
from services.reports import period_report as report
from services.scheduling import appointments
from tests.conftest import counting_statements

KOLKATA = ZoneInfo("Asia/Kolkata")
STAFF = Actor.staff(1)
SYSTEM = Actor.system()
ALL_DAY = {d: (time(0), time(23, 59)) for d in range(7)}
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=KOLKATA)


def build(session, make_clinic, make_therapist, make_service, make_patient, *, slug, gst=True):
    """A clinic's November; the figures each test expects are worked out beside them."""
    policy = {"tax_rate_bp": 1800, "tax_label": "GST"} if gst else {}
    clinic = make_clinic(name=f"Clinic {slug}", slug=slug, min_notice_hours=0, **policy)
    priya = make_therapist(clinic, name="Priya Nair", specialization="speech", hours=ALL_DAY)
    ravi = make_therapist(clinic, name="Ravi Kumar", specialization="occupational", hours=ALL_DAY)
    speech = make_service(clinic, name="Speech", specialization="speech", price=80000)
    ot = make_service(clinic, name="OT", specialization="occupational", minutes=60, price=100000)
    aarav, meera, kabir = (make_patient(clinic, name=n) for n in ("Aarav", "Meera", "Kabir"))
    payer = make_patient(clinic, name="Payer")  # money on account: nothing settles it

    def book(therapist, service, patient, start):
        return appointments.book_appointment(
            session,
            clinic_id=clinic.id,
            patient_id=patient.id,
            service_id=service.id,
            therapist_id=therapist.id,
            start=start,
            now=start - timedelta(days=1),
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )

    def close(appointment, how, when=None):
        ids = {"clinic_id": clinic.id, "appointment_id": appointment.id, "actor": STAFF}
        when = when or appointment.start_at + timedelta(hours=2)
        if how == "completed":
            appointments.complete_appointment(session, now=when, **ids)
        elif how == "no_show":
            appointments.mark_no_show(session, now=when, **ids)
        elif how == "cancelled":
            appointments.cancel_appointment(
                session, now=appointment.start_at - timedelta(days=2), reason="unwell", **ids
            )
        return appointment

    # Invoiced in November (issued when completed): Priya 2 × Speech, Ravi 1 × OT.
    close(book(priya, speech, aarav, local(2, 10)), "completed")
    close(book(ravi, ot, meera, local(10, 11)), "completed")
    close(book(priya, speech, meera, local(30, 10)), "completed", when=local(30, 23, 30))
    # Held in November, invoiced on 1 Dec (00:15 Kolkata, still 30 Nov in UTC): not revenue.
    close(book(priya, speech, kabir, local(30, 12)), "completed", when=local(1, 0, 15, month=12))
    # Held and invoiced in November, then the invoice was voided: not revenue.
    voided = close(book(ravi, ot, kabir, local(12, 11)), "completed")
    invoice = billing.session_invoice(session, voided.id)
    billing.void_invoice_for(
        session,
        clinic_id=clinic.id,
        invoice_id=invoice.id,
        reason="wrong patient",
        now=local(13, 9),
        actor=STAFF,
    )
    close(book(priya, speech, aarav, local(18, 10)), "no_show")
    close(book(ravi, ot, aarav, local(19, 11)), "cancelled")
    close(book(priya, speech, kabir, local(1, 0, 15)), "cancelled")  # 31 Oct 18:45 UTC: November
    close(book(priya, speech, meera, local(31, 23, 0, month=10)), "cancelled")  # October
    book(priya, speech, aarav, local(25, 10))  # not yet marked
    session.commit()

    def pay(amount, method, when):
        return payments.record_payment(
            session,
            clinic_id=clinic.id,
            contact_id=payer.contact_id,
            amount_minor=amount,
            method=method,
            now=when,
            actor=STAFF,
        )

    def refund(payment, amount, when):
        refunds.refund_payment(
            session,
            clinic_id=clinic.id,
            payment_id=payment.id,
            amount_minor=amount,
            reason="overpaid",
            now=when,
            actor=STAFF,
        )

    pay(50000, PaymentMethod.CASH, local(1, 0, 30))  # 31 Oct 19:00 UTC: November
    october = pay(20000, PaymentMethod.CASH, local(31, 23, 30, month=10))  # October
    upi = pay(94400, PaymentMethod.UPI, local(5, 12))
    refund(upi, 10000, local(30, 23, 30))  # 30 Nov 18:00 UTC: November
    refund(october, 5000, local(1, 0, 15, month=12))  # December
    card = pay(30000, PaymentMethod.CARD, local(15, 12))
    refund(card, 30000, local(16, 12))
    session.commit()
    return clinic


@pytest.fixture
def clinics(session, make_clinic, make_therapist, make_service, make_patient):
    makers = (session, make_clinic, make_therapist, make_service, make_patient)
    a = build(*makers, slug="a")
    b = build(*makers, slug="b", gst=False)  # the same month elsewhere: never in A's report
    return a, b


def november(session, clinic) -> report.PeriodReport:
    first, last = NOVEMBER
    return report.period_report(session, clinic.id, first=first, last=last, zone=KOLKATA)


def test_the_period_is_whole_clinic_days_as_utc_instants():
    p = report.period(date(2026, 11, 1), date(2026, 11, 30), KOLKATA)
    assert p.start == datetime(2026, 10, 31, 18, 30, tzinfo=ZoneInfo("UTC"))
    assert p.end == datetime(2026, 11, 30, 18, 30, tzinfo=ZoneInfo("UTC"))
    assert report.period(date(2026, 11, 30), date(2026, 11, 1), KOLKATA) == p  # either order
    assert clinic_time.month_of(date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))


def test_revenue_by_therapist_and_service_is_session_value_invoiced_in_the_period(session, clinics):
    a, _b = clinics
    numbers = november(session, a)
    by_therapist = {(r.label, r.sessions, r.amount_minor) for r in numbers.by_therapist}
    # Priya: 2 × ₹800 (2 Nov, 30 Nov 23:30); Ravi: ₹1,000 (10 Nov), his voided one not.
    assert by_therapist == {("Priya Nair", 2, 160000), ("Ravi Kumar", 1, 100000)}
    by_service = [(r.label, r.sessions, r.amount_minor) for r in numbers.by_service]
    assert by_service == [("Speech", 2, 160000), ("OT", 1, 100000)]


def test_revenue_by_method_is_received_less_refunded_in_the_clinics_days(session, clinics):
    a, _b = clinics
    rows = {
        r.method: (r.received_minor, r.refunded_minor, r.net_minor)
        for r in november(session, a).by_method
    }
    assert rows == {
        PaymentMethod.UPI: (94400, 10000, 84400),
        PaymentMethod.CASH: (50000, 0, 50000),  # ₹200 on 31 Oct 23:30 and its refund: not
        PaymentMethod.CARD: (30000, 30000, 0),
    }


def test_the_gst_summary_adds_up_the_periods_issued_invoices(session, clinics):
    a, b = clinics
    [gst] = november(session, a).gst
    # 18 % of ₹800 = ₹144; of ₹1,000 = ₹180.
    assert (gst.label, gst.rate_bp, gst.invoices) == ("GST", 1800, 3)
    assert (gst.taxable_minor, gst.tax_minor, gst.total_minor) == (260000, 46800, 306800)
    [untaxed] = november(session, b).gst
    assert (untaxed.label, untaxed.rate_bp, untaxed.taxable_minor, untaxed.tax_minor) == (
        report.NO_TAX,
        0,
        260000,
        0,
    )


def test_sessions_are_counted_by_therapist_and_outcome_in_the_clinics_days(session, clinics):
    a, _b = clinics
    rows = {
        r.therapist: (r.completed, r.no_show, r.cancelled, r.not_marked)
        for r in november(session, a).sessions
    }
    assert rows == {"Priya Nair": (3, 1, 1, 1), "Ravi Kumar": (2, 0, 1, 0)}


def test_another_period_or_clinic_reads_as_empty(session, clinics, make_clinic):
    a, _b = clinics
    empty = report.period_report(
        session, a.id, first=date(2026, 9, 1), last=date(2026, 9, 30), zone=KOLKATA
    )
    assert empty.by_therapist == empty.by_method == empty.gst == empty.sessions == []
    nothing = november(session, make_clinic(slug="new"))
    assert nothing.by_service == nothing.by_method == nothing.sessions == []


def test_the_report_costs_five_statements_whatever_the_clinics_size(session, clinics):
    a, _b = clinics
    with counting_statements(session.get_bind()) as statements:
        november(session, a)
    assert len([s for s in statements if s.startswith("SELECT")]) == 5
