"""Column formatters for model lists, details and exports: money, enum labels, clinic times."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from admin.views.current import current_timezone
from core.formatting import format_money, format_when


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
