"""The one way in: every channel (Twilio webhooks, the console, the simulator)
delivers messages here. No Flask in this module.

Per message, in one transaction: lock the conversation, drop a duplicate
delivery (returning the reply we gave the first time), apply the rate limit,
run the dialog, and store the message with its reply.

Where the channel can show WhatsApp buttons and lists (``Delivery.interactive``: WhatsApp
through Twilio with an account configured) and the contact exists, every reply goes
through the outbox (``services.messaging.replies``) and the receipt says so
(``queued``): the webhook then answers empty TwiML. All of them, not only those with
choices, so that a text reply never overtakes a menu still waiting to leave. Before a
contact exists (the privacy notice and consent) and when throttled, replies stay TwiML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.db import keep_loaded, unit_of_work
from core.logging_setup import bind_clinic
from core.metrics import count_turn
from core.public_links import PublicLinks
from flows.engine import Inbound, run_turn
from models import Channel, Clinic, InboundMessage, MessageSource, OutboundMessage
from services.clinics import settings_cache
from services.messaging.catalogue import say
from services.messaging.conversations import conversation_for_update
from services.messaging.media import SentFile, SharedLocation, record_inbound_media
from services.messaging.replies import fill_reply, reply_queued, reserve_reply, withdraw_reply

RATE_LIMIT = 30  # messages per contact per minute that get an answer
RATE_WINDOW = timedelta(minutes=1)
MAX_STORED_BODY = 4096


@dataclass(frozen=True)
class Delivery:
    """An inbound message as a channel delivered it (already authenticated)."""

    channel: Channel
    source: MessageSource
    sid: str
    from_phone: str  # E.164
    to_address: str
    body: str
    payload: str | None = None
    num_media: int = 0
    files: tuple[SentFile, ...] = ()  # MediaUrl{n} with MediaContentType{n}
    location: SharedLocation | None = None
    # The channel can show buttons and lists and its replies may go through the outbox
    # (WhatsApp through Twilio with an account configured; never a dry run).
    interactive: bool = False


@dataclass(frozen=True)
class Receipt:
    reply: str | None
    duplicate: bool = False
    outcome: str = "answered"  # answered, duplicate or throttled (for metrics)
    queued: bool = False  # the reply went to the outbox: answer nothing in TwiML


def receive(
    session: Session,
    *,
    clinic: Clinic,
    delivery: Delivery,
    now: datetime,
    links: PublicLinks | None = None,
) -> Receipt:
    """``links``: where the patient's links in replies point (an "add to calendar"
    link after booking); without it replies carry none."""
    bind_clinic(clinic.id)
    receipt = _receive(session, clinic=clinic, delivery=delivery, now=now, links=links)
    count_turn(delivery.channel.value, receipt.outcome)
    return receipt


def _receive(
    session: Session,
    *,
    clinic: Clinic,
    delivery: Delivery,
    now: datetime,
    links: PublicLinks | None,
) -> Receipt:
    with unit_of_work(session), keep_loaded(session):
        tenancy.bind(session, clinic.id)
        conversation = conversation_for_update(
            session, clinic.id, delivery.channel, delivery.from_phone
        )
        # Checked under the lock: a retry racing the first delivery of the same
        # MessageSid (same conversation) waited above and finds its twin here.
        seen_id, seen_reply, recent = _seen_and_recent(session, delivery.sid, conversation.id, now)
        if seen_id is not None:
            # Answered through the outbox the first time: nothing to say again in TwiML.
            by_outbox = delivery.interactive and reply_queued(
                session, clinic_id=clinic.id, inbound_sid=delivery.sid
            )
            return Receipt(seen_reply, duplicate=True, outcome="duplicate", queued=by_outbox)
        throttled = recent >= RATE_LIMIT
        queued: OutboundMessage | None = None
        if throttled:
            # One polite word when the limit is crossed, then silence until it eases.
            contact = conversation.contact
            lang = contact.language if contact else (conversation.data or {}).get("lang")
            reply = say(lang or clinic.language, "slow_down") if recent == RATE_LIMIT else None
        else:
            inbound = Inbound(
                channel=delivery.channel,
                phone=delivery.from_phone,
                text=delivery.body,
                payload=delivery.payload,
                num_media=max(delivery.num_media, len(delivery.files)),
                media_types=tuple(f.content_type for f in delivery.files),
                location=delivery.location is not None,
            )
            contact = conversation.contact
            if delivery.interactive and contact is not None:
                queued = reserve_reply(
                    session,
                    clinic_id=clinic.id,
                    contact=contact,
                    channel=delivery.channel,
                    inbound_sid=delivery.sid,
                    now=now,
                )
            result = run_turn(
                session,
                clinic=clinic,
                conversation=conversation,
                inbound=inbound,
                now=now,
                links=links,
            )
            reply = result.reply
            if queued is not None:
                if reply is None or queued.contact.opted_out(delivery.channel):
                    withdraw_reply(session, queued)  # quiet, or "stopped" said in TwiML
                    queued = None
                else:
                    offer = result.offer
                    fill_reply(
                        queued,
                        text=reply,
                        prompt="\n\n".join(p for p in (offer.prompt, offer.hint) if p)
                        if offer
                        else None,
                        options=offer.options if offer else (),
                        more_id=offer.more_id if offer else None,
                    )
        message = InboundMessage(
            clinic_id=clinic.id,
            channel=delivery.channel,
            source=delivery.source,
            provider_sid=delivery.sid,
            conversation_id=conversation.id,
            from_phone=delivery.from_phone,
            to_address=delivery.to_address,
            body=_storable(delivery.body)[:MAX_STORED_BODY],
            button_payload=_storable(delivery.payload or "")[:256] or None,
            num_media=delivery.num_media,
            received_at=now,
            reply=reply,
            throttled=throttled,
        )
        session.add(message)
        after_store = () if throttled else result.after_store
        if delivery.files or delivery.location is not None or after_store:
            session.flush()  # the attachments (and an exercise answer) point at the message
            record_inbound_media(
                session,
                message=message,
                files=delivery.files,
                location=delivery.location,
                now=now,
            )
        for call in after_store:
            call(message.id)
    return Receipt(
        reply, outcome="throttled" if throttled else "answered", queued=queued is not None
    )


def _storable(text: str) -> str:
    """PostgreSQL text cannot hold NUL; keep a visible marker instead of failing."""
    return text.replace("\x00", "\ufffd")


def _seen_and_recent_statement() -> Select[tuple[int | None, str | None, int, str | None]]:
    by_sid = select(InboundMessage.id, InboundMessage.reply).where(
        InboundMessage.provider_sid == bindparam("sid")
    )
    recent = (
        select(func.count())
        .select_from(InboundMessage)
        .where(
            InboundMessage.conversation_id == bindparam("conversation_id"),
            InboundMessage.received_at > bindparam("since"),
        )
    )
    return select(
        by_sid.with_only_columns(InboundMessage.id).scalar_subquery(),
        by_sid.with_only_columns(InboundMessage.reply).scalar_subquery(),
        recent.scalar_subquery(),
        settings_cache.token_column(),  # riding along: the turn's cached catalogue
    )


# Built once: every inbound message runs it (values go in as parameters).
_SEEN_AND_RECENT = _seen_and_recent_statement()


def _seen_and_recent(
    session: Session, sid: str, conversation_id: int, now: datetime
) -> tuple[int | None, str | None, int]:
    """In one round trip: this MessageSid's earlier delivery (id, reply), if any, and
    how many messages the conversation sent in the last minute (and, noted for the
    turn, the settings token ``services.clinics.settings_cache`` keys its copies on)."""
    row = session.execute(
        _SEEN_AND_RECENT,
        {"sid": sid, "conversation_id": conversation_id, "since": now - RATE_WINDOW},
    ).one()
    settings_cache.note_token(session, row[3])
    return row[0], row[1], row[2]
