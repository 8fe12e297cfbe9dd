"""Contacts (phone owners) and patients."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.form import BaseForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from admin.views.base import SecureModelView, current_clinic_id, staff_actor, when_formatter
from services import patients
from services.errors import ServiceError


class ContactCreateForm(BaseForm):
    phone = StringField("Mobile number", validators=[DataRequired(), Length(max=40)])
    name = StringField("Name", validators=[Length(max=120)])


class ContactView(SecureModelView):
    column_list = ("name", "phone", "language", "consent_at")
    column_searchable_list = ("name", "phone")
    form_columns = ("name", "language")

    def get_create_form(self) -> type[BaseForm]:
        return ContactCreateForm

    def create_model(self, form: Any) -> Any:
        try:
            return patients.create_contact(
                self.session,
                clinic_id=current_clinic_id(),
                phone=form.phone.data,
                name=form.name.data or None,
                actor=staff_actor(),
            )
        except ServiceError as exc:
            self.session.rollback()
            flash(exc.message, "error")
            return False


class PatientView(SecureModelView):
    column_list = ("name", "contact", "relation", "date_of_birth", "active")
    column_searchable_list = ("name",)
    column_filters = ("active", "relation")
    form_columns = ("contact", "name", "relation", "date_of_birth", "notes", "active")


class ConversationView(SecureModelView):
    """Chats, newest first; those waiting for a person (after "talk") on top.

    Answering from the panel comes with the staff-panel issue; for now staff see
    who is waiting and call or message them back.
    """

    allow_create = False
    allow_edit = False
    column_list = ("phone", "channel", "contact", "state", "handoff_at", "last_turn_at")
    column_labels = {"handoff_at": "Waiting since", "last_turn_at": "Last message"}
    column_default_sort = [("handoff_at", True), ("last_turn_at", True)]
    column_filters = ("channel", "state")
    column_formatters = {"handoff_at": when_formatter, "last_turn_at": when_formatter}
