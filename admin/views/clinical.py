"""A patient's clinical page: goals with their progress charts, a form to set one, the
goals compared at two dates, and the patient's history (``admin.views.clinical_history``).

A mixin for ``PatientView``: the page lives at ``/admin/patient/clinical/<id>`` and finds
its patient through that view's scoped query (the clinic's rows; a therapist's own
patients only). It needs the matrix's "clinical" verb on patients: the admin and the
patient's therapists; the front desk and the accountant never.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields import DateField, FloatField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.assessments import assessment_label, patient_assessments
from admin.views.clinical_history import comparison_section, history_section
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_day
from models import Goal, GoalStatus, GoalTerm, Patient
from services.clinical import assessments, goals, progress_reports
from services.clinical.goals import GoalFields

CLINICAL = "clinical"


class ClinicalRowAction(EndpointLinkRowAction):
    """The row's link to the patient's clinical page, for staff who may read it."""

    def __init__(self) -> None:
        super().__init__(
            "fa fa-heartbeat", ".clinical_view", title=_l("Clinical"), id_arg="patient_id"
        )

    def render(self, context: Any, row_id: str, row: Patient) -> Any:
        if not context.resolve("admin_view").allowed(CLINICAL):
            return ""
        return super().render(context, row_id, row)


class GoalForm(FlaskForm):
    term = SelectField(
        _l("Term"),
        choices=[(GoalTerm.LONG.value, _l("Long-term")), (GoalTerm.SHORT.value, _l("Short-term"))],
        default=GoalTerm.SHORT.value,
    )
    parent = SelectField(_l("Step towards"), choices=[("", _l("None"))], default="")
    behaviour = TextAreaField(
        _l("Goal"), description=_l("The behaviour aimed at, e.g. says /s/ correctly in sentences.")
    )
    measure = StringField(
        _l("Measured as"), description=_l("e.g. percent correct of 10 tries, or pain score 0–10.")
    )
    baseline = FloatField(_l("Baseline"), validators=[InputRequired()])
    target = FloatField(_l("Target"), validators=[InputRequired()])
    due_on = DateField(_l("Due by"), validators=[Optional()])
    assessment = SelectField(_l("Set at the assessment"), choices=[("", _l("None"))], default="")


STATUS_LABELS = {
    GoalStatus.ACTIVE: _l("Active"),
    GoalStatus.ACHIEVED: _l("Achieved"),
    GoalStatus.DISCONTINUED: _l("Discontinued"),
}
TERM_LABELS = {GoalTerm.LONG: _l("Long-term"), GoalTerm.SHORT: _l("Short-term")}


class ClinicalMixin:
    """``clinical_view`` for the patients' model view (``get_query`` scopes it)."""

    session: Any
    get_query: Callable[[], Any]
    render: Callable[..., Any]

    def _scoped_patient(self, patient_id: int) -> Patient | None:
        return self.get_query().filter(Patient.id == patient_id).one_or_none()

    @expose("/clinical/<int:patient_id>", methods=("GET", "POST"))
    @requires(CLINICAL)
    def clinical_view(self, patient_id: int) -> Any:
        patient = self._scoped_patient(patient_id)
        if patient is None:
            abort(404)
        clinic_id = current_clinic_id()
        listed = goals.goals_for_patient(self.session, clinic_id, patient.id)
        form = GoalForm()
        form.parent.choices = [("", _("None"))] + [
            (str(g.id), g.behaviour[:80])
            for g in listed
            if g.term is GoalTerm.LONG and g.status is GoalStatus.ACTIVE
        ]
        written = assessments.assessments_for_patient(self.session, clinic_id, patient.id)
        zone = current_timezone()
        lang = panel_lang()
        named = {a.id: assessment_label(a, zone, lang) for a in written}
        form.assessment.choices = [("", _("None"))] + [(str(i), n) for i, n in named.items()]
        if request.method == "POST":
            if self._post(patient, form):
                return redirect(url_for(".clinical_view", patient_id=patient.id))
            listed = goals.goals_for_patient(self.session, clinic_id, patient.id)
        return self.render(
            "admin/patient_clinical.html",
            patient=patient,
            form=form,
            goals=[_goal(g, zone, lang) | {"set_at": named.get(g.assessment_id)} for g in listed],
            assessments=patient_assessments(self.session, clinic_id, patient.id),
            charts={str(g.id): _chart(g, zone, lang) for g in listed if g.measures},
            history=history_section(self.session, clinic_id, patient.id, request.args, zone, lang),
            compare=comparison_section(
                listed, request.args, zone, lang, utcnow().astimezone(ZoneInfo(zone)).date()
            ),
            reports=progress_reports.reports_for_patient(self.session, clinic_id, patient.id),
            statuses=STATUS_LABELS,
            back=url_for(".index_view"),
        )

    def _post(self, patient: Patient, form: GoalForm) -> bool:
        status = request.form.get("status")
        if status is not None:
            return self._change_status(patient, status)
        if not form.validate_on_submit():
            if not form.csrf_token.errors and form.errors:
                return False  # the fields say what is wrong
            flash(_("The form expired; please try again."), "error")
            return False
        with refused_as_flash(self.session) as outcome:
            goals.set_goal(
                self.session,
                clinic_id=current_clinic_id(),
                patient_id=patient.id,
                fields=GoalFields(
                    term=GoalTerm(form.term.data),
                    behaviour=form.behaviour.data or "",
                    measure=form.measure.data or "",
                    baseline=form.baseline.data,
                    target=form.target.data,
                    due_on=form.due_on.data,
                    parent_id=int(form.parent.data) if form.parent.data else None,
                    assessment_id=int(form.assessment.data) if form.assessment.data else None,
                ),
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
            )
        if outcome.ok:
            flash(_("Goal set."), "success")
        return outcome.ok

    def _change_status(self, patient: Patient, status: str) -> bool:
        form = FlaskForm()
        goal_id = request.form.get("goal", "")
        if not form.validate_on_submit() or status not in GoalStatus._value2member_map_:
            flash(_("The form expired; please try again."), "error")
            return False
        mine = goal_id.isdigit() and self.session.scalar(
            select(Goal.id).where(
                Goal.clinic_id == current_clinic_id(),
                Goal.patient_id == patient.id,
                Goal.id == int(goal_id),
            )
        )
        if not mine:
            abort(404)  # not this patient's goal (nor, then, this clinic's)
        with refused_as_flash(self.session) as outcome:
            goals.change_goal_status(
                self.session,
                clinic_id=current_clinic_id(),
                goal_id=int(goal_id),
                status=GoalStatus(status),
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
            )
        if outcome.ok:
            flash(_("Goal marked %(status)s.", status=STATUS_LABELS[GoalStatus(status)]), "success")
        return outcome.ok


