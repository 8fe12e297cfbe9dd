"""The secure base for every model view: clinic-scoped rows, guarded actions, audited saves.

Who may open what is ``admin.views.access``; the list's search, filters and pages are
``admin.views.listing``; its CSV export is ``admin.views.export``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request
from flask_admin.contrib.sqla import ModelView
from flask_admin.helpers import flash_errors, get_redirect_target
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from admin.permissions import CREATE, DELETE, UPDATE
from admin.views.access import SCOPE_MODELS, SHARED, Guarded, own_condition, own_ids
from admin.views.current import current_clinic_id, staff_actor
from admin.views.export import AuditedExport
from admin.views.formatters import (
    ACTOR_COLUMNS,
    DETAIL_TYPES,
    EXPORT_TYPES,
    LIST_TYPES,
    actor_formatter,
    export_formatters,
    remember_row_actors,
    with_currency_column,
)
from admin.views.labels import FIELD_LABELS
from admin.views.listing import SafeListArgs
from admin.views.refusals import refused_as_flash
from core.ids import parse_id, parse_ids
from services import audit
from services.clinics import catalog


class SecureModelView(Guarded, SafeListArgs, AuditedExport, ModelView):
    """A model list/form scoped to the user's clinic; saves go through services.clinics.catalog.

    Set ``csv_export = True`` to offer a CSV of the list to the roles the matrix
    grants "export"; every export writes an audit row.

    Staff read people and clinic times, never ids or UTC: every datetime a list, a
    details page or a CSV shows is in the clinic's zone, and every ``*_by`` column
    (``admin.views.formatters.ACTOR_COLUMNS``) shows a name, looked up once per page.
    """

    allow_create = True
    allow_edit = True
    allow_delete = False
    # Each value cell names its column, for the phone's cards (the template says how).
    list_template = "admin/model/card_list.html"
    page_size = 50
    can_view_details = False
    form_excluded_columns = ("clinic", "clinic_id", "created_at", "updated_at")
    column_exclude_list = ("clinic", "created_at", "updated_at")
    column_type_formatters = LIST_TYPES
    column_type_formatters_detail = DETAIL_TYPES
    column_type_formatters_export = EXPORT_TYPES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Every field has a translated name, the view's own label first (admin.views.labels).
        self.column_labels = {**FIELD_LABELS, **(self.column_labels or {})}
        super().__init__(*args, **kwargs)
        # Names, not "staff:3": a view's own formatter for such a column still wins.
        actors = {c: actor_formatter for c in ACTOR_COLUMNS if hasattr(self.model, c)}
        if actors:
            self.column_formatters = {**actors, **(self.column_formatters or {})}
            self.column_formatters_detail = {**actors, **(self.column_formatters_detail or {})}
            self.column_formatters_export = {**actors, **(self.column_formatters_export or {})}
        # A file holds values, not the page's words (admin.views.formatters.export_formatters).
        if self.column_formatters_export:
            self.column_formatters_export, money = export_formatters(self.column_formatters_export)
            exported = [name for name, _label in self._export_columns]
            if any(column in exported for column in money):
                self.column_export_list = with_currency_column(exported, money)
                self._export_columns = self.get_export_columns()

    def get_list_columns(self) -> list[tuple[Any, str]]:
        # Flask-Admin drops an excluded column even when the view lists it by name
        # (the audit log lost its time column so): what a view names, it shows.
        if not self.column_list:
            return super().get_list_columns()
        named = set(self.column_list)
        excluded = [c for c in self.column_exclude_list or () if c not in named]
        return self.get_column_names(only_columns=self.column_list, excluded_columns=excluded)

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        if isinstance(rows, list):  # a page or a CSV: the names behind it in one go
            remember_row_actors(self.session, rows)
        return count, rows

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.allow_create and self.allowed(CREATE)

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.allow_edit and self.allowed(UPDATE)

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.allow_delete and self.allowed(DELETE)

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
        # Also reached by Flask-Admin's ajax_update, which asks only for the "update" verb.
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
        flash(_("You can change only your own sessions, hours and patients."), "error")
        return False

    def delete_model(self, model: Any) -> bool:
        if not self.can_delete:
            abort(403)
        with refused_as_flash(self.session) as outcome:
            catalog.delete_record(
                self.session, model, clinic_id=current_clinic_id(), actor=staff_actor()
            )
        return outcome.ok

    def _save(self, obj: Any, *, before: dict[str, Any] | None) -> bool:
        with refused_as_flash(self.session) as outcome:
            catalog.save_record(
                self.session, obj, clinic_id=current_clinic_id(), actor=staff_actor(), before=before
            )
        return outcome.ok
