"""Razorpay's webhook and redirect, and the pages a patient opens from the chat, through
the Flask test client. Events are the fake's (tests/fake_razorpay.py): raw bytes, signed
with the clinic's webhook secret, exactly as Razorpay would POST them.

The webhook answers first and applies the event when the response is closed
(``call_on_close``), so tests read the outcome after ``with client.post(...)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.db import get_db
from models import (
    AppointmentStatus,
    LinkStatus,
    Payment,
    PaymentState,
    PaymentStatus,
    ProviderEvent,
)
from roshni.app import create_app
from services.billing import payments
from tests.conftest import NOW
from tests.fake_razorpay import WEBHOOK_SECRET
from tests.payments_support import (
    STAFF,
    THU_10,
    WED_10,
    add_service,
    book,
    count,
    fresh,
    link_of,
    push_links,
    rows,
)

WEBHOOK = "/webhooks/razorpay"
RETURN = "/payments/razorpay/return"
OTHER_SECRET = "another-clinics-webhook-secret"


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_event(client, event, *, secret: str | None = None, **headers: str):
    """POST the event as Razorpay would; the response is closed, so the event is applied."""
    with client.post(WEBHOOK, data=event.body, headers=event.headers(secret) | headers) as response:
        pass
    return response


def post_raw(client, body: bytes, *, signature: str | None = None, event_id: str = "evt_x1"):
    headers = {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": sign(body) if signature is None else signature,
        "x-razorpay-event-id": event_id,
    }
    with client.post(WEBHOOK, data=body, headers=headers) as response:
        pass
    return response


def events_stored(session) -> int:
    return count(session, ProviderEvent)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def clinic(make_clinic, make_therapist, connect_razorpay):
    clinic = make_clinic(name="Roshni Clinic")
    make_therapist(clinic)
    connect_razorpay(clinic)
    return clinic


@pytest.fixture
def app(db, clinic, payments_config):
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def held(session, clinic, make_patient, gateway_for, razorpay):
    """A prepaid chat booking for Wed 10:00 whose link exists at Razorpay: (booking, link)."""
    service = add_service(session, clinic, prepay=True)
    appointment = book(session, clinic, make_patient(clinic), service, WED_10)
    assert push_links(session, gateway_for) == 1
    return appointment, link_of(session, appointment)


# --- the webhook refuses what it cannot trust ----------------------------------------------------


@pytest.mark.parametrize("signature", ["", "0" * 64, "not hex at all"])
def test_a_bad_signature_is_400_and_nothing_is_stored(session, client, held, razorpay, signature):
    _appointment, link = held
    event = razorpay.pay(link.provider_link_id)

    response = post_raw(client, event.body, signature=signature, event_id=event.id)

    assert response.status_code == 400
    assert events_stored(session) == 0
    assert count(session, Payment) == 0


def test_an_event_signed_with_a_secret_no_clinic_has_is_400(session, client, held, razorpay):
    _appointment, link = held

    response = post_event(client, razorpay.pay(link.provider_link_id), secret="made-up-secret")

    assert response.status_code == 400
    assert events_stored(session) == 0


def test_an_event_without_an_id_is_400(session, client, held, razorpay):
    _appointment, link = held
    event = razorpay.pay(link.provider_link_id)

    response = post_raw(client, event.body, event_id="")

    assert response.status_code == 400
    assert events_stored(session) == 0


def test_a_signed_body_that_is_not_json_is_400(session, client, held):
    response = post_raw(client, b"event=payment_link.paid&id=1")

    assert response.status_code == 400
    assert events_stored(session) == 0


def test_a_signed_json_array_is_400(session, client, held):
    assert post_raw(client, b"[]").status_code == 400
    assert events_stored(session) == 0


def test_a_body_over_256_kb_is_413(session, client, held):
    body = json.dumps({"event": "payment_link.paid", "pad": "x" * 256 * 1024}).encode()

    response = post_raw(client, body)

    assert response.status_code == 413
    assert events_stored(session) == 0


def test_a_chunked_body_over_256_kb_is_413(session, client, held):
    body = json.dumps({"event": "payment_link.paid", "pad": "x" * 300 * 1024}).encode()
    headers = {
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
        "X-Razorpay-Signature": sign(body),
        "x-razorpay-event-id": "evt_chunked",
    }

    with client.post(
        WEBHOOK,
        input_stream=BytesIO(body),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets for chunked
    ) as response:
        pass

    assert response.status_code == 413
    assert events_stored(session) == 0


def test_an_event_about_another_clinics_link_is_403(
    session, client, held, razorpay, make_clinic, connect_razorpay
):
    _appointment, link = held  # the first clinic's booking and link
    other = make_clinic(name="Sunrise Clinic")
    connect_razorpay(other, webhook_secret=OTHER_SECRET)

    response = post_event(client, razorpay.pay(link.provider_link_id), secret=OTHER_SECRET)

    assert response.status_code == 403
    assert events_stored(session) == 0
    assert count(session, Payment) == 0


# --- a good event --------------------------------------------------------------------------------


def test_a_paid_event_is_stored_then_confirms_the_booking(session, client, held, razorpay):
    appointment, link = held
    event = razorpay.pay(link.provider_link_id)

    response = post_event(client, event)

    assert response.status_code == 200
    [stored] = rows(session, ProviderEvent)
    assert (stored.event_id, stored.event_type, stored.clinic_id) == (
        event.id,
        "payment_link.paid",
        appointment.clinic_id,
    )
    assert stored.processed_at is not None
    appointment = fresh(session, appointment)
    assert appointment.status is AppointmentStatus.CONFIRMED
    assert appointment.payment_status is PaymentStatus.PAID


def test_the_same_event_delivered_again_changes_nothing(session, client, held, razorpay):
    appointment, link = held
    event = razorpay.pay(link.provider_link_id)
    assert post_event(client, event).status_code == 200
    [payment] = rows(session, Payment)

    again = post_event(client, event)

    assert again.status_code == 200
    assert [p.id for p in rows(session, Payment)] == [payment.id]
    assert events_stored(session) == 1
    assert fresh(session, appointment).status is AppointmentStatus.CONFIRMED


def test_an_event_for_a_link_we_do_not_know_is_accepted_and_ignored(
    session, client, held, razorpay, make_clinic
):
    _appointment, link = held
    event = razorpay.pay(link.provider_link_id)
    payload = json.loads(event.body)
    payload["payload"]["payment_link"]["entity"] |= {"id": "plink_Unknown0000001"}
    payload["payload"]["payment_link"]["entity"]["reference_id"] = "someone-elses"
    body = json.dumps(payload, separators=(",", ":")).encode()

    response = post_raw(client, body, event_id="evt_unknown_link")

    assert response.status_code == 200  # so Razorpay stops retrying
    assert events_stored(session) == 1
    assert count(session, Payment) == 0


def test_a_late_expired_event_does_not_undo_the_payment(session, client, held, razorpay):
    appointment, link = held
    post_event(client, razorpay.pay(link.provider_link_id))
    paid = json.loads(razorpay.events[-1].body)
    paid["event"] = "payment_link.expired"
    paid["payload"]["payment_link"]["entity"]["status"] = "expired"
    body = json.dumps(paid, separators=(",", ":")).encode()

    assert post_raw(client, body, event_id="evt_late_expired").status_code == 200

    assert link_of(session, appointment).status is LinkStatus.PAID
    assert fresh(session, appointment).status is AppointmentStatus.CONFIRMED


def test_an_expired_event_releases_the_unpaid_booking(session, client, held, razorpay):
    appointment, link = held

    assert post_event(client, razorpay.expire(link.provider_link_id)).status_code == 200

    assert fresh(session, appointment).status is AppointmentStatus.CANCELLED


# --- the browser coming back from Razorpay -------------------------------------------------------


def test_the_return_page_thanks_the_patient_but_marks_nothing_paid(session, client, held, razorpay):
    appointment, link = held
    razorpay.pay(link.provider_link_id)  # paid; the webhook has not arrived yet

    response = client.get(RETURN, query_string=razorpay.callback_params(link.provider_link_id))

    assert response.status_code == 200
    assert "Thank you! Payment received" in response.get_data(as_text=True)
    assert link_of(session, appointment).status is LinkStatus.CREATED
    appointment = fresh(session, appointment)
    assert (appointment.status, appointment.payment_status) == (
        AppointmentStatus.BOOKED,
        PaymentStatus.PENDING,
    )
    assert count(session, Payment) == 0


@pytest.mark.parametrize(
    "tamper",
    [
        {"razorpay_signature": "0" * 64},
        {"razorpay_payment_link_status": "paid", "razorpay_payment_id": "pay_SomeoneElse0001"},
        {"razorpay_signature": ""},
    ],
)
def test_a_tampered_return_is_400(session, client, held, razorpay, tamper):
    appointment, link = held
    razorpay.pay(link.provider_link_id)
    params = razorpay.callback_params(link.provider_link_id) | tamper

    response = client.get(RETURN, query_string=params)

    assert response.status_code == 400
    assert "could not confirm" in response.get_data(as_text=True)
    assert fresh(session, appointment).status is AppointmentStatus.BOOKED


def test_a_return_for_an_unknown_link_is_400(client, held, razorpay):
    _appointment, link = held
    razorpay.pay(link.provider_link_id)
    params = razorpay.callback_params(link.provider_link_id)
    params["razorpay_payment_link_id"] = "plink_NotOurs00000001"

    assert client.get(RETURN, query_string=params).status_code == 400


# --- receipts and UPI pages ----------------------------------------------------------------------


@pytest.fixture
def cash(session, clinic, make_patient):
    patient = make_patient(clinic)
    return payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        amount_minor=80000,
        method=payments.PaymentMethod.CASH,
        now=NOW,
        actor=STAFF,
    )


@pytest.fixture
def upi_payment(session, app, make_clinic, make_therapist, make_patient):
    """A UPI-only clinic's prepaid chat booking: a payment awaiting confirmation."""
    upi_only = make_clinic(name="Sunrise Clinic")
    make_therapist(upi_only)
    upi_only.upi_vpa = "clinic@okaxis"
    session.commit()
    service = add_service(session, upi_only, prepay=True)
    book(session, upi_only, make_patient(upi_only), service, THU_10)
    [payment] = rows(session, Payment)
    assert payment.status is PaymentState.AWAITING_CONFIRMATION
    return payment


