"""Sending through Twilio's Messages API, with the official SDK. All outbound
Twilio HTTP goes through here.

``TWILIO_API_URL`` points the real SDK at another server speaking the same wire
format (a local one in tests and staging): every Twilio domain the project uses (the
Messages API, the Content API) goes to that one server (``twilio_client``). Errors come
back as ``SendError`` (``errors``), which says whether trying again could help.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from urllib3.exceptions import NameResolutionError, NewConnectionError

from integrations.twilio.errors import ListError, SendError, is_permanent


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str


@dataclass(frozen=True)
class ProviderMessage:
    """One message from Twilio's message list: what settles a send whose answer was lost."""

    sid: str
    body: str
    status: str
    created_at: datetime | None


def twilio_client(
    account_sid: str, auth_token: str, *, api_url: str | None = None, timeout: float = 10.0
) -> Client:
    """The official SDK's client for one account; with ``api_url``, its Messages
    (``api.twilio.com``) and Content (``content.twilio.com``) domains both go there."""
    client = Client(account_sid, auth_token)
    client.http_client.timeout = timeout
    if api_url:
        client.api.base_url = api_url.rstrip("/")
        client.content.base_url = api_url.rstrip("/")
    return client


class TwilioSender:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.account_sid = account_sid  # whose content templates its messages may use
        self.client = twilio_client(account_sid, auth_token, api_url=api_url, timeout=timeout)

    def send(
        self,
        *,
        from_: str,
        to: str,
        body: str | None = None,
        content_sid: str | None = None,
        content_variables: dict[str, str] | None = None,
        status_callback: str | None = None,
        media_url: str | None = None,
    ) -> Sent:
        """One message. WhatsApp addresses carry the ``whatsapp:`` prefix."""
        params: dict[str, object] = {"from_": from_, "to": to}
        if media_url:
            params["media_url"] = [media_url]
        if content_sid:
            params["content_sid"] = content_sid
            params["content_variables"] = json.dumps(content_variables or {})
        else:
            params["body"] = body or ""
        if status_callback:
            params["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as exc:
            code = int(exc.code) if exc.code else None
            raise SendError(
                f"Twilio refused the message (HTTP {exc.status}, code {code})",
                code=code,
                permanent=is_permanent(code, exc.status),
            ) from None
        except (TwilioException, OSError) as exc:  # timeouts, connection errors
            unknown = not _never_reached_twilio(exc)
            raise SendError(
                f"Twilio not reachable: {type(exc).__name__}",
                code=None,
                permanent=unknown,
                outcome_unknown=unknown,
            ) from None
        return Sent(sid=message.sid, status=message.status or "queued")

    def sent_since(
        self, *, from_: str, to: str, since: datetime, limit: int = 200
    ) -> list[ProviderMessage]:
        """Messages from ``from_`` to ``to`` that Twilio dates on or after ``since``, newest
        first (the SDK follows ``next_page_uri``). Raises ``ListError`` when Twilio cannot
        say, so that nothing is sent again on a guess."""
        try:
            found = self.client.messages.list(
                to=to,
                from_=from_,
                # The SDK writes the wall-clock digits followed by "Z": give it UTC.
                date_sent_after=since.astimezone(UTC),
                page_size=50,
                limit=limit,
            )
        except (TwilioException, OSError) as exc:
            raise ListError(f"Twilio's message list not readable: {type(exc).__name__}") from None
        return [
            ProviderMessage(
                sid=m.sid,
                body=m.body or "",
                status=m.status or "",
                created_at=m.date_created,
            )
            for m in found
        ]


def _never_reached_twilio(exc: BaseException) -> bool:
    """True when the request certainly never arrived (no connection was made), so
    trying again cannot duplicate a message. A read timeout or a connection dropped
    mid-request may have delivered it."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError | NameResolutionError)
    return False
