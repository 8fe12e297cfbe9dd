"""A person at the clinic answering a chat: replies from the panel, then back to the bot.

A patient who says "talk" is handed to staff (``flows.dialog.hand_to_staff``): the
bot stays quiet until they say "menu" or staff hand the chat back. Staff replies
are outbox rows like every other message the clinic sends, so the channel's rules
apply at send time too: on WhatsApp free-form text only inside the 24-hour window
after the patient's last message, otherwise an approved template; on SMS free-form
where two-way SMS exists (not India, where SMS is one-way and DLT-templated).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.clock import require_aware
from core.db import unit_of_work
from core.formatting import format_when
from core.words import Sentence
from integrations.twilio.twiml import MAX_BODY
from models import (
    Channel,
    Clinic,
    Contact,
    Conversation,
    InboundMessage,
    MessageKind,
    MessageTemplate,
    OutboundMessage,
    SenderNumber,
)
from services import audit
from services.audit import Actor
from services.errors import N_, Duplicate, InvalidInput, InvalidTransition
from services.locks import lock_in_clinic
from services.messaging.catalogue import EN
from services.messaging.outbox import queue_message
from services.messaging.rendering import WHATSAPP_WINDOW
from services.messaging.simulator import is_simulator_phone
from services.people import patients

MAX_REPLY = MAX_BODY  # Twilio's limit for one message body
# Values a staff-chosen template may use: a template needing a session's details
# (a reminder, say) is not offered, because a chat reply belongs to no session.
TEMPLATE_VALUES = frozenset({"clinic", "name", "text"})
_REQUEST_ID = re.compile(r"^[0-9a-f]{16,64}$")
# Why the system (not the patient) put a chat in the staff queue: shown in the queue.
STAFF_NOTE = "staff_note"


@dataclass(frozen=True)
class ReplyRules:
    """What staff may send in this chat now, and why, in words for the panel (marked
    sentences: the panel says them in the reader's language)."""

    free_form: bool
    why: Sentence
    templates: tuple[str, ...]  # keys of the clinic's approved templates usable here
    blocked: Sentence | None = None  # set when nothing can be sent at all
    last_inbound_at: datetime | None = None
    window_closes_at: datetime | None = None  # WhatsApp only


def reply_rules(
    session: Session, *, clinic: Clinic, conversation: Conversation, now: datetime
) -> ReplyRules:
    """Free-form or template only (and which templates), for the chat's channel."""
    require_aware(now, "now")
    channel = conversation.channel
    contact = conversation.contact
    last = _last_inbound(session, conversation, contact)
    templates = usable_templates(session, clinic=clinic, channel=channel)
    label = "WhatsApp" if channel is Channel.WHATSAPP else "SMS"
    blocked = None
    if contact is not None and contact.opted_out(channel):
        blocked = Sentence(
            N_(
                "This contact opted out of %(channel)s; nothing can be sent until they reply START."
            ),
            {"channel": label},
        )
    elif not is_simulator_phone(conversation.phone) and not _has_sender(session, clinic, channel):
        blocked = Sentence(
            N_("%(clinic)s has no %(channel)s number set up, so replies cannot be sent."),
            {"clinic": clinic.name, "channel": label},
        )
    if channel is Channel.WHATSAPP:
        if last is not None and now - last < WHATSAPP_WINDOW:
            closes = last + WHATSAPP_WINDOW
            why = Sentence(
                N_(
                    "Inside WhatsApp's 24-hour window: the patient last wrote %(last)s, "
                    "so a free-form reply can go until %(closes)s."
                ),
                {
                    "last": format_when(last, clinic.timezone),
                    "closes": format_when(closes, clinic.timezone),
                },
            )
            return ReplyRules(True, why, templates, blocked, last, closes)
        why = _outside_window(last, clinic, has_templates=bool(templates))
        return ReplyRules(False, why, templates, blocked, last, last and last + WHATSAPP_WINDOW)
    if clinic.phone_region == "IN":
        why = Sentence(
            N_(
                "SMS in India is one-way (patients cannot reply) and only DLT-registered "
                "templates may be sent."
            )
        )
        return ReplyRules(False, why, templates, blocked, last)
    why = Sentence(N_("Two-way SMS: a free-form reply goes as a plain text message."))
    return ReplyRules(True, why, templates, blocked, last)


def _outside_window(last: datetime | None, clinic: Clinic, *, has_templates: bool) -> Sentence:
    """Why only a template may go: one whole sentence per case, so each translates whole."""
    if last is None:
        if has_templates:
            return Sentence(
                N_(
                    "Outside WhatsApp's 24-hour window (the patient has not written on "
                    "WhatsApp): WhatsApp allows only an approved template until the patient "
                    "writes again."
                )
            )
        return Sentence(
            N_(
                "Outside WhatsApp's 24-hour window (the patient has not written on "
                "WhatsApp): WhatsApp allows only an approved template until the patient "
                "writes again. No usable approved template is set up; add one with key "
                "'staff_follow_up' under Settings → Message templates."
            )
        )
    wrote = {"last": format_when(last, clinic.timezone)}
    if has_templates:
        return Sentence(
            N_(
                "Outside WhatsApp's 24-hour window (the patient last wrote %(last)s): "
                "WhatsApp allows only an approved template until the patient writes again."
            ),
            wrote,
        )
    return Sentence(
        N_(
            "Outside WhatsApp's 24-hour window (the patient last wrote %(last)s): "
            "WhatsApp allows only an approved template until the patient writes again. "
            "No usable approved template is set up; add one with key "
            "'staff_follow_up' under Settings → Message templates."
        ),
        wrote,
    )


def usable_templates(session: Session, *, clinic: Clinic, channel: Channel) -> tuple[str, ...]:
    """The clinic's approved templates on this channel that a chat reply can fill in."""
    rows = session.scalars(
        select(MessageTemplate)
        .where(MessageTemplate.clinic_id == clinic.id, MessageTemplate.channel == channel)
        .order_by(MessageTemplate.key)
    )
    keys = []
    for template in rows:
        if template.key not in EN or not _fields(EN[template.key]) <= TEMPLATE_VALUES:
            continue
        if channel is Channel.WHATSAPP:
            if not template.content_sid or not set(template.variable_order) <= TEMPLATE_VALUES:
                continue
        else:
            if not template.body or not _fields(template.body) <= TEMPLATE_VALUES:
                continue
            if clinic.phone_region == "IN" and not template.dlt_template_id:
                continue
        keys.append(template.key)
    return tuple(keys)


def staff_reply(
    session: Session,
    *,
    clinic_id: int,
    conversation_id: int,
    now: datetime,
    actor: Actor,
    text: str | None = None,
    template_key: str | None = None,
    request_id: str | None = None,
) -> OutboundMessage:
    """Queue a staff member's reply in the chat: free-form ``text`` where the channel
    allows it, else the approved template ``template_key`` (``text`` fills its
    ``{text}``, if it has one). ``request_id`` (from the form) makes a double submit
    send once. Audited; the outbox sends it."""
    require_aware(now, "now")
    text = (text or "").strip()
    if len(text) > MAX_REPLY:
        raise InvalidInput(
            N_("That reply is too long (at most %(most)s characters)."), most=MAX_REPLY
        )
    if request_id is not None and not _REQUEST_ID.match(request_id):
        raise InvalidInput(detail=N_("That form has expired; please reload the page."))
    with unit_of_work(session):
        conversation = _locked(session, clinic_id, conversation_id)
        clinic = session.get(Clinic, clinic_id)
        assert clinic is not None
        contact = _contact_for(session, conversation, actor)
        rules = reply_rules(session, clinic=clinic, conversation=conversation, now=now)
        if rules.blocked:
            raise InvalidTransition(rules.blocked.text, **rules.blocked.params)
        if template_key:
            variables = _template_variables(template_key, text, contact, rules)
            key = template_key
        else:
            if not text:
                raise InvalidInput(detail=N_("Please write a reply."))
            if not rules.free_form:
                raise InvalidTransition(rules.why.text, **rules.why.params)
            variables = {"text": text}
            key = "staff_reply"
        stamp = request_id or f"{now:%Y%m%dT%H%M%S%f}"
        message = queue_message(
            session,
            clinic_id=clinic_id,
            contact_id=contact.id,
            channel=conversation.channel,
            kind=MessageKind.NOTICE,
            template_key=key,
            variables=variables,
            idempotency_key=f"staff_reply:{conversation.id}:{stamp}",
            due_at=now,
        )
        if message is None:
            raise Duplicate(detail=N_("That reply was already sent."))
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="conversation.reply", entity=message
        )
    return message


