"""Invoice numbers per financial year, tax, money that never touches floats, invoice
and receipt PDFs, and UPI payments confirmed by staff.

Razorpay is tests/fake_razorpay.py behind the real SDK (its clock starts at NOW).
Webhook events are applied the way the webhook leaves them: stored once by id
(``store_event``), then applied (``process_events``); the HTTP edge itself is
tests/reconciliation/test_payment_webhooks.py.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the default policy has 2 h minimum
notice and a 24 h cancellation window; prepaid services here hold a slot 30 minutes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Float, Numeric

from core.db import write_transaction
from models import (
    AppointmentStatus,
    Base,
    Clinic,
    InvoiceLineKind,
    MessageKind,
    Payment,
    PaymentLink,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
)
from services.billing import invoices as billing
from services.billing import payments
from services.billing.billing_documents import invoice_pdf, receipt_pdf
from services.errors import InvalidTransition
from tests.chat import Chat
from tests.conftest import NOW

# The shared fixtures are imported by name so pytest finds them here; tests then take
# them as parameters of the same name, which is what F811 would flag.
# ruff: noqa: F811
from tests.payments_support import (  # noqa: F401  (fixtures)
    IST,
    STAFF,
    WED_10,
    add_package,
    add_service,
    book,
    clinic,
    count,
    fresh,
    held,
    messages,
    online,
    package,
    paid,
    patient,
    pdf_text,
    prepaid,
    rows,
    sell,
    upi_clinic,
)

# --- invoice numbers, financial years and tax ----------------------------------------------------


def ist_at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=IST)


def test_invoice_numbers_restart_with_the_indian_financial_year(session, online, patient, package):
    before = sell(session, online, patient, package, now=ist_at(2027, 3, 31, 23, 30))
    after = sell(session, online, patient, package, now=ist_at(2027, 4, 1, 0, 30))
    next_one = sell(session, online, patient, package, now=ist_at(2027, 4, 1, 10))

    assert before.number == "INV-2026-27-000001"
    assert (after.number, next_one.number) == ("INV-2027-28-000001", "INV-2027-28-000002")


def test_a_clinic_with_a_calendar_financial_year_numbers_by_calendar_year(
    session, make_clinic, make_patient, connect_razorpay
):
    clinic = make_clinic(financial_year_start_month=1)
    service = add_service(session, clinic)
    package = add_package(session, clinic, service)

    invoice = sell(session, clinic, make_patient(clinic), package, now=ist_at(2027, 4, 1, 0, 30))

    assert invoice.number == "INV-2027-000001"


def test_numbers_are_per_clinic(session, online, patient, package, make_clinic, make_patient):
    other = make_clinic(name="Other Clinic")
    other_package = add_package(session, other, add_service(session, other))

    ours = sell(session, online, patient, package)
    theirs = sell(session, other, make_patient(other), other_package)

    assert ours.number == theirs.number == "INV-2026-27-000001"


@pytest.mark.parametrize(
    ("day", "start_month", "expected"),
    [
        (date(2026, 4, 1), 4, (2026, "2026-27")),
        (date(2027, 3, 31), 4, (2026, "2026-27")),
        (date(2027, 1, 15), 4, (2026, "2026-27")),
        (date(2099, 12, 31), 4, (2099, "2099-00")),
        (date(2026, 1, 1), 1, (2026, "2026")),
        (date(2026, 12, 31), 1, (2026, "2026")),
        (date(2026, 6, 30), 7, (2025, "2025-26")),
        (date(2026, 7, 1), 7, (2026, "2026-27")),
    ],
)
def test_financial_year(day, start_month, expected):
    assert billing.financial_year(day, start_month) == expected


@pytest.mark.parametrize(
    ("subtotal", "rate_bp", "tax"),
    [
        (1000, 1800, 180),
        (80000, 1800, 14400),
        (25, 1800, 5),  # 4.5 → 5: half up
        (2, 1800, 0),  # 0.36 → 0
        (3, 1800, 1),  # 0.54 → 1
        (1, 5000, 1),  # 0.5 → 1
        (999, 0, 0),
        (0, 1800, 0),
    ],
)
def test_tax_is_rounded_half_up_in_integers(subtotal, rate_bp, tax):
    assert billing.tax_for(subtotal, rate_bp) == tax


def test_an_invoice_adds_the_clinics_tax(session, make_clinic, make_patient):
    clinic = make_clinic(tax_rate_bp=1800, tax_label="GST")
    package = add_package(session, clinic, add_service(session, clinic), price=1000)

    invoice = sell(session, clinic, make_patient(clinic), package)

    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (1000, 180, 1180)
    assert (invoice.tax_label, invoice.tax_rate_bp) == ("GST", 1800)


def test_the_chat_asks_for_the_amount_the_link_charges(session, make_clinic, make_therapist):
    clinic = make_clinic(tax_rate_bp=1800, tax_label="GST")
    make_therapist(clinic)
    add_service(session, clinic, prepay=True)
    clinic.upi_vpa = "clinic@okaxis"
    session.commit()
    chat = Chat(session, clinic, now=NOW)
    chat.script("hi", "1", "Asha Verma", "2", "Aarav", "12/03/2019")

    booked = chat.script("1", "1", "wed 9am", "1")

    [payment] = rows(session, Payment)
    assert payment.amount_minor == 94400
    assert "₹944" in booked


# --- money never touches floats ------------------------------------------------------------------


@given(subtotal=st.integers(min_value=0, max_value=10**12), rate_bp=st.integers(0, 5000))
def test_tax_is_exact_integer_arithmetic(subtotal, rate_bp):
    tax = billing.tax_for(subtotal, rate_bp)

    assert type(tax) is int
    exact = Fraction(subtotal * rate_bp, 10000)
    assert exact - Fraction(1, 2) < tax <= exact + Fraction(1, 2)  # nearest, halves up


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # Up to ₹10 lakh a line: money columns are 32-bit INTEGER on PostgreSQL (max ~₹2.1 crore).
    prices=st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=4),
    rate_bp=st.integers(0, 5000),
)
def test_every_invoice_totals_subtotal_plus_tax(session, clinic, patient, prices, rate_bp):
    clinic = session.get(Clinic, clinic.id)
    clinic.policy.tax_rate_bp = rate_bp
    session.commit()
    lines = [
        billing.LineSpec(kind=InvoiceLineKind.OTHER, description=f"item {n}", unit_minor=price)
        for n, price in enumerate(prices)
    ]
    with write_transaction(session):
        invoice = billing.issue_invoice(
            session, clinic=clinic, patient=patient, lines=lines, now=NOW, actor=STAFF
        )

    invoice = fresh(session, invoice)
    assert all(type(v) is int for v in (invoice.subtotal_minor, invoice.tax_minor))
    assert invoice.subtotal_minor == sum(prices)
    assert invoice.total_minor == invoice.subtotal_minor + invoice.tax_minor
    assert invoice.tax_minor == billing.tax_for(sum(prices), rate_bp)


# Real numbers that are not money: a location a patient shared in the chat.
# A map position, and clinical measures (a goal's baseline and target, a session's value:
# 7.5 cm, 12.5 degrees).
NOT_MONEY = frozenset(
    {
        "inbound_media.latitude",
        "inbound_media.longitude",
        "goal.baseline",
        "goal.target",
        "goal_measure.value",
    }
)


def test_no_money_column_is_a_float_or_a_decimal():
    offenders = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Float | Numeric)
    ]
    assert sorted(set(offenders) - NOT_MONEY) == []
    assert "amount_minor" in Base.metadata.tables["payment"].columns  # the check looked


# --- documents -----------------------------------------------------------------------------------


def test_an_invoice_pdf_shows_its_number_and_amount(session, online, patient, package):
    invoice = sell(session, online, patient, package)

    text = pdf_text(invoice_pdf(session, fresh(session, invoice)))

    assert "INV-2026-27-000001" in text
    assert "6,000.00" in text


def test_a_receipt_pdf_shows_its_number_and_amount(session, paid):
    _appointment, payment = paid

    text = pdf_text(receipt_pdf(session, fresh(session, payment)))

    assert "RCPT-2026-27-000001" in text
    assert "800.00" in text
    assert "INV-2026-27-000001" in text  # what it paid


# --- UPI, confirmed by staff ---------------------------------------------------------------------


@pytest.fixture
def upi_booking(session, upi_clinic, patient):
    service = add_service(session, upi_clinic, prepay=True)
    appointment = book(session, upi_clinic, patient, service, WED_10)
    [payment] = rows(session, Payment)
    return appointment, payment


def test_a_prepaid_chat_booking_at_a_upi_clinic_asks_for_upi(session, upi_booking):
    appointment, payment = upi_booking

    assert (payment.method, payment.status, payment.amount_minor) == (
        PaymentMethod.UPI,
        PaymentState.AWAITING_CONFIRMATION,
        80000,
    )
    assert fresh(session, appointment).payment_status is PaymentStatus.PENDING
    [message] = messages(session, "payment_upi")
    assert message.kind is MessageKind.PAYMENT
    assert message.variables["upi_path"] == f"/pay/upi/{payment.public_token}"
    assert count(session, PaymentLink) == 0


def confirm(session, payment):
    return payments.confirm_payment(
        session,
        clinic_id=payment.clinic_id,
        payment_id=payment.id,
        now=NOW + timedelta(hours=2),
        actor=STAFF,
        reference="UTR 612345678901",
    )


def test_staff_confirming_a_upi_payment_pays_the_session(session, upi_booking):
    appointment, payment = upi_booking

    confirmed = confirm(session, payment)

    assert confirmed.status is PaymentState.RECEIVED
    assert confirmed.receipt_number == "RCPT-2026-27-000001"
    assert fresh(session, appointment).payment_status is PaymentStatus.PAID
    [receipt] = messages(session, "payment_receipt")
    assert receipt.variables["receipt"] == "RCPT-2026-27-000001"
    with pytest.raises(InvalidTransition):
        confirm(session, payment)  # once


def test_a_confirmed_upi_payment_confirms_the_booking(session, upi_booking):
    appointment, payment = upi_booking

    confirm(session, payment)

    assert fresh(session, appointment).status is AppointmentStatus.CONFIRMED


def test_staff_rejecting_a_upi_payment_that_never_came(session, upi_booking):
    appointment, payment = upi_booking

    rejected = payments.reject_payment(
        session,
        clinic_id=payment.clinic_id,
        payment_id=payment.id,
        now=NOW + timedelta(hours=2),
        actor=STAFF,
        reason="nothing in the bank statement",
    )

    assert rejected.status is PaymentState.REJECTED
    assert rejected.receipt_number is None
    assert fresh(session, appointment).payment_status is PaymentStatus.PENDING
    assert billing.contact_dues(session, payment.clinic_id, payment.contact_id).total == 80000
