"""A small local server that speaks Stripe's REST API, for the real ``stripe`` SDK.

    with FakeStripe() as fake:
        client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": fake.url})
        session = client.v1.checkout.sessions.create({...})   # validated as Stripe does
        event = fake.complete(session.id)                      # a signed checkout.session.completed
        app.post(f"/webhooks/stripe/{slug}", data=event.body, headers=event.headers())
        fake.fail_next()                                       # the next call answers 500
        fake.now += timedelta(hours=2)                         # the fake clock

Under ``/v1``, behind ``Authorization: Bearer <secret key>``: ``POST /checkout/sessions``,
``GET /checkout/sessions/{id}``, ``POST /checkout/sessions/{id}/expire``, ``POST /refunds``
and ``GET /refunds/{id}``. Requests are form-encoded with bracket keys
(``line_items[0][price_data][currency]=gbp``), as the SDK sends them; answers are JSON
objects naming their ``object``; errors are ``{"error": {"type", "message", "param"}}``
with Stripe's status codes. An ``Idempotency-Key`` replays the first answer.

What customers and Stripe do is simulated from the test (``complete``, ``expire``,
``settle_refund``), each returning the signed webhook ``Event`` Stripe would POST:
``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

SECRET_KEY = "sk_test_FakeStripeSecretKey0001"
WEBHOOK_SECRET = "whsec_FakeStripeWebhookSecret0001"
API_VERSION = "2025-09-30.clover"
MIN_EXPIRY = timedelta(minutes=30)  # expires_at: 30 minutes …
MAX_EXPIRY = timedelta(hours=24)  # … to 24 hours after the session is created
_ALNUM = string.ascii_letters + string.digits


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, kind: str = ""):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param
        self.kind = kind or ("api_error" if status >= 500 else "invalid_request_error")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _bad(ok: object, message: str, param: str | None = None) -> None:
    if not ok:
        raise StripeError(400, message, param=param)


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][0][c]=v`` pairs back into nested dicts and lists, as Stripe reads them."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = [] if nxt_is_index else {}
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt_is_index else {})
    return root


@dataclass
class Event:
    """A webhook as Stripe would POST it: ``body`` is the exact raw bytes."""

    id: str
    body: bytes
    payload: dict[str, Any]
    secret: str = WEBHOOK_SECRET

    @property
    def type(self) -> str:
        return self.payload["type"]

    def headers(self, secret: str | None = None, *, at: int | None = None) -> dict[str, str]:
        """Signed now (the process clock: what the SDK checks against), or ``at``."""
        return {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(self.body, secret or self.secret, at=at),
        }


def signature_header(body: bytes, secret: str, *, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    signed = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={signed.hexdigest()}"


@dataclass
class FakeStripeState:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    refund_status: str = "pending"  # what a new refund says first
    now: datetime | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    rng: random.Random = field(default_factory=random.Random)


class FakeStripe:
    def __init__(
        self,
        secret_key: str = SECRET_KEY,
        webhook_secret: str = WEBHOOK_SECRET,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.secret_key, self.webhook_secret = secret_key, webhook_secret
        self.state = FakeStripeState()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def now(self) -> datetime:
        return self.state.now or datetime.now(UTC)

    @now.setter
    def now(self, value: datetime | None) -> None:
        if value is not None and value.tzinfo is None:
            raise ValueError("FakeStripe.now must be timezone-aware")
        self.state.now = value

    sessions = property(lambda self: self.state.sessions)
    refunds = property(lambda self: self.state.refunds)
    requests = property(lambda self: self.state.requests)

    def fail_next(self, status: int = 500) -> None:
        with self.state.lock:
            self.state.errors.append(status)

    def __enter__(self) -> FakeStripe:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the API ----------------------------------------------------------------------------

    def _ts(self) -> int:
        return int(self.now.timestamp())

    def _new_id(self, prefix: str, k: int = 24) -> str:
        return prefix + "_" + "".join(self.state.rng.choices(_ALNUM, k=k))

    def _session(self, session_id: str) -> dict[str, Any]:
        found = self.state.sessions.get(session_id)
        if found is None:
            raise StripeError(
                404, f"No such checkout.session: '{session_id}'", param="session", kind=""
            )
        if found["status"] == "open" and self._ts() >= found["expires_at"]:
            found["status"] = "expired"  # lazily, as the fake clock passes it
        return found

    def _create_session(self, body: dict[str, Any]) -> dict[str, Any]:
        _bad(body.get("mode") == "payment", "This fake supports mode=payment only.", "mode")
        items = body.get("line_items")
        _bad(isinstance(items, list) and len(items) == 1, "Give one line item.", "line_items")
        item = items[0]
        price = item.get("price_data") or {}
        currency = str(price.get("currency", ""))
        _bad(re.fullmatch("[a-z]{3}", currency), "Invalid currency.", "currency")
        amount = price.get("unit_amount", "")
        _bad(amount.isdigit(), "Invalid integer: unit_amount", "unit_amount")
        name = (price.get("product_data") or {}).get("name")
        _bad(name, "Missing required param: line_items[0][price_data][product_data][name].")
        quantity = int(item.get("quantity") or 0)
        _bad(quantity >= 1, "Missing required param: line_items[0][quantity].", "quantity")
        now = self._ts()
        expires_at = int(body.get("expires_at") or now + int(MAX_EXPIRY.total_seconds()))
        _bad(
            now + MIN_EXPIRY.total_seconds() <= expires_at <= now + MAX_EXPIRY.total_seconds(),
            "The `expires_at` timestamp must be between 30 minutes and 24 hours after "
            "Checkout Session creation.",
            "expires_at",
        )
        reference = body.get("client_reference_id")
        _bad(reference is None or len(reference) <= 200, "Too long.", "client_reference_id")
        session_id = self._new_id("cs_test_a1", 56)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": int(amount) * quantity,
            "amount_total": int(amount) * quantity,
            "client_reference_id": reference,
            "created": now,
            "currency": currency,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": body.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": body.get("success_url"),
            "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        }
        self.state.sessions[session_id] = session
        return session

    def _expire(self, session_id: str) -> dict[str, Any]:
        session = self._session(session_id)
        _bad(
            session["status"] == "open",
            'Only Checkout Sessions with a status in ["open"] can be expired.',
        )
        session["status"] = "expired"
        return session

    def _refund(self, body: dict[str, Any]) -> dict[str, Any]:
        intent_id = body.get("payment_intent") or ""
        intent = self.state.intents.get(intent_id)
        if intent is None:
            raise StripeError(404, f"No such payment_intent: '{intent_id}'", param="payment_intent")
        left = intent["amount_received"] - intent["amount_refunded"]
        amount = int(body.get("amount") or left)
        _bad(amount > 0, "Refund amount must be positive.", "amount")
        _bad(
            amount <= left,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
            "amount",
        )
        intent["amount_refunded"] += amount
        refund = {
            "id": self._new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "created": self._ts(),
            "currency": intent["currency"],
            "metadata": body.get("metadata") or {},
            "payment_intent": intent_id,
            "status": self.state.refund_status,
        }
        self.state.refunds[refund["id"]] = refund
        return refund

    # -- what customers and Stripe do --------------------------------------------------------

    def complete(self, session_id: str) -> Event:
        """The customer pays the session by card: a signed ``checkout.session.completed``."""
        with self.state.lock:
            session = self._session(session_id)
            if session["status"] != "complete":
                assert session["status"] == "open", f"session is {session['status']}"
                intent_id = self._new_id("pi")
                self.state.intents[intent_id] = {
                    "id": intent_id,
                    "amount_received": session["amount_total"],
                    "amount_refunded": 0,
                    "currency": session["currency"],
                    "latest_charge": self._new_id("ch"),
                }
                session.update(status="complete", payment_status="paid", payment_intent=intent_id)
            return self._event("checkout.session.completed", session)

    def expire(self, session_id: str) -> Event:
        """Stripe expires the open session: a signed ``checkout.session.expired``."""
        with self.state.lock:
            session = self._session(session_id)
            if session["status"] == "open":
                session["status"] = "expired"
            return self._event("checkout.session.expired", session)

    def expired_event(self, session_id: str) -> Event:
        """A ``checkout.session.expired`` as it was sent earlier (delivered out of order)."""
        with self.state.lock:
            snapshot = dict(self.state.sessions[session_id], status="expired")
            snapshot.update(payment_status="unpaid", payment_intent=None)
            return self._event("checkout.session.expired", snapshot)

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> Event:
        with self.state.lock:
            refund = self.state.refunds[refund_id]
            refund["status"] = status
            return self._event("refund.updated", refund)

    def _event(self, kind: str, obj: dict[str, Any]) -> Event:
        event_id = self._new_id("evt")
        payload = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": self._ts(),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        event = Event(
            event_id, json.dumps(payload, indent=2).encode(), payload, self.webhook_secret
        )
        self.state.events.append(event)
        return event

    # -- HTTP --------------------------------------------------------------------------------

    def _route(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(body)
        if match := re.fullmatch(r"/v1/checkout/sessions/([\w]+)/expire", path):
            _bad(method == "POST", "Use POST.")
            return self._expire(match[1])
        if method == "GET" and (match := re.fullmatch(r"/v1/checkout/sessions/([\w]+)", path)):
            return self._session(match[1])
        if method == "POST" and path == "/v1/refunds":
            return self._refund(body)
        if method == "GET" and (match := re.fullmatch(r"/v1/refunds/([\w]+)", path)):
            if match[1] not in self.state.refunds:
                raise StripeError(404, f"No such refund: '{match[1]}'", param="id")
            return self.state.refunds[match[1]]
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                body = unflatten(parse_qsl(raw or query, keep_blank_values=True))
                with fake.state.lock:
                    fake.state.requests.append((method, path, body))
                    status, answer = self._answer(method, path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + "".join(random.choices(_ALNUM, k=14)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, method: str, path: str, body: dict) -> tuple[int, dict[str, Any]]:
                if self.headers.get("Authorization") != f"Bearer {fake.secret_key}":
                    message = "Invalid API Key provided: " + "sk_test_****"
                    return 401, StripeError(401, message).body()
                if fake.state.errors:
                    status = fake.state.errors.pop(0)
                    return status, StripeError(status, "An unknown error occurred").body()
                key = self.headers.get("Idempotency-Key")
                if key and key in fake.state.replies:
                    return fake.state.replies[key]
                try:
                    reply = 200, fake._route(method, path, body)
                except StripeError as exc:
                    reply = exc.status, exc.body()
                if key and method == "POST":
                    fake.state.replies[key] = reply
                return reply

        return Handler
