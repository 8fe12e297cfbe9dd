"""Shared helpers and fixtures for the payment tests (tests/reconciliation/test_payment_links.py,
tests/billing/test_dues_and_credits.py, tests/billing/test_refunds.py,
tests/billing/test_invoices.py).

Not collected itself: each test module imports the fixtures it uses by name.

Razorpay is tests/fake_razorpay.py behind the real SDK (its clock starts at NOW).
Webhook events are applied the way the webhook leaves them: stored once by id
(``store_event``), then applied (``process_events``); the HTTP edge itself is
tests/reconciliation/test_payment_webhooks.py.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the default policy has 2 h minimum
notice and a 24 h cancellation window; prepaid services here hold a slot 30 minutes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from models import (
    Appointment,
    BookingSource,
    Invoice,
    InvoiceLine,
    OutboundMessage,
    Package,
    Patient,
    Payment,
    PaymentLink,
    Relation,
    Service,
)
from services.audit import Actor
from services.billing import credits
from services.clinics import catalog
from services.people import patients
from services.reconciliation import razorpay_sync
from services.scheduling.appointments import book_appointment, cancel_appointment
from tests.conftest import NOW, RAZORPAY_BASE_URL, SYSTEM

IST = ZoneInfo("Asia/Kolkata")
STAFF = Actor.staff(1)
CALLBACK = f"{RAZORPAY_BASE_URL}/payments/razorpay/return"
HOLD = timedelta(minutes=30)
MON_11 = datetime(2026, 11, 23, 11, tzinfo=IST)  # the earliest bookable time (2 h notice)
MON_15 = datetime(2026, 11, 23, 15, tzinfo=IST)  # today: inside the 24 h window
WED_10 = datetime(2026, 11, 25, 10, tzinfo=IST)  # outside it
THU_10 = datetime(2026, 11, 26, 10, tzinfo=IST)


# --- helpers -------------------------------------------------------------------------------------


def add_service(
    session,
    clinic,
    *,
    name: str = "Speech Therapy Session",
    price: int = 80000,
    prepay: bool = False,
    partial: bool = False,
) -> Service:
    """A service through the admin's validated path (it takes the payment policy fields)."""
    service = Service(
        name=name,
        specialization="speech",
        duration_minutes=45,
        price_minor=price,
        capacity=1,
        prepay_required=prepay,
        hold_minutes=int(HOLD.total_seconds() // 60),
        accept_partial=partial,
    )
    return catalog.save_record(session, service, clinic_id=clinic.id, actor=SYSTEM, before=None)


def book(session, clinic, patient, service, start, *, now=NOW, actor=None) -> Appointment:
    """Booked by the patient over chat unless an actor is given."""
    actor = actor or Actor.contact(patient.contact_id)
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=start,
        now=now,
        actor=actor,
        source=BookingSource.ADMIN if actor.is_staff else BookingSource.CHAT,
    )


def push_links(session, gateway_for, *, now=NOW) -> int:
    return razorpay_sync.create_pending_links(session, gateway_for, now=now, callback_url=CALLBACK)


def deliver(session, event, *, now=NOW) -> int:
    """Razorpay's webhook as the endpoint leaves it: stored once by id, then applied."""
    razorpay_sync.store_event(session, event_id=event.id, payload=event.payload, now=now)
    return razorpay_sync.process_events(session, now=now)


def deliver_payload(session, payload: dict, *, event_id: str, now=NOW) -> int:
    razorpay_sync.store_event(session, event_id=event_id, payload=payload, now=now)
    return razorpay_sync.process_events(session, now=now)


def fresh(session, obj):
    """``obj`` as the database has it now."""
    session.commit()
    session.refresh(obj)
    return obj


def rows(session, model, *where) -> list:
    session.commit()
    session.expire_all()
    return list(session.scalars(select(model).where(*where).order_by(model.id)))


def count(session, model, *where) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def messages(session, template_key: str) -> list[OutboundMessage]:
    return rows(session, OutboundMessage, OutboundMessage.template_key == template_key)


def link_of(session, appointment) -> PaymentLink:
    [link] = rows(session, PaymentLink, PaymentLink.appointment_id == appointment.id)
    return link


def invoice_of(session, appointment) -> Invoice:
    session.commit()
    session.expire_all()
    return session.scalars(
        select(Invoice)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(InvoiceLine.appointment_id == appointment.id)
    ).one()


def sibling(session, patient, name: str = "Diya") -> Patient:
    """A second child of the same contact."""
    return patients.add_patient(
        session,
        clinic_id=patient.clinic_id,
        contact_id=patient.contact_id,
        name=name,
        relation=Relation.CHILD,
        date_of_birth=date(2021, 6, 1),
        actor=SYSTEM,
        today=NOW.date(),
    )


def add_package(session, clinic, service, *, sessions: int = 10, price: int = 600000) -> Package:
    package = Package(
        name=f"{sessions} sessions", service_id=service.id, sessions=sessions, price_minor=price
    )
    return catalog.save_record(session, package, clinic_id=clinic.id, actor=SYSTEM, before=None)


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


@pytest.fixture
def clinic(make_clinic, make_therapist):
    clinic = make_clinic()
    make_therapist(clinic)
    return clinic


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)


@pytest.fixture
def online(clinic, connect_razorpay):
    """The clinic takes payments through Razorpay (the fake)."""
    connect_razorpay(clinic)
    return clinic


@pytest.fixture
def prepaid(session, online):
    return add_service(session, online, prepay=True)


@pytest.fixture
def partial(session, online):
    return add_service(session, online, name="Occupational Therapy", prepay=True, partial=True)


@pytest.fixture
def pay_after(session, clinic):
    return add_service(session, clinic, name="Occupational Therapy", price=60000)


@pytest.fixture
def held(session, online, patient, prepaid, gateway_for, razorpay):
    """A prepaid chat booking for Wed 10:00 whose link exists at Razorpay: (booking, link)."""
    appointment = book(session, online, patient, prepaid, WED_10)
    assert push_links(session, gateway_for) == 1
    return appointment, link_of(session, appointment)


@pytest.fixture
def upi_clinic(session, clinic):
    clinic.upi_vpa = "clinic@okaxis"
    session.commit()
    return clinic


@pytest.fixture
def package(session, online, prepaid):
    return add_package(session, online, prepaid)


def sell(session, clinic, patient, package, *, now=NOW) -> Invoice:
    return credits.sell_package(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        package_id=package.id,
        now=now,
        actor=STAFF,
    )


@pytest.fixture
def paid(session, held, razorpay):
    """The held Wednesday booking, paid through its link: (booking, payment)."""
    appointment, link = held
    deliver(session, razorpay.pay(link.provider_link_id))
    [payment] = rows(session, Payment)
    return appointment, payment


def patient_cancels(session, appointment, *, now=NOW + timedelta(hours=1)):
    return cancel_appointment(
        session,
        clinic_id=appointment.clinic_id,
        appointment_id=appointment.id,
        now=now,
        actor=Actor.contact(appointment.patient.contact_id),
        reason="travelling",
    )
