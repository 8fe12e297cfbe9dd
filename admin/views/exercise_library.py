"""Settings → Exercise library: the clinic's home exercises per therapy type (admin only).

A settings page (the matrix's "settings": the clinic's admin only), like the assessment
templates: one therapy type at a time; add an exercise, edit one, archive or bring it back,
and add the suggested exercises to an empty library. The service asks again
(``services.clinical.exercises``); every id is looked up within the clinic (else 404).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields import StringField, TextAreaField
from wtforms.validators import Length

from admin.permissions import CREATE, UPDATE
from admin.views.access import Guarded, SessionPage, requires
from admin.views.current import current_clinic_id, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from models import Exercise
from models.exercises import EXERCISE_NAME_MAX, MEDIA_URL_MAX
from services.clinical import exercise_library as exercises
from services.clinical.assessment_templates import therapy_types
from services.clinical.exercise_library import ExerciseFields


class ExerciseForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=EXERCISE_NAME_MAX)])
    instructions = TextAreaField(
        _l("Instructions"), description=_l("What the guardian reads: how to do it, how often.")
    )
    media_url = StringField(
        _l("Image or video link"),
        validators=[Length(max=MEDIA_URL_MAX)],
        description=_l("Optional; an https:// address."),
    )


class ExerciseLibraryView(Guarded, SessionPage, BaseView):
    """The clinic's exercise library, one therapy type at a time (admin only)."""

    resource = "settings"

    @expose("/", methods=("GET",))
    def index(self) -> Any:
        clinic_id = current_clinic_id()
        types = therapy_types(self.session, clinic_id)
        therapy_type = request.args.get("therapy_type") or (types[0] if types else "")
        if types and therapy_type not in types:
            abort(404)
        editing = None
        if request.args.get("edit", "").isdigit():
            editing = self._exercise(int(request.args["edit"]))
        form = ExerciseForm(formdata=None, obj=editing)
        return self.render(
            "admin/exercise_library.html",
            form=form,
            editing=editing,
            types=types,
            therapy_type=therapy_type,
            rows=exercises.library(self.session, clinic_id, therapy_type) if types else [],
            suggest=bool(types)
            and exercises.has_suggestions(self.session, clinic_id, therapy_type),
        )

    @expose("/save", methods=("POST",))
    @requires(UPDATE)
    def save(self) -> Any:
        clinic_id = current_clinic_id()
        therapy_type = request.form.get("therapy_type", "")
        which = request.form.get("exercise", "")
        editing = self._exercise(int(which)) if which.isdigit() else None
        if editing is not None:
            therapy_type = editing.therapy_type
        form = ExerciseForm()
        if not form.validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(url_for(".index", therapy_type=therapy_type))
        fields = ExerciseFields(
            therapy_type=therapy_type,
            name=form.name.data or "",
            instructions=form.instructions.data or "",
            media_url=form.media_url.data,
        )
        common = {"now": utcnow(), "actor": staff_actor(), "author_id": current_user.id}
        with refused_as_flash(self.session) as outcome:
            if editing is None:
                exercises.create_exercise(
                    self.session, clinic_id=clinic_id, fields=fields, **common
                )
            else:
                exercises.edit_exercise(
                    self.session,
                    clinic_id=clinic_id,
                    exercise_id=editing.id,
                    fields=fields,
                    **common,
                )
        if outcome.ok:
            flash(_("Exercise saved."), "success")
        elif editing is not None:
            return redirect(url_for(".index", therapy_type=therapy_type, edit=editing.id))
        return redirect(url_for(".index", therapy_type=therapy_type))

    @expose("/<int:exercise_id>/archive", methods=("POST",))
    @requires(UPDATE)
    def archive(self, exercise_id: int) -> Any:
        return self._archive(exercise_id, archived=True)

    @expose("/<int:exercise_id>/unarchive", methods=("POST",))
    @requires(UPDATE)
    def unarchive(self, exercise_id: int) -> Any:
        return self._archive(exercise_id, archived=False)

    def _archive(self, exercise_id: int, *, archived: bool) -> Any:
        exercise = self._exercise(exercise_id)
        back = url_for(".index", therapy_type=exercise.therapy_type)
        if not FlaskForm().validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(back)
        with refused_as_flash(self.session) as outcome:
            exercises.set_archived(
                self.session,
                clinic_id=current_clinic_id(),
                exercise_id=exercise.id,
                archived=archived,
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
            )
        if outcome.ok:
            flash(_("Exercise archived.") if archived else _("Exercise back in use."), "success")
        return redirect(back)

    @expose("/suggested", methods=("POST",))
    @requires(CREATE)
    def suggested(self) -> Any:
        therapy_type = request.form.get("therapy_type", "")
        back = url_for(".index", therapy_type=therapy_type)
        if not FlaskForm().validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(back)
        with refused_as_flash(self.session) as outcome:
            exercises.add_suggested(
                self.session,
                clinic_id=current_clinic_id(),
                therapy_type=therapy_type,
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
            )
        if outcome.ok:
            flash(_("The suggested exercises were added."), "success")
        return redirect(back)

    def _exercise(self, exercise_id: int) -> Exercise:
        exercise = self.session.scalar(
            select(Exercise).where(
                Exercise.clinic_id == current_clinic_id(), Exercise.id == exercise_id
            )
        )
        if exercise is None:
            abort(404)  # another clinic's
        return exercise
