"""A model list's CSV export: for the roles the matrix grants "export", audited, formula-safe."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_admin import expose

from admin.permissions import EXPORT
from admin.views.current import current_clinic_id, staff_actor
from core.spreadsheet_cells import safe_cell
from services import audit


class AuditedExport:
    """For a guarded Flask-Admin ``ModelView``: set ``csv_export = True`` to offer a CSV
    of the list to the roles the matrix grants "export"; every export writes an audit row."""

    csv_export = False
    export_types = ["csv"]

    @property
    def can_export(self) -> bool:
        return self.csv_export and self.allowed(EXPORT)

    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> Any:
        if export_type not in self.export_types or not self.can_export:
            abort(403)
        response = super().export(export_type)
        if response.is_streamed:
            # Written out now, while the request's session and user are still there
            # (Flask-Admin streams it after the view returns, when both are gone).
            response.set_data(b"".join(response.iter_encoded()))
        return response

    def get_export_value(self, model: Any, name: Any) -> Any:
        # Every exported cell, whatever its formatter: no text may start a formula.
        return safe_cell(super().get_export_value(model, name))

    def _export_data(self) -> tuple[int, list[Any]]:
        count, data = super()._export_data()
        audit.record(
            self.session,
            clinic_id=current_clinic_id(),
            actor=staff_actor(),
            action="export.csv",
            # A blank instance only names the table; the row is never added.
            entity=self.model(),
            after={
                "rows": len(data),
                "query": {k: v for k, v in request.args.items() if k != "csrf_token"},
            },
        )
        self.session.commit()
        return count, data
