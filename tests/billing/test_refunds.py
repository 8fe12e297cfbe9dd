"""Refunds and the cancellation policy: what money is free to refund, Razorpay and
cash refunds, and the charge kept (or waived) when cancelling inside the window.

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
    AppointmentStatus,
    Clinic,
    InvoiceStatus,
    Payment,
    PaymentLink,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from services.billing import invoices as billing
from services.billing import payments, refunds
from services.errors import InvalidInput, InvalidTransition
from services.reconciliation import razorpay_sync
from services.scheduling.appointments import cancel_appointment
from tests.conftest import NOW, SYSTEM

# The shared fixtures are imported by name so pytest finds them here; tests then take
# them as parameters of the same name, which is what F811 would flag.
# ruff: noqa: F811
from tests.payments_support import (  # noqa: F401  (fixtures)
    MON_15,
    STAFF,
    THU_10,
    book,
    clinic,
    count,
    deliver,
    deliver_payload,
    fresh,
    held,
    invoice_of,
    link_of,
    online,
    paid,
    patient,
    patient_cancels,
    prepaid,
    push_links,
    rows,
)

# --- refunds and the cancellation policy ---------------------------------------------------------


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
