"""Home after login: the day, the week ahead, attendance, money, utilisation.

What each role sees follows the Reports row of the permission matrix: an admin
everything; an operator the basics without money; a therapist their own sessions
and numbers only; an accountant money and totals without patient names. A
superadmin (no clinic) gets the clinics of the deployment. The numbers come from
``services.reports.dashboard`` (a fixed number of statements each); charts are drawn by
``admin/static/dashboard.js`` from a JSON block, so no inline script is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask_admin import AdminIndexView, expose
from flask_babel import gettext as _
from flask_login import current_user

from admin.i18n import panel_lang
from admin.views.access import FRONT_DESK, Guarded, SessionPage
from admin.views.current import current_timezone
from admin.views.links import may_open
from core.clock import utcnow
from core.formatting import format_day, format_money, format_time, format_weekday, to_major
from models import AppointmentStatus, Role
from services.clinical import session_records
from services.reports import dashboard as reports
from services.staff import accounts as staff

# The panel's own scripts and vendored libraries (admin/static), served by the app
# itself at a stable URL: no CDN, and the CSP's script-src 'self' covers them.
assets = Blueprint(
    "panel_assets",
    "admin",
    static_folder="static",
    static_url_path="/admin-assets",
)

# Bootstrap 4 badge colours per status.
STATUS_BADGES = {
    AppointmentStatus.BOOKED: "info",
    AppointmentStatus.CONFIRMED: "primary",
    AppointmentStatus.COMPLETED: "success",
    AppointmentStatus.NO_SHOW: "danger",
    AppointmentStatus.CANCELLED: "secondary",
    AppointmentStatus.REQUESTED: "warning",
}


@dataclass(frozen=True)
class Sections:
    """Which parts of the dashboard a role may see."""

    today: bool = False
    patient_names: bool = False
    week: bool = False
    utilisation: bool = False
    attendance: bool = False
    money: bool = False
    own_only: bool = False


SECTIONS = {
    Role.ADMIN: Sections(
        today=True, patient_names=True, week=True, utilisation=True, attendance=True, money=True
    ),
    Role.OPERATOR: Sections(
        today=True, patient_names=True, week=True, utilisation=True, attendance=True
    ),
    Role.THERAPIST: Sections(
        today=True, patient_names=True, week=True, utilisation=True, attendance=True, own_only=True
    ),
    # Financial reports: money and totals, never a patient's name.
    Role.ACCOUNTANT: Sections(week=True, attendance=True, money=True),
}


class DashboardView(Guarded, SessionPage, AdminIndexView):
    # Every signed-in user lands here ("home" in admin.permissions); what the page
    # shows follows the "reports" row, as SECTIONS.
    resource = "home"

    @expose("/")
    def index(self) -> str:
        now = utcnow()
        if current_user.clinic_id is None:
            return self.render(
                "admin/dashboard.html",
                clinics=reports.clinics_overview(self.session, now=now),
                sections=None,
            )
        return self._clinic_dashboard(now)

    def _clinic_dashboard(self, now: Any) -> str:
        clinic_id = current_user.clinic_id
        zone = ZoneInfo(current_timezone())
        currency = current_user.clinic.currency
        lang = panel_lang()
        sections = SECTIONS[current_user.role]
        therapist_id: int | None = None
        if sections.own_only:
            therapist = staff.linked_therapist(self.session, clinic_id, current_user.id)
            if therapist is None:  # a therapist login not linked to a therapist yet
                return self.render("admin/dashboard.html", sections=sections, unlinked=True)
            therapist_id = therapist.id

        scope = {"therapist_id": therapist_id}
        today = (
            reports.todays_sessions(self.session, clinic_id, now=now, zone=zone, **scope)
            if sections.today
            else None
        )
        week = (
            reports.week_ahead(self.session, clinic_id, now=now, zone=zone, **scope)
            if sections.week
            else None
        )
        rates = (
            reports.attendance(self.session, clinic_id, now=now, **scope)
            if sections.attendance
            else None
        )
        money = (
            reports.month_money(self.session, clinic_id, now=now, zone=zone)
            if sections.money
            else None
        )
        # Sessions that have begun without a signed record: the therapist's own, or (an
        # admin) the clinic's. Only for those who may open a session's notes.
        needing = (
            session_records.sessions_needing_records(
                self.session,
                clinic_id,
                now=now,
                therapist_staff_id=current_user.id if sections.own_only else None,
            )
            if may_open("appointment.notes_view")
            else None
        )
        return self.render(
            "admin/dashboard.html",
            sections=sections,
            needing=needing,
            zone=zone,
            today=today,
            week=week,
            rates=rates,
            money=money,
            charts=_chart_data(sections, week, money, currency),
            badges=STATUS_BADGES,
            links=current_user.role in FRONT_DESK,
            now=now,
            active=AppointmentStatus.booked(),  # a request gets no desk buttons
            # The session page's buttons, inline, for the roles that route lets in.
            can={
                verb: may_open(f"appointment.{verb}_view")
                for verb in ("arrive", "complete", "no_show", "details")
            },
            money_text=lambda minor: format_money(minor, currency, lang=lang),
            percent=_percent,
            day=lambda d: format_day(d, lang),
            weekday=lambda d: format_weekday(d, lang),
            clock=lambda dt: format_time(dt.astimezone(zone), lang),
        )


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _chart_data(
    sections: Sections,
    week: reports.WeekLoad | None,
    money: reports.MonthMoney | None,
    currency: str,
) -> dict[str, Any]:
    """What dashboard.js draws, as plain JSON (read from a non-executable script block)."""
    charts: dict[str, Any] = {}
    if week is not None:
        labels = [format_day(d, panel_lang()) for d in week.days]
        if sections.utilisation:  # per-therapist detail alongside
            datasets = [
                {"label": t.name, "data": t.sessions_per_day} for t in week.therapists if t.sessions
            ]
        else:
            datasets = [{"label": _("Sessions"), "data": week.sessions_per_day}]
        charts["load"] = {
            "labels": labels,
            "datasets": datasets,
            "stacked": True,
            "integer": True,
        }
        if sections.utilisation:
            charts["utilisation"] = {
                "labels": [t.name for t in week.therapists],
                "datasets": [
                    {
                        "label": _("Booked ÷ available hours (%)"),
                        "data": [
                            None if t.utilisation is None else round(t.utilisation * 100, 1)
                            for t in week.therapists
                        ],
                    }
                ],
                "max": 100,
            }
    if money is not None:
        charts["money"] = {
            "labels": [_("Collected this month"), _("Outstanding dues")],
            "datasets": [
                {
                    "label": currency,
                    "data": [
                        float(to_major(money.collected_minor, currency)),
                        float(to_major(money.outstanding_minor, currency)),
                    ],
                }
            ],
            "horizontal": True,
        }
    return charts
