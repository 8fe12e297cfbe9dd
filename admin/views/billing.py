"""Payments, refunds, invoices, packages and dues. Every change is a call to
``services.billing.payments`` or ``services.billing.invoices``; amounts are typed as money
("1,200.50") and stored as integer minor units.

Roles (admin/permissions.py, resource "payments"): admin and accountant do
everything; operators see all and record every kind of money the desk takes; therapists
read what concerns their own patients. Links to these pages (admin.views.links) show
only to those the page lets in. Dues are ``admin.views.dues``.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import NumberFormatError, get_currency_precision, parse_decimal
from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from admin.i18n import word
from admin.permissions import RECORDED_METHODS
from admin.views.access import SHARED, requires
from admin.views.base import SecureModelView
from admin.views.current import current_clinic_id, staff_actor
from admin.views.formatters import clinic_money, label_formatter, money_formatter, when_formatter
from admin.views.links import ReceiptRowAction, RefundRowAction, VoidRowAction
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_money
from core.ids import parse_id
from models import Appointment, Contact, Package, Patient, Payment, PaymentMethod, Refund
from services.billing import credits, payments, refunds
from services.billing import invoices as billing
from services.billing.billing_documents import invoice_pdf, receipt_pdf
from services.errors import InvalidInput


def parse_money(text: str | None, currency: str) -> int:
    """ "₹1,20,000.50" → 12000050 minor units, exactly (Babel's Decimal, never float)."""
    cleaned = (text or "").replace("₹", "").strip()
    try:
        value = parse_decimal(cleaned, locale="en_IN", strict=True)
    except NumberFormatError:
        raise InvalidInput(detail="Please give an amount like 1200 or 1200.50.") from None
    if not value.is_finite():
        raise InvalidInput(detail="Please give an amount like 1200 or 1200.50.")
    scaled = value.scaleb(get_currency_precision(currency))
    if scaled != scaled.to_integral_value() or value <= 0:
        raise InvalidInput(detail="Please give a positive amount with at most two decimals.")
    return int(scaled)


class PaymentView(SecureModelView):
    resource = "payments"
    therapist_scope = "contact"
    csv_export = True
    allow_create = False
    allow_edit = False
    can_view_details = True
    column_list = (
        "receipt_number",
        "received_at",
        "contact",
        "method",
        "status",
        "amount_minor",
        "reference",
        "recorded_by",
    )
    column_labels = {
        "contact": _l("Contact"),
        "amount_minor": _l("Amount"),
        "reference": _l("Reference"),
        "received_at": _l("Received at"),
        "receipt_number": _l("Receipt"),
        "note": _l("Note"),
    }
    column_default_sort = ("received_at", True)
    column_filters = ("method", "status")
    column_formatters = {
        "received_at": when_formatter,
        "method": label_formatter,
        "status": label_formatter,
        "amount_minor": money_formatter("amount_minor"),
    }
    column_details_exclude_list = ("clinic", "public_token")
    column_exclude_list = ("clinic", "public_token", "created_at", "updated_at")

    column_extra_row_actions = [ReceiptRowAction(), RefundRowAction()]
    list_template = "admin/payment_list.html"
    details_template = "admin/payment_details.html"

    @expose("/record/", methods=("GET", "POST"))
    @requires("record")
    def record(self) -> Any:
        clinic_id = current_clinic_id()
        currency = current_user.clinic.currency
        methods = RECORDED_METHODS

        class RecordForm(FlaskForm):
            # Nothing chosen for the desk: one hasty Save must not take money from the
            # first contact in the list.
            contact = SelectField(
                _l("Paid by"),
                coerce=_chosen_id,
                validators=[DataRequired(message=_l("Choose who paid."))],
            )
            amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)])
            method = SelectField(
                _l("Method"), choices=[(m.value, word(m.label)) for m in methods], default="cash"
            )
            reference = StringField(
                _l("Reference (UPI ref, cheque no.)"), validators=[Length(max=80)]
            )
            note = StringField(_l("Note"), validators=[Length(max=300)])

        form = RecordForm()
        contacts = self.session.scalars(
            select(Contact).where(Contact.clinic_id == clinic_id).order_by(Contact.name)
        ).all()
        form.contact.choices = [("", _("Choose who paid…"))] + [(c.id, str(c)) for c in contacts]
        wanted = parse_id(request.args.get("contact_id"))
        if request.method == "GET" and wanted is not None:
            form.contact.data = wanted
        # Taken on a session's page: the money pays that session, and the desk goes back there.
        appointment = self._session_to_pay(request.args.get("appointment_id"))
        back = (
            url_for("appointment.details_view", id=appointment.id)
            if appointment is not None
            else url_for(".index_view")
        )
        if appointment is not None and request.method == "GET":
            form.contact.data = appointment.patient.contact_id
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                payment = payments.record_payment(
                    self.session,
                    clinic_id=clinic_id,
                    contact_id=form.contact.data,
                    amount_minor=parse_money(form.amount.data, currency),
                    method=PaymentMethod(form.method.data),
                    reference=form.reference.data,
                    note=form.note.data,
                    now=utcnow(),
                    actor=staff_actor(),
                    appointment_id=appointment.id if appointment is not None else None,
                )
            if outcome.ok:
                flash(
                    _(
                        "Recorded %(amount)s by %(method)s (%(receipt)s); the receipt is sent "
                        "in the chat.",
                        amount=clinic_money(payment.amount_minor),
                        method=word(payment.method.label),
                        receipt=payment.receipt_number,
                    ),
                    "success",
                )
                return redirect(back)
        if appointment is not None and request.method == "POST":
            # The session page's own small form: its errors go back there as a flash.
            for field_name, errors in form.errors.items():
                label = getattr(form, field_name).label.text if hasattr(form, field_name) else ""
                problem = f"{label} {errors[0]}".strip()
                flash(_("Nothing was recorded: %(problem)s", problem=problem), "error")
            return redirect(back)
        return self.render(
            "admin/billing_form.html",
            form=form,
            title=_("Record a payment"),
            lines=[
                _(
                    "Money taken at the desk: cash, UPI, card or bank transfer. "
                    "The patient gets a receipt in the chat."
                )
            ],
            submit=_("Record payment"),
            back=back,
        )

    def _session_to_pay(self, raw: str | None) -> Appointment | None:
        """The clinic's session named by ``appointment_id`` (None if none or not found)."""
        key = parse_id(raw)
        if key is None:
            return None
        return self.session.scalar(
            select(Appointment).where(
                Appointment.id == key, Appointment.clinic_id == current_clinic_id()
            )
        )

    @expose("/credit/", methods=("POST",))
    @requires("record")
    def pay_from_credit(self) -> Any:
        """Pay one session from the patient's package credit (a session, not an amount);
        the button is on the session's page (``admin/appointment_details.html``)."""
        appointment_id = parse_id(request.form.get("appointment_id"))
        if appointment_id is None:
            flash(_("Nothing was paid: no session was given."), "error")
            return redirect(url_for(".index_view"))
        back = url_for("appointment.details_view", id=appointment_id)
        if not FlaskForm().validate_on_submit():
            flash(_("Nothing was paid: the form expired; please try again."), "error")
            return redirect(back)
        with refused_as_flash(self.session) as outcome:
            credits.draw_credit_for(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=appointment_id,
                now=utcnow(),
                actor=staff_actor(),
            )
        if outcome.ok:
            flash(_("Paid from package credit."), "success")
        return redirect(back)

    @expose("/refund/<int:payment_id>", methods=("GET", "POST"))
    @requires("refund")
    def refund(self, payment_id: int) -> Any:
        payment = self.get_one(payment_id)
        if payment is None:
            abort(404)
        free = billing.payment_available(self.session, payment.id)

        class RefundForm(FlaskForm):
            amount = StringField(_l("Refund amount"), validators=[DataRequired(), Length(max=20)])
            reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])

        form = RefundForm()
        if request.method == "GET":
            form.amount.data = format_money(free, payment.currency, short=True).lstrip("₹")
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                refunds.refund_payment(
                    self.session,
                    clinic_id=current_clinic_id(),
                    payment_id=payment.id,
                    amount_minor=parse_money(form.amount.data, payment.currency),
                    reason=form.reason.data,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            if outcome.ok:
                online = payment.method is PaymentMethod.PAYMENT_LINK
                flash(
                    _("Refund sent to Razorpay; it is final once Razorpay processes it.")
                    if online
                    else _("Refund recorded."),
                    "success",
                )
                return redirect(url_for(".index_view"))
        return self.render(
            "admin/billing_form.html",
            form=form,
            title=f"Refund {payment.receipt_number or payment.id}",
            lines=[
                f"Paid {clinic_money(payment.amount_minor)} by {payment.method.label}.",
                f"Proposed refund (not paying any invoice): {clinic_money(free)}. "
                "To refund money that pays an invoice, void the invoice first.",
            ],
            submit="Refund",
            back=url_for(".index_view"),
        )

    @expose("/receipt/<int:payment_id>.pdf")
    def receipt(self, payment_id: int) -> Response:
        payment = self.get_one(payment_id)
        if payment is None or payment.receipt_number is None:
            abort(404)
        return _pdf(receipt_pdf(self.session, payment), payment.receipt_number)

    @action("confirm", _l("Confirm received"), _l("Mark the selected UPI payments as received?"))
    def action_confirm(self, ids: list[str]) -> None:
        self._each(ids, payments.confirm_payment, _l("confirmed"))

    @action("reject", _l("Not received"), _l("Mark the selected UPI payments as never received?"))
    def action_reject(self, ids: list[str]) -> None:
        self._each(ids, payments.reject_payment, _l("marked not received"), reason="not received")

    def _each(self, ids: list[str], verb: Any, done_text: str, **extra: Any) -> None:
        if not self.may_write():
            flash(_("Your role cannot change payments."), "error")
            return
        done = 0
        for raw in ids:
            if parse_id(raw) is None:
                continue
            with refused_as_flash(self.session):
                verb(
                    self.session,
                    clinic_id=current_clinic_id(),
                    payment_id=int(raw),
                    now=utcnow(),
                    actor=staff_actor(),
                    **extra,
                )
                done += 1
        if done:
            flash(_("%(n)s payment(s) %(done)s.", n=done, done=done_text), "success")


class InvoiceView(SecureModelView):
    resource = "payments"
    therapist_scope = "patient"
    csv_export = True
    allow_create = False
    allow_edit = False
    column_list = ("number", "issued_at", "patient", "contact", "total_minor", "status", "pdf")
    column_extra_row_actions = [VoidRowAction()]
    column_labels = {"total_minor": _l("Total"), "pdf": _l("PDF")}
    column_default_sort = ("issued_at", True)
    column_filters = ("status",)
    column_searchable_list = ("number",)
    column_formatters = {
        "issued_at": when_formatter,
        "status": label_formatter,
        "total_minor": money_formatter("total_minor"),
        "pdf": lambda view, context, model, name: _link(
            url_for(".pdf", invoice_id=model.id), "Download"
        ),
    }

    @expose("/pdf/<int:invoice_id>.pdf")
    def pdf(self, invoice_id: int) -> Response:
        invoice = self.get_one(invoice_id)
        if invoice is None:
            abort(404)
        return _pdf(invoice_pdf(self.session, invoice), invoice.number)

    @expose("/void/<int:invoice_id>", methods=("GET", "POST"))
    @requires("void")
    def void(self, invoice_id: int) -> Any:
        invoice = self.get_one(invoice_id)
        if invoice is None:
            abort(404)

        class VoidForm(FlaskForm):
            reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])

        form = VoidForm()
        if form.validate_on_submit():
            billing.void_invoice_for(
                self.session,
                clinic_id=current_clinic_id(),
                invoice_id=invoice.id,
                reason=form.reason.data,
                now=utcnow(),
                actor=staff_actor(),
            )
            flash(
                _("%(number)s is void; what paid it is now on account.", number=invoice.number),
                "success",
            )
            return redirect(url_for(".index_view"))
        return self.render(
            "admin/billing_form.html",
            form=form,
            title=f"Void {invoice.number}",
            lines=["The patient will no longer owe it; payments against it go on account."],
            submit="Void invoice",
            back=url_for(".index_view"),
        )


