"""A Razorpay payment that arrives after its booking's hold ran out and the slot was released.

The slot still free: booked again for the patient, who is told so. Taken: the money stays
on account, the chat goes to the staff queue with a note proposing a refund or another
time, and the patient is told the clinic will refund or move them. Once per payment,
however often Razorpay reports it.

Razorpay is tests/fake_razorpay.py behind the real SDK (its clock starts at NOW). The
hold is released the way a sweep releases it: reconcile finds the link past its hold
and unpaid. The patient then pays at the last second, and Razorpay captures it.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; prepaid services hold a slot 30 minutes.
"""

from __future__ import annotations

from datetime import timedelta
from string import Formatter

import pytest
from sqlalchemy import select

from models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    Clinic,
    Contact,
    Conversation,
    LinkStatus,
    Payment,
    PaymentStatus,
)
from services.billing import invoices as billing
from services.messaging.catalogue import CATALOGUES, HI
from services.messaging.rendering import compose
from services.reconciliation import razorpay_sync
from tests.conftest import NOW

# ruff: noqa: F811
from tests.payments_support import (  # noqa: F401  (fixtures)
    HOLD,
    WED_10,
    book,
    clinic,
    deliver,
    deliver_payload,
    fresh,
    held,
    invoice_of,
    link_of,
    messages,
    online,
    patient,
    patient_cancels,
    prepaid,
    rows,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")

RELEASED_AT = NOW + HOLD
PAID_AT = RELEASED_AT + timedelta(minutes=3)


@pytest.fixture
def released(session, held, gateway_for):
    """The held Wednesday booking, released by the sweep's reconcile: (booking, link)."""
    appointment, link = held
    assert razorpay_sync.reconcile(session, gateway_for, now=RELEASED_AT) == 1
    appointment = fresh(session, appointment)
    assert appointment.status is AppointmentStatus.CANCELLED
    assert link_of(session, appointment).status is LinkStatus.EXPIRED
    return appointment, link


def bookings_at_wed_10(session, patient) -> list[Appointment]:
    return rows(
        session,
        Appointment,
        Appointment.patient_id == patient.id,
        Appointment.start_at == WED_10,
        Appointment.status.in_(AppointmentStatus.active()),
    )


def audit_actions(session, action: str) -> list[AuditLog]:
    return rows(session, AuditLog, AuditLog.action == action)


def waiting_chats(session, clinic_id: int) -> list[Conversation]:
    return rows(
        session,
        Conversation,
        Conversation.clinic_id == clinic_id,
        Conversation.handoff_at.is_not(None),
    )


def test_a_late_payment_books_the_released_slot_again_when_it_is_still_free(
    session, released, razorpay, patient, online
):
    old, link = released

    deliver(session, razorpay.pay(link.provider_link_id), now=PAID_AT)

    [again] = bookings_at_wed_10(session, patient)
    assert again.id != old.id and again.therapist_id == old.therapist_id
    assert again.payment_status is PaymentStatus.PAID
    invoice = invoice_of(session, again)
    assert billing.invoice_paid(session, invoice.id) == invoice.total_minor == 80000
    [payment] = rows(session, Payment)
    assert billing.payment_available(session, payment.id) == 0  # it paid the new booking
    [told] = messages(session, "late_payment_rebooked")
    assert told.appointment_id == again.id
    [audited] = audit_actions(session, "appointment.rebook_after_late_payment")
    assert str(audited.entity_id) == str(again.id)
    assert waiting_chats(session, online.id) == []
    assert messages(session, "late_payment_slot_gone") == []


def test_a_late_payment_for_a_slot_taken_meanwhile_stays_on_account_for_staff(
    session, released, razorpay, patient, online, prepaid, make_patient
):
    old, link = released
    other = book(session, online, make_patient(online, name="Kabir"), prepaid, WED_10, now=NOW)
    assert other.start_at == WED_10

    deliver(session, razorpay.pay(link.provider_link_id), now=PAID_AT)

    assert bookings_at_wed_10(session, patient) == []
    assert fresh(session, old).status is AppointmentStatus.CANCELLED
    [payment] = rows(session, Payment)
    assert billing.payment_available(session, payment.id) == 80000  # on account, refundable
    [chat] = waiting_chats(session, online.id)
    assert chat.state == "handoff" and chat.handoff_at == PAID_AT
    assert old.number in chat.data["staff_note"] and "refund" in chat.data["staff_note"]
    [told] = messages(session, "late_payment_slot_gone")
    assert told.appointment_id == old.id and told.variables["amount"] == "₹800"
    assert len(audit_actions(session, "conversation.refer_to_staff")) == 1
    assert messages(session, "late_payment_rebooked") == []


def test_the_same_late_payment_reported_again_changes_nothing(
    session, released, razorpay, patient, online
):
    _old, link = released
    event = razorpay.pay(link.provider_link_id)

    deliver(session, event, now=PAID_AT)
    deliver(session, event, now=PAID_AT + timedelta(minutes=1))  # the same event id again
    # Razorpay's retry of the news under another event id.
    deliver_payload(session, event.payload, event_id="evt_retry", now=PAID_AT)

    assert len(bookings_at_wed_10(session, patient)) == 1
    assert len(rows(session, Payment)) == 1
    assert len(messages(session, "late_payment_rebooked")) == 1
    assert len(audit_actions(session, "appointment.rebook_after_late_payment")) == 1


def test_the_same_late_payment_for_a_taken_slot_refers_it_to_staff_once(
    session, released, razorpay, online, prepaid, make_patient
):
    _old, link = released
    book(session, online, make_patient(online, name="Kabir"), prepaid, WED_10, now=NOW)
    event = razorpay.pay(link.provider_link_id)

    deliver(session, event, now=PAID_AT)
    deliver_payload(session, event.payload, event_id="evt_retry", now=PAID_AT)

    assert len(messages(session, "late_payment_slot_gone")) == 1
    assert len(audit_actions(session, "conversation.refer_to_staff")) == 1
    assert len(waiting_chats(session, online.id)) == 1


def test_reconcile_finds_a_late_payment_whose_webhook_never_came(
    session, released, razorpay, gateway_for, patient
):
    _old, link = released
    razorpay.pay(link.provider_link_id)  # captured; the webhook is lost

    later = RELEASED_AT + razorpay_sync.RECONCILE_EVERY
    razorpay_sync.reconcile(session, gateway_for, now=later, everything=True)

    assert link_of(session, _old).status is LinkStatus.PAID
    [again] = bookings_at_wed_10(session, patient)
    assert again.payment_status is PaymentStatus.PAID
    assert len(messages(session, "late_payment_rebooked")) == 1

    razorpay_sync.reconcile(session, gateway_for, now=later + timedelta(hours=1), everything=True)
    assert len(bookings_at_wed_10(session, patient)) == 1


def test_expired_links_are_watched_for_late_payments_only_for_a_while(
    session, released, razorpay, gateway_for
):
    _old, link = released
    past_watch = link.expire_at + razorpay_sync.LATE_PAYMENT_WATCH + timedelta(minutes=1)

    assert razorpay_sync.reconcile(session, gateway_for, now=past_watch, everything=True) == 0


def test_a_hindi_speaking_patient_is_told_in_hindi(
    session, released, razorpay, online, prepaid, make_patient, patient
):
    contact = session.get(Contact, patient.contact_id)
    contact.language = "hi"
    session.commit()
    old, link = released
    book(session, online, make_patient(online, name="Kabir"), prepaid, WED_10, now=NOW)

    deliver(session, razorpay.pay(link.provider_link_id), now=PAID_AT)

    [told] = messages(session, "late_payment_slot_gone")
    clinic = session.get(Clinic, online.id)
    text, _ = compose(
        told, clinic, session.get(Contact, patient.contact_id), fresh(session, old), now=PAID_AT
    )
    assert "आपका पैसा सुरक्षित है" in text and "₹800" in text and old.number in text


def test_a_booking_the_patient_cancelled_is_not_booked_again_by_its_late_payment(
    session, held, razorpay, patient
):
    appointment, link = held
    patient_cancels(session, appointment, now=NOW + timedelta(minutes=5))

    deliver(session, razorpay.pay(link.provider_link_id), now=NOW + timedelta(minutes=10))

    assert bookings_at_wed_10(session, patient) == []
    assert messages(session, "late_payment_rebooked") == []
    assert messages(session, "late_payment_slot_gone") == []
    assert (
        session.scalar(select(Conversation.id).where(Conversation.handoff_at.is_not(None))) is None
    )


def test_every_hindi_sentence_has_the_english_placeholders():
    fields = {
        lang: {key: {f for _, f, _, _ in Formatter().parse(text) if f} for key, text in cat.items()}
        for lang, cat in CATALOGUES.items()
    }
    assert {"late_payment_rebooked", "late_payment_slot_gone"} <= set(HI)
    for key, placeholders in fields["hi"].items():
        assert placeholders == fields["en"][key], key
