"""Column formatters for model lists, details and exports: money, enum labels, clinic times."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from admin.views.current import current_timezone
from core.formatting import format_money, format_when


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
