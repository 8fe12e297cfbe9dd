"""The rows of a patient's history (``services.clinical.history``), each kind loaded in
bulk by id: one statement per kind however many rows, turned into plain ``Entry`` values.
Excerpts are clinical text, for the clinical staff's page only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import (
    Appointment,
    Assessment,
    PatientDocument,
    ProgressNote,
    ProgressReport,
    SessionRecord,
)

EXCERPT = 160  # characters of a record's or a note's text shown on the timeline


class Kind(enum.StrEnum):
    SESSION = "session"
    NOTE = "note"
    ASSESSMENT = "assessment"
    DOCUMENT = "document"
    REPORT = "report"


@dataclass(frozen=True)
class Entry:
    """One line of the timeline, plain values only."""

    kind: Kind
    id: int
    at: datetime
    appointment_id: int | None = None
    therapist: str | None = None  # the session's therapist
    what: str | None = None  # the service, or the assessment's therapy type
    author: str | None = None  # who wrote or uploaded it
    status: str | None = None  # the session's, or the record's / report's "draft" / "signed"
    record: str | None = None  # a session's record: None, "draft" or "signed"
    excerpt: str | None = None  # clinical text: for the clinical staff's page only
    name: str | None = None  # a document's file name; an assessment's kind
    period: tuple[Any, Any] | None = None  # a report's first and last day


def sessions(session: Session, clinic_id: int, ids: Sequence[int]) -> list[Entry]:
    rows = session.execute(
        select(Appointment, SessionRecord)
        .outerjoin(SessionRecord, SessionRecord.appointment_id == Appointment.id)
        .where(Appointment.clinic_id == clinic_id, Appointment.id.in_(ids))
        .options(joinedload(Appointment.service), joinedload(Appointment.therapist))
    ).all()
    return [
        Entry(
            kind=Kind.SESSION,
            id=appointment.id,
            at=appointment.start_at,
            appointment_id=appointment.id,
            therapist=appointment.therapist.name,
            what=appointment.service.name,
            status=appointment.status.value,
            record=None if record is None else record.status.value,
            excerpt=None if record is None else excerpt(record.assessment, record.plan),
        )
        for appointment, record in rows
    ]


def notes(session: Session, clinic_id: int, ids: Sequence[int]) -> list[Entry]:
    notes = session.scalars(
        select(ProgressNote)
        .where(ProgressNote.clinic_id == clinic_id, ProgressNote.id.in_(ids))
        .options(
            joinedload(ProgressNote.author),
            joinedload(ProgressNote.appointment).joinedload(Appointment.service),
            joinedload(ProgressNote.appointment).joinedload(Appointment.therapist),
        )
    ).all()
    return [
        Entry(
            kind=Kind.NOTE,
            id=note.id,
            at=note.created_at,
            appointment_id=note.appointment_id,
            therapist=note.appointment.therapist.name,
            what=note.appointment.service.name,
            author=_who(note.author),
            excerpt=excerpt(note.body),
        )
        for note in notes
    ]


def assessments(session: Session, clinic_id: int, ids: Sequence[int]) -> list[Entry]:
    found = session.scalars(
        select(Assessment)
        .where(Assessment.clinic_id == clinic_id, Assessment.id.in_(ids))
        .options(joinedload(Assessment.author))
    ).all()
    return [
        Entry(
            kind=Kind.ASSESSMENT,
            id=a.id,
            at=a.created_at,
            appointment_id=a.appointment_id,
            what=a.therapy_type,
            author=_who(a.author),
            status=a.status.value,
            name=a.kind.value,
        )
        for a in found
    ]


def documents(session: Session, clinic_id: int, ids: Sequence[int]) -> list[Entry]:
    found = session.scalars(
        select(PatientDocument)
        .where(PatientDocument.clinic_id == clinic_id, PatientDocument.id.in_(ids))
        .options(joinedload(PatientDocument.uploaded_by))
    ).all()
    return [
        Entry(
            kind=Kind.DOCUMENT,
            id=d.id,
            at=d.created_at,
            author=_who(d.uploaded_by),
            name=d.file_name,
            status=d.tag.value,
        )
        for d in found
    ]


def reports(session: Session, clinic_id: int, ids: Sequence[int]) -> list[Entry]:
    found = session.scalars(
        select(ProgressReport)
        .where(ProgressReport.clinic_id == clinic_id, ProgressReport.id.in_(ids))
        .options(joinedload(ProgressReport.author))
    ).all()
    return [
        Entry(
            kind=Kind.REPORT,
            id=r.id,
            at=r.created_at,
            author=_who(r.author),
            status=r.status.value,
            period=(r.period_start, r.period_end),
        )
        for r in found
    ]


LOADERS = {
    Kind.SESSION: sessions,
    Kind.NOTE: notes,
    Kind.ASSESSMENT: assessments,
    Kind.DOCUMENT: documents,
    Kind.REPORT: reports,
}


def excerpt(*texts: str | None) -> str | None:
    """The first ``EXCERPT`` characters of the texts, joined, on one line."""
    joined = " · ".join(" ".join(t.split()) for t in texts if t and t.strip())
    if not joined:
        return None
    return joined if len(joined) <= EXCERPT else joined[: EXCERPT - 1].rstrip() + "…"


def _who(user: Any) -> str | None:
    return (user.name or user.email) if user is not None else None