def test_a_receipt_is_a_pdf(client, cash):
    response = client.get(f"/pay/receipt/{cash.public_token}.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = PdfReader(BytesIO(response.data)).pages[0].extract_text()
    assert "RCPT-2026-27-000001" in text


@pytest.mark.parametrize("token", ["A" * 22, "short", "has.dots.in.it.000000"])
def test_an_unknown_receipt_is_404(client, cash, token):
    assert client.get(f"/pay/receipt/{token}.pdf").status_code == 404


def test_an_unconfirmed_payment_has_no_receipt_yet(client, upi_payment):
    assert client.get(f"/pay/receipt/{upi_payment.public_token}.pdf").status_code == 404


def test_a_upi_payment_has_a_qr_code(client, upi_payment):
    response = client.get(f"/pay/upi/{upi_payment.public_token}.png")

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_upi_payment_page_links_to_the_upi_app(client, upi_payment):
    response = client.get(f"/pay/upi/{upi_payment.public_token}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "upi://pay?" in page
    assert "clinic@okaxis" in page


def test_a_cash_payment_has_no_upi_pages(client, cash):
    assert client.get(f"/pay/upi/{cash.public_token}.png").status_code == 404
    assert client.get(f"/pay/upi/{cash.public_token}").status_code == 404


def test_pages_never_look_payments_up_by_id(session, client, cash):
    payment = session.scalar(select(Payment))
    assert client.get(f"/pay/receipt/{payment.id}.pdf").status_code == 404
