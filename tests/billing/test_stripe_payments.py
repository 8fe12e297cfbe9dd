"""A London clinic's patient pays by card from a link in the chat: the link row becomes a
Stripe Checkout Session (tests/fake_stripe.py behind the real SDK), its URL goes to the
chat, Stripe's events record the payment once and release an unpaid hold, refunds go
back through Stripe. Which gateway a clinic uses is decided in one place.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.config import Config
from jobs.runtime import build_runtime
from jobs.sweep import sweep
from models import (
    AppointmentStatus,
    LinkStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ProviderEvent,
    Refund,
    RefundStatus,
)
from services.billing import payment_requests, refunds
from services.reconciliation import razorpay_sync, stripe_sync
from tests.conftest import NOW, payments_env

# The shared fixtures are imported by name so pytest finds them here; tests then take
# them as parameters of the same name, which is what F811 would flag.
# ruff: noqa: F811
from tests.payments_support import (
    STAFF,
    WED_10,
    add_service,
    book,
    count,
    fresh,
    link_of,
    messages,
    patient_cancels,
    push_links,
    rows,
)
from tests.stripe_support import (  # noqa: F401  (fixtures)
    HOLD_OVER,
    RETURN,
    WED_10_LONDON,
    card_held,
    card_service,
    connect_stripe,
    deliver,
    fake_stripe,
    london,
    push,
    stripe_for,
    stripe_server,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")

THU_10_LONDON = WED_10_LONDON + timedelta(days=1)


# --- which gateway --------------------------------------------------------------------------------


def test_a_gbp_clinic_with_both_gateways_asks_through_stripe(session, london, connect_razorpay):
    connect_razorpay(london)

    assert payment_requests.link_provider(london) == "stripe"


def test_an_inr_clinic_with_both_gateways_still_uses_razorpay(
    session,
    make_clinic,
    make_therapist,
    make_patient,
    connect_razorpay,
    connect_stripe,
    stripe_for,
    gateway_for,
    razorpay,
    fake_stripe,
):
    clinic = make_clinic()
    make_therapist(clinic)
    connect_razorpay(clinic)
    connect_stripe(clinic)
    service = add_service(session, clinic, prepay=True)

    appointment = book(session, clinic, make_patient(clinic), service, WED_10)

    assert link_of(session, appointment).provider == "razorpay"
    assert push(session, stripe_for).links_created == 0
    assert push_links(session, gateway_for) == 1
    assert fake_stripe.sessions == {}
    assert len(razorpay.links) == 1


def test_an_inr_clinic_with_only_stripe_keys_uses_stripe(session, make_clinic, connect_stripe):
    clinic = make_clinic()
    connect_stripe(clinic)

    assert payment_requests.link_provider(clinic) == "stripe"


# --- the link -------------------------------------------------------------------------------------


def test_a_london_booking_gets_a_checkout_session_sent_to_the_chat(
    session, london, card_held, fake_stripe
):
    appointment, link = card_held

    [checkout] = fake_stripe.sessions.values()
    assert link.provider == "stripe"
    assert link.status is LinkStatus.CREATED
    assert link.provider_link_id == checkout["id"]
    assert link.short_url == checkout["url"]
    assert checkout["currency"] == "gbp"
    assert checkout["amount_total"] == link.amount_minor
    assert checkout["client_reference_id"] == link.reference_id
    assert checkout["metadata"]["reference_id"] == link.reference_id
    assert checkout["success_url"] == f"{RETURN}?ref={link.reference_id}"
    # The 30-minute hold is shorter than the shortest session Stripe makes: the session
    # lives 31 minutes and the sweep ends it when the hold runs out.
    assert checkout["expires_at"] == int((NOW + timedelta(minutes=31)).timestamp())
    [message] = messages(session, "payment_link_booking")
    assert message.variables["url"] == checkout["url"]
    assert "£65" in message.variables["amount"]
    assert fresh(session, appointment).payment_status is PaymentStatus.PENDING


def test_a_week_long_dues_link_is_cut_to_stripes_day(session, london, make_patient):
    link = payment_requests.open_link(
        session,
        clinic=london,
        contact=make_patient(london).contact,
        amount_minor=4000,
        description="Outstanding dues",
        expire_at=NOW + timedelta(days=7),
        now=NOW,
    )

    assert link is not None and link.provider == "stripe"
    assert link.expire_at == NOW + payment_requests.STRIPE_MAX_LIFETIME


def test_stripe_refusing_the_session_fails_the_link_and_keeps_the_booking(
    session, london, make_patient, card_service, stripe_for, fake_stripe
):
    appointment = book(session, london, make_patient(london), card_service, THU_10_LONDON)
    fake_stripe.secret_key = "sk_test_rotated"  # the clinic's key no longer works
    try:
        assert push(session, stripe_for).links_created == 0
    finally:
        fake_stripe.secret_key = "sk_test_FakeStripeSecretKey0001"

    link = link_of(session, appointment)
    assert link.status is LinkStatus.FAILED
    assert fresh(session, appointment).status is AppointmentStatus.BOOKED
    assert appointment.payment_status is PaymentStatus.UNPAID


def test_stripe_unreachable_leaves_the_link_for_the_next_run(
    session, london, make_patient, card_service, stripe_for, fake_stripe
):
    appointment = book(session, london, make_patient(london), card_service, THU_10_LONDON)
    fake_stripe.fail_next(503)

    assert push(session, stripe_for).links_created == 0
    assert link_of(session, appointment).status is LinkStatus.PENDING
    assert push(session, stripe_for).links_created == 1
    assert len(fake_stripe.sessions) == 1


# --- events ---------------------------------------------------------------------------------------


def test_a_completed_session_records_the_payment_once(session, card_held, fake_stripe):
    appointment, link = card_held
    event = fake_stripe.complete(link.provider_link_id)

    deliver(session, event)
    deliver(session, event)  # Stripe delivers at least once

    [payment] = rows(session, Payment)
    intent = event.payload["data"]["object"]["payment_intent"]
    assert payment.provider_payment_id == intent
    assert payment.amount_minor == link.amount_minor
    assert payment.currency == "GBP"
    assert payment.method is PaymentMethod.PAYMENT_LINK
    assert payment.reference == "card"
    assert count(session, ProviderEvent) == 1
    assert fresh(session, link).status is LinkStatus.PAID
    assert fresh(session, appointment).payment_status is PaymentStatus.PAID


def test_the_same_payment_in_a_second_event_is_not_recorded_twice(session, card_held, fake_stripe):
    _appointment, link = card_held
    fake_stripe.complete(link.provider_link_id)
    again = fake_stripe.complete(link.provider_link_id)  # a new event id, the same payment

    deliver(session, fake_stripe.state.events[0])
    deliver(session, again)

    assert count(session, Payment) == 1
    assert count(session, ProviderEvent) == 2


def test_expired_after_paid_stays_paid(session, card_held, fake_stripe):
    appointment, link = card_held
    late = fake_stripe.expired_event(link.provider_link_id)  # sent first, arrives last
    deliver(session, fake_stripe.complete(link.provider_link_id))

    deliver(session, late, now=NOW + timedelta(minutes=40))

    assert fresh(session, link).status is LinkStatus.PAID
    assert fresh(session, appointment).status is not AppointmentStatus.CANCELLED
    assert appointment.payment_status is PaymentStatus.PAID
    assert count(session, Payment) == 1


def test_an_expired_session_releases_the_hold(session, card_held, fake_stripe):
    appointment, link = card_held

    deliver(session, fake_stripe.expire(link.provider_link_id), now=HOLD_OVER)

    assert fresh(session, link).status is LinkStatus.EXPIRED
    assert fresh(session, appointment).status is AppointmentStatus.CANCELLED


def test_a_hold_that_runs_out_expires_the_session_at_stripe_and_releases_the_slot(
    session, card_held, fake_stripe, stripe_for
):
    appointment, link = card_held
    now = NOW + timedelta(minutes=30, seconds=5)  # the hold is over; Stripe's session is not
    fake_stripe.now = now

    assert stripe_sync.reconcile(session, stripe_for, now=now) == 1

    [checkout] = fake_stripe.sessions.values()
    assert checkout["status"] == "expired"
    assert fresh(session, link).status is LinkStatus.EXPIRED
    assert fresh(session, appointment).status is AppointmentStatus.CANCELLED


def test_reconcile_finds_a_payment_whose_webhook_was_lost(
    session, card_held, fake_stripe, stripe_for
):
    appointment, link = card_held
    fake_stripe.complete(link.provider_link_id)  # the event never arrives
    now = NOW + timedelta(minutes=30, seconds=5)
    fake_stripe.now = now

    stripe_sync.reconcile(session, stripe_for, now=now)

    assert fresh(session, link).status is LinkStatus.PAID
    assert fresh(session, appointment).status is not AppointmentStatus.CANCELLED
    assert count(session, Payment) == 1


def test_razorpays_reconcile_leaves_stripe_links_alone(session, card_held, gateway_for, razorpay):
    _appointment, link = card_held

    assert razorpay_sync.reconcile(session, gateway_for, now=HOLD_OVER, everything=True) == 0
    assert fresh(session, link).status is LinkStatus.CREATED


# --- refunds --------------------------------------------------------------------------------------


@pytest.fixture
def card_paid(session, card_held, fake_stripe):
    appointment, link = card_held
    deliver(session, fake_stripe.complete(link.provider_link_id))
    [payment] = rows(session, Payment)
    patient_cancels(session, appointment)  # outside the window: the money is on account
    return appointment, payment


def test_a_card_refund_goes_back_through_stripe_and_is_final_when_it_succeeds(
    session, card_paid, fake_stripe, stripe_for
):
    _appointment, payment = card_paid
    refund = refunds.refund_payment(
        session,
        clinic_id=payment.clinic_id,
        payment_id=payment.id,
        amount_minor=payment.amount_minor,
        reason="cancelled in time",
        now=NOW + timedelta(hours=1),
        actor=STAFF,
    )

    assert push(session, stripe_for, now=NOW + timedelta(hours=1)).refunds_submitted == 1
    assert push(session, stripe_for, now=NOW + timedelta(hours=1)).refunds_submitted == 0

    [made] = fake_stripe.refunds.values()
    assert made["payment_intent"] == payment.provider_payment_id
    assert made["amount"] == payment.amount_minor
    assert made["metadata"] == {"refund": str(refund.id)}
    refund = fresh(session, refund)
    assert refund.provider_refund_id == made["id"]
    assert refund.status is RefundStatus.PENDING

    deliver(session, fake_stripe.settle_refund(made["id"]), now=NOW + timedelta(hours=2))

    assert fresh(session, refund).status is RefundStatus.PROCESSED
    # a late "pending" word never moves it back
    fake_stripe.refunds[made["id"]]["status"] = "pending"
    deliver(session, fake_stripe._event("refund.updated", fake_stripe.refunds[made["id"]]))
    assert fresh(session, refund).status is RefundStatus.PROCESSED
    assert count(session, Refund) == 1


# --- the jobs' wiring -----------------------------------------------------------------------------


def test_the_sweep_makes_the_session_and_sends_its_url_with_the_clinics_own_key(
    session, db, tmp_path, razorpay, london, card_service, make_patient, fake_stripe
):
    """Through the runtime the worker builds from the environment (STRIPE_API_URL)."""
    rt = build_runtime(
        Config.from_env(payments_env(db, tmp_path, razorpay, STRIPE_API_URL=fake_stripe.url)),
        database=db,
    )
    appointment = book(session, london, make_patient(london), card_service, WED_10_LONDON)
    session.commit()

    with db.session_scope() as jobs_session:
        result = sweep(
            jobs_session,
            now=NOW,
            dispatch=lambda _id: None,
            gateway_for=rt.gateway_for,
            callback_url=rt.payment_callback,
            stripe_for=rt.stripe_for,
            stripe_return=rt.stripe_return,
        )

    assert result.payments.links_created == 1
    [checkout] = fake_stripe.sessions.values()
    assert checkout["success_url"].startswith(rt.stripe_return)
    link = link_of(session, appointment)
    assert link.status is LinkStatus.CREATED and link.short_url == checkout["url"]
    assert [m.variables["url"] for m in messages(session, "payment_link_booking")] == [
        checkout["url"]
    ]
