"""Assessments: written per patient and therapy type, from the clinic's template.

A therapist (or an admin) starts an assessment for one of the clinic's therapy types (its
services' specializations), optionally against a booked session of the patient, saves it as
a draft as often as needed and signs it; a signed assessment never changes (a correction
is a progress note or a new assessment). Who may write: ``goals.require_clinician`` (an
admin, or a therapist who sees the patient).

Its structured items come from the clinic's template for the therapy type
(``assessment_templates``: the defaults until the clinic's admin edits its own copy) and
are copied into the assessment when it is started: a later template edit leaves the
assessments already written as they were.
A score is checked against its item's range.

Audit rows say which parts changed, not what they say; template edits are settings and
are audited in full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from core.clock import require_aware
from core.db import write_transaction
from models import (
    Appointment,
    AppointmentStatus,
    Assessment,
    AssessmentKind,
    ItemKind,
    Patient,
    RecordStatus,
)
from models.assessments import ASSESSMENT_TEXTS, THERAPY_TYPE_MAX
from models.notes import BODY_MAX
from services import audit
from services.audit import Actor
from services.clinical.assessment_templates import number, template_for, therapy_types
from services.clinical.goals import require_clinician
from services.clinical.notes import NoteRefused, clean_part
from services.errors import N_, InvalidInput, NotFound
from services.locks import lock_in_clinic

VALUE_MAX = 1000  # a text item's answer: a line or two; the long texts have their own parts


@dataclass(frozen=True)
class AssessmentFields:
    """What the form sends. ``values`` are the items' answers by label (a score as a
    number or the text typed; blank means unanswered)."""

    kind: AssessmentKind
    therapy_type: str
    presenting_concerns: str | None = None
    history: str | None = None
    findings: str | None = None
    recommendations: str | None = None
    sessions_per_week: int | None = None
    session_minutes: int | None = None
    next_review_on: date | None = None
    appointment_id: int | None = None
    values: Mapping[str, float | str | None] = field(default_factory=dict)


def write_assessment(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    fields: AssessmentFields,
    now: datetime,
    actor: Actor,
    author_id: int,
    assessment_id: int | None = None,
    sign: bool = False,
) -> Assessment:
    """Start an assessment (``assessment_id`` None: its items from today's template) or
    save a draft one, and sign it if ``sign``. Refused once signed, for another patient's
    session, and for a score outside its item's range."""
    now = require_aware(now, "now").astimezone(UTC)
    texts = {name: clean_part(getattr(fields, name), BODY_MAX) for name in ASSESSMENT_TEXTS}
    _check_plan(fields)
    if actor.is_staff and actor.id != author_id:
        raise NoteRefused(detail=N_("Assessments are written in one's own name."))
    with write_transaction(session):
        patient = lock_in_clinic(session, Patient, clinic_id, patient_id, what=N_("patient"))
        require_clinician(session, clinic_id, patient.id, author_id)
        if assessment_id is None:
            assessment = _start(session, clinic_id, patient, fields, now, author_id)
        else:
            assessment = lock_in_clinic(
                session, Assessment, clinic_id, assessment_id, what=N_("assessment")
            )
            if assessment.patient_id != patient.id:
                raise NotFound(what=N_("assessment"))
            if assessment.status is RecordStatus.SIGNED:
                raise NoteRefused(
                    detail=N_(
                        "This assessment is signed and cannot change; write a progress "
                        "note or a new assessment."
                    )
                )
            if fields.therapy_type != assessment.therapy_type:
                raise InvalidInput(
                    detail=N_("An assessment's therapy type is chosen when it is started.")
                )
        appointment = _session_of(session, clinic_id, patient.id, fields.appointment_id)
        items = _filled(assessment.items, fields.values)
        if not any(texts.values()) and not any(i["value"] is not None for i in items):
            raise InvalidInput(detail=N_("Please write something in the assessment first."))
        if sign and appointment is not None and appointment.start_at > now:
            raise NoteRefused(detail=N_("An assessment can be signed once its session has begun."))
        changed = [name for name, text in texts.items() if getattr(assessment, name) != text]
        plan = {
            "kind": fields.kind,
            "appointment_id": fields.appointment_id,
            "sessions_per_week": fields.sessions_per_week,
            "session_minutes": fields.session_minutes,
            "next_review_on": fields.next_review_on,
        }
        changed += [name for name, value in plan.items() if getattr(assessment, name) != value]
        if items != assessment.items:
            changed.append("items")
        for name, value in {**texts, **plan}.items():
            setattr(assessment, name, value)
        assessment.items = items
        assessment.author_id = author_id
        assessment.updated_at = now
        session.flush()
        if changed or assessment_id is None:
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="assessment.save",
                entity=assessment,
                after={
                    "patient_id": patient.id,
                    "kind": assessment.kind.value,
                    "therapy_type": assessment.therapy_type,
                    "changed": changed,
                },
            )
        if sign:
            assessment.status = RecordStatus.SIGNED
            assessment.signed_at = now
            assessment.signed_by_id = author_id
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="assessment.sign",
                entity=assessment,
                after={"patient_id": patient.id, "status": RecordStatus.SIGNED.value},
            )
    return assessment


