"""The project's file storage for files that came in chats: a directory under the
instance folder by default, an S3-compatible bucket when ``MEDIA_TARGET`` is
``s3://bucket/prefix`` (same client and ``BACKUP_S3_*`` endpoint and credentials as
backups, ``integrations.backup_storage``).

Files are named by content (``<sha256>.<ext>``), so storing the same file twice is one
file, and a name never says whose file it is. Nothing here serves a file: the panel
does, to signed-in staff of the file's clinic only, after its checks, through a link
valid for ``LINK_SECONDS`` (``download_link``): the bucket's own presigned GET, or, for the
local directory, the panel's route with a token signed with the app's secret
(``read_token``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.backup import s3_settings
from core.config import Config
from integrations.backup_storage import BackupStore, S3Store, StorageError, open_store

__all__ = ["BackupStore", "StorageError", "media_store"]

LINK_SECONDS = 300  # how long a download link works


class LinkRefused(Exception):
    """A download token that is expired (``expired``) or not ours (tampered, another
    purpose)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def media_store(config: Config) -> BackupStore:
    target = config.media_target or str(config.instance_dir / "media")
    return open_store(target, s3_settings(config))


def attachment(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one (RFC 6266, 5987)."""
    fallback = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "._- ") else "_" for ch in name
    )
    return f"attachment; filename=\"{fallback or 'document'}\"; filename*=UTF-8''{quote(name)}"


def download_link(
    config: Config,
    store: BackupStore,
    *,
    key: str,
    file_name: str,
    content_type: str,
    purpose: str,
    payload: dict[str, Any],
    local_url: Callable[[str], str],
) -> str:
    """Where to send the browser for the file under ``key``, valid ``LINK_SECONDS``: a
    presigned GET for a bucket (with the file name as an attachment and the content
    type), else ``local_url(token)``, the token signing ``payload`` for ``purpose``."""
    if isinstance(store, S3Store):
        return store.presigned_get(
            key, disposition=attachment(file_name), content_type=content_type, seconds=LINK_SECONDS
        )
    return local_url(_serializer(config, purpose).dumps(payload))


def read_token(config: Config, token: str, *, purpose: str) -> dict[str, Any]:
    """The payload ``download_link`` signed for ``purpose``, or ``LinkRefused``."""
    try:
        payload = _serializer(config, purpose).loads(token, max_age=LINK_SECONDS)
    except SignatureExpired:
        raise LinkRefused(expired=True) from None
    except BadSignature:
        raise LinkRefused(expired=False) from None
    if not isinstance(payload, dict):
        raise LinkRefused(expired=False)
    return payload


def _serializer(config: Config, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.secret_key, salt=f"roshni.download.{purpose}")
