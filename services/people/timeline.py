"""A contact's history in one list: sessions, payments and messages both ways, newest first.

One UNION query pages through (kind, id, time) for every kind at once, so a page
costs the same few statements however long the history: the page of keys, the
count, and one load per kind that appears on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, literal_column, select, union_all
from sqlalchemy.orm import Session, joinedload

from models import Appointment, Conversation, InboundMessage, OutboundMessage, Patient, Payment

PER_PAGE = 25
KINDS = ("appointment", "payment", "outbound", "inbound")


@dataclass(frozen=True)
class Entry:
    kind: str  # one of KINDS
    at: datetime
    item: Any  # the Appointment, Payment, OutboundMessage or InboundMessage


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _kind(name: str):
    return literal_column(f"'{name}'", String(12)).label("kind")


def _events(clinic_id: int, contact_id: int):
    """(kind, id, at) for everything that happened with this contact.

    A session sits at its start time; a message at when it was sent (or is due).
    """
    return union_all(
        select(_kind("appointment"), Appointment.id.label("id"), Appointment.start_at.label("at"))
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.clinic_id == clinic_id, Patient.contact_id == contact_id),
        select(_kind("payment"), Payment.id, Payment.received_at).where(
            Payment.clinic_id == clinic_id, Payment.contact_id == contact_id
        ),
        select(
            _kind("outbound"),
            OutboundMessage.id,
            func.coalesce(OutboundMessage.sent_at, OutboundMessage.due_at),
        ).where(OutboundMessage.clinic_id == clinic_id, OutboundMessage.contact_id == contact_id),
        select(_kind("inbound"), InboundMessage.id, InboundMessage.received_at)
        .join(Conversation, Conversation.id == InboundMessage.conversation_id)
        .where(InboundMessage.clinic_id == clinic_id, Conversation.contact_id == contact_id),
    ).subquery("events")


def contact_timeline(
    session: Session, *, clinic_id: int, contact_id: int, page: int = 1, per_page: int = PER_PAGE
) -> TimelinePage:
    page = max(1, page)
    events = _events(clinic_id, contact_id)
    total = int(session.scalar(select(func.count()).select_from(events)) or 0)
    keys = session.execute(
        select(events.c.kind, events.c.id, events.c.at)
        .order_by(events.c.at.desc(), events.c.kind, events.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    wanted: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for kind, item_id, _at in keys:
        wanted[kind].append(item_id)
    loaded: dict[tuple[str, int], Any] = {}
    for kind, query in (
        (
            "appointment",
            select(Appointment).options(
                joinedload(Appointment.patient),
                joinedload(Appointment.service),
                joinedload(Appointment.therapist),
            ),
        ),
        ("payment", select(Payment)),
        ("outbound", select(OutboundMessage)),
        ("inbound", select(InboundMessage)),
    ):
        if wanted[kind]:
            model = query.column_descriptions[0]["entity"]
            for item in session.scalars(query.where(model.id.in_(wanted[kind]))):
                loaded[(kind, item.id)] = item
    entries = [
        Entry(kind, at, loaded[(kind, item_id)])
        for kind, item_id, at in keys
        if (kind, item_id) in loaded
    ]
    return TimelinePage(entries=entries, page=page, per_page=per_page, total=total)
