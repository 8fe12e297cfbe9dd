"""Money taken at a session (the session page's "Take payment"): it pays that session,
issuing its invoice if it has none yet; what is due is what that invoice asks.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Payment, PaymentMethod, PaymentStatus
from services.audit import Actor
from services.billing import payments
from services.errors import InvalidInput, InvalidTransition
from services.scheduling.appointments import cancel_appointment
from tests.conftest import NOW
from tests.outbox import book, ist, seed

STAFF = Actor.staff(1)


@pytest.fixture
def clinic(session):
    return seed(session)


def take(session, clinic, appointment, *, contact_id=None, amount=None):
    return payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=contact_id or appointment.patient.contact_id,
        amount_minor=amount or payments.session_due(session, appointment),
        method=PaymentMethod.UPI,
        now=NOW,
        actor=STAFF,
        appointment_id=appointment.id,
    )


def test_money_taken_before_the_session_is_invoiced_pays_it(session, clinic, make_patient):
    appointment = book(session, clinic, make_patient(clinic), ist(23, 11), actor=STAFF)
    due = payments.session_due(session, appointment)
    assert due == appointment.price_minor  # the demo clinic charges no tax

    payment = take(session, clinic, appointment)
    session.expire_all()
    assert appointment.payment_status is PaymentStatus.PAID
    assert payment.patient_id == appointment.patient_id and payment.amount_minor == due
    assert payments.session_due(session, appointment) == 0


def test_another_contact_s_money_or_a_cancelled_session_records_nothing(
    session, clinic, make_patient
):
    appointment = book(session, clinic, make_patient(clinic), ist(23, 11), actor=STAFF)
    stranger = make_patient(clinic, name="Other child", phone="+919876511111")
    with pytest.raises(InvalidInput, match="not this contact"):
        take(session, clinic, appointment, contact_id=stranger.contact_id, amount=100)
    session.rollback()
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=STAFF
    )
    assert payments.session_due(session, appointment) == 0
    with pytest.raises(InvalidTransition, match="cancelled"):
        take(session, clinic, appointment, amount=100)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Payment)) == 0
