"""A small per-client request limit for pages anyone can open (the patient's payment pages,
reached by a token in the URL): enough tries for a person, far too few to guess tokens.

Counts live in Redis when it is configured, so every web process shares them; otherwise
in this process's memory. A fixed window per minute: simple, and a burst at a window's
edge at most doubles what one client gets. Client addresses are counted only as keyed
hashes. When Redis cannot be reached the page is served: a limit is not worth an outage.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
_KEY_PREFIX = "roshni:limit:"


class MemoryCounter:
    """Counts per key and window in this process (the embedded, no-Redis mode)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._window = 0

    def hit(self, key: str, window: int, seconds: int) -> int:
        with self._lock:
            if window != self._window:  # a new window: the old counts can go
                self._counts.clear()
                self._window = window
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class RedisCounter:
    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, key: str, window: int, seconds: int) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, seconds + 1)
        count, _ = pipe.execute()
        return int(count)


def init_app(app: Flask) -> None:
    """Set up the counter once per app (every blueprint with limited pages may ask)."""
    if "roshni.rate_limit" in app.extensions:
        return
    config = app.config["ROSHNI"]
    app.extensions["roshni.rate_limit"] = (
        RedisCounter(config.redis_url) if config.redis_url else MemoryCounter()
    )


def limited(name: str, *, per_minute: int, refusal: Callable[[], Response]) -> Callable[[F], F]:
    """Allow each client address ``per_minute`` requests a minute to the routes sharing
    ``name``; past that, ``refusal()`` (a 429 with Retry-After)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wait = _over_limit(name, per_minute)
            if wait is not None:
                response = refusal()
                response.status_code = 429
                response.headers["Retry-After"] = str(wait)
                return response
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _over_limit(name: str, per_minute: int) -> int | None:
    """Seconds to wait when this request is over the limit, else None."""
    counter = current_app.extensions["roshni.rate_limit"]
    now = time.time()
    window = int(now // 60)
    client = hmac.new(
        (current_app.secret_key or "").encode(),
        (request.remote_addr or "unknown").encode(),
        hashlib.sha256,
    ).hexdigest()[:32]
    key = f"{_KEY_PREFIX}{name}:{client}:{window}"
    try:
        count = counter.hit(key, window, 60)
    except (RedisError, OSError) as exc:  # Redis down or slow: serve the page, not a 500
        log.warning("rate limit not checked (%s): %s", name, type(exc).__name__)
        return None
    if count <= per_minute:
        return None
    return max(1, int((window + 1) * 60 - now))
