"""Secrets stored in the database (a clinic's own Twilio token), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) with the key in ``ROSHNI_SECRETS_KEY``; without
it the key is derived from ``SECRET_KEY`` (set both to rotate them independently).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from core.config import Config


class SecretUnreadable(RuntimeError):
    """The stored secret was encrypted with another key (ROSHNI_SECRETS_KEY changed)."""


def _fernet(config: Config) -> Fernet:
    if config.secrets_key:
        return Fernet(config.secrets_key.encode())
    derived = hashlib.sha256(b"roshni-secrets:" + config.secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(config: Config, plain: str) -> str:
    return _fernet(config).encrypt(plain.encode()).decode()


@lru_cache(maxsize=1024)
def decrypt(config: Config, token: str) -> str:
    """Cached: a webhook checks every clinic's stored secret, and a token always decrypts
    to the same text under the same key."""
    try:
        return _fernet(config).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("stored secret cannot be decrypted with this key") from None
