"""Logging for every process (web, worker, CLI): one place, people kept out.

``configure_logging`` gives the root logger one handler (text or one JSON object per
line, ``LOG_FORMAT``) carrying ``RedactingFilter``, and makes every log record, from any
logger (SQLAlchemy, Werkzeug, RQ, gunicorn's own non-propagating ones), redacted the
moment it is created (``core.redaction``): its message with its arguments, and its
exception text. Each record also carries the request's id and, once a webhook or the
staff panel knows it, the clinic's id (context variables, so threads and requests do
not mix them up).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from core.redaction import ROW_MASK, redact, redact_path

REQUEST_ID_HEADER = "X-Request-ID"
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_request_id: ContextVar[str | None] = ContextVar("roshni_request_id", default=None)
_clinic_id: ContextVar[int | None] = ContextVar("roshni_clinic_id", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_exception_formatter = logging.Formatter()


def bind_clinic(clinic_id: int | None) -> None:
    """From here on, this request's (or this thread's) log lines name the clinic."""
    _clinic_id.set(clinic_id)


def current_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    """A fresh id; the leading letter keeps its hex from looking like a secret (and being
    masked) in an access line."""
    return f"r{uuid.uuid4().hex}"


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place (once): message merged with its args, exception text."""
    if getattr(record, "roshni_scrubbed", False):
        return record
    record.roshni_scrubbed = True
    if record.name.startswith("sqlalchemy.engine") and record.msg == "Row %r":
        # Result rows hold whatever the query read: names, phones, message bodies.
        record.msg, record.args = ROW_MASK, ()
    else:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string still must not leak its arguments
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
    if record.exc_info:
        record.exc_text = redact(_exception_formatter.formatException(record.exc_info))
        # Handlers format exc_info again unless it is gone; exc_text is what they print.
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    if not hasattr(record, "request_id"):
        record.request_id = _request_id.get()
    if not hasattr(record, "clinic_id"):
        record.clinic_id = _clinic_id.get()
    return record


class RedactingFilter(logging.Filter):
    """Masks phones, e-mail addresses, tokens and secrets in every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, clinic_id."""

    def format(self, record: logging.LogRecord) -> str:
        scrub(record)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        clinic_id = getattr(record, "clinic_id", None)
        if clinic_id is not None:
            entry["clinic_id"] = clinic_id
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    return scrub(_base_factory(*args, **kwargs))


def install_redaction() -> None:
    """Every record created from now on, by any logger, is redacted (idempotent)."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """The root logger's handler (stderr), its format and level; redaction everywhere."""
    install_redaction()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "roshni", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.roshni = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(formatter_for(log_format))
    for each in root.handlers:  # including handlers someone else put there first
        if not any(isinstance(f, RedactingFilter) for f in each.filters):
            each.addFilter(RedactingFilter())
    root.setLevel(level)
    # Noise, not news, at INFO: Alembic lists every plugin it sets up on every command;
    # Twilio's SDK prints each request's URL and headers (every process that sends:
    # the web app, workers, `roshni whatsapp sync`), Stripe's each request and response;
    # fontTools chatters while making PDFs.
    for chatty in ("alembic.runtime.plugins", "twilio.http_client", "stripe", "fontTools"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))


# --- the request's id, for Flask -----------------------------------------------------------


def init_app(app: Any) -> None:
    """Every request gets an id (the caller's X-Request-ID when it is a plain token, else
    a new one), on its log lines and echoed in the response's X-Request-ID header."""
    from flask import g, request

    @app.before_request
    def _start_request() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        # A caller's id is kept only if it is a plain token with nothing to redact in it.
        if not (_REQUEST_ID.match(given) and redact(given) == given):
            given = new_request_id()
        g.roshni_log_tokens = (_request_id.set(given), _clinic_id.set(None))

    @app.after_request
    def _echo_request_id(response: Any) -> Any:
        request_id = _request_id.get()
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

    @app.teardown_request
    def _end_request(_exc: BaseException | None) -> None:
        tokens = g.pop("roshni_log_tokens", None)
        if tokens is not None:
            request_token, clinic_token = tokens
            try:
                _clinic_id.reset(clinic_token)
                _request_id.reset(request_token)
            except ValueError:  # set in another context (a copied one): just clear
                _clinic_id.set(None)
                _request_id.set(None)


# --- gunicorn ------------------------------------------------------------------------------

try:
    from gunicorn.glogging import Logger as _GunicornBaseLogger
except ImportError:  # pragma: no cover - gunicorn is a dependency; this keeps imports light
    _GunicornBaseLogger = object  # type: ignore[assignment,misc]

# Atoms an access log may show: no query string, no headers, no user, no environ.
_SAFE_ATOMS = ("h", "l", "t", "s", "m", "H", "b", "B", "T", "D", "M", "L", "p")


class GunicornLogger(_GunicornBaseLogger):  # type: ignore[misc,valid-type]
    """gunicorn's logger (``logger_class`` in gunicorn.conf.py): access lines whose path
    has its token segments masked and no query string; the request's id from the
    response; JSON lines when ``LOG_FORMAT=json``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_redaction()
        if os.environ.get("LOG_FORMAT", "text").strip().lower() == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    if getattr(handler, "_gunicorn", False):  # gunicorn's own, not another's
                        handler.setFormatter(JsonFormatter())

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        every = super().atoms(resp, req, environ, request_time)
        atoms = {key: every[key] for key in _SAFE_ATOMS if key in every}
        path = redact_path(environ.get("PATH_INFO") or "")
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = "-"
        atoms["u"] = "-"
        atoms["f"] = "-"
        atoms["a"] = redact(str(every.get("a", "-")))
        request_id = every.get("{x-request-id}o", "-")
        atoms["{x-request-id}o"] = request_id
        atoms["{x-request-id}i"] = request_id
        return atoms
