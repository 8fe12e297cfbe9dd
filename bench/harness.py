"""The production stack on this machine, for the fault suite (bench/faults.py) and its test.

    with stack(workers=2) as s:          # PostgreSQL, Redis, FakeTwilio, gunicorn, workers
        s.client().say("+919700000001", "hi")
        s.workers.kill9(0)               # the supervisor starts it again
        s.twilio.sent                    # every message Twilio accepted

- PostgreSQL: a throwaway database ``roshni_bench_<random>``, migrated with core.migrate,
  dropped at the end (``ROSHNI_BENCH_PG`` names another server). The web processes and the
  workers connect under their own ``application_name``, so a fault can pick its victims.
- Redis: one database number (``ROSHNI_FAULTS_REDIS``, default db 8), flushed at the start
  and the end. ``redis=None`` runs without Redis (the web process sends by itself).
- Twilio: ``tests.fake_twilio.FakeTwilio`` in this process; the app's Twilio SDK is pointed
  at it with ``TWILIO_API_URL``, as in the tests. It answers after ``twilio_latency``.
- gunicorn serving ``wsgi:app`` (2 workers x 4 threads, ``ROSHNI_ENV=production``) on a
  free loopback port; ``roshni worker`` processes under a supervisor that starts one again
  whenever it exits, as a platform does.

Every child starts through ``tests.clock.python_command``, so a test run with the clock
moved (``make test-clock``) moves these processes' clocks too.
"""

from __future__ import annotations

import http.client
import json
import os
import runpy
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time as clock
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

from redis import Redis
from rq import Worker
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from bench.slots import postgresql_database
from core.config import PROJECT_ROOT, Config
from core.db import Database
from jobs.runtime import Runtime, build_runtime
from tests.clock import python_command
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

REDIS_URL = os.environ.get("ROSHNI_FAULTS_REDIS", "redis://127.0.0.1:6379/8")
WEB_APP_NAME = "roshni-faults-web"
WORKER_APP_NAME = "roshni-faults-worker"
WHATSAPP_PATH = "/webhooks/twilio/whatsapp"
GUNICORN_CONFIG = "gunicorn.conf.py"  # production's settings (Procfile's web), whatever they are
START_TIMEOUT = 45.0  # seconds for gunicorn to answer, or workers to register
RESTART_DELAY = 0.3  # seconds between a worker's exit and its replacement


def gunicorn_command(port: int) -> list[str]:
    """gunicorn as production runs it (``-c gunicorn.conf.py``), bound to 127.0.0.1:port."""
    return python_command(
        "gunicorn", "-c", GUNICORN_CONFIG, "--bind", f"127.0.0.1:{port}", "wsgi:app"
    )


def gunicorn_shape() -> tuple[int, int]:
    """(workers, threads) that production's gunicorn settings give in this environment."""
    settings = runpy.run_path(str(PROJECT_ROOT / GUNICORN_CONFIG))
    return int(settings.get("workers", 1)), int(settings.get("threads", 1))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- gunicorn --------------------------------------------------------------------------


