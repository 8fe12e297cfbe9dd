"""A small local server that speaks Razorpay's REST API, for the real ``razorpay`` SDK.

    with FakeRazorpay() as rzp:
        client = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=rzp.url)
        link = client.payment_link.create({...})    # validated as Razorpay does
        event = rzp.pay(link["id"])                  # a signed ``payment_link.paid`` webhook
        app.post("/webhooks/razorpay", data=event.body, headers=event.headers())
        rzp.fail_next()                              # the next API call answers SERVER_ERROR
        rzp.now += timedelta(days=2)                 # the fake clock: links expire lazily

It implements, under ``/v1`` and behind HTTP basic auth (key id + secret):
``POST /payment_links``, ``GET /payment_links[?reference_id=]``, ``GET /payment_links/{id}``,
``POST /payment_links/{id}/cancel``, ``GET /payments/{id}``, ``POST /payments/{id}/refund``,
``GET /payments/{id}/refunds`` and ``GET /refunds/{id}``. Bodies are JSON; errors use
Razorpay's ``{"error": {"code", "description", ...}}`` shape (the SDK raises by ``code``).
What customers and Razorpay do is simulated from the test (``pay``, ``expire``,
``cancel_event``, ``process_refund``), each returning the webhook ``Event`` Razorpay would
POST, signed with the webhook secret; ``callback_params`` gives the signed redirect query.

Webhook bodies are compact JSON with ``/`` escaped as ``\\/`` (PHP's json_encode): verify
the signature over the raw bytes, never over a re-encoding of the parsed JSON.

Demo mode: ``python -m tests.fake_razorpay --port 9100 --webhook-url http://…`` also serves
``/i/{link_id}`` (each link's short_url): a page whose Pay button pays, POSTs the webhook and
redirects the browser to the link's callback_url with the signed query string.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import html
import json
import random
import re
import string
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

KEY_ID = "rzp_test_FakeKeyId000001"
KEY_SECRET = "fake-razorpay-key-secret"
WEBHOOK_SECRET = "fake-razorpay-webhook-secret"
ACCOUNT_ID = "acc_FakeAccount001"
MIN_EXPIRY = timedelta(minutes=15)  # expire_by must be later than now + 15 minutes…
MAX_EXPIRY = timedelta(days=180)  # … and at most six months away
LINK_FIELDS = {
    *("amount", "currency", "accept_partial", "first_min_partial_amount", "expire_by"),
    *("reference_id", "description", "customer", "notify", "reminder_enable", "notes"),
    *("callback_url", "callback_method", "upi_link", "options"),
}
OPEN = ("created", "partially_paid")  # the statuses a link can still be paid in
BAD = "BAD_REQUEST_ERROR"
NOT_FOUND = "The requested URL was not found on the server."
SERVER_ERROR = "The server encountered an error. The incident has been reported to admins."
_ALNUM = string.ascii_letters + string.digits


class RazorpayError(Exception):
    """An API error, rendered as Razorpay's JSON error body."""

    def __init__(self, status: int, description: str, field: str | None = None, code: str = BAD):
        super().__init__(description)
        self.status, self.description, self.field, self.code = status, description, field, code

    def body(self) -> dict[str, Any]:
        business = self.code == BAD and self.status != 401
        where = ("business", "payment_initiation", "input_validation_failed") if business else ()
        error = {"code": self.code, "description": self.description, "metadata": {}}
        error |= dict(zip(("source", "step", "reason"), where or ("NA",) * 3, strict=True))
        if self.field:
            error["field"] = self.field
        return {"error": error}


def _bad(description: str, field: str | None = None) -> RazorpayError:
    return RazorpayError(400, description, field)


def _require(ok: object, description: str, field: str | None = None) -> None:
    if not ok:
        raise _bad(description, field)


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    message = f"{', '.join(extra)} is/are not required and should not be sent"
    _require(not extra, message, *extra[:1])


def _nulls(names: str) -> dict[str, None]:
    return dict.fromkeys(names.split())


