"""Courses of sessions in the panel: book one, take a clash's alternative into it, cancel or
move one session, this and the following, or all; the sessions a therapist's leave falls on.

A mixin for ``AppointmentView`` (routes under ``/admin/appointment/``, the view's scoped
query and the roles matrix's verbs on "appointments"): booking a course needs ``create``,
like booking one session; changing one needs ``update`` and cancelling the sessions under
a leave ``cancel``. Each write is one service call (``services.scheduling.series``).
The booking's result is shown on the page that booked it: clashes are not stored, so an
alternative taken from it comes back to the course's page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields import (
    DateField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.booking_note import patient_choice
from admin.views.catalog import WEEKDAYS
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.exercises import MultiCheckboxField
from admin.views.refusals import reason, refusal_rolled_back, refused_as_flash
from core import clinic_time
from core.clock import utcnow
from core.formatting import format_time, format_weekdays, format_when
from core.ids import parse_id
from models import (
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    BookingSource,
    Patient,
    Service,
    Therapist,
)
from services.scheduling import appointments, series
from services.scheduling.series import Clash, Pattern, Scope

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
SCOPES = [
    (Scope.THIS.value, _l("This session")),
    (Scope.FOLLOWING.value, _l("This and the following sessions")),
    (Scope.ALL.value, _l("All remaining sessions")),
]


class CourseForm(FlaskForm):
    """The choices' queries are set per request (``CourseMixin._course_form``)."""

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
        _l("Therapist"),
        allow_blank=True,
        blank_text=_l("Choose a therapist…"),
        validators=[DataRequired(_l("Choose a therapist."))],
    )
    weekdays = MultiCheckboxField(_l("Days"), choices=WEEKDAYS, coerce=int)
    at = TimeField(_l("Time (clinic time)"), validators=[InputRequired()])
    first_date = DateField(_l("First date"), validators=[InputRequired()])
    every_weeks = SelectField(
        _l("Repeats"),
        choices=[(1, _l("Every week")), (2, _l("Every 2 weeks"))],
        coerce=int,
        default=1,
    )
    sessions = IntegerField(
        _l("Number of sessions"), validators=[Optional(), NumberRange(1, series.MAX_SESSIONS)]
    )
    until = DateField(
        _l("Or the last date"),
        validators=[Optional()],
        description=_l("Give the number of sessions or the last date."),
    )


class CourseChangeForm(FlaskForm):
    scope = RadioField(_l("Which sessions"), choices=SCOPES, default=Scope.THIS.value)
    reason = TextAreaField(_l("Reason (the audit log keeps it)"), validators=[Length(max=300)])
    start = DateTimeLocalField(
        _l("New start of this session (clinic time)"), format=LOCAL_FORMAT, validators=[Optional()]
    )


@dataclass(frozen=True)
class ClashRow:
    """A clashing time as staff read it, with its alternatives (start ISO, label)."""

    when: str
    why: str
    alternatives: list[tuple[str, str]]


def clash_rows(clashes: list[Clash], zone: str) -> list[ClashRow]:
    lang = panel_lang()
    return [
        ClashRow(
            when=format_when(clash.start, zone, lang),
            why=_("taken by another booking")
            if clash.taken
            else _("the therapist is not working then"),
            alternatives=[
                (slot.start.isoformat(), format_when(slot.start, zone, lang))
                for slot in clash.alternatives
            ],
        )
        for clash in clashes
    ]


def pattern_words(course: AppointmentSeries) -> str:
    """``every Monday and Thursday at 5:00 pm`` (``every 2 weeks on Monday at 5:00 pm``)."""
    days = format_weekdays(course.weekdays, panel_lang())
    at = format_time(course.local_time, panel_lang())
    if course.every_weeks == 1:
        return _("every %(days)s at %(time)s", days=days, time=at)
    return _("every %(n)s weeks on %(days)s at %(time)s", n=course.every_weeks, days=days, time=at)


