"""Files and locations patients send in chats: recorded with the message, fetched later.

The webhook records each ``MediaUrl{n}`` as a pending ``InboundMedia`` row (a type we do
not accept is refused at once, with the reason) and a shared location as ``kept``. The
files are fetched off the request path (``fetch_media``, run by the job runner: an RQ job
per row, or the embedded runner's sweep), size- and type-checked again on what Twilio
actually sends, and kept in the file storage (``core.storage``) under the clinic and their
content hash (``<clinic id>-<sha256>.<ext>``).
Staff see them in the chat transcript, through the panel only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import unit_of_work
from integrations.backup_storage import BackupStore, StorageError
from integrations.twilio.media import FetchedMedia, MediaError, base_type
from models import Clinic, InboundMedia, InboundMessage, MediaStatus

log = logging.getLogger(__name__)

# What a chat may carry to the clinic (WhatsApp's own media types for these kinds).
ACCEPTED_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "audio/mpeg": "mp3",
    "audio/aac": "aac",
    "audio/amr": "amr",
    "application/pdf": "pdf",
    "video/mp4": "mp4",  # a home exercise shown on video, say
    "video/3gpp": "3gp",
}
ACCEPTED = frozenset(ACCEPTED_TYPES)
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's limit for audio and video; images are 5 MB
MAX_MEDIA = 10  # Twilio sends at most ten files with one message
MAX_ATTEMPTS = 5  # a fetch that keeps failing for a passing reason is given up after this
LOCATION_INDEX = -1


@dataclass(frozen=True)
class SentFile:
    url: str
    content_type: str


@dataclass(frozen=True)
class SharedLocation:
    latitude: float
    longitude: float
    label: str | None = None
    address: str | None = None


class MediaFetcher(Protocol):
    def fetch(self, url: str, *, max_bytes: int, accept: frozenset[str]) -> FetchedMedia: ...


def media_kind(content_type: str) -> str:
    """``image``, ``audio``, ``video``, ``pdf`` or ``other``."""
    ct = base_type(content_type)
    if ct == "application/pdf":
        return "pdf"
    major = ct.split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "other"


def record_inbound_media(
    session: Session,
    *,
    message: InboundMessage,
    files: tuple[SentFile, ...],
    location: SharedLocation | None,
    now: datetime,
) -> list[InboundMedia]:
    """The message's attachments as rows, inside the caller's transaction (the message
    must be flushed). Files wait for ``fetch_media``; a declared type we do not accept is
    refused now and never fetched."""
    require_aware(now, "now")
    rows = []
    for index, sent in enumerate(files[:MAX_MEDIA]):
        content_type = base_type(sent.content_type)[:100]
        accepted = content_type in ACCEPTED
        rows.append(
            InboundMedia(
                clinic_id=message.clinic_id,
                message_id=message.id,
                index=index,
                status=MediaStatus.PENDING if accepted else MediaStatus.REFUSED,
                reason=None if accepted else f"type {content_type or 'unknown'} not accepted",
                content_type=content_type or None,
                source_url=sent.url if accepted else None,
                received_at=now,
            )
        )
    if location is not None:
        rows.append(
            InboundMedia(
                clinic_id=message.clinic_id,
                message_id=message.id,
                index=LOCATION_INDEX,
                status=MediaStatus.KEPT,
                latitude=location.latitude,
                longitude=location.longitude,
                label=(location.label or "")[:200] or None,
                address=(location.address or "")[:500] or None,
                received_at=now,
            )
        )
    session.add_all(rows)
    return rows


def pending_media_ids(session: Session, *, limit: int = 200) -> list[int]:
    ids = list(
        session.scalars(
            select(InboundMedia.id)
            .where(InboundMedia.status == MediaStatus.PENDING)
            .order_by(InboundMedia.id)
            .limit(limit)
        )
    )
    session.rollback()
    return ids


def fetch_media(
    session: Session,
    media_id: int,
    *,
    fetcher_for: Callable[[Clinic], MediaFetcher | None],
    store: BackupStore,
    now: datetime,
) -> MediaStatus | None:
    """Fetch one pending file into the storage and record the outcome. Safe to run twice:
    a row no longer pending is left alone, and files are named by their content."""
    require_aware(now, "now")
    with unit_of_work(session):
        # Claim: count the attempt only if the row is still pending.
        claimed = session.execute(
            update(InboundMedia)
            .where(InboundMedia.id == media_id, InboundMedia.status == MediaStatus.PENDING)
            .values(attempts=InboundMedia.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
    if not claimed:
        return None
    row = session.get(InboundMedia, media_id)
    assert row is not None
    clinic = session.get(Clinic, row.clinic_id)
    assert clinic is not None
    fetcher = fetcher_for(clinic)
    url, attempts = row.source_url, row.attempts
    session.rollback()  # no transaction held open across the download
    status, values = _download(fetcher, url, store, attempts, clinic.id)
    with unit_of_work(session):
        session.execute(
            update(InboundMedia)
            .where(InboundMedia.id == media_id, InboundMedia.status == MediaStatus.PENDING)
            .values(
                **values,
                status=status,
                fetched_at=now if status is not MediaStatus.PENDING else None,
            )
            .execution_options(synchronize_session=False)
        )
    if status is not MediaStatus.FETCHED:
        log.warning("inbound media %s: %s (%s)", media_id, status.value, values.get("reason"))
    return status


def _download(
    fetcher: MediaFetcher | None, url: str | None, store: BackupStore, attempts: int, clinic_id: int
) -> tuple[MediaStatus, dict[str, object]]:
    if fetcher is None or not url:
        return MediaStatus.FAILED, {"reason": "no Twilio account to fetch it with"}
    try:
        got = fetcher.fetch(url, max_bytes=MAX_MEDIA_BYTES, accept=ACCEPTED)
        key = f"{clinic_id}-{got.sha256}.{ACCEPTED_TYPES[got.content_type]}"
        store.put_bytes(got.data, key)
    except MediaError as exc:
        if exc.refused:
            return MediaStatus.REFUSED, {"reason": exc.reason[:200]}
        if exc.permanent or attempts >= MAX_ATTEMPTS:
            return MediaStatus.FAILED, {"reason": exc.reason[:200]}
        return MediaStatus.PENDING, {"reason": exc.reason[:200]}
    except StorageError as exc:
        if attempts >= MAX_ATTEMPTS:
            return MediaStatus.FAILED, {"reason": str(exc)[:200]}
        return MediaStatus.PENDING, {"reason": str(exc)[:200]}
    return MediaStatus.FETCHED, {
        "content_type": got.content_type,
        "size": len(got.data),
        "sha256": got.sha256,
        "storage_key": key,
        "reason": None,
    }


def stored_keys(session: Session, clinic_id: int, message_ids: Select[tuple[int]]) -> set[str]:
    """The storage keys of these messages' files (to forget them once the rows are gone)."""
    return set(
        session.scalars(
            select(InboundMedia.storage_key).where(
                InboundMedia.clinic_id == clinic_id,
                InboundMedia.message_id.in_(message_ids),
                InboundMedia.storage_key.is_not(None),
            )
        )
    )


