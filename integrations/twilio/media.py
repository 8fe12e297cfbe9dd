"""Fetching a file a patient sent (``MediaUrl{n}`` of an inbound webhook) from Twilio.

Twilio serves media only to the account's credentials (HTTP Basic, account SID and auth
token) and answers with a redirect to a short-lived address on its file host; requests
drops the credentials when a redirect leaves Twilio's host. Goes through the official
SDK's HTTP client session (its adapters and pooling). Credentials are sent only to the
configured Twilio API host; a URL elsewhere is refused unread. Nothing here logs a URL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from twilio.http.http_client import TwilioHttpClient

TWILIO_API = "https://api.twilio.com"
CHUNK = 64 * 1024


class MediaError(Exception):
    """A file that could not be had; ``reason`` is a short phrase for the panel, and
    ``permanent`` says whether trying again could help."""

    def __init__(self, reason: str, *, permanent: bool, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.refused = refused  # refused by our rules (type, size), not a failure


@dataclass(frozen=True)
class FetchedMedia:
    content_type: str
    data: bytes
    sha256: str


class TwilioMediaFetcher:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_url: str | None = None,
        timeout: float = 20.0,
    ) -> None:
        self._auth = (account_sid, auth_token)
        self._origin = _origin(api_url or TWILIO_API)
        self._timeout = timeout
        self._http = TwilioHttpClient(timeout=timeout)

    def fetch(self, url: str, *, max_bytes: int, accept: frozenset[str]) -> FetchedMedia:
        """The file at ``url``, refused when its type is not in ``accept`` or it is larger
        than ``max_bytes`` (checked on the declared length and again while reading)."""
        if _origin(url) != self._origin:
            raise MediaError("not a Twilio media address", permanent=True, refused=True)
        session = self._http.session or requests.Session()
        try:
            with session.get(
                url, auth=self._auth, timeout=self._timeout, allow_redirects=True, stream=True
            ) as response:
                if response.status_code in (401, 403, 404):
                    raise MediaError(f"Twilio answered HTTP {response.status_code}", permanent=True)
                if response.status_code != 200:
                    raise MediaError(
                        f"Twilio answered HTTP {response.status_code}", permanent=False
                    )
                content_type = base_type(response.headers.get("Content-Type", ""))
                if content_type not in accept:
                    raise MediaError(
                        f"type {content_type or 'unknown'} not accepted",
                        permanent=True,
                        refused=True,
                    )
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaError(_too_large(max_bytes), permanent=True, refused=True)
                data = bytearray()
                for chunk in response.iter_content(CHUNK):
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        raise MediaError(_too_large(max_bytes), permanent=True, refused=True)
        except requests.RequestException as exc:
            raise MediaError(
                f"Twilio not reachable: {type(exc).__name__}", permanent=False
            ) from None
        body = bytes(data)
        return FetchedMedia(content_type, body, hashlib.sha256(body).hexdigest())


def base_type(content_type: str) -> str:
    """``audio/ogg; codecs=opus`` → ``audio/ogg``."""
    return content_type.split(";", 1)[0].strip().lower()


def _too_large(max_bytes: int) -> str:
    return f"larger than {max_bytes // (1024 * 1024)} MB"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port
