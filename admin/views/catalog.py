"""Therapists, services, prices, locations and working hours."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.fields import SelectField, StringField

from admin.i18n import panel_lang
from admin.views.base import SecureModelView
from admin.views.current import current_clinic_id, current_timezone
from admin.views.formatters import money_formatter
from admin.views.links import may_open
from core.formatting import format_day, format_when
from models import AvailabilityException, ExceptionKind, Role, StaffUser, Therapist
from services.scheduling.leave import affected_by_leave

WEEKDAYS = [
    (0, _l("Monday")),
    (1, _l("Tuesday")),
    (2, _l("Wednesday")),
    (3, _l("Thursday")),
    (4, _l("Friday")),
    (5, _l("Saturday")),
    (6, _l("Sunday")),
]


def prefill_comma_lists(form: Any, record: Any, *names: str) -> None:
    """A list column edited as one text field: "en, hi" (validated in services.clinics)."""
    if record is None:
        return
    for name in names:
        getattr(form, name).data = ", ".join(getattr(record, name) or [])


class TherapistView(SecureModelView):
    resource = "catalog"
    column_list = ("name", "specialization", "staff_user", "active")
    column_labels = {"staff_user": _l("Login")}
    column_searchable_list = ("name", "specialization")
    form_columns = (
        "name",
        "specialization",
        "gender",
        "languages",
        "staff_user",
        "video_link",
        "active",
    )
    form_overrides = {"gender": SelectField, "languages": StringField}
    form_args = {
        "staff_user": {
            "label": _l("Login"),
            "description": _l(
                "The therapist's own staff login: with it they see their own "
                "sessions, patients and hours."
            ),
        },
        "gender": {
            "choices": [("", _l("Not recorded")), ("female", _l("Female")), ("male", _l("Male"))],
            "description": _l("The bot tells patients who ask for a female or male therapist."),
        },
        "video_link": {
            "label": _l("Video room link"),
            "description": _l(
                "Their own Zoom or Meet room (https://…), used for online sessions when the "
                "clinic's settings choose therapists' own rooms."
            ),
        },
        "languages": {
            "label": _l("Languages spoken"),
            "description": _l("Language codes, separated by commas: en, hi, kn"),
        },
    }

    def on_form_prefill(self, form: Any, id: Any) -> None:
        prefill_comma_lists(form, self.get_one(id), "languages")

    def create_form(self, obj: Any = None) -> Any:
        return self._therapist_logins(super().create_form(obj))

    def edit_form(self, obj: Any = None) -> Any:
        return self._therapist_logins(super().edit_form(obj))

    def _therapist_logins(self, form: Any) -> Any:
        # Staff users are not clinic-scoped rows: offer this clinic's therapist logins only.
        logins = (
            select(StaffUser)
            .where(StaffUser.clinic_id == current_clinic_id(), StaffUser.role == Role.THERAPIST)
            .order_by(StaffUser.email)
        )
        form.staff_user.query_factory = lambda: self.session.scalars(logins).all()
        form.staff_user.query = None
        return form

    def _save(self, obj: Any, *, before: dict[str, Any] | None) -> bool:
        if obj.staff_user is not None:
            with self.session.no_autoflush:
                taken = self.session.scalar(
                    select(Therapist.name).where(
                        Therapist.staff_user_id == obj.staff_user.id,
                        Therapist.id != (obj.id or 0),
                    )
                )
            if taken is not None:
                self.session.rollback()
                flash(f"That login is already {taken}'s.", "error")
                return False
        return super()._save(obj, before=before)


class ServiceView(SecureModelView):
    resource = "catalog"
    column_list = (
        "name",
        "specialization",
        "duration_minutes",
        "price_minor",
        "capacity",
        "active",
    )
    column_labels = {"price_minor": _l("Price"), "duration_minutes": _l("Minutes")}
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
        "in_person",
        "online",
        "aliases",
    )
    form_overrides = {"aliases": StringField}
    form_args = {
        "in_person": {"label": _l("Given in person")},
        "online": {
            "label": _l("Given online (video)"),
            "description": _l(
                "Tick both and the patient chooses; at least one. An online session gets "
                "its video link when it is booked."
            ),
        },
        "aliases": {
            "label": _l("Other names patients use in chat"),
            "description": _l(
                "Separated by commas, e.g. OT, baat cheet therapy. The bot already "
                "knows the common ones (OT, PT, speech, physio, ...)."
            ),
        },
        "prepay_required": {"label": _l("Payment required before the session")},
        "hold_minutes": {
            "label": _l("Hold an unpaid chat booking for (minutes)"),
            "description": _l("The slot is released if a Razorpay link is not paid in time."),
        },
        "accept_partial": {"label": _l("Accept part-payment")},
        "price_minor": {
            "label": _l("Price (minor units, e.g. paise)"),
            "description": _l("80000 = ₹800.00"),
        },
    }

    def on_form_prefill(self, form: Any, id: Any) -> None:
        prefill_comma_lists(form, self.get_one(id), "aliases")


class OverrideView(SecureModelView):
    resource = "catalog"
    allow_delete = True
    column_list = ("therapist", "service", "price_minor", "duration_minutes")
    column_formatters = {"price_minor": money_formatter()}
    form_columns = ("therapist", "service", "price_minor", "duration_minutes")


class LocationView(SecureModelView):
    resource = "settings"
    column_list = ("name", "address", "active")
    form_columns = ("name", "address", "map_url", "active")
    form_args = {
        "map_url": {
            "label": _l("Map link (optional)"),
            "description": _l(
                "e.g. your Google Maps place link; without one, patients get a "
                "map search for the address."
            ),
        }
    }


class WeeklyHoursView(SecureModelView):
    """A therapist keeps their own hours; the desk keeps everyone's."""

    resource = "availability"
    therapist_scope = "therapist"
    allow_delete = True
    column_list = ("therapist", "location", "weekday", "start_time", "end_time")
    column_formatters = {"weekday": lambda v, c, m, n: dict(WEEKDAYS).get(m.weekday, "?")}
    column_default_sort = [("therapist_id", False), ("weekday", False), ("start_time", False)]
    form_columns = ("therapist", "location", "weekday", "start_time", "end_time")
    form_overrides = {"weekday": SelectField}
    form_args = {"weekday": {"choices": WEEKDAYS, "coerce": int}}