class Gunicorn:
    """gunicorn serving wsgi:app on 127.0.0.1:``port``."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = gunicorn_command(self.port)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = clock.monotonic() + START_TIMEOUT
        while clock.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"gunicorn exited ({code}):\n{tail(self.log)}")
            probe = Client(self.port)
            try:
                if probe.get("/healthz")[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                probe.close()
            clock.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in {START_TIMEOUT:.0f} s:\n{tail(self.log)}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: requests in flight finish
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")


# --- workers ---------------------------------------------------------------------------


class Workers:
    """``roshni worker`` processes under a supervisor that replaces any that exits."""

    def __init__(self, count: int, env: dict[str, str], log: IO[bytes]) -> None:
        self.env = env
        self.log = log
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.restarts = 0
        self.exits: list[int] = []  # return codes of workers that ended
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            python_command("roshni.cli", "worker"),
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> None:
        with self._lock:
            self.procs = [self._spawn() for _ in self.procs]
        self._supervisor.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.05):
            with self._lock:
                for index, proc in enumerate(self.procs):
                    if proc is not None and proc.poll() is not None:
                        self.exits.append(proc.returncode)
                        self.procs[index] = None
                        threading.Timer(RESTART_DELAY, self._replace, (index,)).start()

    def _replace(self, index: int) -> None:
        with self._lock:
            if self._stopping.is_set() or self.procs[index] is not None:
                return
            self.procs[index] = self._spawn()
            self.restarts += 1

    def kill9(self, index: int) -> int | None:
        """SIGKILL worker ``index`` (its main process, as an OOM killer would); its pid."""
        with self._lock:
            proc = self.procs[index]
            if proc is None or proc.poll() is not None:
                return None
            os.kill(proc.pid, signal.SIGKILL)
            return proc.pid

    def wait_registered(self, redis: Redis, count: int | None = None) -> float:
        """Until ``count`` (default: all) workers are registered in Redis; seconds waited."""
        wanted = len(self.procs) if count is None else count
        started = clock.monotonic()
        while len(Worker.all(connection=redis)) < wanted:
            if clock.monotonic() - started > START_TIMEOUT:
                raise RuntimeError(f"{wanted} workers did not register within {START_TIMEOUT} s")
            clock.sleep(0.05)
        return clock.monotonic() - started

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join()
        with self._lock:
            running = [p for p in self.procs if p is not None and p.poll() is None]
        stop_process_groups(running)


def stop_process_groups(procs: list[subprocess.Popen], grace: float = 10) -> None:
    """SIGTERM each process's group, then SIGKILL the groups still there after ``grace``
    seconds (one deadline for all)."""
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = clock.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - clock.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- the client (Twilio's side of the webhook) -----------------------------------------


@dataclass
class Ledger:
    """Every webhook posted: its MessageSid, its answer, when it was answered."""

    sids: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # 0: no answer (connection failed)
    answered_at: list[float] = field(default_factory=list)  # monotonic, 200s only
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, sid: str, status: int) -> None:
        with self.lock:
            self.sids.append(sid)
            self.statuses.append(status)
            if status == 200:
                self.answered_at.append(clock.monotonic())

    @property
    def server_errors(self) -> int:
        return sum(1 for s in self.statuses if s >= 500)

    @property
    def unanswered(self) -> int:
        return sum(1 for s in self.statuses if s == 0)


# How long a reply sent through the outbox may take to reach the Twilio stand-in.
REPLY_WAIT = 15.0


class Client:
    """One keep-alive connection; WhatsApp webhooks signed as Twilio signs them.

    With a Twilio account configured, the app answers a known contact through the outbox
    (empty TwiML, the reply sent through the Messages API): given the stand-in
    (``twilio``), ``say`` then waits for that message and returns its words."""

    def __init__(
        self,
        port: int,
        ledger: Ledger | None = None,
        token: str = AUTH_TOKEN,
        twilio: FakeTwilio | None = None,
    ) -> None:
        self.port = port
        self.twilio = twilio
        self.ledger = ledger if ledger is not None else Ledger()
        self.validator = RequestValidator(token)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request("GET", path, None, {})

    def say(self, phone: str, text: str, to: str) -> tuple[int, str]:
        """One inbound WhatsApp message from ``phone`` to the clinic's number ``to``:
        (HTTP status, the reply's text; status 0 when no answer came)."""
        sid = f"SM{uuid.uuid4().hex}"
        params = {
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{phone}",
            "To": f"whatsapp:{to}",
            "Body": text,
            "NumMedia": "0",
            "ProfileName": "Faults",
            "WaId": phone.lstrip("+"),
        }
        url = f"http://127.0.0.1:{self.port}{WHATSAPP_PATH}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(url, params),
        }
        address = f"whatsapp:{phone}"
        before = self._sent_to(address)
        try:
            status, body = self._request("POST", WHATSAPP_PATH, urlencode(params).encode(), headers)
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
        self.ledger.record(sid, status)
        if status != 200:
            return status, ""
        text = replies(body)
        if not text and self.twilio is not None:
            text = self._await_sent(address, before)
        return status, text

    def _sent_to(self, address: str) -> int:
        if self.twilio is None:
            return 0
        return sum(1 for m in list(self.twilio.sent) if m.get("To") == address)

    def _await_sent(self, address: str, before: int) -> str:
        """The words of the first message the stand-in took for ``address`` after the
        ``before`` it had ("" when none came within REPLY_WAIT: a turn left quiet)."""
        assert self.twilio is not None
        deadline = clock.monotonic() + REPLY_WAIT
        while clock.monotonic() < deadline:
            to_phone = [m for m in list(self.twilio.sent) if m.get("To") == address]
            if len(to_phone) > before:
                sent = to_phone[before]
                if sent.get("Body"):
                    return sent["Body"]
                return json.loads(sent.get("ContentVariables") or "{}").get("1", "")
            clock.sleep(0.01)
        return ""

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        # A keep-alive connection the server closed between requests is reopened once
        # (the request never reached the app). Twilio itself does not retry a webhook.
        return keepalive_request(
            self.conn,
            method,
            path,
            body,
            headers,
            retry_on=(http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError),
        )

    def close(self) -> None:
        self.conn.close()


