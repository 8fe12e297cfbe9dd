"""Conversation rows: the one row per (clinic, channel, phone) the chat keeps its state in.

``flows.engine`` runs a message through the dialog with the row locked by
``conversation_for_update``; delivery marks a sent reminder with ``remember_reminder`` so
the contact's next "1/2/3" answers it (and a sent exercise nudge, so "done" answers it).
Both live here, below ``flows/``, so services never reach up into the dialog.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from models import Channel, Conversation
from services.messaging.catalogue import reminder_choices
from services.people import patients

# The conversation data key of the last exercise nudge sent (flows.exercises reads it).
EXERCISE_NUDGE = "exercise_nudge"

# Built once: every inbound message runs it (values go in as parameters).
_FOR_UPDATE = (
    select(Conversation)
    .options(joinedload(Conversation.contact))  # every turn needs it: one round trip
    .where(
        Conversation.clinic_id == bindparam("clinic_id"),
        Conversation.channel == bindparam("channel"),
        Conversation.phone == bindparam("phone"),
    )
    .with_for_update(of=Conversation)
)


def conversation_for_update(
    session: Session, clinic_id: int, channel: Channel, phone: str
) -> Conversation:
    """The conversation row, locked until the turn commits; created on first contact.

    The lock is what makes one conversation's messages run one at a time, on any
    number of web processes.
    """
    where = {"clinic_id": clinic_id, "channel": channel, "phone": phone}
    conversation = session.scalar(_FOR_UPDATE, where)
    if conversation is not None:
        return conversation
    # First message: insert under a savepoint; if another process inserted the same
    # conversation a moment ago, the unique constraint says so and we lock theirs.
    contact = patients.find_contact(session, clinic_id, phone)
    try:
        with session.begin_nested():
            conversation = Conversation(
                clinic_id=clinic_id,
                channel=channel,
                phone=phone,
                contact_id=contact.id if contact else None,
                state="new",
                data={},
            )
            session.add(conversation)
    except IntegrityError:
        conversation = session.scalar(_FOR_UPDATE, where)
        assert conversation is not None
    return conversation


@dataclass(frozen=True)
class SentReminder:
    """A reminder (or an exercise nudge) that just went out, as ``remember_reminder``
    takes it."""

    clinic_id: int
    phone: str
    contact_id: int
    language: str
    channel: Channel
    appointment_id: int | None = None
    # An exercise nudge: its assignment and clinic-local day (ISO), instead of a session.
    exercise_assignment_id: int | None = None
    exercise_day: str | None = None


def remember_reminder(session: Session, reminder: SentReminder) -> None:
    """A reminder just went out: the contact's next "1/2/3" on that channel answers it."""
    conversation = conversation_for_update(
        session, reminder.clinic_id, reminder.channel, reminder.phone
    )
    _mark_reminder(conversation, reminder)


def remember_reminders(session: Session, sent: Sequence[SentReminder]) -> None:
    """``remember_reminder`` for a batch of reminders: the conversations locked in one
    query (in id order, as any two batches lock them), the missing ones added together;
    a conversation another process added meanwhile is taken the one-at-a-time way."""
    if not sent:
        return
    keys = {(r.clinic_id, r.channel, r.phone) for r in sent}
    found = {
        (c.clinic_id, c.channel, c.phone): c
        for c in session.scalars(
            select(Conversation)
            .where(
                tuple_(Conversation.clinic_id, Conversation.channel, Conversation.phone).in_(
                    list(keys)
                )
            )
            .order_by(Conversation.id)
            .with_for_update()
        )
    }
    missing = [r for r in sent if (r.clinic_id, r.channel, r.phone) not in found]
    added: dict[tuple[int, Channel, str], Conversation] = {}
    for r in missing:
        added.setdefault(
            (r.clinic_id, r.channel, r.phone),
            Conversation(
                clinic_id=r.clinic_id,
                channel=r.channel,
                phone=r.phone,
                contact_id=r.contact_id,
                state="new",
                data={},
            ),
        )
    try:
        with session.begin_nested():
            session.add_all(added.values())
    except IntegrityError:
        added = {}
    rows = {**found, **added}
    for r in sent:
        conversation = rows.get((r.clinic_id, r.channel, r.phone))
        if conversation is None:
            remember_reminder(session, r)
        else:
            _mark_reminder(conversation, r)


WAITLIST_OFFER = "waitlist_offer"  # the state that answers a waitlist offer (flows.waitlist)


def expect_offer_answer(
    session: Session,
    *,
    clinic_id: int,
    channel: Channel,
    phone: str,
    contact_id: int,
    entry_id: int,
    choices: Sequence[tuple[str, str]],
) -> None:
    """A waitlist offer is on its way: the contact's next "1"/"yes" or "2"/"no" on that
    channel answers it (a form they were filling in is dropped, as a reminder drops it)."""
    conversation = conversation_for_update(session, clinic_id, channel, phone)
    data = copy.deepcopy(conversation.data or {})
    data.pop("booking", None)
    data["waitlist_entry_id"] = entry_id
    data["choices"] = [[value, label] for value, label in choices]
    conversation.data = data
    conversation.state = WAITLIST_OFFER
    conversation.misses = 0
    if conversation.contact_id is None:
        conversation.contact_id = contact_id


def _mark_reminder(conversation: Conversation, reminder: SentReminder) -> None:
    data = copy.deepcopy(conversation.data or {})
    if reminder.exercise_assignment_id is not None:
        # A nudge leaves the dialog where it was: the next "done", "2 of 3", "skipped"
        # or photo answers it (flows.exercises), anything else reads as before.
        data[EXERCISE_NUDGE] = {
            "assignment_id": reminder.exercise_assignment_id,
            "day": reminder.exercise_day,
        }
        conversation.data = data
        if conversation.contact_id is None:
            conversation.contact_id = reminder.contact_id
        return
    data.pop("booking", None)
    data["reminder_id"] = reminder.appointment_id
    data["choices"] = [[value, label] for value, label in reminder_choices(reminder.language)]
    conversation.data = data
    conversation.state = "reminder"
    conversation.misses = 0
    if conversation.contact_id is None:
        conversation.contact_id = reminder.contact_id