def course_sessions(session: Any, appointment: Appointment) -> list[Appointment]:
    """The course's sessions that count: all but the cancelled (this one always)."""
    rows = session.scalars(
        select(Appointment)
        .where(
            Appointment.clinic_id == appointment.clinic_id,
            Appointment.series_id == appointment.series_id,
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    return [
        a for a in rows if a.status is not AppointmentStatus.CANCELLED or a.id == appointment.id
    ]


def course_line(session: Any, appointment: Appointment) -> str:
    """``Session 3 of 16 of a course (every Monday at 5:00 pm)``, or "" for a lone session."""
    if appointment.series_id is None:
        return ""
    course = session.get(AppointmentSeries, appointment.series_id)
    if course is None or course.clinic_id != appointment.clinic_id:
        return ""
    sessions = course_sessions(session, appointment)
    position = [a.id for a in sessions].index(appointment.id) + 1
    return _(
        "Session %(k)s of %(n)s of a course (%(pattern)s)",
        k=position,
        n=len(sessions),
        pattern=pattern_words(course),
    )


class CourseMixin:
    """Routes for courses, for a view with ``_scoped(id)`` and ``visible_ids``."""

    session: Any
    _scoped: Callable[[Any], Appointment | None]
    visible_ids: Callable[[list[str]], list[int]]
    allowed: Callable[..., bool]
    render: Callable[..., str]

    # --- booking a course ----------------------------------------------------------------

    def _course_form(self) -> CourseForm:
        form = CourseForm()
        clinic_id = current_clinic_id()
        form.patient.query_factory = lambda: self.session.scalars(
            select(Patient)
            .where(Patient.clinic_id == clinic_id, Patient.active.is_(True))
            .order_by(Patient.name, Patient.id)
        ).all()
        form.service.query_factory = _active_of(self.session, Service, clinic_id)
        form.therapist.query_factory = _active_of(self.session, Therapist, clinic_id)
        if request.method == "GET":
            wanted = parse_id(request.args.get("patient", ""))
            if wanted is not None:
                form.patient.data = next(
                    (p for p in form.patient.query_factory() if p.id == wanted), None
                )
        return form

    @expose("/course/new/", methods=("GET", "POST"))
    @requires("create")
    def course_new_view(self) -> str:
        form = self._course_form()
        problems: list[str] = []
        result = None
        if form.validate_on_submit():
            zone = current_timezone()
            pattern = Pattern(
                weekdays=tuple(form.weekdays.data or ()),
                local_time=form.at.data,
                first_date=form.first_date.data,
                every_weeks=form.every_weeks.data,
                sessions=form.sessions.data,
                until=form.until.data,
            )
            with refusal_rolled_back(self.session) as outcome:
                booking = series.book_series(
                    self.session,
                    clinic_id=current_clinic_id(),
                    patient_id=form.patient.data.id,
                    service_id=form.service.data.id,
                    therapist_id=form.therapist.data.id,
                    pattern=pattern,
                    now=utcnow(),
                    actor=staff_actor(),
                    source=BookingSource.ADMIN,
                )
            if outcome.refusal is not None:
                problems.append(reason(outcome.refusal))
            else:
                result = self._booking_result(booking, form, zone)
        elif request.method == "POST":
            problems.append(_("Please correct the marked fields."))
        return self.render("admin/course_book.html", form=form, problems=problems, result=result)

    def _booking_result(
        self, booking: series.SeriesBooking, form: CourseForm, zone: str
    ) -> dict[str, Any]:
        asked = len(booking.booked) + len(booking.clashes)
        return {
            "headline": _(
                "Booked %(booked)s of %(asked)s sessions.", booked=len(booking.booked), asked=asked
            ),
            "booked": [
                (a.number, format_when(a.start_at, zone, panel_lang()), a.id)
                for a in booking.booked
            ],
            "clashes": clash_rows(booking.clashes, zone),
            "series_id": booking.series.id if booking.series is not None else None,
            "patient_id": form.patient.data.id,
            "service_id": form.service.data.id,
            "therapist_id": form.therapist.data.id,
        }

    @expose("/course/alternative/", methods=("POST",))
    @requires("create")
    def course_alternative_view(self) -> Response:
        """Book one clash's alternative: into the course when there is one, else alone."""
        start = _instant(request.form.get("start", ""))
        if start is None:
            flash(_("Choose one of the free times."), "error")
            return redirect(url_for(".course_new_view"))
        series_id = parse_id(request.form.get("series_id", ""))
        with refused_as_flash(self.session) as outcome:
            if series_id is not None:
                appointment = series.add_to_series(
                    self.session,
                    clinic_id=current_clinic_id(),
                    series_id=series_id,
                    start=start,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            else:
                ids = [
                    parse_id(request.form.get(k, "")) for k in ("patient", "service", "therapist")
                ]
                if None in ids:
                    abort(400)
                appointment = appointments.book_appointment(
                    self.session,
                    clinic_id=current_clinic_id(),
                    patient_id=ids[0],
                    service_id=ids[1],
                    therapist_id=ids[2],
                    start=start,
                    now=utcnow(),
                    actor=staff_actor(),
                    source=BookingSource.ADMIN,
                )
        if not outcome.ok:
            return redirect(url_for(".course_new_view"))
        flash(
            _(
                "Booked %(number)s, %(when)s.",
                number=appointment.number,
                when=format_when(appointment.start_at, current_timezone(), panel_lang()),
            ),
            "success",
        )
        if appointment.series_id is not None:
            return redirect(url_for(".course_view", appointment_id=appointment.id))
        return redirect(url_for(".details_view", id=appointment.id))

    # --- one course: its sessions, cancel or move ------------------------------------------

    @expose("/session/<int:appointment_id>/course", methods=("GET", "POST"))
    @requires("update")
    def course_view(self, appointment_id: int) -> Any:
        appointment = self._scoped(appointment_id)
        if appointment is None or appointment.series_id is None:
            abort(404)
        zone = current_timezone()
        form = CourseChangeForm()
        clashes: list[ClashRow] = []
        if form.validate_on_submit():
            scope = Scope(form.scope.data)
            if request.form.get("do") == "cancel":
                with refused_as_flash(self.session) as outcome:
                    cancelled = series.cancel_series(
                        self.session,
                        clinic_id=current_clinic_id(),
                        appointment_id=appointment.id,
                        scope=scope,
                        now=utcnow(),
                        actor=staff_actor(),
                        reason=form.reason.data or None,
                    )
                if outcome.ok:
                    flash(
                        ngettext(
                            "Cancelled %(num)d session; the patient is told.",
                            "Cancelled %(num)d sessions; the patient is told.",
                            len(cancelled),
                        ),
                        "success",
                    )
                    return redirect(url_for(".course_view", appointment_id=appointment.id))
            elif request.form.get("do") == "move" and form.start.data is not None:
                with refused_as_flash(self.session) as outcome:
                    moved = series.move_series(
                        self.session,
                        clinic_id=current_clinic_id(),
                        appointment_id=appointment.id,
                        new_start=clinic_time.to_utc(form.start.data, zone),
                        scope=scope,
                        now=utcnow(),
                        actor=staff_actor(),
                    )
                if outcome.ok:
                    flash(
                        ngettext(
                            "Moved %(num)d session; the patient is told.",
                            "Moved %(num)d sessions; the patient is told.",
                            len(moved.moved),
                        ),
                        "success" if moved.moved else "error",
                    )
                    clashes = clash_rows(moved.clashes, zone)
                    if not clashes:
                        return redirect(url_for(".course_view", appointment_id=appointment.id))
            else:
                flash(_("Give the new start to move the sessions."), "error")
            self.session.expire_all()
            appointment = self._scoped(appointment_id)
            assert appointment is not None
        elif request.method == "POST":
            flash(_("Please correct the marked fields."), "error")
        lang = panel_lang()
        if request.method == "GET":
            form.start.data = clinic_time.to_wall(appointment.start_at, zone)
        return self.render(
            "admin/course_change.html",
            form=form,
            appointment=appointment,
            line=course_line(self.session, appointment),
            sessions=[
                (a, format_when(a.start_at, zone, lang))
                for a in course_sessions(self.session, appointment)
            ],
            clashes=clashes,
        )

    # --- the sessions under a therapist's leave ------------------------------------------

    @expose("/leave/cancel/", methods=("POST",))
    @requires("cancel")
    def leave_cancel_view(self) -> Response:
        """Cancel the chosen sessions a leave falls on, each as one cancellation (the
        patient told); back to the leave's page."""
        exception_id = parse_id(request.form.get("exception", ""))
        back = (
            url_for("availabilityexception.leave_view", availability_exception_id=exception_id)
            if exception_id is not None
            else url_for(".index_view")
        )
        ids = self.visible_ids(request.form.getlist("ids"))
        if not ids:
            flash(_("Choose the sessions to cancel."), "error")
            return redirect(back)
        done, refused = 0, []
        for appointment_id in ids:
            with refusal_rolled_back(self.session) as outcome:
                appointments.cancel_appointment(
                    self.session,
                    clinic_id=current_clinic_id(),
                    appointment_id=appointment_id,
                    reason=request.form.get("reason", "")[:300] or None,
                    now=utcnow(),
                    actor=staff_actor(),
                )
                done += 1
            if outcome.refusal is not None:
                refused.append(reason(outcome.refusal))
        if done:
            flash(
                ngettext(
                    "Cancelled %(num)d session; the patient is told.",
                    "Cancelled %(num)d sessions; each patient is told.",
                    done,
                ),
                "success",
            )
        for message in dict.fromkeys(refused):
            flash(message, "error")
        return redirect(back)


def _active_of(session: Any, model: Any, clinic_id: int) -> Callable[[], list[Any]]:
    def query() -> list[Any]:
        return list(
            session.scalars(
                select(model)
                .where(model.clinic_id == clinic_id, model.active.is_(True))
                .order_by(model.name)
            )
        )

    return query


def _instant(text: str) -> datetime | None:
    """An alternative's start as the result page wrote it (ISO, aware)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
