"""Appointments: every change is a booking-service call, never a raw row edit.

The list filters by the clinic's local dates, therapist, status and payment; it
searches by number, patient name or phone. Actions (confirm, complete, no-show,
send a payment link, resend a reminder) each ask for confirmation and call one
service verb per appointment; cancelling asks for a reason on its own page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.form import BaseForm
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms.fields import BooleanField, DateTimeLocalField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation

from admin.i18n import panel_lang, word
from admin.views.access import requires
from admin.views.base import SecureModelView
from admin.views.booking_note import DELIVERY, DELIVERY_CHOICES, booked_sentence, patient_choice
from admin.views.booking_requests_page import BookingRequestsMixin
from admin.views.courses import CourseMixin
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.filters import (
    EnumEqual,
    LocalDayBetween,
    LocalDayOnOrAfter,
    LocalDayOnOrBefore,
    TherapistEqual,
)
from admin.views.formatters import clinic_money, label_formatter, money_formatter, when_formatter
from admin.views.notes import NotesRowAction, ProgressNotesMixin
from admin.views.people import phone_digits, phone_or_text
from admin.views.refusals import (
    reason,
    refusal_rolled_back,
    refused_as_flash,
    with_free_nearby,
)
from admin.views.session_page import SessionActionsMixin
from admin.views.waitlist_page import WaitlistMixin
from core import clinic_time
from core.clock import utcnow
from core.formatting import format_phone, format_when
from core.ids import parse_id, parse_ids
from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    ClinicPolicy,
    Contact,
    Patient,
    PaymentStatus,
    Service,
    Therapist,
)
from services.billing import invoices as billing
from services.billing import payment_requests, refunds
from services.messaging import outbox as messaging
from services.scheduling import appointments

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _patient_choices(session: Any):
    def query():
        return session.scalars(
            select(Patient)
            .options(joinedload(Patient.contact))
            .where(Patient.clinic_id == current_clinic_id(), Patient.active.is_(True))
            .order_by(Patient.name, Patient.id)
        ).all()

    return query


def _choices(model: type, session: Any):
    def query():
        return session.scalars(
            select(model)
            .where(model.clinic_id == current_clinic_id(), model.active.is_(True))
            .order_by(model.name)
        ).all()

    return query


# --- list cells -----------------------------------------------------------------------


def _patient_cell(view: Any, context: Any, model: Appointment, name: str) -> Markup:
    patient = model.patient
    url = url_for("contact.details_view", id=patient.contact_id)
    return Markup('<a href="{}">{}</a>').format(url, patient.name)


def _when_cell(view: Any, context: Any, model: Appointment, name: str) -> str:
    when = when_formatter(view, context, model, name)
    return f"{when} · back-dated" if model.backdated else when


def _phone_cell(view: Any, context: Any, model: Appointment, name: str) -> str:
    return format_phone(model.patient.contact.phone)


def _place_cell(view: Any, context: Any, model: Appointment, name: str) -> str:
    """Where the session is: "Online" for a video session (it needs no room)."""
    if model.online:
        return _("Online")
    return model.location.name if model.location else ""


def _video_link_cell(view: Any, context: Any, model: Appointment, name: str) -> Markup | str:
    if not model.video_url:
        return ""
    return Markup('<a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a>').format(
        model.video_url
    )


class CancelRowAction(EndpointLinkRowAction):
    """The row's "cancel with reason" link, for active sessions and staff who may cancel."""

    def __init__(self) -> None:
        super().__init__("fa fa-ban", ".cancel_view", title=_l("Cancel with reason"))

    def render(self, context: Any, row_id: str, row: Appointment) -> Any:
        view = context.resolve("admin_view")
        if not (row.is_active and view.allowed("cancel")):
            return ""
        return super().render(context, row_id, row)


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the audit log keeps it)"),
        validators=[DataRequired(message=_l("Please give a reason.")), Length(max=300)],
    )
    waive_charge = BooleanField(
        _l("Waive the late-cancellation charge (void the session's invoice)")
    )


class Required(DataRequired):
    """``DataRequired`` whose (lazily translated) message is a plain string when it fails:
    Flask-Admin's form template shows only the errors that are strings."""

    def __call__(self, form: Any, field: Any) -> None:
        try:
            super().__call__(form, field)
        except StopValidation as exc:
            raise StopValidation(str(exc.args[0])) from None


