"""Dragging on the calendar: a session dropped at a new time (or on another therapist's
column) is moved through ``reschedule_appointment``; a session whose end is dragged
gets its new length through ``change_length``. Either is done as the signed-in staff
member or refused in the service's own words with a 409, and the page puts the session
back (admin/static/calendar.js). CSRF and the role are the panel's (``UPDATE``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, jsonify, request
from flask_admin import expose
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.permissions import UPDATE
from admin.views.access import requires
from admin.views.calendar_feed import SessionRow, parse_wall, session_event
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refusal_rolled_back, with_free_nearby
from core import clinic_time
from core.clock import utcnow
from core.formatting import format_time, format_when
from core.ids import parse_id
from models import Appointment
from services.errors import NotFound
from services.scheduling import appointments


class DragRoutes:
    """``calendar.move`` and ``calendar.resize``: mixed into ``CalendarView``, whose guard,
    role and database session they use."""

    session: Any
    _event_url: Callable[[Appointment], str]

    @expose("/move/<int:appointment_id>", methods=("POST",))
    @requires(UPDATE)
    def move(self, appointment_id: int) -> tuple[Response, int]:
        """A dragged session, moved to its new start (and column)."""
        zone = ZoneInfo(current_timezone())
        wall = parse_wall(request.form.get("start"), zone)
        therapist_raw = request.form.get("therapist")
        therapist_id = parse_id(therapist_raw) if therapist_raw else None
        if wall is None or (therapist_raw and therapist_id is None):
            return jsonify(ok=False, message=_("Give the new start as a date and time.")), 400
        with refusal_rolled_back(self.session) as outcome:
            appointment = appointments.reschedule_appointment(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=appointment_id,
                new_start=clinic_time.to_utc(wall, zone),
                now=utcnow(),
                actor=staff_actor(),
                therapist_id=therapist_id,
            )
        return self._answer(
            outcome,
            lambda: (
                f"moved to {format_when(appointment.start_at, zone.key)}, "
                f"{appointment.therapist.name}"
            ),
            lambda: appointment,
            zone,
        )

    @expose("/resize/<int:appointment_id>", methods=("POST",))
    @requires(UPDATE)
    def resize(self, appointment_id: int) -> tuple[Response, int]:
        """A session whose end was dragged: it now ends at ``end`` (clinic wall clock)."""
        zone = ZoneInfo(current_timezone())
        wall = parse_wall(request.form.get("end"), zone)
        if wall is None:
            return jsonify(ok=False, message=_("Give the new end as a date and time.")), 400
        with refusal_rolled_back(self.session) as outcome:
            appointment = appointments.change_length(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=appointment_id,
                new_end=clinic_time.to_utc(wall, zone),
                now=utcnow(),
                actor=staff_actor(),
            )
        return self._answer(
            outcome,
            lambda: (
                f"now {format_when(appointment.start_at, zone.key)} to "
                f"{format_time(appointment.end_at.astimezone(zone))}"
            ),
            lambda: appointment,
            zone,
        )

    def _answer(
        self,
        outcome: Any,
        done: Callable[[], str],
        changed: Callable[[], Appointment],
        zone: ZoneInfo,
    ) -> tuple[Response, int]:
        """200 with the session's new event, 409 with the refusal, 404 for a session that
        is not this clinic's."""
        refusal = outcome.refusal
        if isinstance(refusal, NotFound) and refusal.params.get("what") == "appointment":
            abort(404)  # not this clinic's (or no such) session
        if refusal is not None:
            return jsonify(ok=False, message=with_free_nearby(refusal)), 409
        appointment = changed()
        return jsonify(
            ok=True,
            message=f"{appointment.patient.name}: {done()}.",
            event=session_event(
                SessionRow.of(appointment),
                zone,
                url=self._event_url(appointment),
                movable=True,
            ),
        ), 200
