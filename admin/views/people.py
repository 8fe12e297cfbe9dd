"""Contacts (phone owners) and patients."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.form import BaseForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from admin.views.base import SecureModelView, current_clinic_id, staff_actor
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
