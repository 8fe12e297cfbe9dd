"""Files kept about a patient: referral letters, prior reports, consent forms, school
reports. Clinical records unless uploaded for all staff.

The file itself is in the file storage (``core.storage``, the same store as chat media)
under a key named by the clinic and the file's content; the row says what it is, who
uploaded it, who may read it and whether it was deleted (soft: the row and the file stay
until the patient's data is erased).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.people import Patient
from models.staff import StaffUser

FILE_NAME_MAX = 200
STORAGE_KEY_MAX = 120


class DocumentTag(enum.StrEnum):
    REFERRAL = "referral"
    PRIOR_REPORT = "prior_report"
    CONSENT = "consent"
    SCHOOL_REPORT = "school_report"
    OTHER = "other"


class DocumentAccess(enum.StrEnum):
    CLINICAL = "clinical"  # the admin and the patient's therapists
    ALL_STAFF = "all_staff"  # also the front desk and the accountant


class PatientDocument(ClinicOwned, Timestamped, Base):
    __tablename__ = "patient_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    # ``<clinic id>-doc-<sha256>.<ext>``; None once the file was erased from the storage.
    storage_key: Mapped[str | None] = mapped_column(String(STORAGE_KEY_MAX))
    file_name: Mapped[str] = mapped_column(String(FILE_NAME_MAX))  # shown only, never a path
    content_type: Mapped[str] = mapped_column(String(100))  # from the bytes, not the name
    size_bytes: Mapped[int] = mapped_column(Integer)
    tag: Mapped[DocumentTag] = mapped_column(
        str_enum(DocumentTag, "document_tag"), default=DocumentTag.OTHER
    )
    access: Mapped[DocumentAccess] = mapped_column(
        str_enum(DocumentAccess, "document_access"), default=DocumentAccess.CLINICAL
    )
    # The chat attachment it was filed from, if it came in the chat.
    inbound_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_media.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    patient: Mapped[Patient] = relationship()
    uploaded_by: Mapped[StaffUser] = relationship(foreign_keys=[uploaded_by_id])

    __table_args__ = (
        CheckConstraint("length(file_name) >= 1", name="file_name_length"),
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
    )

    def __str__(self) -> str:
        return f"Document #{self.id}"
