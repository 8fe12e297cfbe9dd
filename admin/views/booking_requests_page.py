"""Chat booking requests in the panel (a clinic that approves chat bookings): the
requests waiting, soonest first, each with Approve and Decline (an optional reason the
patient is told). The verbs are ``services.scheduling.booking_requests``'s; the menu's
badge on Appointments counts what waits here (admin.views.alerts).

A mixin for ``AppointmentView`` (routes under ``/admin/appointment/booking-requests/``):
deciding needs ``create`` on appointments, as booking does (the front desk). Each
decision is one service call, audited there; another clinic's id is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_when
from models import Appointment
from services.scheduling import booking_requests


class BookingRequestsMixin:
    session: Any
    render: Callable[..., str]
    _scoped: Callable[[Any], Appointment | None]

    @expose("/booking-requests/")
    @requires("create")
    def booking_requests_view(self) -> str:
        zone, lang = current_timezone(), panel_lang()
        rows = [
            {
                "id": a.id,
                "number": a.number,
                "when": format_when(a.start_at, zone, lang),
                "patient": a.patient.name,
                "service": a.service.name,
                "therapist": a.therapist.name,
                "course": a.series_id is not None,
            }
            for a in booking_requests.waiting_requests(self.session, current_clinic_id())
        ]
        return self.render("admin/booking_requests.html", rows=rows)

    @expose("/booking-requests/<int:appointment_id>/approve", methods=("POST",))
    @requires("create")
    def approve_request_view(self, appointment_id: int) -> Response:
        if self._decide(appointment_id, booking_requests.approve_request):
            flash(_("Approved: the patient is told it is booked."), "success")
        return redirect(url_for(".booking_requests_view"))

    @expose("/booking-requests/<int:appointment_id>/decline", methods=("POST",))
    @requires("create")
    def decline_request_view(self, appointment_id: int) -> Response:
        reason = request.form.get("reason", "")
        if self._decide(
            appointment_id,
            lambda session, **kw: booking_requests.decline_request(session, reason=reason, **kw),
        ):
            flash(_("Declined: the patient is told and the time is free again."), "success")
        return redirect(url_for(".booking_requests_view"))

    def _decide(self, appointment_id: int, verb: Callable[..., Any]) -> bool:
        appointment = self._scoped(appointment_id)
        if appointment is None:
            abort(404)
        if not FlaskForm().validate_on_submit():  # the CSRF token
            flash(_("Please correct the marked fields."), "error")
            return False
        with refused_as_flash(self.session) as outcome:
            verb(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=appointment.id,
                now=utcnow(),
                actor=staff_actor(),
            )
        return outcome.ok
