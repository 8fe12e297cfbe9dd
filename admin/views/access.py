"""Who may open what: each route's verb, the roles matrix, and a therapist's own rows.

Who may do what is ``admin.permissions.MATRIX``. A view names its ``resource``;
``Guarded.allowed(verb)`` answers for the signed-in user. Model views check it
for lists, forms, actions and exports; a custom ``@expose`` page names its verb
with ``@requires("verb")`` (undecorated pages need ``read``), and ``Guarded``
refuses the page before it runs, so a page need not ask again. A role the matrix
limits to its own rows (a therapist) sees a view only when the view says how its
rows belong to a therapist (``therapist_scope``), and then only those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.wrappers import Response

from admin import permissions
from admin.permissions import CREATE, DELETE, EXPORT, READ, UPDATE
from models import Appointment, Contact, Patient, Role, Therapist

FRONT_DESK = frozenset({Role.ADMIN, Role.OPERATOR})

# The verbs of Flask-Admin's own routes. ``action_view`` checks each action by name.
BUILTIN_VERBS = {
    "index": READ,
    "index_view": READ,
    "details_view": READ,
    "create_view": CREATE,
    "edit_view": UPDATE,
    "delete_view": DELETE,
    "export": EXPORT,
    "action_view": READ,
    "ajax_lookup": READ,
    "ajax_update": UPDATE,
}
# What a row can belong to, for roles limited to their own rows. "shared": rows of
# nobody in particular (a package on sale) that such roles may read but not change.
SHARED = "shared"
SCOPES = ("therapist", "appointment", "patient", "contact", SHARED)

F = TypeVar("F", bound=Callable[..., Any])


def requires(verb: str) -> Callable[[F], F]:
    """Mark an ``@expose`` page with the verb it needs on the view's resource."""

    def mark(fn: F) -> F:
        fn._roshni_verb = verb  # type: ignore[attr-defined]
        return fn

    return mark


def route_verb(view: Any, name: str) -> str | None:
    """The verb a route of ``view`` needs: declared with @requires, or Flask-Admin's own."""
    fn = getattr(type(view), name, None)
    return getattr(fn, "_roshni_verb", None) or BUILTIN_VERBS.get(name)


def own_ids(scope: str) -> Select[Any]:
    """The ids of the signed-in user's own therapists, appointments, patients or contacts.

    A therapist's own patients are those with any appointment with them; their
    contacts are those patients' guardians.
    """
    therapists = select(Therapist.id).where(
        Therapist.staff_user_id == current_user.id,
        Therapist.clinic_id == current_user.clinic_id,
    )
    if scope == "therapist":
        return therapists
    if scope == "appointment":
        return select(Appointment.id).where(Appointment.therapist_id.in_(therapists))
    patients = select(Appointment.patient_id).where(Appointment.therapist_id.in_(therapists))
    if scope == "patient":
        return patients
    if scope == "contact":
        return select(Patient.contact_id).where(Patient.id.in_(patients))
    raise ValueError(f"unknown scope {scope!r}; one of {SCOPES}")


def own_condition(model: Any, scope: str) -> ColumnElement[bool]:
    """``model``'s rows that are the user's own: the model's id for its own kind
    (``Patient`` with scope ``patient``), else its ``<scope>_id`` column."""
    column = model.id if model.__tablename__ == scope else getattr(model, f"{scope}_id")
    return column.in_(own_ids(scope))


SCOPE_MODELS = {
    "therapist": Therapist,
    "appointment": Appointment,
    "patient": Patient,
    "contact": Contact,
}


def may_open(views: Iterable[Any], endpoint: str, verb: str | None = None) -> bool:
    """May the signed-in user open the page ``endpoint`` ("calendar", or a route:
    "payment.refund") among ``views``? For links from one page to another: shown only
    to those the target would let in. The verb is the route's own (``route_verb``)
    unless ``verb`` names it."""
    name, _, route = endpoint.partition(".")
    for view in views:
        if view.endpoint == name:
            if not isinstance(view, Guarded) or not view.is_accessible():
                return False
            return view.allowed(verb or route_verb(view, route or "index") or READ)
    return False


class SessionPage:
    """For panel pages that are not model views: Flask-Admin hands model views the database
    session; these take it the same way (``SomePage(session, name=..., endpoint=...)``)."""

    def __init__(self, session: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session


class Guarded:
    """Login and role checks shared by model views and custom views.

    ``resource`` names a row of ``admin.permissions.MATRIX``; a view that names
    none is closed to everyone (and the role walker in tests/admin/test_roles.py says
    so). ``therapist_scope`` says what the view's rows belong to ("therapist",
    "appointment", "patient", "contact"; "shared" for rows of nobody in particular)
    for the roles the matrix limits to their own rows; a view without one is
    closed to those roles.
    """

    resource: str | None = None
    therapist_scope: str | None = None

    def allowed(self, verb: str = READ) -> bool:
        """May the signed-in user do ``verb`` here (e.g. "read", "complete", "export")?"""
        if not (current_user.is_authenticated and current_user.is_active):
            return False
        role = current_user.role
        if self.resource is None or not permissions.allowed(self.resource, role, verb):
            return False
        return self.therapist_scope is not None or not permissions.own_only(self.resource, role)

    def may_open(self, endpoint: str, verb: str | None = None) -> bool:
        """May the signed-in user open ``endpoint`` of this panel? See :func:`may_open`."""
        return may_open(self.admin._views, endpoint, verb)

    def own_only(self) -> bool:
        """True when the user sees only their own rows here (a therapist)."""
        return (
            self.resource is not None
            and current_user.is_authenticated
            and permissions.own_only(self.resource, current_user.role)
        )

    def is_accessible(self) -> bool:
        return self.allowed(READ)

    def may_write(self) -> bool:
        return self.allowed(UPDATE)

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        if not self.is_accessible():
            return self.inaccessible_callback(name, **kwargs)
        verb = route_verb(self, name)
        # Flask-Admin's create/edit/delete views bounce a refused user back to the
        # list themselves (can_create and friends); every other route is refused here.
        if name not in ("create_view", "edit_view", "delete_view") and not self.allowed(
            verb or READ
        ):
            abort(403)
        return None

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)
