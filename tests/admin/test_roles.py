"""The roles matrix, enforced: every registered admin view, route and action, for every role.

The walker reads the views from the app (``app.extensions["admin"]``) and what
each role may do from ``admin.permissions``, so a view added later is walked too.
It also puts other clinics' ids (and, for a therapist, other therapists' rows)
into every URL that takes an id: the answer is never a page with their data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from flask import url_for
from sqlalchemy import func, or_, select
from werkzeug.exceptions import HTTPException

from admin import permissions
from admin.views.access import BUILTIN_VERBS, SHARED, route_verb
from models import (
    AuditLog,
    Base,
    BookingSource,
    Channel,
    Clinic,
    ClinicAnswer,
    ExceptionKind,
    MessageTemplate,
    NotificationKind,
    Package,
    PaymentMethod,
    Relation,
    Role,
    StaffUser,
    Therapist,
    TherapistServiceOverride,
)
from models.conversation import Conversation
from services.audit import Actor
from services.billing import invoices as billing
from services.billing import payments, refunds
from services.clinics import catalog
from services.messaging.staff_notices import notify_therapist
from services.people import patients
from services.scheduling.appointments import book_appointment
from services.staff.accounts import create_staff_user
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.conftest import NOW, SYSTEM

ROLES = ("anonymous", "superadmin", "admin", "operator", "therapist", "accountant")
# Words that appear only in another clinic's rows, and in clinic A's rows that belong
# to the therapist who is not the logged-in one. Compared case-insensitively.
OTHER_CLINIC = "bclinic"
NOT_MINE = "notmine"
# Flask-Admin's own routes that bounce a refused user back to the list (302)
# instead of answering 403.
BOUNCING = {"create_view", "edit_view", "delete_view", "details_view"}
# Flask-Admin's routes that take the row's id in the query string.
ID_ROUTES = {"edit_view", "details_view", "delete_view"}
# Routes the walker does not POST to for a role that may: they would only need a
# real form, or destroy the rows the rest of the walk reads.
NOT_POSTED_WHEN_ALLOWED = {"create_view", "edit_view", "delete_view"}


# --- the world: two clinics with a row for every view, two therapists in clinic A -------


@dataclass
class World:
    a: Clinic
    b: Clinic
    emails: dict[str, str]
    # What the logged-in therapist of clinic A owns, by scope ("therapist", "patient", …).
    own: dict[str, set[int]]
    rows: dict[str, Any] = field(default_factory=dict)


def _person(session, clinic, contact_name: str, patient_name: str, phone: str):
    contact = patients.create_contact(
        session, clinic_id=clinic.id, phone=phone, name=contact_name, actor=SYSTEM
    )
    return patients.add_patient(
        session,
        clinic_id=clinic.id,
        contact_id=contact.id,
        name=patient_name,
        relation=Relation.CHILD,
        date_of_birth=date(2019, 3, 12),
        actor=SYSTEM,
        today=NOW.date(),
    )


def _furnish(session, clinic, therapist, service, patient, start, marker: str) -> dict[str, Any]:
    """A booking with its invoice and payment, hours' exception, price, package,
    template, conversation and reschedule request: one row for every view."""
    appointment = book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        therapist_id=therapist.id,
        start=start,
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )
    # Money handed back before anything was owed: a refund row for the Refunds list.
    returned = payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        amount_minor=2000,
        method=PaymentMethod.CASH,
        now=NOW,
        actor=SYSTEM,
    )
    refund = refunds.refund_payment(
        session,
        clinic_id=clinic.id,
        payment_id=returned.id,
        amount_minor=2000,
        reason=f"Paid twice {marker}",
        now=NOW,
        actor=Actor.staff(1),
    )
    invoice = billing.invoice_appointment(session, appointment, now=NOW, actor=SYSTEM)
    session.commit()
    payment = payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        patient_id=patient.id,
        amount_minor=5000,
        method=PaymentMethod.CASH,
        now=NOW,
        actor=SYSTEM,
    )
    catalog.add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.CLOSED,
        therapist_id=therapist.id,
        start_date=date(2026, 12, 24),
        end_date=date(2026, 12, 24),
        reason=f"Leave {marker}",
        actor=SYSTEM,
    )
    session.add(
        Conversation(
            clinic_id=clinic.id,
            channel=Channel.WHATSAPP,
            phone=patient.contact.phone,
            contact_id=patient.contact_id,
            state="menu",
            last_turn_at=NOW,
            handoff_at=NOW,
        )
    )
    session.commit()
    try:
        from services.scheduling.reschedule_requests import request_reschedule
    except ImportError:  # the requests engineer's module; its view is walked when present
        request = None
    else:
        request = request_reschedule(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            proposed_start=None,
            note=f"Can we move it? {marker}",
            now=NOW,
            actor=Actor.contact(patient.contact_id),
        )
        session.commit()
    return {
        "appointment": appointment,
        "invoice": invoice,
        "payment": payment,
        "refund": refund,
        "request": request,
    }


@pytest.fixture
def world(session, make_clinic, make_therapist, make_service) -> World:
    a = make_clinic(name="Clinic A", slug="clinic-a")
    b = make_clinic(name="Bclinic Centre", slug="clinic-b", timezone="Europe/London")
    emails = {
        "superadmin": "root@roshni.example",
        "admin": "admin@a.example",
        "operator": "operator@a.example",
        "therapist": "therapist@a.example",
        "accountant": "accountant@a.example",
    }
    for role, email in emails.items():
        create_staff_user(
            session,
            email=email,
            password=PASSWORD,
            role=Role(role),
            clinic_id=None if role == "superadmin" else a.id,
            actor=SYSTEM,
        )
    create_staff_user(
        session,
        email="admin@bclinic.example",
        password=PASSWORD,
        role=Role.ADMIN,
        clinic_id=b.id,
        actor=SYSTEM,
    )
    own_therapist = make_therapist(a, name="Dr. Tara Own")
    other_therapist = make_therapist(a, name="Dr. Omar Second")
    own_therapist.staff_user_id = session.scalar(
        select(StaffUser.id).where(StaffUser.email == emails["therapist"])
    )
    session.commit()
    service_a = make_service(a)
    own_patient = _person(session, a, "Asha Ownguardian", "Olivia Ownpatient", "+919876500001")
    other_patient = _person(session, a, "Gita Notmine", "Oscar Notmine", "+919876500002")
    tomorrow = NOW + timedelta(days=1)
    at_a = tomorrow.replace(hour=5, minute=30)  # 11:00 in Kolkata
    own = _furnish(session, a, own_therapist, service_a, own_patient, at_a, "own")
    other = _furnish(session, a, other_therapist, service_a, other_patient, at_a, NOT_MINE)

    therapist_b = make_therapist(b, name="Dr. Bclinic")
    service_b = make_service(b, name="Bclinic Service")
    patient_b = _person(session, b, "Bclinic Guardian", "Bclinic Patient", "+919876500003")
    at_b = tomorrow.replace(hour=10, minute=0)
    _furnish(session, b, therapist_b, service_b, patient_b, at_b, OTHER_CLINIC)

    for clinic, therapist, service, name in (
        (a, own_therapist, service_a, "Ten sessions"),
        (b, therapist_b, service_b, "Bclinic pack"),
    ):
        session.add(
            TherapistServiceOverride(
                clinic_id=clinic.id,
                therapist_id=therapist.id,
                service_id=service.id,
                price_minor=90000,
            )
        )
        session.add(
            Package(
                clinic_id=clinic.id,
                name=name,
                service_id=service.id,
                sessions=10,
                price_minor=700000,
            )
        )
        session.add(
            MessageTemplate(
                clinic_id=clinic.id,
                channel=Channel.WHATSAPP,
                key="reminder",
                content_sid="HX" + "0" * 32,
                variable_order=["patient"],
            )
        )
        session.add(
            ClinicAnswer(
                clinic_id=clinic.id,
                question="Is there parking?",
                keywords="parking",
                answer_en="Yes, behind the building.",
            )
        )
    session.commit()
    return World(
        a=a,
        b=b,
        emails=emails,
        own={
            "therapist": {own_therapist.id},
            "appointment": {own["appointment"].id},
            "patient": {own_patient.id},
            "contact": {own_patient.contact_id},
        },
        rows={"own": own, "other": other, "other_patient": other_patient},
    )


# --- the walker --------------------------------------------------------------------------


def admin_views(app) -> list[Any]:
    (panel,) = app.extensions["admin"]
    return list(panel._views)


def view_routes(app, view) -> list[tuple[str, Any]]:
    """(route name, werkzeug rule) for every URL the view serves, static files aside.

    A rule hidden behind another of the same URL (a custom ``/new/`` over
    Flask-Admin's create_view) is left out: requests never reach it.
    """
    prefix = view.endpoint + "."
    adapter = app.url_map.bind("localhost")
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(prefix) or rule.endpoint.endswith(".static"):
            continue
        sample = {
            arg: 1 if "Integer" in type(rule._converters[arg]).__name__ else "csv"
            for arg in rule.arguments
        }
        path = rule.build(sample)[1]
        method = "GET" if "GET" in rule.methods else "POST"
        try:
            served_by, _ = adapter.match(path, method=method)
        except HTTPException:  # a redirect or a method clash: keep the rule
            served_by = rule.endpoint
        if served_by == rule.endpoint:
            routes.append((rule.endpoint[len(prefix) :], rule))
    return routes


def undeclared(app) -> list[str]:
    """What the matrix does not cover: views without a resource, write routes without a verb."""
    problems = []
    for view in admin_views(app):
        resource = getattr(view, "resource", None)
        if resource not in permissions.MATRIX:
            problems.append(
                f"add {view.endpoint} to admin/permissions.py: {type(view).__name__} needs "
                f"resource = one of {sorted(permissions.MATRIX)} (it has {resource!r})"
            )
            continue
        scope = getattr(view, "therapist_scope", None)
        if scope is not None and scope not in (
            "therapist",
            "appointment",
            "patient",
            "contact",
            SHARED,
        ):
            problems.append(f"{view.endpoint}: unknown therapist_scope {scope!r}")
        for name, rule in view_routes(app, view):
            if (
                "POST" in rule.methods
                and name not in BUILTIN_VERBS
                and route_verb(view, name) is None
            ):
                problems.append(
                    f"add {view.endpoint}.{name} to admin/permissions.py: decorate the "
                    f"POST route with @requires(<verb of {resource!r}>) from admin.views.access"
                )
    return problems


def expected(view, role: str, name: str) -> bool:
    """Does the matrix (and the view's own switches) let ``role`` use this route?"""
    if role == "anonymous":
        return False
    role_ = Role(role)
    resource = view.resource
    verb = route_verb(view, name) or permissions.READ
    if not permissions.allowed(resource, role_, verb):
        return False
    if permissions.own_only(resource, role_) and getattr(view, "therapist_scope", None) is None:
        return False
    switches = {
        "create_view": getattr(view, "allow_create", True),
        "edit_view": getattr(view, "allow_edit", True),
        "delete_view": getattr(view, "allow_delete", True),
        "details_view": getattr(view, "can_view_details", True),
        "export": getattr(view, "csv_export", False),
    }
    return switches.get(name, True)


def action_allowed(view, role: str, action: str) -> bool:
    if role == "anonymous":
        return False
    role_ = Role(role)
    if permissions.own_only(view.resource, role_) and view.therapist_scope is None:
        return False
    if action == "delete" and not getattr(view, "allow_delete", True):
        return False  # Flask-Admin's own bulk delete follows the view's switch
    return permissions.allowed(view.resource, role_, action)


def login(app, world, role: str):
    client = app.test_client()
    log_in(client, world.emails[role])
    return client, csrf_token(client, "/admin/")


def text_of(response) -> str:
    """The body as text (PDFs and other bytes decoded loosely: markers are ASCII)."""
    return response.get_data().decode("utf-8", errors="replace")


def model_for(view, arg: str) -> Any:
    """The model an id argument points at: ``payment_id`` → Payment; else the view's."""
    table = arg[: -len("_id")] if arg.endswith("_id") else None
    for mapper in Base.registry.mappers:
        if table and mapper.class_.__tablename__ == table:
            return mapper.class_
    return getattr(view, "model", None)


def row_id(session, model, clinic_id: int, scope: str | None, own: dict, mine: bool | None):
    """A row of ``model`` in ``clinic_id``: the therapist's own (mine=True), another
    therapist's (mine=False) or any (None)."""
    pk = model.__mapper__.primary_key[0]
    query = select(pk)
    if model is Clinic:
        query = query.where(Clinic.id == clinic_id)
    elif hasattr(model, "clinic_id"):
        query = query.where(model.clinic_id == clinic_id)
    if mine is not None and scope not in (None, SHARED):
        column = model.id if model.__tablename__ == scope else getattr(model, f"{scope}_id", None)
        if column is None:
            return None
        ids = own[scope]
        query = query.where(column.in_(ids) if mine else or_(column.not_in(ids), column.is_(None)))
    return session.scalar(query.order_by(pk).limit(1))


@dataclass
class Walk:
    app: Any
    client: Any
    role: str
    world: World
    session: Any
    token: str
    problems: list[str] = field(default_factory=list)

    def url(self, view, name: str, rule, which: str) -> str | None:
        """The route's URL with ids of clinic A ("a"), another therapist ("notmine") or B."""
        model = getattr(view, "model", None)
        scope = getattr(view, "therapist_scope", None)
        clinic = self.world.b if which == "b" else self.world.a
        mine = {"a": True, "notmine": False, "b": None}[which]
        values: dict[str, Any] = {}
        for arg in rule.arguments:
            converter = type(rule._converters[arg]).__name__
            if converter == "IntegerConverter":
                target = model_for(view, arg)
                if target is None:
                    return None
                ident = row_id(self.session, target, clinic.id, scope, self.world.own, mine)
                if ident is None:
                    return None
                values[arg] = ident
            else:
                values[arg] = "csv" if arg == "export_type" else "x"
        if model is not None:
            ident = row_id(self.session, model, clinic.id, scope, self.world.own, mine)
            if ident is None:
                if which == "a" and name in ("edit_view", "details_view"):
                    self.problems.append(
                        f"{view.endpoint}: the world has no {model.__name__} row; add one to "
                        "the world fixture in tests/admin/test_roles.py"
                    )
                return None
            values["id"] = ident
        with self.app.test_request_context():
            return url_for(f"{view.endpoint}.{name}", **values)

    def audit_rows(self) -> int:
        self.session.rollback()  # see what the app committed
        return self.session.scalar(select(func.count()).select_from(AuditLog))

    def leaks(self, body: str, which: str) -> bool:
        """Does a page show another clinic's rows, or (to a therapist) a colleague's?"""
        text = body.lower()
        if self.role != "superadmin" and OTHER_CLINIC in text:
            return True
        return self.role == "therapist" and NOT_MINE in text

    def fail(self, message: str) -> None:
        self.problems.append(f"[{self.role}] {message}")

    # --- GET ---------------------------------------------------------------------------

    def get(self, view, name: str, rule) -> None:
        url = self.url(view, name, rule, "a")
        if url is None:
            return
        allowed = expected(view, self.role, name)
        response = self.client.get(url)
        status = response.status_code
        where = response.headers.get("Location", "")
        if status >= 500:
            self.fail(f"GET {url} → {status}")
        elif self.role == "anonymous":
            if not (status == 302 and "/login" in where):
                self.fail(f"GET {url} → {status} {where}, expected a redirect to /login")
        elif allowed:
            if status in (401, 403) or (status == 302 and "/login" in where):
                self.fail(f"GET {url} → {status}, but the matrix allows it")
            elif name in ("index_view", "index", "edit_view", "details_view") and status != 200:
                self.fail(f"GET {url} → {status} {where}, expected the page")
            elif status == 200 and self.leaks(text_of(response), "a"):
                self.fail(f"GET {url} shows rows that are not the user's")
            if name == "export" and status == 200:
                self.check_export(url, response)
        elif not self.refused(name, url, response):
            self.fail(f"GET {url} → {status} {where}, but the matrix forbids it")
        if allowed:
            self.get_foreign(view, name, rule)

    def refused(self, name: str, url: str, response) -> bool:
        status = response.status_code
        if status == 403:
            return True
        where = response.headers.get("Location", "")
        return (
            name in BOUNCING
            and status == 302
            and "/login" not in where
            and where.split("?")[0] != url.split("?")[0]
        )

    def get_foreign(self, view, name: str, rule) -> None:
        """Other clinics' ids (and other therapists' rows, for a therapist) never show."""
        for which in ("b", "notmine") if self.role == "therapist" else ("b",):
            if self.role == "superadmin":
                return  # deployment-wide by design: every clinic's clinics, staff and audit
            url = self.url(view, name, rule, which)
            if url is None:
                continue
            response = self.client.get(url)
            status = response.status_code
            body = text_of(response)
            takes_id = bool(rule.arguments - {"export_type"}) or name in ID_ROUTES
            if status >= 500:
                self.fail(f"GET {url} ({which}) → {status}")
            elif takes_id and status == 200 and name not in ("index_view", "index", "export"):
                if self.leaks(body, which) or which == "b" or name in ("edit_view", "details_view"):
                    self.fail(f"GET {url} with {which}'s id → 200, expected 403/404")
            elif status == 200 and self.leaks(body, which):
                self.fail(f"GET {url} ({which}) shows rows that are not the user's")

    def check_export(self, url: str, response) -> None:
        if not response.mimetype.startswith("text/csv"):
            self.fail(f"GET {url} is not a CSV ({response.mimetype})")
        self.session.rollback()
        exports = self.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "export.csv")
        )
        if not exports:
            self.fail(f"GET {url} exported without an audit row")

    # --- POST --------------------------------------------------------------------------

    def post(self, view, name: str, rule) -> None:
        if name == "action_view":
            for action, _text in getattr(view, "_actions", []):
                self.post_action(view, rule, action)
            return
        allowed = expected(view, self.role, name)
        if allowed and name in NOT_POSTED_WHEN_ALLOWED:
            return
        url = self.url(view, name, rule, "a")
        if url is None:
            return
        before = self.audit_rows()
        response = self.client.post(url, data={"csrf_token": self.token})
        status = response.status_code
        where = response.headers.get("Location", "")
        if status >= 500:
            self.fail(f"POST {url} → {status}")
        elif self.role == "anonymous":
            if not (status == 302 and "/login" in where):
                self.fail(f"POST {url} → {status}, expected a redirect to /login")
        elif allowed:
            if status in (401, 403):
                self.fail(f"POST {url} → {status}, but the matrix allows it")
        elif not self.refused(name, url, response):
            self.fail(f"POST {url} → {status} {where}, but the matrix forbids it")
        if not allowed and self.audit_rows() != before:
            self.fail(f"POST {url} was refused but changed something (a new audit row)")
        if allowed and self.role != "superadmin":
            self.post_foreign(view, name, rule)

    def post_foreign(self, view, name: str, rule) -> None:
        for which in ("b", "notmine") if self.role == "therapist" else ("b",):
            url = self.url(view, name, rule, which)
            if url is None or not (rule.arguments or getattr(view, "model", None)):
                continue
            before = self.audit_rows()
            response = self.client.post(url, data={"csrf_token": self.token})
            if response.status_code >= 500:
                self.fail(f"POST {url} ({which}) → {response.status_code}")
            if self.audit_rows() != before:
                self.fail(f"POST {url} with {which}'s id changed something")

    def post_action(self, view, rule, action: str) -> None:
        allowed = action_allowed(view, self.role, action)
        url = self.url(view, "action_view", rule, "a")
        ident = row_id(
            self.session, view.model, self.world.a.id, view.therapist_scope, self.world.own, True
        )
        if url is None or ident is None:
            return
        foreign = [("b", self.world.b.id, None)]
        if self.role == "therapist":
            foreign.append(("notmine", self.world.a.id, False))
        for which, clinic_id, mine in foreign if allowed else []:
            other = row_id(
                self.session, view.model, clinic_id, view.therapist_scope, self.world.own, mine
            )
            if other is None:
                continue
            before = self.audit_rows()
            response = self.client.post(
                url, data={"csrf_token": self.token, "action": action, "rowid": [str(other)]}
            )
            if response.status_code >= 500 or self.audit_rows() != before:
                self.fail(f"action {view.endpoint}.{action} on {which}'s row was carried out")
        before = self.audit_rows()
        response = self.client.post(
            url, data={"csrf_token": self.token, "action": action, "rowid": [str(ident)]}
        )
        status = response.status_code
        where = response.headers.get("Location", "")
        if status >= 500:
            self.fail(f"action {view.endpoint}.{action} → {status}")
        elif self.role == "anonymous":
            if not (status == 302 and "/login" in where):
                self.fail(f"action {view.endpoint}.{action} → {status}, expected /login")
        elif allowed and status in (401, 403):
            self.fail(f"action {view.endpoint}.{action} → {status}, but the matrix allows it")
        elif not allowed and status != 403:
            self.fail(f"action {view.endpoint}.{action} → {status}, but the matrix forbids it")
        if not allowed and self.audit_rows() != before:
            self.fail(f"action {view.endpoint}.{action} was refused but changed something")


