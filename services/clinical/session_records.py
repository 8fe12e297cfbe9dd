"""Session records: the structured note a therapist writes for each session.

One record per session (SOAP: subjective, objective, assessment, plan; with activities,
home practice, attendance and the patient's response). It is saved as a draft as often
as needed, then signed; a signed record is never changed, and what comes after it is a
progress note (``services.clinical.notes``: append-only). Who may write follows the same
rule as notes (``notes.require_author``): the session's therapist, or an admin.

Audit rows say which parts changed, not what they say: the clinical text lives in the
record only (and leaves with it when a contact's data is erased).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from models import (
    Appointment,
    AppointmentStatus,
    Attendance,
    RecordStatus,
    SessionRecord,
    Therapist,
)
from models.notes import RECORD_TEXTS
from services import audit
from services.audit import Actor
from services.clinical import goals
from services.clinical.notes import NoteRefused, clean_part, require_author
from services.errors import N_, InvalidInput
from services.locks import lock_appointment

# "Sessions needing notes" looks this far back.
NEEDING_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class RecordTexts:
    """What the form sends: each part as typed (blank means empty), and attendance."""

    subjective: str | None = None
    objective: str | None = None
    assessment: str | None = None
    plan: str | None = None
    activities: str | None = None
    homework: str | None = None
    response: str | None = None
    attendance: Attendance | None = None


def write_record(
    session: Session,
    *,
    clinic_id: int,
    appointment_id: int,
    texts: RecordTexts,
    now: datetime,
    actor: Actor,
    author_id: int,
    sign: bool = False,
    measures: Mapping[int, float] | None = None,
) -> SessionRecord:
    """Save the session's record as a draft (created on first save), and sign it if
    ``sign``. Refused once it is signed, on a cancelled session, and when nothing is
    written; signing is refused before the session has started. ``measures`` (goal id →
    value) replace the values the record logs for the patient's goals; None keeps them."""
    now = require_aware(now, "now").astimezone(UTC)
    cleaned = {name: clean_part(getattr(texts, name)) for name in RECORD_TEXTS}
    if actor.is_staff and actor.id != author_id:
        raise NoteRefused(detail=N_("Records are written in one's own name."))
    if not any(cleaned.values()) and texts.attendance is None and not measures:
        raise InvalidInput(detail=N_("Please write something in the record first."))
    with write_transaction(session):
        # Locked: a cancellation, or a colleague's save, cannot slip in between.
        appointment = lock_appointment(session, clinic_id, appointment_id)
        require_author(session, appointment, author_id)
        if appointment.status is AppointmentStatus.CANCELLED:
            raise NoteRefused(detail=N_("This session was cancelled; it takes no record."))
        if sign and appointment.start_at > now:
            raise NoteRefused(detail=N_("A record can be signed once the session has begun."))
        record = record_for_appointment(session, clinic_id, appointment.id)
        if record is not None and record.status is RecordStatus.SIGNED:
            raise NoteRefused(
                detail=N_("This record is signed and cannot change; add a note instead.")
            )
        created = record is None
        if record is None:
            record = SessionRecord(
                clinic_id=clinic_id,
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                status=RecordStatus.DRAFT,
                created_at=now,
            )
            session.add(record)
        changed = [name for name, text in cleaned.items() if getattr(record, name) != text]
        if record.attendance != texts.attendance:
            changed.append("attendance")
        for name, text in cleaned.items():
            setattr(record, name, text)
        record.attendance = texts.attendance
        record.author_id = author_id
        record.updated_at = now
        if measures is not None:
            session.flush()  # the measures point at the record
            if goals.log_measures(session, record, appointment, measures, now=now):
                changed.append("measures")
        if changed or created:
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="record.save",
                entity=record,
                after={"appointment_id": appointment.id, "changed": changed},
            )
        if sign:
            record.status = RecordStatus.SIGNED
            record.signed_at = now
            record.signed_by_id = author_id
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="record.sign",
                entity=record,
                after={"appointment_id": appointment.id, "status": RecordStatus.SIGNED.value},
            )
    return record


def record_for_appointment(
    session: Session, clinic_id: int, appointment_id: int
) -> SessionRecord | None:
    return session.scalar(
        select(SessionRecord)
        .where(SessionRecord.clinic_id == clinic_id, SessionRecord.appointment_id == appointment_id)
        .options(joinedload(SessionRecord.author), joinedload(SessionRecord.signed_by))
    )


def sessions_needing_records(
    session: Session,
    clinic_id: int,
    *,
    now: datetime,
    therapist_staff_id: int | None = None,
    limit: int = 20,
) -> Sequence[Appointment]:
    """Sessions of the last two weeks that have begun and have no signed record yet,
    newest first: a therapist's own (``therapist_staff_id``, their login), else the
    clinic's. Cancelled sessions and no-shows need none."""
    now = require_aware(now, "now").astimezone(UTC)
    signed = exists().where(
        SessionRecord.appointment_id == Appointment.id,
        SessionRecord.status == RecordStatus.SIGNED,
    )
    query = (
        select(Appointment)
        .where(
            Appointment.clinic_id == clinic_id,
            Appointment.start_at <= now,
            Appointment.start_at > now - NEEDING_WINDOW,
            Appointment.status.in_(
                (*AppointmentStatus.active(), AppointmentStatus.COMPLETED),
            ),
            ~signed,
        )
        .options(
            joinedload(Appointment.patient),
            joinedload(Appointment.service),
            joinedload(Appointment.therapist),
        )
        .order_by(Appointment.start_at.desc(), Appointment.id.desc())
        .limit(limit)
    )
    if therapist_staff_id is not None:
        query = query.join(Therapist, Therapist.id == Appointment.therapist_id).where(
            Therapist.staff_user_id == therapist_staff_id
        )
    return session.scalars(query).all()
