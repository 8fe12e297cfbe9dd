"""Twilio's WhatsApp addresses: a phone number in E.164 behind a ``whatsapp:`` prefix."""

from __future__ import annotations

PREFIX = "whatsapp:"


def whatsapp_address(phone: str) -> str:
    """``+919876543210`` → ``whatsapp:+919876543210``."""
    return f"{PREFIX}{phone}"


def bare_number(address: str) -> str:
    """``whatsapp:+91…`` (any case, surrounding spaces) → ``+91…``; other text only trimmed."""
    value = address.strip()
    if value.lower().startswith(PREFIX):
        value = value[len(PREFIX) :]
    return value
