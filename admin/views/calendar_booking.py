"""The calendar's booking form: a free time's link (or the "n" shortcut) opens it with the
therapist, the time and the place filled in; it books through ``book_appointment``, so a
booking made here obeys the same rules, and the same no-double-booking guarantee, as one
made in the chat or the appointment form.

The patient is found with the panel's one patient search (``services.people.search``,
the global search box's): by name, guardian or phone as typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms.fields import DateTimeLocalField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from admin.i18n import panel_lang
from admin.permissions import CREATE
from admin.views.access import requires
from admin.views.booking_note import DELIVERY, DELIVERY_CHOICES, booked_sentence, patient_choice
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash, with_free_nearby
from core import clinic_time
from core.clock import utcnow
from core.formatting import format_when
from core.ids import parse_id
from models import BookingSource, Patient, Service, Therapist
from services.errors import SlotUnavailable
from services.people import search as people_search
from services.scheduling import appointments
from services.scheduling.availability import Slot

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
PATIENT_CHOICES = 300  # beyond this the form lists the first ones and offers a search


def _optional_int(value: Any) -> int | None:
    if value in (None, "", "None", "__None"):
        return None
    key = parse_id(value)
    if key is None:
        raise ValueError("Please choose from the list.")
    return key


class BookingForm(FlaskForm):
    # Choices are not checked against the lists: the booking service refuses any
    # patient, service or therapist that is not this clinic's, with a sentence.
    patient = SelectField(
        _l("Patient"),
        coerce=_optional_int,
        validate_choice=False,
        validators=[DataRequired(_l("Choose a patient."))],
    )
    service = SelectField(
        _l("Service"),
        coerce=_optional_int,
        validate_choice=False,
        validators=[DataRequired(_l("Choose a service."))],
    )
    therapist = SelectField(_l("Therapist"), coerce=_optional_int, validate_choice=False)
    start = DateTimeLocalField(
        _l("Start (clinic time)"),
        format=LOCAL_FORMAT,
        validators=[DataRequired(_l("Give a start."))],
    )
    delivery = SelectField(_l("In person or online"), choices=DELIVERY_CHOICES, default="")
    location = HiddenField()
    back = HiddenField()
    q = StringField(_l("Find a patient"), validators=[Length(max=80)])


class BookingRoutes:
    """The calendar's ``/book`` (endpoint ``calendar.book``): mixed into ``CalendarView``,
    whose guard, role and database session it uses."""

    session: Any
    render: Any
    may_write: Any

    @expose("/book", methods=("GET", "POST"))
    @requires(CREATE)
    def book(self) -> Response | str:
        if not self.may_write():
            abort(403)
        args = request.args
        form = BookingForm(
            data={
                # From "add a patient": straight on to booking for them.
                "patient": _int_or_none(args.get("patient")),
                "service": _int_or_none(args.get("service")),
                "therapist": _int_or_none(args.get("therapist")),
                "start": _parse_local(args.get("start")) or _now_on_the_grid(),
                "location": args.get("location", ""),
                "back": args.get("back", ""),
            }
        )
        alternatives: list[Slot] = []
        if request.method == "POST" and "find" not in request.form and form.validate():
            with refused_as_flash(self.session, say=with_free_nearby) as outcome:
                appointment = appointments.book_appointment(
                    self.session,
                    clinic_id=current_clinic_id(),
                    patient_id=form.patient.data,
                    service_id=form.service.data,
                    therapist_id=form.therapist.data,
                    location_id=_int_or_none(form.location.data),
                    start=clinic_time.to_utc(form.start.data, current_timezone()),
                    now=utcnow(),
                    actor=staff_actor(),
                    source=BookingSource.ADMIN,
                    online=DELIVERY.get(form.delivery.data),
                )
            if isinstance(outcome.refusal, SlotUnavailable):
                alternatives = outcome.refusal.alternatives
            if outcome.ok:
                flash(booked_sentence(self.session, appointment, current_timezone()), "success")
                return redirect(safe_back(form.back.data))
        return self._booking_page(form, alternatives)

    def _booking_page(self, form: BookingForm, alternatives: list[Slot]) -> str:
        clinic_id = current_clinic_id()
        services = self.session.scalars(
            select(Service)
            .where(Service.clinic_id == clinic_id, Service.active.is_(True))
            .order_by(Service.name)
        ).all()
        therapists = self.session.scalars(
            select(Therapist)
            .where(Therapist.clinic_id == clinic_id, Therapist.active.is_(True))
            .order_by(Therapist.name)
        ).all()
        query = (form.q.data or "").strip()
        patients = self._patients(clinic_id, query, form.patient.data)
        # Nothing chosen for them: one hasty Save must not book the first in the list.
        form.service.choices = [("", _("Choose a service…"))] + [(s.id, s.name) for s in services]
        form.therapist.choices = [("", _("Any available therapist"))] + [
            (t.id, f"{t.name} ({t.specialization})") for t in therapists
        ]
        form.patient.choices = [("", _("Choose a patient…"))] + [
            (p.id, patient_choice(p)) for p in patients[:PATIENT_CHOICES]
        ]
        return self.render(
            "admin/calendar_book.html",
            form=form,
            more_patients=len(patients) > PATIENT_CHOICES,
            back=safe_back(form.back.data),
            alternatives=[
                (
                    format_when(s.start, current_timezone(), panel_lang()),
                    clinic_time.to_wall(s.start, current_timezone()).strftime(LOCAL_FORMAT),
                    s.therapist_id,
                )
                for s in alternatives
            ],
        )

    def _patients(self, clinic_id: int, query: str, chosen: int | None) -> list[Patient]:
        """Active patients by name, with their guardian; a search narrows them through the
        panel's patient search (name, guardian, phone in any form), the one chosen kept.

        The search is posted, never put in the URL: no patient data in addresses.
        """
        active = select(Patient.id).where(Patient.clinic_id == clinic_id, Patient.active.is_(True))
        if query:
            found = people_search.search(
                self.session,
                clinic_id,
                query,
                region=current_user.clinic.phone_region,
                patients=active,
                contacts=False,
                appointments=False,
            ).patients
        else:
            found = list(
                self.session.scalars(
                    select(Patient)
                    .options(joinedload(Patient.contact))
                    .where(Patient.id.in_(active))
                    .order_by(Patient.name, Patient.id)
                    .limit(PATIENT_CHOICES + 1)
                )
            )
        if chosen is not None and all(p.id != chosen for p in found[:PATIENT_CHOICES]):
            # Past the first page of names (a patient just added, say): listed first.
            extra = self.session.scalars(
                select(Patient)
                .options(joinedload(Patient.contact))
                .where(Patient.id.in_(active), Patient.id == chosen)
            ).all()
            found = [*extra, *found]
        return found


def _now_on_the_grid() -> datetime:
    """The form's start when none is given: now, on the clinic's slot grid (a walk-in's
    session starts at the last step before now, so the desk books it as it is)."""
    wall = clinic_time.to_wall(utcnow(), current_timezone())
    step = current_user.clinic.policy.slot_step_minutes
    minutes = wall.hour * 60 + wall.minute
    minutes -= minutes % step
    return wall.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)


def _int_or_none(value: str | None) -> int | None:
    try:
        return _optional_int(value)
    except ValueError:
        return None


def _parse_local(value: str | None) -> datetime | None:
    """A clinic wall-clock time from a link (``2026-11-24T10:00``), still without its zone."""
    try:
        parsed = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else None


def safe_back(value: str | None) -> str:
    """Back to Today or a calendar page of this site only; never to an address from
    elsewhere."""
    home = url_for("calendar.index")
    if value == url_for("admin.index"):
        return value
    if value and value.startswith(home) and "\\" not in value:
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc:
            return value
    return home
