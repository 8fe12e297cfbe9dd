"""Prometheus metrics for operators: what this process counts. No Flask here (the chat
path counts turns from the console too); ``roshni.metrics_endpoint`` serves them at
``/metrics`` with the gauges it reads from the database.

Two kinds, on purpose:

- Counted in this process (counters, the webhook latency histogram): webhooks by
  provider and status, conversation turns, payment events by type. Under gunicorn each
  worker process counts its own requests and a scrape reaches one of them; Prometheus'
  ``rate()``/``increase()`` over a few scrapes still tells the trend. Run one worker
  process per container (or scrape each) when exact totals matter.
- Read from the database at each scrape (gauges): the outbox backlog and its oldest due
  message's wait, messages that failed by provider error code (last 24 h), job runners
  alive (their heartbeats). These are the same in every process and cover what workers
  do, which no web process could count.

Labels never carry a clinic, a phone, a token or free text: only fixed vocabularies.
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Histogram

WEBHOOK_SECONDS = Histogram(
    "roshni_webhook_duration_seconds",
    "Time to answer a provider webhook.",
    ["provider"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
)
WEBHOOK_REQUESTS = Counter(
    "roshni_webhook_requests",
    "Provider webhooks answered, by provider and HTTP status.",
    ["provider", "status"],
)
CONVERSATION_TURNS = Counter(
    "roshni_conversation_turns",
    "Inbound chat messages, by channel and outcome (answered, duplicate, throttled).",
    ["channel", "outcome"],
)
PAYMENT_EVENTS = Counter(
    "roshni_payment_events",
    "Payment provider events received, by provider, event type and outcome.",
    ["provider", "type", "outcome"],
)

_EVENT_TYPE = re.compile(r"^[a-z_]{1,30}\.[a-z_]{1,30}$")


def count_turn(channel: str, outcome: str) -> None:
    CONVERSATION_TURNS.labels(channel=channel, outcome=outcome).inc()


def count_payment_event(provider: str, event_type: object, outcome: str) -> None:
    """``event_type`` comes from the provider's payload: only a plain dotted name is a
    label (``payment_link.paid``), anything else counts as ``other``."""
    kind = event_type if isinstance(event_type, str) and _EVENT_TYPE.match(event_type) else None
    PAYMENT_EVENTS.labels(provider=provider, type=kind or "other", outcome=outcome).inc()
