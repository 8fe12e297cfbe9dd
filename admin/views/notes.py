"""Progress notes on a session: the page that lists them and adds one.

A mixin for ``AppointmentView``, so the page lives at
``/admin/appointment/notes/<id>`` and finds its appointment through that view's
scoped query (the clinic's rows; a therapist's own sessions only).

Reading and writing both need the matrix's "notes" verb on appointments, not
"read": notes are clinical, and an accountant or the front desk reads
appointments for money and scheduling, not for what happened in the session.
One verb for the one route also keeps the roles walker's expectation simple.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields import TextAreaField

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_when, format_when_with_year
from models import Appointment, AppointmentStatus
from models.notes import BODY_MAX
from services.people import notes

NOTES = "notes"


class NotesRowAction(EndpointLinkRowAction):
    """The row's link to the session's notes, for staff who may read them."""

    def __init__(self) -> None:
        super().__init__(
            "fa fa-sticky-note", ".notes_view", title=_l("Notes"), id_arg="appointment_id"
        )

    def render(self, context: Any, row_id: str, row: Appointment) -> Any:
        if not context.resolve("admin_view").allowed(NOTES):
            return ""
        return super().render(context, row_id, row)


class NoteForm(FlaskForm):
    # Length and emptiness are the service's to judge (one message for every caller).
    body = TextAreaField(_l("New note"))


class ProgressNotesMixin:
    """``notes_view`` for a model view of appointments with ``_scoped(id)``."""

    # Provided by the view this is mixed into (annotations only: nothing is shadowed).
    session: Any
    _scoped: Callable[[Any], Appointment | None]
    render: Callable[..., Any]

    @expose("/notes/<int:appointment_id>", methods=("GET", "POST"))
    @requires(NOTES)
    def notes_view(self, appointment_id: int) -> Any:
        appointment = self._scoped(appointment_id)
        if appointment is None:
            abort(404)
        form = NoteForm()
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                notes.add_progress_note(
                    self.session,
                    clinic_id=current_clinic_id(),
                    appointment_id=appointment.id,
                    body=form.body.data or "",
                    now=utcnow(),
                    actor=staff_actor(),
                    author_id=current_user.id,
                )
            if outcome.ok:
                flash(_("Note added."), "success")
                return redirect(url_for(".notes_view", appointment_id=appointment.id))
        elif request.method == "POST":
            flash(_("The form expired; please try again."), "error")
        zone = current_timezone()
        listed = notes.notes_for_appointment(self.session, current_clinic_id(), appointment.id)
        return self.render(
            "admin/appointment_notes.html",
            form=form,
            appointment=appointment,
            when=format_when(appointment.start_at, zone, panel_lang()),
            notes=[
                {
                    "author": note.author.name or note.author.email,
                    "at": format_when_with_year(note.created_at, zone, panel_lang()),
                    "body": note.body,
                }
                for note in listed
            ],
            takes_notes=appointment.status is not AppointmentStatus.CANCELLED,
            body_max=BODY_MAX,
            details=url_for(".details_view", id=appointment.id),
            back=url_for(".index_view"),
        )
