"""A session's clinical page: its record (SOAP, draft until signed) and its progress notes.

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
from wtforms.fields import SelectField, TextAreaField

from admin.i18n import panel_lang
from admin.views.access import requires
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_when, format_when_with_year
from models import Appointment, AppointmentStatus, Attendance, RecordStatus, SessionRecord
from models.notes import BODY_MAX, RECORD_TEXTS
from services.clinical import goals, notes, session_records
from services.clinical.session_records import RecordTexts

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


class RecordForm(FlaskForm):
    """The session record: SOAP first, then the rest; blank parts stay empty."""

    subjective = TextAreaField(
        _l("Subjective"), description=_l("What the patient or guardian reported.")
    )
    objective = TextAreaField(
        _l("Objective"), description=_l("What you observed and measured in the session.")
    )
    assessment = TextAreaField(
        _l("Assessment"), description=_l("What it means: progress towards the goals.")
    )
    plan = TextAreaField(_l("Plan"), description=_l("What comes next session and after."))
    activities = TextAreaField(_l("Activities and materials"))
    homework = TextAreaField(_l("Home practice given"))
    response = TextAreaField(_l("Patient's response"))
    attendance = SelectField(
        _l("Attendance"),
        choices=[
            ("", _l("Not noted")),
            (Attendance.ON_TIME.value, _l("On time")),
            (Attendance.LATE.value, _l("Late")),
            (Attendance.PARTIAL.value, _l("Partial")),
        ],
        default="",
    )

    def texts(self) -> RecordTexts:
        chosen = self.attendance.data or ""
        return RecordTexts(
            **{name: getattr(self, name).data for name in RECORD_TEXTS},
            attendance=Attendance(chosen) if chosen in Attendance._value2member_map_ else None,
        )


# The record form's two buttons (their names come back in the POST).
SAVE, SIGN = "record-save", "record-sign"


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
        record = session_records.record_for_appointment(
            self.session, current_clinic_id(), appointment.id
        )
        form = NoteForm()
        record_form = RecordForm(prefix="record", obj=_form_values(record))
        if request.method == "POST":
            if SAVE in request.form or SIGN in request.form:
                done = self._write_record(appointment, record_form, sign=SIGN in request.form)
            else:
                done = self._add_note(appointment, form)
            if done:
                return redirect(url_for(".notes_view", appointment_id=appointment.id))
            record = session_records.record_for_appointment(
                self.session, current_clinic_id(), appointment.id
            )
        zone = current_timezone()
        lang = panel_lang()
        listed = notes.notes_for_appointment(self.session, current_clinic_id(), appointment.id)
        return self.render(
            "admin/appointment_notes.html",
            form=form,
            record_form=record_form,
            measures=self._measures(appointment, record),
            record=_shown(record, zone, lang),
            appointment=appointment,
            when=format_when(appointment.start_at, zone, lang),
            notes=[
                {
                    "author": note.author.name or note.author.email,
                    "at": format_when_with_year(note.created_at, zone, lang),
                    "body": note.body,
                }
                for note in listed
            ],
            takes_notes=appointment.status is not AppointmentStatus.CANCELLED,
            may_sign=appointment.start_at <= utcnow(),
            body_max=BODY_MAX,
            details=url_for(".details_view", id=appointment.id),
            back=url_for(".index_view"),
        )

    def _measures(
        self, appointment: Appointment, record: SessionRecord | None
    ) -> list[dict[str, Any]]:
        """The goals a record logs values for, with the value logged (or typed): the
        patient's active goals while the record is a draft, those it logged once signed."""
        clinic_id = current_clinic_id()
        logged = goals.measures_of(self.session, record) if record is not None else {}
        if record is not None and record.status is RecordStatus.SIGNED:
            listed = [
                g
                for g in goals.goals_for_patient(self.session, clinic_id, appointment.patient_id)
                if g.id in logged
            ]
        else:
            listed = list(goals.active_goals(self.session, clinic_id, appointment.patient_id))
        typed = request.form if request.method == "POST" else {}
        return [
            {
                "id": g.id,
                "behaviour": g.behaviour,
                "measure": g.measure,
                "value": typed.get(f"measure-{g.id}", _number(logged.get(g.id))),
            }
            for g in listed
        ]

    def _write_record(self, appointment: Appointment, form: RecordForm, *, sign: bool) -> bool:
        if not form.validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return False
        measures = _typed_measures()
        if measures is None:
            flash(_("A measure must be a number."), "error")
            return False
        with refused_as_flash(self.session) as outcome:
            session_records.write_record(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=appointment.id,
                texts=form.texts(),
                now=utcnow(),
                actor=staff_actor(),
                author_id=current_user.id,
                sign=sign,
                measures=measures,
            )
        if outcome.ok:
            flash(_("Record signed.") if sign else _("Record saved as a draft."), "success")
        return outcome.ok

    def _add_note(self, appointment: Appointment, form: NoteForm) -> bool:
        if not form.validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return False
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
        return outcome.ok


def _typed_measures() -> dict[int, float] | None:
    """``measure-<goal id>`` fields as typed: blank ones left out; None if one is not a
    number."""
    values: dict[int, float] = {}
    for key, text in request.form.items():
        name, _, goal_id = key.partition("-")
        if name != "measure" or not goal_id.isdigit() or not text.strip():
            continue
        try:
            value = float(text.strip().replace(",", "."))
        except ValueError:
            return None
        if value != value or value in (float("inf"), float("-inf")):
            return None
        values[int(goal_id)] = value
    return values


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _form_values(record: SessionRecord | None) -> Any:
    """The record as the form fills itself from it (attendance as its value)."""
    if record is None:
        return None
    values = {name: getattr(record, name) for name in RECORD_TEXTS}
    values["attendance"] = record.attendance.value if record.attendance else ""
    return type("RecordValues", (), values)()


def _shown(record: SessionRecord | None, zone: str, lang: str) -> dict[str, Any] | None:
    """What the page says about the record: its state, who wrote or signed it and when,
    and (signed) its parts to read."""
    if record is None:
        return None
    signed = record.status is RecordStatus.SIGNED
    who = record.signed_by if signed and record.signed_by else record.author
    at = record.signed_at if signed and record.signed_at else record.updated_at
    return {
        "signed": signed,
        "by": who.name or who.email,
        "at": format_when_with_year(at, zone, lang),
        "parts": [(name, getattr(record, name)) for name in RECORD_TEXTS],
        "attendance": record.attendance.value if record.attendance else None,
    }
