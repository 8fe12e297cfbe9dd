"""Logs without people in them.

Every log line the process writes (root logger at DEBUG: SQLAlchemy's statements and
rows, Werkzeug's dev-server request lines, RQ, the app) is captured while a parent
books a prepaid session over the signed WhatsApp webhook, pays through Razorpay's
signed webhook, the jobs send the payment link (in this process) and the receipt (through
RQ and a worker) with Twilio's SDK,
the receipt is fetched from the development server, and a query fails on a unique
phone number. No line may hold the phone number, a message body or a token.
"""

from __future__ import annotations

import json
import logging
import re
import runpy
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from core.config import PROJECT_ROOT, Config
from core.db import get_db
from core.logging_setup import TEXT_FORMAT, JsonFormatter, configure_logging, new_request_id
from core.redaction import redact, redact_path
from jobs.runner import enqueue_due, tick
from jobs.runtime import build_runtime
from models import Appointment, Clinic, Contact, OutboundMessage, Payment, PaymentLink
from roshni.app import create_app
from roshni.demo import DEMO_CLINICS, seed_clinic
from services.messaging.replies import reply_key
from tests.conftest import RAZORPAY_BASE_URL, payments_env
from tests.fake_razorpay import KEY_SECRET, WEBHOOK_SECRET
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.jobs_support import queue, redis, worker_in_process  # noqa: F401  (fixtures)

PHONE = "+919876543210"
PHONE_FORMS = (PHONE, "919876543210", "9876543210", "98765 43210", "%2B919876543210")
SANDBOX = "whatsapp:+14155238886"
# What the parent types: every one of these is a message body that must stay out.
PARENT_SAYS = ("Zorawar Kapoor", "Meherbano", "14/07/2018")
LOGGERS = ("sqlalchemy", "sqlalchemy.engine", "werkzeug", "rq", "bot", "core", "services")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, formatter: logging.Formatter | None = None) -> list[str]:
        formatter = formatter or logging.Formatter(TEXT_FORMAT)
        return [formatter.format(record) for record in self.records]


@contextmanager
def everything_logged() -> Iterator[Capture]:
    """All log output of this process, from every logger, at DEBUG."""
    root = logging.getLogger()
    capture = Capture()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    saved_root = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(saved_root)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _env(db, tmp_path, razorpay, twilio, **more: str) -> dict[str, str]:
    """The payments test environment, with the fake Twilio too."""
    return payments_env(
        db,
        tmp_path,
        razorpay,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_URL=twilio.url,
        **more,
    )


def _config(db, tmp_path, razorpay, twilio, **more: str) -> Config:
    return Config.from_env(_env(db, tmp_path, razorpay, twilio, **more))


@pytest.fixture
def clinic(session, connect_razorpay):
    seed_clinic(session, DEMO_CLINICS[0], admin_password=None)
    session.commit()
    clinic = session.scalar(select(Clinic).where(Clinic.slug == "roshni"))
    connect_razorpay(clinic)  # its prepaid Assessment Session is paid through the fake
    return clinic


class WhatsApp:
    """A parent on WhatsApp, through the signed Twilio webhook."""

    def __init__(self, client, sessions=None) -> None:
        self.client = client
        self.sessions = sessions  # to read a reply sent through the outbox
        self.sids = iter(range(1, 1000))
        self.signatures: list[str] = []
        self.replies: list[str] = []

    def say(self, body: str, **headers: str) -> str:
        """The bot's answer: in TwiML, or (WhatsApp to a known contact, with a Twilio
        account) the words of the reply row the turn queued."""
        sid = f"SM{next(self.sids):032x}"
        form = {
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{PHONE}",
            "To": SANDBOX,
            "Body": body,
            "NumMedia": "0",
            "ProfileName": "Meherbano",
            "WaId": PHONE[1:],
        }
        path = "/webhooks/twilio/whatsapp"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            f"{RAZORPAY_BASE_URL}{path}", form
        )
        self.signatures.append(signature)
        response = self.client.post(
            path, data=form, headers={"X-Twilio-Signature": signature, **headers}
        )
        assert response.status_code == 200, response.data
        answer = response.get_data(as_text=True)
        if "<Message" not in answer and self.sessions is not None:
            with self.sessions() as session:
                queued = session.scalar(
                    select(OutboundMessage.variables).where(
                        OutboundMessage.idempotency_key == reply_key(sid)
                    )
                )
            answer = queued["text"] if queued else answer
        self.replies.append(answer)
        return answer


def _choice(reply: str, label: str) -> str:
    match = re.search(rf"(\d+)\. {re.escape(label)}", reply)
    assert match, reply
    return match.group(1)


