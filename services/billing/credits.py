"""Package credits: a ledger of sessions per patient (bought, drawn, returned, adjusted);
the balance is its sum, never stored. Selling a package invoices it
(``services.billing.invoices``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    CreditEntry,
    CreditKind,
    Invoice,
    InvoiceLineKind,
    Package,
    Patient,
    PaymentStatus,
)
from services import audit
from services.audit import Actor
from services.billing.invoices import (
    LineSpec,
    issue_invoice,
    session_invoice,
    settle,
    void_invoice,
)
from services.errors import N_, InvalidInput, InvalidTransition, NotFound
from services.locks import lock_appointment


def credit_balance(session: Session, patient_id: int, service_id: int | None = None) -> int:
    """Sessions left for this patient: credits for ``service_id`` plus any-service credits
    (``service_id=None``: every credit)."""
    query = select(func.coalesce(func.sum(CreditEntry.sessions), 0)).where(
        CreditEntry.patient_id == patient_id
    )
    if service_id is not None:
        query = query.where(
            (CreditEntry.service_id == service_id) | CreditEntry.service_id.is_(None)
        )
    return int(session.scalar(query))


def credit_balances(session: Session, patient_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(CreditEntry.patient_id, func.sum(CreditEntry.sessions))
        .where(CreditEntry.patient_id.in_(patient_ids))
        .group_by(CreditEntry.patient_id)
    )
    return defaultdict(int, {pid: int(total) for pid, total in rows})


def sell_package(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    package_id: int,
    now: datetime,
    actor: Actor,
) -> Invoice:
    """Invoice a package and add its sessions to the patient's credit."""
    with write_transaction(session):
        clinic = session.get(Clinic, clinic_id)
        patient = session.scalar(
            select(Patient).where(Patient.id == patient_id, Patient.clinic_id == clinic_id)
        )
        package = session.scalar(
            select(Package).where(Package.id == package_id, Package.clinic_id == clinic_id)
        )
        if clinic is None or patient is None:
            raise NotFound(what=N_("patient"))
        if package is None or not package.active:
            raise NotFound(what=N_("package"))
        line = LineSpec(
            kind=InvoiceLineKind.PACKAGE,
            description=f"{package.name} ({package.sessions} sessions)",
            unit_minor=package.price_minor,
            package_id=package.id,
        )
        invoice = _sell_credits(
            session, clinic, patient, line, package.sessions, package.service_id, now, actor
        )
        settle(session, clinic_id, patient.contact_id, now=now, actor=actor)
    return invoice


def _sell_credits(
    session: Session,
    clinic: Clinic,
    patient: Patient,
    line: LineSpec,
    sessions: int,
    service_id: int | None,
    now: datetime,
    actor: Actor,
) -> Invoice:
    """Invoice ``line`` and put its sessions on the patient's credit, tied to the invoice."""
    invoice = issue_invoice(
        session, clinic=clinic, patient=patient, lines=[line], now=now, actor=actor
    )
    session.flush()
    _add_credit(
        session,
        patient,
        CreditKind.PACKAGE,
        sessions,
        actor,
        now,
        service_id=service_id,
        package_id=line.package_id,
        invoice_id=invoice.id,
    )
    return invoice


def draw_credit(session: Session, appointment: Appointment, *, now: datetime, actor: Actor) -> bool:
    """Pay a session from the patient's credit when they have some for its service."""
    if appointment.price_minor == 0 or appointment.payment_status is PaymentStatus.PAID:
        return False
    if credit_balance(session, appointment.patient_id, appointment.service_id) < 1:
        return False
    specific = session.scalar(
        select(func.coalesce(func.sum(CreditEntry.sessions), 0)).where(
            CreditEntry.patient_id == appointment.patient_id,
            CreditEntry.service_id == appointment.service_id,
        )
    )
    # Use up credits for this very service before any-service ones.
    _pay_from_credit(
        session, appointment, appointment.service_id if specific > 0 else None, actor, now
    )
    invoice = session_invoice(session, appointment.id)
    if invoice is not None:  # invoiced already (say, a completed pay-later session)
        void_invoice(session, invoice, reason="paid from package credit", actor=actor)
    return True


