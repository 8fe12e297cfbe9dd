"""Many people, one time slot: exactly ``capacity`` bookings win, the rest get SlotTaken.

Every thread has its own session (and so its own connection), and a barrier
releases them together, so the bookings really race: on PostgreSQL through the
therapist row lock and the ``no_overlap`` exclusion constraint, on SQLite
through BEGIN IMMEDIATE.

Two staff paying one session from package credit at once take one credit: the
second waits on the appointment's row lock and then finds the session paid.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import Database, unit_of_work
from models import Appointment, AppointmentStatus, BookingSource, PaymentStatus
from services.billing import credits
from services.errors import InvalidInput, SlotTaken
from services.scheduling.appointments import book_appointment
from services.scheduling.availability import group_overlap_key
from tests.conftest import NOW, SYSTEM, empty_tables
from tests.payments_support import add_package

IST = ZoneInfo("Asia/Kolkata")
# NOW is Monday 23 Nov 2026 09:00 IST; both times are inside Tuesday's 09:00-18:00.
INDIVIDUAL_START = datetime(2026, 11, 24, 10, 0, tzinfo=IST)
GROUP_START = datetime(2026, 11, 24, 15, 0, tzinfo=IST)
TIMEOUT = 60  # seconds; a hung thread fails the test instead of hanging the run


def race(database: Database, *, clinic_id: int, service_id: int, patient_ids, start: datetime):
    """Book ``start`` once per patient, all at the same moment. Returns (won, lost)."""
    barrier = threading.Barrier(len(patient_ids))

    def attempt(patient_id: int) -> Appointment:
        with database.session_scope() as session:
            barrier.wait(timeout=TIMEOUT)
            return book_appointment(
                session,
                clinic_id=clinic_id,
                patient_id=patient_id,
                service_id=service_id,
                start=start,
                now=NOW,
                actor=SYSTEM,
                source=BookingSource.CHAT,
            )

    with ThreadPoolExecutor(max_workers=len(patient_ids)) as pool:
        futures = [pool.submit(attempt, pid) for pid in patient_ids]
        outcomes = [f.exception(timeout=TIMEOUT) or f.result() for f in futures]

    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, SlotTaken)
    ]
    assert not unexpected, f"only SlotTaken may be raised, got {unexpected!r}"
    won = [o for o in outcomes if isinstance(o, Appointment)]
    lost = [o for o in outcomes if isinstance(o, SlotTaken)]
    assert len(won) + len(lost) == len(patient_ids)
    return won, lost


def active_appointments(database: Database, therapist_id: int) -> list[Appointment]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(Appointment)
                .where(
                    Appointment.therapist_id == therapist_id,
                    Appointment.status.in_(AppointmentStatus.active()),
                )
                .order_by(Appointment.start_at, Appointment.id)
            )
        )


def assert_no_overlaps(appointments: list[Appointment]) -> None:
    """Active appointments of one therapist may overlap only as seats of one group session."""
    for i, a in enumerate(appointments):
        for b in appointments[i + 1 :]:
            if a.start_at < b.end_at and b.start_at < a.end_at:
                assert a.overlap_key == b.overlap_key, f"{a.number} overlaps {b.number}"


def wait_for_a_lock_wait(database: Database) -> None:
    """Until some connection to this database waits for a lock another one holds."""
    deadline = time.monotonic() + TIMEOUT
    with database.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            conn.rollback()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("no connection ever waited for the lock")


def assert_lost_fairly(lost: list[SlotTaken], start: datetime) -> None:
    for exc in lost:
        assert exc.alternatives, "a lost race must offer alternatives"
        assert start not in {slot.start for slot in exc.alternatives}


@pytest.fixture
def setup(make_clinic, make_therapist, make_service, make_patient):
    """One clinic, one therapist, an individual and a group service, twelve patients."""
    clinic = make_clinic()
    therapist = make_therapist(clinic)
    individual = make_service(clinic)
    group = make_service(clinic, name="Social Skills Group", capacity=4)
    patients = [make_patient(clinic, name=f"Child {n}") for n in range(12)]
    return clinic, therapist, individual, group, [p.id for p in patients]


class TestPostgreSQL:
    @pytest.fixture
    def database(self, pg_db: Database) -> Database:
        return pg_db

    @pytest.fixture
    def session(self, database: Database) -> Iterator[Session]:
        with database.session_scope() as s:
            yield s

    def test_one_of_twelve_wins_an_individual_slot(self, database, setup):
        clinic, therapist, individual, _group, patient_ids = setup
        won, lost = race(
            database,
            clinic_id=clinic.id,
            service_id=individual.id,
            patient_ids=patient_ids,
            start=INDIVIDUAL_START,
        )
        assert len(won) == 1
        assert len(lost) == 11
        assert_lost_fairly(lost, INDIVIDUAL_START)

        booked = active_appointments(database, therapist.id)
        assert [(a.start_at, a.service_id) for a in booked] == [(INDIVIDUAL_START, individual.id)]
        assert_no_overlaps(booked)

    def test_four_of_twelve_win_a_group_of_four(self, database, setup):
        clinic, therapist, _individual, group, patient_ids = setup
        won, lost = race(
            database,
            clinic_id=clinic.id,
            service_id=group.id,
            patient_ids=patient_ids,
            start=GROUP_START,
        )
        assert len(won) == 4
        assert len(lost) == 8
        assert_lost_fairly(lost, GROUP_START)

        booked = active_appointments(database, therapist.id)
        assert len(booked) == 4
        assert {a.overlap_key for a in booked} == {group_overlap_key(group.id, GROUP_START)}
        assert len({a.patient_id for a in booked}) == 4
        assert_no_overlaps(booked)

    def test_both_races_on_one_therapist_leave_no_overlap(self, database, setup):
        clinic, therapist, individual, group, patient_ids = setup
        for service, start in ((individual, INDIVIDUAL_START), (group, GROUP_START)):
            race(
                database,
                clinic_id=clinic.id,
                service_id=service.id,
                patient_ids=patient_ids,
                start=start,
            )
        booked = active_appointments(database, therapist.id)
        assert len(booked) == 1 + 4
        assert_no_overlaps(booked)

    def test_exclusion_constraint_guards_direct_inserts(self, database, setup):
        clinic, therapist, individual, group, patient_ids = setup
        numbers = iter(range(1, 100))

        def row(start: datetime, minutes: int = 45, *, key: str | None = None, **extra):
            number = f"RAW-{next(numbers):04d}"
            values = {
                "clinic_id": clinic.id,
                "number": number,
                "patient_id": patient_ids[0],
                "therapist_id": therapist.id,
                "service_id": individual.id,
                "location_id": clinic.locations[0].id,
                "start_at": start,
                "end_at": start + timedelta(minutes=minutes),
                "price_minor": 0,
                "payment_status": PaymentStatus.NOT_REQUIRED,
                "source": BookingSource.ADMIN,
                "overlap_key": key or f"a:{number}",
                "created_by": "test",
            }
            return Appointment(**(values | extra))

        with database.session_scope() as s:
            s.add(row(INDIVIDUAL_START))
            s.commit()

            # An active appointment overlapping it is refused by the database itself.
            s.add(row(INDIVIDUAL_START + timedelta(minutes=30)))
            with pytest.raises(IntegrityError) as caught:
                s.commit()
            assert caught.value.orig.diag.constraint_name == "no_overlap"
            s.rollback()

            # Confirmed holds the time as much as booked does.
            s.add(row(INDIVIDUAL_START - timedelta(minutes=15), status=AppointmentStatus.CONFIRMED))
            with pytest.raises(IntegrityError):
                s.commit()
            s.rollback()

            # Cancelled rows do not hold the time; ranges are half-open, so back-to-back is fine.
            s.add(row(INDIVIDUAL_START, status=AppointmentStatus.CANCELLED))
            s.add(row(INDIVIDUAL_START + timedelta(minutes=10), status=AppointmentStatus.NO_SHOW))
            s.add(row(INDIVIDUAL_START + timedelta(minutes=45)))
            s.commit()

            # Seats of one group session share an overlap_key and may overlap each other...
            key = group_overlap_key(group.id, GROUP_START)
            s.add_all(row(GROUP_START, 90, key=key, service_id=group.id) for _ in range(3))
            s.commit()
            # ...but not anything else.
            s.add(row(GROUP_START + timedelta(minutes=60)))
            with pytest.raises(IntegrityError):
                s.commit()
            s.rollback()

        booked = active_appointments(database, therapist.id)
        assert len(booked) == 2 + 3

    def test_two_draws_from_credit_for_one_session_take_one_credit(self, database, setup):
        clinic, _therapist, individual, _group, patient_ids = setup
        patient_id = patient_ids[0]
        with database.session_scope() as s:
            appointment = book_appointment(
                s,
                clinic_id=clinic.id,
                patient_id=patient_id,
                service_id=individual.id,
                start=INDIVIDUAL_START,
                now=NOW,
                actor=SYSTEM,
                source=BookingSource.ADMIN,
            )
            appointment_id = appointment.id
            package = add_package(s, clinic, individual, sessions=5)
            credits.sell_package(
                s,
                clinic_id=clinic.id,
                patient_id=patient_id,
                package_id=package.id,
                now=NOW,
                actor=SYSTEM,
            )
            assert credits.credit_balance(s, patient_id, individual.id) == 5

        def draw(session: Session) -> Appointment:
            return credits.draw_credit_for(
                session, clinic_id=clinic.id, appointment_id=appointment_id, now=NOW, actor=SYSTEM
            )

        def second_draw() -> Appointment:
            with database.session_scope() as s:
                return draw(s)

        with ThreadPoolExecutor(max_workers=1) as pool:
            # The first draw, not committed yet, while a second one starts.
            with database.session_scope() as first, unit_of_work(first):
                draw(first)
                second = pool.submit(second_draw)
                wait_for_a_lock_wait(database)
            refused = second.exception(timeout=TIMEOUT)

        assert isinstance(refused, InvalidInput), refused
        with database.session_scope() as s:
            assert credits.credit_balance(s, patient_id, individual.id) == 4
            paid = s.get(Appointment, appointment_id)
            assert paid is not None and paid.payment_status is PaymentStatus.PAID


class TestSQLite:
    @pytest.fixture
    def database(self, sqlite_url: str) -> Iterator[Database]:
        database = Database(sqlite_url)
        try:
            yield database
        finally:
            empty_tables(database)
            database.dispose()

    @pytest.fixture
    def session(self, database: Database) -> Iterator[Session]:
        with database.session_scope() as s:
            yield s

    def test_one_of_eight_wins_an_individual_slot(self, database, setup):
        clinic, therapist, individual, _group, patient_ids = setup
        assert database.dialect == "sqlite"
        won, lost = race(
            database,
            clinic_id=clinic.id,
            service_id=individual.id,
            patient_ids=patient_ids[:8],
            start=INDIVIDUAL_START,
        )
        assert len(won) == 1
        assert len(lost) == 7
        assert_lost_fairly(lost, INDIVIDUAL_START)

        booked = active_appointments(database, therapist.id)
        assert [(a.start_at, a.service_id) for a in booked] == [(INDIVIDUAL_START, individual.id)]
        assert_no_overlaps(booked)

    def test_four_of_eight_win_a_group_of_four(self, database, setup):
        clinic, therapist, _individual, group, patient_ids = setup
        won, lost = race(
            database,
            clinic_id=clinic.id,
            service_id=group.id,
            patient_ids=patient_ids[:8],
            start=GROUP_START,
        )
        assert (len(won), len(lost)) == (4, 4)
        assert_lost_fairly(lost, GROUP_START)
        booked = active_appointments(database, therapist.id)
        assert len(booked) == 4
        assert_no_overlaps(booked)
