"""A clinic's logo: uploaded by its admin, drawn at the head of its PDFs.

What is kept is never the uploaded file: the picture is opened (by its content, never its
name), checked for size before its pixels are read (a small file can claim a huge picture),
re-drawn to fit ``BOX`` and saved as a fresh PNG, so the stored bytes are pixels only —
no metadata, nothing hidden after the image data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import ClinicLogo
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidInput

UPLOAD_MAX_BYTES = 2 * 1024 * 1024
PIXELS_MAX = 40_000_000  # what an upload may claim before we decline to read it
BOX = (600, 240)  # the largest picture kept, in pixels (wide logos are the usual shape)
FORMATS = frozenset({"PNG", "JPEG", "WEBP"})


@dataclass(frozen=True)
class Picture:
    """An upload, checked and re-drawn: what ``set_logo`` keeps."""

    png: bytes
    width: int
    height: int


def set_logo(session: Session, *, clinic_id: int, picture: Picture, actor: Actor) -> ClinicLogo:
    """Keep the picture (``redrawn(upload)``) as the clinic's logo, replacing any."""
    png, width, height = picture.png, picture.width, picture.height
    digest = hashlib.sha256(png).hexdigest()
    with write_transaction(session):
        logo = session.scalar(select(ClinicLogo).where(ClinicLogo.clinic_id == clinic_id))
        before = None if logo is None else audit.snapshot(logo)
        if logo is None:
            logo = ClinicLogo(
                clinic_id=clinic_id, png=png, sha256=digest, width=width, height=height
            )
            session.add(logo)
        else:
            logo.png, logo.sha256, logo.width, logo.height = png, digest, width, height
        session.flush()
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="clinic.logo_set",
            entity=logo,
            before=before,
            after=audit.snapshot(logo),
        )
    return logo


def remove_logo(session: Session, *, clinic_id: int, actor: Actor) -> bool:
    """The clinic's PDFs go back to its name alone; False when it had no logo."""
    with write_transaction(session):
        logo = session.scalar(select(ClinicLogo).where(ClinicLogo.clinic_id == clinic_id))
        if logo is None:
            return False
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="clinic.logo_remove",
            entity=logo,
            before=audit.snapshot(logo),
        )
        session.delete(logo)
    return True


def logo_png(session: Session, clinic_id: int) -> bytes | None:
    return session.scalar(select(ClinicLogo.png).where(ClinicLogo.clinic_id == clinic_id))


def redrawn(data: bytes) -> Picture:
    """The upload as the logo we keep; refused (``InvalidInput``) unless it is a PNG, JPEG
    or WebP picture of a sane size. Changes nothing: call it before writing anything."""
    if len(data) > UPLOAD_MAX_BYTES:
        raise InvalidInput(
            detail=N_("The logo is larger than 2 MB; please send a smaller picture.")
        )
    try:
        with Image.open(BytesIO(data)) as picture:
            if picture.format not in FORMATS:
                raise InvalidInput(detail=N_("The logo must be a PNG, JPEG or WebP picture."))
            if picture.width * picture.height > PIXELS_MAX:
                raise InvalidInput(detail=N_("The logo's picture is too large to read."))
            drawn = ImageOps.exif_transpose(picture).convert("RGBA")  # upright, as shown
            drawn.thumbnail(BOX)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidInput(detail=N_("The logo must be a PNG, JPEG or WebP picture.")) from None
    out = BytesIO()
    drawn.save(out, format="PNG", optimize=True)
    return Picture(out.getvalue(), drawn.width, drawn.height)
