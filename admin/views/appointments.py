"""Appointments: every change is a booking-service call, never a raw row edit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.form import BaseForm
from sqlalchemy import select
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, InputRequired

from admin.views.base import (
    SecureModelView,
    current_clinic_id,
    current_timezone,
    label_formatter,
    money_formatter,
    staff_actor,
    when_formatter,
)
from core.clock import utcnow
from core.formatting import format_when
from models import BookingSource, Patient, Service, Therapist
from services import appointments
from services.errors import ServiceError, SlotUnavailable

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _choices(model: type, session: Any):
    def query():
        return session.scalars(
            select(model)
            .where(model.clinic_id == current_clinic_id(), model.active.is_(True))
            .order_by(model.name)
        ).all()

    return query


def local_to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=ZoneInfo(current_timezone()))


class AppointmentView(SecureModelView):
    allow_delete = False
    column_list = (
        "number",
        "start_at",
        "patient",
        "service",
        "therapist",
        "status",
        "payment_status",
        "price_minor",
    )
    column_labels = {"start_at": "When", "price_minor": "Price", "payment_status": "Payment"}
    column_formatters = {
        "start_at": when_formatter,
        "price_minor": money_formatter(),
        "status": label_formatter,
        "payment_status": label_formatter,
    }
    column_default_sort = ("start_at", True)
    column_searchable_list = ("number",)
    column_filters = ("status", "payment_status", "therapist.name")
    # Joined in the list query: one statement per page, not one per row.
    column_auto_select_related = True
    list_template = "admin/model/list.html"

    def get_create_form(self) -> type[BaseForm]:
        session = self.session

        class BookForm(BaseForm):
            patient = QuerySelectField(
                "Patient", query_factory=_choices(Patient, session), validators=[InputRequired()]
            )
            service = QuerySelectField(
                "Service", query_factory=_choices(Service, session), validators=[InputRequired()]
            )
            therapist = QuerySelectField(
                "Therapist",
                query_factory=_choices(Therapist, session),
                allow_blank=True,
                blank_text="Any available therapist",
            )
            start = DateTimeLocalField(
                "Start (clinic time)", format=LOCAL_FORMAT, validators=[DataRequired()]
            )

        return BookForm

    def get_edit_form(self) -> type[BaseForm]:
        session = self.session

        class RescheduleForm(BaseForm):
            therapist = QuerySelectField(
                "Therapist",
                query_factory=_choices(Therapist, session),
                validators=[InputRequired()],
            )
            start = DateTimeLocalField(
                "Start (clinic time)", format=LOCAL_FORMAT, validators=[DataRequired()]
            )

        return RescheduleForm

    def on_form_prefill(self, form: Any, id: Any) -> None:
        appointment = self.get_one(id)
        if appointment is not None:
            form.start.data = appointment.start_at.astimezone(ZoneInfo(current_timezone())).replace(
                tzinfo=None
            )

    def create_model(self, form: Any) -> Any:
        try:
            return appointments.book_appointment(
                self.session,
                clinic_id=current_clinic_id(),
                patient_id=form.patient.data.id,
                service_id=form.service.data.id,
                therapist_id=form.therapist.data.id if form.therapist.data else None,
                start=local_to_utc(form.start.data),
                now=utcnow(),
                actor=staff_actor(),
                source=BookingSource.ADMIN,
            )
        except ServiceError as exc:
            self._refused(exc)
            return False

    def update_model(self, form: Any, model: Any) -> bool:
        try:
            appointments.reschedule_appointment(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=model.id,
                new_start=local_to_utc(form.start.data),
                therapist_id=form.therapist.data.id,
                now=utcnow(),
                actor=staff_actor(),
            )
        except ServiceError as exc:
            self._refused(exc)
            return False
        return True

    def _refused(self, exc: ServiceError) -> None:
        self.session.rollback()
        message = exc.message
        if isinstance(exc, SlotUnavailable) and exc.alternatives:
            times = ", ".join(format_when(s.start, current_timezone()) for s in exc.alternatives)
            message += f" Free nearby: {times}."
        flash(message, "error")

    # --- row actions ----------------------------------------------------------------

    def _apply(self, ids: list[str], verb: str, call: Any) -> None:
        if not self.can_edit:
            flash("Your role cannot change appointments.", "error")
            return
        done, refused = 0, []
        for raw in ids:
            if not str(raw).isdigit():
                continue
            try:
                call(int(raw))
                done += 1
            except ServiceError as exc:
                self.session.rollback()
                refused.append(exc.message)
        if done:
            flash(f"{done} appointment(s) {verb}.", "success")
        for message in dict.fromkeys(refused):
            flash(message, "error")

    def _kwargs(self, appointment_id: int) -> dict[str, Any]:
        return {
            "clinic_id": current_clinic_id(),
            "appointment_id": appointment_id,
            "now": utcnow(),
            "actor": staff_actor(),
        }

    @action("confirm", "Confirm", "Mark the selected appointments as confirmed?")
    def action_confirm(self, ids: list[str]) -> None:
        self._apply(
            ids,
            "confirmed",
            lambda i: appointments.confirm_appointment(self.session, **self._kwargs(i)),
        )

    @action("cancel", "Cancel", "Cancel the selected appointments and free their slots?")
    def action_cancel(self, ids: list[str]) -> None:
        self._apply(
            ids,
            "cancelled",
            lambda i: appointments.cancel_appointment(
                self.session, reason="Cancelled by the clinic", **self._kwargs(i)
            ),
        )

    @action("complete", "Completed", "Mark the selected sessions as completed?")
    def action_complete(self, ids: list[str]) -> None:
        self._apply(
            ids,
            "completed",
            lambda i: appointments.complete_appointment(self.session, **self._kwargs(i)),
        )

    @action("no_show", "No-show", "Mark the selected sessions as no-shows?")
    def action_no_show(self, ids: list[str]) -> None:
        self._apply(
            ids,
            "marked as no-show",
            lambda i: appointments.mark_no_show(self.session, **self._kwargs(i)),
        )
