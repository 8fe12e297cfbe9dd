"""Is a backing service reachable? One short, bounded check each, for probes and `roshni doctor`."""

from __future__ import annotations

import redis


def redis_status(url: str) -> str:
    """``"ok"``, or ``"error: <kind>"`` when Redis does not answer a PING within two seconds."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
