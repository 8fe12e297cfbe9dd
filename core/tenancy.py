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

from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.util import LoaderCriteriaOption

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
    state.statement = state.statement.options(_criteria(clinic_id))


@lru_cache(maxsize=1024)
def _criteria(clinic_id: int) -> LoaderCriteriaOption:
    """The option for one clinic, built once: it is immutable, and building it (the
    lambda's analysis) for every statement was a measurable part of a chat turn."""
    return with_loader_criteria(
        ClinicOwned,
        lambda cls: cls.clinic_id == clinic_id,
        include_aliases=True,
        propagate_to_loaders=False,
    )


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
