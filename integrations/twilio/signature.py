"""``X-Twilio-Signature``: Twilio's HMAC over the URL it called and the POSTed form."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def signature_ok(auth_token: str, url: str, form: Mapping[str, str], signature: str) -> bool:
    """True only for a signature made with ``auth_token`` over exactly this URL and form."""
    if not auth_token or not signature:
        return False
    return RequestValidator(auth_token).validate(url, form, signature)
