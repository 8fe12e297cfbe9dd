"""Reschedule requests: patients (from the chat) and therapists (from here) ask the
clinic to move a session; the front desk approves or rejects.

Roles: admin and operator decide; a therapist asks for their own sessions (at
least 48 hours ahead) and sees their own requests and what was decided — the
panel is the therapist's channel, there is no message to them; the accountant
reads. Every change is a ``services.scheduling.reschedule_requests`` call, audited there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, Length, Optional

from admin.i18n import panel_lang, word
from admin.permissions import CREATE, UPDATE
from admin.views.access import requires
from admin.views.base import SecureModelView
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.formatters import label_formatter
from admin.views.refusals import reason, refused_as_flash
from core import clinic_time
from core.clock import utcnow
from core.formatting import format_when
from core.ids import parse_id
from models import (
    Appointment,
    AppointmentStatus,
    RequesterType,
    RescheduleRequest,
    Therapist,
)
from services.errors import ServiceError, SlotUnavailable
from services.scheduling import reschedule_requests
from services.staff import accounts as staff

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
OWN_SESSIONS_LISTED = 200


def _when(value: datetime | None, empty: str = "") -> str:
    return empty if value is None else format_when(value, current_timezone(), panel_lang())


def _still_pending(exc: ServiceError) -> str:
    """An approval refused for its time leaves the request pending; say so."""
    if isinstance(exc, SlotUnavailable):
        return _("%(refusal)s The request is still pending.", refusal=reason(exc))
    return reason(exc)


def _session_summary(appointment: Appointment) -> str:
    return (
        f"{appointment.number} · {appointment.patient.name} · {appointment.service.name} "
        f"with {appointment.therapist.name}, {_when(appointment.start_at)}"
    )


# --- list columns ------------------------------------------------------------------


def _fmt_appointment(view: Any, context: Any, model: RescheduleRequest, name: str) -> str:
    a = model.appointment
    return f"{a.number} · {a.patient.name} · {a.service.name}"


def _fmt_session(view: Any, context: Any, model: RescheduleRequest, name: str) -> str:
    a = model.appointment
    status = "" if a.is_active else f" ({a.status.value.replace('_', ' ')})"
    return f"{_when(a.start_at)} with {a.therapist.name}{status}"


def _fmt_requester(view: Any, context: Any, model: RescheduleRequest, name: str) -> str:
    return f"{model.requester_type.value}, {_when(model.created_at)}"


def _fmt_proposed(view: Any, context: Any, model: RescheduleRequest, name: str) -> str:
    return _when(model.proposed_start, "Any time")


def _fmt_decision(view: Any, context: Any, model: RescheduleRequest, name: str) -> str:
    if model.decided_at is None:
        return ""
    parts = [f"{model.status.value} {_when(model.decided_at)}"]
    if model.new_start is not None:
        parts.append(f"moved to {_when(model.new_start)}")
    if model.decision_note:
        parts.append(f"“{model.decision_note}”")
    return " · ".join(parts)


def _fmt_actions(view: Any, context: Any, model: RescheduleRequest, name: str) -> Markup:
    links = []
    if model.is_pending and view.may_write():
        links.append((url_for(".approve", request_id=model.id), "Approve", "primary"))
        links.append((url_for(".reject", request_id=model.id), "Reject", "outline-danger"))
    if view.may_withdraw(model):
        links.append((url_for(".withdraw", request_id=model.id), "Withdraw", "outline-secondary"))
    return Markup(" ").join(
        Markup('<a class="btn btn-sm btn-{}" href="{}">{}</a>').format(style, href, text)
        for href, text, style in links
    )


class RescheduleRequestView(SecureModelView):
    # admin.permissions: admin and operator decide (update), a therapist asks (create)
    # and sees the requests about their own sessions, the accountant reads.
    resource = "reschedule_requests"
    therapist_scope = "appointment"
    allow_create = False  # requests come from the chat or the "Request a change" page
    allow_edit = False
    allow_delete = False
    list_template = "admin/requests_list.html"
    column_list = (
        "appointment",
        "session",
        "requester_type",
        "proposed_start",
        "note",
        "status",
        "decision",
        "actions",
    )
    column_labels = {
        "appointment": _l("Session"),
        "session": _l("Now"),
        "requester_type": _l("Asked by"),
        "proposed_start": _l("Would like"),
        "note": _l("Their note"),
    }
    column_formatters = {
        "appointment": _fmt_appointment,
        "session": _fmt_session,
        "requester_type": _fmt_requester,
        "proposed_start": _fmt_proposed,
        "status": label_formatter,
        "decision": _fmt_decision,
        "actions": _fmt_actions,
    }
    column_sortable_list = ("proposed_start", "status", "created_at")
    column_default_sort = ("created_at", True)
    column_auto_select_related = False  # get_query loads what the list shows, in one statement

    # --- which rows (the base scopes to the clinic, and a therapist to their own) ---

    def _showing_all(self) -> bool:
        """The front desk starts with what waits for them; a therapist with every
        request about their sessions, decided ones included (their only notice)."""
        default = "all" if self.own_only() else "pending"
        return request.args.get("show", default) == "all"

    def _pending_only(self, query: Any) -> Any:
        if self._showing_all():
            return query
        return query.filter(reschedule_requests.awaiting_decision())

    def get_query(self) -> Any:
        appointment = joinedload(RescheduleRequest.appointment)
        return self._pending_only(super().get_query()).options(
            appointment.joinedload(Appointment.patient),
            appointment.joinedload(Appointment.service),
            appointment.joinedload(Appointment.therapist),
        )

    def get_count_query(self) -> Any:
        return self._pending_only(super().get_count_query())

    def may_withdraw(self, req: RescheduleRequest) -> bool:
        mine = req.requested_by == staff_actor().label()
        return req.is_pending and (self.may_write() or mine)

    def linked_therapist(self) -> Therapist | None:
        """The therapist this login is; only they ask here."""
        return staff.linked_therapist(self.session, current_clinic_id(), current_user.id)

    def may_ask(self) -> bool:
        return self.allowed(CREATE) and self.linked_therapist() is not None

    def render(self, template: str, **kwargs: Any) -> str:
        kwargs.setdefault("showing_all", self._showing_all())
        kwargs.setdefault("may_ask", self.may_ask())
        return super().render(template, **kwargs)

    # --- pages --------------------------------------------------------------------

    def _pending_or_back(self, request_id: int) -> RescheduleRequest | Response:
        req = self.get_one(request_id)
        if req is None:
            abort(404)
        if not req.is_pending:
            flash(_("This request is already %(status)s.", status=word(req.status.value)), "error")
            return redirect(url_for(".index_view", show="all"))
        return req

    def _describe(self, req: RescheduleRequest) -> list[str]:
        who = "The patient" if req.requester_type is RequesterType.PATIENT else "The therapist"
        lines = [
            _session_summary(req.appointment),
            f"{who} asked on {_when(req.created_at)} for "
            f"{_when(req.proposed_start, 'any other time')}.",
        ]
        if req.note:
            lines.append(f"Their note: {req.note}")
        return lines

    @expose("/approve/<int:request_id>", methods=("GET", "POST"))
    @requires(UPDATE)
    def approve(self, request_id: int) -> Any:
        req = self._pending_or_back(request_id)
        if isinstance(req, Response):
            return req
        appointment = req.appointment
        therapists = self.session.scalars(
            select(Therapist)
            .where(
                Therapist.clinic_id == current_clinic_id(),
                Therapist.active.is_(True),
                Therapist.specialization == appointment.service.specialization,
            )
            .order_by(Therapist.name)
        ).all()

        class ApproveForm(FlaskForm):
            start = DateTimeLocalField(
                _l("New start (clinic time)"), format=LOCAL_FORMAT, validators=[DataRequired()]
            )
            therapist = SelectField(_l("Therapist"), coerce=int)
            note = StringField(_l("Note (optional)"), validators=[Length(max=300)])

        form = ApproveForm()
        form.therapist.choices = [(t.id, t.name) for t in therapists] or [
            (appointment.therapist_id, appointment.therapist.name)
        ]
        if request.method == "GET":
            form.therapist.data = appointment.therapist_id
            if req.proposed_start is not None:
                form.start.data = clinic_time.to_wall(req.proposed_start, current_timezone())
        lines = self._describe(req)
        if form.validate_on_submit():
            with refused_as_flash(self.session, say=_still_pending) as outcome:
                reschedule_requests.approve_request(
                    self.session,
                    clinic_id=current_clinic_id(),
                    request_id=req.id,
                    new_start=clinic_time.to_utc(form.start.data, current_timezone()),
                    therapist_id=form.therapist.data,
                    note=form.note.data,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            refusal = outcome.refusal
            if isinstance(refusal, SlotUnavailable) and refusal.alternatives:
                free = ", ".join(_when(s.start) for s in refusal.alternatives)
                lines.append(f"Free nearby: {free}.")
            if outcome.ok:
                flash(
                    _(
                        "Approved: %(number)s is now %(when)s. The patient is told in the chat; "
                        "the therapist sees it under Reschedule requests.",
                        number=appointment.number,
                        when=_when(appointment.start_at),
                    ),
                    "success",
                )
                return redirect(url_for(".index_view"))
        return self._form_page(form, f"Approve request #{req.id}", lines, "Approve and move")

    @expose("/reject/<int:request_id>", methods=("GET", "POST"))
    @requires(UPDATE)
    def reject(self, request_id: int) -> Any:
        req = self._pending_or_back(request_id)
        if isinstance(req, Response):
            return req

        class RejectForm(FlaskForm):
            note = StringField(
                _l("Note to the requester"),
                validators=[DataRequired(), Length(max=300)],
                description=_l("A patient reads this in the chat; a therapist sees it here."),
            )

        form = RejectForm()
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                reschedule_requests.reject_request(
                    self.session,
                    clinic_id=current_clinic_id(),
                    request_id=req.id,
                    note=form.note.data,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            if outcome.ok:
                flash(_("Rejected; the requester is told."), "success")
                return redirect(url_for(".index_view"))
        return self._form_page(form, f"Reject request #{req.id}", self._describe(req), "Reject")

    @expose("/withdraw/<int:request_id>", methods=("GET", "POST"))
    @requires(CREATE)
    def withdraw(self, request_id: int) -> Any:
        """The therapist who asked (or the front desk) takes a pending request back."""
        req = self._pending_or_back(request_id)
        if isinstance(req, Response):
            return req
        if not self.may_withdraw(req):
            flash(_("Only whoever asked, or the front desk, can withdraw this request."), "error")
            return redirect(url_for(".index_view"))
        form = FlaskForm()
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                reschedule_requests.withdraw_request(
                    self.session,
                    clinic_id=current_clinic_id(),
                    request_id=req.id,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            if outcome.ok:
                flash(_("Request withdrawn."), "success")
                return redirect(url_for(".index_view"))
        return self._form_page(form, f"Withdraw request #{req.id}", self._describe(req), "Withdraw")

    @expose("/ask/", methods=("GET", "POST"))
    @requires(CREATE)
    def ask(self) -> Any:
        """A therapist asks to move one of their own sessions (48 hours ahead or more)."""
        now = utcnow()
        therapist = self.linked_therapist()
        own = self._askable(therapist, now) if therapist is not None else []

        class AskForm(FlaskForm):
            appointment = SelectField(_l("Session"), coerce=int)
            start = DateTimeLocalField(
                _l("Would like (clinic time)"),
                format=LOCAL_FORMAT,
                validators=[Optional()],
                description=_l("Leave empty for any other time the front desk finds."),
            )
            note = StringField(_l("Note for the front desk"), validators=[Length(max=300)])

        form = AskForm()
        form.appointment.choices = [
            (a.id, f"{_when(a.start_at)} · {a.patient.name} · {a.service.name} ({a.number})")
            for a in own
        ]
        wanted = parse_id(request.args.get("appointment_id"))
        if request.method == "GET" and wanted is not None:
            form.appointment.data = wanted
        if therapist is not None and form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                reschedule_requests.request_reschedule(
                    self.session,
                    clinic_id=current_clinic_id(),
                    appointment_id=form.appointment.data,
                    proposed_start=clinic_time.to_utc(form.start.data, current_timezone())
                    if form.start.data
                    else None,
                    note=form.note.data,
                    now=now,
                    actor=staff_actor(),
                )
            if outcome.ok:
                flash(_("Request sent to the front desk; the decision shows here."), "success")
                return redirect(url_for(".index_view", show="all"))
        if therapist is None:
            lines = ["Therapists ask here for their own sessions; this login is not a therapist's."]
        elif own:
            lines = ["Your sessions at least 48 hours ahead. The front desk approves or rejects."]
        else:
            lines = ["You have no sessions 48 hours or more ahead to ask about."]
        return self._form_page(form, "Request a change", lines, "Send request")

    def _askable(self, therapist: Therapist, now: datetime) -> list[Appointment]:
        """The therapist's active sessions far enough ahead to ask about, soonest first."""
        return list(
            self.session.scalars(
                select(Appointment)
                .options(joinedload(Appointment.patient), joinedload(Appointment.service))
                .where(
                    Appointment.clinic_id == current_clinic_id(),
                    Appointment.therapist_id == therapist.id,
                    Appointment.status.in_(AppointmentStatus.active()),
                    Appointment.start_at >= now + reschedule_requests.THERAPIST_NOTICE,
                )
                .order_by(Appointment.start_at)
                .limit(OWN_SESSIONS_LISTED)
            )
        )

    def _form_page(self, form: FlaskForm, title: str, lines: list[str], submit: str) -> str:
        return self.render(
            "admin/request_form.html",
            form=form,
            title=title,
            lines=lines,
            submit=submit,
            back=url_for(".index_view"),
        )
