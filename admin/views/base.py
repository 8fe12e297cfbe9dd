"""The secure base for every admin view: login, roles, clinic scoping, audited saves."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.formatting import format_money, format_when
from models import Role
from services import audit, catalog
from services.audit import Actor
from services.errors import ServiceError

CLINIC_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.THERAPIST, Role.ACCOUNTANT})
FRONT_DESK = frozenset({Role.ADMIN, Role.OPERATOR})


def staff_actor() -> Actor:
    return Actor.staff(current_user.id)


def current_clinic_id() -> int:
    clinic_id = current_user.clinic_id
    if clinic_id is None:
        abort(403)
    return clinic_id


def current_timezone() -> str:
    return current_user.clinic.timezone if current_user.clinic else "UTC"


class _Guarded:
    """Login and role checks shared by model views and custom views."""

    read_roles: frozenset[Role] = CLINIC_ROLES
    write_roles: frozenset[Role] = FRONT_DESK

    def is_accessible(self) -> bool:
        return (
            current_user.is_authenticated
            and current_user.is_active
            and current_user.role in self.read_roles
        )

    def may_write(self) -> bool:
        return self.is_accessible() and current_user.role in self.write_roles

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)


class SecureModelView(_Guarded, ModelView):
    """A model list/form scoped to the user's clinic; saves go through services.catalog."""

    allow_create = True
    allow_edit = True
    allow_delete = False
    page_size = 50
    can_view_details = False
    form_excluded_columns = ("clinic", "clinic_id", "created_at", "updated_at")
    column_exclude_list = ("clinic", "created_at", "updated_at")

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.allow_create and self.may_write()

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.allow_edit and self.may_write()

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.allow_delete and self.may_write()

    # --- tenant scoping (explicit; the session guard in core.tenancy is the backstop) ---

    def get_query(self):
        return super().get_query().filter(self.model.clinic_id == current_clinic_id())

    def get_count_query(self):
        return super().get_count_query().filter(self.model.clinic_id == current_clinic_id())

    def get_one(self, id: Any) -> Any:
        if not str(id).isdigit():
            return None
        return self.session.scalar(
            select(self.model).where(
                self.model.id == int(id), self.model.clinic_id == current_clinic_id()
            )
        )

    # --- writes go through the service layer, audited ---

    def create_model(self, form: Any) -> Any:
        if not self.can_create:
            abort(403)
        obj = self.build_new_instance()
        form.populate_obj(obj)
        return obj if self._save(obj, before=None) else False

    def update_model(self, form: Any, model: Any) -> bool:
        if not self.can_edit:
            abort(403)
        before = audit.snapshot(model)
        form.populate_obj(model)
        return self._save(model, before=before)

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


def money_formatter(attr: str = "price_minor"):
    def fmt(view: Any, context: Any, model: Any, name: str) -> str:
        value = getattr(model, attr)
        if value is None:
            return ""
        return format_money(value, current_user.clinic.currency)

    return fmt


def label_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    """Enum values as words: ``no_show`` → ``no show``."""
    value = getattr(model, name)
    return "" if value is None else str(value.value).replace("_", " ")


def when_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    value = getattr(model, name)
    return "" if value is None else format_when(value, current_timezone())
