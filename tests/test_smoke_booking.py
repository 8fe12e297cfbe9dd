from datetime import datetime
from zoneinfo import ZoneInfo

from models import BookingSource
from services.appointments import book_appointment
from services.availability import free_slots
from tests.conftest import NOW, SYSTEM

IST = ZoneInfo("Asia/Kolkata")


def test_it_books_a_free_slot(session, make_clinic, make_therapist, make_service, make_patient):
    clinic = make_clinic()
    make_therapist(clinic)
    service = make_service(clinic)
    patient = make_patient(clinic)
    slots = free_slots(
        session,
        clinic_id=clinic.id,
        service_id=service.id,
        start_date=NOW.date(),
        end_date=NOW.date(),
        now=NOW,
    )
    assert slots[0].start == datetime(2026, 11, 23, 11, 0, tzinfo=IST)
    appt = book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=slots[0].start,
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )
    assert appt.number == "APT-2026-000001"
