"""Rendering an outbox row for its channel, under that channel's rules.

WhatsApp: free-form inside the contact's 24-hour window, otherwise only the
clinic's approved template (Content SID + numbered variables). SMS: GSM-7 text
and, in India, only the DLT-registered template's words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, joinedload

from core.formatting import format_money, format_time, format_when
from integrations.twilio.addresses import whatsapp_address
from integrations.twilio.gsm7 import sms_plain
from models import (
    Appointment,
    Channel,
    Clinic,
    Contact,
    MessageKind,
    MessageTemplate,
    OutboundMessage,
    SenderNumber,
)
from services.messaging import online
from services.messaging.catalogue import MissingMessage, numbered, reminder_choices, say
from services.messaging.content_templates import InteractiveMessage, interactive_message
from services.messaging.replies import CHAT_REPLY

WHATSAPP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Outgoing:
    from_: str
    to: str
    body: str
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None
    media_url: str | None = None


class Undeliverable(Exception):
    """This message cannot go on its channel as things stand (say, no template)."""

    def __init__(self, reason: str, *, code: str | None = None, fallback: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.fallback = fallback


SenderLookup = Callable[[Session, int, Channel, str], "tuple[str, MessageTemplate | None] | None"]


# Messages with no approved template of their own: outside WhatsApp's 24-hour window (and
# as Indian SMS) they go as the approved template of the message they are most like, so a
# clinic need not register a new one. A length change goes as the move's template there
# (its variables are the same; it names the session's time, which is what the reader
# needs), to the guardian and to the therapist alike.
APPROVED_AS = {
    "notice_length_changed": "notice_moved",
    # A course booked, moved or cancelled together: as its first session's booking, move
    # or cancellation (the same variables; the course's count is in the chat's words).
    "notice_series_booked": "notice_booked",
    "notice_series_booked_gaps": "notice_booked",
    "notice_series_moved": "notice_moved",
    "notice_series_moved_gaps": "notice_moved",
    "notice_series_cancelled": "notice_cancelled",
    "staff_notice_resized": "staff_notice_moved",
    # A chat booking request the clinic approved is told as a booking; one it declined
    # (or left unanswered) as a cancellation.
    "notice_request_approved": "notice_booked",
    "notice_request_declined": "notice_cancelled",
    "notice_request_declined_note": "notice_cancelled",
    "notice_request_expired": "notice_cancelled",
    "notice_course_request_declined": "notice_cancelled",
    "notice_course_request_declined_note": "notice_cancelled",
    "notice_course_request_expired": "notice_cancelled",
}


def sender_and_template(
    session: Session, clinic_id: int, channel: Channel, template_key: str
) -> tuple[str, MessageTemplate | None] | None:
    """The clinic's number on this channel and its template for this key, in one query
    (None when the clinic has no number on the channel)."""
    row = session.execute(
        select(SenderNumber.address, MessageTemplate)
        .outerjoin(
            MessageTemplate,
            and_(
                MessageTemplate.clinic_id == SenderNumber.clinic_id,
                MessageTemplate.channel == SenderNumber.channel,
                MessageTemplate.key == template_key,
            ),
        )
        .where(SenderNumber.clinic_id == clinic_id, SenderNumber.channel == channel)
    ).first()
    return None if row is None else (row[0], row[1])


def render(
    session: Session,
    message: OutboundMessage,
    clinic: Clinic,
    contact: Contact,
    appointment: Appointment | None,
    *,
    now: datetime,
    base_url: str | None = None,
    account_sid: str | None = None,
    lookup: SenderLookup | None = None,
) -> Outgoing:
    """The message as this channel may carry it now, or ``Undeliverable``.

    A chat reply offering choices goes on WhatsApp as buttons or a list: the content
    template ``account_sid`` holds for its shape and the contact's language, filled in;
    as its text when there is none (not synced) or the choices cannot be shown so.
    ``lookup`` answers ``sender_and_template`` (a batch asks once per clinic and key)."""
    text, values = compose(message, clinic, contact, appointment, now=now, base_url=base_url)
    approved_key = APPROVED_AS.get(message.template_key, message.template_key)
    row = (lookup or sender_and_template)(session, clinic.id, message.channel, approved_key)
    if row is None:
        raise Undeliverable(f"{clinic.name} has no {message.channel.value} number", fallback=True)
    sender, template = row
    if message.channel is Channel.WHATSAPP:
        last = contact.whatsapp_last_inbound_at
        if last is not None and now - last < WHATSAPP_WINDOW:
            interactive = _interactive(session, message, contact, account_sid)
            if interactive is not None:
                return Outgoing(
                    whatsapp_address(sender),
                    whatsapp_address(contact.phone),
                    text,
                    content_sid=interactive.content_sid,
                    content_variables=interactive.content_variables,
                )
            media = values.get("media_url") if base_url else None
            return Outgoing(
                whatsapp_address(sender), whatsapp_address(contact.phone), text, media_url=media
            )
        if template is None or not template.content_sid:
            raise Undeliverable(
                f"outside the 24-hour window and no approved WhatsApp template "
                f"'{approved_key}' is configured",
                code="no_template",
                fallback=True,
            )
        variables = {
            str(i): str(values.get(name, "")) for i, name in enumerate(template.variable_order, 1)
        }
        return Outgoing(
            whatsapp_address(sender),
            whatsapp_address(contact.phone),
            text,
            content_sid=template.content_sid,
            content_variables=variables,
        )
    if clinic.phone_region == "IN":
        # Indian SMS must match a DLT-registered template word for word.
        if template is None or not template.body or not template.dlt_template_id:
            raise Undeliverable(
                f"SMS in India needs a DLT-registered template '{approved_key}'",
                code="no_dlt_template",
            )
        text = template.body.format(**values)
    return Outgoing(sender, contact.phone, sms_plain(text))


def _interactive(
    session: Session, message: OutboundMessage, contact: Contact, account_sid: str | None
) -> InteractiveMessage | None:
    variables = message.variables or {}
    options = variables.get("options")
    if message.template_key != CHAT_REPLY or not options or not account_sid:
        return None
    return interactive_message(
        session,
        account_sid=account_sid,
        prompt=str(variables.get("prompt") or ""),
        options=[(str(option_id), str(label)) for option_id, label in options],
        lang=contact.language,
        **({"more_id": str(variables["more_id"])} if variables.get("more_id") else {}),
    )


def addresses(
    session: Session, clinic: Clinic, contact: Contact, channel: Channel
) -> tuple[str, str] | None:
    """(from, to) as ``render`` addresses a message on this channel, or None without a number."""
    sender = session.scalar(
        select(SenderNumber.address).where(
            SenderNumber.clinic_id == clinic.id, SenderNumber.channel == channel
        )
    )
    if sender is None:
        return None
    if channel is Channel.WHATSAPP:
        return whatsapp_address(sender), whatsapp_address(contact.phone)
    return sender, contact.phone


def compose(
    message: OutboundMessage,
    clinic: Clinic,
    contact: Contact,
    appointment: Appointment | None,
    *,
    now: datetime,
    base_url: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The message's words in the contact's language, and the named values behind them."""
    values = {
        **_appointment_values(appointment, clinic, now, contact.language),
        **_online_values(message, appointment, now, contact.language),
        **(message.variables or {}),
    }
    values.setdefault("clinic", clinic.name)
    # Our own pages (a receipt, a UPI QR code) are stored as paths: "x_path" → "x_url".
    for key in [k for k in values if k.endswith("_path")]:
        values[key[: -len("_path")] + "_url"] = f"{base_url or ''}{values[key]}"
    if "until" in values:
        values["until"] = format_time(
            datetime.fromisoformat(values["until"]).astimezone(ZoneInfo(clinic.timezone)),
            contact.language,
        )
    text = say(contact.language, message.template_key, **values)
    if values.get("video"):
        text = f"{text}\n{values['video']}"
    if message.kind is MessageKind.REMINDER:
        text = f"{text}\n{numbered([label for _, label in reminder_choices(contact.language)])}"
    return text, values