def _pay_from_credit(
    session: Session, appointment: Appointment, service_id: int | None, actor: Actor, now: datetime
) -> None:
    _add_credit(
        session,
        appointment.patient,
        CreditKind.DRAWN,
        -1,
        actor,
        now,
        service_id=service_id,
        appointment_id=appointment.id,
    )
    appointment.payment_status = PaymentStatus.PAID
    appointment.hold_expires_at = None


def invoice_course(
    session: Session,
    *,
    clinic: Clinic,
    patient: Patient,
    sessions: list[Appointment],
    description: str,
    now: datetime,
    actor: Actor,
) -> Invoice:
    """A prepaid course billed as one package: one invoice for all its sessions, as many
    credits for its service, and each session paid from one of them (so a session
    cancelled in time gives its credit back, as a package's does). The sessions are new:
    nothing invoiced or drawn yet, so no balance to read per session."""
    first = sessions[0]
    line = LineSpec(
        kind=InvoiceLineKind.PACKAGE,
        description=description,
        unit_minor=first.price_minor,
        quantity=len(sessions),
    )
    invoice = _sell_credits(
        session, clinic, patient, line, len(sessions), first.service_id, now, actor
    )
    for appointment in sessions:
        _pay_from_credit(session, appointment, first.service_id, actor, now)
    settle(session, clinic.id, patient.contact_id, now=now, actor=actor)
    return invoice


def draw_credit_for(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> Appointment:
    """Staff: pay this session from the patient's package credit."""
    with write_transaction(session):
        # Locked: two staff drawing for the same session at once would take two credits.
        appointment = lock_appointment(session, clinic_id, appointment_id)
        if appointment.status is AppointmentStatus.CANCELLED:
            raise InvalidTransition(N_("A cancelled session cannot be paid from credit."))
        before = audit.snapshot(appointment)
        if not draw_credit(session, appointment, now=now, actor=actor):
            raise InvalidInput(
                detail=N_(
                    "This session is already paid, free, or the patient has no credit for it."
                )
            )
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="appointment.draw_credit",
            entity=appointment,
            before=before,
        )
        settle(session, clinic_id, appointment.patient.contact_id, now=now, actor=actor)
    return appointment


def return_credit(session: Session, appointment: Appointment, *, now: datetime, actor: Actor):
    """A session paid from credit was cancelled: the credit comes back (once)."""
    drawn = session.scalar(
        select(func.coalesce(func.sum(CreditEntry.sessions), 0)).where(
            CreditEntry.appointment_id == appointment.id
        )
    )
    if drawn >= 0:
        return
    service_id = session.scalar(
        select(CreditEntry.service_id).where(
            CreditEntry.appointment_id == appointment.id, CreditEntry.kind == CreditKind.DRAWN
        )
    )
    _add_credit(
        session,
        appointment.patient,
        CreditKind.RETURNED,
        -drawn,
        actor,
        now,
        service_id=service_id,
        appointment_id=appointment.id,
    )


def adjust_credit(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    sessions: int,
    note: str,
    now: datetime,
    actor: Actor,
    service_id: int | None = None,
) -> CreditEntry:
    if sessions == 0 or not note.strip():
        raise InvalidInput(detail=N_("Give a non-zero number of sessions and a reason."))
    with write_transaction(session):
        patient = session.scalar(
            select(Patient).where(Patient.id == patient_id, Patient.clinic_id == clinic_id)
        )
        if patient is None:
            raise NotFound(what=N_("patient"))
        if credit_balance(session, patient_id) + sessions < 0:
            raise InvalidInput(detail=N_("That would leave the patient with negative credit."))
        entry = _add_credit(
            session,
            patient,
            CreditKind.ADJUSTMENT,
            sessions,
            actor,
            now,
            service_id=service_id,
            note=note.strip(),
        )
    return entry


def _add_credit(
    session: Session,
    patient: Patient,
    kind: CreditKind,
    sessions: int,
    actor: Actor,
    now: datetime,
    **links: object,
) -> CreditEntry:
    entry = CreditEntry(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        kind=kind,
        sessions=sessions,
        created_by=actor.label(),
        created_at=now,
        **links,
    )
    session.add(entry)
    audit.record(
        session, clinic_id=patient.clinic_id, actor=actor, action=f"credit.{kind}", entity=entry
    )
    return entry
