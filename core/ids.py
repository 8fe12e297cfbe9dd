"""Row ids from the outside world (URLs, form fields): a positive integer the databases can
hold, or nothing. ``str.isdigit`` is not enough: it accepts "²" and "٣", and a 30-digit
number overflows SQLite's and PostgreSQL's integers (a 500 instead of a 404)."""

from __future__ import annotations

import re

from flask import Flask
from werkzeug import routing

# PostgreSQL's INTEGER (every id column); SQLite's are wider, so this bound serves both.
MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_id(raw: object) -> int | None:
    """``raw`` as an id (1 … MAX_ID), or None when it cannot be one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _DIGITS.fullmatch(raw):
        value = int(raw)
    else:
        return None
    return value if 1 <= value <= MAX_ID else None


def parse_ids(raws: list[str]) -> list[int]:
    """The ids among ``raws``, in order, without repeats; the rest are dropped."""
    seen: dict[int, None] = {}
    for raw in raws:
        value = parse_id(raw)
        if value is not None:
            seen.setdefault(value, None)
    return list(seen)


class IntegerConverter(routing.IntegerConverter):
    """``<int:…>`` in every route: a number the databases can hold, else no route (404).
    Werkzeug's own, bounded; it keeps its name, so code that asks a rule which converter
    an argument has (the role walker in tests/admin/test_roles.py) sees the same answer."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def install_id_converter(app: Flask) -> None:
    """Make ``<int:…>`` bounded; call before any route is added (rules bind at add time)."""
    app.url_map.converters["int"] = IntegerConverter
