"""A small local server that speaks Twilio's Messages API, for the real Twilio SDK.

    with FakeTwilio() as twilio:
        sender = TwilioSender("AC…", "token", api_url=twilio.url)
        twilio.fail_next(63016, status=400)   # the next create answers with that error
        …
        twilio.sent                             # every accepted message, in order
        twilio.fail_next_list(20500, status=500) # the next message-list read fails

It implements ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form
encoded; answers 201 with the JSON resource, as Twilio does), ``GET`` of the same
path (the message list: ``To``, ``From``, ``DateSent``/``DateSent<``/``DateSent>``
filters, newest first, pages of ``PageSize`` linked by ``next_page_uri`` as Twilio
documents), and errors in Twilio's JSON error format. It checks HTTP basic auth
against the account. Inbound media (``add_media``) is served at Twilio's media path, with
Basic auth, by a redirect to the file. Messages are dated by ``state.clock`` (the real
clock unless a test sets another), so tests on a fixed calendar can list them.

The Content API (``content.twilio.com``, whose paths start ``/v1/Content``) is served by
the same server: ``POST /v1/Content`` (a JSON body: ``friendly_name``, ``language``,
``variables``, ``types``; answers 201 with the resource, SID ``HX…``), ``GET
/v1/Content/{sid}``, ``DELETE /v1/Content/{sid}`` (204), and ``GET /v1/Content`` (pages of
``PageSize`` under ``contents``, linked by ``meta.next_page_url`` as the real API does).
Each account sees only its own content; ``add_account`` lets a test use several accounts.
``twilio.contents`` is what exists now, ``twilio.content_creates`` how many were created.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
CONTENT_PATH = "/v1/Content"
# The Content API's limits the stand-in enforces at creation, on literal text (a text
# holding a {{variable}} is checked when a message fills it, which Twilio does at send).
CONTENT_LIMITS = {
    "body": 1024,
    "title": 20,  # a quick-reply button, sent in session (WhatsApp)
    "button": 20,
    "item": 24,
    "description": 72,
    "id": 200,
}


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
    list_errors: list[Scripted] = field(default_factory=list)
    lists: int = 0  # message-list pages served
    dated: list[datetime] = field(default_factory=list)  # when each of ``sent`` was taken
    delay: float = 0.0
    # What dates each accepted message (Twilio's clock); tests on a fixed calendar set it.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    lock: threading.Lock = field(default_factory=threading.Lock)
    sids: Any = field(default_factory=lambda: itertools.count(1))
    # Inbound media: the file behind each media path, and what was fetched.
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_fetches: list[str] = field(default_factory=list)
    # The Content API: every template, by SID, with the account that owns it.
    contents: dict[str, dict[str, Any]] = field(default_factory=dict)
    content_owners: dict[str, str] = field(default_factory=dict)
    content_creates: int = 0
    content_errors: list[Scripted | None] = field(default_factory=list)  # None: answer
    content_sids: Any = field(default_factory=lambda: itertools.count(1))
    # Accounts besides the server's own: SID → auth token.
    accounts: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up before its answer (a worker killed mid-request, in the
        # fault suite) is no error of the server's: the message was accepted all the same.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeTwilio:
    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.state = FakeTwilioState()
        self._server = _Server((host, port), self._handler())
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

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        self.state.clock = clock

    def fail_next_list(self, code: int, *, status: int = 500, message: str = "scripted") -> None:
        """The next message-list page answers with this Twilio error."""
        with self.state.lock:
            self.state.list_errors.append(Scripted(code, status, message))

    def add_media(
        self, data: bytes, content_type: str, *, declared_length: int | None = None
    ) -> str:
        """A file a patient sent: returns its ``MediaUrl`` as Twilio would put it in the
        webhook. Fetching it needs the account's Basic auth and answers with a redirect
        to the file's short-lived address (which needs none), as Twilio does.
        ``declared_length`` sends another Content-Length than the file's."""
        with self.state.lock:
            n = len(self.state.media) + 1
            path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{n:032x}/Media/ME{n:032x}"
            token = f"{n:08x}{secrets.token_hex(8)}"
            self.state.media[path] = (data, token)
            self.state.files[token] = (data, content_type)
            if declared_length is not None:
                self.state.files[token] = (data, f"{content_type}|{declared_length}")
        return self.url + path

    @property
    def media_fetches(self) -> list[str]:
        with self.state.lock:
            return list(self.state.media_fetches)

    def add_account(self, account_sid: str, auth_token: str) -> None:
        """Another account this server answers for (its own content, its own messages
        are not kept apart: only the Content API separates accounts)."""
        with self.state.lock:
            self.state.accounts[account_sid] = auth_token

    def fail_next_content(
        self, code: int, *, status: int = 400, message: str = "scripted", after: int = 0
    ) -> None:
        """The next Content API request (or the one after ``after`` more) answers with
        this Twilio error."""
        with self.state.lock:
            self.state.content_errors += [None] * after + [Scripted(code, status, message)]

    @property
    def contents(self) -> dict[str, dict[str, Any]]:
        """The content templates that exist now, by SID (each as the API answers it)."""
        with self.state.lock:
            return {sid: dict(resource) for sid, resource in self.state.contents.items()}

    @property
    def content_creates(self) -> int:
        with self.state.lock:
            return self.state.content_creates

    def delete_content(self, sid: str) -> None:
        """Someone deleted the template in Twilio's console."""
        with self.state.lock:
            self.state.contents.pop(sid, None)
            self.state.content_owners.pop(sid, None)

    def delay_responses(self, seconds: float) -> None:
        self.state.delay = seconds

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _resource(self, index: int, *, status: str) -> dict[str, Any]:
        form, dated = self.state.sent[index], self.state.dated[index]
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages"
        stamp = format_datetime(dated, usegmt=True).replace("GMT", "+0000")
        return {
            "sid": form["Sid"],
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form["From"],
            "body": form.get("Body", ""),
            "status": status,
            "num_segments": "1",
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "messaging_service_sid": None,
            "uri": f"{base}/{form['Sid']}.json",
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": stamp if status != "queued" else None,
            "subresource_uris": {"media": f"{base}/{form['Sid']}/Media.json"},
        }

    def _list_page(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        """One page of the message list, newest first, as Twilio documents it."""
        size = min(int(query.get("PageSize") or 50), 1000)
        page = int(query.get("Page") or 0)
        after = _when(query.get("DateSent>"))
        before = _when(query.get("DateSent<"))
        on = _when(query.get("DateSent"))
        with self.state.lock:
            matches = [
                i
                for i in reversed(range(len(self.state.sent)))
                if query.get("To", self.state.sent[i]["To"]) == self.state.sent[i]["To"]
                and query.get("From", self.state.sent[i]["From"]) == self.state.sent[i]["From"]
                and (after is None or self.state.dated[i] >= after)
                and (before is None or self.state.dated[i] <= before)
                and (on is None or self.state.dated[i].date() == on.date())
            ]
            chunk = matches[page * size : (page + 1) * size]
            # Accepted messages have gone out by the time anyone lists them.
            messages = [self._resource(i, status="sent") for i in chunk]
        filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(number: int) -> str:
            params = {**filters, "PageSize": size, "Page": number}
            if number:
                params["PageToken"] = f"PA{number}"
            return f"{path}?{urlencode(params)}"

        more = (page + 1) * size < len(matches)
        return {
            "messages": messages,
            "uri": uri(page),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page else None,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(messages) - 1, 0),
        }

    def _create_content(self, account: str, request: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            sid = f"HX{next(self.state.content_sids):032x}"
            stamp = self.state.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            url = f"{self.url}{CONTENT_PATH}/{sid}"
            resource = {
                "sid": sid,
                "account_sid": account,
                "friendly_name": request["friendly_name"],
                "language": request["language"],
                "variables": request["variables"],
                "types": request["types"],
                "url": url,
                "links": {
                    "approval_fetch": f"{url}/ApprovalRequests",
                    "approval_create": f"{url}/ApprovalRequests/whatsapp",
                },
                "date_created": stamp,
                "date_updated": stamp,
            }
            self.state.contents[sid] = resource
            self.state.content_owners[sid] = account
            self.state.content_creates += 1
            return dict(resource)

    def _content_page(self, account: str, query: dict[str, str]) -> dict[str, Any]:
        """One page of the account's content, oldest first, with the ``meta`` block the
        Content API answers (absolute page URLs; the SDK follows ``next_page_url``)."""
        size = max(1, min(int(query.get("PageSize") or 50), 1000))
        page = int(query.get("Page") or 0)
        with self.state.lock:
            mine = [
                dict(r)
                for sid, r in self.state.contents.items()
                if self.state.content_owners[sid] == account
            ]
        chunk = mine[page * size : (page + 1) * size]

        def url(number: int) -> str:
            params: dict[str, Any] = {"PageSize": size, "Page": number}
            if number:
                params["PageToken"] = f"PT{number}"
            return f"{self.url}{CONTENT_PATH}?{urlencode(params)}"

        more = (page + 1) * size < len(mine)
        return {
            "contents": chunk,
            "meta": {
                "page": page,
                "page_size": size,
                "first_page_url": url(0),
                "previous_page_url": url(page - 1) if page else None,
                "url": url(page),
                "next_page_url": url(page + 1) if more else None,
                "key": "contents",
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                if urlsplit(self.path).path == CONTENT_PATH:
                    return self._content("POST", None)
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
                    state.dated.append(state.clock().astimezone(UTC).replace(microsecond=0))
                    index = len(state.sent) - 1
                self._json(201, fake._resource(index, status="queued"))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == CONTENT_PATH or url.path.startswith(CONTENT_PATH + "/"):
                    return self._content("GET", url)
                if url.path in fake.state.media:
                    return self._media(url.path)
                if url.path.startswith("/files/"):
                    return self._file(url.path[len("/files/") :])
                expected = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                if url.path != expected:
                    return self._error(404, 20404, "The requested resource was not found")
                if not self._authorised():
                    return self._error(401, 20003, "Authenticate")
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with fake.state.lock:
                    fake.state.lists += 1
                    scripted = fake.state.list_errors.pop(0) if fake.state.list_errors else None
                if scripted is not None:
                    return self._error(scripted.status, scripted.code, scripted.message)
                try:
                    self._json(200, fake._list_page(expected, query))
                except ValueError as exc:
                    self._error(400, 20001, str(exc))

            def do_DELETE(self) -> None:
                url = urlsplit(self.path)
                if not url.path.startswith(CONTENT_PATH + "/"):
                    return self._error(404, 20404, "The requested resource was not found")
                return self._content("DELETE", url)

            def _content(self, method: str, url: Any) -> None:
                account = self._account()
                if account is None:
                    return self._error(401, 20003, "Authenticate")
                state = fake.state
                with state.lock:
                    scripted = state.content_errors.pop(0) if state.content_errors else None
                if scripted is not None:
                    return self._error(scripted.status, scripted.code, scripted.message)
                if method == "POST":
                    length = int(self.headers.get("Content-Length") or 0)
                    if "json" not in (self.headers.get("Content-Type") or ""):
                        return self._error(415, 20415, "Content-Type must be application/json")
                    try:
                        body = json.loads(self.rfile.read(length) or b"null")
                        request = _content_request(body)
                    except ValueError as exc:
                        return self._error(400, 20001, str(exc))
                    return self._json(201, fake._create_content(account, request))
                sid = url.path[len(CONTENT_PATH) + 1 :]
                if not sid:
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    return self._json(200, fake._content_page(account, query))
                with state.lock:
                    found = state.content_owners.get(sid) == account
                    if found and method == "DELETE":
                        del state.contents[sid], state.content_owners[sid]
                    resource = state.contents.get(sid)
                if not found:
                    return self._error(
                        404, 20404, f"The requested resource /Content/{sid} was not found"
                    )
                if method == "DELETE":
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._json(200, resource)

            def _media(self, path: str) -> None:
                if not self._authorised():
                    return self._error(401, 20003, "Authenticate")
                with fake.state.lock:
                    fake.state.media_fetches.append(path)
                    _data, token = fake.state.media[path]
                self.send_response(307)
                self.send_header("Location", f"{fake.url}/files/{token}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _file(self, token: str) -> None:
                with fake.state.lock:
                    found = fake.state.files.get(token)
                if found is None:
                    return self._error(404, 20404, "The requested resource was not found")
                data, content_type = found
                content_type, _, declared = content_type.partition("|")
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", declared or str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def _authorised(self) -> bool:
                return self._account() == fake.account_sid

            def _account(self) -> str | None:
                """The account whose credentials came with the request, if they are right."""
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return None
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                with fake.state.lock:
                    known = {fake.account_sid: fake.auth_token, **fake.state.accounts}
                return user if known.get(user) == password and password else None

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
                # The client may have given up waiting (a timeout test): Twilio has it anyway.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        return Handler


def _when(value: str | None) -> datetime | None:
    """A DateSent filter: ``YYYY-MM-DD`` or the SDK's ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    if not value:
        return None
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _without_nulls(value: Any) -> Any:
    """The SDK sends every type it knows, unset ones as null: Twilio keeps only the rest."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _content_request(body: Any) -> dict[str, Any]:
    """A create request as the Content API checks it; raises ValueError with its reason."""
    if not isinstance(body, dict):
        raise ValueError("The request body must be a JSON object")
    body = _without_nulls(body)
    language = body.get("language")
    if not isinstance(language, str) or not language:
        raise ValueError("Missing required parameter language")
    types = body.get("types")
    if not isinstance(types, dict) or not types:
        raise ValueError("Missing required parameter types")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ValueError("variables must map names to strings")
    for kind, spec in types.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{kind} must be an object")
        if kind == "twilio/text":
            _check(spec, "body")
        elif kind == "twilio/quick-reply":
            _check(spec, "body")
            actions = spec.get("actions")
            if not isinstance(actions, list) or not 1 <= len(actions) <= 10:
                raise ValueError("twilio/quick-reply needs 1 to 10 actions")
            for action in actions:
                _check(action, "title")
                _check(action, "id")
        elif kind == "twilio/list-picker":
            _check(spec, "body")
            _check(spec, "button")
            items = spec.get("items")
            if not isinstance(items, list) or not 1 <= len(items) <= 10:
                raise ValueError("twilio/list-picker needs 1 to 10 items")
            for item in items:
                for name in ("item", "id", "description"):
                    _check(item, name)
        else:
            raise ValueError(f"Content type {kind} is not served by this stand-in")
    return {
        "friendly_name": body.get("friendly_name"),
        "language": language,
        "variables": variables,
        "types": types,
    }


def _check(spec: Any, name: str) -> None:
    value = spec.get(name) if isinstance(spec, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Missing required parameter {name}")
    if "{{" not in value and len(value) > CONTENT_LIMITS[name]:
        raise ValueError(f"{name} is longer than {CONTENT_LIMITS[name]} characters")
