"""Clinics, staff accounts and the audit log: the settings only admins touch."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash
from flask_admin.form import BaseForm
from flask_login import current_user
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from admin.views.base import SecureModelView, current_clinic_id, staff_actor
from integrations import upi
from models import AuditLog, Clinic, ClinicPolicy, Role, StaffUser
from services import audit, clinics, staff
from services.errors import InvalidInput, ServiceError

CLINIC_STAFF_ROLES = [(r.value, r.value.title()) for r in Role if r is not Role.SUPERADMIN]


class _Unscoped(SecureModelView):
    """Views over tables that are not ClinicOwned: scoping is written out per view."""

    def scope(self, query: Any) -> Any:
        raise NotImplementedError

    def get_query(self):
        return self.scope(self.session.query(self.model))

    def get_count_query(self):
        from sqlalchemy import func

        return self.scope(self.session.query(func.count("*")).select_from(self.model))

    def get_one(self, id: Any) -> Any:
        if not str(id).isdigit():
            return None
        return self.scope(self.session.query(self.model).filter(self.model.id == int(id))).first()


class ClinicView(_Unscoped):
    """Superadmins create clinics; a clinic's admin edits its own (and its Twilio account)."""

    read_roles = frozenset({Role.SUPERADMIN, Role.ADMIN})
    write_roles = frozenset({Role.SUPERADMIN, Role.ADMIN})
    column_list = (
        "name",
        "slug",
        "timezone",
        "currency",
        "phone_region",
        "language",
        "twilio_account_sid",
        "active",
    )
    column_labels = {"twilio_account_sid": "Own Twilio account"}
    form_columns = (
        "name",
        "timezone",
        "currency",
        "phone_region",
        "language",
        "phone",
        "active",
        "tax_id",
        "upi_vpa",
        "upi_payee_name",
        # Flask-Admin includes extra fields only when they are listed here too.
        "twilio_account",
        "twilio_token",
        "twilio_clear",
        "razorpay_key",
        "razorpay_secret",
        "razorpay_webhook_secret",
        "razorpay_clear",
    )
    # Write-only: the token is never shown; a blank field leaves the stored one as it is.
    form_extra_fields = {
        "twilio_account": StringField(
            "Twilio Account SID", description="Leave both empty to use the deployment's account."
        ),
        "twilio_token": PasswordField(
            "Twilio Auth Token", description="Stored encrypted; blank keeps the current one."
        ),
        "twilio_clear": BooleanField("Use the deployment's Twilio account again"),
        "razorpay_key": StringField("Razorpay key id", description="rzp_test_… or rzp_live_…"),
        "razorpay_secret": PasswordField(
            "Razorpay key secret", description="Stored encrypted; blank keeps the current one."
        ),
        "razorpay_webhook_secret": PasswordField(
            "Razorpay webhook secret",
            description="The secret of the webhook pointing at /webhooks/razorpay.",
        ),
        "razorpay_clear": BooleanField("Stop taking payments through Razorpay"),
    }
    form_args = {
        "tax_id": {"label": "Tax id (GSTIN)"},
        "upi_vpa": {
            "label": "UPI id",
            "description": "e.g. clinic@okaxis: patients pay by UPI and staff confirm",
        },
        "upi_payee_name": {"label": "UPI payee name"},
    }

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.may_write() and current_user.is_superadmin

    def on_form_prefill(self, form: Any, id: Any) -> None:
        clinic = self.get_one(id)
        if clinic is not None:
            form.twilio_account.data = clinic.twilio_account_sid or ""
            form.razorpay_key.data = clinic.razorpay_key_id or ""

    def scope(self, query: Any) -> Any:
        if current_user.is_superadmin:
            return query
        return query.filter(Clinic.id == current_user.clinic_id)

    def get_create_form(self) -> type[BaseForm]:
        class ClinicForm(BaseForm):
            name = StringField("Name", validators=[DataRequired(), Length(max=120)])
            slug = StringField("Slug", validators=[DataRequired(), Length(max=40)])
            timezone = StringField("Time zone", default="Asia/Kolkata")
            currency = StringField("Currency", default="INR")
            phone_region = StringField("Phone region", default="IN")
            language = StringField("Language", default="en")

        return ClinicForm

    def create_model(self, form: Any) -> Any:
        try:
            return clinics.create_clinic(
                self.session,
                name=form.name.data,
                slug=form.slug.data.strip().lower(),
                timezone=form.timezone.data.strip(),
                currency=form.currency.data.strip().upper(),
                phone_region=form.phone_region.data.strip().upper(),
                language=form.language.data.strip(),
                actor=staff_actor(),
            )
        except ServiceError as exc:
            self.session.rollback()
            flash(exc.message, "error")
            return False

    def update_model(self, form: Any, model: Any) -> bool:
        if not self.can_edit:
            abort(403)
        account = (form.twilio_account.data or "").strip()
        token = (form.twilio_token.data or "").strip()
        clear = bool(form.twilio_clear.data)
        razorpay = (
            (form.razorpay_key.data or "").strip(),
            (form.razorpay_secret.data or "").strip(),
            (form.razorpay_webhook_secret.data or "").strip(),
        )
        razorpay_clear = bool(form.razorpay_clear.data)
        for extra in self.form_extra_fields:
            delattr(form, extra)
        before = audit.snapshot(model)
        form.populate_obj(model)
        try:
            clinics.validate_clinic_fields(
                slug=model.slug,
                timezone=model.timezone,
                currency=model.currency,
                phone_region=model.phone_region,
                language=model.language,
            )
            model.upi_vpa = (model.upi_vpa or "").strip() or None
            if model.upi_vpa and not upi.VPA.match(model.upi_vpa):
                raise InvalidInput(detail="A UPI id looks like name@bank, e.g. clinic@okaxis.")
        except ServiceError as exc:
            self.session.rollback()
            flash(exc.message, "error")
            return False
        audit.record(
            self.session,
            clinic_id=model.id,
            actor=staff_actor(),
            action="clinic.update",
            entity=model,
            before=before,
        )
        self.session.commit()
        if clear or token or account != (model.twilio_account_sid or ""):
            try:
                clinics.set_twilio_account(
                    self.session,
                    clinic_id=model.id,
                    account_sid=None if clear else account,
                    auth_token=None if clear else token,
                    config=current_app.config["ROSHNI"],
                    actor=staff_actor(),
                )
            except ServiceError as exc:
                self.session.rollback()
                flash(exc.message, "error")
                return False
        if razorpay_clear or any(razorpay[1:]) or razorpay[0] != (model.razorpay_key_id or ""):
            try:
                clinics.set_razorpay_account(
                    self.session,
                    clinic_id=model.id,
                    key_id=None if razorpay_clear else razorpay[0],
                    key_secret=None if razorpay_clear else razorpay[1],
                    webhook_secret=None if razorpay_clear else razorpay[2],
                    config=current_app.config["ROSHNI"],
                    actor=staff_actor(),
                )
            except ServiceError as exc:
                self.session.rollback()
                flash(exc.message, "error")
                return False
        return True


