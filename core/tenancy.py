"""The tenant guard: a session bound to a clinic sees and writes only that clinic.

Services already filter by ``clinic_id`` explicitly; this is the safety net
underneath them and under Flask-Admin's generic views. It uses SQLAlchemy's
documented ``with_loader_criteria`` recipe, so every ORM SELECT (including
relationship and ``Session.get`` loads), bulk UPDATE and bulk DELETE on a
``ClinicOwned`` model gets ``clinic_id = :bound`` added, and a flush that would
write another clinic's row is refused.

Tables that are not ``ClinicOwned`` (staff users, audit rows, which may belong
to no clinic) are scoped by the code that reads them, explicitly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from models.base import ClinicOwned

_KEY = "clinic_id"


class TenantViolation(RuntimeError):
    """Code tried to write a row that belongs to another clinic."""


def bind(session: Session, clinic_id: int) -> None:
    session.info[_KEY] = clinic_id


def unbind(session: Session) -> None:
    session.info.pop(_KEY, None)


def bound_clinic(session: Session) -> int | None:
    return session.info.get(_KEY)


# The bound clinic reaches the criteria as this statement parameter, never as a value
# inside the statement: one option object serves every clinic, and SQLAlchemy's compiled
# cache keeps one entry per statement shape instead of re-running a lambda per entity on
# every execution (a measurable part of a chat turn). A statement that somehow ran without
# the parameter fails ("a value is required"), it never reads unscoped.
_PARAM = "roshni_tenant_clinic_id"

_CRITERIA = with_loader_criteria(
    ClinicOwned,
    # The name is spelled out: a name the lambda looks up would be traced as a variable.
    lambda cls: cls.clinic_id == bindparam("roshni_tenant_clinic_id"),
    include_aliases=True,
    propagate_to_loaders=False,
    track_closure_variables=False,
)


@event.listens_for(Session, "do_orm_execute")
def _scope_statements(state: ORMExecuteState) -> None:
    clinic_id = state.session.info.get(_KEY)
    if clinic_id is None or state.is_column_load:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # Bulk UPDATE/DELETE honour the same criteria, so `update(Patient)` on a
    # session bound to clinic A can only ever touch clinic A's rows. Lazy loads
    # that reach the database pass through here too (they are SELECTs), so the
    # criteria need not be carried into loaders: that keeps many-to-one lazy
    # loads answering from the identity map, whose rows were filtered when loaded.
    state.statement = state.statement.options(_CRITERIA)
    state.parameters = _with_clinic(state.parameters, clinic_id)


def _with_clinic(parameters: Any, clinic_id: int) -> Any:
    """The statement's parameters plus the bound clinic (each set of an executemany)."""
    if isinstance(parameters, list | tuple):
        return [{**p, _PARAM: clinic_id} for p in parameters]
    return {**(parameters or {}), _PARAM: clinic_id}


@event.listens_for(Session, "before_flush")
def _refuse_foreign_writes(session: Session, _ctx: Any, _instances: Any) -> None:
    clinic_id = session.info.get(_KEY)
    if clinic_id is None:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ClinicOwned):
            if obj.clinic_id is None:
                obj.clinic_id = clinic_id
            elif obj.clinic_id != clinic_id:
                raise TenantViolation(
                    f"{type(obj).__name__} belongs to clinic {obj.clinic_id}, "
                    f"session is bound to clinic {clinic_id}"
                )
