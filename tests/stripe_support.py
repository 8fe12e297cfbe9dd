"""Shared fixtures for the Stripe tests (tests/billing/test_stripe_payments.py and
tests/billing/test_stripe_webhook.py). Not collected itself.

Stripe is tests/fake_stripe.py behind the real SDK, its clock at NOW. A London clinic
(GBP) takes card payments through it; events are the fake's, signed as Stripe signs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from integrations.stripe_client import StripeGateway
from services.clinics import settings as clinics
from services.reconciliation import stripe_sync
from tests.conftest import NOW, SYSTEM
from tests.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, FakeStripeState
from tests.payments_support import add_service, book, link_of

LONDON = ZoneInfo("Europe/London")
WED_10_LONDON = datetime(2026, 11, 25, 10, tzinfo=LONDON)
RETURN = "https://roshni.example.com/payments/stripe/return"


def push(session, stripe_for, *, now=NOW):
    return stripe_sync.push(session, stripe_for, now=now, success_url=RETURN)


def deliver(session, event, *, now=NOW) -> int:
    """Stripe's webhook as the endpoint leaves it: stored once by id, then applied."""
    owners = stripe_sync.event_clinic_ids(event.payload, session)
    stripe_sync.store_event(session, payload=event.payload, now=now, owners=owners)
    return stripe_sync.process_events(session, now=now)


@pytest.fixture(scope="session")
def stripe_server():
    with FakeStripe() as fake:  # one server for the run; each test gets a fresh state
        yield fake


@pytest.fixture
def fake_stripe(stripe_server):
    stripe_server.state = FakeStripeState(now=NOW)
    return stripe_server


@pytest.fixture
def connect_stripe(session, payments_config):
    """``connect_stripe(clinic)``: the clinic takes card payments through the fake."""

    def connect(clinic, *, webhook_secret: str = WEBHOOK_SECRET):
        return clinics.set_stripe_account(
            session,
            clinic_id=clinic.id,
            change=clinics.StripeChange(SECRET_KEY, webhook_secret),
            config=payments_config,
            actor=SYSTEM,
        )

    return connect


@pytest.fixture
def stripe_for(payments_config, fake_stripe):
    """What the jobs are given: a clinic's Stripe gateway to the fake, or None."""

    def gateway(clinic):
        account = clinics.stripe_account(clinic, payments_config)
        return None if account is None else StripeGateway(account, api_url=fake_stripe.url)

    return gateway


@pytest.fixture
def london(make_clinic, make_therapist, connect_stripe):
    clinic = make_clinic(
        name="Bright Steps London",
        slug="bright-steps",
        timezone="Europe/London",
        currency="GBP",
        region="GB",
    )
    make_therapist(clinic)
    connect_stripe(clinic)
    return clinic


@pytest.fixture
def card_service(session, london):
    return add_service(session, london, price=6500, prepay=True)


@pytest.fixture
def card_held(session, london, make_patient, card_service, stripe_for):
    """A prepaid chat booking, Wed 10:00 in London, whose Checkout Session exists."""
    appointment = book(session, london, make_patient(london), card_service, WED_10_LONDON)
    assert push(session, stripe_for).links_created == 1
    return appointment, link_of(session, appointment)


HOLD_OVER = NOW + timedelta(minutes=31)