class StaffUserView(_Unscoped):
    read_roles = frozenset({Role.SUPERADMIN, Role.ADMIN})
    write_roles = frozenset({Role.SUPERADMIN, Role.ADMIN})
    allow_edit = False
    column_list = ("email", "name", "role", "clinic", "active", "last_login_at")
    column_exclude_list = ("password_hash",)

    def scope(self, query: Any) -> Any:
        if current_user.is_superadmin:
            return query
        return query.filter(StaffUser.clinic_id == current_user.clinic_id)

    def get_create_form(self) -> type[BaseForm]:
        class StaffForm(BaseForm):
            email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
            name = StringField("Name", validators=[Length(max=120)])
            role = SelectField("Role", choices=CLINIC_STAFF_ROLES)
            password = PasswordField(
                "Password", validators=[DataRequired(), Length(min=staff.MIN_PASSWORD, max=256)]
            )
            clinic = SelectField("Clinic", coerce=int)

        return StaffForm

    def create_form(self, obj: Any = None) -> Any:
        form = super().create_form(obj)
        # Forms are built once per app; whose clinics to offer is decided per request.
        query = select(Clinic).order_by(Clinic.name)
        if not current_user.is_superadmin:
            query = query.where(Clinic.id == current_user.clinic_id)
        form.clinic.choices = [(c.id, c.name) for c in self.session.scalars(query)]
        return form

    def create_model(self, form: Any) -> Any:
        clinic_id = form.clinic.data if current_user.is_superadmin else current_user.clinic_id
        try:
            return staff.create_staff_user(
                self.session,
                email=form.email.data,
                password=form.password.data,
                role=Role(form.role.data),
                clinic_id=clinic_id,
                name=form.name.data or "",
                actor=staff_actor(),
            )
        except (ServiceError, ValueError) as exc:
            self.session.rollback()
            flash(getattr(exc, "message", str(exc)), "error")
            return False


class AuditLogView(_Unscoped):
    read_roles = frozenset({Role.SUPERADMIN, Role.ADMIN})
    write_roles = frozenset()
    allow_create = False
    allow_edit = False
    can_view_details = True
    column_list = ("created_at", "actor_type", "actor_id", "action", "entity_type", "entity_id")
    column_filters = ("action", "entity_type", "actor_type")
    column_default_sort = ("created_at", True)

    def scope(self, query: Any) -> Any:
        if current_user.is_superadmin:
            return query
        return query.filter(AuditLog.clinic_id == current_user.clinic_id)


class PolicyView(SecureModelView):
    """The clinic's booking rules: windows, horizon, reminders, dues reminders."""

    read_roles = frozenset({Role.ADMIN, Role.OPERATOR})
    write_roles = frozenset({Role.ADMIN})
    allow_create = False
    column_list = (
        "booking_horizon_days",
        "min_notice_hours",
        "cancellation_window_hours",
        "reschedule_window_hours",
        "reminder_offsets_hours",
        "slot_step_minutes",
        "dues_reminders_enabled",
        "dues_reminder_day",
        "dues_reminder_time",
        "tax_label",
        "tax_rate_bp",
        "financial_year_start_month",
    )
    form_columns = column_list
    form_overrides = {"reminder_offsets_hours": StringField}
    form_args = {
        "reminder_offsets_hours": {"description": "Hours before a session, e.g. 24, 2"},
        "dues_reminder_time": {"description": "Clinic time, e.g. 10:00"},
        "tax_label": {"description": "e.g. GST; leave empty when sessions are tax-exempt"},
        "tax_rate_bp": {"label": "Tax rate (basis points)", "description": "1800 = 18 %"},
        "financial_year_start_month": {"description": "4 = April (India); 1 = January"},
    }

    def get_one(self, id: Any) -> Any:
        if not str(id).isdigit() or int(id) != current_clinic_id():
            return None
        return self.session.get(ClinicPolicy, int(id))

    def on_form_prefill(self, form: Any, id: Any) -> None:
        policy = self.get_one(id)
        if policy is not None:
            form.reminder_offsets_hours.data = ", ".join(
                str(h) for h in policy.reminder_offsets_hours or []
            )