@contextmanager
def dev_server(app) -> Iterator[str]:
    """``roshni serve``'s server (Werkzeug), with its request log, on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def rq_send(request, db, tmp_path, razorpay, twilio, monkeypatch):
    """``rq_send(runtime)``: the sweep hands what is due to RQ, and RQ's ``SimpleWorker``
    runs it in this process; its jobs read their settings from the environment, as a
    worker's do (Redis: tests/jobs_support.py)."""
    rq_queue = request.getfixturevalue("queue")
    env = _env(db, tmp_path, razorpay, twilio)
    with worker_in_process(rq_queue, env, monkeypatch) as work:

        def send(runtime) -> None:
            enqueue_due(runtime, rq_queue)
            work()

        yield send


def test_a_whole_booking_and_payment_log_no_phone_body_or_token(
    db, session, tmp_path, clinic, razorpay, twilio, rq_send, frozen_clock
):
    config = _config(db, tmp_path, razorpay, twilio)
    app = create_app(config)
    runtime = build_runtime(config, get_db(app))
    whatsapp = WhatsApp(app.test_client(), get_db(app).session_factory)
    log = logging.getLogger("tests.logs")
    try:
        with everything_logged() as capture:
            # A new parent registers a child and books the prepaid Assessment Session.
            whatsapp.say("hi")
            whatsapp.say("1")  # yes, for my child
            whatsapp.say(PARENT_SAYS[1])
            whatsapp.say(PARENT_SAYS[0])
            services = whatsapp.say(PARENT_SAYS[2])  # registered: booking follows
            whatsapp.say(_choice(services, "Assessment Session"))  # one therapist: times
            summary = whatsapp.say("2")  # the second time offered
            assert "Please confirm" in summary and "₹1,200" in summary, summary
            booked = whatsapp.say("1")  # confirm
            assert "Assessment Session" in booked or "pay" in booked.lower(), booked

            # The jobs create the link at Razorpay and send it through Twilio's SDK.
            tick(runtime)
            session.commit()
            link = session.scalar(select(PaymentLink))
            assert link is not None and link.provider_link_id, "the link was not created"

            # The parent pays: Razorpay's signed webhook; then the receipt goes out.
            event = razorpay.pay(link.provider_link_id)
            with app.test_client().post(
                "/webhooks/razorpay", data=event.body, headers=event.headers()
            ) as response:
                assert response.status_code == 200
            # This time the receipt goes through RQ: the sweep enqueues, a worker sends.
            rq_send(runtime)
            session.commit()  # a fresh read
            payment = session.scalar(select(Payment))
            assert payment is not None and payment.public_token

            # The parent opens the receipt from the chat (development server, its log on).
            with dev_server(app) as base:
                url = f"{base}/pay/receipt/{payment.public_token}.pdf?from={PHONE}&sig=abc"
                with urllib.request.urlopen(url, timeout=10) as opened:  # noqa: S310 - local
                    assert opened.status == 200

            # A query fails on a unique column with the phone number as its parameter.
            try:
                session.add(Contact(clinic_id=clinic.id, phone=PHONE, name="Twin"))
                session.flush()
            except IntegrityError as exc:
                session.rollback()
                assert "SQL parameters hidden" in str(exc)
                log.exception("could not add a contact")
            else:  # pragma: no cover - the unique constraint is the test's premise
                pytest.fail("a second contact with the same phone was accepted")
            log.warning("a note from %s about %s", PHONE, "meher@example.com")
    finally:
        get_db(app).dispose()

    session.commit()
    lines = capture.lines()
    text = "\n".join(lines)
    sent = [m.body for m in session.scalars(select(OutboundMessage)) if m.body]
    assert len(sent) >= 2, "the payment link and the receipt were sent"
    assert session.scalar(select(Appointment)).status.value == "confirmed"

    # The capture saw the machinery at work (else the checks below would prove nothing).
    names = {record.name for record in capture.records}
    assert "sqlalchemy.engine.Engine" in names
    assert "rq.worker" in names

    forbidden = {
        **{f"phone {form!r}": form for form in PHONE_FORMS},
        **{f"the parent's words {said!r}": said for said in PARENT_SAYS},
        "the payment's token": payment.public_token,
        "the Razorpay link id's short URL": link.short_url or "never-empty",
        "the Razorpay signature": event.headers()["X-Razorpay-Signature"],
        "the Razorpay key secret": KEY_SECRET,
        "the Razorpay webhook secret": WEBHOOK_SECRET,
        "the Twilio auth token": AUTH_TOKEN,
        **{f"Twilio signature {s!r}": s for s in whatsapp.signatures},
    }
    for body in sent + [reply for reply in whatsapp.replies]:
        for line in body.splitlines():
            if len(line.strip()) >= 25:  # a sentence long enough to be the message's own
                forbidden[f"message line {line.strip()!r}"] = line.strip()
    leaks = [(what, line) for what, value in forbidden.items() for line in lines if value in line]
    assert not leaks, leaks[:5]
    # ... and masked what it had to, where it had to.
    assert any("/pay/receipt/[token].pdf" in line for line in lines), "no dev-server line"
    assert "could not add a contact" in text and "IntegrityError" in text
    assert "a note from [phone] about [email]" in text


