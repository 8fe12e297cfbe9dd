"""Telling a therapist what happened to their patients' sessions: booked, moved,
made longer or shorter (resized), cancelled, or a reschedule request waiting for a decision.

The scheduling verbs call ``notify_therapist`` inside their own transaction, so the
row (and any WhatsApp) exists exactly when the change does. The panel always shows
the row (``services.staff.notifications``: the Notifications page and the menu badge);
WhatsApp goes too when the clinic turns it on
(``ClinicPolicy.tell_therapists_by_whatsapp``) and the staff member opted in with a
phone (My profile). The WhatsApp is an ordinary outbox row to the contact that phone is
for the clinic, so the outbox's rules hold: free text inside the 24-hour window,
outside it only the clinic's approved template for the key (``staff_notice_<kind>``,
variables ``first_name``, ``when``, ``clinic``; a resize goes as ``staff_notice_moved``'s,
``rendering.APPROVED_AS``); an opt-out (STOP) is respected. The
words name the patient's first name and the time in the clinic's zone, nothing clinical.
Here (messaging) rather than in services.staff: it queues outbox rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import require_aware
from core.formatting import format_when
from models import (
    ActorType,
    Appointment,
    Channel,
    Clinic,
    ClinicPolicy,
    Contact,
    MessageKind,
    NotificationKind,
    SenderNumber,
    StaffNotification,
    StaffUser,
    Therapist,
)
from services import audit
from services.audit import Actor
from services.messaging.outbox import queue_message


def notify_therapist(
    session: Session,
    appointment: Appointment,
    kind: NotificationKind,
    actor: Actor,
    *,
    now: datetime,
    therapist_id: int | None = None,
) -> StaffNotification | None:
    """Tell the staff member who is the session's therapist (``therapist_id``: another
    therapist, the one a moved session left). Nothing when the therapist has no login,
    or did it themself. Call inside the transaction of the change."""
    now = require_aware(now, "now")
    # From the identity map when the verb has the therapist loaded (a booking has).
    therapist = session.get(Therapist, therapist_id or appointment.therapist_id)
    if therapist is None or therapist.clinic_id != appointment.clinic_id:
        return None
    staff_user_id = therapist.staff_user_id
    if staff_user_id is None:
        return None
    if actor.type is ActorType.STAFF and actor.id == staff_user_id:
        return None
    user = session.get(StaffUser, staff_user_id)
    if user is None or not user.active or user.clinic_id != appointment.clinic_id:
        return None
    notification = StaffNotification(
        clinic_id=appointment.clinic_id,
        staff_user_id=user.id,
        kind=kind,
        appointment_id=appointment.id,
        created_at=now,
    )
    session.add(notification)
    session.flush()
    if user.notify_whatsapp and user.phone:
        _queue_whatsapp(session, notification, appointment, user, now=now)
    return notification


def _queue_whatsapp(
    session: Session,
    notification: StaffNotification,
    appointment: Appointment,
    user: StaffUser,
    *,
    now: datetime,
) -> None:
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None and user.phone is not None
    wanted = session.scalar(
        select(ClinicPolicy.tell_therapists_by_whatsapp).where(ClinicPolicy.clinic_id == clinic.id)
    )
    has_whatsapp = session.scalar(
        select(SenderNumber.id).where(
            SenderNumber.clinic_id == clinic.id, SenderNumber.channel == Channel.WHATSAPP
        )
    )
    if not wanted or has_whatsapp is None:
        return
    contact = _contact_for(session, clinic, user)
    first_name = (appointment.patient.name or "").split()[0] if appointment.patient.name else ""
    queue_message(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        channel=Channel.WHATSAPP,
        kind=MessageKind.NOTICE,
        template_key=f"staff_notice_{notification.kind.value}",
        idempotency_key=f"staff_notice:{notification.id}",
        due_at=now,
        # Not tied to the session: the patient's message log is theirs, and the words are
        # these values only (no service, no notes).
        variables={
            "first_name": first_name,
            "when": format_when(appointment.start_at, clinic.timezone, contact.language),
        },
    )


def _contact_for(session: Session, clinic: Clinic, user: StaffUser) -> Contact:
    """The clinic's contact for the staff member's phone (theirs already when they have
    written to the clinic, which is what opens WhatsApp's 24-hour window)."""
    contact = session.scalar(
        select(Contact).where(Contact.clinic_id == clinic.id, Contact.phone == user.phone)
    )
    if contact is not None:
        return contact
    contact = Contact(
        clinic_id=clinic.id, phone=user.phone, name=user.name or None, language=clinic.language
    )
    session.add(contact)
    audit.record(
        session, clinic_id=clinic.id, actor=Actor.system(), action="contact.create", entity=contact
    )
    return contact
