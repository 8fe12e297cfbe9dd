"""List filters for the clinic's local days and its own choices.

Flask-Admin's own date filters compare a column with a naive date, which the
UTCDateTime columns refuse (and which would mean a UTC day, not the clinic's);
these take a day in the clinic's zone and compare the UTC instants it spans.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from sqlalchemy import select

from admin.views.current import current_clinic_id, current_timezone
from core import clinic_time
from core.ids import parse_id
from models import Therapist


def local_midnight(day: date) -> datetime:
    """The UTC instant the signed-in clinic's day begins."""
    return clinic_time.local_midnight(day, current_timezone())


class _LocalDayFilter(BaseSQLAFilter):
    def __init__(self, column: Any, name: str) -> None:
        super().__init__(column, name, data_type="datepicker")

    def clean(self, value: str) -> date:
        return date.fromisoformat(value.strip())

    def validate(self, value: str) -> bool:
        try:
            self.clean(value)
        except ValueError:
            return False
        return True


class LocalDayOn(_LocalDayFilter):
    def apply(self, query: Any, value: date, alias: Any = None) -> Any:
        column = self.get_column(alias)
        return query.filter(
            column >= local_midnight(value), column < local_midnight(value + timedelta(days=1))
        )

    def operation(self) -> str:
        return "on"


class LocalDayOnOrAfter(_LocalDayFilter):
    def apply(self, query: Any, value: date, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) >= local_midnight(value))

    def operation(self) -> str:
        return "on or after"


class LocalDayOnOrBefore(_LocalDayFilter):
    def apply(self, query: Any, value: date, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) < local_midnight(value + timedelta(days=1)))

    def operation(self) -> str:
        return "on or before"


class LocalDayBetween(BaseSQLAFilter):
    """``2026-11-23 to 2026-11-29``: both days included, in the clinic's zone."""

    def __init__(self, column: Any, name: str) -> None:
        super().__init__(column, name, data_type="daterangepicker")

    def clean(self, value: str) -> tuple[date, date]:
        first, last = (date.fromisoformat(part.strip()) for part in value.split(" to "))
        return first, last

    def validate(self, value: str) -> bool:
        try:
            first, last = self.clean(value)
        except ValueError:
            return False
        return first <= last

    def apply(self, query: Any, value: tuple[date, date], alias: Any = None) -> Any:
        column = self.get_column(alias)
        first, last = value
        return query.filter(
            column >= local_midnight(first), column < local_midnight(last + timedelta(days=1))
        )

    def operation(self) -> str:
        return "between"


class EnumEqual(BaseSQLAFilter):
    """A status picked from a list; compared as the enum, so every backend binds it alike."""

    def __init__(self, column: Any, name: str, enum: type) -> None:
        self.enum = enum
        options = [(m.value, m.value.replace("_", " ")) for m in enum]
        super().__init__(column, name, options=options)

    def clean(self, value: str) -> Any:
        return self.enum(value)

    def validate(self, value: str) -> bool:
        return value in {m.value for m in self.enum}

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) == value)

    def operation(self) -> str:
        return "equals"


class TherapistEqual(BaseSQLAFilter):
    """The clinic's therapists by name; the URL carries the id."""

    def get_options(self, view: Any) -> Any:
        # Flask-Admin asks once, at start-up, and keeps what it gets; it iterates it on
        # every list page, so a lazy iterable gives each request its own clinic's names.
        return _TherapistOptions(view)

    def clean(self, value: str) -> int:
        return int(value)

    def validate(self, value: str) -> bool:
        return parse_id(value) is not None

    def apply(self, query: Any, value: int, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) == value)

    def operation(self) -> str:
        return "is"


class _TherapistOptions:
    def __init__(self, view: Any) -> None:
        self.view = view

    def __bool__(self) -> bool:
        return True

    def __iter__(self) -> Any:
        rows = self.view.session.execute(
            select(Therapist.id, Therapist.name)
            .where(Therapist.clinic_id == current_clinic_id())
            .order_by(Therapist.name)
        )
        return iter([(str(therapist_id), name) for therapist_id, name in rows])
