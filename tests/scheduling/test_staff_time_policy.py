"""Staff may act now: the clinic's notice and horizon are patient rules.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata (the demo clinic Roshni: 2 h minimum
notice, reminders 24 h and 2 h ahead). Staff book a walk-in inside the notice, far
beyond the horizon, or a session that already started; the last is marked back-dated,
audited as such, and tells the guardian nothing about a time that has passed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Appointment, AuditLog, MessageKind
from services.audit import Actor
from services.errors import BeyondHorizon, InThePast, TooSoon
from services.scheduling.appointments import reschedule_appointment
from tests.conftest import NOW
from tests.outbox import book, ist, outbox, seed

STAFF = Actor.staff(1)


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)


def messages_for(session, appointment: Appointment) -> list[tuple[MessageKind, str]]:
    rows = outbox(session, appointment_id=appointment.id)
    return [(row.kind, row.template_key) for row in rows]


def audit_rows(session, appointment: Appointment) -> list[AuditLog]:
    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "Appointment", AuditLog.entity_id == str(appointment.id))
            .order_by(AuditLog.id)
        )
    )


def test_staff_book_a_walk_in_inside_the_minimum_notice(session, clinic, patient):
    appointment = book(session, clinic, patient, ist(23, 10), actor=STAFF)
    assert appointment.start_at == ist(23, 10)
    assert not appointment.backdated
    # Still ahead: the guardian hears about it (the notice; the 2 h reminder is past).
    assert messages_for(session, appointment) == [(MessageKind.NOTICE, "notice_booked")]


def test_staff_book_beyond_the_booking_horizon(session, clinic, patient):
    far = ist(23, 10) + timedelta(days=clinic.policy.booking_horizon_days + 7)
    appointment = book(session, clinic, patient, far, actor=STAFF)
    assert appointment.start_at == far


def test_staff_enter_a_session_that_started_minutes_ago_marked_audited_and_unannounced(
    session, clinic, patient
):
    now = ist(23, 10, 7)
    appointment = book(session, clinic, patient, ist(23, 10), actor=STAFF, now=now)
    assert appointment.backdated
    assert appointment.backdated_at == now
    [row] = audit_rows(session, appointment)
    assert row.action == "appointment.book"
    assert row.after["backdated_at"] is not None
    # No confirmation and no reminders for a time that has passed.
    assert messages_for(session, appointment) == []


def test_staff_enter_yesterdays_session(session, clinic, patient):
    appointment = book(session, clinic, patient, ist(20, 11), actor=STAFF)
    assert appointment.backdated
    assert messages_for(session, appointment) == []


def test_staff_move_a_session_into_the_past_marks_it_and_withdraws_its_reminders(
    session, clinic, patient
):
    appointment = book(session, clinic, patient, ist(25, 11), actor=STAFF)
    assert (MessageKind.REMINDER, "reminder") in messages_for(session, appointment)
    reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(20, 14),  # last Friday: recorded afterwards
        now=NOW,
        actor=STAFF,
    )
    assert appointment.backdated
    rows = outbox(session, appointment_id=appointment.id)
    queued = [(r.kind, r.template_key) for r in rows if r.status.value == "queued"]
    assert queued == [(MessageKind.NOTICE, "notice_booked")]  # the first booking's notice
    assert audit_rows(session, appointment)[-1].after["backdated_at"] is not None


@pytest.mark.parametrize(
    ("start", "refusal"),
    [
        (ist(23, 10), TooSoon),
        (ist(23, 8, 45), InThePast),
        (ist(23, 10) + timedelta(days=60), BeyondHorizon),
    ],
)
def test_patients_keep_every_policy(session, clinic, patient, start, refusal):
    with pytest.raises(refusal):
        book(session, clinic, patient, start, actor=Actor.contact(patient.contact_id))
    assert session.scalar(select(Appointment.id)) is None
