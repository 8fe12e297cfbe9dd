"""Error reports (SENTRY_DSN) leave without people in them; without a DSN, Sentry's SDK
is never even imported. The DSN points at a local server that takes Sentry's envelope
POSTs, as sentry.io would."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.config import PROJECT_ROOT, Config
from core.db import get_db
from roshni.app import create_app

PHONE = "+919876543210"


class EnvelopeServer:
    """Accepts POST /api/<project>/envelope/ and keeps each body, decompressed."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[str, str]] = []
        received = self.envelopes

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                elif encoding == "br":
                    import brotli  # only when the SDK found it installed

                    body = brotli.decompress(body)
                received.append((self.path, body.decode("utf-8", "replace")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://publickey0123456789@127.0.0.1:{self.server.server_address[1]}/42"

    def __enter__(self) -> EnvelopeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sentry_server() -> Iterator[EnvelopeServer]:
    import sentry_sdk

    with EnvelopeServer() as server:
        yield server
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: a disabled client for whatever runs next


def config_for(db, tmp_path, **extra: str) -> Config:
    return Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "s" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            **extra,
        }
    )


def test_an_error_is_reported_without_the_phone_number_in_it(db, tmp_path, sentry_server):
    import sentry_sdk

    app = create_app(config_for(db, tmp_path, SENTRY_DSN=sentry_server.dsn))

    @app.get("/boom")
    def boom():
        raise ValueError(f"could not reach {PHONE} (asha@example.com)")

    try:
        with pytest.raises(ValueError):  # the test app lets errors through, after Sentry
            app.test_client().get(
                "/boom?from=%2B919876543210", headers={"X-Twilio-Signature": "c2lnbmF0dXJl"}
            )
        sentry_sdk.flush(timeout=10)
    finally:
        get_db(app).dispose()

    events = [body for path, body in sentry_server.envelopes if path == "/api/42/envelope/"]
    [event] = [
        json.loads(line)
        for body in events
        for line in body.splitlines()
        if line.startswith("{") and '"exception"' in line
    ]
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    # The SDK's ids survive redaction (hex, but not secrets): the server files the event.
    assert re.fullmatch(r"[0-9a-f]{32}", event["event_id"])
    assert re.fullmatch(r"[0-9a-f]{32}", event["contexts"]["trace"]["trace_id"])
    everything = "\n".join(events)
    assert "could not reach [phone] ([email])" in everything
    for secret in (PHONE, "919876543210", "asha@example.com", "c2lnbmF0dXJl", "from="):
        assert secret not in everything


def test_without_a_dsn_sentry_is_never_imported(db, tmp_path):
    script = (
        "import sys\n"
        "from roshni.app import create_app\n"
        "from core.config import Config\n"
        f"config = Config.from_env({{'ROSHNI_ENV': 'test', 'DATABASE_URL': {db.url!r},"
        f" 'SECRET_KEY': 's' * 40, 'ROSHNI_INSTANCE_DIR': {str(tmp_path)!r}}})\n"
        "create_app(config)\n"
        "print('sentry_sdk' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "False"