class ExceptionView(SecureModelView):
    """Leave, extra hours and clinic holidays. A therapist manages only their own (a
    holiday, with no therapist, closes the whole clinic and is the desk's to set)."""

    resource = "availability"
    therapist_scope = "therapist"
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
        "therapist": {"description": _l("Leave empty to close the whole clinic (a holiday).")},
        "start_time": {"description": _l("Leave both times empty for the whole day.")},
    }

    def get_save_return_url(self, model: Any, is_created: bool = False) -> str:
        """After saving leave (a closed exception), the sessions it falls on, if any."""
        if model.kind == ExceptionKind.CLOSED and affected_by_leave(
            self.session, current_clinic_id(), model.id
        ):
            return url_for(".leave_view", availability_exception_id=model.id)
        return super().get_save_return_url(model, is_created)

    @expose("/leave/<int:availability_exception_id>/")
    def leave_view(self, availability_exception_id: int) -> str:
        """The active sessions inside the exception: open one to move it, or cancel the
        chosen ones (the appointments view's ``leave_cancel_view``, for who may cancel)."""
        exception: AvailabilityException | None = self.get_one(availability_exception_id)
        if exception is None:
            abort(404)
        zone, lang = current_timezone(), panel_lang()
        rows = [
            (a, format_when(a.start_at, zone, lang))
            for a in affected_by_leave(self.session, current_clinic_id(), exception.id)
        ]
        first, last = format_day(exception.start_date, lang), format_day(exception.end_date, lang)
        dates = first if first == last else f"{first} – {last}"
        who = exception.therapist.name if exception.therapist else _("The whole clinic")
        cancel = "appointment.leave_cancel_view"
        return self.render(
            "admin/exception_leave.html",
            exception=exception,
            heading=_("%(who)s closed: %(dates)s", who=who, dates=dates),
            rows=rows,
            cancel_url=url_for(cancel) if may_open(cancel) else None,
        )