class AppointmentView(
    CourseMixin,
    WaitlistMixin,
    BookingRequestsMixin,
    SessionActionsMixin,
    ProgressNotesMixin,
    SecureModelView,
):
    """Who may do which action is the roles matrix (``admin.permissions``): each action
    is allowed by its name (a therapist holds "complete", on their own sessions only).
    Each session's progress notes are on their own page (``admin.views.notes``)."""

    resource = "appointments"
    therapist_scope = "appointment"
    allow_delete = False
    can_view_details = True
    column_list = (
        "number",
        "start_at",
        "patient",
        "phone",
        "service",
        "therapist",
        "status",
        "payment_status",
        "price_minor",
    )
    column_labels = {
        "number": _l("Number"),
        "start_at": _l("When"),
        "patient": _l("Patient"),
        "phone": _l("Phone"),
        "service": _l("Service"),
        "therapist": _l("Therapist"),
        "status": _l("Status"),
        "price_minor": _l("Price"),
        "payment_status": _l("Payment"),
        "patient.name": _l("Patient"),
        "patient.contact.phone": _l("Phone"),
        "patient.contact.name": _l("Contact"),
        "backdated_at": _l("Entered after its start (back-dated)"),
        "location": _l("Where"),
        "video_url": _l("Video link"),
    }
    column_formatters = {
        "start_at": _when_cell,
        "price_minor": money_formatter(),
        "status": label_formatter,
        "payment_status": label_formatter,
        "patient": _patient_cell,
        "phone": _phone_cell,
    }
    column_details_list = (
        "number",
        "start_at",
        "end_at",
        "patient",
        "phone",
        "service",
        "therapist",
        "location",
        "video_url",
        "status",
        "payment_status",
        "price_minor",
        "source",
        "created_by",
        "confirmed_at",
        "completed_at",
        "cancelled_at",
        "cancelled_by",
        "cancellation_reason",
        "backdated_at",
    )
    column_formatters_detail = {
        **column_formatters,
        "end_at": when_formatter,
        "confirmed_at": when_formatter,
        "completed_at": when_formatter,
        "cancelled_at": when_formatter,
        "backdated_at": when_formatter,
        "source": label_formatter,
        "location": _place_cell,
        "video_url": _video_link_cell,
    }
    # CSV for the roles the matrix grants "export" (admin, accountant), audited by the base.
    csv_export = True
    column_export_list = (
        "number",
        "start_at",
        "patient.name",
        "patient.contact.phone",
        "service.name",
        "therapist.name",
        "status",
        "payment_status",
        "price_minor",
        "backdated_at",
    )
    column_formatters_export = {
        "start_at": when_formatter,
        "backdated_at": when_formatter,
        "status": label_formatter,
        "payment_status": label_formatter,
        "price_minor": money_formatter(),
    }
    column_sortable_list = ("number", "start_at", "status", "payment_status", "price_minor")
    column_default_sort = ("start_at", True)
    column_searchable_list = (
        "number",
        "patient.name",
        "patient.contact.phone",
        "patient.contact.name",
    )
    column_filters = (
        LocalDayBetween(Appointment.start_at, _l("Date")),
        LocalDayOnOrAfter(Appointment.start_at, _l("Date")),
        LocalDayOnOrBefore(Appointment.start_at, _l("Date")),
        TherapistEqual(Appointment.therapist_id, _l("Therapist")),
        EnumEqual(Appointment.status, _l("Status"), AppointmentStatus),
        EnumEqual(Appointment.payment_status, _l("Payment"), PaymentStatus),
    )
    # Readable filter URLs: ?flt0_date_between=2026-11-23+to+2026-11-29&flt1_therapist_is=3
    named_filter_urls = True
    column_extra_row_actions = [CancelRowAction(), NotesRowAction()]
    # Relations come joined in get_query (patient → contact too): one statement per page.
    column_auto_select_related = False
    list_template = "admin/appointment_list.html"
    create_template = "admin/appointment_create.html"
    extra_js = [*SecureModelView.extra_js, "/admin-assets/patient-search.js"]
    details_template = "admin/appointment_details.html"

    def get_query(self):
        return (
            super()
            .get_query()
            .options(
                joinedload(Appointment.patient).joinedload(Patient.contact),
                joinedload(Appointment.service),
                joinedload(Appointment.therapist),
                joinedload(Appointment.location),
            )
        )

    def _apply_search(self, query, count_query, joins, count_joins, search):
        # Phones as people type them ("098765 43210") against the stored E.164.
        if phone_digits(search) is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        condition = phone_or_text(Contact.phone, Appointment.number, search=search)
        query = query.join(Appointment.patient).join(Patient.contact).filter(condition)
        if count_query is not None:
            count_query = (
                count_query.join(Appointment.patient).join(Patient.contact).filter(condition)
            )
        return query, count_query, joins, count_joins

    def _scoped(self, appointment_id: Any) -> Appointment | None:
        """One appointment the user may see: through get_query, so every scope applies."""
        key = parse_id(appointment_id)
        if key is None:
            return None
        return self.get_query().filter(Appointment.id == key).one_or_none()

    # --- booking and moving -------------------------------------------------------------

    def get_create_form(self) -> type[BaseForm]:
        session = self.session

        # Nothing pre-chosen: one hasty Save must not book the first patient or service.
        class BookForm(BaseForm):
            patient = QuerySelectField(
                _l("Patient"),
                query_factory=_patient_choices(session),
                get_label=patient_choice,
                allow_blank=True,
                blank_text=_l("Choose a patient…"),
                validators=[Required(_l("Choose a patient."))],
                # patient-search.js: search as you type by name, guardian or phone.
                render_kw={"data-patient-search": ""},
            )
            service = QuerySelectField(
                _l("Service"),
                query_factory=_choices(Service, session),
                allow_blank=True,
                blank_text=_l("Choose a service…"),
                validators=[Required(_l("Choose a service."))],
            )
            therapist = QuerySelectField(
                _l("Therapist"),
                query_factory=_choices(Therapist, session),
                allow_blank=True,
                blank_text=_l("Any available therapist"),
            )
            start = DateTimeLocalField(
                _l("Start (clinic time)"), format=LOCAL_FORMAT, validators=[DataRequired()]
            )
            delivery = SelectField(
                _l("In person or online"),
                choices=DELIVERY_CHOICES,
                default="",
                description=_l("For a service given either way; an online session gets its link."),
            )

        return BookForm

    def get_edit_form(self) -> type[BaseForm]:
        session = self.session

        class RescheduleForm(BaseForm):
            therapist = QuerySelectField(
                _l("Therapist"),
                query_factory=_choices(Therapist, session),
                validators=[InputRequired()],
            )
            start = DateTimeLocalField(
                _l("Start (clinic time)"), format=LOCAL_FORMAT, validators=[DataRequired()]
            )

        return RescheduleForm

    def on_form_prefill(self, form: Any, id: Any) -> None:
        appointment = self.get_one(id)
        if appointment is not None:
            form.start.data = clinic_time.to_wall(appointment.start_at, current_timezone())

    def create_model(self, form: Any) -> Any:
        with refused_as_flash(self.session, say=with_free_nearby):
            appointment = appointments.book_appointment(
                self.session,
                clinic_id=current_clinic_id(),
                patient_id=form.patient.data.id,
                service_id=form.service.data.id,
                therapist_id=form.therapist.data.id if form.therapist.data else None,
                start=clinic_time.to_utc(form.start.data, current_timezone()),
                now=utcnow(),
                actor=staff_actor(),
                source=BookingSource.ADMIN,
                online=DELIVERY.get(form.delivery.data),
            )
            flash(booked_sentence(self.session, appointment, current_timezone()), "success")
            return appointment
        return False

    def update_model(self, form: Any, model: Any) -> bool:
        with refused_as_flash(self.session, say=with_free_nearby) as outcome:
            appointments.reschedule_appointment(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=model.id,
                new_start=clinic_time.to_utc(form.start.data, current_timezone()),
                therapist_id=form.therapist.data.id,
                now=utcnow(),
                actor=staff_actor(),
            )
        return outcome.ok

    # --- cancel with a reason -----------------------------------------------------------

    @expose("/cancel/", methods=("GET", "POST"))
    @requires("cancel")
    def cancel_view(self) -> Any:
        appointment = self._scoped(request.args.get("id", ""))
        if appointment is None:
            abort(404)
        # From the session page, back to it; from the list, back to the list.
        from_session = request.args.get("back") == "session"
        back = (
            url_for(".details_view", id=appointment.id) if from_session else url_for(".index_view")
        )
        if not appointment.is_active:
            flash(
                _(
                    "%(number)s is %(status)s: nothing to cancel.",
                    number=appointment.number,
                    status=word(appointment.status.value),
                )
            )
            return redirect(back)
        now = utcnow()
        policy = self.session.get(ClinicPolicy, appointment.clinic_id)
        assert policy is not None
        window_hours = policy.cancellation_window_hours
        inside_window = appointment.start_at - now < timedelta(hours=window_hours)
        invoice = billing.session_invoice(self.session, appointment.id)
        paid = billing.invoice_paid(self.session, invoice.id) if invoice is not None else 0
        proposal = refunds.refund_proposal(self.session, appointment, now=now)
        form = CancelForm()
        if form.validate_on_submit():
            waive = bool(form.waive_charge.data) and inside_window
            with refused_as_flash(self.session) as outcome:
                appointments.cancel_appointment(
                    self.session,
                    clinic_id=current_clinic_id(),
                    appointment_id=appointment.id,
                    reason=form.reason.data,
                    waive_charge=waive,
                    now=now,
                    actor=staff_actor(),
                )
            if outcome.ok:
                refundable = proposal if not waive else paid
                said = _("Cancelled %(number)s; the patient is told.", number=appointment.number)
                if refundable:
                    said += " " + _(
                        "%(amount)s is on account: refund it from Money → Payments.",
                        amount=clinic_money(refundable),
                    )
                flash(said, "success")
                return redirect(back)
        elif request.method == "POST" and form.reason.errors:
            flash(_("Please give a reason for cancelling."), "error")
        return self.render(
            "admin/appointment_cancel.html",
            form=form,
            appointment=appointment,
            when=format_when(appointment.start_at, current_timezone(), panel_lang()),
            phone=format_phone(appointment.patient.contact.phone),
            window_hours=window_hours,
            inside_window=inside_window,
            invoice=invoice,
            paid=clinic_money(paid),
            proposal=clinic_money(proposal),
            back=back,
        )

    # --- list actions -------------------------------------------------------------------

    def _apply(self, ids: list[str], verb: Any, call: Any) -> None:
        """Call the verb for each appointment; ``handle_action`` (base) has already checked
        the role and kept only the ids this user can see."""
        done, refused = [], []
        for appointment_id in parse_ids(ids):
            with refusal_rolled_back(self.session) as outcome:
                done.append(call(appointment_id))
            if outcome.refusal is not None:
                refused.append(reason(outcome.refusal))
        if done:
            flash(verb if isinstance(verb, str) else verb(done), "success")
        for message in dict.fromkeys(refused):
            flash(message, "error")

    def _kwargs(self, appointment_id: int) -> dict[str, Any]:
        return {
            "clinic_id": current_clinic_id(),
            "appointment_id": appointment_id,
            "now": utcnow(),
            "actor": staff_actor(),
        }

    @action("confirm", _l("Confirm"), _l("Mark the selected appointments as confirmed?"))
    def action_confirm(self, ids: list[str]) -> None:
        self._apply(
            ids,
            "Confirmed.",
            lambda i: appointments.confirm_appointment(self.session, **self._kwargs(i)),
        )

    @action("cancel", _l("Cancel with reason…"))
    def action_cancel(self, ids: list[str]) -> Any:
        # Each cancellation needs its own reason and shows its own refund, so one at a time.
        wanted = parse_ids(ids)
        if len(wanted) != 1:
            flash(_("Cancel one appointment at a time: each needs its own reason."), "error")
            return None
        return redirect(url_for(".cancel_view", id=wanted[0]))

    @action("complete", _l("Completed"), _l("Mark the selected sessions as completed?"))
    def action_complete(self, ids: list[str]) -> None:
        self._apply(
            ids,
            "Marked as completed.",
            lambda i: appointments.complete_appointment(self.session, **self._kwargs(i)),
        )

    @action("no_show", _l("No-show"), _l("Mark the selected sessions as no-shows?"))
    def action_no_show(self, ids: list[str]) -> None:
        self._apply(
            ids,
            "Marked as no-show.",
            lambda i: appointments.mark_no_show(self.session, **self._kwargs(i)),
        )

    @action(
        "payment_link",
        _l("Send payment link"),
        _l("Send the patients of the selected sessions a payment link (or UPI details)?"),
    )
    def action_payment_link(self, ids: list[str]) -> None:
        self._apply(
            ids,
            _payment_summary,
            lambda i: payment_requests.send_payment_request(self.session, **self._kwargs(i)),
        )

    @action(
        "remind", _l("Resend reminder"), _l("Send the selected sessions' patients a reminder now?")
    )
    def action_remind(self, ids: list[str]) -> None:
        self._apply(
            ids,
            "Reminder queued.",
            lambda i: messaging.send_reminder_now(self.session, **self._kwargs(i)),
        )


def _payment_summary(done: list[payment_requests.PaymentRequest]) -> str:
    parts = []
    for kind, words in (
        ("link", "payment link(s) queued"),
        ("upi", "UPI request(s) sent"),
        ("settled", "paid from money on account"),
    ):
        count = sum(1 for request in done if request.kind == kind)
        if count:
            parts.append(f"{count} {words}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."
