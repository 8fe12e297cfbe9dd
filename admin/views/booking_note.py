"""What the booking forms share: how a patient is named among the choices, the choice
of in person or online (for a service given either way), and the sentence that confirms
a booking — the patient, the time, and what the guardian is told.

What the guardian is told is read from the outbox rows the booking queued, so the
sentence says what will actually be sent, not what we expect the services to do.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.i18n import panel_lang
from core.formatting import format_phone, format_when
from models import Appointment, Channel, MessageKind, OutboundMessage, OutboundStatus, Patient

# In person or online, for a service given either way ("": as the service is given);
# ``DELIVERY`` turns the answer into ``book_appointment``'s ``online``.
DELIVERY_CHOICES = [
    ("", _l("As the service is given (in person if either)")),
    ("in_person", _l("In person")),
    ("online", _l("Online (video)")),
]
DELIVERY: dict[str, bool | None] = {"": None, "in_person": False, "online": True}


def patient_choice(patient: Patient) -> str:
    """``Aarav — Asha Verma, +91 98765 43210``: the name, who books for them, their number."""
    contact = patient.contact
    who = contact.name or _("guardian")
    return f"{patient.name} — {who}, {format_phone(contact.phone)}"


def booked_sentence(session: Session, appointment: Appointment, timezone: str) -> str:
    when = format_when(appointment.start_at, timezone, panel_lang())
    what = _(
        "%(patient)s, %(service)s with %(therapist)s, %(when)s",
        patient=appointment.patient.name,
        service=appointment.service.name,
        therapist=appointment.therapist.name,
        when=when,
    )
    if appointment.backdated:
        return _(
            "Entered %(number)s: %(what)s — back-dated (it had already started). "
            "%(guardian)s is not sent any message about it.",
            number=appointment.number,
            what=what,
            guardian=_guardian(appointment),
        )
    booked = _("Booked %(number)s: %(what)s.", number=appointment.number, what=what)
    return f"{booked} {_told(session, appointment)}"


def _guardian(appointment: Appointment) -> str:
    contact = appointment.patient.contact
    return contact.name or format_phone(contact.phone)


def _told(session: Session, appointment: Appointment) -> str:
    queued = session.execute(
        select(OutboundMessage.kind, OutboundMessage.channel).where(
            OutboundMessage.appointment_id == appointment.id,
            # Not only queued: the notice may be on its way already once the booking commits.
            OutboundMessage.status != OutboundStatus.CANCELLED,
        )
    ).all()
    notices = [channel for kind, channel in queued if kind is MessageKind.NOTICE]
    reminders = sum(1 for kind, _kind in queued if kind is MessageKind.REMINDER)
    who = _guardian(appointment)
    if notices and reminders:
        return ngettext(
            "%(who)s is told of the booking now by %(channel)s and gets %(num)d reminder "
            "before it.",
            "%(who)s is told of the booking now by %(channel)s and gets %(num)d reminders "
            "before it.",
            reminders,
            who=who,
            channel=_channel(notices[0]),
        )
    if notices:
        return _(
            "%(who)s is told of the booking now by %(channel)s.",
            who=who,
            channel=_channel(notices[0]),
        )
    if reminders:
        return ngettext(
            "%(who)s gets %(num)d reminder before it.",
            "%(who)s gets %(num)d reminders before it.",
            reminders,
            who=who,
        )
    return _("%(who)s is not sent any message about it.", who=who)


def _channel(channel: Channel) -> str:
    return "WhatsApp" if channel is Channel.WHATSAPP else "SMS"
