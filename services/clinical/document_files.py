"""What a patient document may be, and how large: one rule for uploads and for files
filed from the chat (``services.clinical.documents``, ``services.clinical.chat_documents``).

What a file is comes from its first bytes (``filetype``), never from its name or a chat's
declared type; only PDF, JPEG, PNG, HEIC and MP4 are kept, up to the clinic's limit (its
policy's ``document_max_mb``, ``MAX_DOCUMENT_BYTES`` by default).
"""

from __future__ import annotations

import re
import unicodedata

import filetype
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ClinicPolicy
from models.documents import FILE_NAME_MAX
from services.errors import N_, InvalidInput

# The default limit (the "10 MB by default"); the clinic's policy sets its own,
# up to the largest (the policy's check: 1 to 50 MB).
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
LARGEST_DOCUMENT_BYTES = 50 * 1024 * 1024
# What a document may be (detected from the bytes) and the extension its key gets.
ACCEPTED_TYPES: dict[str, str] = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/heic": "heic",
    "video/mp4": "mp4",
}


def detect_type(data: bytes) -> str | None:
    """The accepted content type these bytes are, or None."""
    kind = filetype.guess(data[:8192])
    return kind.mime if kind is not None and kind.mime in ACCEPTED_TYPES else None


def clean_file_name(name: str | None) -> str:
    """A file name fit to show: no folders, no control characters, at most
    ``FILE_NAME_MAX`` characters (the end, with the extension, kept)."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = re.sub(r"\s+", " ", text).strip(" .")
    if len(text) > FILE_NAME_MAX:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            text = stem[: FILE_NAME_MAX - len(ext) - 1].rstrip() + "." + ext
        else:
            text = text[:FILE_NAME_MAX].rstrip()
    return text or "document"


def document_limit(session: Session, clinic_id: int) -> int:
    """The clinic's largest document, in bytes."""
    mb = session.scalar(
        select(ClinicPolicy.document_max_mb).where(ClinicPolicy.clinic_id == clinic_id)
    )
    return mb * 1024 * 1024 if mb else MAX_DOCUMENT_BYTES


def accepted_type(data: bytes, max_bytes: int) -> str:
    """The accepted content type of a document's bytes, or the refusal."""
    if len(data) > max_bytes:
        raise InvalidInput(
            N_("This file is %(size)s MB; a document can be up to %(most)s MB."),
            size=_megabytes(len(data)),
            most=_megabytes(max_bytes),
        )
    if not data:
        raise InvalidInput(detail=N_("Please choose a file to upload."))
    content_type = detect_type(data)
    if content_type is None:
        raise InvalidInput(
            detail=N_(
                "This file is not a PDF, JPEG, PNG, HEIC photo or MP4 video; it was not kept."
            )
        )
    return content_type


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")