class RefundView(SecureModelView):
    """Refunds as a list and a file (CSV, XLSX): made from each payment's Refund page."""

    resource = "payments"
    # A refund belongs to a payment; therapists read payments as their own patients' only,
    # and a refund names no patient of its own: the list is for the clinic's money roles.
    therapist_scope = None
    csv_export = True
    allow_create = False
    allow_edit = False
    column_list = (
        "created_at",
        "processed_at",
        "payment.receipt_number",
        "payment.contact",
        "payment.method",
        "amount_minor",
        "status",
        "reason",
        "requested_by",
    )
    column_labels = {
        "created_at": _l("Requested"),
        "processed_at": _l("Processed"),
        "payment.receipt_number": _l("Receipt"),
        "payment.contact": _l("Contact"),
        "payment.method": _l("Method"),
        "amount_minor": _l("Amount"),
    }
    column_default_sort = ("created_at", True)
    column_sortable_list = ("created_at", "processed_at", "amount_minor")
    column_filters = ("status",)
    column_formatters = {
        "created_at": when_formatter,
        "processed_at": when_formatter,
        "payment.method": lambda view, context, model, name: model.payment.method.label,
        "status": label_formatter,
        "amount_minor": money_formatter("amount_minor"),
    }

    def get_query(self):
        return super().get_query().options(joinedload(Refund.payment).joinedload(Payment.contact))


