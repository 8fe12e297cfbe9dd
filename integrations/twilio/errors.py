"""Twilio's error codes (https://www.twilio.com/docs/api/errors) and the errors
``client`` raises: each says whether trying again could help."""

from __future__ import annotations

# Twilio error codes that no retry will fix.
PERMANENT_CODES = frozenset(
    {
        21211,  # invalid 'To' number
        21408,  # region not enabled
        21610,  # the recipient replied STOP (SMS)
        21612,  # cannot route to this number
        21614,  # not a mobile number
        63003,  # channel could not find the To address (not on WhatsApp)
        63014,  # the user blocked the business
        63016,  # outside the 24-hour window without a template
        63024,  # invalid message recipient
        63032,  # user's WhatsApp is not reachable for business messages
    }
)
# A WhatsApp failure after which the same message may go by SMS instead.
WHATSAPP_FALLBACK_CODES = frozenset({63003, 63016, 63024, 63032})
# The recipient opted out of SMS (replied STOP to the number).
SMS_OPTED_OUT = 21610


def is_permanent(code: int | None, http_status: int) -> bool:
    """A refusal no retry will fix: a permanent code, or any 4xx but 429 (slow down)."""
    return code in PERMANENT_CODES or (400 <= http_status < 500 and http_status != 429)


class SendError(Exception):
    """``permanent``: no retry will help. ``outcome_unknown``: the request may have
    reached Twilio (a read timeout, a dropped connection), so it must not be repeated."""

    def __init__(
        self, message: str, *, code: int | None, permanent: bool, outcome_unknown: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent
        self.outcome_unknown = outcome_unknown


class ListError(Exception):
    """Twilio's message list could not be read (refused, unreachable, timed out)."""
