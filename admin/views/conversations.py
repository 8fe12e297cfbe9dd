"""Conversations: who is waiting for a person, each chat's transcript, and replying.

The queue lists chats handed to staff first (oldest waiting first), then recent
chats. A transcript shows, in the clinic's time, what the patient wrote, what the
bot answered (the TwiML reply stored with each inbound message) and what the
clinic sent through the outbox, with its delivery status. Staff reply from the
transcript (``services.messaging.handoff.staff_reply``) and hand the chat back to the bot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from flask import abort, current_app, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

from admin.i18n import panel_lang
from admin.permissions import CREATE, UPDATE
from admin.views.access import Guarded, SessionPage, requires
from admin.views.chat_documents import ChatDocumentsMixin
from admin.views.current import current_clinic_id, staff_actor
from admin.views.refusals import refused_as_flash, said
from core.clock import utcnow
from core.formatting import format_phone, format_when
from core.storage import media_store
from models import (
    Clinic,
    Contact,
    Conversation,
    InboundMedia,
    InboundMessage,
    MediaStatus,
    MessageSource,
    OutboundMessage,
    OutboundStatus,
)
from services.messaging import handoff
from services.messaging.media import ACCEPTED_TYPES, media_for_messages, media_kind, read_media
from services.messaging.replies import CHAT_REPLY, reply_key
from services.messaging.simulator import SIMULATED, is_simulator_phone

TRANSCRIPT_LIMIT = 200  # latest inbound and outbound messages shown, each
RECENT_LIMIT = 50
WAITING_LIMIT = 500
_STAFF_KEYS = ("staff_reply:",)


@dataclass(frozen=True)
class Attachment:
    """A file or location a patient sent, as the transcript shows it."""

    id: int
    kind: str  # image, audio, pdf, location, other
    status: str  # pending, fetched, kept, refused, failed
    content_type: str = ""
    size: int | None = None
    reason: str = ""
    map_url: str = ""
    label: str = ""

    @property
    def served(self) -> bool:
        return self.status == MediaStatus.FETCHED.value


def _attachment(row: InboundMedia) -> Attachment:
    if row.latitude is not None and row.longitude is not None:
        lat, lon = f"{row.latitude:.6f}", f"{row.longitude:.6f}"
        return Attachment(
            id=row.id,
            kind="location",
            status=row.status.value,
            map_url=f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}",
            label=" · ".join(filter(None, [row.label, row.address])) or f"{lat}, {lon}",
        )
    return Attachment(
        id=row.id,
        kind=media_kind(row.content_type or ""),
        status=row.status.value,
        content_type=row.content_type or "",
        size=row.size,
        reason=row.reason or "",
    )


@dataclass(frozen=True)
class Entry:
    """One bubble of a transcript."""

    at: datetime
    side: str  # "in": the patient; "out": the bot or the clinic
    who: str
    text: str
    note: str = ""  # where it came from, or what kind of message
    status: str = ""  # outbound only: queued, sent, delivered, read, failed…
    error: str = ""
    order: tuple[int, int] = (0, 0)
    attachments: tuple[Attachment, ...] = ()
    new: bool = False  # the patient wrote it while waiting for staff, after their last reply

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "undelivered")


def transcript(
    session: Session, conversation: Conversation, *, now: datetime
) -> tuple[list[Entry], bool]:
    """The chat in time order (and whether older messages were left out): inbound
    messages, the bot's replies, and the outbox rows for the contact that are due."""
    inbound = list(
        session.scalars(
            select(InboundMessage)
            .where(
                InboundMessage.conversation_id == conversation.id,
                InboundMessage.clinic_id == conversation.clinic_id,
            )
            .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
            .limit(TRANSCRIPT_LIMIT)
        )
    )
    outbound: list[OutboundMessage] = []
    if conversation.contact_id is not None:
        outbound = list(
            session.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.contact_id == conversation.contact_id,
                    OutboundMessage.clinic_id == conversation.clinic_id,
                    OutboundMessage.due_at <= now,
                )
                .order_by(OutboundMessage.due_at.desc(), OutboundMessage.id.desc())
                .limit(TRANSCRIPT_LIMIT)
            )
        )
    entries: list[Entry] = []
    attached = media_for_messages(session, conversation.clinic_id, [m.id for m in inbound])
    # A reply sent through the outbox (WhatsApp buttons and lists) shows once: its row,
    # with how it fared, instead of the words stored with the message it answers.
    queued_replies = {m.idempotency_key for m in outbound if m.template_key == CHAT_REPLY}
    for message in inbound:
        own_row = reply_key(message.provider_sid) in queued_replies
        entries.extend(_inbound_entries(message, attached.get(message.id, []), own_row))
    for message in outbound:
        entries.append(_outbound_entry(message, conversation))
    waiting = handoff.unanswered(
        session, clinic_id=conversation.clinic_id, conversations=[conversation]
    )
    if conversation.id in waiting:
        since = waiting[conversation.id][0]
        entries = [replace(e, new=True) if e.side == "in" and e.at > since else e for e in entries]
    entries.sort(key=lambda e: (e.at, e.order))
    truncated = len(inbound) == TRANSCRIPT_LIMIT or len(outbound) == TRANSCRIPT_LIMIT
    return entries, truncated