def forget_files(session: Session, store: BackupStore, clinic_id: int, keys: set[str]) -> int:
    """Delete from the storage the files no row of the clinic refers to any more (after
    an erasure committed). Keys are per clinic, so another clinic's copy is never touched."""
    if not keys:
        return 0
    still = set(
        session.scalars(
            select(InboundMedia.storage_key).where(
                InboundMedia.clinic_id == clinic_id, InboundMedia.storage_key.in_(list(keys))
            )
        )
    )
    gone = 0
    for key in sorted(keys - still):
        try:
            store.delete(key)
            gone += 1
        except StorageError:
            log.warning("an erased chat file could not be deleted from the file storage")
    return gone


def media_for_messages(
    session: Session, clinic_id: int, message_ids: list[int]
) -> dict[int, list[InboundMedia]]:
    """The attachments of these messages, by message id, in the order they came."""
    found: dict[int, list[InboundMedia]] = {}
    if not message_ids:
        return found
    rows = session.scalars(
        select(InboundMedia)
        .where(InboundMedia.clinic_id == clinic_id, InboundMedia.message_id.in_(message_ids))
        .order_by(InboundMedia.message_id, InboundMedia.index)
    )
    for row in rows:
        found.setdefault(row.message_id, []).append(row)
    return found


def read_media(
    session: Session, store: BackupStore, *, clinic_id: int, media_id: int
) -> tuple[InboundMedia, bytes] | None:
    """A fetched file of this clinic and its bytes, or None (another clinic's, not
    fetched, or gone from the storage)."""
    row = session.scalar(
        select(InboundMedia).where(
            InboundMedia.id == media_id,
            InboundMedia.clinic_id == clinic_id,
            InboundMedia.status == MediaStatus.FETCHED,
        )
    )
    if row is None or not row.storage_key:
        return None
    try:
        return row, store.get_bytes(row.storage_key)
    except StorageError:
        log.warning("inbound media %s is missing from the file storage", media_id)
        return None
