"""Booking verbs (book, reschedule, cancel, confirm, complete, no-show) and the
validators behind patients, phones and the catalogue.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata. The default therapist works
Mon-Fri 09:00-18:00 and Sat 09:00-13:00; the default policy is 2 h minimum
notice, a 30-day horizon, a 24 h cancellation and a 48 h reschedule window.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import (
    Appointment,
    AppointmentCounter,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    Contact,
    ExceptionKind,
    Patient,
    PaymentStatus,
    Relation,
    Service,
    TherapistServiceOverride,
)
from services import audit
from services.audit import Actor
from services.clinics import catalog
from services.errors import (
    BeyondHorizon,
    Duplicate,
    InThePast,
    InvalidInput,
    InvalidPhone,
    InvalidTransition,
    NotFound,
    OutsideHours,
    SlotTaken,
    TooLateToCancel,
    TooLateToReschedule,
    TooSoon,
)
from services.people import patients
from services.people.phones import normalise_phone
from services.scheduling.appointments import (
    book_appointment,
    cancel_appointment,
    complete_appointment,
    confirm_appointment,
    mark_no_show,
    reschedule_appointment,
)
from services.scheduling.availability import Slot, free_slots
from tests.conftest import NOW, SYSTEM

IST = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
STAFF = Actor.staff(1)
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, d) for d in range(23, 30))


def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=IST)


def book(session, clinic, patient, service, start, *, therapist=None, now=NOW, actor=SYSTEM):
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=start,
        now=now,
        actor=actor,
        source=BookingSource.CHAT,
        therapist_id=therapist.id if therapist is not None else None,
    )


def patient_of(patient) -> Actor:
    return Actor.contact(patient.contact_id)


def free_starts(session, clinic, service, day: date, now=NOW) -> set[datetime]:
    slots = free_slots(
        session, clinic_id=clinic.id, service_id=service.id, start_date=day, end_date=day, now=now
    )
    return {s.start for s in slots}


def state(session) -> tuple[int, int, list[tuple]]:
    """Appointment count, audit row count and every appointment's mutable columns."""
    session.expire_all()
    appointments = session.scalar(select(func.count()).select_from(Appointment))
    audits = session.scalar(select(func.count()).select_from(AuditLog))
    rows = session.execute(
        select(
            Appointment.id,
            Appointment.status,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.therapist_id,
            Appointment.cancelled_at,
        ).order_by(Appointment.id)
    ).all()
    session.commit()
    return appointments, audits, [tuple(r) for r in rows]


def reloaded(session, appointment: Appointment) -> Appointment:
    session.expire_all()
    fresh = session.get(Appointment, appointment.id)
    assert fresh is not None
    return fresh


@pytest.fixture
def clinic(make_clinic):
    return make_clinic()


@pytest.fixture
def therapist(clinic, make_therapist):
    return make_therapist(clinic)


@pytest.fixture
def service(clinic, therapist, make_service):
    return make_service(clinic, minutes=45, price=80000)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)


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


# --- phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("098765 43210", "IN", "+919876543210"),
        ("9876543210", "IN", "+919876543210"),
        ("+91 98765-43210", "IN", "+919876543210"),
        ("(+91) 98765 43210", "GB", "+919876543210"),
        ("  +919876543210  ", "in", "+919876543210"),
        ("whatsapp:+14155238886", "IN", "+14155238886"),
        ("WhatsApp:+919876543210", "IN", "+919876543210"),
        ("07911 123456", "GB", "+447911123456"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(text, region, expected):
    assert normalise_phone(text, region, require_mobile=True) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "12345", "not a number", "+91 98765", "whatsapp:", "9" * 41, None]
)
def test_invalid_phone_numbers_are_refused(text):
    with pytest.raises(InvalidPhone) as refused:
        normalise_phone(text, "IN")

    assert "is not a valid mobile number" in refused.value.message


def test_a_landline_is_accepted_unless_a_mobile_is_required():
    assert normalise_phone("011 2345 6789", "IN") == "+911123456789"

    with pytest.raises(InvalidPhone) as refused:
        normalise_phone("011 2345 6789", "IN", require_mobile=True)

    assert (
        refused.value.message
        == "'011 2345 6789' looks like a landline; please give a mobile number."
    )


# --- patients and contacts ---------------------------------------------------------------------


def count(session, model) -> int:
    value = session.scalar(select(func.count()).select_from(model))
    session.commit()
    return value


def test_a_contact_is_stored_with_its_number_in_e164(session, clinic):
    contact = patients.create_contact(
        session, clinic_id=clinic.id, phone="098765 43210", name="  Asha   Verma ", actor=SYSTEM
    )

    assert contact.phone == "+919876543210"
    assert contact.name == "Asha Verma"


def test_a_second_contact_with_the_same_number_is_refused(session, clinic):
    patients.create_contact(session, clinic_id=clinic.id, phone="+919876543210", actor=SYSTEM)
    before = count(session, Contact)

    with pytest.raises(Duplicate) as refused:
        patients.create_contact(session, clinic_id=clinic.id, phone="098765 43210", actor=SYSTEM)

    assert refused.value.message == "A contact with the number +919876543210 already exists."
    assert count(session, Contact) == before


