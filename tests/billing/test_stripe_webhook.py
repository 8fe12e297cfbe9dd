"""Stripe's webhook through the Flask test client: ``POST /webhooks/stripe/<clinic slug>``,
signed with that clinic's signing secret over the raw body (tests/fake_stripe.py signs
exactly as Stripe does). Nothing is stored before the signature is checked; an event is
applied once; one clinic can never apply another clinic's event.

The webhook answers first and applies the event when the response is closed
(``call_on_close``), so tests read the outcome after ``with client.post(...)``.
"""

from __future__ import annotations

import time

import pytest

from core.db import get_db
from models import LinkStatus, Payment, PaymentStatus, ProviderEvent
from roshni.app import create_app
from tests.fake_stripe import WEBHOOK_SECRET, signature_header

# The shared fixtures are imported by name so pytest finds them here; tests then take
# them as parameters of the same name, which is what F811 would flag.
# ruff: noqa: F811
from tests.payments_support import add_service, book, count, fresh, link_of, rows
from tests.stripe_support import (  # noqa: F401  (fixtures)
    WED_10_LONDON,
    card_held,
    card_service,
    connect_stripe,
    fake_stripe,
    london,
    push,
    stripe_for,
    stripe_server,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")

OTHER_SECRET = "whsec_AnotherClinicsSigningSecret01"


def url(clinic) -> str:
    return f"/webhooks/stripe/{clinic.slug}"


def post(client, clinic, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    with client.post(url(clinic), data=body, headers=headers) as response:
        pass  # closed: the event is applied
    return response


def post_event(client, clinic, event, *, secret: str = WEBHOOK_SECRET):
    return post(client, clinic, event.body, signature_header(event.body, secret))


@pytest.fixture
def app(db, london, payments_config):
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def other_clinic(session, make_clinic, make_therapist, connect_stripe):
    clinic = make_clinic(
        name="Little Voices Leeds",
        slug="little-voices",
        timezone="Europe/London",
        currency="GBP",
        region="GB",
    )
    make_therapist(clinic)
    connect_stripe(clinic, webhook_secret=OTHER_SECRET)
    return clinic


def test_a_completed_session_is_recorded_once_however_often_stripe_sends_it(
    session, client, london, card_held, fake_stripe
):
    appointment, link = card_held
    event = fake_stripe.complete(link.provider_link_id)

    first = post_event(client, london, event)
    again = post_event(client, london, event)

    assert (first.status_code, again.status_code) == (200, 200)
    assert count(session, ProviderEvent) == 1
    assert count(session, Payment) == 1
    assert fresh(session, link).status is LinkStatus.PAID
    assert fresh(session, appointment).payment_status is PaymentStatus.PAID


@pytest.mark.parametrize(
    "signature",
    [
        None,  # no header
        "",
        "t=1,v1=" + "0" * 64,
        "v1=deadbeef",
        "not a signature",
    ],
)
def test_a_missing_or_wrong_signature_is_400_and_nothing_is_stored(
    session, client, london, card_held, fake_stripe, signature
):
    _appointment, link = card_held
    event = fake_stripe.complete(link.provider_link_id)

    response = post(client, london, event.body, signature)

    assert response.status_code == 400
    assert count(session, ProviderEvent) == 0
    assert count(session, Payment) == 0


def test_a_signature_older_than_five_minutes_is_refused(
    session, client, london, card_held, fake_stripe
):
    _appointment, link = card_held
    event = fake_stripe.complete(link.provider_link_id)
    stale = signature_header(event.body, WEBHOOK_SECRET, at=int(time.time()) - 301)

    response = post(client, london, event.body, stale)

    assert response.status_code == 400
    assert count(session, ProviderEvent) == 0


def test_a_body_changed_after_signing_is_refused(session, client, london, card_held, fake_stripe):
    _appointment, link = card_held
    event = fake_stripe.complete(link.provider_link_id)
    signature = signature_header(event.body, WEBHOOK_SECRET)

    response = post(client, london, event.body.replace(b'"paid"', b'"unpaid"'), signature)

    assert response.status_code == 400
    assert count(session, ProviderEvent) == 0


def test_an_event_signed_with_another_clinics_secret_is_400(
    session, client, london, other_clinic, card_held, fake_stripe
):
    _appointment, link = card_held

    response = post_event(
        client, london, fake_stripe.complete(link.provider_link_id), secret=OTHER_SECRET
    )

    assert response.status_code == 400
    assert count(session, ProviderEvent) == 0


def test_a_clinic_cannot_apply_another_clinics_event(
    session, client, london, other_clinic, card_held, fake_stripe
):
    """Leeds signs an event about London's session with its own secret, on its own URL."""
    appointment, link = card_held
    event = fake_stripe.complete(link.provider_link_id)

    response = post(client, other_clinic, event.body, signature_header(event.body, OTHER_SECRET))

    assert response.status_code == 403
    assert count(session, ProviderEvent) == 0
    assert fresh(session, link).status is LinkStatus.CREATED
    assert fresh(session, appointment).payment_status is PaymentStatus.PENDING


def test_each_clinic_applies_its_own_events(
    session, client, london, other_clinic, card_service, make_patient, stripe_for, fake_stripe
):
    leeds_service = add_service(session, other_clinic, price=5000, prepay=True)
    ours = book(session, london, make_patient(london), card_service, WED_10_LONDON)
    theirs = book(session, other_clinic, make_patient(other_clinic), leeds_service, WED_10_LONDON)
    assert push(session, stripe_for).links_created == 2

    leeds_event = fake_stripe.complete(link_of(session, theirs).provider_link_id)
    response = post_event(client, other_clinic, leeds_event, secret=OTHER_SECRET)

    assert response.status_code == 200
    [event_row] = rows(session, ProviderEvent)
    assert event_row.clinic_id == other_clinic.id
    assert fresh(session, theirs).payment_status is PaymentStatus.PAID
    assert fresh(session, ours).payment_status is PaymentStatus.PENDING


def test_an_unknown_clinic_is_400(session, client, london, card_held, fake_stripe):
    _appointment, link = card_held
    event = fake_stripe.complete(link.provider_link_id)
    body = event.body

    with client.post(
        "/webhooks/stripe/no-such-clinic",
        data=body,
        headers={"Stripe-Signature": signature_header(body, WEBHOOK_SECRET)},
    ) as response:
        pass

    assert response.status_code == 400
    assert count(session, ProviderEvent) == 0


def test_an_oversized_event_is_413(session, client, london):
    body = b"{" + b" " * (300 * 1024) + b"}"

    response = post(client, london, body, signature_header(body, WEBHOOK_SECRET))

    assert response.status_code == 413
    assert count(session, ProviderEvent) == 0


def test_a_signed_event_about_nothing_we_know_is_kept_and_ignored(session, client, london):
    body = (
        b'{"id": "evt_unknown_1", "object": "event", "type": "checkout.session.completed",'
        b' "data": {"object": {"id": "cs_test_unknown", "object": "checkout.session"}}}'
    )

    response = post(client, london, body, signature_header(body, WEBHOOK_SECRET))

    assert response.status_code == 200
    [row] = rows(session, ProviderEvent)
    assert row.provider == "stripe" and row.processed_at is not None
    assert count(session, Payment) == 0


def test_the_return_page_thanks_without_marking_anything_paid(session, client, london, card_held):
    _appointment, link = card_held

    response = client.get(f"/payments/stripe/return?ref={link.reference_id}")

    assert response.status_code == 200
    assert b"Thank you" in response.data
    assert fresh(session, link).status is LinkStatus.CREATED
