"""A table handed to staff as a file: CSV or XLSX, the same cells either way.

Model-list exports (``admin.views.export``) and the reports page both write through
:func:`spreadsheet_response`, so a number is a number in both files: amounts arrive as
``Decimal`` in major units (``admin.views.formatters.export_money``), a CSV writes them as
``1200.00`` and an XLSX keeps them numeric. Every cell passes ``core.spreadsheet_cells``
(no text may start a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import tablib
from flask import Response, abort
from werkzeug.utils import secure_filename

from core.spreadsheet_cells import safe_row

SPREADSHEET_TYPES = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def spreadsheet_bytes(
    export_type: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> bytes:
    """``rows`` under ``headers`` as a CSV (UTF-8) or an XLSX workbook."""
    safe = [safe_row(list(row)) for row in rows]
    if export_type == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows(["" if cell is None else cell for cell in row] for row in safe)
        return out.getvalue().encode("utf-8")
    if export_type == "xlsx":
        return tablib.Dataset(*[tuple(row) for row in safe], headers=list(headers)).export("xlsx")
    raise ValueError(f"unknown spreadsheet type {export_type!r}")


def spreadsheet_response(
    export_type: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Response:
    """A download of :func:`spreadsheet_bytes`; 404 for a type we do not write."""
    if export_type not in SPREADSHEET_TYPES:
        abort(404)
    name = secure_filename(f"{filename}.{export_type}")
    return Response(
        spreadsheet_bytes(export_type, headers, rows),
        mimetype=MIMETYPES[export_type],
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