def keepalive_request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    *,
    retry_on: tuple[type[Exception], ...],
) -> tuple[int, bytes]:
    """One request on a keep-alive connection: (status, body). On ``retry_on`` the
    connection is closed (the next request reconnects) and the request sent once more."""
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.will_close:
                conn.close()
            return response.status, data
        except retry_on:
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def replies(body: bytes) -> str:
    """The text of a TwiML answer's <Message> elements, joined."""
    if not body.strip():
        return ""
    root = ET.fromstring(body)  # noqa: S314 - our own server's TwiML
    return "\n".join(m.text or "" for m in root.iter("Message"))


# --- the whole stack -------------------------------------------------------------------


@dataclass
class Stack:
    database: Database  # this process's own connection (not the app's application_name)
    twilio: FakeTwilio
    redis: Redis | None
    web: Gunicorn
    workers: Workers | None
    env: dict[str, str]
    instance_dir: Path

    @property
    def port(self) -> int:
        return self.web.port

    def client(self, ledger: Ledger | None = None) -> Client:
        return Client(self.web.port, ledger, twilio=self.twilio)

    def runtime(self) -> Runtime:
        """The jobs runtime as the workers build it (for a sweep from this process)."""
        return build_runtime(Config.from_env(self.env), database=self.database)

    def terminate_web_connections(self) -> int:
        """pg_terminate_backend on every connection of the web processes; how many."""
        with self.database.engine.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": WEB_APP_NAME},
            ).scalar_one()
            conn.commit()
        return int(killed)


@contextmanager
def stack(
    *,
    workers: int = 2,
    redis_url: str | None = REDIS_URL,
    twilio_latency: float = 0.0,
) -> Iterator[Stack]:
    """Everything up (database migrated, gunicorn answering, workers registered); all of it
    stopped, the database dropped and the Redis db flushed on the way out."""
    if workers and not redis_url:
        raise ValueError("workers need Redis")
    with ExitStack() as exits:
        redis = None
        if redis_url:
            redis = Redis.from_url(redis_url)
            redis.ping()
            redis.flushdb()
            exits.callback(redis.close)
            exits.callback(redis.flushdb)
        database = exits.enter_context(postgresql_database())
        twilio = exits.enter_context(FakeTwilio())
        twilio.delay_responses(twilio_latency)
        tmp = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="roshni_faults_")))
        port = free_port()
        base = {
            **os.environ,
            "ROSHNI_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ROSHNI_INSTANCE_DIR": str(tmp),
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_URL": twilio.url,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "LOG_LEVEL": "WARNING",
        }
        base.pop("REDIS_URL", None)
        if redis_url:
            base["REDIS_URL"] = redis_url
        env = {**base, "DATABASE_URL": f"{database.url}?application_name={WORKER_APP_NAME}"}
        web_env = {**base, "DATABASE_URL": f"{database.url}?application_name={WEB_APP_NAME}"}
        web = Gunicorn(web_env, port, tmp / "gunicorn.log")
        exits.callback(web.stop)
        web.start()
        pool = None
        if workers:
            assert redis is not None
            log = exits.enter_context((tmp / "workers.log").open("ab"))
            pool = Workers(workers, env, log)
            exits.callback(pool.stop)
            pool.start()
            pool.wait_registered(redis)
        yield Stack(database, twilio, redis, web, pool, env, tmp)