class PackageView(SecureModelView):
    resource = "payments"
    therapist_scope = SHARED  # what the clinic sells, not anyone's data
    column_list = ("name", "service", "sessions", "price_minor", "active")
    column_labels = {"price_minor": _l("Price"), "service": _l("Service (empty: any)")}
    column_formatters = {"price_minor": money_formatter("price_minor")}
    form_columns = ("name", "service", "sessions", "price_minor", "active")
    form_args = {"price_minor": {"label": _l("Price (minor units, e.g. paise)")}}

    @expose("/sell/", methods=("GET", "POST"))
    @requires("sell")
    def sell(self) -> Any:
        clinic_id = current_clinic_id()

        class SellForm(FlaskForm):
            patient = SelectField(_l("Patient"), coerce=int)
            package = SelectField(_l("Package"), coerce=int)

        form = SellForm()
        wanted = parse_id(request.args.get("patient_id"))
        if request.method == "GET" and wanted is not None:
            form.patient.data = wanted
        form.patient.choices = [
            (p.id, p.name)
            for p in self.session.scalars(
                select(Patient).where(Patient.clinic_id == clinic_id).order_by(Patient.name)
            )
        ]
        form.package.choices = [
            (p.id, f"{p.name} · {clinic_money(p.price_minor)}")
            for p in self.session.scalars(
                select(Package).where(Package.clinic_id == clinic_id, Package.active.is_(True))
            )
        ]
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                invoice = credits.sell_package(
                    self.session,
                    clinic_id=clinic_id,
                    patient_id=form.patient.data,
                    package_id=form.package.data,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            if outcome.ok:
                flash(_("Package sold: invoice %(number)s.", number=invoice.number), "success")
                return redirect(url_for("invoice.index_view"))
        return self.render(
            "admin/billing_form.html",
            form=form,
            title=_l("Sell a package"),
            lines=["The package is invoiced and its sessions are added to the patient's credit."],
            submit="Sell package",
            back=url_for(".index_view"),
        )


def _pdf(data: bytes, name: str) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


def _link(href: str, text: str) -> Any:
    from markupsafe import Markup

    return Markup('<a href="{}">{}</a>').format(href, text)


def _chosen_id(value: Any) -> int | None:
    """A select's chosen id; None for its empty "Choose…" line."""
    return None if value in (None, "") else parse_id(value)