def test_every_view_names_its_resource_and_every_write_route_its_verb(app):
    problems = undeclared(app)
    assert not problems, "\n".join(problems)


def test_the_session_page_s_buttons_are_walked_with_their_own_verbs(app):
    """The session page's (and Today's) buttons are routes of the appointments view, so the
    walk below posts to each for every role; the verbs are the list actions' own."""
    (view,) = [v for v in admin_views(app) if v.endpoint == "appointment"]
    routes = dict(view_routes(app, view))
    verbs = {
        "arrive_view": "arrive",
        "start_view": "start",
        "complete_view": "complete",
        "no_show_view": "no_show",
        "payment_link_view": "payment_link",
    }
    for name, verb in verbs.items():
        assert "POST" in routes[name].methods and route_verb(view, name) == verb
    assert [role for role in ROLES if expected(view, role, "arrive_view")] == ["admin", "operator"]
    assert [role for role in ROLES if expected(view, role, "complete_view")] == [
        "admin",
        "operator",
        "therapist",
    ]


def test_booking_requests_are_decided_by_the_front_desk_only(app):
    """The Booking requests page and its Approve / Decline (POST) are routes of the
    appointments view, walked below for every role; only those who may book decide."""
    (view,) = [v for v in admin_views(app) if v.endpoint == "appointment"]
    routes = dict(view_routes(app, view))
    for name in ("approve_request_view", "decline_request_view"):
        assert "POST" in routes[name].methods and route_verb(view, name) == "create"
    for name in ("booking_requests_view", "approve_request_view", "decline_request_view"):
        assert [role for role in ROLES if expected(view, role, name)] == ["admin", "operator"]


