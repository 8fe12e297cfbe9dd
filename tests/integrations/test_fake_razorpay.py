"""FakeRazorpay speaks Razorpay's wire format: proved through the real ``razorpay`` SDK.

No database here: these tests are about the fake itself, so the app's Razorpay tests can
trust what it answers, the webhooks it signs and the redirect query it builds.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import razorpay
from razorpay.errors import BadRequestError, ServerError, SignatureVerificationError

from tests.fake_razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, FakeRazorpay, RazorpayError

NOW = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeRazorpay]:
    with FakeRazorpay() as server:
        server.now = NOW
        yield server


@pytest.fixture
def client(fake: FakeRazorpay) -> Iterator[razorpay.Client]:
    sdk = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=fake.url)
    yield sdk
    sdk.session.close()


def link_body(**overrides: Any) -> dict[str, Any]:
    return {
        "amount": 150000,
        "currency": "INR",
        "reference_id": "booking-42",
        "description": "Physiotherapy session",
        "expire_by": int((NOW + timedelta(hours=2)).timestamp()),
        "customer": {"name": "Asha", "contact": "+919812345678"},
        "notify": {"sms": False, "email": False},
        "callback_url": "https://clinic.example/pay/done?lang=en",
        "callback_method": "get",
        "notes": {"booking_id": "42"},
        **overrides,
    }


def test_create_then_fetch_answers_the_documented_entity(fake, client):
    link = client.payment_link.create(link_body())

    assert link["id"].startswith("plink_") and len(link["id"]) == 20
    assert link["status"] == "created" and link["amount_paid"] == 0
    assert link["payments"] is None and link["cancelled_at"] == link["expired_at"] == 0
    assert link["created_at"] == int(NOW.timestamp())
    assert link["short_url"] == f"{fake.url}/i/{link['id']}"
    assert link["reference_id"] == "booking-42" and link["notes"] == {"booking_id": "42"}
    assert client.payment_link.fetch(link["id"]) == link
    assert client.payment_link.all({"reference_id": "booking-42"})["payment_links"] == [link]
    assert fake.requests == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": 99}, "atleast INR 1.00"),
        ({"reference_id": "x" * 41}, "40 characters"),
        ({"expire_by": int((NOW + timedelta(minutes=15)).timestamp())}, "15 minutes"),
        ({"expire_by": int((NOW + timedelta(days=200)).timestamp())}, "6 months"),
        ({"callback_method": "post"}, "callback_method"),
        ({"amount_due": 5}, "amount_due is/are not required"),
    ],
)
def test_create_validates_as_razorpay_does(fake, client, overrides, message):
    with pytest.raises(BadRequestError, match=message):
        client.payment_link.create(link_body(**overrides))
    assert fake.links == {}


def test_duplicate_reference_id_and_unknown_ids_are_bad_requests(client):
    client.payment_link.create(link_body())
    with pytest.raises(BadRequestError, match="already exists"):
        client.payment_link.create(link_body())
    with pytest.raises(BadRequestError, match="The id provided does not exist"):
        client.payment_link.fetch("plink_AAAAAAAAAAAAAA")


def test_wrong_credentials_are_refused(fake):
    sdk = razorpay.Client(auth=(KEY_ID, "not-the-secret"), base_url=fake.url)
    with pytest.raises(BadRequestError, match="Authentication failed"):
        sdk.payment_link.create(link_body())
    sdk.session.close()
    assert fake.links == {}


def test_pay_returns_a_signed_documented_webhook(fake, client):
    link = client.payment_link.create(link_body())

    event = fake.pay(link["id"])

    sdk = razorpay.Client(auth=(KEY_ID, KEY_SECRET))
    signature = event.headers()["X-Razorpay-Signature"]
    assert sdk.utility.verify_webhook_signature(event.body.decode(), signature, WEBHOOK_SECRET)
    with pytest.raises(SignatureVerificationError):
        sdk.utility.verify_webhook_signature(event.body.decode(), signature, "other-secret")
    assert event.headers()["x-razorpay-event-id"] == event.id and event.id.startswith("evt_")
    payload = json.loads(event.body)
    assert payload == event.payload and payload["entity"] == "event"
    assert payload["event"] == "payment_link.paid"
    assert payload["contains"] == ["payment_link", "order", "payment"]
    entities = {k: v["entity"] for k, v in payload["payload"].items()}
    assert entities["payment_link"]["status"] == "paid"
    assert entities["payment_link"]["amount_paid"] == 150000
    assert entities["order"]["status"] == "paid" and entities["order"]["amount_due"] == 0
    payment = entities["payment"]
    assert payment["status"] == "captured" and payment["captured"] is True
    assert payment["order_id"] == entities["order"]["id"] == entities["payment_link"]["order_id"]
    assert client.payment.fetch(payment["id"]) == payment
    fetched = client.payment_link.fetch(link["id"])
    assert fetched["status"] == "paid"
    assert [(p["payment_id"], p["status"]) for p in fetched["payments"]] == [
        (payment["id"], "captured")
    ]
    sdk.session.close()


def test_partial_payments_then_paid(fake, client):
    link = client.payment_link.create(
        link_body(accept_partial=True, first_min_partial_amount=50000)
    )
    with pytest.raises(RazorpayError, match="first_min_partial_amount"):
        fake.pay(link["id"], amount=10000)  # below first_min_partial_amount

    assert fake.pay(link["id"], amount=50000).name == "payment_link.partially_paid"
    assert client.payment_link.fetch(link["id"])["status"] == "partially_paid"
    last = fake.pay(link["id"])  # the rest
    assert last.name == "payment_link.paid"
    assert last.payload["payload"]["payment"]["entity"]["amount"] == 100000
    assert len(client.payment_link.fetch(link["id"])["payments"]) == 2


def test_refunds_stay_within_the_captured_amount(fake, client):
    link = client.payment_link.create(link_body())
    payment_id = fake.pay(link["id"]).payload["payload"]["payment"]["entity"]["id"]

    with pytest.raises(BadRequestError, match="greater than the refund payment amount"):
        client.payment.refund(payment_id, {"amount": 150001})
    refund = client.payment.refund(payment_id, {"amount": 100000, "notes": {"why": "late"}})
    assert refund["id"].startswith("rfnd_") and refund["status"] == "pending"
    assert refund["entity"] == "refund" and refund["payment_id"] == payment_id
    with pytest.raises(BadRequestError, match="greater than the refund payment amount"):
        client.payment.refund(payment_id, {"amount": 60000})
    assert client.payment.fetch(payment_id)["amount_refunded"] == 100000
    assert client.payment.fetch(payment_id)["refund_status"] == "partial"

    event = fake.process_refund(refund["id"])
    assert event.name == "refund.processed" and event.payload["contains"] == ["refund", "payment"]
    assert client.refund.fetch(refund["id"])["status"] == "processed"
    assert client.payment.fetch_multiple_refund(payment_id)["items"] == [fake.refunds[refund["id"]]]


def test_links_expire_by_the_fake_clock(fake, client):
    link = client.payment_link.create(link_body())  # expires at NOW + 2h

    fake.now = NOW + timedelta(hours=2, seconds=1)
    fetched = client.payment_link.fetch(link["id"])

    assert fetched["status"] == "expired" and fetched["expired_at"] == link["expire_by"]
    with pytest.raises(RazorpayError, match="expired"):  # helpers raise the fake's own error
        fake.pay(link["id"])
    with pytest.raises(BadRequestError, match="expired"):
        client.payment_link.cancel(link["id"])
    assert fake.expire(link["id"]).name == "payment_link.expired"


def test_cancel_and_cancelled_event(fake, client):
    link = client.payment_link.create(link_body())

    assert client.payment_link.cancel(link["id"])["status"] == "cancelled"
    with pytest.raises(BadRequestError, match="already cancelled"):
        client.payment_link.cancel(link["id"])
    event = fake.cancel_event(link["id"])
    assert event.name == "payment_link.cancelled" and event.payload["contains"] == ["payment_link"]
    assert event.payload["payload"]["payment_link"]["entity"]["cancelled_at"] == int(
        NOW.timestamp()
    )


def test_callback_params_verify_with_the_sdk(fake, client):
    link = client.payment_link.create(link_body())
    fake.pay(link["id"])
    params = fake.callback_params(link["id"])

    # The SDK wants the link fields without their razorpay_ prefix (and the secret from auth).
    check = {
        "razorpay_payment_id": params["razorpay_payment_id"],
        "payment_link_id": params["razorpay_payment_link_id"],
        "payment_link_reference_id": params["razorpay_payment_link_reference_id"],
        "payment_link_status": params["razorpay_payment_link_status"],
        "razorpay_signature": params["razorpay_signature"],
    }
    assert client.utility.verify_payment_link_signature(check)
    with pytest.raises(SignatureVerificationError):
        client.utility.verify_payment_link_signature({**check, "payment_link_status": "created"})


def test_scripted_failures(fake, client):
    link = client.payment_link.create(link_body())
    fake.fail_next()
    with pytest.raises(ServerError):
        client.payment_link.fetch(link["id"])
    fake.fail_next(status=502, raw="<html>Bad Gateway</html>")
    with pytest.raises(ValueError):  # the SDK lets requests' JSONDecodeError through
        client.payment_link.fetch(link["id"])
    assert client.payment_link.fetch(link["id"])["id"] == link["id"]


def test_demo_page_pays_posts_the_webhook_and_redirects():
    received: list[tuple[bytes, dict[str, str]]] = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_POST(self) -> None:
            received.append((self.rfile.read(int(self.headers["Content-Length"])), self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    app = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    webhook_url = f"http://127.0.0.1:{app.server_address[1]}/webhooks/razorpay"
    try:
        with FakeRazorpay(webhook_url=webhook_url) as fake:
            sdk = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=fake.url)
            link = sdk.payment_link.create(link_body(expire_by=None))
            sdk.session.close()
            host = urlsplit(fake.url).netloc
            page = http.client.HTTPConnection(host, timeout=5)
            page.request("GET", f"/i/{link['id']}")
            assert b"Pay 1500.00" in page.getresponse().read()
            page.request("POST", f"/i/{link['id']}/pay")
            answer = page.getresponse()
            answer.read()
            page.close()
    finally:
        app.shutdown()
        app.server_close()

    assert answer.status == 303
    target = urlsplit(answer.headers["Location"])
    assert target.netloc == "clinic.example" and target.path == "/pay/done"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["lang"] == "en" and query["razorpay_payment_link_status"] == "paid"
    [(body, headers)] = received
    assert headers["X-Razorpay-Signature"] == fake.events[0].signature
    assert body == fake.events[0].body
