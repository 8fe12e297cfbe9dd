"""What must never reach a log line or an error report: people and secrets.

``redact(text)`` masks phone numbers (E.164, URL-encoded, and local digit runs),
e-mail addresses, the tokens in patient links (``/pay/receipt/<token>.pdf``,
``/reports/<token>.pdf``,
``/pay/upi/<token>``), query strings, provider signatures, bearer tokens and
anything named like a secret (``signature=…``, ``"auth_token": …``). Masking too much
is the safe failure: a date written as ten digits in a row is masked like a phone.

Message bodies and clinical text cannot be recognised by their shape; they are kept
out of logs where they would enter: SQL parameters are hidden by the engine
(``hide_parameters``) and SQLAlchemy's result-row lines are dropped here.
"""

from __future__ import annotations

import re

PHONE_MASK = "[phone]"
EMAIL_MASK = "[email]"
TOKEN_MASK = "[token]"  # noqa: S105 - a mask, not a secret
SECRET_MASK = "[redacted]"  # noqa: S105
ROW_MASK = "[row hidden]"

# Routes whose path carries a bearer-like token (bot/pages.py, the panel's document
# links): the segment after these prefixes is a capability and is masked wherever a
# path or URL shows it. The segment ends at a dot (``<token>.pdf``), except after the
# prefixes whose tokens are signed and dotted themselves (``payload.time.signature``).
TOKEN_PATH_PREFIXES = ("/pay/receipt/", "/pay/upi/", "/reports/", "/calendar/")
# (A patient's calendar link, ``/calendar/session/<signed>.ics``, is tried before the
# therapist feed's ``/calendar/<token>.ics``.)
DOTTED_TOKEN_PATH_PREFIXES = (
    "/admin/patient/document/file/",
    "/calendar/session/",
    "/email/unsubscribe/",
)

# Patterns with a variable-length start begin only where a word begins (the lookbehinds),
# so a long run of letters or digits costs linear time, not quadratic.
_TOKEN_PATH = re.compile(
    "(" + "|".join(re.escape(p) for p in DOTTED_TOKEN_PATH_PREFIXES) + r")[^/?#\s\"']+"
    "|(" + "|".join(re.escape(p) for p in TOKEN_PATH_PREFIXES) + r")[^/?#\s\"'.]+"
)
# A query string after a URL or a path: dropped whole (signatures and ids ride in them).
_QUERY = re.compile(r"((?:https?://|(?<![\w?])/)[^\s?#\"'<>]*)\?[^\s\"'<>]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# key=value, key: value, "key": "value" where the key names a secret.
_SECRET_VALUE = re.compile(
    r"(?i)(?<![\w-])((?:[\w-]*(?:signature|secret|password|passwd|token|api[_-]?key|authorization|otp))"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;}\]]+)"
)
_HEX_RUN = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_E164 = re.compile(r"(?:\+|%2[bB])\d(?:[\s-]?\d){6,14}")
# A local number: at least nine digits, optionally grouped by single spaces or dashes,
# not part of a longer word, number or time ("2026-11-23 03:30" is left alone).
_LOCAL_DIGITS = re.compile(r"(?<![\w+%-])\d(?:[ -]?\d){8,14}(?![\w:])")


def redact(text: str) -> str:
    """``text`` with phone numbers, e-mail addresses, tokens and secrets masked."""
    if not text:
        return text
    text = _TOKEN_PATH.sub(_mask_token, text)
    text = _QUERY.sub(r"\1?[query]", text)
    text = _BEARER.sub(r"\1 " + SECRET_MASK, text)
    text = _SECRET_VALUE.sub(r"\1" + SECRET_MASK, text)
    text = _HEX_RUN.sub(SECRET_MASK, text)
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _E164.sub(PHONE_MASK, text)
    return _LOCAL_DIGITS.sub(PHONE_MASK, text)


def redact_path(path: str) -> str:
    """A request path fit for an access log: token segments masked, no query string."""
    return _TOKEN_PATH.sub(_mask_token, path.split("?", 1)[0])


_SECRET_KEY = re.compile(
    r"(?i)signature|secret|password|passwd|token|api[_-]?key|authorization|cookie|otp"
)


def redact_value(value: object) -> object:
    """``redact`` applied through strings, lists, tuples and dicts (for error reports);
    a value under a key that names a secret (``X-Twilio-Signature``) is masked whole."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: SECRET_MASK
            if isinstance(key, str) and _SECRET_KEY.search(key) and isinstance(item, str)
            else redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item) for item in value)
    return value


def _mask_token(found: re.Match[str]) -> str:
    """The route's prefix kept, its token masked."""
    return (found[1] or found[2]) + TOKEN_MASK