def _template_variables(
    template_key: str, text: str, contact: Contact, rules: ReplyRules
) -> dict[str, str]:
    """An approved template's fields: the contact's first name, and the staff member's
    text where the template has a place for it (and only there)."""
    if template_key not in rules.templates:
        raise InvalidInput(N_("'%(key)s' is not an approved template here."), key=template_key)
    takes_text = "text" in _fields(EN[template_key])
    if takes_text and not text:
        raise InvalidInput(detail=N_("That template needs the message text."))
    if text and not takes_text:
        raise InvalidInput(
            N_(
                "The '%(key)s' template has no place for your text: clear "
                "the text box and send your words once the patient answers."
            ),
            key=template_key,
        )
    first_name = (contact.name or "").split()
    variables = {"name": first_name[0] if first_name else "there"}
    if text:
        variables["text"] = text
    return variables


def hand_back(
    session: Session, *, clinic_id: int, conversation_id: int, now: datetime, actor: Actor
) -> bool:
    """The bot answers this chat again (state "menu"). The patient gets a short note
    where a free-form message can reach them; returns whether one was queued."""
    require_aware(now, "now")
    with unit_of_work(session):
        conversation = _locked(session, clinic_id, conversation_id)
        if conversation.handoff_at is None and conversation.state != "handoff":
            raise InvalidTransition(
                N_("This chat is not waiting for a person; the bot is answering.")
            )
        before = audit.snapshot(conversation)
        data = dict(conversation.data or {})
        data.pop("booking", None)
        data.pop("choices", None)
        data.pop(STAFF_NOTE, None)
        conversation.data = data
        conversation.state = "menu"
        conversation.handoff_at = None
        conversation.misses = 0
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="conversation.hand_back",
            entity=conversation,
            before=before,
        )
        clinic = session.get(Clinic, clinic_id)
        assert clinic is not None
        contact = conversation.contact
        if contact is None:
            return False
        rules = reply_rules(session, clinic=clinic, conversation=conversation, now=now)
        if rules.blocked or not rules.free_form:
            return False  # their next message gets the bot anyway
        queue_message(
            session,
            clinic_id=clinic_id,
            contact_id=contact.id,
            channel=conversation.channel,
            kind=MessageKind.NOTICE,
            template_key="handed_back",
            idempotency_key=f"handed_back:{conversation.id}:{now:%Y%m%dT%H%M%S%f}",
            due_at=now,
        )
    return True