def _inbound_entries(
    message: InboundMessage, media: list[InboundMedia], reply_has_own_row: bool = False
) -> list[Entry]:
    text = message.body or ""
    if message.button_payload and message.button_payload != text:
        text = f"{text} [button: {message.button_payload}]".strip()
    files = sum(1 for m in media if m.index >= 0)
    if message.num_media > files:
        text = f"{text} [{message.num_media - files} attachment(s) not kept]".strip()
    note = "" if message.source is MessageSource.TWILIO else f"via {message.source.value}"
    attachments = tuple(_attachment(m) for m in media)
    out = [
        Entry(
            message.received_at,
            "in",
            "Patient",
            text,
            note,
            order=(0, message.id),
            attachments=attachments,
        )
    ]
    if message.reply and not reply_has_own_row:
        out.append(Entry(message.received_at, "out", "Bot", message.reply, order=(1, message.id)))
    elif message.throttled:
        out.append(
            Entry(
                message.received_at,
                "out",
                "Bot",
                "(not answered: too many messages in a minute)",
                order=(1, message.id),
            )
        )
    return out


def _outbound_entry(message: OutboundMessage, conversation: Conversation) -> Entry:
    staff = message.idempotency_key.startswith(_STAFF_KEYS)
    bot = message.template_key == CHAT_REPLY
    who = "Staff" if staff else "Bot" if bot else "Clinic"
    text = message.body or (message.variables or {}).get("text") or f"({message.template_key})"
    notes = [] if staff or bot else [message.kind.value.replace("_", " ")]
    if message.channel is not conversation.channel:
        notes.append(f"by {message.channel.value}")
    status = message.status.value
    error = " ".join(filter(None, [message.error_code, message.error_message]))
    if message.status is OutboundStatus.CANCELLED and message.error_code == SIMULATED:
        status, error = "shown in simulator", ""
    return Entry(
        message.sent_at or message.due_at,
        "out",
        who,
        text,
        " · ".join(notes),
        status,
        error,
        order=(2, message.id),
    )


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("Reply"), validators=[Length(max=handoff.MAX_REPLY)])
    template_key = SelectField(_l("Approved template"), choices=[], validate_choice=False)
    request_id = HiddenField()


class HandBackForm(FlaskForm):
    pass


