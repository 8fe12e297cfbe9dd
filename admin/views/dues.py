"""Dues: who owes what, by how long it has been owed, and a reminder sent now.

What is owed is ``services.billing.invoices`` (one rule); its ageing and the reminder
are ``services.billing.dues``. Sending a reminder needs "remind" on payments
(admin/permissions.py); recording a payment links to the Payments page's form.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from admin.permissions import EXPORT
from admin.views.access import Guarded, SessionPage, own_ids, requires
from admin.views.current import current_clinic_id, staff_actor
from admin.views.formatters import clinic_money, money_value
from admin.views.refusals import refused_as_flash
from admin.views.spreadsheet import SPREADSHEET_TYPES, spreadsheet_response
from core.clock import utcnow
from core.formatting import format_phone
from models import Contact
from services import audit
from services.billing import dues

# The ageing columns (services.billing.dues.AGEING_BUCKETS) as the page reads them; files
# keep the English headers.
_BUCKET_WORDS = (_l("0–30 days"), _l("31–60 days"), _l("Over 60 days"))


class DuesView(Guarded, SessionPage, BaseView):
    """Who owes what, aged in the clinic's days; one query for the whole clinic."""

    resource = "payments"
    therapist_scope = "contact"

    # The list as a file (CSV or XLSX) for the roles the matrix grants "export"; audited.
    csv_export = True

    def _rows(self) -> list[tuple[Contact, dues.Ageing]]:
        clinic_id = current_clinic_id()
        aged = dues.dues_ageing(self.session, clinic_id, now=utcnow())
        mine = select(Contact).where(Contact.id.in_(aged), Contact.clinic_id == clinic_id)
        if self.own_only():
            mine = mine.where(Contact.id.in_(own_ids("contact")))
        contacts = self.session.scalars(mine).all()
        return sorted(((c, aged[c.id]) for c in contacts), key=lambda row: -row[1].total)

    @expose("/")
    def index(self) -> str:
        rows = self._rows()
        totals = [sum(ageing.buckets[i] for _, ageing in rows) for i in range(3)]
        return self.render(
            "admin/dues.html",
            rows=rows,
            buckets=dues.AGEING_BUCKETS,
            totals=totals,
            total=sum(totals),
            money=clinic_money,
            phone=format_phone,
            form=FlaskForm(),
            may_export=self.allowed(EXPORT),
            spreadsheet_types=SPREADSHEET_TYPES,
        )

    @expose("/export/<export_type>/")
    @requires(EXPORT)
    def export(self, export_type: str) -> Any:
        if export_type not in SPREADSHEET_TYPES:
            abort(404)
        currency = current_user.clinic.currency
        rows = [
            [
                contact.name or "Unnamed",
                format_phone(contact.phone) if contact.phone else "",
                *(money_value(amount, currency) for amount in ageing.buckets),
                money_value(ageing.total, currency),
                currency,
            ]
            for contact, ageing in self._rows()
        ]
        audit.record(
            self.session,
            clinic_id=current_clinic_id(),
            actor=staff_actor(),
            action=f"export.{export_type}",
            entity=Contact(),  # a blank instance only names the table; never added
            after={"rows": len(rows), "report": "dues"},
        )
        self.session.commit()
        headers = ["Contact", "Phone", *dues.AGEING_BUCKETS, "Owed", "Currency"]
        return spreadsheet_response(export_type, f"dues_{utcnow():%Y-%m-%d}", headers, rows)

    @expose("/remind/<int:contact_id>", methods=("POST",))
    @requires("remind")
    def remind(self, contact_id: int) -> Any:
        form = FlaskForm()
        if not form.validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(url_for(".index"))
        with refused_as_flash(self.session) as outcome:
            dues.send_dues_reminder(
                self.session,
                clinic_id=current_clinic_id(),
                contact_id=contact_id,
                now=utcnow(),
                actor=staff_actor(),
            )
        if outcome.ok:
            flash(_("Reminder queued: the contact gets what they owe in the chat."), "success")
        return redirect(url_for(".index"))