def _online_values(
    message: OutboundMessage, appointment: Appointment | None, now: datetime, lang: str
) -> dict[str, Any]:
    """An online session's line (``video``) and, when this message may carry it, its link
    (``video_url``, also for a clinic's approved template): a confirmation always, a
    reminder only close to the start (``services.messaging.online``)."""
    if appointment is None or not appointment.online:
        return {}
    if message.kind is MessageKind.REMINDER:
        with_link = online.link_due(appointment, now)
    elif message.template_key in online.CONFIRMING_NOTICES:
        with_link = True
    else:
        return {}  # a cancellation, a payment: nothing to join
    return {
        "video": online.online_line(lang, appointment, with_link=with_link),
        "video_url": (appointment.video_url or "") if with_link else "",
    }


def _appointment_values(
    appointment: Appointment | None, clinic: Clinic, now: datetime, lang: str
) -> dict[str, Any]:
    if appointment is None:
        return {}
    zone = ZoneInfo(clinic.timezone)
    today = now.astimezone(zone).date()
    start_local = appointment.start_at.astimezone(zone)
    at = format_time(start_local, lang)
    if start_local.date() == today:
        when = say(lang, "when_today", time=at)
    elif start_local.date() == today + timedelta(days=1):
        when = say(lang, "when_tomorrow", time=at)
    else:
        when = format_when(appointment.start_at, clinic.timezone, lang)
    return {
        "patient": appointment.patient.name,
        "service": appointment.service.name,
        "therapist": appointment.therapist.name,
        "when": when,
        "time": at,
        "ends": format_time(appointment.end_at.astimezone(zone), lang),
        "number": appointment.number,
        "price": format_money(appointment.price_minor, clinic.currency, short=True, lang=lang),
    }


def shown_texts(
    session: Session, clinic: Clinic, messages: Sequence[OutboundMessage]
) -> dict[int, str]:
    """What each message said, for the staff who read the log: the words noted when it
    left, else (a WhatsApp template, or not sent yet) its words from the catalogue in the
    contact's language, as at its send (or due) time. The messages' sessions come in one
    statement, however many messages there are; nothing here is logged."""
    wanted = {m.appointment_id for m in messages if m.body is None and m.appointment_id}
    sessions = (
        {
            a.id: a
            for a in session.scalars(
                select(Appointment)
                .where(Appointment.id.in_(wanted), Appointment.clinic_id == clinic.id)
                .options(
                    joinedload(Appointment.patient),
                    joinedload(Appointment.service),
                    joinedload(Appointment.therapist),
                )
            ).unique()
        }
        if wanted
        else {}
    )
    texts: dict[int, str] = {}
    for message in messages:
        if message.body is not None:
            texts[message.id] = message.body
            continue
        appointment = sessions.get(message.appointment_id) if message.appointment_id else None
        try:
            texts[message.id], _ = compose(
                message,
                clinic,
                message.contact,
                appointment,
                now=message.sent_at or message.due_at,
            )
        except (MissingMessage, KeyError, IndexError, ValueError):
            texts[message.id] = ""  # a key or a value the catalogue no longer has
    return texts
