"""Finding people and sessions from one box: a patient's or guardian's name, a phone
number typed in any common form, an appointment's number or id.

A phone-like search is looked for in the stored E.164 numbers: a whole number is
normalised by the clinic's own rule (``services.people.phones.normalise_phone``), so
"(+91) 098765-43210", "098765 43210" and "+91 98765 43210" find the same contact; a part of
one matches its digits anywhere ("43210"), without a trunk 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, joinedload

from models import Appointment, Contact, Patient
from services.errors import InvalidPhone
from services.people.phones import normalise_phone

PHONE_LIKE = re.compile(r"\+?[\d\s().-]{6,}")
MIN_PART_DIGITS = 3  # fewer digits than this would match half the clinic
LIMIT = 20  # per kind; the page says when there are more


def phone_digits(search: str) -> str | None:
    """What to look for in stored E.164 numbers when a search looks like a phone number
    ("098765 43210" → "9876543210"; no trunk 0), else None."""
    if not PHONE_LIKE.fullmatch(search.strip()):
        return None
    return re.sub(r"\D", "", search).lstrip("0") or None


def phone_needle(search: str, region: str) -> str | None:
    """The digits to look for: the whole E.164 number when ``search`` is one (in any
    form the clinic's region allows), else the digits typed, else None."""
    try:
        return normalise_phone(search, region).lstrip("+")
    except InvalidPhone:
        pass
    digits = phone_digits(search)
    return digits if digits and len(digits) >= MIN_PART_DIGITS else None


@dataclass
class Found:
    """What one search found, each kind capped at ``LIMIT`` (``more`` says which ran over)."""

    patients: list[Patient] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    more: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (self.patients or self.contacts or self.appointments)


def _like(text: str) -> str:
    return "%" + "".join(ch for ch in text if ch not in "%_\\") + "%"


def _capped(session: Session, stmt: Select[Any], kind: str, found: Found) -> list[Any]:
    rows = list(session.scalars(stmt.limit(LIMIT + 1)).unique())
    if len(rows) > LIMIT:
        found.more.add(kind)
    return rows[:LIMIT]


def search(
    session: Session,
    clinic_id: int,
    text: str,
    *,
    region: str,
    patients: Select[Any] | bool | None = True,
    contacts: Select[Any] | bool | None = True,
    appointments: Select[Any] | bool | None = True,
) -> Found:
    """Patients (by their name, their guardian's name or phone), contacts (name or phone)
    and appointments (number or id) of ``clinic_id`` matching ``text``.

    Each kind is ``True`` (all of the clinic's), ``False`` (not searched: the caller may
    not show it) or a select of the ids the caller may see (a therapist's own).
    """
    text = " ".join((text or "").split())[:100]
    found = Found()
    if not text:
        return found
    like = _like(text)
    needle = phone_needle(text, region)
    by_phone = [Contact.phone.contains(needle, autoescape=True)] if needle else []

    if patients is not False:
        stmt = (
            select(Patient)
            .join(Contact, Contact.id == Patient.contact_id)
            .options(joinedload(Patient.contact))
            .where(
                Patient.clinic_id == clinic_id,
                or_(Patient.name.ilike(like), Contact.name.ilike(like), *by_phone),
            )
            .order_by(Patient.active.desc(), Patient.name, Patient.id)
        )
        if patients is not True:
            stmt = stmt.where(Patient.id.in_(patients))
        found.patients = _capped(session, stmt, "patients", found)

    if contacts is not False:
        stmt = (
            select(Contact)
            .where(Contact.clinic_id == clinic_id, or_(Contact.name.ilike(like), *by_phone))
            .order_by(Contact.name, Contact.id)
        )
        if contacts is not True:
            stmt = stmt.where(Contact.id.in_(contacts))
        found.contacts = _capped(session, stmt, "contacts", found)

    if appointments is not False and any(ch.isdigit() for ch in text):
        matches = [Appointment.number.ilike(like)]
        if text.isdigit() and len(text) <= 9:  # an id, within any backend's integer
            matches.append(Appointment.id == int(text))
        stmt = (
            select(Appointment)
            .options(
                joinedload(Appointment.patient),
                joinedload(Appointment.therapist),
                joinedload(Appointment.service),
            )
            .where(Appointment.clinic_id == clinic_id, or_(*matches))
            .order_by(Appointment.start_at.desc(), Appointment.id.desc())
        )
        if appointments is not True:
            stmt = stmt.where(Appointment.id.in_(appointments))
        found.appointments = _capped(session, stmt, "appointments", found)
    return found
