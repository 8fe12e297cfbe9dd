"""The bot's own chat replies sent through the outbox (WhatsApp, through Twilio).

Where a channel can show buttons and lists, a turn's reply is not answered in TwiML but
queued as an outbox row (``chat_reply``) and sent by delivery: as an interactive content
template when it offers choices (``services.messaging.rendering``), else as text.

The row is reserved before the turn runs and filled in after it, so it comes before
anything the turn itself queues (a payment link that follows the reply): the sweep and
the workers send a contact's rows in id order. Its idempotency key is the inbound
message's MessageSid, so a duplicate delivery never queues a second reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Channel, Contact, MessageKind, OutboundMessage
from services.messaging.outbox import queue_message

CHAT_REPLY = "chat_reply"


def reply_key(inbound_sid: str) -> str:
    return f"reply:{inbound_sid}"


def reserve_reply(
    session: Session,
    *,
    clinic_id: int,
    contact: Contact,
    channel: Channel,
    inbound_sid: str,
    now: datetime,
) -> OutboundMessage | None:
    """The outbox row the reply to ``inbound_sid`` will go in, with its id taken now;
    None when the contact's data was erased or the reply was queued before."""
    message = queue_message(
        session,
        clinic_id=clinic_id,
        contact_id=contact.id,
        channel=channel,
        kind=MessageKind.NOTICE,
        template_key=CHAT_REPLY,
        idempotency_key=reply_key(inbound_sid),
        due_at=now,
    )
    if message is not None:
        session.flush()  # the id, before the turn queues anything
    return message


def fill_reply(
    message: OutboundMessage,
    *,
    text: str,
    prompt: str | None = None,
    options: Sequence[tuple[str, str]] = (),
    more_id: str | None = None,
) -> None:
    """The reserved row's words; with ``options`` ((id, label)) it offers them under
    ``prompt`` as buttons or a list where a content template allows, ``text`` else."""
    variables: dict[str, object] = {"text": text}
    if options and prompt:
        variables["prompt"] = prompt
        variables["options"] = [[option_id, label] for option_id, label in options]
        if more_id:
            variables["more_id"] = more_id  # the list's "more…" row, when it needs one
    message.variables = variables


def withdraw_reply(session: Session, message: OutboundMessage) -> None:
    """No reply after all (the bot stays quiet, or it answers in TwiML): the row goes."""
    session.delete(message)
    session.flush()


def reply_queued(session: Session, *, clinic_id: int, inbound_sid: str) -> bool:
    """Was the reply to ``inbound_sid`` queued as an outbox row (not answered in TwiML)?"""
    found = session.scalar(
        select(OutboundMessage.id).where(
            OutboundMessage.clinic_id == clinic_id,
            OutboundMessage.idempotency_key == reply_key(inbound_sid),
        )
    )
    return found is not None
