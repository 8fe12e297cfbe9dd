"""What operators scrape at /metrics: behind a bearer token, counters that move with the
webhooks, gauges read from the database. These read the real clock (like /readyz)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, select
from twilio.request_validator import RequestValidator

from core.clock import utcnow
from core.config import Config
from core.db import get_db
from models import Channel, Clinic, MessageTemplate, OutboundMessage, OutboundStatus
from roshni.app import create_app
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.messaging.delivery import deliver
from tests.core.test_health import beat, queue_due
from tests.fake_razorpay import WEBHOOK_SECRET
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.messaging.test_messaging import TUE_10
from tests.outbox import book, ist, one, outbox, reminders

METRICS_TOKEN = "metrics-token-0123456789abcdef"
BASE = "https://roshni.example.com"
AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def config_for(db, tmp_path, twilio, razorpay, **extra: str) -> Config:
    return Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,  # as payments_config: it encrypted the clinic's secrets
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "PUBLIC_BASE_URL": BASE,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_URL": twilio.url,
            "RAZORPAY_API_URL": razorpay.url,
            **extra,
        }
    )


@pytest.fixture
def clinic(session, connect_razorpay):
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    session.commit()
    clinic = session.scalar(select(Clinic).where(Clinic.slug == "roshni"))
    connect_razorpay(clinic)
    return clinic


@pytest.fixture
def config(db, tmp_path, twilio, razorpay, clinic):
    return config_for(db, tmp_path, twilio, razorpay, METRICS_TOKEN=METRICS_TOKEN)


@pytest.fixture
def app(config):
    app = create_app(config)
    yield app
    get_db(app).dispose()


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def whatsapp(client, body: str) -> int:
    path = "/webhooks/twilio/whatsapp"
    form = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": ACCOUNT_SID,
        "From": "whatsapp:+919876543210",
        "To": "whatsapp:+14155238886",
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{BASE}{path}", form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code


def test_without_a_metrics_token_there_is_no_metrics_page(db, tmp_path, twilio, razorpay):
    app = create_app(config_for(db, tmp_path, twilio, razorpay))
    try:
        assert app.test_client().get("/metrics", headers=AUTH).status_code == 404
    finally:
        get_db(app).dispose()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": METRICS_TOKEN}],
)
def test_metrics_need_the_bearer_token(app, headers):
    response = app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"roshni_" not in response.data


def test_webhook_and_turn_counters_move_after_a_webhook(app):
    client = app.test_client()
    before = scrape(client)

    assert whatsapp(client, "hi") == 200
    assert whatsapp(client, "1") == 200
    bad = client.post("/webhooks/twilio/whatsapp", data={"Body": "x"})
    assert bad.status_code == 403

    after = scrape(client)
    ok = {"provider": "twilio_whatsapp", "status": "200"}
    refused = {"provider": "twilio_whatsapp", "status": "403"}
    assert value(after, "roshni_webhook_requests_total", **ok) == (
        value(before, "roshni_webhook_requests_total", **ok) + 2
    )
    assert value(after, "roshni_webhook_requests_total", **refused) == (
        value(before, "roshni_webhook_requests_total", **refused) + 1
    )
    latency = {"provider": "twilio_whatsapp"}
    assert value(after, "roshni_webhook_duration_seconds_count", **latency) == (
        value(before, "roshni_webhook_duration_seconds_count", **latency) + 3
    )
    turns = {"channel": "whatsapp", "outcome": "answered"}
    assert value(after, "roshni_conversation_turns_total", **turns) == (
        value(before, "roshni_conversation_turns_total", **turns) + 2
    )


def test_payment_events_are_counted_by_type(app):
    client = app.test_client()
    before = scrape(client)
    body = json.dumps(
        {
            "entity": "event",
            "event": "payment_link.paid",
            "payload": {"payment_link": {"entity": {"id": "plink_NotOursAtAll01"}}},
            "created_at": int(utcnow().timestamp()),
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "x-razorpay-event-id": "evt_metrics_0001",
    }
    for _ in range(2):  # the second delivery is a duplicate
        with client.post("/webhooks/razorpay", data=body, headers=headers) as response:
            assert response.status_code == 200

    after = scrape(client)
    for outcome in ("stored", "duplicate"):
        labels = {"provider": "razorpay", "type": "payment_link.paid", "outcome": outcome}
        assert value(after, "roshni_payment_events_total", **labels) == (
            value(before, "roshni_payment_events_total", **labels) + 1
        )
    razorpay_ok = {"provider": "razorpay", "status": "200"}
    assert value(after, "roshni_webhook_requests_total", **razorpay_ok) == (
        value(before, "roshni_webhook_requests_total", **razorpay_ok) + 2
    )


def test_gauges_are_read_from_the_database_at_each_scrape(
    app, session, clinic, make_patient, sender, frozen_clock
):
    client = app.test_client()
    empty = scrape(client)
    assert value(empty, "roshni_database_up") == 1
    assert value(empty, "roshni_job_runners_alive") == 0
    assert value(empty, "roshni_outbox_due_messages") == 0

    beat(session, ago=timedelta(seconds=5))
    beat(session, ago=timedelta(minutes=10), name="worker:gone:2")
    queue_due(session, make_patient(clinic), ago=timedelta(minutes=3))
    waiting = scrape(client)
    assert value(waiting, "roshni_job_runners_alive") == 1
    assert value(waiting, "roshni_outbox_due_messages") == 1
    assert value(waiting, "roshni_outbox_oldest_due_seconds") >= 180

    # A reminder with no WhatsApp template falls back to SMS, which in India needs a
    # DLT-registered text the clinic has not given: it fails, with its own error code.
    session.execute(delete(MessageTemplate).where(MessageTemplate.clinic_id == clinic.id))
    session.commit()
    book(session, clinic, make_patient(clinic), TUE_10)
    deliver(session, reminders(session)[0].id, now=ist(23, 10), sender=sender)
    sms = one(outbox(session, channel=Channel.SMS))
    assert deliver(session, sms.id, now=ist(23, 10), sender=sender) is OutboundStatus.FAILED
    session.commit()
    failed = [
        m.error_code or "none"
        for m in session.scalars(select(OutboundMessage))
        if m.status in (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)
    ]
    assert "no_dlt_template" in failed
    after = scrape(client)
    for code in set(failed):
        samples = value(after, "roshni_outbound_failed_messages", error_code=code)
        assert samples == failed.count(code)
