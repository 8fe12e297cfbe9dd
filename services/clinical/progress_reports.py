"""Progress reports for guardians: a therapist writes one for a period, signs it, and sends
it in the chat as a PDF; the guardian can ask for it again ("report").

A report is a draft until signed, and never changes after (a new report replaces it).
What it shows besides its words is read at rendering time from the clinical record: the
sessions of the period (attended, missed), and each goal's baseline, target and the
latest value measured in the period.

Sending queues a message (``services.messaging.outbox``) whose PDF the provider fetches
through a random link good for ``LINK_LIFETIME``; each sending makes a new link, and each
opening of it is audited. Staff download it from the panel (audited too).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.db import write_transaction
from core.formatting import babel_locale, format_full_day
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Contact,
    MessageKind,
    Patient,
    ProgressReport,
    RecordStatus,
    StaffUser,
)
from models.notes import REPORT_TEXTS
from services import audit
from services.audit import Actor
from services.clinical import goals
from services.clinical.exercise_adherence import ProgrammeLine, programme_for_period
from services.clinical.notes import NoteRefused, clean_part
from services.clinics.logo import logo_png
from services.clinics.settings import main_address
from services.errors import N_, InvalidInput
from services.locks import lock_in_clinic
from services.messaging.outbox import queue_for_contact

LINK_LIFETIME = timedelta(hours=24)
LONGEST_PERIOD = timedelta(days=366)


@dataclass(frozen=True)
class ReportTexts:
    summary: str | None = None
    recommendations: str | None = None
    home_programme: str | None = None


def write_report(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    period_start: date,
    period_end: date,
    texts: ReportTexts,
    now: datetime,
    actor: Actor,
    author_id: int,
    report_id: int | None = None,
    sign: bool = False,
) -> ProgressReport:
    """A new draft (``report_id`` None) or the draft saved again; signed if ``sign``."""
    now = require_aware(now, "now").astimezone(UTC)
    cleaned = {name: clean_part(getattr(texts, name)) for name in REPORT_TEXTS}
    if actor.is_staff and actor.id != author_id:
        raise NoteRefused(detail=N_("Reports are written in one's own name."))
    if period_end < period_start or period_end - period_start > LONGEST_PERIOD:
        raise InvalidInput(detail=N_("The period must end after it starts, within a year."))
    if sign and not cleaned["summary"]:
        raise InvalidInput(detail=N_("A report needs a summary before it is signed."))
    with write_transaction(session):
        patient = lock_in_clinic(session, Patient, clinic_id, patient_id, what=N_("patient"))
        goals.require_clinician(session, clinic_id, patient.id, author_id)
        if report_id is None:
            report = ProgressReport(
                clinic_id=clinic_id,
                patient_id=patient.id,
                status=RecordStatus.DRAFT,
                created_at=now,
            )
            session.add(report)
        else:
            report = lock_in_clinic(
                session, ProgressReport, clinic_id, report_id, what=N_("report")
            )
            if report.patient_id != patient.id:
                raise NoteRefused(detail=N_("This report is another patient's."))
            if report.status is RecordStatus.SIGNED:
                raise NoteRefused(detail=N_("This report is signed and cannot change."))
        report.period_start, report.period_end = period_start, period_end
        for name, text in cleaned.items():
            setattr(report, name, text)
        report.author_id = author_id
        report.updated_at = now
        session.flush()
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="report.save",
            entity=report,
            after={"patient_id": patient.id, "period": f"{period_start}/{period_end}"},
        )
        if sign:
            report.status = RecordStatus.SIGNED
            report.signed_at = now
            report.signed_by_id = author_id
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="report.sign",
                entity=report,
                after={"status": RecordStatus.SIGNED.value},
            )
    return report


def send_report(
    session: Session, *, clinic_id: int, report_id: int, now: datetime, actor: Actor
) -> ProgressReport:
    """Queue the signed report to the patient's guardian in the chat, with a new link."""
    now = require_aware(now, "now").astimezone(UTC)
    with write_transaction(session):
        report = lock_in_clinic(session, ProgressReport, clinic_id, report_id, what=N_("report"))
        _send(session, report, now=now, actor=actor)
    return report


def send_latest_again(
    session: Session, *, clinic_id: int, contact_id: int, now: datetime, actor: Actor
) -> ProgressReport | None:
    """The guardian asked for their report again: the newest signed report of any of
    their patients goes out once more (None when there is none). For a chat turn: runs in
    the caller's transaction."""
    report = session.scalar(
        select(ProgressReport)
        .join(Patient, Patient.id == ProgressReport.patient_id)
        .where(
            ProgressReport.clinic_id == clinic_id,
            Patient.contact_id == contact_id,
            ProgressReport.status == RecordStatus.SIGNED,
        )
        .order_by(ProgressReport.signed_at.desc(), ProgressReport.id.desc())
        .limit(1)
    )
    if report is not None:
        _send(session, report, now=require_aware(now, "now").astimezone(UTC), actor=actor)
    return report


def _send(session: Session, report: ProgressReport, *, now: datetime, actor: Actor) -> None:
    if report.status is not RecordStatus.SIGNED:
        raise NoteRefused(detail=N_("A report is sent once it is signed."))
    patient = session.get(Patient, report.patient_id)
    assert patient is not None
    contact = session.get(Contact, patient.contact_id)
    clinic = session.get(Clinic, report.clinic_id)
    assert contact is not None and clinic is not None
    report.link_token = secrets.token_urlsafe(32)
    report.link_expires_at = now + LINK_LIFETIME
    report.sent_at = now
    path = f"/reports/{report.link_token}.pdf"
    queued = queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.NOTICE,
        template_key="progress_report",
        # One message per sending (a guardian may ask again the same day).
        idempotency_key=f"report:{report.id}:{report.link_token[:12]}",
        due_at=now,
        variables={
            "patient": patient.name.split()[0] if patient.name else "",
            "period": _period(report, contact.language),
            "report_path": path,
            "media_path": path,  # on WhatsApp the PDF itself rides along
        },
    )
    if queued is None:
        raise NoteRefused(detail=N_("This contact cannot be sent messages."))
    audit.record(
        session,
        clinic_id=report.clinic_id,
        actor=actor,
        action="report.send",
        entity=report,
        after={"contact_id": contact.id, "link_expires_at": report.link_expires_at.isoformat()},
    )