def test_the_same_number_may_be_a_contact_at_two_clinics(session, clinic, make_clinic):
    other = make_clinic(name="Other Clinic")

    a = patients.create_contact(session, clinic_id=clinic.id, phone="+919876543210", actor=SYSTEM)
    b = patients.create_contact(session, clinic_id=other.id, phone="+919876543210", actor=SYSTEM)

    assert a.id != b.id


def test_a_contact_needs_a_mobile_number(session, clinic):
    with pytest.raises(InvalidPhone):
        patients.create_contact(session, clinic_id=clinic.id, phone="011 2345 6789", actor=SYSTEM)

    assert count(session, Contact) == 0


def test_a_date_of_birth_in_the_future_is_refused(session, clinic):
    contact = patients.create_contact(
        session, clinic_id=clinic.id, phone="+919876543210", actor=SYSTEM
    )

    with pytest.raises(InvalidInput) as refused:
        patients.add_patient(
            session,
            clinic_id=clinic.id,
            contact_id=contact.id,
            name="Aarav",
            relation=Relation.CHILD,
            date_of_birth=NOW.date() + timedelta(days=1),
            today=NOW.date(),
            actor=SYSTEM,
        )

    assert refused.value.message == "The date of birth cannot be in the future."
    assert count(session, Patient) == 0


def test_a_child_already_registered_with_the_number_is_refused(session, clinic, patient):
    before = count(session, Patient)

    with pytest.raises(Duplicate) as refused:
        patients.add_patient(
            session,
            clinic_id=clinic.id,
            contact_id=patient.contact_id,
            name="  aarav ",
            relation=Relation.CHILD,
            today=NOW.date(),
            actor=SYSTEM,
        )

    assert refused.value.message == "aarav is already registered with this number."
    assert count(session, Patient) == before


def test_a_sibling_with_another_name_is_added(session, clinic, patient):
    sibling = patients.add_patient(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        name="Diya",
        relation=Relation.CHILD,
        today=NOW.date(),
        actor=SYSTEM,
    )

    assert sibling.contact_id == patient.contact_id
    assert count(session, Patient) == 2


@pytest.mark.parametrize("name", ["", "   ", "123", "x" * 121])
def test_a_patient_needs_a_sensible_name(session, clinic, name):
    contact = patients.create_contact(
        session, clinic_id=clinic.id, phone="+919876543210", actor=SYSTEM
    )

    with pytest.raises(InvalidInput):
        patients.add_patient(
            session,
            clinic_id=clinic.id,
            contact_id=contact.id,
            name=name,
            today=NOW.date(),
            actor=SYSTEM,
        )

    assert count(session, Patient) == 0


# --- catalogue validators ---------------------------------------------------------------------


def test_a_service_with_a_negative_price_is_refused_and_not_stored(session, clinic):
    with pytest.raises(InvalidInput) as refused:
        catalog.create_service(
            session,
            clinic_id=clinic.id,
            name="Speech",
            specialization="speech",
            duration_minutes=45,
            price_minor=-1,
            actor=SYSTEM,
        )

    assert refused.value.message == "The price cannot be negative."
    assert count(session, Service) == 0


def test_saving_a_service_with_a_negative_price_stores_nothing(session, clinic):
    audits = count(session, AuditLog)
    service = Service(
        name="Speech", specialization="speech", duration_minutes=45, price_minor=-500, capacity=1
    )

    with pytest.raises(InvalidInput, match="negative"):
        catalog.save_record(session, service, clinic_id=clinic.id, actor=SYSTEM, before=None)

    assert count(session, Service) == 0
    assert count(session, AuditLog) == audits


def test_editing_a_service_to_a_negative_price_keeps_the_stored_price(session, clinic, service):
    before = audit.snapshot(service)
    service.price_minor = -1

    with pytest.raises(InvalidInput):
        catalog.save_record(session, service, clinic_id=clinic.id, actor=SYSTEM, before=before)
    session.rollback()

    session.expire_all()
    assert session.get(Service, service.id).price_minor == 80000


def test_an_override_with_a_negative_price_is_refused(session, clinic, therapist, service):
    override = TherapistServiceOverride(
        therapist_id=therapist.id, service_id=service.id, price_minor=-1
    )

    with pytest.raises(InvalidInput, match="negative"):
        catalog.save_record(session, override, clinic_id=clinic.id, actor=SYSTEM, before=None)

    assert count(session, TherapistServiceOverride) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_minutes": 4}, "A session lasts between 5 and 480 minutes."),
        ({"duration_minutes": 481}, "A session lasts between 5 and 480 minutes."),
        ({"capacity": 0}, "Capacity must be at least 1."),
        ({"name": "  "}, "Please give a service name."),
    ],
)
def test_other_impossible_services_are_refused(session, clinic, changes, message):
    fields = {"name": "Speech", "specialization": "speech", "duration_minutes": 45}
    fields |= {"price_minor": 100, "capacity": 1} | changes

    with pytest.raises(InvalidInput) as refused:
        catalog.create_service(
            session,
            clinic_id=clinic.id,
            name=fields["name"],
            specialization=fields["specialization"],
            duration_minutes=fields["duration_minutes"],
            price_minor=fields["price_minor"],
            capacity=fields["capacity"],
            actor=SYSTEM,
        )

    assert refused.value.message == message
    assert count(session, Service) == 0
