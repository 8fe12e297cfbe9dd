"""Assessments: what a therapist finds when they assess a patient. Clinical records.

An assessment (initial, progress, re-assessment or discharge) is written for one therapy
type (the clinic's service specializations: "speech", "occupational", "physiotherapy"…),
optionally against a booked session (the clinic's assessment session). Its structured
items (``items``: label, kind, value; a score with its range, or text) are copied from the
clinic's template for that therapy type when the assessment is started, so a later edit of
the template never changes an assessment already written. Draft until signed; a signed
assessment never changes (as a session record): a correction is a progress note or a
new assessment.

A template (``AssessmentTemplate``) is the clinic's own copy of the structured items for
one therapy type; without one the defaults in ``services.clinical.assessments`` apply.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.appointment import Appointment
from models.base import Base, ClinicOwned, Timestamped, str_enum
from models.notes import BODY_MAX, RecordStatus
from models.people import Patient
from models.staff import StaffUser

# As long as a service's or a therapist's specialization (models.catalog).
THERAPY_TYPE_MAX = 60


class AssessmentKind(enum.StrEnum):
    INITIAL = "initial"
    PROGRESS = "progress"
    REASSESSMENT = "reassessment"
    DISCHARGE = "discharge"


class ItemKind(enum.StrEnum):
    """A template item's kind: a number (with an optional range) or words."""

    SCORE = "score"
    TEXT = "text"


# The assessment's written parts, in the order the form shows them.
ASSESSMENT_TEXTS = ("presenting_concerns", "history", "findings", "recommendations")


class AssessmentTemplate(ClinicOwned, Timestamped, Base):
    __tablename__ = "assessment_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapy_type: Mapped[str] = mapped_column(String(THERAPY_TYPE_MAX))
    # [{"label": "Pain score", "kind": "score", "min": 0, "max": 10}, …]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("clinic_id", "therapy_type"),)


class Assessment(ClinicOwned, Timestamped, Base):
    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No ON DELETE CASCADE, as for session records: a clinical record must not disappear
    # as a side effect of removing something else.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    # The booked session it was written against, if any.
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))  # who last wrote it
    kind: Mapped[AssessmentKind] = mapped_column(str_enum(AssessmentKind, "assessment_kind"))
    therapy_type: Mapped[str] = mapped_column(String(THERAPY_TYPE_MAX))
    presenting_concerns: Mapped[str | None] = mapped_column(Text)
    history: Mapped[str | None] = mapped_column(Text)
    # The template's items when it was started, each with its value:
    # [{"label": …, "kind": "score", "min": 0, "max": 10, "value": 4}, …]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    findings: Mapped[str | None] = mapped_column(Text)
    recommendations: Mapped[str | None] = mapped_column(Text)
    sessions_per_week: Mapped[int | None]
    session_minutes: Mapped[int | None]
    next_review_on: Mapped[date | None]
    status: Mapped[RecordStatus] = mapped_column(
        str_enum(RecordStatus, "assessment_status"), default=RecordStatus.DRAFT
    )
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    patient: Mapped[Patient] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    author: Mapped[StaffUser] = relationship(foreign_keys=[author_id])
    signed_by: Mapped[StaffUser | None] = relationship(foreign_keys=[signed_by_id])

    __table_args__ = (
        *(
            CheckConstraint(f"length({name}) <= {BODY_MAX}", name=f"{name}_length")
            for name in ASSESSMENT_TEXTS
        ),
        CheckConstraint("length(therapy_type) >= 1", name="therapy_type_length"),
        CheckConstraint(
            "sessions_per_week IS NULL OR sessions_per_week BETWEEN 1 AND 14",
            name="sessions_per_week_range",
        ),
        CheckConstraint(
            "session_minutes IS NULL OR session_minutes BETWEEN 5 AND 480",
            name="session_minutes_range",
        ),
        # Signed means signed by someone at some moment; a draft has neither.
        CheckConstraint(
            "(status = 'signed') = (signed_at IS NOT NULL AND signed_by_id IS NOT NULL)",
            name="signed_has_signer",
        ),
    )

    def texts(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in ASSESSMENT_TEXTS}

    def __str__(self) -> str:
        return f"Assessment #{self.id}"
