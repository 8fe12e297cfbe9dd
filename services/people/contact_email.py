"""A contact's email address: staff set it (with the preference), a bounce marks it,
the patient unsubscribes from a link in any email. Each a verb with its audit row."""

from __future__ import annotations

import re
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import Contact, EmailPreference
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidInput, NotFound

MAX_EMAIL = 254
# Strict on purpose: one address, no display name, a dotted domain.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SALT = "roshni.email.unsubscribe"


def clean_email(value: str | None) -> str | None:
    """An address as stored (lower case), None for a blank one; refused when malformed."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_EMAIL or not _ADDRESS.match(text) or ".." in text:
        raise InvalidInput(N_("That is not an email address."), code="email_invalid")
    return text.lower()


def set_contact_email(
    session: Session,
    *,
    clinic_id: int,
    contact_id: int,
    email: str | None,
    preference: EmailPreference,
    actor: Actor,
    clear_bounce: bool = False,
) -> Contact:
    """Staff record a contact's address and how they want messages. A new address starts
    clean (no bounce, not unsubscribed); ``clear_bounce`` lifts a bounce on the same one."""
    address = clean_email(email)
    if preference is not EmailPreference.CHAT and address is None:
        raise InvalidInput(
            N_("Give an email address to send messages by email."), code="email_missing"
        )
    with write_transaction(session):
        contact = _contact_for_update(session, clinic_id, contact_id)
        before = audit.snapshot(contact)
        if address != contact.email:
            contact.email_bounced_at = None
            contact.email_opted_out_at = None
        elif clear_bounce:
            contact.email_bounced_at = None
        contact.email = address
        contact.email_preference = preference
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="contact.email",
            entity=contact,
            before=before,
        )
    return contact


def unsubscribe_token(secret_key: str, *, clinic_id: int, contact_id: int) -> str:
    return URLSafeSerializer(secret_key, salt=_SALT).dumps([clinic_id, contact_id])


def contact_for_token(session: Session, secret_key: str, token: str) -> Contact:
    """The contact an unsubscribe link was made for (NotFound for a bad or foreign one)."""
    try:
        clinic_id, contact_id = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound(what=N_("link")) from None
    contact = session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.clinic_id == clinic_id)
    )
    if contact is None or contact.erased_at is not None:
        raise NotFound(what=N_("link"))
    return contact


def unsubscribe(session: Session, secret_key: str, token: str, *, now: datetime) -> Contact:
    """The patient followed the link in an email: no more email (the chat carries on).
    A second time changes nothing."""
    with write_transaction(session):
        contact = contact_for_token(session, secret_key, token)
        contact = _contact_for_update(session, contact.clinic_id, contact.id)
        if contact.email_opted_out_at is None:
            before = audit.snapshot(contact)
            contact.email_opted_out_at = now
            audit.record(
                session,
                clinic_id=contact.clinic_id,
                actor=Actor.contact(contact.id),
                action="contact.email_unsubscribe",
                entity=contact,
                before=before,
            )
    return contact


def mark_bounced(
    session: Session, address: str, *, now: datetime, clinic_id: int | None = None
) -> int:
    """The address bounces: every contact with it (in ``clinic_id``, or in every clinic for
    a provider's notice) gets no more email. Returns how many were marked."""
    address = address.strip().lower()
    if not address:
        return 0
    with write_transaction(session):
        query = select(Contact).where(
            func.lower(Contact.email) == address, Contact.email_bounced_at.is_(None)
        )
        if clinic_id is not None:
            query = query.where(Contact.clinic_id == clinic_id)
        contacts = list(session.scalars(query.with_for_update()))
        for contact in contacts:
            before = audit.snapshot(contact)
            contact.email_bounced_at = now
            audit.record(
                session,
                clinic_id=contact.clinic_id,
                actor=Actor.system(),
                action="contact.email_bounced",
                entity=contact,
                before=before,
            )
    return len(contacts)


def _contact_for_update(session: Session, clinic_id: int, contact_id: int) -> Contact:
    contact = session.scalar(
        select(Contact)
        .where(Contact.id == contact_id, Contact.clinic_id == clinic_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if contact is None:
        raise NotFound(what=N_("contact"))
    return contact
