"""Dues by age (0–30, 31–60, over 60 days, in the clinic's calendar days) and the
reminder staff send now. Every date is relative to the ``now`` the test passes in.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata (03:30 UTC).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditLog, InvoiceLineKind, MessageKind, OutboundMessage, PaymentMethod
from services.billing import dues, payments
from services.billing import invoices as billing
from services.billing.invoices import LineSpec
from services.errors import InvalidTransition, NotFound
from tests.conftest import NOW

# ruff: noqa: F811
from tests.payments_support import STAFF, clinic, count, patient  # noqa: F401  (fixtures)


def invoice(session, clinic, patient, *, at, amount: int = 60000):
    issued = billing.issue_invoice(
        session,
        clinic=clinic,
        patient=patient,
        lines=[LineSpec(kind=InvoiceLineKind.OTHER, description="Session", unit_minor=amount)],
        now=at,
        actor=STAFF,
    )
    session.commit()
    return issued


def test_dues_are_aged_in_the_clinic_s_calendar_days(session, clinic, patient):
    assert clinic.timezone == "Asia/Kolkata"
    # 24 Oct 00:30 in Kolkata (23 Oct in UTC): 30 days old there, 31 by UTC dates.
    invoice(session, clinic, patient, at=NOW - timedelta(days=30, hours=8, minutes=30))
    invoice(session, clinic, patient, at=NOW - timedelta(days=31), amount=10000)
    invoice(session, clinic, patient, at=NOW - timedelta(days=60), amount=20000)
    invoice(session, clinic, patient, at=NOW - timedelta(days=61), amount=40000)
    invoice(session, clinic, patient, at=NOW, amount=5000)

    aged = dues.dues_ageing(session, clinic.id, now=NOW)

    assert aged[patient.contact_id].buckets == (65000, 30000, 40000)
    assert (
        aged[patient.contact_id].total
        == billing.outstanding_by_contact(session, clinic.id)[patient.contact_id]
    )


def test_an_invoice_moves_to_the_next_bucket_at_the_clinic_s_midnight(session, clinic, patient):
    invoice(session, clinic, patient, at=NOW - timedelta(days=30))
    # 18:29 UTC is 23:59 in Kolkata: still the 30th day; a minute later it is the 31st.
    before_midnight = NOW.replace(hour=18, minute=29)
    after_midnight = before_midnight + timedelta(minutes=1)

    assert dues.dues_ageing(session, clinic.id, now=before_midnight)[
        patient.contact_id
    ].buckets == (60000, 0, 0)
    assert dues.dues_ageing(session, clinic.id, now=after_midnight)[patient.contact_id].buckets == (
        0,
        60000,
        0,
    )


def test_part_paid_invoices_age_by_what_is_left(session, clinic, patient):
    invoice(session, clinic, patient, at=NOW - timedelta(days=45))
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        amount_minor=45000,
        method=PaymentMethod.UPI,
        now=NOW - timedelta(days=1),
        actor=STAFF,
    )

    assert dues.dues_ageing(session, clinic.id, now=NOW)[patient.contact_id].buckets == (
        0,
        15000,
        0,
    )


def test_a_reminder_sent_now_queues_one_message_and_an_audit_row(session, clinic, patient):
    invoice(session, clinic, patient, at=NOW - timedelta(days=40))

    message = dues.send_dues_reminder(
        session, clinic_id=clinic.id, contact_id=patient.contact_id, now=NOW, actor=STAFF
    )
    session.commit()

    queued = session.scalars(select(OutboundMessage)).all()
    assert [(m.id, m.kind, m.template_key) for m in queued] == [
        (message.id, MessageKind.DUES, "dues_reminder")
    ]
    assert queued[0].variables == {"amount": "₹600"}
    audit = session.scalars(
        select(AuditLog).where(AuditLog.action == "message.dues_reminder")
    ).all()
    assert [(a.actor_id, a.entity_id) for a in audit] == [(STAFF.id, str(message.id))]

    # A second press the same day (the clinic's day) queues nothing more.
    with pytest.raises(InvalidTransition):
        dues.send_dues_reminder(
            session,
            clinic_id=clinic.id,
            contact_id=patient.contact_id,
            now=NOW + timedelta(hours=2),
            actor=STAFF,
        )
    session.rollback()
    assert count(session, OutboundMessage) == 1


def test_no_reminder_for_a_contact_who_owes_nothing(session, clinic, patient):
    with pytest.raises(InvalidTransition):
        dues.send_dues_reminder(
            session, clinic_id=clinic.id, contact_id=patient.contact_id, now=NOW, actor=STAFF
        )
    session.rollback()
    assert count(session, OutboundMessage) == 0
    assert count(session, AuditLog, AuditLog.action == "message.dues_reminder") == 0


def test_a_reminder_cannot_reach_another_clinic_s_contact(
    session, clinic, patient, make_clinic, make_patient
):
    other = make_clinic(name="Other", slug="other")
    stranger = make_patient(other)
    invoice(session, other, stranger, at=NOW - timedelta(days=5))

    with pytest.raises(NotFound):
        dues.send_dues_reminder(
            session, clinic_id=clinic.id, contact_id=stranger.contact_id, now=NOW, actor=STAFF
        )
    session.rollback()
    assert count(session, OutboundMessage) == 0
