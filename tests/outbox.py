"""Helpers for the outbox tests (tests/messaging/test_messaging.py,
tests/messaging/test_reminders.py).

The demo clinics, a booking made through the real service, the outbox read
fresh from the database, and clinic-local times on the frozen calendar.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import (
    Appointment,
    BookingSource,
    Channel,
    Clinic,
    Contact,
    MessageKind,
    MessageTemplate,
    OutboundMessage,
    Patient,
    Service,
)
from roshni.demo import DEMO_CLINICS, DemoClinic, seed_clinic
from services.audit import Actor
from services.messaging.outbox import queue_message
from services.scheduling.appointments import book_appointment
from tests.conftest import NOW, SYSTEM

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
ROSHNI, SUNRISE = DEMO_CLINICS
HX = "HX" + "0123456789abcdef" * 2  # a Content SID as Twilio hands them out


def ist(day: int, hour: int, minute: int = 0, *, month: int = 11) -> datetime:
    """A time in 2026 in Kolkata, November unless told (NOW is ``ist(23, 9)``, a Monday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=KOLKATA)


def london(day: int, hour: int, minute: int = 0, *, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LONDON)


def seed(session: Session, demo: DemoClinic = ROSHNI, *, templates: bool = False) -> Clinic:
    """A demo clinic; without its placeholder templates unless asked (tests add their own)."""
    seed_clinic(session, demo, admin_password=None)
    clinic = session.scalar(select(Clinic).where(Clinic.slug == demo.slug))
    assert clinic is not None
    if not templates:
        session.execute(delete(MessageTemplate).where(MessageTemplate.clinic_id == clinic.id))
    session.commit()
    return clinic


def queue_text(
    session: Session,
    clinic_id: int,
    contact_id: int,
    text: str,
    *,
    key: str,
    due_at: datetime,
    kind: MessageKind = MessageKind.NOTICE,
) -> OutboundMessage:
    """A free-form WhatsApp message (the ``staff_reply`` template carrying ``text``) queued
    through the real service in the caller's transaction, flushed so it has its id."""
    message = queue_message(
        session,
        clinic_id=clinic_id,
        contact_id=contact_id,
        channel=Channel.WHATSAPP,
        kind=kind,
        template_key="staff_reply",
        variables={"text": text},
        idempotency_key=key,
        due_at=due_at,
    )
    assert message is not None
    session.flush()
    return message


def book(
    session: Session,
    clinic: Clinic,
    patient: Patient,
    start: datetime,
    *,
    now: datetime = NOW,
    actor: Actor = SYSTEM,
    service: str | None = None,
) -> Appointment:
    name = service or ("Speech Therapy Session" if clinic.slug == "roshni" else None)
    query = select(Service.id).where(Service.clinic_id == clinic.id).order_by(Service.id)
    if name is not None:
        query = query.where(Service.name == name)
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=session.scalars(query).first(),
        start=start,
        now=now,
        actor=actor,
        source=BookingSource.ADMIN if actor.is_staff else BookingSource.CHAT,
    )


def outbox(session: Session, **where: object) -> list[OutboundMessage]:
    """Every outbox row (optionally filtered by column values), fresh from the database."""
    session.commit()  # end any snapshot (SQLite) so other sessions' commits show
    session.expire_all()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    for column, value in where.items():
        query = query.where(getattr(OutboundMessage, column) == value)
    rows = list(session.scalars(query))
    session.commit()  # no transaction left open; the rows stay loaded
    return rows


def reminders(session: Session) -> list[OutboundMessage]:
    return outbox(session, kind=MessageKind.REMINDER)


def add_template(session: Session, clinic: Clinic, channel: Channel, **fields: object) -> None:
    """A clinic's approved template: WhatsApp by Content SID, SMS by registered body."""
    defaults: dict[str, object] = {"key": "reminder"}
    if channel is Channel.WHATSAPP:
        defaults |= {"content_sid": HX, "variable_order": ["patient", "when", "number"]}
    session.add(MessageTemplate(clinic_id=clinic.id, channel=channel, **(defaults | fields)))
    session.commit()


def contact_of(session: Session, patient: Patient) -> Contact:
    contact = session.get(Contact, patient.contact_id)
    assert contact is not None
    return contact


def open_window(session: Session, patient: Patient, at: datetime) -> None:
    """The contact wrote to the clinic on WhatsApp at ``at`` (the 24-hour window opens)."""
    contact_of(session, patient).whatsapp_last_inbound_at = at
    session.commit()


def one(rows: list[OutboundMessage]) -> OutboundMessage:
    assert len(rows) == 1, rows
    return rows[0]
