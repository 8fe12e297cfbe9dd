"""A patient's home exercises in the panel: the "Home exercises" section of the clinical page
(``admin/_patient_exercises.html``), its assign and stop forms, and a reply's photo or video.

A mixin for ``PatientView``, next to ``ClinicalMixin``. Every route needs the matrix's
"clinical" verb on patients (the admin and the patient's therapists; the service asks
again: ``services.clinical.exercises``). Every id is looked up within the patient (the
view's scoped query: the clinic's, and a therapist's own patients), so another clinic's or
another patient's assignment or file is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from flask import Response, abort, current_app, flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import widgets
from wtforms.fields import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, NumberRange

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.catalog import WEEKDAYS
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_day, format_time
from core.storage import media_store
from models import (
    ExerciseAssignment,
    ExerciseOutcome,
    ExerciseReply,
    InboundMedia,
    Patient,
)
from models.exercises import REPETITIONS_MAX
from services.clinical import exercise_library, exercises
from services.clinical.exercise_adherence import weekly_adherence
from services.errors import NotFound
from services.messaging.media import ACCEPTED_TYPES, media_for_messages, read_media

CLINICAL = "clinical"
REPLIES_SHOWN = 14

STATUS_LABELS = {
    "active": _l("Active"),
    "ended": _l("Ended"),
    "stopped": _l("Stopped"),
}
OUTCOME_LABELS = {
    ExerciseOutcome.DONE: _l("Done"),
    ExerciseOutcome.PARTIAL: _l("Partly done"),
    ExerciseOutcome.SKIPPED: _l("Skipped"),
    ExerciseOutcome.MEDIA: _l("Photo or video only"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AssignExerciseForm(FlaskForm):
    exercise = SelectField(_l("Exercise"), choices=[], validate_choice=False)
    weekdays = MultiCheckboxField(_l("Days"), choices=WEEKDAYS, coerce=int)
    repetitions = IntegerField(
        _l("Times a day"), default=1, validators=[InputRequired(), NumberRange(1, REPETITIONS_MAX)]
    )
    nudge_time = TimeField(
        _l("Nudge time"),
        default=time(18, 0),
        validators=[InputRequired()],
        description=_l("Clinic time, between 08:00 and 21:00."),
    )
    starts_on = DateField(_l("From"), validators=[InputRequired()])
    ends_on = DateField(_l("Until"), validators=[InputRequired()])
    notes = TextAreaField(_l("Notes for the guardian"), description=_l("e.g. use the mirror."))


class ExercisesMixin:
    """The home exercise routes for the patients' model view (``get_query`` scopes it)."""

    session: Any
    get_query: Callable[[], Any]
    allowed: Callable[[str], bool]

    def exercises_section(self, patient: Patient) -> dict[str, Any]:
        """What ``_patient_exercises.html`` shows (called from the clinical page)."""
        clinic_id = current_clinic_id()
        zone, lang, now = current_timezone(), panel_lang(), utcnow()
        tz = exercises.clinic_zone(self.session, clinic_id)
        today = now.astimezone(tz).date()
        form = AssignExerciseForm(formdata=None, starts_on=today)
        form.exercise.choices = [
            (str(e.id), f"{e.name} ({e.therapy_type})")
            for e in exercise_library.library(self.session, clinic_id, archived=False)
        ]
        day_names = dict(WEEKDAYS)
        rows = []
        for a in exercises.assignments_for_patient(self.session, clinic_id, patient.id):
            state = exercises.status(a, today)
            rows.append(
                {
                    "id": a.id,
                    "exercise": a.exercise.name,
                    "days": ", ".join(str(day_names[d]) for d in a.weekdays),
                    "repetitions": a.repetitions,
                    "period": _(
                        "%(start)s to %(end)s",
                        start=format_day(a.starts_on, lang),
                        end=format_day(a.ends_on, lang),
                    ),
                    "nudge": format_time(a.nudge_time, lang),
                    "status": state,
                    "status_label": STATUS_LABELS[state],
                    "notes": a.notes,
                    "weeks": [
                        {"start": format_day(w.week_start, lang), "row": w}
                        for w in weekly_adherence(a, a.replies, tz, now)
                    ],
                    "stop_url": url_for(
                        ".exercises_stop", patient_id=patient.id, assignment_id=a.id
                    ),
                }
            )
        replies = exercises.latest_replies(self.session, clinic_id, patient.id, REPLIES_SHOWN)
        return {
            "form": form,
            "may_change": self.allowed(CLINICAL),
            "assignments": rows,
            "replies": [
                _reply(r, media, patient, lang)
                for r, media in _with_media(self.session, clinic_id, replies)
            ],
            "zone": zone,
        }

    def _exercise_patient(self, patient_id: int) -> Patient:
        patient = self.get_query().filter(Patient.id == patient_id).one_or_none()
        if patient is None:
            abort(404)
        return patient

    @expose("/clinical/<int:patient_id>/exercises", methods=("POST",))
    @requires(CLINICAL)
    def exercises_assign(self, patient_id: int) -> Any:
        patient = self._exercise_patient(patient_id)
        back = url_for(".clinical_view", patient_id=patient.id, _anchor="exercises")
        form = AssignExerciseForm()
        if not form.validate_on_submit():
            if form.csrf_token.errors or not form.errors:
                flash(_("The form expired; please try again."), "error")
            else:
                for field in form:
                    for error in field.errors:
                        flash(f"{field.label.text}: {error}", "error")
            return redirect(back)
        if not (form.exercise.data or "").isdigit():
            flash(_("Please choose an exercise."), "error")
            return redirect(back)
        with refused_as_flash(self.session) as outcome:
            try:
                exercises.assign_exercise(
                    self.session,
                    clinic_id=current_clinic_id(),
                    patient_id=patient.id,
                    exercise_id=int(form.exercise.data),
                    author_id=current_user.id,
                    weekdays=form.weekdays.data or [],
                    repetitions=form.repetitions.data,
                    nudge_time=form.nudge_time.data,
                    starts_on=form.starts_on.data,
                    ends_on=form.ends_on.data,
                    notes=form.notes.data,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            except NotFound:
                abort(404)  # another clinic's exercise
        if outcome.ok:
            flash(_("Home exercise assigned."), "success")
        return redirect(back)

    @expose("/clinical/<int:patient_id>/exercises/<int:assignment_id>/stop", methods=("POST",))
    @requires(CLINICAL)
    def exercises_stop(self, patient_id: int, assignment_id: int) -> Any:
        patient = self._exercise_patient(patient_id)
        back = url_for(".clinical_view", patient_id=patient.id, _anchor="exercises")
        if not FlaskForm().validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(back)
        mine = self.session.scalar(
            select(ExerciseAssignment.id).where(
                ExerciseAssignment.clinic_id == current_clinic_id(),
                ExerciseAssignment.patient_id == patient.id,
                ExerciseAssignment.id == assignment_id,
            )
        )
        if mine is None:
            abort(404)  # not this patient's (nor, then, this clinic's)
        with refused_as_flash(self.session) as outcome:
            exercises.stop_assignment(
                self.session,
                clinic_id=current_clinic_id(),
                assignment_id=assignment_id,
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
            )
        if outcome.ok:
            flash(_("Home exercise stopped."), "success")
        return redirect(back)

    @expose("/clinical/<int:patient_id>/exercise-media/<int:media_id>")
    @requires(CLINICAL)
    def exercises_media(self, patient_id: int, media_id: int) -> Response:
        """A photo or video a guardian sent as an exercise reply of this patient."""
        patient = self._exercise_patient(patient_id)
        clinic_id = current_clinic_id()
        ours = self.session.scalar(
            select(InboundMedia.id)
            .join(ExerciseReply, ExerciseReply.message_id == InboundMedia.message_id)
            .join(ExerciseAssignment, ExerciseAssignment.id == ExerciseReply.assignment_id)
            .where(
                InboundMedia.id == media_id,
                InboundMedia.clinic_id == clinic_id,
                ExerciseReply.clinic_id == clinic_id,
                ExerciseAssignment.clinic_id == clinic_id,
                ExerciseAssignment.patient_id == patient.id,
            )
            .limit(1)
        )
        if ours is None:
            abort(404)
        store = media_store(current_app.config["ROSHNI"])
        found = read_media(self.session, store, clinic_id=clinic_id, media_id=media_id)
        if found is None:
            abort(404)
        row, data = found
        response = Response(data, mimetype=row.content_type or "application/octet-stream")
        name = f"attachment-{row.id}.{ACCEPTED_TYPES.get(row.content_type or '', 'bin')}"
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _with_media(
    session: Any, clinic_id: int, replies: Any
) -> list[tuple[ExerciseReply, list[InboundMedia]]]:
    ids = [r.message_id for r in replies if r.message_id is not None]
    media = media_for_messages(session, clinic_id, ids)
    return [(r, media.get(r.message_id, []) if r.message_id else []) for r in replies]


def _reply(
    reply: ExerciseReply, media: list[InboundMedia], patient: Patient, lang: str
) -> dict[str, Any]:
    assignment = reply.assignment
    count = ""
    if reply.done_count is not None and reply.outcome in (
        ExerciseOutcome.DONE,
        ExerciseOutcome.PARTIAL,
    ):
        count = _("%(done)s of %(of)s", done=reply.done_count, of=assignment.repetitions)
    return {
        "id": reply.id,
        "day": format_day(reply.day, lang),
        "exercise": assignment.exercise.name,
        "outcome": OUTCOME_LABELS[reply.outcome],
        "count": count,
        "files": [
            url_for(".exercises_media", patient_id=patient.id, media_id=m.id)
            for m in media
            if m.content_type and m.index >= 0
        ],
    }
