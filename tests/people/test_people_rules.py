"""The validators behind patients, contacts, phones and the catalogue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    AuditLog,
    Contact,
    Patient,
    Relation,
    Service,
    TherapistServiceOverride,
)
from services import audit
from services.clinics import catalog
from services.errors import (
    Duplicate,
    InvalidInput,
    InvalidPhone,
)
from services.people import patients
from services.people.phones import normalise_phone
from tests.conftest import NOW, SYSTEM
from tests.scheduling.booking_support import (  # noqa: F401  (fixtures)
    clinic,
    patient,
    service,
    therapist,
)

# ruff: noqa: F811  (the fixtures imported from booking_support)

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
