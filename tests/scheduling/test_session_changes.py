"""Changing a booked session: reschedule, cancel, confirm, complete, no-show.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata. The default therapist works
Mon-Fri 09:00-18:00 and Sat 09:00-13:00; the default policy is 2 h minimum
notice, a 30-day horizon, a 24 h cancellation and a 48 h reschedule window.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from models import (
    AppointmentStatus,
    AuditLog,
)
from services.errors import (
    BeyondHorizon,
    InThePast,
    InvalidTransition,
    NotFound,
    OutsideHours,
    SlotTaken,
    TooLateToCancel,
    TooLateToReschedule,
    TooSoon,
)
from services.scheduling.appointments import (
    cancel_appointment,
    complete_appointment,
    confirm_appointment,
    mark_no_show,
    reschedule_appointment,
)
from tests.conftest import NOW, SYSTEM
from tests.scheduling.booking_support import (  # noqa: F401  (fixtures)
    FRI,
    LONDON,
    MON,
    STAFF,
    THU,
    TUE,
    book,
    clinic,
    free_starts,
    ist,
    patient,
    patient_of,
    reloaded,
    service,
    state,
    therapist,
)

# ruff: noqa: F811  (the fixtures imported from booking_support)

# --- reschedule -----------------------------------------------------------------------------


def test_rescheduling_moves_the_session_and_frees_the_old_slot(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(THU, 11))

    moved = reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(FRI, 14),
        now=NOW,
        actor=patient_of(patient),  # 74 hours ahead: outside the 48-hour window
    )

    stored = reloaded(session, moved)
    assert (stored.start_at, stored.end_at) == (ist(FRI, 14), ist(FRI, 14, 45))
    assert stored.number == appointment.number
    assert stored.status is AppointmentStatus.BOOKED
    assert ist(THU, 11) in free_starts(session, clinic, service, THU)
    assert ist(FRI, 14) not in free_starts(session, clinic, service, FRI)
    audit = session.scalars(
        select(AuditLog).where(AuditLog.action == "appointment.reschedule")
    ).one()
    assert audit.entity_id == str(appointment.id)
    assert set(audit.before) >= {"start_at", "end_at"}


def test_rescheduling_may_overlap_the_sessions_own_old_time(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(THU, 11))

    moved = reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(THU, 11, 15),
        now=NOW,
        actor=STAFF,
    )

    assert reloaded(session, moved).start_at == ist(THU, 11, 15)


def test_a_patient_cannot_reschedule_inside_the_reschedule_window(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))  # 26 h ahead
    before = state(session)

    with pytest.raises(TooLateToReschedule) as refused:
        reschedule_appointment(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            new_start=ist(FRI, 11),
            now=NOW,
            actor=patient_of(patient),
        )

    assert refused.value.message == (
        "Sessions can be moved up to 48 hours before they start. Please talk to the clinic."
    )
    assert state(session) == before


def test_staff_may_reschedule_inside_the_reschedule_window(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))

    moved = reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(TUE, 15),
        now=NOW,
        actor=STAFF,
    )

    assert reloaded(session, moved).start_at == ist(TUE, 15)


def test_rescheduling_onto_a_taken_slot_is_refused_and_keeps_the_old_time(
    session, clinic, therapist, service, make_patient
):
    mine = book(session, clinic, make_patient(clinic), service, ist(THU, 11))
    book(session, clinic, make_patient(clinic, name="Diya"), service, ist(FRI, 11))
    before = state(session)

    with pytest.raises(SlotTaken) as refused:
        reschedule_appointment(
            session,
            clinic_id=clinic.id,
            appointment_id=mine.id,
            new_start=ist(FRI, 11),
            now=NOW,
            actor=STAFF,
        )

    assert refused.value.alternatives
    assert state(session) == before


def test_a_patients_rescheduling_is_held_to_the_same_time_rules_as_booking(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(THU, 11))
    before = state(session)

    # Staff may act inside the notice, beyond the horizon and in the past (walk-ins,
    # tests/scheduling/test_staff_time_policy.py); only opening hours bind them too.
    for new_start, error, actor in [
        (ist(MON, 8), InThePast, patient_of(patient)),
        (ist(MON, 10), TooSoon, patient_of(patient)),
        (NOW + timedelta(days=31), BeyondHorizon, patient_of(patient)),
        (ist(THU, 20), OutsideHours, STAFF),
    ]:
        with pytest.raises(error):
            reschedule_appointment(
                session,
                clinic_id=clinic.id,
                appointment_id=appointment.id,
                new_start=new_start,
                now=NOW,
                actor=actor,
            )

    assert state(session) == before


def test_a_moved_session_needs_confirming_again(session, clinic, therapist, service, patient):
    appointment = book(session, clinic, patient, service, ist(THU, 11))
    confirm_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=SYSTEM
    )

    moved = reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(THU, 14),
        now=NOW,
        actor=STAFF,
    )

    assert moved.status is AppointmentStatus.BOOKED
    assert moved.confirmed_at is None


def test_a_cancelled_session_cannot_be_rescheduled(session, clinic, therapist, service, patient):
    appointment = book(session, clinic, patient, service, ist(THU, 11))
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=STAFF
    )

    with pytest.raises(InvalidTransition) as refused:
        reschedule_appointment(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            new_start=ist(FRI, 11),
            now=NOW,
            actor=STAFF,
        )

    assert refused.value.message == "This appointment is cancelled, so it cannot be moved."


# --- cancel ----------------------------------------------------------------------------------


def test_a_patient_cannot_cancel_inside_the_cancellation_window(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))
    before = state(session)

    with pytest.raises(TooLateToCancel) as refused:
        cancel_appointment(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            now=ist(MON, 12),  # 23 hours before
            actor=patient_of(patient),
        )

    assert refused.value.message == (
        "Sessions can be cancelled up to 24 hours before they start. Please talk to the clinic."
    )
    assert state(session) == before
    assert ist(TUE, 11) not in free_starts(session, clinic, service, TUE)


def test_a_patient_may_cancel_before_the_cancellation_window(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))

    cancelled = cancel_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        now=ist(MON, 10),  # 25 hours before
        actor=patient_of(patient),
        reason="  Fever  ",
    )

    stored = reloaded(session, cancelled)
    assert stored.status is AppointmentStatus.CANCELLED
    assert stored.cancelled_at == ist(MON, 10)
    assert stored.cancelled_by == f"contact:{patient.contact_id}"
    assert stored.cancellation_reason == "Fever"
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "appointment.cancel")).one()
    assert audit.before == {
        "status": "booked",
        "cancelled_at": None,
        "cancelled_by": None,
        "cancellation_reason": None,
    }


def test_staff_may_cancel_at_any_time_before_the_session(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))

    cancelled = cancel_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        now=ist(TUE, 10, 30),
        actor=STAFF,
    )

    assert cancelled.status is AppointmentStatus.CANCELLED
    assert cancelled.cancelled_by == "staff:1"


def test_cancelling_twice_is_an_invalid_transition(session, clinic, therapist, service, patient):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=STAFF
    )
    before = state(session)

    with pytest.raises(InvalidTransition) as refused:
        cancel_appointment(
            session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=STAFF
        )

    assert refused.value.message == "This appointment is cancelled, so it cannot be cancelled."
    assert state(session) == before


def test_a_cancelled_slot_can_be_booked_again(session, clinic, therapist, service, make_patient):
    first = book(session, clinic, make_patient(clinic), service, ist(TUE, 11))
    cancel_appointment(session, clinic_id=clinic.id, appointment_id=first.id, now=NOW, actor=STAFF)

    assert ist(TUE, 11) in free_starts(session, clinic, service, TUE)
    again = book(session, clinic, make_patient(clinic, name="Diya"), service, ist(TUE, 11))
    assert again.status is AppointmentStatus.BOOKED
    assert again.number == "APT-2026-000002"


def test_the_cancellation_window_counts_real_hours_across_a_dst_change(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic(timezone="Europe/London", region="GB", booking_horizon_days=60)
    make_therapist(clinic, hours={d: (time(9), time(17)) for d in range(7)})
    service = make_service(clinic)
    patient = make_patient(clinic)
    start = datetime(2026, 3, 29, 10, 0, tzinfo=LONDON)  # 09:00 UTC, after the change
    appointment = book(
        session, clinic, patient, service, start, now=datetime(2026, 3, 20, tzinfo=LONDON)
    )
    # 09:30 GMT on Saturday is 23.5 real hours before, though 24.5 by the wall clock.
    now = datetime(2026, 3, 28, 9, 30, tzinfo=LONDON)

    with pytest.raises(TooLateToCancel):
        cancel_appointment(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            now=now,
            actor=patient_of(patient),
        )


# --- confirm, complete, no-show ----------------------------------------------------------------


def test_confirming_twice_is_harmless_and_audited_once(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))

    first = confirm_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=SYSTEM
    )
    second = confirm_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        now=NOW + timedelta(hours=1),
        actor=SYSTEM,
    )

    stored = reloaded(session, second)
    assert first.id == second.id
    assert stored.status is AppointmentStatus.CONFIRMED
    assert stored.confirmed_at == NOW
    confirmations = session.scalars(
        select(AuditLog).where(AuditLog.action == "appointment.confirm")
    ).all()
    assert len(confirmations) == 1


def test_a_confirmed_session_still_holds_its_slot(session, clinic, therapist, service, patient):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))
    confirm_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=SYSTEM
    )

    assert ist(TUE, 11) not in free_starts(session, clinic, service, TUE)


@pytest.mark.parametrize(
    ("verb", "words"), [(complete_appointment, "completed"), (mark_no_show, "marked as a no-show")]
)
def test_a_future_session_cannot_be_completed_or_marked_no_show(
    session, clinic, therapist, service, patient, verb, words
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))
    before = state(session)

    with pytest.raises(InvalidTransition) as refused:
        verb(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            now=ist(TUE, 10, 59),
            actor=STAFF,
        )

    assert refused.value.message == f"This session has not started yet, so it cannot be {words}."
    assert state(session) == before


def test_a_started_session_can_be_completed(session, clinic, therapist, service, patient):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))

    done = complete_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=ist(TUE, 11), actor=STAFF
    )

    stored = reloaded(session, done)
    assert stored.status is AppointmentStatus.COMPLETED
    assert stored.completed_at == ist(TUE, 11)
    assert session.scalars(select(AuditLog).where(AuditLog.action == "appointment.completed")).one()


def test_a_started_session_can_be_marked_no_show(session, clinic, therapist, service, patient):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))

    missed = mark_no_show(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        now=ist(TUE, 11, 20),
        actor=STAFF,
    )

    assert reloaded(session, missed).status is AppointmentStatus.NO_SHOW
    assert session.scalars(select(AuditLog).where(AuditLog.action == "appointment.no_show")).one()


def test_a_closed_session_cannot_be_closed_or_cancelled_again(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))
    later = ist(TUE, 12)
    complete_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=later, actor=STAFF
    )

    for verb in (complete_appointment, mark_no_show, cancel_appointment, confirm_appointment):
        with pytest.raises(InvalidTransition, match="completed"):
            verb(
                session, clinic_id=clinic.id, appointment_id=appointment.id, now=later, actor=STAFF
            )


def test_an_unknown_appointment_is_not_found(session, clinic):
    for verb in (cancel_appointment, confirm_appointment, complete_appointment, mark_no_show):
        with pytest.raises(NotFound, match="appointment"):
            verb(session, clinic_id=clinic.id, appointment_id=987654, now=NOW, actor=STAFF)
