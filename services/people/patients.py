"""Contacts (phone owners) and the patients they book for."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import unit_of_work, write_transaction
from core.formatting import LANGUAGES
from models import Channel, Clinic, Contact, Patient, Relation
from services import audit
from services.audit import Actor
from services.errors import N_, Duplicate, InvalidInput, NotFound
from services.people.phones import normalise_phone

MAX_NAME = 120
# Markup or a link is never part of a name: it would be shown to staff and in messages.
_NOT_A_NAME = re.compile(r"[<>{}]|https?:|www\.|://|\.(?:com|org|net)\b", re.IGNORECASE)


def clean_name(value: str | None, what: str = N_("name")) -> str:
    """A person's (or place's) name as stored: control and format characters dropped,
    white space folded; refused when empty, too long, or holding markup or a link."""
    text = unicodedata.normalize("NFKC", value or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = " ".join(text.split())
    if not name or not any(ch.isalpha() for ch in name):
        raise InvalidInput(N_("Please give a %(what)s."), code="name_missing", what=what)
    if len(name) > MAX_NAME:
        raise InvalidInput(
            N_("That %(what)s is too long (at most %(limit)s characters)."),
            code="name_too_long",
            limit=MAX_NAME,
            what=what,
        )
    if _NOT_A_NAME.search(name):
        raise InvalidInput(
            N_("Please give a %(what)s without links or markup."), code="name_markup", what=what
        )
    return name


def _check_date_of_birth(date_of_birth: date | None, today: date) -> None:
    if date_of_birth is None:
        return
    if date_of_birth > today:
        raise InvalidInput(
            detail=N_("The date of birth cannot be in the future."), code="born_in_future"
        )
    if date_of_birth.year < today.year - 120:
        raise InvalidInput(detail=N_("Please check the year of birth."), code="birth_year")


class ContactExists(Duplicate):
    """The phone number belongs to a contact already: ``contact_id`` says which."""

    def __init__(self, *, phone: str, contact_id: int) -> None:
        super().__init__(N_("A contact with the number %(phone)s already exists."), phone=phone)
        self.contact_id = contact_id


# Built once, run with parameters: the chat reads these on most turns.
_CONTACT_BY_PHONE = select(Contact).where(
    Contact.clinic_id == bindparam("clinic_id"), Contact.phone == bindparam("phone")
)
_ACTIVE_PATIENTS = (
    select(Patient)
    .where(
        Patient.clinic_id == bindparam("clinic_id"),
        Patient.contact_id == bindparam("contact_id"),
        Patient.active.is_(True),
    )
    .order_by(Patient.id)
)


def find_contact(session: Session, clinic_id: int, phone_e164: str) -> Contact | None:
    return session.scalar(_CONTACT_BY_PHONE, {"clinic_id": clinic_id, "phone": phone_e164})


def create_contact(
    session: Session,
    *,
    clinic_id: int,
    phone: str,
    actor: Actor,
    name: str | None = None,
    language: str | None = None,
    already_normalised: bool = False,
    consent: tuple[str, datetime] | None = None,
) -> Contact:
    """A new contact from a phone number in any reasonable format.

    ``already_normalised``: the number came from a provider as E.164 (an inbound
    message), so it is stored as given rather than judged by our region rules.
    ``consent``: (text version, time) when the contact agreed as they were created.
    """
    with write_transaction(session):
        clinic = session.get(Clinic, clinic_id)
        if clinic is None:
            raise NotFound(what=N_("clinic"))
        e164 = (
            phone
            if already_normalised
            else normalise_phone(phone, clinic.phone_region, require_mobile=True)
        )
        if find_contact(session, clinic_id, e164) is not None:
            raise Duplicate(N_("A contact with the number %(phone)s already exists."), phone=e164)
        contact = Contact(
            clinic_id=clinic_id,
            phone=e164,
            name=clean_name(name) if name else None,
            language=language or clinic.language,
            consent_version=consent[0] if consent else None,
            consent_at=consent[1] if consent else None,
        )
        session.add(contact)
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="contact.create", entity=contact
        )
    return contact


def register_patient(
    session: Session,
    *,
    clinic_id: int,
    phone: str,
    patient_name: str,
    actor: Actor,
    today: date,
    guardian_name: str | None = None,
    relation: Relation = Relation.CHILD,
    date_of_birth: date | None = None,
) -> Patient:
    """The desk adds a patient with the guardian's phone (or their own, ``relation=SELF``):
    a new contact and its first patient, in one transaction.

    The contact has no chat consent yet: the privacy notice comes with their first chat.
    A number that is already a contact raises ``ContactExists``; add to that contact instead.
    """
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound(what=N_("clinic"))
    e164 = normalise_phone(phone, clinic.phone_region, require_mobile=True)
    patient_name = clean_name(patient_name, N_("patient's name"))
    if relation is Relation.SELF and not guardian_name:
        guardian_name = patient_name
    existing = find_contact(session, clinic_id, e164)
    if existing is not None:
        raise ContactExists(phone=e164, contact_id=existing.id)
    with unit_of_work(session):
        contact = create_contact(
            session,
            clinic_id=clinic_id,
            phone=e164,
            name=guardian_name or None,
            actor=actor,
            already_normalised=True,
        )
        return add_patient(
            session,
            clinic_id=clinic_id,
            contact_id=contact.id,
            name=patient_name,
            relation=relation,
            date_of_birth=date_of_birth,
            actor=actor,
            today=today,
        )


def record_consent(
    session: Session, *, clinic_id: int, contact_id: int, version: str, now: datetime, actor: Actor
) -> Contact:
    with write_transaction(session):
        contact = _contact(session, clinic_id, contact_id)
        before = audit.snapshot(contact)
        contact.consent_at = now
        contact.consent_version = version
        audit.record(
            session,
            clinic_id=clinic_id,
            actor=actor,
            action="contact.consent",
            entity=contact,
            before=before,
        )
    return contact


def add_patient(
    session: Session,
    *,
    clinic_id: int,
    contact_id: int,
    name: str,
    actor: Actor,
    today: date,
    relation: Relation = Relation.SELF,
    date_of_birth: date | None = None,
    notes: str | None = None,
) -> Patient:
    """Add someone the contact books for (themself, or a child by a guardian)."""
    name = clean_name(name)
    _check_date_of_birth(date_of_birth, today)
    with write_transaction(session):
        contact = _contact(session, clinic_id, contact_id)
        siblings = session.scalars(
            select(Patient.name).where(Patient.contact_id == contact.id, Patient.active.is_(True))
        ).all()
        if any(existing.casefold() == name.casefold() for existing in siblings):
            raise Duplicate(
                N_("%(name)s is already registered with this number."),
                code="already_registered",
                name=name,
            )
        patient = Patient(
            clinic_id=clinic_id,
            contact_id=contact.id,
            name=name,
            relation=relation,
            date_of_birth=date_of_birth,
            notes=notes,
        )
        session.add(patient)
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="patient.create", entity=patient
        )
    return patient


def _contact(session: Session, clinic_id: int, contact_id: int) -> Contact:
    contact = session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.clinic_id == clinic_id)
    )
    if contact is None:
        raise NotFound(what=N_("contact"))
    return contact


def clinic_and_contact(session: Session, clinic_id: int, contact_id: int) -> tuple[Clinic, Contact]:
    """The clinic and one of its contacts, or NotFound (a contact of another clinic too)."""
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound(what=N_("contact"))
    return clinic, _contact(session, clinic_id, contact_id)


def validate_patient(patient: Patient) -> None:
    """Checks for a patient edited in the admin panel (``services.clinics.catalog.save_record``)."""
    patient.name = clean_name(patient.name)
    # No clinic zone at hand here: a day of slack covers every zone's "today".
    latest = (utcnow() + timedelta(days=1)).date()
    if patient.date_of_birth is not None and patient.date_of_birth > latest:
        raise InvalidInput(detail=N_("The date of birth cannot be in the future."))


def validate_contact(contact: Contact) -> None:
    if contact.name:
        contact.name = clean_name(contact.name)


def set_opt_out(
    session: Session,
    *,
    contact: Contact,
    channel: Channel,
    opted_out: bool,
    now: datetime,
    actor: Actor,
) -> Contact:
    """STOP / START: no proactive messages on that channel while opted out."""
    with write_transaction(session):
        before = audit.snapshot(contact)
        setattr(contact, f"{channel.value}_opted_out_at", now if opted_out else None)
        audit.record(
            session,
            clinic_id=contact.clinic_id,
            actor=actor,
            action="contact.opt_out" if opted_out else "contact.opt_in",
            entity=contact,
            before=before,
        )
    return contact


def note_inbound(session: Session, *, contact: Contact, channel: Channel, now: datetime) -> None:
    """Remember when the contact last wrote on a channel (WhatsApp's 24-hour window).

    Not audited: it is a timestamp the messaging rules read, not a change anyone makes.
    Kept to the minute, so a quick exchange does not rewrite the contact every message.
    """
    attribute = f"{channel.value}_last_inbound_at"
    last = getattr(contact, attribute)
    if last is None or now - last >= timedelta(minutes=1):
        setattr(contact, attribute, now)


def update_contact(
    session: Session,
    *,
    contact: Contact,
    actor: Actor,
    name: str | None = None,
    language: str | None = None,
) -> Contact:
    """Change a contact's name and/or the language the bot writes to them in."""
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(N_("Unknown language '%(language)s'."), language=language)
    with write_transaction(session):
        before = audit.snapshot(contact)
        if name is not None:
            contact.name = clean_name(name)
        if language is not None:
            contact.language = language
        audit.record(
            session,
            clinic_id=contact.clinic_id,
            actor=actor,
            action="contact.update",
            entity=contact,
            before=before,
        )
    return contact


def correct_date_of_birth(
    session: Session, *, patient: Patient, date_of_birth: date, today: date, actor: Actor
) -> Patient:
    """The contact (or the desk) corrects a patient's date of birth."""
    _check_date_of_birth(date_of_birth, today)
    with write_transaction(session):
        before = audit.snapshot(patient)
        patient.date_of_birth = date_of_birth
        audit.record(
            session,
            clinic_id=patient.clinic_id,
            actor=actor,
            action="patient.update",
            entity=patient,
            before=before,
        )
    return patient


def active_patients(session: Session, contact: Contact) -> list[Patient]:
    where = {"clinic_id": contact.clinic_id, "contact_id": contact.id}
    return list(session.scalars(_ACTIVE_PATIENTS, where))
