"""The monthly reminder about outstanding dues.

What a contact owes has one rule, ``services.billing.invoices.outstanding_by_contact``: their
issued invoices less what is allocated to them (part payments, credits, packages and
tax included). The admin Dues page and the chat's "pay dues" use the same rule.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import write_transaction
from core.formatting import format_money
from models import Clinic, ClinicPolicy, Contact, MessageKind
from services.billing.invoices import outstanding_by_contact
from services.messaging.outbox import queue_for_contact


def queue_monthly_reminders(session: Session, *, now: datetime) -> int:
    """On each enabled clinic's dues day, once its local time has come: one message
    per contact who owes money. Safe to run every minute (one key per contact and month).
    The sweep runs ``clinics_due`` and ``queue_for_clinic`` itself, one clinic at a time."""
    return sum(queue_for_clinic(session, clinic_id, now=now) for clinic_id in clinics_due(session))


def clinics_due(session: Session) -> list[int]:
    """Active clinics that send dues reminders (whether today is their day is per clinic)."""
    ids = list(
        session.scalars(
            select(Clinic.id)
            .join(ClinicPolicy, ClinicPolicy.clinic_id == Clinic.id)
            .where(Clinic.active.is_(True), ClinicPolicy.dues_reminders_enabled.is_(True))
            .order_by(Clinic.id)
        )
    )
    session.rollback()
    return ids


def queue_for_clinic(session: Session, clinic_id: int, *, now: datetime) -> int:
    """The clinic's dues reminders, if today is its dues day and the time has come."""
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        return 0
    local = now.astimezone(ZoneInfo(clinic.timezone))
    policy = clinic.policy
    if local.day != policy.dues_reminder_day or local.time() < policy.dues_reminder_time:
        session.rollback()
        return 0
    owed = outstanding_by_contact(session, clinic.id)
    if not owed:
        session.rollback()
        return 0
    queued = 0
    with write_transaction(session):
        contacts = session.scalars(
            select(Contact).where(Contact.clinic_id == clinic.id, Contact.id.in_(owed))
        ).all()
        for contact in contacts:
            queued += bool(
                queue_for_contact(
                    session,
                    clinic,
                    contact,
                    kind=MessageKind.DUES,
                    template_key="dues_reminder",
                    variables={
                        "amount": format_money(owed[contact.id], clinic.currency, short=True)
                    },
                    idempotency_key=f"dues:{contact.id}:{local:%Y-%m}",
                    due_at=now,
                )
            )
    session.rollback()
    return queued
