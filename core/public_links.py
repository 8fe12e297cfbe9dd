"""Links to our own public pages that name a record by a signed token (itsdangerous,
keyed with the app's secret): nothing to store, unguessable, and a forged or altered
token reads as nothing. Each purpose signs with its own salt, so a token made for one
page never opens another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from core.config import Config

MAX_TOKEN = 200  # longer than any token we make: read nothing longer


@dataclass(frozen=True)
class PublicLinks:
    """Where patients' links point (the public base URL) and the key that signs them."""

    base_url: str
    secret_key: str

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"

    def sign(self, purpose: str, payload: Any) -> str:
        return sign(self.secret_key, purpose, payload)


def links_for(config: Config, base_url: str | None = None) -> PublicLinks:
    """The deployment's links: PUBLIC_BASE_URL, else ``base_url`` (the address a request
    came to), else the local server."""
    base = config.public_base_url or base_url or f"http://{config.host}:{config.port}"
    return PublicLinks(base_url=base.rstrip("/"), secret_key=config.secret_key)


def sign(secret_key: str, purpose: str, payload: Any) -> str:
    """A URL-safe token carrying ``payload`` (JSON-able), signed for ``purpose``."""
    return _serializer(secret_key, purpose).dumps(payload)


def unsign(secret_key: str, purpose: str, token: str) -> Any | None:
    """The payload ``sign`` put in ``token`` for ``purpose``, or None (forged, altered,
    made for another purpose or another key)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        return _serializer(secret_key, purpose).loads(token)
    except BadSignature:
        return None


def _serializer(secret_key: str, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=f"roshni.link.{purpose}")
