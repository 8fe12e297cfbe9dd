"""A small local server that speaks Twilio's Messages API, for the real Twilio SDK.

    with FakeTwilio() as twilio:
        sender = TwilioSender("AC…", "token", api_url=twilio.url)
        twilio.fail_next(63016, status=400)   # the next create answers with that error
        …
        twilio.sent                             # every accepted message, in order

It implements ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form
encoded; answers 201 with the JSON resource, as Twilio does) and errors in
Twilio's JSON error format. It checks HTTP basic auth against the account.
"""

from __future__ import annotations

import base64
import itertools
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "fake-twilio-auth-token"


@dataclass
class Scripted:
    code: int
    status: int
    message: str


@dataclass
class FakeTwilioState:
    sent: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    errors: list[Scripted] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    sids: Any = field(default_factory=lambda: itertools.count(1))


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up before its answer (a worker killed mid-request, in the
        # fault suite) is no error of the server's: the message was accepted all the same.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.state = FakeTwilioState()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def sent(self) -> list[dict[str, str]]:
        with self.state.lock:
            return list(self.state.sent)

    def fail_next(self, code: int, *, status: int = 400, message: str = "scripted error") -> None:
        """The next create answers with this Twilio error (queue several for several)."""
        with self.state.lock:
            self.state.errors.append(Scripted(code, status, message))

    def delay_responses(self, seconds: float) -> None:
        self.state.delay = seconds

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                expected = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                if self.path != expected:
                    return self._error(404, 20404, "The requested resource was not found")
                if not self._authorised():
                    return self._error(401, 20003, "Authenticate")
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                state = fake.state
                with state.lock:
                    state.requests += 1
                    scripted = state.errors.pop(0) if state.errors else None
                if state.delay:
                    time.sleep(state.delay)
                if scripted is not None:
                    return self._error(scripted.status, scripted.code, scripted.message)
                if "To" not in form or "From" not in form:
                    return self._error(400, 21604, "A 'To' and a 'From' are required")
                if not form.get("Body") and not form.get("ContentSid"):
                    return self._error(400, 21602, "Message body is required")
                with state.lock:
                    sid = f"SM{next(state.sids):032x}"
                    state.sent.append({**form, "Sid": sid})
                self._json(
                    201,
                    {
                        "sid": sid,
                        "account_sid": fake.account_sid,
                        "to": form["To"],
                        "from": form["From"],
                        "body": form.get("Body", ""),
                        "status": "queued",
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "price": None,
                        "error_code": None,
                        "error_message": None,
                        "uri": f"{expected[:-5]}/{sid}.json",
                        "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                    },
                )

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return False
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                return user == fake.account_sid and password == fake.auth_token

            def _error(self, status: int, code: int, message: str) -> None:
                self._json(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
