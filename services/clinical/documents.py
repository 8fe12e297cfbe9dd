"""Documents kept about a patient: upload, list, open, delete (soft).

The file goes to the file storage that keeps chat media (``core.storage``), named by the
clinic and its content (``<clinic id>-doc-<sha256>.<ext>``: the same file uploaded twice
is one file, and the ``doc`` part keeps it apart from the chat media's keys, which the
chat's erasure deletes by its own rows). What a file may be, and how large, is
``services.clinical.document_files`` (its bytes decide; the clinic's limit).

Who may: the patient's clinicians (an admin, or a therapist who sees the patient:
``goals.require_clinician``) upload and delete, and open every document; every active
staff member of the clinic may also open a document uploaded for all staff. Uploads,
opens and deletions each leave an audit row, without the file or its name.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from integrations.backup_storage import BackupStore, StorageError
from models import (
    DocumentAccess,
    DocumentTag,
    InboundMedia,
    Patient,
    PatientDocument,
    StaffUser,
)
from services import audit
from services.audit import Actor
from services.clinical.document_files import (
    ACCEPTED_TYPES,
    accepted_type,
    clean_file_name,
    document_limit,
)
from services.clinical.goals import require_clinician
from services.clinical.notes import NoteRefused
from services.errors import N_, NotFound, ServiceError
from services.locks import lock_in_clinic

log = logging.getLogger(__name__)


class DocumentRefused(ServiceError):
    code = "document_refused"
    template = "%(detail)s"  # the sentence is the raise's ``detail``, marked there


class DocumentMissing(ServiceError):
    """The row is there but the file storage cannot give its file just now."""

    code = "document_missing"
    template = N_("The file could not be read from the storage just now.")


@dataclass(frozen=True)
class OpenedDocument:
    document: PatientDocument
    data: bytes

    @property
    def content_type(self) -> str:
        return self.document.content_type

    @property
    def file_name(self) -> str:
        return self.document.file_name


def upload_document(
    session: Session,
    store: BackupStore,
    *,
    clinic_id: int,
    patient_id: int,
    data: bytes,
    file_name: str | None,
    tag: DocumentTag,
    access: DocumentAccess,
    now: datetime,
    actor: Actor,
    author_id: int,
    max_bytes: int | None = None,
) -> PatientDocument:
    """Keep a file about the patient, uploaded in the author's name (up to ``max_bytes``,
    by default the clinic's limit)."""
    now = require_aware(now, "now").astimezone(UTC)
    content_type = accepted_type(data, max_bytes or document_limit(session, clinic_id))
    if actor.is_staff and actor.id != author_id:
        raise DocumentRefused(detail=N_("Documents are uploaded in one's own name."))
    with write_transaction(session):
        patient = lock_in_clinic(session, Patient, clinic_id, patient_id, what=N_("patient"))
        require_document_keeper(session, clinic_id, patient.id, author_id)
        return keep_document(
            session,
            store,
            patient,
            data,
            content_type,
            clean_file_name(file_name),
            tag=tag,
            access=access,
            now=now,
            actor=actor,
            author_id=author_id,
        )


def keep_document(
    session: Session,
    store: BackupStore,
    patient: Patient,
    data: bytes,
    content_type: str,
    file_name: str,
    *,
    tag: DocumentTag,
    access: DocumentAccess,
    now: datetime,
    actor: Actor,
    author_id: int,
    media: InboundMedia | None = None,
) -> PatientDocument:
    """Store the file under its clinic and content and add its row, audited (inside the
    caller's transaction, the patient locked and the author checked)."""
    clinic_id = patient.clinic_id
    key = f"{clinic_id}-doc-{hashlib.sha256(data).hexdigest()}.{ACCEPTED_TYPES[content_type]}"
    # Stored before the row commits: a failed commit leaves at most a file no row
    # names, under its content's name, which the same upload would write again.
    try:
        store.put_bytes(data, key)
    except StorageError:
        log.warning("a patient document could not be written to the file storage")
        raise DocumentRefused(
            detail=N_("The file could not be stored just now; please try again.")
        ) from None
    document = PatientDocument(
        clinic_id=clinic_id,
        patient_id=patient.id,
        uploaded_by_id=author_id,
        storage_key=key,
        file_name=file_name,
        content_type=content_type,
        size_bytes=len(data),
        tag=tag,
        access=access,
        inbound_media_id=media.id if media is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(document)
    session.flush()
    after: dict[str, object] = {
        "patient_id": patient.id,
        "content_type": content_type,
        "size_bytes": len(data),
        "tag": tag.value,
        "access": access.value,
    }
    if media is not None:
        after["inbound_media_id"] = media.id
    audit.record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="document.file_from_chat" if media is not None else "document.upload",
        entity=document,
        after=after,
    )
    return document


def documents_for_patient(
    session: Session, *, clinic_id: int, patient_id: int, reader_id: int
) -> Sequence[PatientDocument]:
    """The patient's documents this reader may open, newest first (deleted ones never)."""
    levels = readable_levels(session, clinic_id, patient_id, reader_id)
    if not levels:
        return []
    return session.scalars(
        select(PatientDocument)
        .where(
            PatientDocument.clinic_id == clinic_id,
            PatientDocument.patient_id == patient_id,
            PatientDocument.deleted_at.is_(None),
            PatientDocument.access.in_(levels),
        )
        .options(joinedload(PatientDocument.uploaded_by))
        .order_by(PatientDocument.created_at.desc(), PatientDocument.id.desc())
    ).all()


