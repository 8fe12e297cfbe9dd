"""A contact's data rights in the panel: download everything held about them, or erase it.

Mixins for ``ContactView`` (``/admin/contact/export-data/?id=…`` and
``/admin/contact/erase/?id=…``) and ``PatientView`` (``/admin/patient/data-rights/?id=…``,
which leads to the patient's contact: the rights belong to whoever the clinic
holds data about through that phone). Both verbs, ``export_data`` and ``erase``,
are the admin's alone in ``admin.permissions``; the services audit each use. Both are
given the configured file storage (``core.storage.media_store``): the export copies the
files the contact sent in chat from it, the erasure deletes them from it.
Erasing asks for a typed confirmation on its own page, like cancelling a session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms.fields import StringField

from admin.views.access import requires
from admin.views.current import current_clinic_id, staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_phone
from core.ids import parse_id
from core.storage import media_store
from models import Appointment, AppointmentStatus, Contact, Invoice, Patient, Payment
from services.privacy import data_export, erasure

EXPORT_DATA = "export_data"
ERASE = "erase"
CONFIRM_WORD = "ERASE"


class EraseForm(FlaskForm):
    confirm = StringField(f"Type {CONFIRM_WORD} to confirm")


class ContactDataRightsMixin:
    """``export_data_view`` and ``erase_view`` for the contact view."""

    # Provided by the view this is mixed into (annotations only: nothing is shadowed).
    session: Any
    allowed: Callable[[str], bool]
    get_query: Callable[[], Any]
    render: Callable[..., Any]

    def _visible_contact(self) -> Contact:
        key = parse_id(request.args.get("id"))
        contact = (
            self.get_query().filter(Contact.id == key).one_or_none() if key is not None else None
        )
        if contact is None:
            abort(404)
        return contact

    @expose("/export-data/", methods=("POST",))
    @requires(EXPORT_DATA)
    def export_data_view(self) -> Any:
        contact = self._visible_contact()
        now = utcnow()
        archive = data_export.export_contact_data(
            self.session,
            clinic_id=current_clinic_id(),
            contact_id=contact.id,
            actor=staff_actor(),
            now=now,
            media=media_store(current_app.config["ROSHNI"]),
        )
        name = data_export.export_filename(contact.id, now)
        return Response(
            archive,
            mimetype="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    @expose("/erase/", methods=("GET", "POST"))
    @requires(ERASE)
    def erase_view(self) -> Any:
        contact = self._visible_contact()
        back = url_for(".details_view", id=contact.id)
        if contact.erased_at is not None:
            flash(f"Contact #{contact.id}'s personal data was erased already.")
            return redirect(back)
        form = EraseForm()
        if form.validate_on_submit():
            if (form.confirm.data or "").strip().upper() != CONFIRM_WORD:
                form.confirm.errors.append(f"Type {CONFIRM_WORD} to erase this contact's data.")
            else:
                with refused_as_flash(self.session) as outcome:
                    done = erasure.erase_contact(
                        self.session,
                        clinic_id=current_clinic_id(),
                        contact_id=contact.id,
                        actor=staff_actor(),
                        now=utcnow(),
                        media=media_store(current_app.config["ROSHNI"]),
                    )
                if outcome.ok:
                    cancelled = done.counts.get("appointments_cancelled", 0)
                    flash(
                        f"Erased contact #{done.contact_id}'s personal data; "
                        f"{cancelled} upcoming session(s) cancelled. Invoices and payments "
                        "are kept without their name or number.",
                        "success",
                    )
                    return redirect(back)
        return self.render(
            "admin/contact_erase.html",
            form=form,
            contact=contact,
            phone=format_phone(contact.phone),
            summary=self._erase_summary(contact),
            confirm_word=CONFIRM_WORD,
            back=back,
        )

    def _erase_summary(self, contact: Contact) -> dict[str, int]:
        clinic_id = current_clinic_id()
        patient_ids = select(Patient.id).where(
            Patient.clinic_id == clinic_id, Patient.contact_id == contact.id
        )

        def count(stmt: Any) -> int:
            return self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

        return {
            "patients": count(patient_ids),
            "upcoming": count(
                select(Appointment.id).where(
                    Appointment.clinic_id == clinic_id,
                    Appointment.patient_id.in_(patient_ids),
                    Appointment.status.in_(AppointmentStatus.active()),
                    Appointment.start_at > utcnow(),
                )
            ),
            "invoices": count(
                select(Invoice.id).where(
                    Invoice.clinic_id == clinic_id, Invoice.contact_id == contact.id
                )
            ),
            "payments": count(
                select(Payment.id).where(
                    Payment.clinic_id == clinic_id, Payment.contact_id == contact.id
                )
            ),
        }


class PatientDataRightsMixin:
    """From a patient to their contact's data-rights page."""

    get_one: Callable[[Any], Any]

    @expose("/data-rights/")
    @requires(ERASE)
    def data_rights_view(self) -> Any:
        patient = self.get_one(request.args.get("id", ""))
        if patient is None:
            abort(404)
        return redirect(url_for("contact.erase_view", id=patient.contact_id))
