"""Assessments in the panel: a patient's assessments on their clinical page, the page
that writes one, and the clinic admin's template editor.

``AssessmentsMixin`` adds ``/admin/patient/assessment/<patient id>/<assessment id or
"new">`` to ``PatientView`` (next to ``ClinicalMixin``): the patient comes through that
view's scoped query, the assessment must be that patient's (else 404), and the page needs
the matrix's "clinical" verb on patients. ``AssessmentTemplateView`` is a settings page
(the matrix's "settings": the clinic's admin only): one item a line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms.fields import DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import NumberRange, Optional

from admin.i18n import panel_lang
from admin.views.access import Guarded, SessionPage, requires
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_day, format_when
from models import (
    Appointment,
    AppointmentStatus,
    Assessment,
    AssessmentKind,
    Patient,
    RecordStatus,
)
from models.notes import BODY_MAX
from services.clinical import assessment_templates as templates
from services.clinical import assessments
from services.clinical.assessments import VALUE_MAX, AssessmentFields

CLINICAL = "clinical"
NEW = "new"

KIND_LABELS = {
    AssessmentKind.INITIAL: _l("Initial assessment"),
    AssessmentKind.PROGRESS: _l("Progress assessment"),
    AssessmentKind.REASSESSMENT: _l("Re-assessment"),
    AssessmentKind.DISCHARGE: _l("Discharge assessment"),
}


class AssessmentForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[(kind.value, label) for kind, label in KIND_LABELS.items()],
        default=AssessmentKind.INITIAL.value,
    )
    appointment = SelectField(
        _l("Written for the session"),
        choices=[("", _l("None"))],
        default="",
        description=_l("e.g. the patient's booked assessment session."),
    )
    presenting_concerns = TextAreaField(
        _l("Presenting concerns"), description=_l("Why the patient came, in their words.")
    )
    history = TextAreaField(
        _l("History"), description=_l("Birth, development, medical and therapy history.")
    )
    findings = TextAreaField(_l("Findings"), description=_l("What the assessment shows."))
    recommendations = TextAreaField(_l("Recommendations"))
    sessions_per_week = IntegerField(
        _l("Sessions per week"), validators=[Optional(), NumberRange(1, 14)]
    )
    session_minutes = IntegerField(
        _l("Minutes per session"), validators=[Optional(), NumberRange(5, 480)]
    )
    next_review_on = DateField(_l("Next review on"), validators=[Optional()])


class AssessmentsMixin:
    """``assessment_view`` for the patients' model view (``get_query`` scopes it)."""

    session: Any
    get_query: Callable[[], Any]
    render: Callable[..., Any]

    @expose("/assessment/<int:patient_id>/<which>", methods=("GET", "POST"))
    @requires(CLINICAL)
    def assessment_view(self, patient_id: int, which: str) -> Any:
        patient = self.get_query().filter(Patient.id == patient_id).one_or_none()
        if patient is None or not (which == NEW or which.isdigit()):
            abort(404)
        clinic_id = current_clinic_id()
        assessment = None
        if which != NEW:
            assessment = assessments.patient_assessment(
                self.session, clinic_id, patient.id, int(which)
            )
            if assessment is None:
                abort(404)  # another patient's, or another clinic's
        types = templates.therapy_types(self.session, clinic_id)
        if assessment is not None:
            therapy_type = assessment.therapy_type
            items = assessment.items
        else:
            wanted = request.values.get("therapy_type") or request.args.get("type")
            therapy_type = wanted if wanted in types else _usual_type(self.session, patient, types)
            items = [
                {**item.as_json(), "value": None}
                for item in templates.template_for(self.session, clinic_id, therapy_type or "")
            ]
        form = AssessmentForm(obj=assessment if request.method == "GET" else None)
        form.appointment.choices = [("", _("None")), *_sessions(self.session, patient)]
        if request.method == "GET" and assessment is not None:
            form.kind.data = assessment.kind.value
            form.appointment.data = str(assessment.appointment_id or "")
        elif request.method == "GET":
            # From a booked assessment session: ?appointment=<id> picks it in the form.
            form.appointment.data = request.args.get("appointment", "")
        values = {item["label"]: _shown(item.get("value")) for item in items}
        if request.method == "POST":
            values = {
                item["label"]: request.form.get(f"item-{index}", "")
                for index, item in enumerate(items)
            }
            saved = self._save_assessment(patient, assessment, therapy_type or "", form, values)
            if saved is not None:
                return redirect(url_for(".clinical_view", patient_id=patient.id) + "#assessments")
        signed = assessment is not None and assessment.status is RecordStatus.SIGNED
        zone, lang = current_timezone(), panel_lang()
        return self.render(
            "admin/patient_assessment.html",
            patient=patient,
            assessment=assessment,
            signed=signed,
            form=form,
            therapy_type=therapy_type,
            types=types,
            items=[
                {**item, "index": index, "shown": values.get(item["label"], "")}
                for index, item in enumerate(items)
            ],
            kind_label=KIND_LABELS[assessment.kind] if assessment else None,
            signed_by=assessment.signed_by.name if signed and assessment.signed_by else "",
            signed_at=format_when(assessment.signed_at, zone, lang) if signed else "",
            review_on=format_day(assessment.next_review_on, lang)
            if assessment and assessment.next_review_on
            else "",
            number=templates.number,
            body_max=BODY_MAX,
            value_max=VALUE_MAX,
            back=url_for(".clinical_view", patient_id=patient.id),
        )

    def _save_assessment(
        self,
        patient: Patient,
        assessment: Assessment | None,
        therapy_type: str,
        form: AssessmentForm,
        values: dict[str, str],
    ) -> Assessment | None:
        if not form.validate_on_submit():
            if form.csrf_token.errors or not form.errors:
                flash(_("The form expired; please try again."), "error")
            return None
        sign = bool(request.form.get("sign"))
        with refused_as_flash(self.session) as outcome:
            saved = assessments.write_assessment(
                self.session,
                clinic_id=current_clinic_id(),
                patient_id=patient.id,
                assessment_id=None if assessment is None else assessment.id,
                fields=AssessmentFields(
                    kind=AssessmentKind(form.kind.data),
                    therapy_type=therapy_type,
                    presenting_concerns=form.presenting_concerns.data,
                    history=form.history.data,
                    findings=form.findings.data,
                    recommendations=form.recommendations.data,
                    sessions_per_week=form.sessions_per_week.data,
                    session_minutes=form.session_minutes.data,
                    next_review_on=form.next_review_on.data,
                    appointment_id=int(form.appointment.data) if form.appointment.data else None,
                    values=values,
                ),
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
                sign=sign,
            )
        if not outcome.ok:
            return None
        flash(_("Assessment signed.") if sign else _("Assessment saved as a draft."), "success")
        return saved


