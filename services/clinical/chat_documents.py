"""Documents filed from the chat: a file a guardian sent (``services.messaging.media``)
kept as one of the patient's documents, by the same rules as an upload
(``services.clinical.document_files``: what the bytes are, the size;
``documents.keep_document``: the key), with the row
naming the chat file it came from (``PatientDocument.inbound_media_id``).

The patient must be one of the chat contact's (a guardian may have several children) and
of the clinic; the author one of the patient's clinicians. The same file is filed once
per patient; the chat's own copy stays the chat's (its erasure deletes it by its rows).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import write_transaction
from integrations.backup_storage import BackupStore, StorageError
from models import (
    Conversation,
    DocumentAccess,
    DocumentTag,
    InboundMedia,
    InboundMessage,
    MediaStatus,
    Patient,
    PatientDocument,
)
from services.audit import Actor
from services.clinical import documents
from services.clinical.document_files import ACCEPTED_TYPES, accepted_type, document_limit
from services.errors import N_, NotFound
from services.locks import lock_in_clinic

log = logging.getLogger(__name__)


def file_from_chat(
    session: Session,
    store: BackupStore,
    *,
    clinic_id: int,
    media_id: int,
    patient_id: int,
    tag: DocumentTag,
    access: DocumentAccess,
    now: datetime,
    actor: Actor,
    author_id: int,
    max_bytes: int | None = None,
) -> PatientDocument:
    """Keep a file the patient's guardian sent in the chat as one of the patient's
    documents: the same rules as an upload (what the bytes are, the size, the key), read
    from the file storage; the patient must be one of the chat contact's. NotFound for
    another clinic's file or patient; refused if already filed for this patient."""
    now = require_aware(now, "now").astimezone(UTC)
    if actor.is_staff and actor.id != author_id:
        raise documents.DocumentRefused(detail=N_("Documents are uploaded in one's own name."))
    with write_transaction(session):
        media = session.scalar(
            select(InboundMedia).where(
                InboundMedia.id == media_id,
                InboundMedia.clinic_id == clinic_id,
                InboundMedia.status == MediaStatus.FETCHED,
                InboundMedia.storage_key.is_not(None),
            )
        )
        if media is None:
            raise NotFound(what=N_("attachment"))
        patient = lock_in_clinic(session, Patient, clinic_id, patient_id, what=N_("patient"))
        if patient.contact_id != chat_contact_id(session, clinic_id, media):
            raise NotFound(what=N_("patient"))
        documents.require_document_keeper(session, clinic_id, patient.id, author_id)
        if filed_from_chat(session, clinic_id, [media.id]).get(media.id, {}).get(patient.id):
            raise documents.DocumentRefused(
                detail=N_("This attachment is already in the patient's documents.")
            )
        try:
            data = store.get_bytes(media.storage_key or "")
        except StorageError:
            log.warning("inbound media %s is missing from the file storage", media.id)
            raise documents.DocumentMissing() from None
        content_type = accepted_type(data, max_bytes or document_limit(session, clinic_id))
        name = f"attachment-{media.id}.{ACCEPTED_TYPES[content_type]}"
        return documents.keep_document(
            session,
            store,
            patient,
            data,
            content_type,
            name,
            tag=tag,
            access=access,
            now=now,
            actor=actor,
            author_id=author_id,
            media=media,
        )


def chat_contact_id(session: Session, clinic_id: int, media: InboundMedia) -> int | None:
    """The contact whose chat this file came in."""
    return session.scalar(
        select(Conversation.contact_id)
        .join(InboundMessage, InboundMessage.conversation_id == Conversation.id)
        .where(InboundMessage.id == media.message_id, Conversation.clinic_id == clinic_id)
    )


def filed_from_chat(
    session: Session, clinic_id: int, media_ids: Sequence[int]
) -> dict[int, dict[int, PatientDocument]]:
    """The live documents filed from these chat files: media id -> patient id -> row."""
    found: dict[int, dict[int, PatientDocument]] = {}
    if not media_ids:
        return found
    rows = session.scalars(
        select(PatientDocument).where(
            PatientDocument.clinic_id == clinic_id,
            PatientDocument.inbound_media_id.in_(list(media_ids)),
            PatientDocument.deleted_at.is_(None),
        )
    )
    for row in rows:
        found.setdefault(row.inbound_media_id or 0, {})[row.patient_id] = row
    return found
