"""Therapists, services, prices, locations and working hours."""

from __future__ import annotations

from wtforms.fields import SelectField

from admin.views.base import SecureModelView, money_formatter
from models import Role

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
ADMIN_ONLY = frozenset({Role.ADMIN})


class TherapistView(SecureModelView):
    write_roles = ADMIN_ONLY
    column_list = ("name", "specialization", "active")
    column_searchable_list = ("name", "specialization")
    form_columns = ("name", "specialization", "active")


class ServiceView(SecureModelView):
    write_roles = ADMIN_ONLY
    column_list = (
        "name",
        "specialization",
        "duration_minutes",
        "price_minor",
        "capacity",
        "active",
    )
    column_labels = {"price_minor": "Price", "duration_minutes": "Minutes"}
    column_formatters = {"price_minor": money_formatter()}
    form_columns = (
        "name",
        "specialization",
        "duration_minutes",
        "price_minor",
        "capacity",
        "active",
        "prepay_required",
        "hold_minutes",
        "accept_partial",
    )
    form_args = {
        "prepay_required": {"label": "Payment required before the session"},
        "hold_minutes": {
            "label": "Hold an unpaid chat booking for (minutes)",
            "description": "The slot is released if a Razorpay link is not paid in time.",
        },
        "accept_partial": {"label": "Accept part-payment"},
        "price_minor": {
            "label": "Price (minor units, e.g. paise)",
            "description": "80000 = ₹800.00",
        },
    }


class OverrideView(SecureModelView):
    write_roles = ADMIN_ONLY
    allow_delete = True
    column_list = ("therapist", "service", "price_minor", "duration_minutes")
    column_formatters = {"price_minor": money_formatter()}
    form_columns = ("therapist", "service", "price_minor", "duration_minutes")


class LocationView(SecureModelView):
    write_roles = ADMIN_ONLY
    column_list = ("name", "address", "active")
    form_columns = ("name", "address", "active")


class WeeklyHoursView(SecureModelView):
    allow_delete = True
    column_list = ("therapist", "location", "weekday", "start_time", "end_time")
    column_formatters = {"weekday": lambda v, c, m, n: dict(WEEKDAYS).get(m.weekday, "?")}
    column_default_sort = [("therapist_id", False), ("weekday", False), ("start_time", False)]
    form_columns = ("therapist", "location", "weekday", "start_time", "end_time")
    form_overrides = {"weekday": SelectField}
    form_args = {"weekday": {"choices": WEEKDAYS, "coerce": int}}


class ExceptionView(SecureModelView):
    allow_delete = True
    column_list = (
        "kind",
        "therapist",
        "location",
        "start_date",
        "end_date",
        "start_time",
        "end_time",
        "reason",
    )
    column_default_sort = ("start_date", True)
    form_columns = (
        "kind",
        "therapist",
        "location",
        "start_date",
        "end_date",
        "start_time",
        "end_time",
        "reason",
    )
    form_args = {
        "therapist": {"description": "Leave empty to close the whole clinic (a holiday)."},
        "start_time": {"description": "Leave both times empty for the whole day."},
    }