def readable_levels(
    session: Session, clinic_id: int, patient_id: int, reader_id: int
) -> set[DocumentAccess]:
    """The access levels of the patient's documents this staff member may open."""
    reader = session.get(StaffUser, reader_id)
    if reader is None or not reader.active or reader.clinic_id != clinic_id:
        return set()
    try:
        require_clinician(session, clinic_id, patient_id, reader_id)
    except NoteRefused:
        return {DocumentAccess.ALL_STAFF}
    return {DocumentAccess.CLINICAL, DocumentAccess.ALL_STAFF}


def open_document(
    session: Session,
    store: BackupStore,
    *,
    clinic_id: int,
    patient_id: int,
    document_id: int,
    now: datetime,
    actor: Actor,
    reader_id: int,
) -> OpenedDocument:
    """The document's file for this reader, with an audit row of the access. NotFound for
    another clinic's or another patient's document, or a deleted one."""
    require_aware(now, "now")
    with write_transaction(session):
        document = _granted(session, clinic_id, patient_id, document_id, actor, reader_id)
        data = _file(store, document)
    return OpenedDocument(document=document, data=data)


def grant_document(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    document_id: int,
    now: datetime,
    actor: Actor,
    reader_id: int,
) -> PatientDocument:
    """``open_document``'s checks and audit row without the file, which the panel hands
    out through a short-lived link (``core.storage.download_link``)."""
    require_aware(now, "now")
    with write_transaction(session):
        return _granted(session, clinic_id, patient_id, document_id, actor, reader_id)


def linked_document(
    session: Session, store: BackupStore, *, clinic_id: int, document_id: int, storage_key: str
) -> OpenedDocument:
    """The file a link made by ``grant_document``'s caller names: NotFound once the
    document is deleted (or is another clinic's, or names another file by now)."""
    document = session.scalar(
        select(PatientDocument).where(
            PatientDocument.id == document_id,
            PatientDocument.clinic_id == clinic_id,
            PatientDocument.storage_key == storage_key,
            PatientDocument.deleted_at.is_(None),
        )
    )
    if document is None:
        raise NotFound(what=N_("document"))
    return OpenedDocument(document=document, data=_file(store, document))


def _granted(
    session: Session, clinic_id: int, patient_id: int, document_id: int, actor: Actor, reader: int
) -> PatientDocument:
    document = _live(session, clinic_id, patient_id, document_id)
    if document.access not in readable_levels(session, clinic_id, patient_id, reader):
        raise DocumentRefused(
            detail=N_("This document is for the patient's therapists and the admin only.")
        )
    if not document.storage_key:
        raise NotFound(what=N_("document"))
    audit.record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="document.open",
        entity=document,
        after={"patient_id": document.patient_id, "reader_id": reader},
    )
    return document


def _file(store: BackupStore, document: PatientDocument) -> bytes:
    try:
        return store.get_bytes(document.storage_key or "")
    except StorageError:
        log.warning("patient document %s is missing from the file storage", document.id)
        raise DocumentMissing() from None


def delete_document(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    document_id: int,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> PatientDocument:
    """Hide the document from every list (the row and the file stay, for the record)."""
    now = require_aware(now, "now").astimezone(UTC)
    if actor.is_staff and actor.id != author_id:
        raise DocumentRefused(detail=N_("Documents are deleted in one's own name."))
    with write_transaction(session):
        document = _live(session, clinic_id, patient_id, document_id, lock=True)
        require_document_keeper(session, clinic_id, document.patient_id, author_id)
        document.deleted_at = now
        document.deleted_by_id = author_id
        document.updated_at = now
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="document.delete",
            entity=document,
            before={"deleted": False},
            after={"deleted": True, "patient_id": document.patient_id},
        )
    return document


def forget_document_files(
    session: Session, store: BackupStore, clinic_id: int, keys: set[str]
) -> int:
    """Delete from the storage the document files no row of the clinic names any more
    (after an erasure committed). Keys are per clinic, so another clinic's copy of the
    same file is never touched."""
    if not keys:
        return 0
    still = set(
        session.scalars(
            select(PatientDocument.storage_key).where(
                PatientDocument.clinic_id == clinic_id,
                PatientDocument.storage_key.in_(list(keys)),
            )
        )
    )
    gone = 0
    for key in sorted(keys - still):
        try:
            store.delete(key)
            gone += 1
        except StorageError:
            log.warning("an erased patient document could not be deleted from the file storage")
    return gone


def _live(
    session: Session, clinic_id: int, patient_id: int, document_id: int, *, lock: bool = False
) -> PatientDocument:
    query = select(PatientDocument).where(
        PatientDocument.id == document_id,
        PatientDocument.clinic_id == clinic_id,
        PatientDocument.patient_id == patient_id,
        PatientDocument.deleted_at.is_(None),
    )
    document = session.scalar(query.with_for_update() if lock else query)
    if document is None:
        raise NotFound(what=N_("document"))
    return document


def require_document_keeper(
    session: Session, clinic_id: int, patient_id: int, author_id: int
) -> None:
    try:
        require_clinician(session, clinic_id, patient_id, author_id)
    except NoteRefused:
        raise DocumentRefused(
            detail=N_("Documents are kept by the patient's therapists and the admin.")
        ) from None
