"""A patient's clinical history: sessions with their records, progress notes, assessments,
documents and progress reports on one timeline, newest first, filtered and paged.

For the clinical page (the admin and the patient's therapists; the caller checks). Every
query is scoped to the clinic and the patient, so a filter naming another clinic's
therapist, or another patient's, finds nothing. A page costs the same few statements
however long the history: one for the page's keys (a UNION of the kinds), one to count,
one per kind shown to load its rows, and two for the filters' choices.

Search looks in the session records' texts and the progress notes' bodies only,
case-insensitively on SQLite and PostgreSQL; ``%``, ``_`` and quotes match literally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from core.clock import require_aware
from models import (
    Appointment,
    Assessment,
    PatientDocument,
    ProgressNote,
    ProgressReport,
    Service,
    SessionRecord,
    Therapist,
)
from models.notes import RECORD_TEXTS
from services.clinical.history_rows import LOADERS, Entry, Kind

PAGE_SIZE = 50
SEARCH_MAX = 100
KINDS = tuple(Kind)
SEARCHED = frozenset({Kind.SESSION, Kind.NOTE})  # the kinds with texts the search reads
TYPED = frozenset({Kind.SESSION, Kind.NOTE, Kind.ASSESSMENT})  # those with a therapy type


@dataclass(frozen=True)
class HistoryFilter:
    therapist_id: int | None = None
    therapy_type: str | None = None
    since: datetime | None = None  # aware; from this moment on
    until: datetime | None = None  # aware; before this moment
    kinds: frozenset[Kind] = frozenset(KINDS)
    search: str | None = None

    def shown(self) -> list[Kind]:
        """The kinds this filter can find, in the timeline's order."""
        kinds = [k for k in KINDS if k in self.kinds]
        if self.search:
            kinds = [k for k in kinds if k in SEARCHED]
        if self.therapy_type:
            kinds = [k for k in kinds if k in TYPED]
        return kinds


