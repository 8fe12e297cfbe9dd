"""Progress reports in the panel: write one for a period, sign it, download it, send it
to the guardian in the chat.

A mixin for ``PatientView`` (next to ``ClinicalMixin``): the pages live at
``/admin/patient/report/<patient id>/new`` and ``/admin/patient/report/<patient id>/<id>``,
the PDF at ``…/<id>.pdf``; all need the matrix's "clinical" verb on patients and find the
patient through the view's scoped query.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields import DateField, TextAreaField
from wtforms.validators import InputRequired

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_when_with_year
from models import Patient, ProgressReport, RecordStatus
from models.notes import BODY_MAX, REPORT_TEXTS
from services.clinical import progress_reports
from services.clinical.progress_reports import ReportTexts
from services.clinical.report_pdf import report_pdf

CLINICAL = "clinical"
SAVE, SIGN, SEND = "report-save", "report-sign", "report-send"


class ReportForm(FlaskForm):
    period_start = DateField(_l("From"), validators=[InputRequired()])
    period_end = DateField(_l("To"), validators=[InputRequired()])
    summary = TextAreaField(
        _l("Summary"), description=_l("How the patient has done over the period, for the family.")
    )
    recommendations = TextAreaField(_l("Recommendations"))
    home_programme = TextAreaField(_l("Home programme"))


class ProgressReportsMixin:
    """The report pages for the patients' model view (``get_query`` scopes them)."""

    session: Any
    get_query: Callable[[], Any]
    render: Callable[..., Any]

    def _report_patient(self, patient_id: int) -> Patient:
        patient = self.get_query().filter(Patient.id == patient_id).one_or_none()
        if patient is None:
            abort(404)
        return patient

    def _report(self, patient: Patient, report_id: int) -> ProgressReport:
        report = self.session.get(ProgressReport, report_id)
        if (
            report is None
            or report.clinic_id != current_clinic_id()
            or report.patient_id != patient.id
        ):
            abort(404)
        return report

    @expose("/report/<int:patient_id>/new", methods=("GET", "POST"))
    @requires(CLINICAL)
    def report_new_view(self, patient_id: int) -> Any:
        patient = self._report_patient(patient_id)
        return self._report_page(patient, None)

    @expose("/report/<int:patient_id>/<int:report_id>", methods=("GET", "POST"))
    @requires(CLINICAL)
    def report_view(self, patient_id: int, report_id: int) -> Any:
        patient = self._report_patient(patient_id)
        return self._report_page(patient, self._report(patient, report_id))

    @expose("/report/<int:patient_id>/<int:report_id>.pdf")
    @requires(CLINICAL)
    def report_pdf_view(self, patient_id: int, report_id: int) -> Any:
        patient = self._report_patient(patient_id)
        report = self._report(patient, report_id)
        pdf = report_pdf(self.session, report, panel_lang())
        progress_reports.note_staff_download(self.session, report, staff_actor())
        return Response(
            pdf,
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="progress-report-{report.id}.pdf"',
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def _report_page(self, patient: Patient, report: ProgressReport | None) -> Any:
        form = ReportForm(obj=report)
        if report is None and request.method == "GET":
            today = utcnow().astimezone(ZoneInfo(current_timezone())).date()
            form.period_end.data = today
            form.period_start.data = today - timedelta(days=90)
        if request.method == "POST":
            if SEND in request.form and report is not None:
                done = self._send(report)
            else:
                done = self._save(patient, report, form)
            if done is not None:
                return redirect(url_for(".report_view", patient_id=patient.id, report_id=done.id))
        zone = current_timezone()
        lang = panel_lang()
        signed = report is not None and report.status is RecordStatus.SIGNED
        return self.render(
            "admin/patient_report.html",
            patient=patient,
            report=report,
            form=form,
            signed=signed,
            signed_text=_(
                "Signed by %(name)s, %(when)s",
                name=report.signed_by.name or report.signed_by.email,
                when=format_when_with_year(report.signed_at, zone, lang),
            )
            if signed and report.signed_by and report.signed_at
            else None,
            sent_text=_(
                "Last sent to the guardian %(when)s",
                when=format_when_with_year(report.sent_at, zone, lang),
            )
            if report is not None and report.sent_at
            else None,
            parts=[(name, getattr(report, name)) for name in REPORT_TEXTS] if report else [],
            body_max=BODY_MAX,
            back=url_for(".clinical_view", patient_id=patient.id),
        )

    def _save(
        self, patient: Patient, report: ProgressReport | None, form: ReportForm
    ) -> ProgressReport | None:
        if not form.validate_on_submit():
            if form.csrf_token.errors or not form.errors:
                flash(_("The form expired; please try again."), "error")
            return None
        sign = SIGN in request.form
        saved = None
        with refused_as_flash(self.session) as outcome:
            saved = progress_reports.write_report(
                self.session,
                clinic_id=current_clinic_id(),
                patient_id=patient.id,
                period_start=form.period_start.data,
                period_end=form.period_end.data,
                texts=ReportTexts(**{name: getattr(form, name).data for name in REPORT_TEXTS}),
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
                report_id=report.id if report is not None else None,
                sign=sign,
            )
        if not outcome.ok:
            return None
        flash(_("Report signed.") if sign else _("Report saved as a draft."), "success")
        return saved

    def _send(self, report: ProgressReport) -> ProgressReport | None:
        if not FlaskForm().validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return None
        with refused_as_flash(self.session) as outcome:
            progress_reports.send_report(
                self.session,
                clinic_id=current_clinic_id(),
                report_id=report.id,
                now=utcnow(),
                actor=staff_actor(),
            )
        if not outcome.ok:
            return None
        flash(_("Report sent to the guardian in the chat."), "success")
        return report