def refer_to_staff(
    session: Session,
    *,
    clinic_id: int,
    contact: Contact,
    channel: Channel,
    note: str,
    now: datetime,
    actor: Actor,
) -> Conversation:
    """Put the contact's chat in the staff queue with a note saying what needs doing (say,
    a payment that came too late to keep its session). The bot stays quiet in it, as after
    "talk to the clinic", until staff hand it back. Runs inside the caller's transaction."""
    require_aware(now, "now")
    query = (
        select(Conversation)
        .where(
            Conversation.clinic_id == clinic_id,
            Conversation.channel == channel,
            Conversation.phone == contact.phone,
        )
        .with_for_update()
    )
    conversation = session.scalar(query)
    if conversation is None:
        try:
            with session.begin_nested():
                conversation = Conversation(
                    clinic_id=clinic_id,
                    channel=channel,
                    phone=contact.phone,
                    contact_id=contact.id,
                    state="menu",
                    data={},
                )
                session.add(conversation)
        except IntegrityError:  # the patient's first message made it a moment ago
            conversation = session.scalar(query)
            assert conversation is not None
    before = audit.snapshot(conversation) if conversation.id is not None else None
    data = dict(conversation.data or {})
    data.pop("booking", None)
    data.pop("choices", None)
    data[STAFF_NOTE] = note[:500]
    conversation.data = data
    conversation.state = "handoff"
    conversation.handoff_at = conversation.handoff_at or now
    session.flush()
    audit.record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="conversation.refer_to_staff",
        entity=conversation,
        before=before,
    )
    return conversation