@dataclass(frozen=True)
class HistoryPage:
    entries: list[Entry]
    page: int
    total: int
    page_size: int = PAGE_SIZE
    therapists: list[tuple[int, str]] = field(default_factory=list)
    therapy_types: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def patient_history(
    session: Session,
    clinic_id: int,
    patient_id: int,
    wanted: HistoryFilter,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> HistoryPage:
    """One page of the patient's timeline, newest first, and the filters' choices."""
    wanted = _checked(wanted)
    page = max(1, page)
    kinds = wanted.shown()
    keyed = [_keys(kind, clinic_id, patient_id, wanted) for kind in kinds]
    entries: list[Entry] = []
    total = 0
    if keyed:
        union = union_all(*keyed).subquery()
        total = session.scalar(select(func.count()).select_from(union)) or 0
        keys = session.execute(
            select(union.c.kind, union.c.id)
            .order_by(union.c.at.desc(), union.c.kind, union.c.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        loaded: dict[tuple[int, int], Entry] = {}
        for kind in kinds:  # one statement per kind, however many rows
            ids = [row_id for code, row_id in keys if code == KINDS.index(kind)]
            for entry in LOADERS[kind](session, clinic_id, ids):
                loaded[(KINDS.index(kind), entry.id)] = entry
        entries = [loaded[(code, row_id)] for code, row_id in keys if (code, row_id) in loaded]
    return HistoryPage(
        entries=entries,
        page=page,
        total=total,
        page_size=page_size,
        therapists=patient_therapists(session, clinic_id, patient_id),
        therapy_types=patient_therapy_types(session, clinic_id, patient_id),
    )


def patient_therapists(session: Session, clinic_id: int, patient_id: int) -> list[tuple[int, str]]:
    """The clinic's therapists who have had a session with the patient, by name."""
    rows = session.execute(
        select(Therapist.id, Therapist.name)
        .where(
            Therapist.clinic_id == clinic_id,
            Therapist.id.in_(
                select(Appointment.therapist_id).where(
                    Appointment.clinic_id == clinic_id, Appointment.patient_id == patient_id
                )
            ),
        )
        .order_by(Therapist.name, Therapist.id)
    ).all()
    return [(therapist_id, name) for therapist_id, name in rows]


def patient_therapy_types(session: Session, clinic_id: int, patient_id: int) -> list[str]:
    """The therapy types of the patient's sessions and assessments."""
    booked = (
        select(Service.specialization.label("type"))
        .join(Appointment, Appointment.service_id == Service.id)
        .where(Appointment.clinic_id == clinic_id, Appointment.patient_id == patient_id)
    )
    assessed = select(Assessment.therapy_type.label("type")).where(
        Assessment.clinic_id == clinic_id, Assessment.patient_id == patient_id
    )
    return sorted(set(session.scalars(select(union_all(booked, assessed).subquery().c.type))))


# --- the keys of each kind ------------------------------------------------------------


def _checked(wanted: HistoryFilter) -> HistoryFilter:
    for moment, name in ((wanted.since, "since"), (wanted.until, "until")):
        if moment is not None:
            require_aware(moment, name)
    search = " ".join((wanted.search or "").split())[:SEARCH_MAX] or None
    return HistoryFilter(
        therapist_id=wanted.therapist_id,
        therapy_type=(wanted.therapy_type or "").strip() or None,
        since=wanted.since.astimezone(UTC) if wanted.since else None,
        until=wanted.until.astimezone(UTC) if wanted.until else None,
        kinds=wanted.kinds,
        search=search,
    )


def _keys(kind: Kind, clinic_id: int, patient_id: int, wanted: HistoryFilter) -> Select[Any]:
    code = literal_column(str(KINDS.index(kind))).label("kind")
    if kind is Kind.SESSION:
        at: Any = Appointment.start_at
        query = select(code, Appointment.id.label("id"), at.label("at")).where(
            Appointment.clinic_id == clinic_id, Appointment.patient_id == patient_id
        )
        query = _of_session(query, clinic_id, wanted)
        if wanted.search:
            query = query.join(SessionRecord, SessionRecord.appointment_id == Appointment.id).where(
                or_(*(_finds(getattr(SessionRecord, n), wanted.search) for n in RECORD_TEXTS))
            )
    elif kind is Kind.NOTE:
        at = ProgressNote.created_at
        query = (
            select(code, ProgressNote.id.label("id"), at.label("at"))
            .join(Appointment, Appointment.id == ProgressNote.appointment_id)
            .where(ProgressNote.clinic_id == clinic_id, ProgressNote.patient_id == patient_id)
        )
        query = _of_session(query, clinic_id, wanted)
        if wanted.search:
            query = query.where(_finds(ProgressNote.body, wanted.search))
    elif kind is Kind.ASSESSMENT:
        at = Assessment.created_at
        query = select(code, Assessment.id.label("id"), at.label("at")).where(
            Assessment.clinic_id == clinic_id, Assessment.patient_id == patient_id
        )
        if wanted.therapist_id is not None:
            query = query.where(
                or_(
                    Assessment.author_id.in_(_logins(clinic_id, wanted.therapist_id)),
                    Assessment.appointment_id.in_(
                        select(Appointment.id).where(
                            Appointment.clinic_id == clinic_id,
                            Appointment.therapist_id == wanted.therapist_id,
                        )
                    ),
                )
            )
        if wanted.therapy_type:
            query = query.where(Assessment.therapy_type == wanted.therapy_type)
    elif kind is Kind.DOCUMENT:
        at = PatientDocument.created_at
        query = select(code, PatientDocument.id.label("id"), at.label("at")).where(
            PatientDocument.clinic_id == clinic_id,
            PatientDocument.patient_id == patient_id,
            PatientDocument.deleted_at.is_(None),
        )
        if wanted.therapist_id is not None:
            query = query.where(
                PatientDocument.uploaded_by_id.in_(_logins(clinic_id, wanted.therapist_id))
            )
    else:
        at = ProgressReport.created_at
        query = select(code, ProgressReport.id.label("id"), at.label("at")).where(
            ProgressReport.clinic_id == clinic_id, ProgressReport.patient_id == patient_id
        )
        if wanted.therapist_id is not None:
            mine = _logins(clinic_id, wanted.therapist_id)
            query = query.where(ProgressReport.author_id.in_(mine))
    if wanted.since is not None:
        query = query.where(at >= wanted.since)
    if wanted.until is not None:
        query = query.where(at < wanted.until)
    return query


def _of_session(query: Select[Any], clinic_id: int, wanted: HistoryFilter) -> Select[Any]:
    """Sessions and their notes: by the session's therapist and service."""
    if wanted.therapist_id is not None:
        query = query.where(Appointment.therapist_id == wanted.therapist_id)
    if wanted.therapy_type:
        query = query.where(
            Appointment.service_id.in_(
                select(Service.id).where(
                    Service.clinic_id == clinic_id, Service.specialization == wanted.therapy_type
                )
            )
        )
    return query


def _logins(clinic_id: int, therapist_id: int) -> Select[Any]:
    return select(Therapist.staff_user_id).where(
        Therapist.clinic_id == clinic_id,
        Therapist.id == therapist_id,
        Therapist.staff_user_id.is_not(None),
    )


def _finds(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive "contains", wildcards and quotes taken literally (both databases)."""
    return func.lower(column).contains(text.lower(), autoescape=True)
