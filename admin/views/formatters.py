"""Column formatters for model lists, details and exports: money, enum labels, clinic
times, and people's names where a row keeps who did something ("staff:3", "contact:5")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import g
from flask_admin.model import typefmt
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.i18n import panel_lang, word
from admin.views.current import current_timezone
from core.formatting import (
    format_money,
    format_phone,
    format_when,
    format_when_with_year,
    to_major,
)
from models import ActorType, Contact, StaffUser

# The columns that keep an actor label (services.audit.Actor.label): "staff:3", "system".
ACTOR_COLUMNS = frozenset(
    {"created_by", "cancelled_by", "recorded_by", "requested_by", "decided_by"}
)
ActorKey = tuple[str, int]


def clinic_money(amount_minor: int) -> str:
    """An amount in the signed-in clinic's currency, in the panel's language:
    ``₹1,20,000.00`` (Hindi: the same Indian grouping through Babel's ``hi_IN``)."""
    return format_money(amount_minor, current_user.clinic.currency, lang=panel_lang())


def money_formatter(attr: str = "price_minor"):
    """A list column of minor units, read as :func:`clinic_money` (empty when unset).
    Its export is :func:`export_money_formatter` (see :func:`export_formatters`)."""

    def fmt(view: Any, context: Any, model: Any, name: str) -> str:
        value = getattr(model, attr)
        return "" if value is None else clinic_money(value)

    fmt.money_attr = attr  # type: ignore[attr-defined]
    return fmt


# --- money in a file: a number in major units, and the currency in its own column ------

CURRENCY_COLUMN = "currency"


def row_currency(model: Any = None) -> str:
    """The currency a row's amounts are in: its own (payments, invoices keep one), else
    the signed-in clinic's."""
    return getattr(model, CURRENCY_COLUMN, None) or current_user.clinic.currency


def money_value(amount_minor: int, currency: str) -> Decimal:
    """Minor units as the number a spreadsheet should hold: 120000 paise → 1200.00."""
    return to_major(amount_minor, currency)


def export_money_formatter(attr: str):
    def fmt(view: Any, context: Any, model: Any, name: str) -> Decimal | None:
        value = getattr(model, attr)
        return None if value is None else money_value(value, row_currency(model))

    return fmt


def currency_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    return row_currency(model)


def label_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    """Enum values as words in the panel's language: ``no_show`` → ``no show``."""
    value = getattr(model, name)
    return "" if value is None else word(str(value.value))


def export_label_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    """An enum value in a file: the same English words whatever the panel's language."""
    value = getattr(model, name)
    return "" if value is None else str(value.value).replace("_", " ")


def clinic_time(value: datetime) -> str:
    """A moment as the clinic's wall clock reads it, in the panel's language:
    ``Mon 23 Nov, 4:45 pm`` (Hindi: ``सोम, 23 नव॰, 4:45 am``)."""
    return format_when(value, current_timezone(), panel_lang())


def when_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    value = getattr(model, name)
    return "" if value is None else clinic_time(value)


def when_with_year_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    """For logs that outlive a year: ``Mon 23 Nov, 4:45 pm 2026``, clinic time."""
    value = getattr(model, name)
    return "" if value is None else format_when_with_year(value, current_timezone(), panel_lang())


def _datetime_type(view: Any, value: datetime, name: str) -> str:
    return clinic_time(value)


def export_time(value: datetime) -> str:
    """A moment in a CSV: the clinic's wall clock as a spreadsheet reads it, sortable
    (``2026-11-23 16:45``)."""
    return value.astimezone(ZoneInfo(current_timezone())).strftime("%Y-%m-%d %H:%M")


def _export_datetime_type(view: Any, value: datetime, name: str) -> str:
    return export_time(value)


def export_time_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    value = getattr(model, name)
    return "" if value is None else export_time(value)


# The formatters that write a moment for people to read; a CSV writes it as a value.
PAGE_TIME_FORMATTERS = (when_formatter, when_with_year_formatter)


def export_formatters(formatters: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A view's export formatters with values for words: a moment shown as "Mon 23 Nov,
    4:45 pm" is exported as 2026-11-23 16:45 (clinic time), an amount shown as
    "₹1,200.00" as 1200.00. Also the money columns found, which need a Currency column."""
    out: dict[str, Any] = {}
    money: list[str] = []
    for column, formatter in formatters.items():
        if formatter in PAGE_TIME_FORMATTERS:
            out[column] = export_time_formatter
        elif formatter is label_formatter:
            out[column] = export_label_formatter
        elif (attr := getattr(formatter, "money_attr", None)) is not None:
            out[column] = export_money_formatter(attr)
            money.append(column)
        else:
            out[column] = formatter
    if money:
        out[CURRENCY_COLUMN] = currency_formatter
    return out, money


def with_currency_column(columns: list[str], money: list[str]) -> list[str]:
    """``columns`` with "currency" right after the last money column (once)."""
    columns = [c for c in columns if c != CURRENCY_COLUMN]
    if not money:
        return columns
    last = max(columns.index(c) for c in money if c in columns)
    return [*columns[: last + 1], CURRENCY_COLUMN, *columns[last + 1 :]]


# Every datetime a list, a details page or a CSV shows, in the clinic's zone, whatever
# column it is (a CSV as a sortable value); a column's own formatter still comes first.
LIST_TYPES = {datetime: _datetime_type, **typefmt.BASE_FORMATTERS}
DETAIL_TYPES = {datetime: _datetime_type, **typefmt.DETAIL_FORMATTERS}
EXPORT_TYPES = {datetime: _export_datetime_type, **typefmt.EXPORT_FORMATTERS}


# --- who did it: names, not ids -----------------------------------------------------------


def actor_key(label: str | None) -> ActorKey | None:
    """``"staff:3"`` → ``("staff", 3)``; None for "system", an empty or odd label."""
    kind, _, raw = (label or "").partition(":")
    return (kind, int(raw)) if raw.isdigit() else None


def _names() -> dict[ActorKey, str]:
    if not hasattr(g, "roshni_actor_names"):
        g.roshni_actor_names = {}
    return g.roshni_actor_names


def remember_actors(session: Session, keys: Iterable[ActorKey]) -> None:
    """Look up the names behind ``keys`` (at most one statement per kind of actor) and
    keep them for this request, so a page of rows costs the same as one row."""
    names = _names()
    wanted = {key for key in keys if key not in names}
    staff = {i for kind, i in wanted if kind == ActorType.STAFF.value}
    contacts = {i for kind, i in wanted if kind == ActorType.CONTACT.value}
    for key in wanted:
        names[key] = "a former staff member" if key[0] == ActorType.STAFF.value else "a contact"
    if staff:
        rows = session.execute(
            select(StaffUser.id, StaffUser.name, StaffUser.email).where(StaffUser.id.in_(staff))
        )
        for id_, name, email in rows:
            names[(ActorType.STAFF.value, id_)] = name or email
    # A contact's name is the clinic's to see: none for a superadmin without a clinic.
    clinic_id = current_user.clinic_id if current_user.is_authenticated else None
    if contacts and clinic_id is not None:
        rows = session.execute(
            select(Contact.id, Contact.name, Contact.phone).where(
                Contact.id.in_(contacts), Contact.clinic_id == clinic_id
            )
        )
        for id_, name, phone in rows:
            shown = name or (phone and format_phone(phone)) or "an erased contact"
            names[(ActorType.CONTACT.value, id_)] = f"{shown} (contact)"


def remember_row_actors(session: Session, rows: Iterable[Any]) -> None:
    """The names behind every actor column of ``rows`` (a list page, a CSV)."""
    keys = [
        key
        for row in rows
        for column in ACTOR_COLUMNS
        if (key := actor_key(getattr(row, column, None))) is not None
    ]
    if keys:
        remember_actors(session, keys)


def actor_name(session: Session, kind: str, actor_id: int | None) -> str:
    """The person behind an actor: a staff member's name (or email), a contact's name (or
    phone); "system" for Roshni itself."""
    if actor_id is None:
        return "Roshni (automatic)" if kind == ActorType.SYSTEM.value else kind
    key = (kind, actor_id)
    if key not in _names():
        remember_actors(session, [key])
    return _names()[key]


def actor_label_name(session: Session, label: str | None) -> str:
    """:func:`actor_name` for a stored label (``"contact:1"`` → the contact's name)."""
    if not label:
        return ""
    key = actor_key(label)
    return actor_name(session, *key) if key else actor_name(session, label, None)


def actor_formatter(view: Any, context: Any, model: Any, name: str) -> str:
    """A ``*_by`` column as a name; the base view uses it for every such column."""
    return actor_label_name(view.session, getattr(model, name))
