"""Booking: the verb itself and every refusal.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata. The default therapist works
Mon-Fri 09:00-18:00 and Sat 09:00-13:00; the default policy is 2 h minimum
notice, a 30-day horizon, a 24 h cancellation and a 48 h reschedule window.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import (
    Appointment,
    AppointmentCounter,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    ExceptionKind,
    PaymentStatus,
    TherapistServiceOverride,
)
from services.clinics import catalog
from services.errors import (
    BeyondHorizon,
    InThePast,
    NotFound,
    OutsideHours,
    SlotTaken,
    TooSoon,
)
from services.scheduling.appointments import (
    book_appointment,
    reschedule_appointment,
)
from services.scheduling.availability import Slot, free_slots
from tests.conftest import NOW, SYSTEM
from tests.scheduling.booking_support import (  # noqa: F401  (fixtures)
    LONDON,
    MON,
    SAT,
    STAFF,
    SUN,
    TUE,
    book,
    clinic,
    ist,
    patient,
    patient_of,
    reloaded,
    service,
    state,
    therapist,
)

# ruff: noqa: F811  (the fixtures imported from booking_support)

# --- booking -----------------------------------------------------------------------------


def test_it_books_a_free_slot_with_the_services_price_and_duration(
    session, clinic, therapist, service, patient
):
    appointment = book(session, clinic, patient, service, ist(TUE, 11))

    stored = reloaded(session, appointment)
    assert stored.number == "APT-2026-000001"
    assert stored.start_at == ist(TUE, 11)
    assert stored.end_at == ist(TUE, 11, 45)
    assert stored.price_minor == 80000
    assert stored.payment_status is PaymentStatus.UNPAID
    assert stored.status is AppointmentStatus.BOOKED
    assert stored.source is BookingSource.CHAT
    assert stored.therapist_id == therapist.id
    assert stored.location_id == clinic.locations[0].id
    assert stored.patient_id == patient.id
    assert stored.created_by == "system"


def test_appointment_numbers_count_up_per_clinic_and_year(
    session, make_clinic, make_therapist, make_service, make_patient
):
    first_clinic = make_clinic()
    make_therapist(first_clinic)
    first_service = make_service(first_clinic)
    second_clinic = make_clinic(name="Other Clinic")
    make_therapist(second_clinic)
    second_service = make_service(second_clinic)

    one = book(session, first_clinic, make_patient(first_clinic), first_service, ist(TUE, 11))
    two = book(session, first_clinic, make_patient(first_clinic), first_service, ist(TUE, 12))
    other = book(session, second_clinic, make_patient(second_clinic), second_service, ist(TUE, 11))

    assert (one.number, two.number) == ("APT-2026-000001", "APT-2026-000002")
    assert other.number == "APT-2026-000001"


def test_booking_writes_one_audit_row_describing_the_appointment(
    session, clinic, therapist, service, patient
):
    actor = patient_of(patient)

    appointment = book(session, clinic, patient, service, ist(TUE, 11), actor=actor)

    rows = session.scalars(select(AuditLog).where(AuditLog.action == "appointment.book")).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.clinic_id == clinic.id
    assert (row.entity_type, row.entity_id) == ("Appointment", str(appointment.id))
    assert (row.actor_type, row.actor_id) == (actor.type, patient.contact_id)
    assert row.before is None
    assert row.after["number"] == "APT-2026-000001"
    assert row.after["status"] == "booked"
    assert appointment.created_by == f"contact:{patient.contact_id}"


def test_a_therapists_override_sets_the_price_and_the_end_time(
    session, clinic, therapist, service, patient
):
    catalog.save_record(
        session,
        TherapistServiceOverride(
            therapist_id=therapist.id,
            service_id=service.id,
            price_minor=120000,
            duration_minutes=60,
        ),
        clinic_id=clinic.id,
        actor=SYSTEM,
        before=None,
    )

    appointment = reloaded(session, book(session, clinic, patient, service, ist(TUE, 11)))

    assert appointment.price_minor == 120000
    assert appointment.end_at == ist(TUE, 12)


def test_a_free_service_needs_no_payment(session, clinic, therapist, make_service, patient):
    free = make_service(clinic, name="Free Screening", price=0)

    appointment = book(session, clinic, patient, free, ist(TUE, 11))

    assert appointment.price_minor == 0
    assert appointment.payment_status is PaymentStatus.NOT_REQUIRED


def test_any_therapist_picks_a_colleague_when_the_first_is_busy(
    session, clinic, make_therapist, make_service, make_patient
):
    first = make_therapist(clinic, name="Dr. First")
    second = make_therapist(clinic, name="Dr. Second")
    service = make_service(clinic)

    taken = book(session, clinic, make_patient(clinic), service, ist(TUE, 11), therapist=first)
    anyone = book(session, clinic, make_patient(clinic, name="Diya"), service, ist(TUE, 11))

    assert taken.therapist_id == first.id
    assert anyone.therapist_id == second.id


def test_any_therapist_prefers_the_first_free_one(
    session, clinic, make_therapist, make_service, patient
):
    first = make_therapist(clinic, name="Dr. First")
    make_therapist(clinic, name="Dr. Second")
    service = make_service(clinic)

    assert book(session, clinic, patient, service, ist(TUE, 11)).therapist_id == first.id


def test_a_group_session_takes_bookings_up_to_its_capacity(
    session, clinic, therapist, make_service, make_patient
):
    group = make_service(clinic, name="Group", minutes=60, capacity=3)
    start = ist(TUE, 11)
    seats = [book(session, clinic, make_patient(clinic, name=n), group, start) for n in "ABC"]

    with pytest.raises(SlotTaken):
        book(session, clinic, make_patient(clinic, name="D"), group, start)

    assert {a.therapist_id for a in seats} == {therapist.id}
    assert len({a.number for a in seats}) == 3


def test_a_session_across_the_spring_dst_change_lasts_its_full_duration(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic(timezone="Europe/London", region="GB", booking_horizon_days=60)
    therapist = make_therapist(clinic, hours={})
    service = make_service(clinic, minutes=90)
    patient = make_patient(clinic)
    sunday = date(2026, 3, 29)  # 01:00 GMT becomes 02:00 BST
    catalog.add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.EXTRA,
        therapist_id=therapist.id,
        location_id=clinic.locations[0].id,
        start_date=sunday,
        end_date=sunday,
        start=time(0),
        end=time(6),
        actor=SYSTEM,
    )
    now = datetime(2026, 3, 20, tzinfo=UTC)
    slot = next(
        s
        for s in free_slots(
            session,
            clinic_id=clinic.id,
            service_id=service.id,
            start_date=sunday,
            end_date=sunday,
            now=now,
        )
        if s.start == datetime(2026, 3, 29, 0, 30, tzinfo=LONDON)
    )

    appointment = reloaded(session, book(session, clinic, patient, service, slot.start, now=now))

    assert appointment.end_at - appointment.start_at == timedelta(minutes=90)
    assert appointment.end_at == slot.end == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)

    moved = reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=datetime(2026, 3, 29, 0, 45, tzinfo=LONDON),
        now=now,
        actor=STAFF,
    )

    assert reloaded(session, moved).end_at == datetime(2026, 3, 29, 2, 15, tzinfo=UTC)


# --- refusals ------------------------------------------------------------------------------


def refuse(session, error, clinic, patient, service, start, **kwargs):
    """Book and expect ``error``; assert that nothing was written."""
    before = state(session)
    with pytest.raises(error) as refused:
        book(session, clinic, patient, service, start, **kwargs)
    assert state(session) == before
    assert refused.value.message
    return refused.value


def test_it_refuses_a_start_in_the_past(session, clinic, therapist, service, patient):
    error = refuse(session, InThePast, clinic, patient, service, ist(MON, 8))

    assert error.message == "That time has already passed."


def test_it_refuses_a_start_at_this_very_moment(session, clinic, therapist, service, patient):
    refuse(session, InThePast, clinic, patient, service, NOW)


def test_it_refuses_a_start_inside_the_minimum_notice(session, clinic, therapist, service, patient):
    error = refuse(session, TooSoon, clinic, patient, service, ist(MON, 10, 45))

    assert error.message == "Sessions must be booked at least 2 hours ahead."


def test_it_refuses_a_start_beyond_the_booking_horizon(
    session, clinic, therapist, service, patient
):
    error = refuse(session, BeyondHorizon, clinic, patient, service, NOW + timedelta(days=30))

    assert error.message == "Sessions can be booked up to 30 days ahead."


def test_it_refuses_an_evening_start_and_offers_the_nearest_times_that_day(
    session, clinic, therapist, service, patient
):
    error = refuse(session, OutsideHours, clinic, patient, service, ist(TUE, 20))

    assert error.message == "The clinic is not open for that session at that time."
    assert all(isinstance(s, Slot) for s in error.alternatives)
    assert [s.start for s in error.alternatives] == [
        ist(TUE, 16, 45),
        ist(TUE, 17),
        ist(TUE, 17, 15),
    ]


def test_it_refuses_a_sunday_and_offers_the_nearest_open_times(
    session, clinic, therapist, service, patient
):
    error = refuse(session, OutsideHours, clinic, patient, service, ist(SUN, 10))

    assert error.alternatives
    assert all(isinstance(s, Slot) for s in error.alternatives)
    # Saturday closes at 13:00 (last 45-minute start 12:15); Monday opens at 09:00.
    assert [s.start for s in error.alternatives] == [
        ist(SAT, 11, 45),
        ist(SAT, 12),
        ist(SAT, 12, 15),
    ]


def test_it_refuses_a_start_that_does_not_fit_before_closing(
    session, clinic, therapist, service, patient
):
    error = refuse(session, OutsideHours, clinic, patient, service, ist(TUE, 17, 30))

    assert error.alternatives


def test_it_refuses_a_slot_taken_a_moment_ago_and_offers_the_nearest_free_times(
    session, clinic, therapist, service, make_patient
):
    book(session, clinic, make_patient(clinic), service, ist(TUE, 11))

    error = refuse(
        session, SlotTaken, clinic, make_patient(clinic, name="Diya"), service, ist(TUE, 11)
    )

    assert error.message == "Sorry, that time was just taken."
    # 10:15 and 11:45 are 45 minutes away; 10:00 and 12:00 tie at an hour, the earlier wins.
    assert [s.start for s in error.alternatives] == [
        ist(TUE, 10),
        ist(TUE, 10, 15),
        ist(TUE, 11, 45),
    ]
    assert all(isinstance(s, Slot) for s in error.alternatives)


def test_it_refuses_a_start_overlapping_another_session(
    session, clinic, therapist, service, make_patient
):
    book(session, clinic, make_patient(clinic), service, ist(TUE, 11))

    error = refuse(
        session, SlotTaken, clinic, make_patient(clinic, name="Diya"), service, ist(TUE, 11, 30)
    )

    assert ist(TUE, 11, 30) not in {s.start for s in error.alternatives}


def test_a_named_busy_therapist_is_refused_even_when_a_colleague_is_free(
    session, clinic, make_therapist, make_service, make_patient
):
    busy = make_therapist(clinic, name="Dr. Busy")
    make_therapist(clinic, name="Dr. Free")
    service = make_service(clinic)
    book(session, clinic, make_patient(clinic), service, ist(TUE, 11), therapist=busy)

    error = refuse(
        session,
        SlotTaken,
        clinic,
        make_patient(clinic, name="Diya"),
        service,
        ist(TUE, 11),
        therapist=busy,
    )

    assert {s.therapist_id for s in error.alternatives} == {busy.id}


def test_a_refused_booking_does_not_use_up_an_appointment_number(
    session, clinic, therapist, service, make_patient
):
    book(session, clinic, make_patient(clinic), service, ist(TUE, 11))
    with pytest.raises(SlotTaken):
        book(session, clinic, make_patient(clinic, name="Diya"), service, ist(TUE, 11))

    nxt = book(session, clinic, make_patient(clinic, name="Kabir"), service, ist(TUE, 12))

    assert nxt.number == "APT-2026-000002"
    assert session.scalar(select(AppointmentCounter.last_value)) == 2


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("patient", "We could not find that patient."),
        ("service", "We could not find that service."),
        ("therapist", "We could not find that therapist for this service."),
    ],
)
def test_it_refuses_unknown_ids(session, clinic, therapist, service, patient, field, message):
    ids = {"patient": patient.id, "service": service.id, "therapist": therapist.id}
    ids[field] = 987654
    before = state(session)

    with pytest.raises(NotFound) as refused:
        book_appointment(
            session,
            clinic_id=clinic.id,
            patient_id=ids["patient"],
            service_id=ids["service"],
            therapist_id=ids["therapist"],
            start=ist(TUE, 11),
            now=NOW,
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )

    assert refused.value.message == message
    assert state(session) == before


def test_it_refuses_another_clinics_patient(
    session, clinic, therapist, service, make_clinic, make_patient
):
    stranger = make_patient(make_clinic(name="Other Clinic"))

    error = refuse(session, NotFound, clinic, stranger, service, ist(TUE, 11))

    assert error.message == "We could not find that patient."


def test_it_refuses_an_inactive_patient(session, clinic, therapist, service, patient):
    patient.active = False
    session.commit()

    refuse(session, NotFound, clinic, patient, service, ist(TUE, 11))


def test_it_refuses_an_inactive_service(session, clinic, therapist, service, patient):
    service.active = False
    session.commit()

    error = refuse(session, NotFound, clinic, patient, service, ist(TUE, 11))

    assert error.message == "We could not find that service."


@pytest.mark.parametrize("which", ["start", "now"])
def test_it_refuses_naive_datetimes(session, clinic, therapist, service, patient, which):
    times = {"start": ist(TUE, 11), "now": NOW}
    times[which] = times[which].replace(tzinfo=None)
    before = state(session)

    with pytest.raises(ValueError, match="timezone-aware"):
        book(session, clinic, patient, service, times["start"], now=times["now"])

    assert state(session) == before


def test_notice_is_counted_in_real_hours_when_now_is_given_in_the_clinics_zone(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic(timezone="Europe/London", region="GB", booking_horizon_days=60)
    therapist = make_therapist(clinic, hours={})
    service = make_service(clinic, minutes=30)
    patient = make_patient(clinic)
    sunday = date(2026, 3, 29)
    catalog.add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.EXTRA,
        therapist_id=therapist.id,
        location_id=clinic.locations[0].id,
        start_date=sunday,
        end_date=sunday,
        start=time(0),
        end=time(6),
        actor=SYSTEM,
    )
    now = datetime(2026, 3, 28, 23, 30, tzinfo=LONDON)
    # 02:00 BST is 01:00 UTC: only 90 real minutes after 23:30 GMT.
    start = datetime(2026, 3, 29, 2, 0, tzinfo=LONDON)

    refuse(session, TooSoon, clinic, patient, service, start, now=now)
    assert book(session, clinic, patient, service, start + timedelta(minutes=30), now=now)


def test_two_patients_racing_for_one_slot_get_one_booking_and_one_refusal(
    db, session, clinic, therapist, service, make_patient
):
    racers = [make_patient(clinic, name=name) for name in ("Aarav", "Diya")]
    session.commit()
    barrier = threading.Barrier(len(racers))
    results: list[object] = []

    def race(patient_id: int) -> None:
        with db.session_scope() as own:
            barrier.wait(timeout=10)
            try:
                appointment = book_appointment(
                    own,
                    clinic_id=clinic.id,
                    patient_id=patient_id,
                    service_id=service.id,
                    start=ist(TUE, 11),
                    now=NOW,
                    actor=SYSTEM,
                    source=BookingSource.CHAT,
                )
                results.append(appointment.number)
            except SlotTaken as exc:
                results.append(exc)

    threads = [threading.Thread(target=race, args=(p.id,)) for p in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(map(type, results), key=lambda t: t.__name__) == [SlotTaken, str]
    assert session.scalar(select(func.count()).select_from(Appointment)) == 1


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # the constraint is PostgreSQL's
def test_postgresql_itself_refuses_overlapping_sessions_of_one_therapist(
    db, session, clinic, therapist, service, patient
):
    first = book(session, clinic, patient, service, ist(TUE, 11))
    clash = Appointment(
        clinic_id=clinic.id,
        number="APT-2026-999999",
        patient_id=patient.id,
        therapist_id=therapist.id,
        service_id=service.id,
        location_id=first.location_id,
        start_at=ist(TUE, 11, 30),
        end_at=ist(TUE, 12, 15),
        price_minor=0,
        source=BookingSource.ADMIN,
        overlap_key="a:APT-2026-999999",
        created_by="test",
    )
    session.add(clash)

    with pytest.raises(IntegrityError, match="no_overlap"):
        session.commit()
    session.rollback()