class AssessmentTemplateView(Guarded, SessionPage, BaseView):
    """The clinic's assessment templates, one therapy type at a time (admin only)."""

    resource = "settings"

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        clinic_id = current_clinic_id()
        types = templates.therapy_types(self.session, clinic_id)
        therapy_type = request.values.get("therapy_type") or (types[0] if types else "")
        if therapy_type not in types:
            abort(404)
        form = FlaskForm()
        lines = templates.template_lines(
            templates.template_for(self.session, clinic_id, therapy_type)
        )
        if request.method == "POST":
            lines = request.form.get("lines", "")
            if not form.validate_on_submit():
                flash(_("The form expired; please try again."), "error")
            elif self._save(clinic_id, therapy_type, lines):
                return redirect(url_for(".index", therapy_type=therapy_type))
        return self.render(
            "admin/assessment_templates.html",
            form=form,
            types=types,
            therapy_type=therapy_type,
            lines=lines,
            own=templates.has_own_template(self.session, clinic_id, therapy_type),
        )

    def _save(self, clinic_id: int, therapy_type: str, lines: str) -> bool:
        with refused_as_flash(self.session) as outcome:
            templates.save_template(
                self.session,
                clinic_id=clinic_id,
                therapy_type=therapy_type,
                items=templates.parse_template_lines(lines),
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
            )
        if outcome.ok:
            flash(_("Template saved; new assessments use it."), "success")
        return outcome.ok


def patient_assessments(session: Any, clinic_id: int, patient_id: int) -> list[dict[str, Any]]:
    """The clinical page's list: kind, type, date, status and link, newest first."""
    lang = panel_lang()
    zone = current_timezone()
    return [
        {
            "id": a.id,
            "label": assessment_label(a, zone, lang),
            "kind": KIND_LABELS[a.kind],
            "therapy_type": a.therapy_type,
            "day": format_when(a.created_at, zone, lang),
            "signed": a.status is RecordStatus.SIGNED,
            "author": a.author.name if a.author else "",
            "url": url_for(".assessment_view", patient_id=patient_id, which=a.id),
        }
        for a in assessments.assessments_for_patient(session, clinic_id, patient_id)
    ]


def assessment_label(assessment: Assessment, zone: str, lang: str) -> str:
    """ "Initial assessment (speech), Mon 23 Nov": how a goal names the assessment that set it."""
    day = assessment.created_at.astimezone(ZoneInfo(zone)).date()
    return _(
        "%(kind)s (%(type)s), %(day)s",
        kind=KIND_LABELS[assessment.kind],
        type=assessment.therapy_type,
        day=format_day(day, lang),
    )


def _usual_type(session: Any, patient: Patient, types: list[str]) -> str | None:
    """The therapy type of the patient's latest session, else the clinic's first."""
    latest = session.scalar(
        select(Appointment)
        .where(Appointment.clinic_id == patient.clinic_id, Appointment.patient_id == patient.id)
        .options(joinedload(Appointment.service))
        .order_by(Appointment.start_at.desc())
        .limit(1)
    )
    if latest is not None and latest.service.specialization in types:
        return latest.service.specialization
    return types[0] if types else None


def _sessions(session: Any, patient: Patient) -> list[tuple[str, str]]:
    """The patient's sessions that can carry an assessment (not cancelled), newest first."""
    zone, lang = current_timezone(), panel_lang()
    rows = session.scalars(
        select(Appointment)
        .where(
            Appointment.clinic_id == patient.clinic_id,
            Appointment.patient_id == patient.id,
            Appointment.status != AppointmentStatus.CANCELLED,
        )
        .options(joinedload(Appointment.service))
        .order_by(Appointment.start_at.desc(), Appointment.id.desc())
        .limit(50)
    ).all()
    return [(str(a.id), f"{format_when(a.start_at, zone, lang)} · {a.service.name}") for a in rows]


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return templates.number(value)
    return str(value)