def test_json_lines_carry_the_request_id_and_the_clinic(
    db, session, tmp_path, clinic, razorpay, twilio, frozen_clock
):
    app = create_app(_config(db, tmp_path, razorpay, twilio, LOG_FORMAT="json"))
    root = logging.getLogger()
    [handler] = [h for h in root.handlers if getattr(h, "roshni", False)]
    formatter = handler.formatter  # the handler is set back to text lines below
    assert isinstance(formatter, JsonFormatter)
    whatsapp = WhatsApp(app.test_client())
    try:
        with everything_logged() as capture:
            whatsapp.say("hi", **{"X-Request-ID": "req-from-the-proxy-1"})
            given = len(capture.records)
            whatsapp.say("1")
        header = None
        with app.test_client() as client:
            response = client.get("/healthz", headers={"X-Request-ID": f"call {PHONE}"})
            header = response.headers["X-Request-ID"]
    finally:
        get_db(app).dispose()
        app = create_app(_config(db, tmp_path, razorpay, twilio))  # text again, for others
        get_db(app).dispose()

    entries = [json.loads(line) for line in capture.lines(formatter)]
    assert entries and all(
        {"time", "level", "logger", "message", "request_id"} <= entry.keys() for entry in entries
    )
    first, second = entries[:given], entries[given:]
    assert {e["request_id"] for e in first} == {"req-from-the-proxy-1"}
    [generated] = {e["request_id"] for e in second}
    assert re.fullmatch(r"r[0-9a-f]{32}", generated)
    # Once the webhook knows the clinic, its lines name it.
    assert {e.get("clinic_id") for e in first} >= {clinic.id}
    # A caller's id with something to redact in it is replaced, not echoed.
    assert PHONE not in header and re.fullmatch(r"r[0-9a-f]{32}", header)


def test_a_response_echoes_its_request_id(db, tmp_path, razorpay, twilio):
    app = create_app(_config(db, tmp_path, razorpay, twilio))
    try:
        response = app.test_client().get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert response.headers["X-Request-ID"] == "abc-123"
        other = app.test_client().get("/healthz")
        assert re.fullmatch(r"r[0-9a-f]{32}", other.headers["X-Request-ID"])
    finally:
        get_db(app).dispose()


# --- the masking rules themselves ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from +919876543210 at 9", "from [phone] at 9"),
        ("From=whatsapp%3A%2B919876543210&x", "From=whatsapp%3A[phone]&x"),
        ("call +44 7700 900123 now", "call [phone] now"),
        ("local 98765 43210 or 09876543210", "local [phone] or [phone]"),
        ("write to asha.verma+1@example.co.in", "write to [email]"),
        ("GET /pay/receipt/AbCdEf0123456789xyz.pdf", "GET /pay/receipt/[token].pdf"),
        ("/pay/upi/AbCdEf0123456789xyz.png", "/pay/upi/[token].png"),
        ("GET /reports/Ab-Cd_Ef0123456789xyz.pdf", "GET /reports/[token].pdf"),
        ('"GET /payments/razorpay/return?razorpay_signature=ab HTTP/1.1" 200', None),
        ("X-Twilio-Signature: 0aB+/cD=", "X-Twilio-Signature: [redacted]"),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: [redacted] [redacted]"),
        ('{"key_secret": "s3cr3t"}', '{"key_secret": "[redacted]"}'),
        ("sig " + "ab12" * 16, "sig [redacted]"),
        # Left alone: times, dates, ids and counts are not people.
        ("at 2026-11-23 03:30:00,123 took 0.25 s", "at 2026-11-23 03:30:00,123 took 0.25 s"),
        ("outbox row 1234567 of SM" + "0" * 32, "outbox row 1234567 of SM" + "0" * 32),
    ],
)
def test_redact_masks_people_and_secrets_and_keeps_the_rest(text, expected):
    if expected is None:
        masked = redact(text)
        assert "razorpay_signature" not in masked and "?[query]" in masked
    else:
        assert redact(text) == expected


def test_a_generated_request_id_survives_redaction():
    request_id = new_request_id()
    assert redact(f"GET / 200 {request_id}") == f"GET / 200 {request_id}"


