"""Sending email over SMTP (any provider), with the standard library's smtplib.

``SmtpSettings.parse`` reads ``SMTP_URL``: ``smtp://user:pass@host:587`` (STARTTLS when
there are credentials or the port is 587), ``smtps://user:pass@host:465`` (TLS from the
first byte), ``smtp://host:1025`` (plain, a development catcher). ``SmtpMailer.send``
raises ``EmailError``, which says whether trying again could help: a 5xx answer about
the recipient is permanent (the address bounces), a 4xx or a lost connection is not.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

TIMEOUT = 20.0  # seconds: a provider that hangs holds one send, not the queue


class SmtpUrlError(ValueError):
    """SMTP_URL is not one we can use; the message is one sentence for the operator."""


class EmailError(Exception):
    """A send that did not go. ``permanent``: trying again will not help; ``bounce``: the
    server refused the recipient's address itself (5xx to RCPT TO), so the address is no
    good; ``code`` is the SMTP reply code when there was one."""

    def __init__(
        self, reason: str, *, permanent: bool, bounce: bool = False, code: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.bounce = bounce
        self.code = code


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> SmtpSettings:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise SmtpUrlError("SMTP_URL is not a URL (smtp://user:pass@host:587)") from None
        if parts.scheme not in ("smtp", "smtps"):
            raise SmtpUrlError("SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise SmtpUrlError("SMTP_URL needs a host (smtp://user:pass@host:587)")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise SmtpUrlError("SMTP_URL takes no path or options: smtp://user:pass@host:587")
        if (parts.username is None) != (parts.password is None):
            raise SmtpUrlError("SMTP_URL needs both a user name and a password, or neither")
        implicit = parts.scheme == "smtps"
        port = port or (465 if implicit else 587)
        username = unquote(parts.username) if parts.username else None
        return cls(
            host=parts.hostname,
            port=port,
            implicit_tls=implicit,
            # Never send a password in the clear: credentials mean STARTTLS.
            starttls=not implicit and (username is not None or port == 587),
            username=username,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpMailer:
    """One connection per send: emails are few (receipts, confirmations, statements)."""

    def __init__(self, settings: SmtpSettings, *, timeout: float = TIMEOUT) -> None:
        self.settings = settings
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            if s.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            with client:
                if s.starttls:
                    client.starttls(context=ssl.create_default_context())
                if s.username is not None and s.password is not None:
                    client.login(s.username, s.password)
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refused(min((c for c, _ in exc.recipients.values()), default=None)) from None
        except smtplib.SMTPDataError as exc:  # the message itself refused: not the address
            permanent = 500 <= exc.smtp_code < 600
            raise EmailError(
                f"the mail server refused the message ({exc.smtp_code})",
                permanent=permanent,
                code=exc.smtp_code,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Login refused, a 4xx, a dropped connection, a timeout: ours to fix or wait out.
            code = getattr(exc, "smtp_code", None)
            raise EmailError(
                f"could not send through the mail server ({type(exc).__name__} {code or ''})",
                permanent=False,
                code=code,
            ) from None
        if refused:  # some recipients taken, some not: we send to one, so never here
            raise _refused(min(c for c, _ in refused.values()))


def _refused(code: int | None) -> EmailError:
    bounce = code is not None and 500 <= code < 600
    what = "refused the address" if bounce else "asked us to try later"
    return EmailError(
        f"the mail server {what} ({code})", permanent=bounce, bounce=bounce, code=code
    )
