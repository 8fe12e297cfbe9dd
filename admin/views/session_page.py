"""The session page: who, when, with whom, what is owed, and one row of actions.

A mixin for ``AppointmentView``: the page is that view's details page
(``admin/appointment_details.html``), and each button posts to a route here that finds
the session through the view's scoped query (the clinic's rows; a therapist's own
sessions only), calls one service verb and comes back with a flash saying what
happened. Completing, no-shows and payment links are the verbs the list actions use;
taking money posts to the payments view's ``record`` (every desk method the matrix
lets operators record) and paying from package credit to its ``pay_from_credit``.
Today (``admin/dashboard.html``) posts to the same routes and comes back to Today.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from admin.i18n import panel_lang, word
from admin.permissions import RECORDED_METHODS
from admin.views.access import requires
from admin.views.courses import course_line
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.formatters import clinic_money
from admin.views.links import may_open
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_money, format_phone, format_span, format_time
from models import Appointment
from services.billing import payment_requests
from services.billing.payments import session_due
from services.scheduling import appointments, attendance

# Where a button's POST comes back to: the session page, or Today.
BACK_TO_TODAY = "today"


@dataclass(frozen=True)
class Button:
    """A one-click POST to one of the routes below."""

    key: str
    label: str
    url: str
    style: str = "btn-outline-primary"


@dataclass(frozen=True)
class SessionPage:
    appointment: Appointment
    when: str
    phone: str
    status: str
    payment: str
    arrived: str | None
    started: str | None
    buttons: list[Button] = field(default_factory=list)
    links: list[Button] = field(default_factory=list)
    due_minor: int = 0
    due_text: str = ""
    amount: str = ""
    methods: list[tuple[str, str]] = field(default_factory=list)
    course: str = ""


def _words(value: Any) -> str:
    return word(str(value.value))


class SessionActionsMixin:
    """Routes for the session page's buttons, for a view with ``_scoped(id)``."""

    session: Any
    _scoped: Callable[[Any], Appointment | None]
    allowed: Callable[..., bool]
    can_edit: bool

    # --- what the page shows ------------------------------------------------------------

    def session_page(self, appointment: Appointment) -> SessionPage:
        zone = current_timezone()
        now = utcnow()
        active = appointment.is_active
        today = active and attendance.on_clinic_day(appointment, now, zone)
        begun = appointment.start_at <= now

        def post(key: str, label: str, route: str, style: str = "btn-outline-primary") -> Button:
            return Button(key, label, url_for(f".{route}", appointment_id=appointment.id), style)

        buttons = []
        if today and appointment.arrived_at is None and self.allowed("arrive"):
            buttons.append(post("arrive", _("Arrived"), "arrive_view", "btn-primary"))
        if today and appointment.started_at is None and self.allowed("start"):
            buttons.append(post("start", _("In session"), "start_view"))
        if active and begun and self.allowed("complete"):
            buttons.append(post("complete", _("Completed"), "complete_view", "btn-success"))
        if active and begun and appointment.started_at is None and self.allowed("no_show"):
            buttons.append(post("no_show", _("No-show"), "no_show_view", "btn-outline-danger"))
        due = session_due(self.session, appointment)
        if due and self.allowed("payment_link"):
            buttons.append(post("payment_link", _("Send payment link"), "payment_link_view"))

        back = url_for(".details_view", id=appointment.id)
        links = []
        if active and self.can_edit and self.allowed("update"):
            links.append(
                Button("move", _("Move"), url_for(".edit_view", id=appointment.id, url=back), "")
            )
        if active and self.allowed("cancel"):
            links.append(
                Button(
                    "cancel",
                    _("Cancel…"),
                    url_for(".cancel_view", id=appointment.id, back="session"),
                    "text-danger",
                )
            )
        if appointment.series_id is not None and self.allowed("update"):
            links.append(
                Button(
                    "course",
                    _("Cancel or move in the course…"),
                    url_for(".course_view", appointment_id=appointment.id),
                    "",
                )
            )
        if may_open("conversations.for_contact"):
            url = url_for("conversations.for_contact", contact_id=appointment.patient.contact_id)
            links.append(Button("message", _("Message"), url, ""))
        if self.allowed("notes"):
            links.append(
                Button("note", _("Note"), url_for(".notes_view", appointment_id=appointment.id), "")
            )

        methods = (
            [(m.value, word(m.label)) for m in RECORDED_METHODS]
            if due and may_open("payment.record")
            else []
        )
        currency = current_user.clinic.currency
        return SessionPage(
            appointment=appointment,
            when=format_span(appointment.start_at, appointment.end_at, zone, panel_lang()),
            phone=format_phone(appointment.patient.contact.phone),
            status=_words(appointment.status),
            payment=_words(appointment.payment_status),
            arrived=self._clock(appointment.arrived_at),
            started=self._clock(appointment.started_at),
            buttons=buttons,
            links=links,
            due_minor=due,
            due_text=clinic_money(due) if due else "",
            amount=format_money(due, currency, short=True).lstrip("₹") if due else "",
            methods=methods,
            course=course_line(self.session, appointment),
        )

    def _clock(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return format_time(value.astimezone(ZoneInfo(current_timezone())), panel_lang())

    # --- the buttons --------------------------------------------------------------------

    def _act(
        self, appointment_id: int, call: Callable[..., Any], done: str | Callable[[Any], str]
    ) -> Response:
        appointment = self._scoped(appointment_id)
        if appointment is None:
            abort(404)
        with refused_as_flash(self.session) as outcome:
            result = call(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=appointment.id,
                now=utcnow(),
                actor=staff_actor(),
            )
        if outcome.ok:
            flash(done if isinstance(done, str) else done(result), "success")
        return redirect(
            back_to(request.form.get("back")) or url_for(".details_view", id=appointment.id)
        )

    @expose("/session/<int:appointment_id>/actions")
    def actions_view(self, appointment_id: int) -> str:
        """The summary and buttons alone, for the calendar's popover (session-popover.js)."""
        appointment = self._scoped(appointment_id)
        if appointment is None:
            abort(404)
        back = request.args.get("back")
        return self.render(  # type: ignore[attr-defined]
            "admin/session_popover.html",
            model=appointment,
            page=self.session_page(appointment),
            back=back if back_to(back) else None,
        )

    @expose("/session/<int:appointment_id>/arrive", methods=("POST",))
    @requires("arrive")
    def arrive_view(self, appointment_id: int) -> Response:
        return self._act(appointment_id, attendance.check_in, _("Checked in: the patient is here."))

    @expose("/session/<int:appointment_id>/start", methods=("POST",))
    @requires("start")
    def start_view(self, appointment_id: int) -> Response:
        return self._act(appointment_id, attendance.start_session, _("In session."))

    @expose("/session/<int:appointment_id>/complete", methods=("POST",))
    @requires("complete")
    def complete_view(self, appointment_id: int) -> Response:
        return self._act(
            appointment_id, appointments.complete_appointment, _("Marked as completed.")
        )

    @expose("/session/<int:appointment_id>/no-show", methods=("POST",))
    @requires("no_show")
    def no_show_view(self, appointment_id: int) -> Response:
        return self._act(appointment_id, appointments.mark_no_show, _("Marked as no-show."))

    @expose("/session/<int:appointment_id>/payment-link", methods=("POST",))
    @requires("payment_link")
    def payment_link_view(self, appointment_id: int) -> Response:
        return self._act(
            appointment_id, payment_requests.send_payment_request, _payment_request_sentence
        )


def back_to(back: str | None) -> str | None:
    """Where a button's POST returns when it did not come from the session page: Today, or
    the calendar page it was pressed on (a path of this panel's calendar, nothing else)."""
    if back == BACK_TO_TODAY:
        return url_for("admin.index")
    calendar = url_for("calendar.index")
    if back and back.startswith(calendar) and "//" not in back and "\\" not in back:
        return back
    return None


def _payment_request_sentence(asked: payment_requests.PaymentRequest) -> str:
    if asked.kind == "settled":
        return _("Paid from money on account.")
    if asked.kind == "upi":
        return _("UPI request sent in the chat.")
    return _("Payment link queued for the chat.")
