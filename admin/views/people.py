"""Contacts (phone owners) and patients: the contact page with children, consent, money
and a timeline; adding a patient with their guardian's phone in one form."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, request, url_for
from flask_admin import expose
from flask_admin.form import BaseForm
from flask_admin.helpers import get_form_data
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import or_
from sqlalchemy.orm import joinedload, selectinload
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from admin import permissions
from admin.i18n import panel_lang
from admin.permissions import CREATE
from admin.views.assessments import AssessmentsMixin
from admin.views.base import SecureModelView
from admin.views.clinical import ClinicalMixin, ClinicalRowAction
from admin.views.contact_email import ContactEmailMixin
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.data_rights import (
    ERASE,
    EXPORT_DATA,
    ContactDataRightsMixin,
    PatientDataRightsMixin,
)
from admin.views.documents import DocumentsMixin
from admin.views.exercises import ExercisesMixin
from admin.views.formatters import clinic_money, label_formatter
from admin.views.progress_reports import ProgressReportsMixin
from admin.views.refusals import reason, refused_as_flash
from core.clock import utcnow
from core.formatting import format_phone, format_when
from core.ids import parse_id
from models import Channel, Contact, Patient, Relation
from services.billing import credits
from services.billing import invoices as billing
from services.errors import InvalidPhone, ServiceError
from services.people import patients, timeline
from services.people.patients import ContactExists
from services.people.search import phone_digits

RELATIONS = [
    (Relation.CHILD.value, _l("Child")),
    (Relation.SELF.value, _l("Self")),
    (Relation.SPOUSE.value, _l("Spouse")),
    (Relation.PARENT.value, _l("Parent")),
    (Relation.OTHER.value, _l("Other")),
]


def phone_or_text(phone: Any, *texts: Any, search: str) -> Any:
    """A phone-like search matches the phone's digits or, as typed, any of ``texts``
    (so "2026-000123" still finds appointment APT-2026-000123)."""
    digits = phone_digits(search) or ""
    typed = f"%{search.strip()}%"
    return or_(phone.contains(digits, autoescape=True), *(text.ilike(typed) for text in texts))


def _phone_cell(view: Any, context: Any, model: Any, name: str) -> str:
    contact = model if isinstance(model, Contact) else model.contact
    return format_phone(contact.phone)


def _contact_link(contact: Contact) -> Markup:
    url = url_for("contact.details_view", id=contact.id)
    return Markup('<a href="{}">{}</a>').format(url, contact.name or format_phone(contact.phone))


def _patients_cell(view: Any, context: Any, model: Contact, name: str) -> str:
    return ", ".join(p.name for p in model.patients if p.active)


def _consent_cell(view: Any, context: Any, model: Contact, name: str) -> str:
    if model.consent_at is None:
        return _("not yet")
    return format_when(model.consent_at, current_timezone(), panel_lang())


def _consent_export(view: Any, context: Any, model: Contact, name: str) -> str:
    # A file's words stay English whoever downloads it.
    with force_locale("en"):
        return _consent_cell(view, context, model, name)


def _opt_outs_cell(view: Any, context: Any, model: Contact, name: str) -> str:
    return ", ".join(c.value for c in Channel if model.opted_out(c)) or "–"


class ContactCreateForm(BaseForm):
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[Length(max=120)])


class ContactView(ContactDataRightsMixin, ContactEmailMixin, SecureModelView):
    resource = "patients"
    therapist_scope = "contact"
    can_view_details = True
    column_list = ("name", "phone", "patients", "consent_at", "opted_out", "language")
    column_labels = {
        "name": _l("Name"),
        "phone": _l("Phone"),
        "consent_at": _l("Chat consent"),
        "opted_out": _l("Opted out"),
        "patients": _l("Patients"),
    }
    column_formatters = {
        "name": lambda view, context, model, name: _contact_link(model),
        "phone": _phone_cell,
        "patients": _patients_cell,
        "consent_at": _consent_cell,
        "opted_out": _opt_outs_cell,
    }
    csv_export = True
    column_export_list = ("name", "phone", "consent_at", "opted_out", "language")
    column_formatters_export = {"consent_at": _consent_export, "opted_out": _opt_outs_cell}
    column_sortable_list = ("name", "phone", "consent_at")
    column_default_sort = ("name", False)
    column_searchable_list = ("name", "phone")
    form_columns = ("name", "language")

    def get_query(self):
        # The children's names come in one more statement for the whole page.
        return super().get_query().options(selectinload(Contact.patients))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        if phone_digits(search) is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        condition = phone_or_text(Contact.phone, Contact.name, search=search)
        if count_query is not None:
            count_query = count_query.filter(condition)
        return query.filter(condition), count_query, joins, count_joins

    def get_create_form(self) -> type[BaseForm]:
        return ContactCreateForm

    def create_model(self, form: Any) -> Any:
        with refused_as_flash(self.session, say=_refusal):
            return patients.create_contact(
                self.session,
                clinic_id=current_clinic_id(),
                phone=form.phone.data,
                name=form.name.data or None,
                actor=staff_actor(),
            )
        return False

    def get_save_return_url(self, model: Any, is_created: bool = False) -> str:
        return url_for(".details_view", id=model.id)

    @expose("/details/")
    def details_view(self) -> Any:
        """The contact page: who they book for, consent, money, and what happened."""
        key = parse_id(request.args.get("id"))
        # Through get_query, so whatever narrows this user's contacts narrows this too.
        contact = (
            self.get_query().filter(Contact.id == key).one_or_none() if key is not None else None
        )
        if contact is None:
            abort(404)
        clinic_id = current_clinic_id()
        page = request.args.get("page", 1, type=int) or 1
        history = timeline.contact_timeline(
            self.session, clinic_id=clinic_id, contact_id=contact.id, page=page
        )
        dues = billing.contact_dues(self.session, clinic_id, contact.id)
        owed = {patient.id: amount for patient, amount in dues.per_patient}
        balances = credits.credit_balances(self.session, [p.id for p in contact.patients])
        zone = current_timezone()
        channels = [
            {
                "name": "WhatsApp" if channel is Channel.WHATSAPP else "SMS",
                "opted_out_at": getattr(contact, f"{channel.value}_opted_out_at"),
                "last_inbound_at": getattr(contact, f"{channel.value}_last_inbound_at"),
            }
            for channel in Channel
        ]
        return self.render(
            "admin/contact_details.html",
            contact=contact,
            phone=format_phone(contact.phone),
            channels=channels,
            patients=contact.patients,
            owed=owed,
            credits=balances,
            dues=dues,
            history=history,
            money=clinic_money,
            when=lambda value: format_when(value, zone, panel_lang()),
            today=utcnow().astimezone(ZoneInfo(zone)).date(),
            may_write=self.may_write(),
            may_export_data=self.allowed(EXPORT_DATA),
            may_erase=self.allowed(ERASE) and contact.erased_at is None,
            may_message=self.may_open("conversations") and contact.erased_at is None,
            may_book=self.may_open("calendar", CREATE) and contact.erased_at is None,
            return_url=url_for(".index_view"),
        )


class GuardianForm(BaseForm):
    """A new patient and the phone that books for them, in one go."""

    guardian_phone = StringField(
        _l("Guardian's mobile number"),
        validators=[DataRequired(), Length(max=40)],
        description=_l(
            "Any usual format; saved with the country code. The patient's own, "
            "for an adult booking for themself."
        ),
    )
    guardian_name = StringField(_l("Guardian's name"), validators=[Optional(), Length(max=120)])
    name = StringField(_l("Patient's name"), validators=[DataRequired(), Length(max=120)])
    relation = SelectField(
        _l("Patient is the guardian's"), choices=RELATIONS, default=Relation.CHILD.value
    )
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])


class AddToContactForm(BaseForm):
    """Another patient for a contact already known (a second child)."""

    name = StringField(_l("Patient's name"), validators=[DataRequired(), Length(max=120)])
    relation = SelectField(_l("Relation"), choices=RELATIONS, default=Relation.CHILD.value)
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])


class PatientView(
    ClinicalMixin,
    AssessmentsMixin,
    ProgressReportsMixin,
    DocumentsMixin,
    ExercisesMixin,
    PatientDataRightsMixin,
    SecureModelView,
):
    resource = "patients"
    therapist_scope = "patient"
    column_extra_row_actions = [ClinicalRowAction()]
    column_list = ("name", "contact", "phone", "relation", "date_of_birth", "active")
    column_labels = {
        "name": _l("Name"),
        "contact": _l("Contact"),
        "phone": _l("Phone"),
        "date_of_birth": _l("Born"),
    }
    column_formatters = {
        "contact": lambda view, context, model, name: _contact_link(model.contact),
        "phone": _phone_cell,
        "relation": label_formatter,
    }
    csv_export = True
    column_export_list = (
        "name",
        "contact.name",
        "contact.phone",
        "relation",
        "date_of_birth",
        "active",
    )
    column_formatters_export = {"relation": label_formatter}
    column_sortable_list = ("name", "date_of_birth", "active")
    column_default_sort = ("name", False)
    column_searchable_list = ("name", "contact.name", "contact.phone")
    column_filters = ("active", "relation")
    form_columns = ("contact", "name", "relation", "date_of_birth", "notes", "active")
    create_template = "admin/patient_create.html"

    def get_query(self):
        return super().get_query().options(joinedload(Patient.contact))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        if phone_digits(search) is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        condition = phone_or_text(Contact.phone, Patient.name, Contact.name, search=search)
        if count_query is not None:
            count_query = count_query.join(Patient.contact).filter(condition)
        return query.join(Patient.contact).filter(condition), count_query, joins, count_joins

    def get_create_form(self) -> type[BaseForm]:
        return GuardianForm

    def _existing_contact(self) -> Contact | None:
        key = parse_id(request.args.get("contact_id"))
        if key is None:
            return None
        contact = self.session.get(Contact, key)
        if contact is None or contact.clinic_id != current_clinic_id():
            abort(404)
        return contact

    def create_form(self, obj: Any = None) -> Any:
        contact = self._existing_contact()
        if contact is None:
            return super().create_form(obj)
        self._template_args["guardian"] = contact
        self._template_args["guardian_phone"] = format_phone(contact.phone)
        return AddToContactForm(get_form_data(), obj=obj)

    def create_model(self, form: Any) -> Any:
        today = utcnow().astimezone(ZoneInfo(current_timezone())).date()
        relation = Relation(form.relation.data)
        dob: date | None = form.date_of_birth.data
        with refused_as_flash(self.session, say=_refusal) as outcome:
            if isinstance(form, AddToContactForm):
                contact = self._existing_contact()
                assert contact is not None
                return patients.add_patient(
                    self.session,
                    clinic_id=current_clinic_id(),
                    contact_id=contact.id,
                    name=form.name.data,
                    relation=relation,
                    date_of_birth=dob,
                    actor=staff_actor(),
                    today=today,
                )
            return patients.register_patient(
                self.session,
                clinic_id=current_clinic_id(),
                phone=form.guardian_phone.data,
                guardian_name=form.guardian_name.data or None,
                patient_name=form.name.data,
                relation=relation,
                date_of_birth=dob,
                actor=staff_actor(),
                today=today,
            )
        # The guardian's phone field says what was wrong with the number, too.
        if isinstance(outcome.refusal, ContactExists):
            form.guardian_phone.errors.append(_("This number belongs to a contact already."))
        elif isinstance(outcome.refusal, InvalidPhone):
            form.guardian_phone.errors.append(reason(outcome.refusal))
        return False

    def get_save_return_url(self, model: Any, is_created: bool = False) -> str:
        if is_created and permissions.allowed("appointments", current_user.role, "create"):
            # The desk adds a patient to book them: straight on to booking for them.
            flash(_("Added %(name)s. Now book their session.", name=model.name), "info")
            return url_for("calendar.book", patient=model.id)
        if is_created:
            return url_for("contact.details_view", id=model.contact_id)
        return super().get_save_return_url(model, is_created)


def _refusal(exc: ServiceError) -> str:
    """The refusal; a number that is a contact's already links to that contact."""
    if not isinstance(exc, ContactExists):
        return reason(exc)
    url = url_for("contact.details_view", id=exc.contact_id)
    link = Markup('<a href="{}" class="alert-link">{}</a>').format(url, _("Open that contact"))
    return Markup("{} {}").format(
        reason(exc), escape(_("%(link)s to add a patient there.")) % {"link": link}
    )
