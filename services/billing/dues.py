"""Outstanding dues: the monthly reminder, one reminder staff send now, and ageing.

What a contact owes has one rule, ``services.billing.invoices.outstanding_by_contact``: their
issued invoices less what is allocated to them (part payments, credits, packages and
tax included). The admin Dues page and the chat's "pay dues" use the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import write_transaction
from core.formatting import format_money
from models import Clinic, ClinicPolicy, Contact, MessageKind, OutboundMessage
from services import audit
from services.audit import Actor
from services.billing.invoices import due_invoices, outstanding_by_contact
from services.errors import N_, InvalidTransition
from services.messaging.outbox import preferred_channel, queue_for_contact
from services.people.patients import clinic_and_contact


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


def send_dues_reminder(
    session: Session, *, clinic_id: int, contact_id: int, now: datetime, actor: Actor
) -> OutboundMessage:
    """Staff remind one contact of what they owe, now: the monthly reminder's message,
    at most once a day (the clinic's day) per contact."""
    with write_transaction(session):
        clinic, contact = clinic_and_contact(session, clinic_id, contact_id)
        owed = outstanding_by_contact(session, clinic_id).get(contact.id, 0)
        if owed <= 0:
            raise InvalidTransition(N_("This contact owes nothing."))
        if contact.opted_out(preferred_channel(session, clinic, contact)):
            raise InvalidTransition(N_("This contact has opted out of messages."))
        local = now.astimezone(ZoneInfo(clinic.timezone))
        message = queue_for_contact(
            session,
            clinic,
            contact,
            kind=MessageKind.DUES,
            template_key="dues_reminder",
            variables={"amount": format_money(owed, clinic.currency, short=True)},
            idempotency_key=f"dues:{contact.id}:staff:{local:%Y-%m-%d}",
            due_at=now,
        )
        if message is None:
            raise InvalidTransition(N_("This contact was already reminded of their dues today."))
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="message.dues_reminder",
            entity=message,
        )
    return message


# --- ageing ----------------------------------------------------------------------------

# Days since an invoice was issued (the clinic's calendar days): up to 30, 31 to 60, more.
AGEING_BUCKETS = ("0–30 days", "31–60 days", "Over 60 days")


@dataclass(frozen=True)
class Ageing:
    """What one contact owes, by how long ago each unpaid invoice was issued."""

    buckets: tuple[int, int, int]

    @property
    def total(self) -> int:
        return sum(self.buckets)


def bucket_for(days: int) -> int:
    """0 for 0–30 days, 1 for 31–60, 2 beyond."""
    return 0 if days <= 30 else 1 if days <= 60 else 2


def dues_ageing(session: Session, clinic_id: int, *, now: datetime) -> dict[int, Ageing]:
    """contact id → their dues by age, counted in the clinic's calendar days up to ``now``
    (an invoice issued late yesterday evening, local time, is one day old this morning)."""
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        return {}
    zone = ZoneInfo(clinic.timezone)
    today = now.astimezone(zone).date()
    sums: dict[int, list[int]] = {}
    for contact_id, issued_at, left in due_invoices(session, clinic_id):
        days = (today - issued_at.astimezone(zone).date()).days
        sums.setdefault(contact_id, [0, 0, 0])[bucket_for(max(days, 0))] += left
    return {cid: Ageing(buckets=(b[0], b[1], b[2])) for cid, b in sums.items()}
