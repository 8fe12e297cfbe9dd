"""Clinic isolation: services never act on another clinic's rows, and a session
bound to a clinic (core.tenancy) neither sees nor writes anyone else's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core import tenancy
from models import (
    Appointment,
    AuditLog,
    BookingSource,
    Contact,
    ExceptionKind,
    Patient,
    Relation,
    Service,
    Therapist,
    TherapistServiceOverride,
    WeeklyHours,
)
from services.audit import Actor
from services.clinics import catalog
from services.errors import NotFound
from services.people import patients
from services.scheduling.appointments import (
    book_appointment,
    cancel_appointment,
    complete_appointment,
    confirm_appointment,
    mark_no_show,
    reschedule_appointment,
)
from services.scheduling.availability import free_slots
from tests.conftest import NOW, SYSTEM

IST = ZoneInfo("Asia/Kolkata")
STAFF = Actor.staff(1)
TUE = date(2026, 11, 24)
ELEVEN = datetime(2026, 11, 24, 11, tzinfo=IST)


@dataclass
class Tenant:
    clinic: Any
    therapist: Therapist
    service: Service
    patient: Patient
    appointment: Appointment


@pytest.fixture
def two_clinics(session, make_clinic, make_therapist, make_service, make_patient):
    """Clinics A and B, each with a therapist, a service, a patient and an appointment."""

    def tenant(name: str) -> Tenant:
        clinic = make_clinic(name=name)
        therapist = make_therapist(clinic, name=f"Dr. {name}")
        service = make_service(clinic)
        patient = make_patient(clinic, name=f"Child {name}")
        appointment = book_appointment(
            session,
            clinic_id=clinic.id,
            patient_id=patient.id,
            service_id=service.id,
            start=ELEVEN,
            now=NOW,
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )
        return Tenant(clinic, therapist, service, patient, appointment)

    a, b = tenant("Alpha"), tenant("Beta")
    session.commit()
    return a, b


@pytest.fixture
def bound_to_a(db, two_clinics) -> Iterator[Session]:
    a, _ = two_clinics
    with db.session_scope(clinic_id=a.clinic.id) as bound:
        yield bound


def snapshot(session: Session) -> list[tuple]:
    session.expire_all()
    rows = session.execute(
        select(
            Appointment.id, Appointment.status, Appointment.start_at, Appointment.end_at
        ).order_by(Appointment.id)
    ).all()
    audits = session.scalar(select(func.count()).select_from(AuditLog))
    session.commit()
    return [*map(tuple, rows), audits]


# --- services, called with clinic A's id and clinic B's rows -----------------------------------


@pytest.mark.parametrize(
    ("foreign", "what"),
    [
        ("patient", "patient"),
        ("service", "service"),
        ("therapist", "therapist for this service"),
    ],
)
def test_booking_at_clinic_a_with_clinic_bs_rows_is_not_found(session, two_clinics, foreign, what):
    a, b = two_clinics
    ids = {
        "patient": a.patient.id,
        "service": a.service.id,
        "therapist": a.therapist.id,
    }
    ids[foreign] = getattr(b, foreign).id
    before = snapshot(session)

    with pytest.raises(NotFound) as refused:
        book_appointment(
            session,
            clinic_id=a.clinic.id,
            patient_id=ids["patient"],
            service_id=ids["service"],
            therapist_id=ids["therapist"],
            start=datetime(2026, 11, 24, 14, tzinfo=IST),
            now=NOW,
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )

    assert refused.value.message == f"We could not find that {what}."
    assert snapshot(session) == before


def test_free_slots_at_clinic_a_for_clinic_bs_service_or_therapist_is_not_found(
    session, two_clinics
):
    a, b = two_clinics
    query = {"start_date": TUE, "end_date": TUE, "now": NOW}

    with pytest.raises(NotFound):
        free_slots(session, clinic_id=a.clinic.id, service_id=b.service.id, **query)
    with pytest.raises(NotFound):
        free_slots(
            session,
            clinic_id=a.clinic.id,
            service_id=a.service.id,
            therapist_id=b.therapist.id,
            **query,
        )


def test_clinic_bs_bookings_do_not_block_clinic_as_slots(session, two_clinics):
    a, _ = two_clinics
    a_only = free_slots(
        session,
        clinic_id=a.clinic.id,
        service_id=a.service.id,
        start_date=TUE,
        end_date=TUE,
        now=NOW,
    )
    cancel_appointment(
        session, clinic_id=a.clinic.id, appointment_id=a.appointment.id, now=NOW, actor=STAFF
    )
    freed = free_slots(
        session,
        clinic_id=a.clinic.id,
        service_id=a.service.id,
        start_date=TUE,
        end_date=TUE,
        now=NOW,
    )

    assert ELEVEN not in {s.start for s in a_only}
    assert ELEVEN in {s.start for s in freed}


@pytest.mark.parametrize(
    "verb",
    [
        pytest.param(
            lambda s, cid, aid: cancel_appointment(
                s, clinic_id=cid, appointment_id=aid, now=NOW, actor=STAFF
            ),
            id="cancel",
        ),
        pytest.param(
            lambda s, cid, aid: confirm_appointment(
                s, clinic_id=cid, appointment_id=aid, now=NOW, actor=STAFF
            ),
            id="confirm",
        ),
        pytest.param(
            lambda s, cid, aid: reschedule_appointment(
                s,
                clinic_id=cid,
                appointment_id=aid,
                new_start=datetime(2026, 11, 25, 11, tzinfo=IST),
                now=NOW,
                actor=STAFF,
            ),
            id="reschedule",
        ),
        pytest.param(
            lambda s, cid, aid: complete_appointment(
                s,
                clinic_id=cid,
                appointment_id=aid,
                now=datetime(2026, 11, 24, 12, tzinfo=IST),
                actor=STAFF,
            ),
            id="complete",
        ),
        pytest.param(
            lambda s, cid, aid: mark_no_show(
                s,
                clinic_id=cid,
                appointment_id=aid,
                now=datetime(2026, 11, 24, 12, tzinfo=IST),
                actor=STAFF,
            ),
            id="no-show",
        ),
    ],
)
def test_verbs_at_clinic_a_on_clinic_bs_appointment_are_not_found_and_change_nothing(
    session, two_clinics, verb
):
    a, b = two_clinics
    before = snapshot(session)

    with pytest.raises(NotFound) as refused:
        verb(session, a.clinic.id, b.appointment.id)

    assert refused.value.message == "We could not find that appointment."
    assert snapshot(session) == before


def test_patient_services_at_clinic_a_refuse_clinic_bs_contact(session, two_clinics):
    a, b = two_clinics
    b_contact = b.patient.contact_id

    with pytest.raises(NotFound, match="contact"):
        patients.add_patient(
            session,
            clinic_id=a.clinic.id,
            contact_id=b_contact,
            name="Intruder",
            relation=Relation.CHILD,
            today=NOW.date(),
            actor=SYSTEM,
        )
    with pytest.raises(NotFound, match="contact"):
        patients.record_consent(
            session,
            clinic_id=a.clinic.id,
            contact_id=b_contact,
            version="v1",
            now=NOW,
            actor=SYSTEM,
        )

    assert session.get(Contact, b_contact).consent_at is None
    assert session.scalar(select(func.count()).where(Patient.name == "Intruder")) == 0


def test_catalogue_rows_of_clinic_a_cannot_point_at_clinic_bs_rows(session, two_clinics):
    a, b = two_clinics

    with pytest.raises(NotFound, match="therapist"):
        catalog.add_weekly_hours(
            session,
            clinic_id=a.clinic.id,
            therapist_id=b.therapist.id,
            location_id=a.clinic.locations[0].id,
            weekday=6,
            start=time(9),
            end=time(12),
            actor=SYSTEM,
        )
    with pytest.raises(NotFound, match="location"):
        catalog.add_exception(
            session,
            clinic_id=a.clinic.id,
            kind=ExceptionKind.CLOSED,
            location_id=b.clinic.locations[0].id,
            start_date=TUE,
            end_date=TUE,
            actor=SYSTEM,
        )
    with pytest.raises(NotFound, match="service"):
        catalog.save_record(
            session,
            TherapistServiceOverride(
                therapist_id=a.therapist.id, service_id=b.service.id, price_minor=1
            ),
            clinic_id=a.clinic.id,
            actor=SYSTEM,
            before=None,
        )
    session.rollback()

    with pytest.raises(NotFound):
        catalog.delete_record(session, b.service, clinic_id=a.clinic.id, actor=SYSTEM)
    assert session.get(Service, b.service.id) is not None


# --- a session bound to clinic A ----------------------------------------------------------------


def test_a_bound_session_sees_only_its_clinics_rows(bound_to_a, two_clinics):
    a, _ = two_clinics

    assert [p.id for p in bound_to_a.scalars(select(Patient))] == [a.patient.id]
    assert [t.id for t in bound_to_a.scalars(select(Therapist))] == [a.therapist.id]
    assert [s.id for s in bound_to_a.scalars(select(Service))] == [a.service.id]
    assert [x.id for x in bound_to_a.scalars(select(Appointment))] == [a.appointment.id]
    assert bound_to_a.scalar(select(func.count()).select_from(Patient)) == 1


def test_a_bound_session_cannot_get_another_clinics_row_by_id(bound_to_a, two_clinics):
    a, b = two_clinics

    assert bound_to_a.get(Patient, b.patient.id) is None
    assert bound_to_a.get(Appointment, b.appointment.id) is None
    assert bound_to_a.get(Contact, b.patient.contact_id) is None
    assert bound_to_a.get(Patient, a.patient.id) is not None


def test_a_bound_session_filters_joins_and_relationships_too(bound_to_a, two_clinics):
    a, b = two_clinics

    pairs = bound_to_a.execute(
        select(Appointment.id, Patient.id).join(Patient, Patient.id == Appointment.patient_id)
    ).all()
    by_other_clinics_phone = bound_to_a.scalars(
        select(Patient).join(Contact).where(Contact.id == b.patient.contact_id)
    ).all()
    appointment = bound_to_a.get(Appointment, a.appointment.id)

    assert [tuple(p) for p in pairs] == [(a.appointment.id, a.patient.id)]
    assert by_other_clinics_phone == []
    assert appointment.patient.id == a.patient.id
    assert [p.id for p in appointment.patient.contact.patients] == [a.patient.id]


def test_flushing_a_change_to_another_clinics_row_is_refused(db, two_clinics):
    a, b = two_clinics
    with db.session_scope() as s:
        foreign = s.get(Patient, b.patient.id)
        tenancy.bind(s, a.clinic.id)
        foreign.notes = "edited from clinic A"

        with pytest.raises(tenancy.TenantViolation, match="belongs to clinic"):
            s.flush()
        s.rollback()

    with db.session_scope() as check:
        assert check.get(Patient, b.patient.id).notes is None


def test_deleting_another_clinics_row_is_refused(db, two_clinics):
    a, b = two_clinics
    with db.session_scope() as s:
        foreign = s.get(Appointment, b.appointment.id)
        tenancy.bind(s, a.clinic.id)
        s.delete(foreign)

        with pytest.raises(tenancy.TenantViolation):
            s.flush()
        s.rollback()

    with db.session_scope() as check:
        assert check.get(Appointment, b.appointment.id) is not None


def test_adding_a_row_for_another_clinic_is_refused(bound_to_a, two_clinics):
    _, b = two_clinics
    bound_to_a.add(Patient(clinic_id=b.clinic.id, contact_id=b.patient.contact_id, name="Smuggled"))

    with pytest.raises(tenancy.TenantViolation):
        bound_to_a.flush()
    bound_to_a.rollback()


def test_moving_a_row_to_another_clinic_is_refused(bound_to_a, two_clinics):
    a, b = two_clinics
    mine = bound_to_a.get(Patient, a.patient.id)
    mine.clinic_id = b.clinic.id

    with pytest.raises(tenancy.TenantViolation):
        bound_to_a.flush()
    bound_to_a.rollback()


def test_a_new_row_without_a_clinic_joins_the_bound_clinic(bound_to_a, two_clinics):
    a, _ = two_clinics
    contact = Contact(phone="+919999900001")
    bound_to_a.add(contact)
    bound_to_a.flush()

    assert contact.clinic_id == a.clinic.id
    bound_to_a.rollback()


def test_services_on_a_bound_session_work_for_its_own_clinic(bound_to_a, two_clinics):
    a, b = two_clinics

    own = book_appointment(
        bound_to_a,
        clinic_id=a.clinic.id,
        patient_id=a.patient.id,
        service_id=a.service.id,
        start=datetime(2026, 11, 24, 14, tzinfo=IST),
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )
    with pytest.raises(NotFound):
        book_appointment(
            bound_to_a,
            clinic_id=a.clinic.id,
            patient_id=b.patient.id,
            service_id=a.service.id,
            start=datetime(2026, 11, 24, 15, tzinfo=IST),
            now=NOW,
            actor=SYSTEM,
            source=BookingSource.ADMIN,
        )

    assert own.number == "APT-2026-000002"


def test_a_bulk_update_on_a_bound_session_touches_only_its_clinics_rows(bound_to_a, two_clinics):
    result = bound_to_a.execute(update(Patient).values(notes="bulk"))
    bound_to_a.rollback()

    assert result.rowcount == 1


def test_a_bulk_delete_on_a_bound_session_touches_only_its_clinics_rows(bound_to_a, two_clinics):
    result = bound_to_a.execute(delete(WeeklyHours))
    bound_to_a.rollback()

    assert result.rowcount == 6  # clinic A's Mon-Sat windows; clinic B's six are untouched


def test_one_statement_bound_to_each_clinic_in_turn_sees_each_clinics_rows(db, two_clinics):
    # The same statement shape runs from SQLAlchemy's compiled cache the second time: the
    # clinic must reach it as a parameter each time, never baked in from the first run.
    a, b = two_clinics
    seen = []
    for tenant in (a, b, a):
        with db.session_scope(clinic_id=tenant.clinic.id) as bound:
            seen.append(bound.scalars(select(Patient.id).join(Patient.contact)).all())
            seen.append([bound.get(Appointment, a.appointment.id) is not None])

    assert seen == [[a.patient.id], [True], [b.patient.id], [False], [a.patient.id], [True]]


def test_a_bulk_update_of_many_rows_by_key_on_a_bound_session_skips_other_clinics(
    bound_to_a, two_clinics
):
    a, b = two_clinics
    bound_to_a.execute(
        update(Patient),
        [{"id": a.patient.id, "notes": "mine"}, {"id": b.patient.id, "notes": "theirs"}],
    )
    bound_to_a.flush()
    notes = dict(bound_to_a.execute(select(Patient.id, Patient.notes)).all())
    bound_to_a.rollback()

    assert notes == {a.patient.id: "mine"}
