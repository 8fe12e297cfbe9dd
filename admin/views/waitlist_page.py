"""The waitlist in the panel: the clinic's line in order, with who holds an offer until
when; the front desk adds a patient (service, one therapist or any, days and hours they
can come), moves an entry up or down, or takes it off. Offers themselves go out from
the sweep (``services.scheduling.waitlist``).

A mixin for ``AppointmentView`` (routes under ``/admin/appointment/waitlist/``): seeing
and changing the line needs ``create`` on appointments, as booking does. Each write is
one service call, audited there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields import TimeField
from wtforms.validators import DataRequired, Optional

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.booking_note import patient_choice
from admin.views.catalog import WEEKDAYS
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.exercises import MultiCheckboxField
from admin.views.refusals import reason, refusal_rolled_back, refused_as_flash
from core.clock import utcnow
from core.formatting import format_time, format_weekdays, format_when
from core.ids import parse_id
from models import Patient, Service, Therapist, WaitlistEntry, WaitlistStatus
from services.scheduling import waitlist


class WaitlistForm(FlaskForm):
    """The choices' queries are set per request (``WaitlistMixin._waitlist_form``)."""

    patient = QuerySelectField(
        _l("Patient"),
        get_label=patient_choice,
        allow_blank=True,
        blank_text=_l("Choose a patient…"),
        validators=[DataRequired(_l("Choose a patient."))],
        render_kw={"data-patient-search": ""},
    )
    service = QuerySelectField(
        _l("Service"),
        allow_blank=True,
        blank_text=_l("Choose a service…"),
        validators=[DataRequired(_l("Choose a service."))],
    )
    therapist = QuerySelectField(
        _l("Therapist"), allow_blank=True, blank_text=_l("Any therapist"), validators=[Optional()]
    )
    weekdays = MultiCheckboxField(
        _l("Days"), choices=WEEKDAYS, coerce=int, description=_l("None ticked: any day.")
    )
    earliest = TimeField(_l("From (clinic time)"), validators=[Optional()])
    latest = TimeField(_l("Until (clinic time)"), validators=[Optional()])


def _active(session: Any, model: Any, clinic_id: int) -> Callable[[], list[Any]]:
    return lambda: list(
        session.scalars(
            select(model)
            .where(model.clinic_id == clinic_id, model.active.is_(True))
            .order_by(model.name, model.id)
        )
    )


class WaitlistMixin:
    session: Any
    render: Callable[..., str]

    def _waitlist_form(self) -> WaitlistForm:
        form = WaitlistForm()
        clinic_id = current_clinic_id()
        form.patient.query_factory = _active(self.session, Patient, clinic_id)
        form.service.query_factory = _active(self.session, Service, clinic_id)
        form.therapist.query_factory = _active(self.session, Therapist, clinic_id)
        return form

    @expose("/waitlist/", methods=("GET", "POST"))
    @requires("create")
    def waitlist_view(self) -> str | Response:
        form = self._waitlist_form()
        if form.validate_on_submit():
            with refusal_rolled_back(self.session) as outcome:
                entry = waitlist.join_waitlist(
                    self.session,
                    clinic_id=current_clinic_id(),
                    patient_id=form.patient.data.id,
                    service_id=form.service.data.id,
                    therapist_id=form.therapist.data.id if form.therapist.data else None,
                    weekdays=list(form.weekdays.data or []) or None,
                    earliest=form.earliest.data,
                    latest=form.latest.data,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            if outcome.refusal is None:
                flash(_("%(patient)s is on the waitlist.", patient=entry.patient.name), "success")
                return redirect(url_for(".waitlist_view"))
            flash(reason(outcome.refusal), "error")
        rows = [self._row(e) for e in waitlist.line(self.session, current_clinic_id())]
        return self.render("admin/waitlist.html", form=form, rows=rows)

    def _row(self, entry: WaitlistEntry) -> dict[str, Any]:
        zone, lang = current_timezone(), panel_lang()
        wishes = []
        if entry.weekdays:
            wishes.append(format_weekdays(entry.weekdays, lang))
        if entry.earliest:
            wishes.append(_("from %(time)s", time=format_time(entry.earliest, lang)))
        if entry.latest:
            wishes.append(_("until %(time)s", time=format_time(entry.latest, lang)))
        offered = entry.status is WaitlistStatus.OFFERED and entry.offer_start is not None
        return {
            "id": entry.id,
            "patient": entry.patient.name,
            "service": entry.service.name,
            "therapist": entry.therapist.name if entry.therapist else _("Any therapist"),
            "wishes": ", ".join(wishes) or _("Any time"),
            "offer": _(
                "Offered %(when)s, held until %(until)s",
                when=format_when(entry.offer_start, zone, lang),
                until=format_when(entry.offer_expires_at, zone, lang),
            )
            if offered
            else "",
            "until": format_when(entry.expires_at, zone, lang),
        }

    @expose("/waitlist/move/", methods=("POST",))
    @requires("create")
    def waitlist_move_view(self) -> Response:
        self._change_entry(
            lambda entry_id: waitlist.move_entry(
                self.session,
                clinic_id=current_clinic_id(),
                entry_id=entry_id,
                up=request.form.get("direction") == "up",
                actor=staff_actor(),
            )
        )
        return redirect(url_for(".waitlist_view"))

    @expose("/waitlist/remove/", methods=("POST",))
    @requires("create")
    def waitlist_remove_view(self) -> Response:
        if self._change_entry(
            lambda entry_id: waitlist.remove_entry(
                self.session, clinic_id=current_clinic_id(), entry_id=entry_id, actor=staff_actor()
            )
        ):
            flash(_("Taken off the waitlist."), "success")
        return redirect(url_for(".waitlist_view"))

    def _change_entry(self, change: Callable[[int], object]) -> bool:
        if not FlaskForm().validate_on_submit():  # the CSRF token
            flash(_("Please correct the marked fields."), "error")
            return False
        entry_id = parse_id(request.form.get("entry_id", ""))
        if entry_id is None:
            flash(_("We could not find that %(what)s.", what=_("entry")), "error")
            return False
        with refused_as_flash(self.session) as outcome:
            change(entry_id)
        return outcome.ok