def test_the_matrix_names_real_roles_and_the_issue_s_rules(app):
    for resource, by_role in permissions.MATRIX.items():
        assert set(by_role) <= set(Role), resource
    allowed = permissions.allowed
    # Spot checks of the issue's table, row by row.
    assert allowed("staff", Role.ADMIN, "create")
    assert not allowed("staff", Role.OPERATOR, "read")
    assert allowed("profile", Role.THERAPIST, "update")
    assert allowed("patients", Role.OPERATOR, "delete")
    assert permissions.own_only("patients", Role.THERAPIST)
    assert not allowed("patients", Role.ACCOUNTANT, "update")
    assert not allowed("catalog", Role.OPERATOR, "update")
    assert allowed("availability", Role.OPERATOR, "create")
    assert permissions.own_only("availability", Role.THERAPIST)
    assert not allowed("availability", Role.ACCOUNTANT, "update")
    assert allowed("appointments", Role.OPERATOR, "cancel")
    assert not allowed("appointments", Role.OPERATOR, "delete")
    assert allowed("appointments", Role.THERAPIST, "complete")
    assert not allowed("appointments", Role.THERAPIST, "cancel")
    assert allowed("payments", Role.OPERATOR, "record")
    assert allowed("payments", Role.OPERATOR, "remind")
    assert not allowed("payments", Role.OPERATOR, "refund")
    assert not allowed("payments", Role.OPERATOR, "void")
    assert not allowed("payments", Role.OPERATOR, "sell")
    assert not allowed("payments", Role.THERAPIST, "record")
    assert allowed("payments", Role.ACCOUNTANT, "refund")
    assert allowed("reports", Role.ACCOUNTANT, "financial")
    assert not allowed("reports", Role.OPERATOR, "financial")
    assert not any(allowed(r, Role.SUPERADMIN, "read") for r in ("patients", "payments"))


