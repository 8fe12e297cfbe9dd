"""The staff panel: Flask-Admin behind Flask-Login, scoped to the staff member's clinic."""

from __future__ import annotations

import warnings
from typing import Any

from flask import Flask
from flask_admin import Admin, BaseView
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin import auth, errors, i18n
from admin.views import alerts, links
from admin.views.alerts import AlertsView
from admin.views.answers import ClinicAnswerView
from admin.views.appointments import AppointmentView
from admin.views.assessments import AssessmentTemplateView
from admin.views.billing import InvoiceView, PackageView, PaymentView, RefundView
from admin.views.calendar import CalendarView
from admin.views.catalog import (
    ExceptionView,
    LocationView,
    OverrideView,
    ServiceView,
    TherapistView,
    WeeklyHoursView,
)
from admin.views.conversations import ConversationsView
from admin.views.dashboard import DashboardView, assets
from admin.views.deployment import AuditLogView, ClinicView, PolicyView
from admin.views.documents import allow_document_uploads
from admin.views.dues import DuesView
from admin.views.exercise_library import ExerciseLibraryView
from admin.views.global_search import SearchView
from admin.views.messaging import MessageTemplateView, OutboundMessageView
from admin.views.notifications import NotificationsView
from admin.views.people import ContactView, PatientView
from admin.views.reports import ReportsView
from admin.views.requests import RescheduleRequestView
from admin.views.simulator import SimulatorView
from admin.views.staff import ProfileView, StaffUserView
from core import tenancy
from core.db import get_db
from core.logging_setup import bind_clinic
from core.security import csp_nonce, csrf
from models import (
    Appointment,
    AuditLog,
    AvailabilityException,
    Clinic,
    ClinicAnswer,
    ClinicPolicy,
    Contact,
    Invoice,
    Location,
    MessageTemplate,
    OutboundMessage,
    Package,
    Patient,
    Payment,
    Refund,
    RescheduleRequest,
    Service,
    StaffUser,
    Therapist,
    TherapistServiceOverride,
    WeeklyHours,
)


def init_app(app: Flask) -> None:
    db = get_db(app)
    session = db.scoped
    # The panel's language per staff member; Flask-Admin's own words ("admin" domain)
    # are read from the same compiled directory first (it ships no Hindi).
    translations = i18n.init_app(app)
    auth.init_app(app)
    app.register_blueprint(assets)  # admin/static: the panel's scripts, no CDN
    links.init_app(app)  # may_open(): a link shows only to those its page lets in
    alerts.init_app(app)  # menu_badges(): the menu's counts of what waits for the desk
    allow_document_uploads(app)  # a patient document may be larger than other requests
    # The list search box's POST (admin.views.listing: SafeListArgs.search) changes nothing
    # but the user's own session, and with SameSite=Lax cookies a cross-site POST has none.
    csrf.exempt("admin.views.listing.search")

    @app.before_request
    def _bind_tenant() -> None:
        # Every ORM query of this request, including Flask-Admin's own (lists,
        # select-field choices, get_one), is filtered to the user's clinic.
        tenancy.unbind(session())
        if current_user.is_authenticated and current_user.clinic_id is not None:
            tenancy.bind(session(), current_user.clinic_id)
            bind_clinic(current_user.clinic_id)  # on this request's log lines

    panel = Admin(
        app,
        name="Roshni",
        url="/admin",
        index_view=DashboardView(session, name=_l("Today"), url="/admin"),
        translations_path=str(translations),
        theme=Bootstrap4Theme(swatch="default", fluid=True),  # no web fonts from a CDN
        csp_nonce_generator=csp_nonce,  # every <script> Flask-Admin writes carries the nonce
    )
    # Flask-Admin 2.x deprecates passing a plain SQLAlchemy session in favour of a
    # Flask-SQLAlchemy object, but that object is the only way its sqla views
    # accept plain SQLAlchemy today; silence just that warning, just here.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Passing a session object directly", category=DeprecationWarning
        )
        for view in _views(session):
            panel.add_view(view)
    errors.init_app(app, panel, rollback=session.rollback)


def _views(session: Any) -> list[BaseView]:
    """The panel's pages, in menu order."""
    return [
        AppointmentView(Appointment, session, name=_l("Appointments")),
        CalendarView(session, name=_l("Calendar"), endpoint="calendar"),
        RescheduleRequestView(
            RescheduleRequest,
            session,
            name=_l("Reschedule requests"),
            endpoint="requests",
            url="/admin/requests",
        ),
        PatientView(Patient, session, name=_l("Patients"), category=_l("People")),
        ContactView(Contact, session, name=_l("Contacts"), category=_l("People")),
        ConversationsView(
            session, name=_l("Conversations"), endpoint="conversations", category=_l("People")
        ),
        SimulatorView(
            session, name=_l("Chat simulator"), endpoint="simulator", category=_l("People")
        ),
        TherapistView(Therapist, session, name=_l("Therapists"), category=_l("Clinic")),
        ServiceView(Service, session, name=_l("Services"), category=_l("Clinic")),
        OverrideView(
            TherapistServiceOverride, session, name=_l("Therapist prices"), category=_l("Clinic")
        ),
        WeeklyHoursView(WeeklyHours, session, name=_l("Weekly hours"), category=_l("Availability")),
        ExceptionView(
            AvailabilityException, session, name=_l("Exceptions"), category=_l("Availability")
        ),
        LocationView(Location, session, name=_l("Locations"), category=_l("Clinic")),
        OutboundMessageView(
            OutboundMessage, session, name=_l("Message log"), category=_l("People")
        ),
        MessageTemplateView(
            MessageTemplate, session, name=_l("Message templates"), category=_l("Settings")
        ),
        PaymentView(Payment, session, name=_l("Payments"), category=_l("Money")),
        InvoiceView(Invoice, session, name=_l("Invoices"), category=_l("Money")),
        RefundView(Refund, session, name=_l("Refunds"), category=_l("Money")),
        PackageView(Package, session, name=_l("Packages"), category=_l("Money")),
        DuesView(session, name=_l("Dues"), endpoint="dues", category=_l("Money")),
        ReportsView(session, name=_l("Reports"), endpoint="reports", category=_l("Money")),
        StaffUserView(StaffUser, session, name=_l("Staff"), category=_l("Settings")),
        ClinicView(Clinic, session, name=_l("Clinics"), category=_l("Settings")),
        PolicyView(ClinicPolicy, session, name=_l("Policies"), category=_l("Settings")),
        ClinicAnswerView(
            ClinicAnswer, session, name=_l("Questions & answers"), category=_l("Settings")
        ),
        AssessmentTemplateView(
            session,
            name=_l("Assessment templates"),
            endpoint="assessment_templates",
            category=_l("Settings"),
        ),
        ExerciseLibraryView(
            session,
            name=_l("Exercise library"),
            endpoint="exercise_library",
            category=_l("Settings"),
        ),
        AuditLogView(AuditLog, session, name=_l("Audit log"), category=_l("Settings")),
        NotificationsView(session, name=_l("Notifications"), endpoint="notifications"),
        ProfileView(session, name=_l("My profile"), endpoint="profile"),
        # Not in the menu: the badge's counts (polled) and the top bar's search results.
        AlertsView(session, name=_l("Alerts"), endpoint="alerts", url="/admin/alerts"),
        SearchView(session, name=_l("Search"), endpoint="search", url="/admin/search"),
    ]