def report_by_link(session: Session, token: str, *, now: datetime) -> ProgressReport | None:
    """The report a sent link opens, while the link is good; the opening is audited (in
    the caller's transaction, which commits it)."""
    if not token or len(token) > 64:
        return None
    report = session.scalar(select(ProgressReport).where(ProgressReport.link_token == token))
    if (
        report is None
        or report.status is not RecordStatus.SIGNED
        or report.link_expires_at is None
        or report.link_expires_at <= require_aware(now, "now")
    ):
        return None
    audit.record(
        session,
        clinic_id=report.clinic_id,
        actor=Actor.system(),
        action="report.open",
        entity=report,
        after={"via": "link"},
    )
    return report


def note_staff_download(session: Session, report: ProgressReport, actor: Actor) -> None:
    with write_transaction(session):
        audit.record(
            session,
            clinic_id=report.clinic_id,
            actor=actor,
            action="report.open",
            entity=report,
            after={"via": "panel"},
        )


def reports_for_patient(
    session: Session, clinic_id: int, patient_id: int
) -> Sequence[ProgressReport]:
    return session.scalars(
        select(ProgressReport)
        .where(ProgressReport.clinic_id == clinic_id, ProgressReport.patient_id == patient_id)
        .order_by(ProgressReport.period_end.desc(), ProgressReport.id.desc())
    ).all()


# --- what the PDF shows ------------------------------------------------------------------


@dataclass(frozen=True)
class GoalLine:
    behaviour: str
    measure: str
    baseline: float
    target: float
    latest: float | None  # the last value measured in the period
    progress: float | None  # 0..1 of the way from baseline to target
    # What each session of the period measured: (its clinic-local day, the value).
    points: tuple[tuple[date, float], ...] = ()


@dataclass(frozen=True)
class ReportDocument:
    clinic_name: str
    clinic_address: str
    patient_name: str
    date_of_birth: date | None
    period_start: date
    period_end: date
    attended: int
    missed: int
    goals: tuple[GoalLine, ...]
    summary: str
    recommendations: str
    home_programme: str
    signed_by: str
    signed_on: date | None
    reference: str
    locale: str
    logo: bytes | None = field(default=None, repr=False)  # a PNG (services.clinics.logo)
    exercises: tuple[ProgrammeLine, ...] = ()  # the home programme that ran in the period


def report_document(session: Session, report: ProgressReport) -> ReportDocument:
    clinic = session.get(Clinic, report.clinic_id)
    patient = session.get(Patient, report.patient_id)
    assert clinic is not None and patient is not None
    zone = ZoneInfo(clinic.timezone)
    start = datetime.combine(report.period_start, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(report.period_end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    counts = dict(
        session.execute(
            select(Appointment.status, func.count())
            .where(
                Appointment.clinic_id == clinic.id,
                Appointment.patient_id == patient.id,
                Appointment.start_at >= start,
                Appointment.start_at < end,
            )
            .group_by(Appointment.status)
        ).all()
    )
    lines = []
    for goal in goals.goals_for_patient(session, clinic.id, patient.id):
        inside = [m for m in goal.measures if start <= m.measured_at < end]
        latest = inside[-1].value if inside else None
        progress = (
            None
            if latest is None
            else max(0.0, min(1.0, (latest - goal.baseline) / (goal.target - goal.baseline)))
        )
        points = tuple((m.measured_at.astimezone(zone).date(), m.value) for m in inside)
        lines.append(
            GoalLine(
                goal.behaviour, goal.measure, goal.baseline, goal.target, latest, progress, points
            )
        )
    signer = session.get(StaffUser, report.signed_by_id) if report.signed_by_id else None
    return ReportDocument(
        clinic_name=clinic.name,
        clinic_address=main_address(session, clinic.id) or "",
        patient_name=patient.name,
        date_of_birth=patient.date_of_birth,
        period_start=report.period_start,
        period_end=report.period_end,
        attended=counts.get(AppointmentStatus.COMPLETED, 0),
        missed=counts.get(AppointmentStatus.NO_SHOW, 0),
        goals=tuple(lines),
        summary=report.summary or "",
        recommendations=report.recommendations or "",
        home_programme=report.home_programme or "",
        signed_by=(signer.name or signer.email) if signer else "",
        signed_on=report.signed_at.astimezone(zone).date() if report.signed_at else None,
        reference=f"PR-{report.id}",
        locale=babel_locale(clinic.language, clinic.currency),
        logo=logo_png(session, clinic.id),
        exercises=programme_for_period(
            session,
            clinic_id=clinic.id,
            patient_id=patient.id,
            first=report.period_start,
            last=report.period_end,
            zone=zone,
            # As the therapist last saw it: a signed report's adherence never changes.
            now=report.signed_at or report.updated_at,
        ),
    )


def _period(report: ProgressReport, lang: str) -> str:
    """ "1 Sep 2026 – 30 Nov 2026", in the reader's language."""
    return " – ".join(
        format_full_day(day, lang) for day in (report.period_start, report.period_end)
    )
