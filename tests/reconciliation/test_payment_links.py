"""Prepaid bookings held while their Razorpay payment links are paid: creating and
sending links, paid and expired events, releasing unpaid holds, and reconciling
what a missed webhook would have said.

Razorpay is tests/fake_razorpay.py behind the real SDK (its clock starts at NOW).
Webhook events are applied the way the webhook leaves them: stored once by id
(``store_event``), then applied (``process_events``); the HTTP edge itself is
tests/reconciliation/test_payment_webhooks.py.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the default policy has 2 h minimum
notice and a 24 h cancellation window; prepaid services here hold a slot 30 minutes.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from models import (
    Appointment,
    AppointmentStatus,
    InvoiceStatus,
    LinkStatus,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    Payment,
    PaymentAllocation,
    PaymentLink,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
    ProviderEvent,
)
from services.billing import invoices as billing
from services.clinics import catalog
from services.reconciliation import razorpay_sync
from services.scheduling.availability import free_slots
from tests.chat import Chat
from tests.conftest import NOW, SYSTEM

# The shared fixtures are imported by name so pytest finds them here; tests then take
# them as parameters of the same name, which is what F811 would flag.
# ruff: noqa: F811
from tests.payments_support import (  # noqa: F401  (fixtures)
    CALLBACK,
    HOLD,
    IST,
    STAFF,
    THU_10,
    WED_10,
    book,
    clinic,
    count,
    deliver,
    deliver_payload,
    fresh,
    held,
    invoice_of,
    link_of,
    messages,
    online,
    paid,
    partial,
    patient,
    patient_cancels,
    prepaid,
    push_links,
    rows,
)

# The data is pinned around NOW and the code under test reads the clock: freeze it there.
pytestmark = pytest.mark.usefixtures("frozen_clock")

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
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")  # booking follows

    summary = chat.script("1", "wed 9am")  # speech, Wed, 9:00
    # Said before the patient confirms, so "Booked!" brings no surprise.
    deadline = (chat.now + HOLD).astimezone(IST)
    assert (
        "💳 Paid in advance: ₹800. When you confirm I'll send a payment link; please pay "
        f"within 30 minutes (by 9:{deadline.minute:02d} am) or the time is released."
    ) in summary
    booked = chat.say("1")

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
