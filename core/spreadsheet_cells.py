"""Cells for spreadsheets we hand to staff (CSV and, should one come, XLSX exports).

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
run as a formula by Excel, LibreOffice and Google Sheets: a contact who names themselves
``=HYPERLINK("http://evil", "x")`` in the chat would otherwise put a live link (or worse)
in the clinic's spreadsheet. OWASP's advice: prefix such text with a single quote, so the
program shows it as text. Real numbers are left alone, so a typed format keeps them
numbers (a negative amount stays a number); only text is changed.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` made safe to put in a spreadsheet cell: text that would start a formula
    gets a leading ``'``; numbers, dates, booleans and None pass through unchanged.
    Anything else (a related row, an enum) becomes its text first, as a CSV writer would."""
    if value is None or isinstance(value, bool | int | float | Decimal | date | time):
        return value
    text = str.__str__(value) if isinstance(value, str) else str(value)
    # (str.__str__: a plain str even from Markup, with no HTML escaping of the prefix)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: list[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]
