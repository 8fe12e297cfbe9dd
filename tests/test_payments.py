"""Taking money: prepaid bookings held while Razorpay links are paid, dues, packages,
refunds, invoice numbering and documents, and UPI confirmed by staff.

Razorpay is tests/fake_razorpay.py behind the real SDK (its clock starts at NOW).
Webhook events are applied the way the webhook leaves them: stored once by id
(``store_event``), then applied (``process_events``); the HTTP edge itself is
tests/test_payment_webhooks.py.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the default policy has 2 h minimum
notice and a 24 h cancellation window; prepaid services here hold a slot 30 minutes.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from fractions import Fraction
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import Float, Numeric, func, select

from core.db import write_transaction
from models import (
    Appointment,
    AppointmentStatus,
    Base,
    BookingSource,
    Clinic,
    CreditEntry,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
    LinkStatus,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    Package,
    Patient,
    Payment,
    PaymentAllocation,
    PaymentLink,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
    ProviderEvent,
    Refund,
    RefundStatus,
    Relation,
    Service,
)
from services import billing, catalog, credits, patients, payments, razorpay_sync, refunds
from services.appointments import book_appointment, cancel_appointment, complete_appointment
from services.audit import Actor
from services.availability import free_slots
from services.billing_documents import invoice_pdf, receipt_pdf
from services.errors import InvalidInput, InvalidTransition
from tests.chat import Chat
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


# --- fixtures ------------------------------------------------------------------------------------


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


# --- a prepaid booking from the chat -------------------------------------------------------------


def test_a_prepaid_chat_booking_is_invoiced_and_held_while_the_patient_pays(
    session, online, patient, prepaid
):
    appointment = book(session, online, patient, prepaid, WED_10)

    invoice = invoice_of(session, appointment)
    assert invoice.number == "INV-2026-27-000001"
    assert invoice.total_minor == 80000
    appointment = fresh(session, appointment)
    assert appointment.payment_status is PaymentStatus.PENDING
    assert appointment.hold_expires_at == NOW + HOLD
    link = link_of(session, appointment)
    assert (link.status, link.amount_minor, link.invoice_id) == (
        LinkStatus.PENDING,
        invoice.total_minor,
        invoice.id,
    )


def test_the_link_job_creates_the_link_at_razorpay_and_sends_it_in_the_chat(
    session, online, patient, prepaid, gateway_for, razorpay
):
    appointment = book(session, online, patient, prepaid, WED_10)

    assert push_links(session, gateway_for) == 1

    link = link_of(session, appointment)
    [at_razorpay] = razorpay.links.values()
    assert at_razorpay["amount"] == invoice_of(session, appointment).total_minor == 80000
    assert at_razorpay["reference_id"] == link.reference_id
    assert len(link.reference_id) <= 40
    assert at_razorpay["expire_by"] == int((NOW + HOLD).timestamp())
    assert (at_razorpay["callback_url"], at_razorpay["callback_method"]) == (CALLBACK, "get")
    assert (link.status, link.provider_link_id) == (LinkStatus.CREATED, at_razorpay["id"])
    [message] = messages(session, "payment_link_booking")
    assert message.kind is MessageKind.PAYMENT
    assert message.variables["url"] == at_razorpay["short_url"] == link.short_url
    assert push_links(session, gateway_for) == 0  # created once


def test_every_link_has_its_own_reference(
    session, online, patient, prepaid, gateway_for, razorpay, make_patient
):
    book(session, online, patient, prepaid, WED_10)
    book(session, online, make_patient(online, name="Kabir"), prepaid, THU_10)

    assert push_links(session, gateway_for) == 2

    references = [link["reference_id"] for link in razorpay.links.values()]
    assert len(set(references)) == 2
    assert all(0 < len(ref) <= 40 for ref in references)


def test_a_link_razorpay_could_not_create_is_tried_again_on_the_next_run(
    session, online, patient, prepaid, gateway_for, razorpay
):
    appointment = book(session, online, patient, prepaid, WED_10)
    razorpay.fail_next()  # a 500: worth trying again

    assert push_links(session, gateway_for) == 0
    link = link_of(session, appointment)
    assert link.status is LinkStatus.PENDING
    assert link.last_error

    assert push_links(session, gateway_for) == 1
    assert link_of(session, appointment).status is LinkStatus.CREATED
    assert len(razorpay.links) == 1


def test_a_link_razorpay_refuses_keeps_the_booking_unpaid_for_staff(
    session, online, patient, prepaid, gateway_for, razorpay
):
    appointment = book(session, online, patient, prepaid, WED_10)
    razorpay.fail_next(400, "BAD_REQUEST_ERROR", "The contact number is invalid.")

    assert push_links(session, gateway_for) == 0

    link = link_of(session, appointment)
    assert (link.status, link.last_error) == (LinkStatus.FAILED, "The contact number is invalid.")
    kept = fresh(session, appointment)
    # Not the patient's fault: the slot stays theirs and staff settle the payment.
    assert (kept.status, kept.payment_status) == (AppointmentStatus.BOOKED, PaymentStatus.UNPAID)
    assert kept.hold_expires_at is None
    assert push_links(session, gateway_for) == 0  # not tried again


def test_a_prepaid_booking_at_the_desk_is_invoiced_but_not_held(session, online, patient, prepaid):
    appointment = fresh(session, book(session, online, patient, prepaid, WED_10, actor=STAFF))

    assert invoice_of(session, appointment).total_minor == 80000
    assert appointment.hold_expires_at is None
    assert count(session, PaymentLink) == 0


def test_the_chat_tells_the_patient_to_pay_to_keep_the_time(session, online, prepaid):
    chat = Chat(session, online, now=NOW)
    chat.script("hi", "1", "Asha Verma", "2", "Aarav", "12/03/2019")

    booked = chat.script("1", "1", "1", "3", "1", "1")  # speech, any therapist, Wed, 9:00

    assert "✅ Booked!" in booked
    [appointment] = rows(session, Appointment)
    until = appointment.hold_expires_at.astimezone(IST)
    assert until == chat.now + HOLD
    assert f"To keep this time, please pay ₹800 by 9:{until.minute:02d} am" in booked
    assert link_of(session, appointment).status is LinkStatus.PENDING


# --- paid ----------------------------------------------------------------------------------------


def test_a_paid_event_records_the_payment_and_confirms_the_booking(session, held, razorpay):
    appointment, link = held
    event = razorpay.pay(link.provider_link_id)

    assert deliver(session, event) == 1

    [payment] = rows(session, Payment)
    assert payment.provider_payment_id == event.payload["payload"]["payment"]["entity"]["id"]
    assert (payment.method, payment.status, payment.amount_minor) == (
        PaymentMethod.PAYMENT_LINK,
        PaymentState.RECEIVED,
        80000,
    )
    [allocation] = rows(session, PaymentAllocation)
    assert (allocation.invoice_id, allocation.amount_minor) == (link.invoice_id, 80000)
    appointment = fresh(session, appointment)
    assert appointment.payment_status is PaymentStatus.PAID
    assert appointment.status is AppointmentStatus.CONFIRMED
    assert appointment.hold_expires_at is None
    assert link_of(session, appointment).status is LinkStatus.PAID
    [receipt] = messages(session, "payment_receipt")
    assert payment.receipt_number == receipt.variables["receipt"] == "RCPT-2026-27-000001"
    assert receipt.variables["receipt_path"] == f"/pay/receipt/{payment.public_token}.pdf"


def test_a_payment_reported_twice_is_recorded_once(session, held, razorpay, gateway_for):
    _appointment, link = held
    event = razorpay.pay(link.provider_link_id)

    deliver(session, event)
    deliver(session, event)  # Razorpay retries the webhook
    again = copy.deepcopy(event.payload)  # and sends the same news under another event id
    deliver_payload(session, again, event_id=event.id + "x")
    link = fresh(session, link)
    link.checked_at = None  # so the 15-minute reconcile fetches it
    session.commit()
    razorpay_sync.reconcile(session, gateway_for, now=NOW + timedelta(minutes=20), everything=True)

    assert count(session, Payment) == 1
    assert count(session, PaymentAllocation) == 1
    assert count(session, ProviderEvent) == 2
    assert len(messages(session, "payment_receipt")) == 1


def test_partly_then_fully_paid_records_both_payments_and_ends_paid(
    session, online, patient, partial, gateway_for, razorpay
):
    appointment = book(session, online, patient, partial, WED_10)
    push_links(session, gateway_for)
    link = link_of(session, appointment)

    deliver(session, razorpay.pay(link.provider_link_id, 40000))
    assert fresh(session, appointment).payment_status is PaymentStatus.PARTIALLY_PAID
    assert link_of(session, appointment).status is LinkStatus.PARTIALLY_PAID
    deliver(session, razorpay.pay(link.provider_link_id))

    assert sorted(p.amount_minor for p in rows(session, Payment)) == [40000, 40000]
    link = link_of(session, appointment)
    assert (link.status, link.amount_paid_minor) == (LinkStatus.PAID, 80000)
    assert fresh(session, appointment).payment_status is PaymentStatus.PAID


def test_a_booking_paid_in_instalments_is_confirmed_once_fully_paid(
    session, online, patient, partial, gateway_for, razorpay
):
    appointment = book(session, online, patient, partial, WED_10)
    push_links(session, gateway_for)
    link = link_of(session, appointment)

    deliver(session, razorpay.pay(link.provider_link_id, 40000))
    deliver(session, razorpay.pay(link.provider_link_id))

    appointment = fresh(session, appointment)
    assert appointment.payment_status is PaymentStatus.PAID
    assert appointment.status is AppointmentStatus.CONFIRMED


def test_late_and_out_of_order_events_never_undo_a_paid_link(
    session, online, patient, partial, gateway_for, razorpay
):
    appointment = book(session, online, patient, partial, WED_10)
    push_links(session, gateway_for)
    link = link_of(session, appointment)
    first = razorpay.pay(link.provider_link_id, 40000)  # partially_paid
    second = razorpay.pay(link.provider_link_id)  # paid
    expired = copy.deepcopy(second.payload)  # a stale "expired" view of the same link
    expired["event"] = "payment_link.expired"
    expired["payload"]["payment_link"]["entity"] |= {"status": "expired", "amount_paid": 40000}
    del expired["payload"]["payment"], expired["payload"]["order"]

    deliver(session, second)
    deliver(session, first)  # arrives late
    deliver_payload(session, expired, event_id="evt_stale_expired")
    deliver(session, first)  # and once more

    assert sorted(p.amount_minor for p in rows(session, Payment)) == [40000, 40000]
    link = link_of(session, appointment)
    assert (link.status, link.amount_paid_minor) == (LinkStatus.PAID, 80000)
    appointment = fresh(session, appointment)
    assert appointment.status is not AppointmentStatus.CANCELLED
    assert appointment.payment_status is PaymentStatus.PAID


def test_an_expired_event_after_payment_keeps_the_booking(session, held, razorpay):
    appointment, link = held
    paid = razorpay.pay(link.provider_link_id)
    stale = copy.deepcopy(paid.payload)
    stale["event"] = "payment_link.expired"
    stale["payload"]["payment_link"]["entity"]["status"] = "expired"

    deliver(session, paid)
    deliver_payload(session, stale, event_id="evt_stale")

    assert link_of(session, appointment).status is LinkStatus.PAID
    assert fresh(session, appointment).status is AppointmentStatus.CONFIRMED


# --- not paid in time ----------------------------------------------------------------------------


def test_an_expired_link_releases_the_unpaid_booking(session, held, razorpay):
    appointment, link = held
    later = NOW + HOLD

    deliver(session, razorpay.expire(link.provider_link_id), now=later)

    appointment = fresh(session, appointment)
    assert appointment.status is AppointmentStatus.CANCELLED
    assert "payment" in appointment.cancellation_reason
    assert invoice_of(session, appointment).status is InvoiceStatus.VOID
    assert link_of(session, appointment).status is LinkStatus.EXPIRED
    [notice] = messages(session, "notice_hold_expired")
    assert notice.appointment_id == appointment.id


def test_a_released_slot_is_free_for_someone_else(
    session, held, razorpay, online, prepaid, make_patient
):
    _appointment, link = held
    later = NOW + HOLD

    def free_at_wed_10() -> bool:
        slots = free_slots(
            session,
            clinic_id=online.id,
            service_id=prepaid.id,
            start_date=WED_10.date(),
            end_date=WED_10.date(),
            now=later,
        )
        session.rollback()
        return WED_10 in [slot.start for slot in slots]

    assert not free_at_wed_10()
    deliver(session, razorpay.expire(link.provider_link_id), now=later)

    assert free_at_wed_10()
    other = book(session, online, make_patient(online, name="Kabir"), prepaid, WED_10, now=later)
    assert other.start_at == WED_10


def test_a_released_booking_sends_no_reminders(session, held, razorpay):
    _appointment, link = held
    assert len(rows(session, OutboundMessage, OutboundMessage.kind == MessageKind.REMINDER)) == 2

    deliver(session, razorpay.expire(link.provider_link_id), now=NOW + HOLD)

    statuses = [
        m.status
        for m in rows(session, OutboundMessage, OutboundMessage.kind == MessageKind.REMINDER)
    ]
    assert statuses == [OutboundStatus.CANCELLED, OutboundStatus.CANCELLED]


def test_a_cancelled_link_releases_the_booking_too(session, held, razorpay):
    appointment, link = held

    deliver(session, razorpay.cancel_event(link.provider_link_id), now=NOW + timedelta(minutes=5))

    appointment = fresh(session, appointment)
    assert appointment.status is AppointmentStatus.CANCELLED
    assert invoice_of(session, appointment).status is InvoiceStatus.VOID
    assert len(messages(session, "notice_hold_expired")) == 1


def test_a_link_whose_hold_ran_out_before_the_job_ran_is_not_created(
    session, online, patient, prepaid, gateway_for, razorpay
):
    appointment = book(session, online, patient, prepaid, WED_10)

    # Razorpay wants expire_by 15 minutes ahead; 10 minutes of hold are left.
    assert push_links(session, gateway_for, now=NOW + timedelta(minutes=20)) == 0

    assert razorpay.links == {}
    assert link_of(session, appointment).status is LinkStatus.EXPIRED
    assert fresh(session, appointment).status is AppointmentStatus.CANCELLED


def test_paying_the_link_of_a_booking_cancelled_meanwhile_leaves_the_money_on_account(
    session, held, razorpay
):
    appointment, link = held
    patient_cancels(session, appointment, now=NOW + timedelta(minutes=5))

    deliver(session, razorpay.pay(link.provider_link_id), now=NOW + timedelta(minutes=10))

    [payment] = rows(session, Payment)
    assert billing.payment_available(session, payment.id) == 80000  # refundable
    assert fresh(session, appointment).status is AppointmentStatus.CANCELLED


def test_the_link_of_a_booking_cancelled_meanwhile_is_withdrawn_at_razorpay(
    session, held, razorpay, gateway_for
):
    appointment, link = held
    patient_cancels(session, appointment, now=NOW + timedelta(minutes=5))

    razorpay_sync.push(session, gateway_for, now=NOW + timedelta(minutes=6), callback_url=CALLBACK)

    assert razorpay.links[link.provider_link_id]["status"] == "cancelled"
    assert fresh(session, link).status is LinkStatus.CANCELLED


# --- reconcile: what a missed webhook would have said --------------------------------------------


def test_reconcile_records_a_payment_whose_webhook_never_came(session, held, razorpay, gateway_for):
    appointment, link = held
    razorpay.now = NOW + timedelta(minutes=5)
    razorpay.pay(link.provider_link_id)  # the webhook is lost

    checked = razorpay_sync.reconcile(
        session, gateway_for, now=NOW + timedelta(minutes=15), everything=True
    )

    assert checked == 1
    [payment] = rows(session, Payment)
    assert payment.provider_payment_id in razorpay.payments
    appointment = fresh(session, appointment)
    assert (appointment.status, appointment.payment_status) == (
        AppointmentStatus.CONFIRMED,
        PaymentStatus.PAID,
    )


def test_reconcile_fetches_an_open_link_at_most_every_15_minutes(
    session, held, razorpay, gateway_for
):
    start = NOW + timedelta(minutes=15)
    assert razorpay_sync.reconcile(session, gateway_for, now=start, everything=True) == 1
    before = razorpay.requests

    soon = razorpay_sync.reconcile(session, gateway_for, now=start + timedelta(minutes=5))
    soon_all = razorpay_sync.reconcile(
        session, gateway_for, now=start + timedelta(minutes=5), everything=True
    )
    assert (soon, soon_all, razorpay.requests) == (0, 0, before)

    later = razorpay_sync.reconcile(
        session, gateway_for, now=start + timedelta(minutes=15), everything=True
    )
    assert later == 1


def test_an_expired_hold_is_released_once_razorpay_shows_it_unpaid(
    session, held, razorpay, gateway_for
):
    appointment, _link = held  # Razorpay has not expired the link yet: it says "created"

    razorpay_sync.reconcile(session, gateway_for, now=NOW + HOLD + timedelta(minutes=1))

    assert fresh(session, appointment).status is AppointmentStatus.CANCELLED
    assert link_of(session, appointment).status is LinkStatus.EXPIRED


def test_a_hold_is_never_released_while_razorpay_says_paid(session, held, razorpay, gateway_for):
    appointment, link = held
    razorpay.now = NOW + timedelta(minutes=25)
    razorpay.pay(link.provider_link_id)  # paid just in time; the webhook is lost
    razorpay.now = NOW + HOLD + timedelta(minutes=5)

    razorpay_sync.reconcile(session, gateway_for, now=NOW + HOLD + timedelta(minutes=5))

    appointment = fresh(session, appointment)
    assert appointment.status is AppointmentStatus.CONFIRMED
    assert appointment.payment_status is PaymentStatus.PAID
    assert link_of(session, appointment).status is LinkStatus.PAID


def test_a_hold_is_not_released_blind_when_razorpay_cannot_be_reached(
    session, held, razorpay, gateway_for
):
    appointment, _link = held
    razorpay.fail_next(502, raw="<html>Bad gateway</html>")

    razorpay_sync.reconcile(session, gateway_for, now=NOW + HOLD + timedelta(minutes=1))

    assert fresh(session, appointment).status is AppointmentStatus.BOOKED


# --- dues ----------------------------------------------------------------------------------------


def complete(session, clinic, appointment, *, at=None):
    at = at or appointment.start_at + timedelta(hours=1)
    return complete_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=at, actor=STAFF
    )


@pytest.fixture
def two_sessions_done(session, clinic, patient, pay_after):
    """Aarav and his sister Diya each had a ₹600 pay-after session today."""
    diya = sibling(session, patient)
    done = [
        book(session, clinic, child, pay_after, start, actor=STAFF)
        for child, start in ((patient, MON_11), (diya, MON_15))
    ]
    for appointment in done:
        complete(session, clinic, appointment)
    return patient, diya


def test_completed_pay_after_sessions_are_invoiced_and_owed_per_patient(
    session, clinic, two_sessions_done
):
    aarav, diya = two_sessions_done

    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)

    assert [(p.name, owed) for p, owed in dues.per_patient] == [("Aarav", 60000), ("Diya", 60000)]
    assert dues.total == 120000
    assert billing.dues_by_patient(session, clinic.id) == {aarav.id: 60000, diya.id: 60000}
    assert [i.number for i in rows(session, Invoice)] == [
        "INV-2026-27-000001",
        "INV-2026-27-000002",
    ]


def test_a_booked_pay_after_session_is_not_owed_until_it_happens(
    session, clinic, patient, pay_after
):
    book(session, clinic, patient, pay_after, WED_10, actor=STAFF)

    assert billing.contact_dues(session, clinic.id, patient.contact_id).total == 0
    assert count(session, Invoice) == 0


def test_a_cash_payment_reduces_what_is_owed_oldest_first(session, clinic, two_sessions_done):
    aarav, _diya = two_sessions_done

    payment = payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        amount_minor=70000,
        method=PaymentMethod.CASH,
        now=NOW + timedelta(hours=8),
        actor=STAFF,
    )

    assert payment.receipt_number == "RCPT-2026-27-000001"
    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)
    assert [(p.name, owed) for p, owed in dues.per_patient] == [("Diya", 50000)]
    assert (dues.total, dues.on_account) == (50000, 0)


def test_an_overpayment_stays_on_account_and_pays_the_next_invoice(
    session, clinic, two_sessions_done, pay_after
):
    aarav, _diya = two_sessions_done
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        amount_minor=200000,
        method=PaymentMethod.BANK_TRANSFER,
        now=NOW + timedelta(hours=8),
        actor=STAFF,
    )
    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)
    assert (dues.total, dues.on_account) == (0, 80000)

    wednesday = book(session, clinic, aarav, pay_after, WED_10, actor=STAFF)
    complete(session, clinic, wednesday)

    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)
    assert (dues.total, dues.on_account) == (0, 20000)
    assert fresh(session, wednesday).payment_status is PaymentStatus.PAID


def test_record_payment_refuses_online_methods_and_non_positive_amounts(session, clinic, patient):
    for method, amount in ((PaymentMethod.PAYMENT_LINK, 100), (PaymentMethod.CASH, 0)):
        with pytest.raises(InvalidInput):
            payments.record_payment(
                session,
                clinic_id=clinic.id,
                contact_id=patient.contact_id,
                amount_minor=amount,
                method=method,
                now=NOW,
                actor=STAFF,
            )
    assert count(session, Payment) == 0


@pytest.fixture
def chat_with_dues(session, clinic, pay_after):
    """A parent registered Aarav and Diya over chat; each had a ₹600 session today."""
    chat = Chat(session, clinic, now=NOW)
    chat.script("hi", "1", "Asha Verma", "2", "Aarav", "12/03/2019")
    aarav = session.scalar(select(Patient).where(Patient.name == "Aarav"))
    diya = sibling(session, aarav)
    for child, start in ((aarav, MON_11), (diya, MON_15)):
        complete(session, clinic, book(session, clinic, child, pay_after, start, actor=STAFF))
    chat.now = NOW + timedelta(hours=8)
    return chat


def test_pay_dues_in_the_chat_lists_what_each_child_owes(chat_with_dues):
    reply = chat_with_dues.say("5")

    assert "• Aarav: ₹600\n• Diya: ₹600\nTotal: ₹1,200" in reply
    assert "1. Pay ₹1,200 now" in reply


def test_paying_dues_with_razorpay_opens_one_link_for_the_total(
    session, chat_with_dues, connect_razorpay, gateway_for, razorpay
):
    connect_razorpay(chat_with_dues.clinic)
    chat_with_dues.say("5")

    assert "payment link for ₹1,200" in chat_with_dues.say("1")
    chat_with_dues.script("pay", "1")  # asked again: the same link is sent again

    [link] = rows(session, PaymentLink)
    assert (link.amount_minor, link.appointment_id) == (120000, None)
    push_links(session, gateway_for, now=chat_with_dues.now)
    assert [at["amount"] for at in razorpay.links.values()] == [120000]


def test_paying_dues_without_razorpay_sends_upi_details(session, chat_with_dues, upi_clinic):
    chat_with_dues.say("5")

    assert "UPI details for ₹1,200" in chat_with_dues.say("pay")

    [payment] = rows(session, Payment)
    assert (payment.method, payment.status, payment.amount_minor) == (
        PaymentMethod.UPI,
        PaymentState.AWAITING_CONFIRMATION,
        120000,
    )
    [message] = messages(session, "payment_upi")
    assert message.variables["vpa"] == "clinic@okaxis"
    assert count(session, PaymentLink) == 0


def test_paying_dues_with_no_online_payment_says_pay_at_the_clinic(session, chat_with_dues):
    chat_with_dues.say("5")

    assert "pay ₹1,200 at the clinic" in chat_with_dues.say("1")
    assert count(session, Payment) == count(session, PaymentLink) == 0


def test_paying_the_dues_link_settles_every_open_invoice(
    session, chat_with_dues, connect_razorpay, gateway_for, razorpay
):
    chat = chat_with_dues
    connect_razorpay(chat.clinic)
    chat.script("5", "1")
    push_links(session, gateway_for, now=chat.now)
    [link] = rows(session, PaymentLink)
    [message] = messages(session, "payment_link_dues")
    assert message.variables["url"] == link.short_url

    deliver(session, razorpay.pay(link.provider_link_id), now=chat.now)

    [contact_id] = {p.contact_id for p in rows(session, Patient)}
    assert billing.contact_dues(session, chat.clinic.id, contact_id).total == 0
    assert sorted(a.amount_minor for a in rows(session, PaymentAllocation)) == [60000, 60000]
    assert "nothing to pay" in chat.say("5")


def test_a_session_paid_from_credit_is_no_longer_owed(
    session, clinic, two_sessions_done, pay_after
):
    aarav, _diya = two_sessions_done
    package = add_package(session, clinic, pay_after, sessions=5, price=250000)
    sell(session, clinic, aarav, package)
    package_invoice = rows(session, Invoice)[-1]
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        amount_minor=250000,
        method=PaymentMethod.CARD,
        now=NOW + timedelta(hours=9),
        actor=STAFF,
        invoice_id=package_invoice.id,
    )
    [aarav_session] = rows(session, Appointment, Appointment.patient_id == aarav.id)

    credits.draw_credit_for(
        session,
        clinic_id=clinic.id,
        appointment_id=aarav_session.id,
        now=NOW + timedelta(hours=9),
        actor=STAFF,
    )

    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)
    assert [(p.name, owed) for p, owed in dues.per_patient] == [("Diya", 60000)]
    assert credits.credit_balance(session, aarav.id, pay_after.id) == 4


def test_nothing_owed_means_nothing_to_pay(session, clinic, connect_razorpay):
    connect_razorpay(clinic)
    chat = Chat(session, clinic, now=NOW)
    chat.script("hi", "1", "Asha Verma", "2", "Aarav", "12/03/2019")

    assert "nothing to pay" in chat.say("pay")
    assert count(session, PaymentLink) == 0


# --- packages and credits ------------------------------------------------------------------------


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


def test_selling_a_package_invoices_it_and_adds_its_sessions(
    session, online, patient, package, prepaid
):
    invoice = sell(session, online, patient, package)

    assert (invoice.number, invoice.total_minor) == ("INV-2026-27-000001", 600000)
    assert [line.kind for line in invoice.lines] == [InvoiceLineKind.PACKAGE]
    assert credits.credit_balance(session, patient.id, prepaid.id) == 10
    assert billing.contact_dues(session, online.id, patient.contact_id).total == 600000


def test_a_booking_with_credit_draws_one_session_instead_of_asking_to_pay(
    session, online, patient, package, prepaid, gateway_for
):
    sell(session, online, patient, package)

    appointment = fresh(session, book(session, online, patient, prepaid, WED_10))

    assert appointment.payment_status is PaymentStatus.PAID
    assert appointment.hold_expires_at is None
    assert credits.credit_balance(session, patient.id, prepaid.id) == 9
    assert count(session, Invoice) == 1  # the package's only
    assert count(session, PaymentLink) == 0


def test_cancelling_outside_the_window_returns_the_credit(
    session, online, patient, package, prepaid
):
    sell(session, online, patient, package)
    appointment = book(session, online, patient, prepaid, WED_10)

    cancel_appointment(
        session,
        clinic_id=online.id,
        appointment_id=appointment.id,
        now=NOW,
        actor=Actor.contact(patient.contact_id),
    )

    assert credits.credit_balance(session, patient.id, prepaid.id) == 10


def test_the_credit_balance_is_the_sum_of_the_ledger(session, online, patient, package, prepaid):
    sell(session, online, patient, package)
    book(session, online, patient, prepaid, WED_10)
    credits.adjust_credit(
        session,
        clinic_id=online.id,
        patient_id=patient.id,
        sessions=-2,
        note="two sessions given as a goodwill gesture elsewhere",
        now=NOW,
        actor=STAFF,
    )

    ledger = [e.sessions for e in rows(session, CreditEntry)]
    assert ledger == [10, -1, -2]
    assert credits.credit_balance(session, patient.id) == sum(ledger) == 7


def test_an_adjustment_cannot_make_credit_negative(session, online, patient, package):
    sell(session, online, patient, package)

    with pytest.raises(InvalidInput):
        credits.adjust_credit(
            session,
            clinic_id=online.id,
            patient_id=patient.id,
            sessions=-11,
            note="typo",
            now=NOW,
            actor=STAFF,
        )
    assert credits.credit_balance(session, patient.id) == 10


# --- refunds and the cancellation policy ---------------------------------------------------------


@pytest.fixture
def paid(session, held, razorpay):
    """The held Wednesday booking, paid through its link: (booking, payment)."""
    appointment, link = held
    deliver(session, razorpay.pay(link.provider_link_id))
    [payment] = rows(session, Payment)
    return appointment, payment


def refund(session, payment, amount: int, *, reason: str = "cancelled in time") -> Refund:
    return refunds.refund_payment(
        session,
        clinic_id=payment.clinic_id,
        payment_id=payment.id,
        amount_minor=amount,
        reason=reason,
        now=NOW + timedelta(hours=1),
        actor=STAFF,
    )


def patient_cancels(session, appointment, *, now=NOW + timedelta(hours=1)):
    return cancel_appointment(
        session,
        clinic_id=appointment.clinic_id,
        appointment_id=appointment.id,
        now=now,
        actor=Actor.contact(appointment.patient.contact_id),
        reason="travelling",
    )


def test_money_paying_an_invoice_cannot_be_refunded(session, paid):
    _appointment, payment = paid

    with pytest.raises(InvalidInput):
        refund(session, payment, 80000)
    assert count(session, Refund) == 0


def test_cancelling_a_paid_session_outside_the_window_makes_its_money_refundable(session, paid):
    appointment, payment = paid

    patient_cancels(session, appointment)

    assert invoice_of(session, appointment).status is InvoiceStatus.VOID
    assert billing.payment_available(session, payment.id) == 80000


def test_a_link_refund_is_final_only_when_razorpay_processes_it(
    session, paid, razorpay, gateway_for
):
    appointment, payment = paid
    patient_cancels(session, appointment)

    pending = refund(session, payment, 80000)
    assert pending.status is RefundStatus.PENDING
    assert razorpay_sync.submit_pending_refunds(session, gateway_for, now=NOW) == 1

    [at_razorpay] = razorpay.refunds.values()
    assert (at_razorpay["payment_id"], at_razorpay["amount"]) == (
        payment.provider_payment_id,
        80000,
    )
    pending = fresh(session, pending)
    assert (pending.provider_refund_id, pending.status) == (at_razorpay["id"], RefundStatus.PENDING)

    deliver(session, razorpay.process_refund(at_razorpay["id"]), now=NOW + timedelta(days=3))

    done = fresh(session, pending)
    assert done.status is RefundStatus.PROCESSED
    assert done.processed_at == NOW + timedelta(days=3)
    assert billing.payment_available(session, payment.id) == 0


def test_a_refund_beyond_the_free_money_is_refused(session, paid):
    appointment, payment = paid
    patient_cancels(session, appointment)
    refund(session, payment, 30000)

    with pytest.raises(InvalidInput):
        refund(session, payment, 50001)
    with pytest.raises(InvalidInput):
        refund(session, payment, 80001)  # more than was ever captured
    assert [r.amount_minor for r in rows(session, Refund)] == [30000]


def test_a_second_submit_run_does_not_refund_twice(session, paid, razorpay, gateway_for):
    appointment, payment = paid
    patient_cancels(session, appointment)
    pending = refund(session, payment, 80000)
    # A crashed run: Razorpay made the refund, our row never heard its id.
    made = gateway_for(session.get(Clinic, payment.clinic_id)).refund(
        payment.provider_payment_id, 80000, {"refund": str(pending.id)}
    )

    razorpay_sync.submit_pending_refunds(session, gateway_for, now=NOW)
    razorpay_sync.submit_pending_refunds(session, gateway_for, now=NOW)

    assert list(razorpay.refunds) == [made["id"]]
    assert fresh(session, pending).provider_refund_id == made["id"]


def test_a_failed_refund_frees_the_money_again(session, paid, razorpay, gateway_for):
    appointment, payment = paid
    patient_cancels(session, appointment)
    pending = refund(session, payment, 80000)
    razorpay_sync.submit_pending_refunds(session, gateway_for, now=NOW)
    processed = razorpay.process_refund(fresh(session, pending).provider_refund_id)
    failed = copy.deepcopy(processed.payload)
    failed["event"] = "refund.failed"
    failed["payload"]["refund"]["entity"]["status"] = "failed"

    deliver_payload(session, failed, event_id="evt_refund_failed")

    assert fresh(session, pending).status is RefundStatus.FAILED
    assert billing.payment_available(session, payment.id) == 80000


def test_a_refund_processed_before_its_id_is_stored_is_not_lost(
    session, db, paid, razorpay, gateway_for
):
    appointment, payment = paid
    patient_cancels(session, appointment)
    pending = refund(session, payment, 80000)

    def gateway_with_a_quick_webhook(clinic):
        gateway = gateway_for(clinic)
        make_refund = gateway.refund

        def refund_then_webhook(*args):
            made = make_refund(*args)
            event = razorpay.process_refund(made["id"])  # Razorpay is faster than our commit
            with db.session_scope() as webhook:
                deliver(webhook, event, now=NOW + timedelta(seconds=1))
            return made

        gateway.refund = refund_then_webhook
        return gateway

    razorpay_sync.submit_pending_refunds(session, gateway_with_a_quick_webhook, now=NOW)
    razorpay_sync.process_events(session, now=NOW + timedelta(minutes=1))
    razorpay_sync.reconcile(session, gateway_for, now=NOW + timedelta(minutes=20), everything=True)

    assert fresh(session, pending).status is RefundStatus.PROCESSED


def test_money_on_account_pays_for_a_new_prepaid_booking(
    session, paid, online, patient, prepaid, gateway_for
):
    wednesday, _payment = paid
    patient_cancels(session, wednesday)  # ₹800 goes on account

    thursday = fresh(
        session, book(session, online, patient, prepaid, THU_10, now=NOW + timedelta(hours=1))
    )

    assert thursday.payment_status is PaymentStatus.PAID
    assert thursday.hold_expires_at is None
    assert rows(session, PaymentLink, PaymentLink.appointment_id == thursday.id) == []


def test_a_cash_refund_is_final_at_once(session, clinic, patient):
    cash = payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        amount_minor=50000,
        method=PaymentMethod.CASH,
        now=NOW,
        actor=STAFF,
    )

    done = refund(session, cash, 20000)

    assert (done.status, done.processed_at) == (RefundStatus.PROCESSED, NOW + timedelta(hours=1))
    assert billing.payment_available(session, cash.id) == 30000


def test_only_staff_refund(session, clinic, patient):
    cash = payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        amount_minor=50000,
        method=PaymentMethod.CASH,
        now=NOW,
        actor=STAFF,
    )
    with pytest.raises(InvalidTransition):
        refunds.refund_payment(
            session,
            clinic_id=clinic.id,
            payment_id=cash.id,
            amount_minor=100,
            reason="asked",
            now=NOW,
            actor=SYSTEM,
        )


def test_the_refund_proposal_is_everything_paid_outside_the_window_and_nothing_inside(
    session, paid, online, patient, prepaid, gateway_for, razorpay
):
    wednesday, _payment = paid
    today = book(session, online, patient, prepaid, MON_15)
    push_links(session, gateway_for)
    deliver(session, razorpay.pay(link_of(session, today).provider_link_id))

    assert refunds.refund_proposal(session, wednesday, now=NOW) == 80000
    assert refunds.refund_proposal(session, today, now=NOW) == 0


@pytest.fixture
def paid_today(session, online, patient, prepaid, gateway_for, razorpay):
    """A prepaid session this afternoon (inside the window), paid through its link."""
    appointment = book(session, online, patient, prepaid, MON_15)
    push_links(session, gateway_for)
    deliver(session, razorpay.pay(link_of(session, appointment).provider_link_id))
    [payment] = rows(session, Payment)
    return appointment, payment


def staff_cancels(session, appointment, **kwargs):
    return cancel_appointment(
        session,
        clinic_id=appointment.clinic_id,
        appointment_id=appointment.id,
        now=NOW + timedelta(hours=1),
        actor=STAFF,
        **kwargs,
    )


def test_staff_cancelling_inside_the_window_keeps_the_charge(session, paid_today):
    appointment, payment = paid_today

    staff_cancels(session, appointment, reason="no-show call")

    assert fresh(session, appointment).status is AppointmentStatus.CANCELLED
    assert invoice_of(session, appointment).status is InvoiceStatus.ISSUED
    assert billing.payment_available(session, payment.id) == 0


def test_waiving_the_charge_frees_the_money_for_a_refund(session, paid_today):
    appointment, payment = paid_today

    staff_cancels(session, appointment, reason="therapist ill", waive_charge=True)

    assert invoice_of(session, appointment).status is InvoiceStatus.VOID
    assert billing.payment_available(session, payment.id) == 80000


def test_waiving_the_charge_needs_a_reason(session, paid_today):
    appointment, _payment = paid_today

    with pytest.raises(InvalidInput):
        staff_cancels(session, appointment, reason="  ", waive_charge=True)
    assert fresh(session, appointment).status is AppointmentStatus.CONFIRMED


# --- invoice numbers, financial years and tax ----------------------------------------------------


def ist_at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=IST)


def test_invoice_numbers_restart_with_the_indian_financial_year(session, online, patient, package):
    before = sell(session, online, patient, package, now=ist_at(2027, 3, 31, 23, 30))
    after = sell(session, online, patient, package, now=ist_at(2027, 4, 1, 0, 30))
    next_one = sell(session, online, patient, package, now=ist_at(2027, 4, 1, 10))

    assert before.number == "INV-2026-27-000001"
    assert (after.number, next_one.number) == ("INV-2027-28-000001", "INV-2027-28-000002")


def test_a_clinic_with_a_calendar_financial_year_numbers_by_calendar_year(
    session, make_clinic, make_patient, connect_razorpay
):
    clinic = make_clinic(financial_year_start_month=1)
    service = add_service(session, clinic)
    package = add_package(session, clinic, service)

    invoice = sell(session, clinic, make_patient(clinic), package, now=ist_at(2027, 4, 1, 0, 30))

    assert invoice.number == "INV-2027-000001"


def test_numbers_are_per_clinic(session, online, patient, package, make_clinic, make_patient):
    other = make_clinic(name="Other Clinic")
    other_package = add_package(session, other, add_service(session, other))

    ours = sell(session, online, patient, package)
    theirs = sell(session, other, make_patient(other), other_package)

    assert ours.number == theirs.number == "INV-2026-27-000001"


@pytest.mark.parametrize(
    ("day", "start_month", "expected"),
    [
        (date(2026, 4, 1), 4, (2026, "2026-27")),
        (date(2027, 3, 31), 4, (2026, "2026-27")),
        (date(2027, 1, 15), 4, (2026, "2026-27")),
        (date(2099, 12, 31), 4, (2099, "2099-00")),
        (date(2026, 1, 1), 1, (2026, "2026")),
        (date(2026, 12, 31), 1, (2026, "2026")),
        (date(2026, 6, 30), 7, (2025, "2025-26")),
        (date(2026, 7, 1), 7, (2026, "2026-27")),
    ],
)
def test_financial_year(day, start_month, expected):
    assert billing.financial_year(day, start_month) == expected


@pytest.mark.parametrize(
    ("subtotal", "rate_bp", "tax"),
    [
        (1000, 1800, 180),
        (80000, 1800, 14400),
        (25, 1800, 5),  # 4.5 → 5: half up
        (2, 1800, 0),  # 0.36 → 0
        (3, 1800, 1),  # 0.54 → 1
        (1, 5000, 1),  # 0.5 → 1
        (999, 0, 0),
        (0, 1800, 0),
    ],
)
def test_tax_is_rounded_half_up_in_integers(subtotal, rate_bp, tax):
    assert billing.tax_for(subtotal, rate_bp) == tax


def test_an_invoice_adds_the_clinics_tax(session, make_clinic, make_patient):
    clinic = make_clinic(tax_rate_bp=1800, tax_label="GST")
    package = add_package(session, clinic, add_service(session, clinic), price=1000)

    invoice = sell(session, clinic, make_patient(clinic), package)

    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (1000, 180, 1180)
    assert (invoice.tax_label, invoice.tax_rate_bp) == ("GST", 1800)


def test_the_chat_asks_for_the_amount_the_link_charges(session, make_clinic, make_therapist):
    clinic = make_clinic(tax_rate_bp=1800, tax_label="GST")
    make_therapist(clinic)
    add_service(session, clinic, prepay=True)
    clinic.upi_vpa = "clinic@okaxis"
    session.commit()
    chat = Chat(session, clinic, now=NOW)
    chat.script("hi", "1", "Asha Verma", "2", "Aarav", "12/03/2019")

    booked = chat.script("1", "1", "1", "3", "1", "1")

    [payment] = rows(session, Payment)
    assert payment.amount_minor == 94400
    assert "₹944" in booked


# --- money never touches floats ------------------------------------------------------------------


@given(subtotal=st.integers(min_value=0, max_value=10**12), rate_bp=st.integers(0, 5000))
def test_tax_is_exact_integer_arithmetic(subtotal, rate_bp):
    tax = billing.tax_for(subtotal, rate_bp)

    assert type(tax) is int
    exact = Fraction(subtotal * rate_bp, 10000)
    assert exact - Fraction(1, 2) < tax <= exact + Fraction(1, 2)  # nearest, halves up


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # Up to ₹10 lakh a line: money columns are 32-bit INTEGER on PostgreSQL (max ~₹2.1 crore).
    prices=st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=4),
    rate_bp=st.integers(0, 5000),
)
def test_every_invoice_totals_subtotal_plus_tax(session, clinic, patient, prices, rate_bp):
    clinic = session.get(Clinic, clinic.id)
    clinic.policy.tax_rate_bp = rate_bp
    session.commit()
    lines = [
        billing.LineSpec(kind=InvoiceLineKind.OTHER, description=f"item {n}", unit_minor=price)
        for n, price in enumerate(prices)
    ]
    with write_transaction(session):
        invoice = billing.issue_invoice(
            session, clinic=clinic, patient=patient, lines=lines, now=NOW, actor=STAFF
        )

    invoice = fresh(session, invoice)
    assert all(type(v) is int for v in (invoice.subtotal_minor, invoice.tax_minor))
    assert invoice.subtotal_minor == sum(prices)
    assert invoice.total_minor == invoice.subtotal_minor + invoice.tax_minor
    assert invoice.tax_minor == billing.tax_for(sum(prices), rate_bp)


def test_no_money_column_is_a_float_or_a_decimal():
    offenders = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Float | Numeric)
    ]
    assert offenders == []
    assert "amount_minor" in Base.metadata.tables["payment"].columns  # the check looked


# --- documents -----------------------------------------------------------------------------------


def test_an_invoice_pdf_shows_its_number_and_amount(session, online, patient, package):
    invoice = sell(session, online, patient, package)

    text = pdf_text(invoice_pdf(session, fresh(session, invoice)))

    assert "INV-2026-27-000001" in text
    assert "6,000.00" in text


def test_a_receipt_pdf_shows_its_number_and_amount(session, paid):
    _appointment, payment = paid

    text = pdf_text(receipt_pdf(session, fresh(session, payment)))

    assert "RCPT-2026-27-000001" in text
    assert "800.00" in text
    assert "INV-2026-27-000001" in text  # what it paid


# --- UPI, confirmed by staff ---------------------------------------------------------------------


@pytest.fixture
def upi_booking(session, upi_clinic, patient):
    service = add_service(session, upi_clinic, prepay=True)
    appointment = book(session, upi_clinic, patient, service, WED_10)
    [payment] = rows(session, Payment)
    return appointment, payment


def test_a_prepaid_chat_booking_at_a_upi_clinic_asks_for_upi(session, upi_booking):
    appointment, payment = upi_booking

    assert (payment.method, payment.status, payment.amount_minor) == (
        PaymentMethod.UPI,
        PaymentState.AWAITING_CONFIRMATION,
        80000,
    )
    assert fresh(session, appointment).payment_status is PaymentStatus.PENDING
    [message] = messages(session, "payment_upi")
    assert message.kind is MessageKind.PAYMENT
    assert message.variables["upi_path"] == f"/pay/upi/{payment.public_token}"
    assert count(session, PaymentLink) == 0


def confirm(session, payment):
    return payments.confirm_payment(
        session,
        clinic_id=payment.clinic_id,
        payment_id=payment.id,
        now=NOW + timedelta(hours=2),
        actor=STAFF,
        reference="UTR 612345678901",
    )


def test_staff_confirming_a_upi_payment_pays_the_session(session, upi_booking):
    appointment, payment = upi_booking

    confirmed = confirm(session, payment)

    assert confirmed.status is PaymentState.RECEIVED
    assert confirmed.receipt_number == "RCPT-2026-27-000001"
    assert fresh(session, appointment).payment_status is PaymentStatus.PAID
    [receipt] = messages(session, "payment_receipt")
    assert receipt.variables["receipt"] == "RCPT-2026-27-000001"
    with pytest.raises(InvalidTransition):
        confirm(session, payment)  # once


def test_a_confirmed_upi_payment_confirms_the_booking(session, upi_booking):
    appointment, payment = upi_booking

    confirm(session, payment)

    assert fresh(session, appointment).status is AppointmentStatus.CONFIRMED


def test_staff_rejecting_a_upi_payment_that_never_came(session, upi_booking):
    appointment, payment = upi_booking

    rejected = payments.reject_payment(
        session,
        clinic_id=payment.clinic_id,
        payment_id=payment.id,
        now=NOW + timedelta(hours=2),
        actor=STAFF,
        reason="nothing in the bank statement",
    )

    assert rejected.status is PaymentState.REJECTED
    assert rejected.receipt_number is None
    assert fresh(session, appointment).payment_status is PaymentStatus.PENDING
    assert billing.contact_dues(session, payment.clinic_id, payment.contact_id).total == 80000


# --- the catalogue verb the factories use --------------------------------------------------------


def test_a_service_created_without_payment_settings_gets_the_defaults(session, clinic):
    service = catalog.create_service(
        session,
        clinic_id=clinic.id,
        name="Speech Therapy Session",
        specialization="speech",
        duration_minutes=45,
        price_minor=80000,
        actor=SYSTEM,
    )

    assert (service.prepay_required, service.hold_minutes) == (False, 30)
