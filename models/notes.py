"""What a therapist writes about a session. Clinical records.

A session record (``SessionRecord``): one per session, in the clinic's structured form
(SOAP: subjective, objective, assessment, plan; with activities, home practice,
attendance and the patient's response). It is a draft until its therapist signs it;
once signed it is never changed (``services.clinical.session_records`` has no verb for
it), and what comes later is a progress note.

Progress notes (``ProgressNote``): append-only free text on a session. A note is never
edited or deleted; a correction, or an addendum to a signed record, is a new note that
says so. The service (``services.clinical.notes``) only ever inserts, and the panel offers
no edit or delete.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.appointment import Appointment
from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.people import Patient
from models.staff import StaffUser

BODY_MAX = 5000


class ProgressNote(ClinicOwned, Timestamped, Base):
    __tablename__ = "progress_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No ON DELETE CASCADE from the session, the patient or the author: a clinical
    # record must not disappear as a side effect of removing something else.
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), index=True)
    # The session's patient, copied so a patient's history is one indexed read.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    body: Mapped[str] = mapped_column(Text)

    appointment: Mapped[Appointment] = relationship()
    patient: Mapped[Patient] = relationship()
    author: Mapped[StaffUser] = relationship()

    __table_args__ = (
        CheckConstraint(f"length(body) BETWEEN 1 AND {BODY_MAX}", name="body_length"),
    )

    def __str__(self) -> str:
        return f"Note #{self.id}"


class Attendance(enum.StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    PARTIAL = "partial"  # left early, or took part in only some of the session


class RecordStatus(enum.StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


# The record's written parts, in the order the form shows them (SOAP first).
RECORD_TEXTS = (
    "subjective",
    "objective",
    "assessment",
    "plan",
    "activities",
    "homework",
    "response",
)


# A progress report's written parts.
REPORT_TEXTS = ("summary", "recommendations", "home_programme")


class SessionRecord(ClinicOwned, Timestamped, Base):
    __tablename__ = "session_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One record per session; no ON DELETE CASCADE, as for progress notes.
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))  # who last wrote it
    subjective: Mapped[str | None] = mapped_column(Text)  # what the patient or guardian said
    objective: Mapped[str | None] = mapped_column(Text)  # what was observed and measured
    assessment: Mapped[str | None] = mapped_column(Text)  # what it means
    plan: Mapped[str | None] = mapped_column(Text)  # what comes next
    activities: Mapped[str | None] = mapped_column(Text)  # activities and materials used
    homework: Mapped[str | None] = mapped_column(Text)  # home practice given
    response: Mapped[str | None] = mapped_column(Text)  # how the patient took part
    attendance: Mapped[Attendance | None] = mapped_column(
        str_enum(Attendance, "session_attendance")
    )
    status: Mapped[RecordStatus] = mapped_column(
        str_enum(RecordStatus, "session_record_status"), default=RecordStatus.DRAFT
    )
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    appointment: Mapped[Appointment] = relationship()
    patient: Mapped[Patient] = relationship()
    author: Mapped[StaffUser] = relationship(foreign_keys=[author_id])
    signed_by: Mapped[StaffUser | None] = relationship(foreign_keys=[signed_by_id])

    __table_args__ = (
        *(
            CheckConstraint(f"length({name}) <= {BODY_MAX}", name=f"{name}_length")
            for name in RECORD_TEXTS
        ),
        # Signed means signed by someone at some moment; a draft has neither.
        CheckConstraint(
            "(status = 'signed') = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL)",
            name="signed_has_signer",
        ),
    )

    def texts(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in RECORD_TEXTS}

    def __str__(self) -> str:
        return f"Session record #{self.id}"


class ProgressReport(ClinicOwned, Timestamped, Base):
    """A progress report for a patient's guardians over a period: drafted and signed by a
    therapist, then sent in the chat as a PDF (``services.clinical.progress_reports``)."""

    __tablename__ = "progress_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))  # who last wrote it
    period_start: Mapped[date]
    period_end: Mapped[date]
    summary: Mapped[str | None] = mapped_column(Text)
    recommendations: Mapped[str | None] = mapped_column(Text)
    home_programme: Mapped[str | None] = mapped_column(Text)
    status: Mapped[RecordStatus] = mapped_column(
        str_enum(RecordStatus, "progress_report_status"), default=RecordStatus.DRAFT
    )
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    sent_at: Mapped[datetime | None]  # last handed to the chat
    # The link the last sending carries (the provider fetches the PDF through it): random,
    # and good until ``link_expires_at``; a new sending makes a new one.
    link_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_expires_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship()
    author: Mapped[StaffUser] = relationship(foreign_keys=[author_id])
    signed_by: Mapped[StaffUser | None] = relationship(foreign_keys=[signed_by_id])

    __table_args__ = (
        *(
            CheckConstraint(f"length({name}) <= {BODY_MAX}", name=f"{name}_length")
            for name in REPORT_TEXTS
        ),
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        CheckConstraint(
            "(status = 'signed') = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL)",
            name="signed_has_signer",
        ),
    )

    def __str__(self) -> str:
        return f"Progress report #{self.id}"