def _sign(secret: str, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


@dataclass
class Event:
    """A webhook as Razorpay would POST it: ``body`` is the exact raw bytes."""

    id: str
    body: bytes
    payload: dict[str, Any]
    secret: str = WEBHOOK_SECRET

    @property
    def name(self) -> str:
        return self.payload["event"]

    @property
    def signature(self) -> str:
        return _sign(self.secret, self.body)

    def headers(self, secret: str | None = None) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": _sign(secret or self.secret, self.body),
            "x-razorpay-event-id": self.id,
        }


@dataclass
class Scripted:
    status: int
    code: str
    description: str
    raw: str | None = None


@dataclass
class FakeRazorpayState:
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requests: int = 0
    errors: list[Scripted] = field(default_factory=list)
    delay: float = 0.0
    now: datetime | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    rng: random.Random = field(default_factory=random.Random)


class FakeRazorpay:
    def __init__(
        self,
        key_id: str = KEY_ID,
        key_secret: str = KEY_SECRET,
        webhook_secret: str = WEBHOOK_SECRET,
        *,
        webhook_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.webhook_url, self.account_id = webhook_url, ACCOUNT_ID
        self.state = FakeRazorpayState()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, args=(0.05,), daemon=True)  # quick stop

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def now(self) -> datetime:
        """The fake's clock (aware UTC): real time until a test sets it (None: real again)."""
        return self.state.now or datetime.now(UTC)

    @now.setter
    def now(self, value: datetime | None) -> None:
        if value is not None and value.tzinfo is None:
            raise ValueError("FakeRazorpay.now must be timezone-aware")
        self.state.now = value

    links = property(lambda self: self.state.links)
    payments = property(lambda self: self.state.payments)
    refunds = property(lambda self: self.state.refunds)
    orders = property(lambda self: self.state.orders)
    events = property(lambda self: self.state.events)  # every Event made, in order
    requests = property(lambda self: self.state.requests)  # API requests received

    def fail_next(
        self,
        status: int = 500,
        code: str = "SERVER_ERROR",
        description: str = SERVER_ERROR,
        *,
        raw: str | None = None,
    ) -> None:
        """The next API request answers this error (queue several for several).

        ``raw`` answers that text instead of JSON, like a load balancer's HTML 502 page.
        """
        with self.state.lock:
            self.state.errors.append(Scripted(status, code, description, raw))

    def delay_responses(self, seconds: float) -> None:
        self.state.delay = seconds

    def __enter__(self) -> FakeRazorpay:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the API ----------------------------------------------------------------------------

    def _ts(self) -> int:
        return int(self.now.timestamp())

    def _new_id(self, prefix: str) -> str:
        return prefix + "_" + "".join(self.state.rng.choices(_ALNUM, k=14))

    def _get(self, table: dict[str, dict[str, Any]], prefix: str, id_: str) -> dict[str, Any]:
        _require(id_.startswith(prefix + "_"), f"{id_} is not a valid id")
        if id_ not in table:
            raise RazorpayError(404, "The id provided does not exist")
        return table[id_]

    def _link(self, link_id: str) -> dict[str, Any]:
        """The link, expired first if the fake clock has passed its expire_by (lazily)."""
        link = self._get(self.state.links, "plink", link_id)
        if link["status"] in OPEN and link["expire_by"] and self._ts() >= link["expire_by"]:
            link.update(status="expired", expired_at=link["expire_by"], updated_at=self._ts())
        return link

    def _create_link(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, LINK_FIELDS)
        amount, now, req = body.get("amount"), self._ts(), _require
        req(amount is not None, "The amount field is required.", "amount")
        req(type(amount) is int, "The amount must be an integer.", "amount")
        req(amount >= 100, "The amount must be atleast INR 1.00.", "amount")
        currency = body.get("currency", "INR")
        ok = isinstance(currency, str) and re.fullmatch("[A-Z]{3}", currency)
        req(ok, "The currency is invalid.", "currency")
        ref = body.get("reference_id") or ""
        ok = isinstance(ref, str) and len(ref) <= 40
        req(ok, "The reference id may not be greater than 40 characters.", "reference_id")
        taken = ref and any(link["reference_id"] == ref for link in self.state.links.values())
        req(not taken, f"Payment Link with reference id {ref} already exists", "reference_id")
        expire_by = body.get("expire_by") or 0
        req(type(expire_by) is int, "The expire by must be an integer.", "expire_by")
        soon = expire_by and expire_by <= now + MIN_EXPIRY.total_seconds()
        req(not soon, "expire_by should be at least 15 minutes after current time", "expire_by")
        late = expire_by > now + MAX_EXPIRY.total_seconds()
        req(not late, "expire_by cannot be more than 6 months from current time", "expire_by")
        partial = body.get("accept_partial", False)
        req(type(partial) is bool, "accept_partial must be true or false.", "accept_partial")
        first_min = body.get("first_min_partial_amount") or 0
        ok = not first_min or (partial and type(first_min) is int and 100 <= first_min <= amount)
        message = "first_min_partial_amount must be 100 to amount, with accept_partial"
        req(ok, message, "first_min_partial_amount")
        customer, notify = body.get("customer") or {}, body.get("notify") or {}
        ok = isinstance(customer, dict) and not set(customer) - {"name", "contact", "email"}
        req(ok, "The customer field is invalid.", "customer")
        ok = isinstance(notify, dict) and not set(notify) - {"sms", "email", "whatsapp"}
        req(ok, "The notify field is invalid.", "notify")
        notes = body.get("notes") or None
        ok = notes is None or (isinstance(notes, dict) and len(notes) <= 15)
        req(ok, "Number of fields in notes should be less than or equal to 15", "notes")
        ok = not notes or all(len(str(v)) <= 256 for v in notes.values())
        req(ok, "Notes value should not be more than 256 characters", "notes")
        callback_url, method = body.get("callback_url") or "", body.get("callback_method") or ""
        ok = not callback_url or method == "get"
        req(ok, "callback_method must be get when callback_url is passed", "callback_method")
        link_id = self._new_id("plink")
        link = {
            "accept_partial": partial,
            "amount": amount,
            "amount_paid": 0,
            "callback_method": method,
            "callback_url": callback_url,
            "cancelled_at": 0,
            "created_at": now,
            "currency": currency,
            "customer": customer,
            "description": body.get("description") or "",
            "expire_by": expire_by,
            "expired_at": 0,
            "first_min_partial_amount": first_min,
            "id": link_id,
            "notes": notes,
            "notify": {"email": bool(notify.get("email")), "sms": bool(notify.get("sms"))},
            "payments": None,
            "reference_id": ref,
            "reminder_enable": bool(body.get("reminder_enable", False)),
            "reminders": [],
            "short_url": f"{self.url}/i/{link_id}",
            "status": "created",
            "updated_at": now,
            "upi_link": bool(body.get("upi_link", False)),
            "user_id": "",
        }
        self.state.links[link_id] = link
        return link

    def _cancel(self, link_id: str) -> dict[str, Any]:
        link = self._link(link_id)
        status = link["status"]
        _require(status in OPEN, f"Payment Link cannot be cancelled as it is already {status}")
        link.update(status="cancelled", cancelled_at=self._ts(), updated_at=self._ts())
        return link

    def _refund(self, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, {"amount", "speed", "notes", "receipt"})
        payment = self._get(self.state.payments, "pay", payment_id)
        _require(payment["status"] != "refunded", "The payment has been fully refunded already")
        _require(payment["status"] == "captured", "Only captured payments can be refunded")
        left = payment["amount"] - payment["amount_refunded"]
        amount, speed = body.get("amount", left), body.get("speed", "normal")
        ok = type(amount) is int and amount >= 100
        _require(ok, "The amount must be atleast INR 1.00.", "amount")
        message = "The total refund amount is greater than the refund payment amount"
        _require(amount <= left, message, "amount")
        _require(speed in ("normal", "optimum"), "The selected speed is invalid.", "speed")
        refund = {
            "id": self._new_id("rfnd"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment_id,
            "notes": body.get("notes") or [],
            "receipt": body.get("receipt"),
            "acquirer_data": {"arn": None},
            "created_at": self._ts(),
            "batch_id": None,
            "status": "pending",
            "speed_processed": "normal",
            "speed_requested": speed,
        }
        payment["amount_refunded"] += amount
        full = payment["amount_refunded"] == payment["amount"]
        payment["refund_status"] = "full" if full else "partial"
        payment["status"] = "refunded" if full else "captured"
        self.state.refunds[refund["id"]] = refund
        return refund

    def _api(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> Any:
        _require(method != "POST" or isinstance(body, dict), "The request body must be an object")
        match method, parts:
            case "POST", ["payment_links"]:
                return self._create_link(body)
            case "GET", ["payment_links"]:
                ref = query.get("reference_id")
                ids = [
                    i for i, link in self.state.links.items() if ref in (None, link["reference_id"])
                ]
                return {"payment_links": [self._link(i) for i in reversed(ids)]}
            case "GET", ["payment_links", link_id]:
                return self._link(link_id)
            case "POST", ["payment_links", link_id, "cancel"]:
                return self._cancel(link_id)
            case "GET", ["payments", payment_id]:
                return self._get(self.state.payments, "pay", payment_id)
            case "POST", ["payments", payment_id, "refund"]:
                return self._refund(payment_id, body)
            case "GET", ["payments", payment_id, "refunds"]:
                self._get(self.state.payments, "pay", payment_id)
                items = [r for r in self.state.refunds.values() if r["payment_id"] == payment_id]
                return {"entity": "collection", "count": len(items), "items": items[::-1]}
            case "GET", ["refunds", refund_id]:
                return self._get(self.state.refunds, "rfnd", refund_id)
        raise RazorpayError(404, NOT_FOUND)

    # -- what customers and Razorpay do, as webhook events ----------------------------------

    def _event(self, name: str, entities: dict[str, dict[str, Any]]) -> Event:
        payload = {
            "entity": "event",
            "account_id": self.account_id,
            "event": name,
            "contains": list(entities),
            "payload": {k: {"entity": copy.deepcopy(v)} for k, v in entities.items()},
            "created_at": self._ts(),
        }
        body = json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()
        event = Event(self._new_id("evt"), body, json.loads(body), self.webhook_secret)
        self.state.events.append(event)
        return event

    def _link_event(self, name: str, link: dict[str, Any], **more: dict[str, Any]) -> Event:
        entity = {k: v for k, v in link.items() if k != "payments"}
        return self._event(name, {"payment_link": entity, **more})

    def pay(self, link_id: str, amount: int | None = None, method: str = "upi") -> Event:
        """A customer pays (by default all that is due): ``payment_link.[partially_]paid``."""
        with self.state.lock:
            link, now = self._link(link_id), self._ts()
            _require(link["status"] in OPEN, f"Payment Link is {link['status']}")
            due = link["amount"] - link["amount_paid"]
            amount = due if amount is None else amount
            ok = 0 < amount <= due and (amount == due or link["accept_partial"])
            _require(ok, f"Cannot pay {amount} on a link with {due} due", "amount")
            ok = link["amount_paid"] or amount >= link["first_min_partial_amount"]
            _require(ok, "The first payment is below first_min_partial_amount", "amount")
            order_id = link.get("order_id") or self._new_id("order")
            order = self.state.orders.setdefault(
                order_id,
                {
                    "id": order_id,
                    "entity": "order",
                    "amount": link["amount"],
                    "amount_paid": 0,
                    "amount_due": link["amount"],
                    "currency": link["currency"],
                    "attempts": 0,
                    "receipt": link["reference_id"] or None,
                    "offer_id": None,
                    "status": "created",
                    "notes": link["notes"] or [],
                    "created_at": now,
                },
            )
            fee = amount * 2 // 100
            payment = {
                **_nulls("invoice_id card_id bank wallet vpa refund_status error_code"),
                **_nulls("error_description error_source error_step error_reason"),
                "id": self._new_id("pay"),
                "entity": "payment",
                "amount": amount,
                "currency": link["currency"],
                "status": "captured",
                "captured": True,
                "method": method,
                "order_id": order_id,
                "international": False,
                "amount_refunded": 0,
                "amount_transferred": 0,
                "description": link["description"],
                "email": link["customer"].get("email") or "void@razorpay.com",
                "contact": link["customer"].get("contact") or "+919999999999",
                "notes": link["notes"] or [],
                "fee": fee,
                "tax": fee * 18 // 100,
                "acquirer_data": {},
                "created_at": now,
            }
            if method == "upi":
                payment["vpa"] = "success@razorpay"
            self.state.payments[payment["id"]] = payment
            link["amount_paid"] += amount
            paid = link["amount_paid"] == link["amount"]
            link.update(status="paid" if paid else "partially_paid", updated_at=now)
            link["order_id"] = order_id
            entry = {"amount": amount, "created_at": now, "method": method, "status": "captured"}
            entry |= {"payment_id": payment["id"], "plink_id": link_id, "updated_at": now}
            link["payments"] = [*(link["payments"] or []), entry]
            order["amount_paid"] += amount
            order["amount_due"] -= amount
            order.update(attempts=order["attempts"] + 1, status="paid" if paid else "attempted")
            name = "payment_link.paid" if paid else "payment_link.partially_paid"
            return self._link_event(name, link, order=order, payment=payment)

    def expire(self, link_id: str) -> Event:
        """Razorpay expires the link now (whatever its expire_by): ``payment_link.expired``."""
        with self.state.lock:
            link = self._link(link_id)
            if link["status"] in OPEN:
                link.update(status="expired", expired_at=self._ts(), updated_at=self._ts())
            _require(link["status"] == "expired", f"Payment Link is {link['status']}")
            return self._link_event("payment_link.expired", link)

    def cancel_event(self, link_id: str) -> Event:
        """``payment_link.cancelled`` for a link (cancelling it first if it is still open)."""
        with self.state.lock:
            link = self._link(link_id)
            if link["status"] != "cancelled":
                link = self._cancel(link_id)
            return self._link_event("payment_link.cancelled", link)

    def process_refund(self, refund_id: str) -> Event:
        """The bank completes a refund: ``refund.processed``."""
        with self.state.lock:
            refund = self._get(self.state.refunds, "rfnd", refund_id)
            refund.update(status="processed", acquirer_data={"arn": "10000000000000"})
            payment = self.state.payments[refund["payment_id"]]
            return self._event("refund.processed", {"refund": refund, "payment": payment})

    def callback_params(self, link_id: str) -> dict[str, str]:
        """The query Razorpay appends to callback_url when redirecting after the latest payment."""
        with self.state.lock:
            link = self._link(link_id)
            _require(link["payments"], "Payment Link has no payment yet")
            payment_id, ref = link["payments"][-1]["payment_id"], link["reference_id"]
            message = f"{link_id}|{ref}|{link['status']}|{payment_id}"
            return {
                "razorpay_payment_id": payment_id,
                "razorpay_payment_link_id": link_id,
                "razorpay_payment_link_reference_id": ref,
                "razorpay_payment_link_status": link["status"],
                "razorpay_signature": _sign(self.key_secret, message),
            }

    def send_webhook(self, event: Event, url: str | None = None) -> int:
        """POST the event's raw body and headers to ``url`` (default: ``webhook_url``)."""
        target = url or self.webhook_url or ""
        request = urllib.request.Request(target, event.body, event.headers(), method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status

    # -- HTTP -------------------------------------------------------------------------------

    def _page(self, link_id: str) -> bytes:
        with self.state.lock:
            link = dict(self._link(link_id))
        due = (link["amount"] - link["amount_paid"]) / 100
        form = f'<form method="post" action="/i/{link_id}/pay"><button>Pay {due:.2f}</button>'
        return (
            "<!doctype html><meta charset=utf-8><title>Fake Razorpay</title>"
            f"<h1>{html.escape(link['description'] or 'Payment')}</h1>"
            f"<p>{link['currency']} {link['amount'] / 100:.2f}: {link['status']}</p>"
            + (form + "</form>" if link["status"] in OPEN else "")
        ).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                path, _, qs = self.path.partition("?")
                parts = [p for p in path.split("/") if p]
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    if parts[:1] == ["i"]:
                        return self._browser(method, parts[1:])
                    state = fake.state
                    with state.lock:
                        state.requests += 1
                        scripted = state.errors.pop(0) if state.errors else None
                    if state.delay:
                        time.sleep(state.delay)
                    if scripted and scripted.raw is not None:
                        return self._send(scripted.status, scripted.raw.encode(), "text/html")
                    if scripted:
                        raise RazorpayError(
                            scripted.status, scripted.description, None, scripted.code
                        )
                    if not self._authorised():
                        raise RazorpayError(401, "Authentication failed")
                    if parts[:1] != ["v1"]:
                        raise RazorpayError(404, NOT_FOUND)
                    try:
                        body = json.loads(raw) if raw else {}
                    except ValueError:
                        raise _bad("The request body is not valid JSON") from None
                    query = {k: v[0] for k, v in parse_qs(qs).items()}
                    with state.lock:  # encode while no other thread can change the entity
                        answer = json.dumps(fake._api(method, parts[1:], query, body))
                    self._send(200, answer.encode(), "application/json")
                except RazorpayError as error:
                    self._send(error.status, json.dumps(error.body()).encode(), "application/json")

            def _browser(self, method: str, parts: list[str]) -> None:
                if method == "GET" and len(parts) == 1:
                    return self._send(200, fake._page(parts[0]), "text/html; charset=utf-8")
                if method != "POST" or parts[1:] != ["pay"]:
                    raise RazorpayError(404, NOT_FOUND)
                event, link_id = fake.pay(parts[0]), parts[0]
                if fake.webhook_url:
                    try:
                        fake.send_webhook(event)
                    except OSError as exc:  # the demo goes on; the developer sees why
                        print(f"fake razorpay: webhook failed: {exc}", file=sys.stderr)
                callback = fake.links[link_id]["callback_url"]
                if not callback:
                    return self._send(200, fake._page(link_id), "text/html; charset=utf-8")
                query = urlencode(fake.callback_params(link_id))
                self.send_response(303)
                self.send_header("Location", callback + ("&" if "?" in callback else "?") + query)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _authorised(self) -> bool:
                scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
                try:
                    user, _, password = base64.b64decode(credentials).decode().partition(":")
                except ValueError:
                    return False
                return scheme == "Basic" and (user, password) == (fake.key_id, fake.key_secret)

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Razorpay for demos (tests/fake_razorpay)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument(
        "--webhook-url", help="where to POST the signed webhook when a link is paid"
    )
    parser.add_argument("--webhook-secret", default=WEBHOOK_SECRET)
    parser.add_argument("--key-id", default=KEY_ID)
    parser.add_argument("--key-secret", default=KEY_SECRET)
    args = parser.parse_args(argv)
    secrets = (args.key_id, args.key_secret, args.webhook_secret)
    server = dict(webhook_url=args.webhook_url, host=args.host, port=args.port)
    with FakeRazorpay(*secrets, **server) as fake:
        print(f"Fake Razorpay on {fake.url} (key id {args.key_id}); Ctrl-C stops.", flush=True)
        print(f"Webhooks go to {args.webhook_url or 'nowhere (no --webhook-url)'}.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
