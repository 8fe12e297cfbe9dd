"""The secure base for every admin view: login, roles, clinic scoping, audited saves.

Who may do what is ``admin.permissions.MATRIX``. A view names its ``resource``;
``_Guarded.allowed(verb)`` answers for the signed-in user. Model views check it
for lists, forms, actions and exports; a custom ``@expose`` page names its verb
with ``@requires("verb")`` (undecorated pages need ``read``). A role the matrix
limits to its own rows (a therapist) sees a view only when the view says how its
rows belong to a therapist (``therapist_scope``), and then only those rows.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, redirect, request, session, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.helpers import flash_errors, get_redirect_target
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.wrappers import Response

from admin import permissions
from admin.permissions import CREATE, DELETE, EXPORT, READ, UPDATE
from core.formatting import format_money, format_when
from core.ids import parse_id, parse_ids
from core.spreadsheet_cells import safe_cell
from models import Appointment, Contact, Patient, Role, Therapist
from services import audit, catalog
from services.audit import Actor
from services.errors import ServiceError

CLINIC_ROLES = permissions.CLINIC_ROLES
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


MAX_PAGE = 100_000


def _valid_filter_value(flt: Any, value: str) -> bool:
    try:
        return bool(flt.validate(value)) and _storable(flt.clean(value))
    except (KeyError, ValueError, TypeError, ArithmeticError):
        return False


def _storable(value: Any) -> bool:
    """Could a database column compare with this filter value without overflowing?"""
    if isinstance(value, list | tuple | set):
        return all(_storable(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return True


SEARCHES = "admin_searches"
MAX_SEARCHES = 20


def remember_search(term: str) -> str:
    """An opaque key for a search term; the term itself stays in the signed session cookie."""
    searches: dict[str, str] = dict(session.get(SEARCHES) or {})
    for key, known in searches.items():
        if known == term:
            return key
    key = secrets.token_urlsafe(6)
    searches[key] = term
    session[SEARCHES] = dict(list(searches.items())[-MAX_SEARCHES:])
    return key


def staff_actor() -> Actor:
    return Actor.staff(current_user.id)


def current_clinic_id() -> int:
    clinic_id = current_user.clinic_id
    if clinic_id is None:
        abort(403)
    return clinic_id


def current_timezone() -> str:
    return current_user.clinic.timezone if current_user.clinic else "UTC"


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


class _Guarded:
    """Login and role checks shared by model views and custom views.

    ``resource`` names a row of ``admin.permissions.MATRIX``; a view that names
    none is closed to everyone (and the role walker in tests/test_roles.py says
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


class SecureModelView(_Guarded, ModelView):
    """A model list/form scoped to the user's clinic; saves go through services.catalog.

    Set ``csv_export = True`` to offer a CSV of the list to the roles the matrix
    grants "export"; every export writes an audit row.
    """

    allow_create = True
    allow_edit = True
    allow_delete = False
    csv_export = False
    export_types = ["csv"]
    page_size = 50
    can_view_details = False
    form_excluded_columns = ("clinic", "clinic_id", "created_at", "updated_at")
    column_exclude_list = ("clinic", "created_at", "updated_at")
    # Turns the list's GET search form into a POST to ``search`` (static/search.js).
    extra_js = ["/admin-assets/search.js"]

    # --- search without the typed name or phone in any URL ---

    @expose("/search/", methods=("POST",))
    @requires("read")
    def search(self) -> Response:
        """The search box posts here; the term is kept in the session and the list is
        shown under an opaque key (``?sq=…``), so a patient's name or phone never
        lands in a URL, the browser history or an access log."""
        term = (request.form.get("search") or "").strip()[:100]
        keep = {k: v for k, v in request.form.items() if k not in ("search", "sq", "csrf_token")}
        if term:
            keep["sq"] = remember_search(term)
        return redirect(self.get_url(".index_view", **keep))

    def _get_list_filter_args(self) -> Any:
        """Flask-Admin's own loop over ``flt<pos>_<key>`` arguments, but a value its
        filters would choke on (an enum name that does not exist: a KeyError inside
        Flask-Admin's ``validate``; a number no column can hold) gets Flask-Admin's
        "invalid value" message instead of a 500."""
        if not self._filters:
            return None
        filters = []
        for arg, value in request.args.items():
            if not arg.startswith("flt") or "_" not in arg:
                continue
            pos, key = arg[3:].split("_", 1)
            if key not in self._filter_args:
                continue
            idx, flt = self._filter_args[key]
            if _valid_filter_value(flt, value):
                filters.append((pos, (idx, str(flt.name), value)))
            else:
                flash(self.get_invalid_value_msg(value, flt), "error")
        return [item for _pos, item in sorted(filters, key=lambda pair: pair[0])]

    def _get_list_extra_args(self) -> Any:
        args = super()._get_list_extra_args()
        # Page numbers from the URL, within reason: 10**30 would overflow the OFFSET,
        # a negative one PostgreSQL refuses. Past the last page, the list is empty.
        args.page = min(max(args.page or 0, 0), MAX_PAGE)
        if not self.can_set_page_size:
            args.page_size = 0
        if args.sort is not None and not 0 <= args.sort < len(self._list_columns):
            args.sort = None
        key = args.extra_args.get("sq")
        if not args.search and key:
            args.search = (session.get(SEARCHES) or {}).get(key)
        return args

    def _get_list_url(self, view_args: Any) -> str:
        extra = {k: v for k, v in (view_args.extra_args or {}).items() if k != "sq"}
        if view_args.search:
            extra["sq"] = remember_search(view_args.search)
        return super()._get_list_url(view_args.clone(search=None, extra_args=extra))

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.allow_create and self.allowed(CREATE)

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.allow_edit and self.allowed(UPDATE)

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.allow_delete and self.allowed(DELETE)

    @property
    def can_export(self) -> bool:  # type: ignore[override]
        return self.csv_export and self.allowed(EXPORT)

    # --- tenant scoping (explicit; the session guard in core.tenancy is the backstop) ---

    def _pk(self) -> Any:
        return getattr(self.model, self._primary_key)

    def own_filter(self) -> ColumnElement[bool] | None:
        """None when the user sees all the clinic's rows; else the condition for their own."""
        if not self.own_only():
            return None
        if self.therapist_scope is None:
            abort(403)
        if self.therapist_scope == SHARED:
            return None
        return own_condition(self.model, self.therapist_scope)

    def scope(self, query: Any) -> Any:
        """The clinic's rows, and only the user's own where the matrix says so."""
        query = query.filter(self.model.clinic_id == current_clinic_id())
        own = self.own_filter()
        return query if own is None else query.filter(own)

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def get_one(self, id: Any) -> Any:
        key = parse_id(id)
        if key is None:
            return None
        return self.scope(self.session.query(self.model).filter(self._pk() == key)).first()

    def visible_ids(self, raw_ids: list[str]) -> list[int]:
        """The posted ids this user can see in this view, in the order given, as ints
        (Flask-Admin's own bulk delete compares them with the key; PostgreSQL will not
        compare an integer with text)."""
        wanted = parse_ids(raw_ids)
        if not wanted:
            return []
        found = {
            row[0]
            for row in self.get_query().with_entities(self._pk()).filter(self._pk().in_(wanted))
        }
        return [key for key in wanted if key in found]

    # --- actions: allowed per action name, only on rows the user can see ---

    def is_action_allowed(self, name: str) -> bool:
        return super().is_action_allowed(name) and self.allowed(name)

    def handle_action(self, return_view: str | None = None) -> Any:
        form = self.action_form()
        if self.validate_form(form):
            name = form.action.data
            handler = self._actions_data.get(name)
            if handler is not None:
                if not self.is_action_allowed(name):
                    abort(403)
                response = handler[0](self.visible_ids(request.form.getlist("rowid")))
                if response is not None:
                    return response
        else:
            flash_errors(form, message="Failed to perform action. %(error)s")
        if return_view:
            return redirect(self.get_url("." + return_view))
        return redirect(get_redirect_target() or self.get_url(".index_view"))

    # --- CSV export, by role and audited ---

    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> Any:
        if export_type not in self.export_types or not self.can_export:
            abort(403)
        response = super().export(export_type)
        if response.is_streamed:
            # Written out now, while the request's session and user are still there
            # (Flask-Admin streams it after the view returns, when both are gone).
            response.set_data(b"".join(response.iter_encoded()))
        return response

    def get_export_value(self, model: Any, name: Any) -> Any:
        # Every exported cell, whatever its formatter: no text may start a formula.
        return safe_cell(super().get_export_value(model, name))

    def _export_data(self) -> tuple[int, list[Any]]:
        count, data = super()._export_data()
        audit.record(
            self.session,
            clinic_id=current_clinic_id(),
            actor=staff_actor(),
            action="export.csv",
            # A blank instance only names the table; the row is never added.
            entity=self.model(),
            after={
                "rows": len(data),
                "query": {k: v for k, v in request.args.items() if k != "csrf_token"},
            },
        )
        self.session.commit()
        return count, data

    # --- forms offer a therapist only their own rows to point at ---

    def create_form(self, obj: Any = None) -> Any:
        return self._own_choices(super().create_form(obj))

    def edit_form(self, obj: Any = None) -> Any:
        return self._own_choices(super().edit_form(obj))

    def _own_choices(self, form: Any) -> Any:
        scope = self.therapist_scope
        field = getattr(form, scope, None) if scope and self.own_only() else None
        if field is not None and hasattr(field, "query_factory"):
            target = SCOPE_MODELS[scope]
            own = select(target).where(own_condition(target, scope))
            field.query_factory = lambda: self.session.scalars(own).all()
            field.query = None
            field._object_list = None
        return form

    def owns(self, obj: Any) -> bool:
        """Is ``obj`` (as the form left it) one of the user's own rows, or need it not be?"""
        if not self.own_only():
            return True
        scope = self.therapist_scope
        if scope is None or scope == SHARED:
            return False
        if self.model.__tablename__ == scope:
            value = getattr(obj, "id", None)
        else:
            related = getattr(obj, scope, None)
            value = related.id if related is not None else getattr(obj, f"{scope}_id", None)
        return value is not None and value in set(self.session.scalars(own_ids(scope)))

    # --- writes go through the service layer, audited ---

    def create_model(self, form: Any) -> Any:
        if not self.can_create:
            abort(403)
        obj = self.build_new_instance()
        form.populate_obj(obj)
        if not self._own_or_refuse(obj):
            return False
        return obj if self._save(obj, before=None) else False

    def update_model(self, form: Any, model: Any) -> bool:
        if not self.can_edit:
            abort(403)
        before = audit.snapshot(model)
        form.populate_obj(model)
        if not self._own_or_refuse(model):
            return False
        return self._save(model, before=before)

    def _own_or_refuse(self, obj: Any) -> bool:
        if self.owns(obj):
            return True
        self.session.rollback()
        flash("You can change only your own sessions, hours and patients.", "error")
        return False

    def delete_model(self, model: Any) -> bool:
        if not self.can_delete:
            abort(403)
        try:
            catalog.delete_record(
                self.session, model, clinic_id=current_clinic_id(), actor=staff_actor()
            )
        except ServiceError as exc:
            self.session.rollback()
            flash(exc.message, "error")
            return False
        return True

    def _save(self, obj: Any, *, before: dict[str, Any] | None) -> bool:
        try:
            catalog.save_record(
                self.session, obj, clinic_id=current_clinic_id(), actor=staff_actor(), before=before
            )
        except ServiceError as exc:
            self.session.rollback()
            flash(exc.message, "error")
            return False
        return True


class ReadOnlyModelView(SecureModelView):
    allow_create = False
    allow_edit = False
    allow_delete = False


def clinic_money(amount_minor: int) -> str:
    """An amount in the signed-in clinic's currency: ``₹1,20,000.00``."""
    return format_money(amount_minor, current_user.clinic.currency)


def money_formatter(attr: str = "price_minor"):
    """A list column of minor units, read as :func:`clinic_money` (empty when unset)."""

    def fmt(view: Any, context: Any, model: Any, name: str) -> str:
        value = getattr(model, attr)
        return "" if value is None else clinic_money(value)

    return fmt


def label_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    """Enum values as words: ``no_show`` → ``no show``."""
    value = getattr(model, name)
    return "" if value is None else str(value.value).replace("_", " ")


def when_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    value = getattr(model, name)
    return "" if value is None else format_when(value, current_timezone())