def _goal(goal: Any, zone: str, lang: str) -> dict[str, Any]:
    done = goals.progress(goal)
    return {
        "id": goal.id,
        "term": TERM_LABELS[goal.term],
        "short": goal.term is GoalTerm.SHORT,
        "parent_id": goal.parent_id,
        "behaviour": goal.behaviour,
        "measure": goal.measure,
        "baseline": _number(goal.baseline),
        "target": _number(goal.target),
        "latest": _number(goal.measures[-1].value) if goal.measures else None,
        "count": len(goal.measures),
        "due": format_day(goal.due_on, lang) if goal.due_on else None,
        "status": goal.status,
        "status_label": STATUS_LABELS[goal.status],
        "percent": None if done is None else round(done * 100),
    }


def _chart(goal: Any, zone: str, lang: str) -> dict[str, Any]:
    """Measures over time, with the baseline and the target as lines across."""
    tz = ZoneInfo(zone)
    labels = [format_day(m.measured_at.astimezone(tz).date(), lang) for m in goal.measures]
    points = len(labels)
    return {
        "labels": labels,
        "datasets": [
            {"label": goal.measure, "data": [m.value for m in goal.measures]},
            {"label": str(_l("Baseline")), "data": [goal.baseline] * points, "dashed": True},
            {"label": str(_l("Target")), "data": [goal.target] * points, "dashed": True},
        ],
    }


def _number(value: float) -> str:
    return f"{value:g}"
