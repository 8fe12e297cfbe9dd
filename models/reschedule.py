"""Requests to move a session that staff must approve.

A patient asking inside the clinic's reschedule window, or a therapist asking
for one of their own sessions, cannot move it directly; the request waits for
an admin or operator. At most one request per appointment is pending at a time
(a partial unique index, so a lost race is refused by the database).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.appointment import Appointment
from models.base import Base, ClinicOwned, Timestamped, str_enum


class RequesterType(enum.StrEnum):
    PATIENT = "patient"
    THERAPIST = "therapist"


class RescheduleStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class RescheduleRequest(ClinicOwned, Timestamped, Base):
    __tablename__ = "reschedule_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), index=True
    )
    # Actor labels as elsewhere: "contact:<id>" or "staff:<id>".
    requested_by: Mapped[str] = mapped_column(String(40))
    requester_type: Mapped[RequesterType] = mapped_column(
        str_enum(RequesterType, "reschedule_requester_type")
    )
    # None means "any other time": the clinic picks one when approving.
    proposed_start: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[RescheduleStatus] = mapped_column(
        str_enum(RescheduleStatus, "reschedule_status"), default=RescheduleStatus.PENDING
    )
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(500))
    # Where the appointment was moved to (approved) — may differ from the proposal.
    new_start: Mapped[datetime | None]
    # The session's start when the request was made, for the record after it moves.
    original_start: Mapped[datetime]

    appointment: Mapped[Appointment] = relationship()

    __table_args__ = (
        Index(
            "uq_reschedule_request_one_pending",
            "appointment_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_reschedule_request_clinic_status", "clinic_id", "status"),
    )

    @property
    def is_pending(self) -> bool:
        return self.status is RescheduleStatus.PENDING

    def __str__(self) -> str:
        return f"Request #{self.id}"
