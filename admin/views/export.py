"""A model list's export, CSV or XLSX: for the roles the matrix grants "export", audited,
formula-safe, with values rather than the page's words (``admin.views.spreadsheet``)."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_admin import expose
from flask_babel import force_locale

from admin.permissions import EXPORT
from admin.views.current import current_clinic_id, staff_actor
from admin.views.spreadsheet import SPREADSHEET_TYPES, spreadsheet_response
from services import audit


def export_header(name: str, labels: dict[str, str] | None) -> str:
    """A column's heading in a file: the view's label, else words from the column's path
    (``service.name`` → "Service", ``patient.contact.phone`` → "Patient contact phone"),
    never Flask-Admin's "Service.Name"."""
    if labels and name in labels:
        with force_locale("en"):  # a file's headings are the same whoever downloads it
            return str(labels[name])
    parts = name.split(".")
    if len(parts) > 1 and parts[-1] == "name":
        parts = parts[:-1]
    words = " ".join(part.replace("_", " ") for part in parts).strip()
    return words[:1].upper() + words[1:]


class AuditedExport:
    """For a guarded Flask-Admin ``ModelView``: set ``csv_export = True`` to offer the list
    as CSV and XLSX to the roles the matrix grants "export"; every export writes an audit
    row."""

    csv_export = False
    export_types = list(SPREADSHEET_TYPES)

    @property
    def can_export(self) -> bool:
        return self.csv_export and self.allowed(EXPORT)

    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> Any:
        if export_type not in self.export_types or not self.can_export:
            abort(403)
        # Built now, while the request's session and user are still there.
        _count, data = self._export_data()
        columns = [name for name, _label in self._export_columns]
        headers = [export_header(name, self.column_labels) for name in columns]
        rows = [[self.get_export_value(row, name) for name in columns] for row in data]
        audit.record(
            self.session,
            clinic_id=current_clinic_id(),
            actor=staff_actor(),
            action=f"export.{export_type}",
            # A blank instance only names the table; the row is never added.
            entity=self.model(),
            after={
                "rows": len(data),
                "query": {k: v for k, v in request.args.items() if k != "csrf_token"},
            },
        )
        self.session.commit()
        filename = self.get_export_name(export_type).removesuffix(f".{export_type}")
        return spreadsheet_response(export_type, filename, headers, rows)
