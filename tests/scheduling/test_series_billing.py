"""A prepaid course, billed as the clinic chooses (clinic_policy.course_billing):
"session" bills each session as a single booking is billed, "package" issues one invoice
for the whole course when it is booked and pays each session from a credit of it, with one
payment link when the patient booked in the chat.

Dates are pinned around ``NOW`` (Monday 23 Nov 2026) and passed to the services."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from models import (
    Appointment,
    AppointmentStatus,
    CreditEntry,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    PaymentLink,
    PaymentStatus,
    Service,
)
from services.audit import Actor
from services.billing import credits
from services.scheduling.series import Scope, cancel_series
from tests.conftest import NOW
from tests.scheduling.booking_support import (  # noqa: F401  (fixtures)
    STAFF,
    clinic,
    patient,
    service,
    therapist,
)
from tests.scheduling.test_series import NEXT_MON, course, eight_weeks

# ruff: noqa: F811  (the fixtures imported from booking_support)

SIX = {"sessions": 6}


@pytest.fixture
def prepaid(session, clinic, service) -> Service:
    service.prepay_required = True
    clinic.razorpay_key_id, clinic.razorpay_key_secret_encrypted = "rzp_test_x", "sealed"
    session.commit()
    return service


def by_package(session, clinic) -> None:
    clinic.policy.course_billing = "package"
    session.commit()


def in_chat(session, clinic, patient, service, therapist):
    """Six weekly sessions, booked by the patient in the chat."""
    actor = Actor.contact(patient.contact_id)
    return course(session, clinic, patient, service, therapist, eight_weeks(**SIX), actor=actor)


def invoices(session, clinic) -> list[Invoice]:
    return list(session.scalars(select(Invoice).where(Invoice.clinic_id == clinic.id)))


def sessions_of(session, booking) -> list[Appointment]:
    session.expire_all()
    return [session.get(Appointment, a.id) for a in booking.booked]


def test_a_course_billed_as_a_package_is_one_invoice_and_one_link(
    session, clinic, prepaid, therapist, patient
):
    by_package(session, clinic)
    booking = in_chat(session, clinic, patient, prepaid, therapist)
    [invoice] = invoices(session, clinic)
    [line] = session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
    assert (line.kind, line.quantity, line.unit_minor) == (InvoiceLineKind.PACKAGE, 6, 80000)
    assert line.description == "Speech Therapy Session: course of 6 sessions from 30 Nov 2026"
    assert invoice.total_minor == 6 * 80000
    booked = sessions_of(session, booking)
    assert {a.payment_status for a in booked} == {PaymentStatus.PAID}  # each from its credit
    assert {a.hold_expires_at for a in booked} == {None}  # a course is never released
    assert credits.credit_balance(session, patient.id, prepaid.id) == 0
    [link] = session.scalars(select(PaymentLink).where(PaymentLink.clinic_id == clinic.id))
    assert (link.amount_minor, link.appointment_id) == (6 * 80000, None)
    assert "course of 6 sessions" in link.description


def test_cancelling_a_package_session_in_time_gives_its_credit_back(
    session, clinic, prepaid, therapist, patient
):
    by_package(session, clinic)
    booking = course(session, clinic, patient, prepaid, therapist, eight_weeks(**SIX))
    last = booking.booked[-1]
    cancel_series(
        session,
        clinic_id=clinic.id,
        appointment_id=last.id,
        scope=Scope.THIS,
        now=NOW,
        actor=STAFF,
    )
    assert session.get(Appointment, last.id).status is AppointmentStatus.CANCELLED
    assert credits.credit_balance(session, patient.id, prepaid.id) == 1  # for another session
    [invoice] = invoices(session, clinic)
    assert invoice.total_minor == 6 * 80000  # the course's invoice stands


def test_staff_booking_a_package_course_send_no_link(session, clinic, prepaid, therapist, patient):
    by_package(session, clinic)
    course(session, clinic, patient, prepaid, therapist, eight_weeks(**SIX))
    assert len(invoices(session, clinic)) == 1
    links = select(func.count()).select_from(PaymentLink).where(PaymentLink.clinic_id == clinic.id)
    assert session.scalar(links) == 0  # at the desk, staff take the money or send a link


def test_per_session_billing_leaves_a_course_as_it_was(
    session, clinic, prepaid, therapist, patient
):
    assert clinic.policy.course_billing == "session"  # the default
    booking = in_chat(session, clinic, patient, prepaid, therapist)
    assert invoices(session, clinic) == []
    assert {a.payment_status for a in sessions_of(session, booking)} == {PaymentStatus.UNPAID}
    assert session.scalar(select(func.count()).select_from(CreditEntry)) == 0


def test_a_free_or_pay_after_service_is_not_invoiced_as_a_package(
    session, clinic, service, therapist, patient
):
    by_package(session, clinic)  # the service is not prepaid
    course(session, clinic, patient, service, therapist, eight_weeks(**SIX))
    assert invoices(session, clinic) == []


def test_the_first_session_date_is_the_courses_in_the_clinics_zone(
    session, clinic, prepaid, therapist, patient
):
    by_package(session, clinic)
    course(
        session,
        clinic,
        patient,
        prepaid,
        therapist,
        eight_weeks(first=NEXT_MON, local_time=time(9), **SIX),
    )
    [line] = session.scalars(select(InvoiceLine))
    assert line.description.endswith("from 30 Nov 2026")  # 03:30 UTC, 09:00 in Kolkata