def test_an_access_log_path_has_no_token_and_no_query():
    assert redact_path("/pay/upi/AbCdEf0123456789xyz?x=1") == "/pay/upi/[token]"
    assert redact_path("/webhooks/twilio/whatsapp") == "/webhooks/twilio/whatsapp"


# --- gunicorn's access log (gunicorn.conf.py) ----------------------------------------------


class _Response:
    status = "200 OK"
    sent = 1234
    headers = (("Content-Type", "text/html"), ("X-Request-ID", "rid-42"))


class _Request:
    headers = (
        ("X-Twilio-Signature", "c2lnbmF0dXJlLXZhbHVl"),
        ("Authorization", "Bearer very-secret-metrics-token"),
    )


TOKEN = "AbCdEf0123456789xyzQ"
ENVIRON = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": f"/pay/upi/{TOKEN}?from=%2B919876543210",
    "PATH_INFO": f"/pay/upi/{TOKEN}",
    "QUERY_STRING": "from=%2B919876543210",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "10.0.0.7",
    "HTTP_REFERER": f"https://roshni.example.com/pay/upi/{TOKEN}?x=1",
    "HTTP_USER_AGENT": "WhatsApp/2.23 +919876543210",
}


def _gunicorn_logger(**settings: str):
    from gunicorn.config import Config as GunicornConfig

    from core.logging_setup import GunicornLogger

    config = GunicornConfig()
    for name, value in runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py")).items():
        if name in config.settings:
            config.set(name, value)
    for name, value in settings.items():
        config.set(name, value)
    assert config.logger_class is GunicornLogger
    return GunicornLogger(config)


def _access_lines(logger) -> list[str]:
    capture = Capture()
    logging.getLogger("gunicorn.access").addHandler(capture)
    try:
        logger.access(_Response(), _Request(), ENVIRON, timedelta(milliseconds=12))
    finally:
        logging.getLogger("gunicorn.access").removeHandler(capture)
    # gunicorn marks its own handler; others may be on the shared logger by now.
    [handler] = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]
    return capture.lines(handler.formatter)


def test_gunicorn_access_lines_mask_the_token_and_drop_the_query():
    [line] = _access_lines(_gunicorn_logger())
    assert '"GET /pay/upi/[token]" 200 1234 0.012000 rid-42' in line
    assert TOKEN not in line and "919876543210" not in line


def test_gunicorn_access_lines_show_no_query_header_or_referrer_whatever_the_format():
    risky = "%(r)s %(q)s %(f)s %(a)s %({x-twilio-signature}i)s %({authorization}i)s %(u)s"
    [line] = _access_lines(_gunicorn_logger(access_log_format=risky))
    for secret in (TOKEN, "919876543210", "c2lnbmF0dXJlLXZhbHVl", "very-secret-metrics-token"):
        assert secret not in line
    assert line.startswith("GET /pay/upi/[token] HTTP/1.1 - - ")


def test_gunicorn_writes_json_lines_when_asked(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    [line] = _access_lines(_gunicorn_logger())
    entry = json.loads(line)
    assert entry["logger"] == "gunicorn.access"
    assert '"GET /pay/upi/[token]" 200' in entry["message"]


def test_every_route_with_a_token_in_its_path_is_masked(app):
    token = "AbCdEf0123456789xyzQ"
    routes = [rule.rule for rule in app.url_map.iter_rules() if "token" in rule.rule]
    assert len(routes) >= 3  # the receipt, the UPI page and its QR code
    for route in routes:
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: token if "token" in m[1] else "1", route)
        assert token not in redact_path(path), route
        assert token not in redact(f'"GET {path}?x=1 HTTP/1.1" 200'), route


def test_a_signed_download_token_is_masked_whole_dots_and_all():
    signed = "eyJjIjoxLCJkIjo3fQ.Z1a2b3.Qm9ndXMtc2lnbmF0dXJlLXBhcnQ"
    for shown in (
        redact_path(f"/admin/patient/document/file/{signed}"),
        redact(f'"GET /admin/patient/document/file/{signed} HTTP/1.1" 302'),
    ):
        assert "/admin/patient/document/file/[token]" in shown
        assert not any(part in shown for part in signed.split("."))


def test_every_process_keeps_the_twilio_sdks_request_lines_out_of_its_log() -> None:
    """The SDK logs each request's URL and headers at INFO; the web app, the workers and
    the CLI all configure logging through ``configure_logging``, which quiets it."""
    chatty = logging.getLogger("twilio.http_client")
    before = chatty.level
    chatty.setLevel(logging.NOTSET)
    try:
        configure_logging("INFO")
        assert not chatty.isEnabledFor(logging.INFO)
        assert chatty.isEnabledFor(logging.WARNING)
    finally:
        chatty.setLevel(before)