def assessments_for_patient(
    session: Session, clinic_id: int, patient_id: int
) -> Sequence[Assessment]:
    """The patient's assessments, newest first."""
    return session.scalars(
        select(Assessment)
        .where(Assessment.clinic_id == clinic_id, Assessment.patient_id == patient_id)
        .options(joinedload(Assessment.author))
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
    ).all()


def patient_assessment(
    session: Session, clinic_id: int, patient_id: int, assessment_id: int
) -> Assessment | None:
    """The patient's assessment with that id; None for another patient's or clinic's."""
    return session.scalar(
        select(Assessment)
        .where(
            Assessment.clinic_id == clinic_id,
            Assessment.patient_id == patient_id,
            Assessment.id == assessment_id,
        )
        .options(joinedload(Assessment.author), joinedload(Assessment.signed_by))
    )


def _start(
    session: Session,
    clinic_id: int,
    patient: Patient,
    fields: AssessmentFields,
    now: datetime,
    author_id: int,
) -> Assessment:
    therapy_type = (fields.therapy_type or "").strip()
    if (
        not therapy_type
        or len(therapy_type) > THERAPY_TYPE_MAX
        or therapy_type not in (therapy_types(session, clinic_id))
    ):
        raise InvalidInput(detail=N_("Please choose one of the clinic's therapy types."))
    assessment = Assessment(
        clinic_id=clinic_id,
        patient_id=patient.id,
        kind=fields.kind,
        therapy_type=therapy_type,
        items=[
            {**item.as_json(), "value": None}
            for item in template_for(session, clinic_id, therapy_type)
        ],
        author_id=author_id,
        status=RecordStatus.DRAFT,
        created_at=now,
        updated_at=now,
    )
    session.add(assessment)
    return assessment


def _session_of(
    session: Session, clinic_id: int, patient_id: int, appointment_id: int | None
) -> Appointment | None:
    if appointment_id is None:
        return None
    appointment = session.get(Appointment, appointment_id)
    if (
        appointment is None
        or appointment.clinic_id != clinic_id
        or appointment.patient_id != patient_id
        or appointment.status is AppointmentStatus.CANCELLED
    ):
        raise InvalidInput(
            detail=N_("An assessment is written against one of this patient's sessions.")
        )
    return appointment


def _filled(
    items: Sequence[Mapping[str, Any]], values: Mapping[str, float | str | None]
) -> list[dict[str, Any]]:
    """The assessment's own items with the answers given; every item keeps its label,
    kind and range as they were when the assessment was started."""
    labels = {item["label"] for item in items}
    if any(label not in labels for label in values):
        raise InvalidInput(detail=N_("An answer belongs to one of the assessment's items."))
    filled = []
    for item in items:
        raw = values.get(item["label"])
        if item["kind"] == ItemKind.SCORE.value:
            value: float | str | None = _score_value(item, raw)
        else:
            value = clean_part(None if raw is None else str(raw), VALUE_MAX)
        filled.append({**item, "value": value})
    return filled


def _score_value(item: Mapping[str, Any], raw: float | str | None) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(N_("%(label)s takes a number."), label=item["label"]) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInput(N_("%(label)s takes a number."), label=item["label"])
    low, high = item.get("min"), item.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidInput(
            N_("%(label)s is scored from %(low)s to %(high)s; %(value)s is outside that."),
            label=item["label"],
            low=number(low) if low is not None else "…",
            high=number(high) if high is not None else "…",
            value=number(value),
        )
    return value


def _check_plan(fields: AssessmentFields) -> None:
    if fields.kind not in AssessmentKind:
        raise InvalidInput(detail=N_("Please choose the kind of assessment."))
    if fields.sessions_per_week is not None and not 1 <= fields.sessions_per_week <= 14:
        raise InvalidInput(detail=N_("Sessions per week are between 1 and 14."))
    if fields.session_minutes is not None and not 5 <= fields.session_minutes <= 480:
        raise InvalidInput(detail=N_("A session lasts between 5 and 480 minutes."))
