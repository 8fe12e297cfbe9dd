"""Progress notes: what a therapist wrote about a session. Clinical records.

Append-only: a note is never edited or deleted; a correction is a new note that
says so. The service (``services.people.notes``) only ever inserts, and the panel offers
no edit or delete.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.appointment import Appointment
from models.base import Base, ClinicOwned, Timestamped
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
