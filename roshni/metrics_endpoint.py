"""``/metrics`` (Prometheus text format) behind ``METRICS_TOKEN`` (unset: 404), the
webhook timing around each provider webhook, and the gauges read from the database at
each scrape (see ``core.metrics`` for what is counted where, and why).
"""

from __future__ import annotations

import hmac
import time
from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
)

from core.clock import utcnow
from core.db import get_db
from core.metrics import WEBHOOK_REQUESTS, WEBHOOK_SECONDS
from services.messaging.job_health import ALIVE_WITHIN, jobs_health
from services.messaging.outbox import failures_by_error_code

# Which endpoints are provider webhooks, and the provider label each one gets.
WEBHOOK_ENDPOINTS = {
    "webhooks.twilio_whatsapp": "twilio_whatsapp",
    "webhooks.twilio_sms": "twilio_sms",
    "webhooks.twilio_status": "twilio_status",
    "payments.razorpay_webhook": "razorpay",
    "payments.stripe_webhook": "stripe",
}
FAILURES_WINDOW = timedelta(hours=24)

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    token = current_app.config["ROSHNI"].metrics_token
    if not token:
        return Response("not found\n", status=404, mimetype="text/plain")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            "a bearer token is required\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = generate_latest(REGISTRY) + generate_latest(_scraped_from_database())
    return Response(body, status=200, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _scraped_from_database() -> CollectorRegistry:
    """Gauges read now from the database, in a registry of their own (one per scrape)."""

    registry = CollectorRegistry()
    up = Gauge("roshni_database_up", "1 when the database answered this scrape.", registry=registry)
    now = utcnow()
    try:
        with get_db().session_scope() as session:
            health = jobs_health(session, now=now, max_delay_seconds=0)
            failures = failures_by_error_code(session, since=now - FAILURES_WINDOW)
    except Exception:
        up.set(0)
        return registry
    up.set(1)
    Gauge("roshni_outbox_due_messages", "Messages due and not yet sent.", registry=registry).set(
        health.outbox_due
    )
    Gauge(
        "roshni_outbox_oldest_due_seconds",
        "How long the oldest due message has waited (0 when none is due).",
        registry=registry,
    ).set(health.oldest_due_seconds or 0)
    Gauge(
        "roshni_job_runners_alive",
        f"Job runners (workers, or embedded threads) seen within {ALIVE_WITHIN.seconds} s.",
        registry=registry,
    ).set(health.runners_alive)
    failed = Gauge(
        "roshni_outbound_failed_messages",
        "Messages that failed or were undelivered in the last 24 h, by error code.",
        ["error_code"],
        registry=registry,
    )
    for code, count in failures.items():
        failed.labels(error_code=code[:20]).set(count)
    return registry


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start_clock() -> None:
        if request.endpoint in WEBHOOK_ENDPOINTS:
            g.roshni_webhook_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("roshni_webhook_started", None)
        if started is not None:
            provider = WEBHOOK_ENDPOINTS[request.endpoint or ""]
            WEBHOOK_SECONDS.labels(provider=provider).observe(time.perf_counter() - started)
            WEBHOOK_REQUESTS.labels(provider=provider, status=str(response.status_code)).inc()
        return response

    @app.teardown_request
    def _observe_failure(_exc: BaseException | None) -> None:
        started = g.pop("roshni_webhook_started", None)
        if started is not None:  # no response was made: an unhandled error, a 500
            provider = WEBHOOK_ENDPOINTS[request.endpoint or ""]
            WEBHOOK_SECONDS.labels(provider=provider).observe(time.perf_counter() - started)
            WEBHOOK_REQUESTS.labels(provider=provider, status="500").inc()
