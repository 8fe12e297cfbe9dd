"""The files a contact sent in chat, for their data export (services.privacy.data_export).

Each attachment row whose file was kept in the file storage (``core.storage``) is named
``media/<message id>-<index>.<ext>`` in the archive; the manifest says of each whether it
is in the archive, missing from the storage (listed, not an error), or not read because
the export was given no store. Documents kept about the contact's patients are read the
same way, named ``documents/<document id>.<ext>``. Only keys named by the clinic's own
rows are read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from integrations.backup_storage import BackupStore, StorageError
from models import InboundMedia, PatientDocument

log = logging.getLogger(__name__)

MEDIA_INCLUDED = "included"
MEDIA_MISSING = "missing"  # listed by a row, not found in (or not readable from) the storage
MEDIA_NOT_READ = "not read"  # no file storage was given to the export


@dataclass(frozen=True)
class StoredFile:
    media_id: int
    name: str  # in the archive
    key: str  # in the file storage


def stored_media(session: Session, owned: ColumnElement[bool]) -> list[StoredFile]:
    """The files kept in the file storage for the attachment rows ``owned`` selects (the
    contact's, in their clinic), named for the archive."""
    return [
        StoredFile(row.id, f"media/{row.message_id}-{row.index}.{extension(key)}", key)
        for row in session.scalars(
            select(InboundMedia)
            .where(owned, InboundMedia.storage_key.is_not(None))
            .order_by(InboundMedia.message_id, InboundMedia.index)
        )
        if (key := row.storage_key)
    ]


def stored_documents(session: Session, owned: ColumnElement[bool]) -> list[StoredFile]:
    """The files kept for the document rows ``owned`` selects, named for the archive."""
    return [
        StoredFile(row.id, f"documents/{row.id}.{extension(key)}", key)
        for row in session.scalars(
            select(PatientDocument)
            .where(owned, PatientDocument.storage_key.is_not(None))
            .order_by(PatientDocument.id)
        )
        if (key := row.storage_key)
    ]


def read_media(
    store: BackupStore | None, stored: list[StoredFile]
) -> tuple[dict[str, bytes], dict[str, str]]:
    """The files' bytes by archive name, and what became of each listed file. Only keys
    named by the clinic's own rows are read (and keys are per clinic besides)."""
    copies: dict[str, bytes] = {}
    states: dict[str, str] = {}
    for item in stored:
        if store is None:
            states[item.name] = MEDIA_NOT_READ
            continue
        try:
            copies[item.name] = store.get_bytes(item.key)
        except StorageError:
            log.warning("stored file %s is missing from the file storage", item.name)
            states[item.name] = MEDIA_MISSING
        else:
            states[item.name] = MEDIA_INCLUDED
    return copies, states


def extension(key: str) -> str:
    _, dot, ext = key.rpartition(".")
    return ext.lower() if dot and re.fullmatch(r"[A-Za-z0-9]{1,8}", ext) else "bin"
