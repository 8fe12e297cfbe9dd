"""The project's file storage for files that came in chats: a directory under the
instance folder by default, an S3-compatible bucket when ``MEDIA_TARGET`` is
``s3://bucket/prefix`` (same client and ``BACKUP_S3_*`` endpoint and credentials as
backups, ``integrations.backup_storage``).

Files are named by content (``<sha256>.<ext>``), so storing the same file twice is one
file, and a name never says whose file it is. Nothing here serves a file: the panel
does, to signed-in staff of the file's clinic only.
"""

from __future__ import annotations

from core.backup import s3_settings
from core.config import Config
from integrations.backup_storage import BackupStore, StorageError, open_store

__all__ = ["BackupStore", "StorageError", "media_store"]


def media_store(config: Config) -> BackupStore:
    target = config.media_target or str(config.instance_dir / "media")
    return open_store(target, s3_settings(config))