def waiting_for_staff() -> ColumnElement[bool]:
    """The staff queue: chats handed to a person and not yet handed back to the bot.
    The conversations list and the panel's alerts badge both count with this."""
    return Conversation.handoff_at.is_not(None)


def unanswered(
    session: Session, *, clinic_id: int, conversations: list[Conversation]
) -> dict[int, tuple[datetime, int]]:
    """For chats in the staff queue: since when the patient has been waiting for staff
    (the hand-off, or staff's last reply after it) and how many messages they sent since,
    by conversation id. Two queries, however long the queue."""
    waiting = {c.id: c.handoff_at for c in conversations if c.handoff_at is not None}
    if not waiting:
        return {}
    oldest = min(waiting.values())
    since = dict(waiting)
    replies = session.execute(
        select(OutboundMessage.idempotency_key, OutboundMessage.due_at).where(
            OutboundMessage.clinic_id == clinic_id,
            OutboundMessage.idempotency_key.startswith("staff_reply:"),
            OutboundMessage.due_at >= oldest,
        )
    )
    for key, due_at in replies:
        conversation_id = int(key.split(":")[1]) if key.count(":") >= 2 else None
        if conversation_id in since and due_at > since[conversation_id]:
            since[conversation_id] = due_at
    counts = dict.fromkeys(since, 0)
    inbound = session.execute(
        select(InboundMessage.conversation_id, InboundMessage.received_at).where(
            InboundMessage.clinic_id == clinic_id,
            InboundMessage.conversation_id.in_(list(since)),
            InboundMessage.received_at > oldest,
        )
    )
    for conversation_id, received_at in inbound:
        if received_at > since[conversation_id]:
            counts[conversation_id] += 1
    return {cid: (since[cid], counts[cid]) for cid in since}


# --- internals -----------------------------------------------------------------------------


def _locked(session: Session, clinic_id: int, conversation_id: int) -> Conversation:
    """The conversation, locked like a chat turn locks it (so a reply and an inbound
    message for the same chat run one after the other)."""
    return lock_in_clinic(
        session, Conversation, clinic_id, conversation_id, what=N_("conversation")
    )


def _contact_for(session: Session, conversation: Conversation, actor: Actor) -> Contact:
    """The chat's contact; a number that asked for a person before agreeing to the
    privacy notice has none yet, and a reply needs one (just the number)."""
    contact = conversation.contact
    if contact is None:
        contact = patients.find_contact(session, conversation.clinic_id, conversation.phone)
        if contact is None:
            contact = patients.create_contact(
                session,
                clinic_id=conversation.clinic_id,
                phone=conversation.phone,
                actor=actor,
                already_normalised=True,
            )
        conversation.contact_id = contact.id
        conversation.contact = contact
    # The window opens with the patient's last message in this chat, even one sent
    # before the contact existed; rendering reads it from the contact.
    last = _last_message_at(session, conversation.id)
    if last is not None:
        patients.note_inbound(session, contact=contact, channel=conversation.channel, now=last)
    return contact


def _last_inbound(
    session: Session, conversation: Conversation, contact: Contact | None
) -> datetime | None:
    times = [_last_message_at(session, conversation.id)]
    if contact is not None:
        times.append(getattr(contact, f"{conversation.channel.value}_last_inbound_at"))
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _last_message_at(session: Session, conversation_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(InboundMessage.received_at)).where(
            InboundMessage.conversation_id == conversation_id
        )
    )


def _has_sender(session: Session, clinic: Clinic, channel: Channel) -> bool:
    return (
        session.scalar(
            select(SenderNumber.id).where(
                SenderNumber.clinic_id == clinic.id, SenderNumber.channel == channel
            )
        )
        is not None
    )


def _fields(text: str) -> set[str]:
    """The ``{names}`` a format string needs."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
