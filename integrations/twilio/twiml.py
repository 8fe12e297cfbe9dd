"""Turning a reply into what Twilio delivers: TwiML, split to its limits.

No Flask here; ``bot.webhooks`` wraps the result in a response.
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from integrations.twilio.gsm7 import sms_plain

MAX_BODY = 1600  # Twilio's limit for one message body


def split_reply(text: str, limit: int = MAX_BODY) -> list[str]:
    """Parts of at most ``limit`` characters, broken at line ends where possible."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single over-long line: hard wrap
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def twiml_reply(reply: str | None, *, sms: bool) -> str:
    """The reply as TwiML messages; by SMS in GSM-7 characters (``gsm7.sms_plain``)."""
    response = MessagingResponse()
    if reply:
        text = sms_plain(reply) if sms else reply
        for part in split_reply(text):
            response.message(part)
    return str(response)