def test_the_walk_reaches_the_alerts_badge_and_the_search_page(app):
    """Pages outside the menu are walked too: every signed-in user may open them ("home");
    what each shows follows the rows of the lists they lead to."""
    walked = {
        f"{view.endpoint}.{name}"
        for view in admin_views(app)
        for name, _rule in view_routes(app, view)
    }
    assert {"alerts.index", "search.index"} <= walked
    # Everyone's own notifications (the "profile" row): the page, mark read, WhatsApp choice.
    assert {"notifications.index", "notifications.mark_read", "notifications.whatsapp"} <= walked


@pytest.mark.parametrize("role", ["admin", "operator", "therapist", "accountant", "superadmin"])
def test_notifications_are_in_the_menu_of_everyone_who_can_be_told(app, world, session, role):
    """A therapist's login is told of their patients' sessions whatever its role (one that
    became an admin or operator keeps its link), so every clinic role has the page in its
    menu with its unread count on the badge; the superadmin, of no clinic, is never told."""
    me = session.scalar(select(StaffUser).where(StaffUser.email == world.emails[role]))
    omar = session.scalar(select(Therapist).where(Therapist.name == "Dr. Omar Second"))
    session_of = "own" if role == "therapist" else "other"  # Dr. Tara Own's login already
    if role != "therapist":
        omar.staff_user_id = me.id
        session.commit()
    told = notify_therapist(
        session, world.rows[session_of]["appointment"], NotificationKind.CANCELLED, SYSTEM, now=NOW
    )
    session.commit()
    client, _ = login(app, world, role)
    menu = client.get("/admin/").text
    alerts = client.get("/admin/alerts/").json
    if role == "superadmin":
        assert told is None
        assert 'href="/admin/notifications/"' not in menu and "notifications" not in alerts
        return
    assert told is not None and told.staff_user_id == me.id
    assert 'href="/admin/notifications/"' in menu
    assert alerts["notifications"] >= 1
    patient = "Olivia Ownpatient" if role == "therapist" else "Oscar Notmine"
    assert patient in client.get("/admin/notifications/").text


@pytest.mark.parametrize("role", ROLES)
def test_every_view_route_and_action_obeys_the_matrix(app, world, session, role):
    client = app.test_client()
    if role == "anonymous":
        token = csrf_token(client, "/login")
    else:
        assert log_in(client, world.emails[role]).status_code == 302
        token = csrf_token(client, "/admin/")
    walk = Walk(app=app, client=client, role=role, world=world, session=session, token=token)
    views = [v for v in admin_views(app) if getattr(v, "resource", None) in permissions.MATRIX]
    routes = [(view, name, rule) for view in views for name, rule in view_routes(app, view)]
    assert len(routes) > 50  # the walk reaches the panel, not an empty list
    for view, name, rule in routes:
        if "GET" in rule.methods:
            walk.get(view, name, rule)
    for view, name, rule in routes:
        if "POST" in rule.methods:
            walk.post(view, name, rule)
    assert not walk.problems, "\n".join(walk.problems)