class ConversationsView(ChatDocumentsMixin, Guarded, SessionPage, BaseView):
    """The front desk's chats: the queue, transcripts, replies (create), hand back (update)."""

    resource = "conversations"

    @expose("/")
    def index(self) -> str:
        clinic_id = current_clinic_id()
        base = (
            select(Conversation)
            .options(joinedload(Conversation.contact))
            .where(Conversation.clinic_id == clinic_id)
        )
        waiting = list(
            self.session.scalars(
                base.where(handoff.waiting_for_staff())
                .order_by(Conversation.handoff_at, Conversation.id)
                .limit(WAITING_LIMIT)
            )
        )
        recent = list(
            self.session.scalars(
                base.where(
                    Conversation.handoff_at.is_(None), Conversation.last_turn_at.is_not(None)
                )
                .order_by(Conversation.last_turn_at.desc(), Conversation.id.desc())
                .limit(RECENT_LIMIT)
            )
        )
        return self.render(
            "admin/conversations.html",
            waiting=waiting,
            unanswered=handoff.unanswered(self.session, clinic_id=clinic_id, conversations=waiting),
            recent=recent,
            when=self._when,
            phone=format_phone,
            simulated=is_simulator_phone,
        )

    @expose("/contact/<int:contact_id>")
    def for_contact(self, contact_id: int) -> Response:
        """A contact's most recent chat (for links from a contact's page)."""
        conversation_id = self.session.scalar(
            select(Conversation.id)
            .where(
                Conversation.contact_id == contact_id,
                Conversation.clinic_id == current_clinic_id(),
            )
            .order_by(Conversation.last_turn_at.desc(), Conversation.id.desc())
            .limit(1)
        )
        if conversation_id is None:
            known = self.session.scalar(
                select(Contact.id).where(
                    Contact.id == contact_id, Contact.clinic_id == current_clinic_id()
                )
            )
            if known is None:
                abort(404)
            # Nothing to answer yet: back to the contact's page, saying so.
            flash(
                _(
                    "No chat with this contact yet. Their first message opens one here; "
                    "until then the clinic's reminders and notices reach them."
                ),
                "info",
            )
            return redirect(url_for("contact.details_view", id=contact_id))
        return redirect(url_for(".transcript_view", conversation_id=conversation_id))

    @expose("/<int:conversation_id>/")
    def transcript_view(self, conversation_id: int) -> str:
        conversation = self._get(conversation_id)
        clinic = self._clinic()
        now = utcnow()
        entries, truncated = transcript(self.session, conversation, now=now)
        rules = handoff.reply_rules(self.session, clinic=clinic, conversation=conversation, now=now)
        form = ReplyForm()
        form.template_key.choices = [("", "— free-form reply —")] + [
            (key, key) for key in rules.templates
        ]
        form.request_id.data = uuid.uuid4().hex
        return self.render(
            "admin/conversation.html",
            conversation=conversation,
            entries=entries,
            truncated=truncated,
            rules=rules,
            said=said,
            form=form,
            hand_back_form=HandBackForm(),
            may_reply=self.allowed(CREATE),
            may_hand_back=self.allowed(UPDATE),
            when=self._when,
            phone=format_phone,
            simulated=is_simulator_phone(conversation.phone),
            filing=self.chat_filing(conversation, (a for e in entries for a in e.attachments)),
        )

    @expose("/media/<int:media_id>")
    def media(self, media_id: int) -> Response:
        """A file a patient sent, to signed-in staff of its clinic (never a public URL)."""
        store = media_store(current_app.config["ROSHNI"])
        found = read_media(self.session, store, clinic_id=current_clinic_id(), media_id=media_id)
        if found is None:
            abort(404)
        row, data = found
        response = Response(data, mimetype=row.content_type or "application/octet-stream")
        name = f"attachment-{row.id}.{ACCEPTED_TYPES.get(row.content_type or '', 'bin')}"
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @expose("/<int:conversation_id>/reply", methods=("POST",))
    @requires(CREATE)
    def reply(self, conversation_id: int) -> Response:
        conversation = self._get(conversation_id)
        form = ReplyForm()
        form.template_key.choices = []
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                handoff.staff_reply(
                    self.session,
                    clinic_id=current_clinic_id(),
                    conversation_id=conversation.id,
                    now=utcnow(),
                    actor=staff_actor(),
                    text=form.text.data,
                    template_key=form.template_key.data or None,
                    request_id=form.request_id.data or None,
                )
            if outcome.ok:
                flash(_("Reply queued; it goes out within a minute."), "success")
        else:
            for errors in form.errors.values():
                for error in errors:
                    flash(str(error), "error")
        return redirect(url_for(".transcript_view", conversation_id=conversation_id))

    @expose("/<int:conversation_id>/hand-back", methods=("POST",))
    @requires(UPDATE)
    def hand_back(self, conversation_id: int) -> Response:
        conversation = self._get(conversation_id)
        if HandBackForm().validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                told = handoff.hand_back(
                    self.session,
                    clinic_id=current_clinic_id(),
                    conversation_id=conversation.id,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            if outcome.ok:
                flash(
                    _("The bot answers this chat again and the patient has been told.")
                    if told
                    else _("The bot answers this chat again."),
                    "success",
                )
        return redirect(url_for(".transcript_view", conversation_id=conversation_id))

    # --- helpers -------------------------------------------------------------------------

    def _get(self, conversation_id: int) -> Conversation:
        conversation = self.session.scalar(
            select(Conversation)
            .options(joinedload(Conversation.contact))
            .where(
                Conversation.id == conversation_id,
                Conversation.clinic_id == current_clinic_id(),
            )
        )
        if conversation is None:
            abort(404)
        return conversation

    def _clinic(self) -> Clinic:
        clinic = self.session.get(Clinic, current_clinic_id())
        assert clinic is not None
        return clinic

    def _when(self, value: datetime | None) -> str:
        return "" if value is None else format_when(value, self._clinic().timezone, panel_lang())
