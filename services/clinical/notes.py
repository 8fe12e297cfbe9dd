"""Progress notes on sessions: add one, read a session's or a patient's.

Notes are clinical records and append-only: there is no verb to edit or delete
one; a correction is a new note. Who may write mirrors the roles matrix
(``admin.permissions``, "notes" on appointments): a therapist on their own
sessions, an admin on any. ``NOTE_AUTHORS`` restates it here because services do
not import the panel; tests/people/test_progress_notes.py checks the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.elements import ColumnElement

from core.clock import require_aware
from core.db import write_transaction
from models import Appointment, AppointmentStatus, ProgressNote, Role, StaffUser, Therapist
from models.notes import BODY_MAX
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidInput, ServiceError
from services.locks import lock_appointment

NOTE_AUTHORS = frozenset({Role.ADMIN, Role.THERAPIST})
# Roles that write only on sessions that are their own (the matrix's "own").
OWN_SESSIONS_ONLY = frozenset({Role.THERAPIST})


class NoteRefused(ServiceError):
    code = "note_refused"
    template = "%(detail)s"  # the sentence is the raise's ``detail``, marked there


def add_progress_note(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    body: str,
    now: datetime,
    actor: Actor,
    author_id: int,
) -> ProgressNote:
    """Write a note on a session, in the author's name, with an audit row."""
    now = require_aware(now, "now").astimezone(UTC)
    text = clean_body(body)
    if actor.is_staff and actor.id != author_id:
        raise NoteRefused(detail=N_("Notes are written in one's own name."))
    with write_transaction(session):
        # Locked, so a cancellation cannot slip in between the check and the insert.
        appointment = lock_appointment(session, clinic_id, appointment_id)
        require_author(session, appointment, author_id)
        if appointment.status is AppointmentStatus.CANCELLED:
            raise NoteRefused(detail=N_("This session was cancelled; it takes no notes."))
        note = ProgressNote(
            clinic_id=clinic_id,
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            author_id=author_id,
            body=text,
            created_at=now,
            updated_at=now,
        )
        session.add(note)
        audit.record(session, clinic_id=clinic_id, actor=actor, action="note.add", entity=note)
    return note


def clean_body(body: str | None) -> str:
    """The note as written (``clean_part``); refused when blank."""
    text = clean_part(body)
    if not text:
        raise InvalidInput(detail=N_("Please write the note first."))
    return text


def clean_part(text: str | None, most: int = BODY_MAX) -> str | None:
    """A written part of a clinical record as kept: line breaks as written, no blank space
    around it; None when blank. Refused when longer than ``most``. Every clinical text
    (notes, records, goals, assessments, reports) goes through here."""
    cleaned = (text or "").replace("\r\n", "\n").strip()
    if len(cleaned) > most:
        raise InvalidInput(
            N_("A text can be up to %(most)s characters; this one is %(length)s."),
            most=most,
            length=len(cleaned),
        )
    return cleaned or None


def notes_for_appointment(
    session: Session, clinic_id: int, appointment_id: int
) -> Sequence[ProgressNote]:
    """A session's notes, newest first, with their authors."""
    return _notes(session, clinic_id, ProgressNote.appointment_id == appointment_id)


def notes_for_patient(session: Session, clinic_id: int, patient_id: int) -> Sequence[ProgressNote]:
    """A patient's notes across sessions, newest first: one query, author and session joined."""
    return _notes(session, clinic_id, ProgressNote.patient_id == patient_id)


def _notes(
    session: Session, clinic_id: int, condition: ColumnElement[bool]
) -> Sequence[ProgressNote]:
    return session.scalars(
        select(ProgressNote)
        .where(ProgressNote.clinic_id == clinic_id, condition)
        .options(joinedload(ProgressNote.author), joinedload(ProgressNote.appointment))
        .order_by(ProgressNote.created_at.desc(), ProgressNote.id.desc())
    ).all()


def require_author(session: Session, appointment: Appointment, author_id: int) -> None:
    author = session.get(StaffUser, author_id)
    if author is None or not author.active or author.clinic_id != appointment.clinic_id:
        raise NoteRefused(detail=N_("Only the clinic's staff can write notes."))
    if author.role not in NOTE_AUTHORS:
        raise NoteRefused(detail=N_("Notes are written by the session's therapist or an admin."))
    if author.role in OWN_SESSIONS_ONLY:
        own = session.scalar(
            select(Therapist.id).where(
                Therapist.id == appointment.therapist_id,
                Therapist.staff_user_id == author_id,
            )
        )
        if own is None:
            raise NoteRefused(detail=N_("You can write notes only on your own sessions."))
