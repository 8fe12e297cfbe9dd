"""Clinics, staff accounts, one's own profile and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, g, redirect, url_for
from flask_admin import BaseView, expose
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, FilterLike
from flask_admin.form import BaseForm
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from admin.permissions import UPDATE
from admin.views.base import (
    SecureModelView,
    _Guarded,
    current_timezone,
    label_formatter,
    requires,
    staff_actor,
    when_formatter,
)
from core.clock import utcnow
from core.formatting import format_when
from integrations import upi
from models import ActorType, AuditLog, Clinic, Role, StaffUser, Therapist
from services import audit, clinics, staff
from services.errors import InvalidInput, ServiceError

CLINIC_STAFF_ROLES = [(r.value, r.value.title()) for r in Role if r is not Role.SUPERADMIN]


class _Unscoped(SecureModelView):
    """Views over tables that are not ClinicOwned: ``scope`` is written out per view
    (the base applies it to lists, counts, single rows and actions)."""

    def scope(self, query: Any) -> Any:
        raise NotImplementedError


class ClinicView(_Unscoped):
    """Superadmins create clinics; a clinic's admin edits its own (and its Twilio account)."""

    resource = "clinics"
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
    """The team: an admin runs their clinic's accounts, the superadmin every clinic's.

    Accounts are created here; each one's page (the email in the list) changes its
    role, deactivates or reactivates it, ends a lockout, resets a lost two-step login
    and sets a new password, each through a verb of ``services.staff``.
    """

    resource = "staff"
    allow_edit = False
    column_list = (
        "email",
        "name",
        "role",
        "clinic",
        "active",
        "locked",
        "two_step",
        "last_login_at",
    )
    column_exclude_list = ("password_hash",)
    column_labels = {"two_step": "Two-step login", "last_login_at": "Last login"}
    column_formatters = {
        "email": lambda view, context, model, name: view.manage_link(model),
        "role": label_formatter,
        "locked": lambda view, context, model, name: _locked_text(model),
        "two_step": lambda view, context, model, name: "on" if model.has_totp else "off",
        "last_login_at": when_formatter,
    }

    class RoleForm(FlaskForm):
        role = SelectField("Role", choices=CLINIC_STAFF_ROLES, validators=[DataRequired()])

    class ActiveForm(FlaskForm):
        # Posted by the Activate / Deactivate button; a form without it changes nothing.
        active = SelectField(choices=[("1", "Active"), ("0", "Deactivated")])

    class ConfirmForm(FlaskForm):
        """Only the CSRF token: unlock and reset two-step ask for nothing else."""

    class PasswordForm(FlaskForm):
        new = PasswordField(
            "New password",
            validators=[DataRequired(), Length(min=staff.MIN_PASSWORD, max=256)],
            description=f"At least {staff.MIN_PASSWORD} characters. Tell it to them in person.",
        )
        repeat = PasswordField(
            "New password again",
            validators=[DataRequired(), EqualTo("new", message="The two do not match.")],
        )

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

    def manage_link(self, user: StaffUser) -> Markup:
        return Markup('<a href="{}">{}</a>').format(
            self.get_url(".manage", staff_user_id=user.id), user.email
        )

    # --- one account's page, and a POST per verb ---------------------------------------------

    @expose("/manage/<int:staff_user_id>")
    def manage(self, staff_user_id: int) -> str:
        return self._page(self._member(staff_user_id))

    @expose("/manage/<int:staff_user_id>/role", methods=("POST",))
    @requires("update")
    def change_role(self, staff_user_id: int) -> Any:
        user = self._member(staff_user_id)
        form = self.RoleForm()
        if not form.validate_on_submit():
            return self._page(user, role_form=form)
        role = Role(form.role.data)
        return self._apply(
            user,
            lambda **scope: staff.change_role(self.session, role=role, **scope),
            done=f"{user.email} is now {_a_role(role)}.",
        )

    @expose("/manage/<int:staff_user_id>/active", methods=("POST",))
    @requires("update")
    def set_active(self, staff_user_id: int) -> Any:
        user = self._member(staff_user_id)
        form = self.ActiveForm()
        if not form.validate_on_submit():
            flash("Choose Activate or Deactivate.", "error")
            return redirect(self.get_url(".manage", staff_user_id=user.id))
        active = form.active.data == "1"
        return self._apply(
            user,
            lambda **scope: staff.set_active(self.session, active=active, **scope),
            done=f"{user.email} can log in again."
            if active
            else f"{user.email} is deactivated and signed out.",
        )

    @expose("/manage/<int:staff_user_id>/unlock", methods=("POST",))
    @requires("update")
    def unlock(self, staff_user_id: int) -> Any:
        user = self._member(staff_user_id)
        if not self.ConfirmForm().validate_on_submit():
            abort(400)
        return self._apply(
            user,
            lambda **scope: staff.unlock(self.session, **scope),
            done=f"{user.email} can log in again now.",
        )

    @expose("/manage/<int:staff_user_id>/two-step", methods=("POST",))
    @requires("update")
    def reset_totp(self, staff_user_id: int) -> Any:
        user = self._member(staff_user_id)
        if not self.ConfirmForm().validate_on_submit():
            abort(400)
        return self._apply(
            user,
            lambda **scope: staff.reset_totp(self.session, **scope),
            done=f"Two-step login is off for {user.email}: their password alone logs them "
            "in until they set it up again.",
        )

    @expose("/manage/<int:staff_user_id>/password", methods=("POST",))
    @requires("update")
    def set_password(self, staff_user_id: int) -> Any:
        user = self._member(staff_user_id)
        form = self.PasswordForm()
        if not form.validate_on_submit():
            return self._page(user, password_form=form)
        return self._apply(
            user,
            lambda **scope: staff.set_password(self.session, password=form.new.data, **scope),
            done=f"{user.email} has a new password.",
        )

    def _member(self, staff_user_id: int) -> StaffUser:
        """The account, if it is one this user runs; another clinic's is simply not found."""
        user = self.get_one(staff_user_id)
        if user is None:
            abort(404)
        return user

    def _apply(self, user: StaffUser, verb: Any, *, done: str) -> Response:
        clinic_id = None if current_user.is_superadmin else current_user.clinic_id
        try:
            verb(user_id=user.id, actor=staff_actor(), clinic_id=clinic_id)
        except ServiceError as exc:
            self.session.rollback()
            flash(exc.message, "error")
        else:
            flash(done, "success")
        return redirect(self.get_url(".manage", staff_user_id=user.id))

    def _page(
        self,
        user: StaffUser,
        *,
        role_form: FlaskForm | None = None,
        password_form: FlaskForm | None = None,
    ) -> str:
        return self.render(
            "admin/staff_user.html",
            user=user,
            myself=user.id == current_user.id,
            locked=_locked_text(user),
            last_login=format_when(user.last_login_at, current_timezone())
            if user.last_login_at
            else "never",
            role_form=role_form or self.RoleForm(formdata=None, role=user.role.value),
            active_form=self.ActiveForm(formdata=None),
            confirm_form=self.ConfirmForm(formdata=None),
            password_form=password_form or self.PasswordForm(formdata=None),
            may_write=self.allowed(UPDATE),
            back=self.get_url(".index_view"),
        )


def _locked_text(user: StaffUser) -> str:
    """ "until Mon 23 Nov, 9:15 am" while a lockout lasts, else empty."""
    if user.locked_until is None or user.locked_until <= utcnow():
        return ""
    return f"until {format_when(user.locked_until, current_timezone())}"


def _a_role(role: Role) -> str:
    return ("an " if role.value[0] in "aeiou" else "a ") + role.value


class LocalDayFilter(BaseSQLAFilter):
    """A UTC timestamp column against a day of the clinic's calendar.

    Flask-Admin's own date filters compare the column with a naive date, which our
    UTCDateTime type refuses (and "that day" is the clinic's day, not UTC's).
    """

    def __init__(self, column: Any, name: str) -> None:
        super().__init__(column, name, data_type="datepicker")

    def clean(self, value: str) -> date:
        return date.fromisoformat(str(value).strip())

    @staticmethod
    def bounds(day: date) -> tuple[datetime, datetime]:
        """The UTC instants where the clinic's ``day`` starts and the next one starts."""
        zone = ZoneInfo(current_timezone())
        start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return start, end


class LocalDayOn(LocalDayFilter):
    def apply(self, query: Any, value: date, alias: Any = None) -> Any:
        start, end = self.bounds(value)
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)

    def operation(self) -> Any:
        return lazy_gettext("on")


class LocalDayFrom(LocalDayFilter):
    def apply(self, query: Any, value: date, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) >= self.bounds(value)[0])

    def operation(self) -> Any:
        return lazy_gettext("on or after")


class LocalDayUntil(LocalDayFilter):
    def apply(self, query: Any, value: date, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) < self.bounds(value)[1])

    def operation(self) -> Any:
        return lazy_gettext("on or before")


class StaffEmailFilter(BaseSQLAFilter):
    """Changes made by staff whose email contains the text."""

    def apply(self, query: Any, value: str, alias: Any = None) -> Any:
        staff_ids = select(StaffUser.id).where(
            StaffUser.email.icontains(value.strip(), autoescape=True)
        )
        return query.filter(
            AuditLog.actor_type == ActorType.STAFF, self.get_column(alias).in_(staff_ids)
        )

    def operation(self) -> Any:
        return lazy_gettext("email contains")


def _actor_formatter(view: Any, context: Any, model: AuditLog, name: str) -> str:
    if model.actor_type is ActorType.STAFF and model.actor_id is not None:
        return f"staff: {view.staff_emails().get(model.actor_id, model.actor_id)}"
    if model.actor_id is not None:
        return f"{model.actor_type.value}: {model.actor_id}"
    return model.actor_type.value


class AuditLogView(_Unscoped):
    """Who changed what, read-only; filter by actor, entity, action and (clinic) day."""

    resource = "audit"
    allow_create = False
    allow_edit = False
    can_view_details = True
    column_list = ("created_at", "actor_id", "action", "entity_type", "entity_id")
    column_labels = {"created_at": "When", "actor_id": "Who", "entity_type": "Entity"}
    column_formatters = {"created_at": when_formatter, "actor_id": _actor_formatter}
    column_filters = (
        StaffEmailFilter(AuditLog.actor_id, "Actor"),
        FilterEqual(
            AuditLog.actor_type, "Actor type", options=[(t.value, t.value) for t in ActorType]
        ),
        FilterEqual(AuditLog.actor_id, "Actor id"),
        FilterEqual(AuditLog.entity_type, "Entity"),
        FilterEqual(AuditLog.entity_id, "Entity id"),
        FilterLike(AuditLog.action, "Action"),
        LocalDayOn(AuditLog.created_at, "Date"),
        LocalDayFrom(AuditLog.created_at, "Date"),
        LocalDayUntil(AuditLog.created_at, "Date"),
    )
    column_default_sort = ("created_at", True)
    named_filter_urls = True  # ?flt0_date_on=2026-11-23 rather than ?flt0_6=…

    def scope(self, query: Any) -> Any:
        if current_user.is_superadmin:
            return query
        return query.filter(AuditLog.clinic_id == current_user.clinic_id)

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        # One query for the page's staff emails, not one per row.
        ids = {r.actor_id for r in rows if r.actor_type is ActorType.STAFF and r.actor_id}
        g.roshni_audit_emails = (
            dict(
                self.session.execute(
                    select(StaffUser.id, StaffUser.email).where(StaffUser.id.in_(ids))
                ).all()
            )
            if ids
            else {}
        )
        return count, rows

    def staff_emails(self) -> dict[int, str]:
        return getattr(g, "roshni_audit_emails", {})


class PolicyView(SecureModelView):
    """The clinic's booking rules: windows, horizon, reminders, dues reminders."""

    resource = "settings"
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

    def on_form_prefill(self, form: Any, id: Any) -> None:
        policy = self.get_one(id)
        if policy is not None:
            form.reminder_offsets_hours.data = ", ".join(
                str(h) for h in policy.reminder_offsets_hours or []
            )


class ProfileView(_Guarded, BaseView):
    """My profile: one's own name, password and two-step login, for every role.

    A therapist sees the therapist they are linked to; nobody sees anyone else here.
    """

    resource = "profile"

    def __init__(self, session: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session

    class NameForm(FlaskForm):
        name = StringField("Name", validators=[Length(max=120)])

    class PasswordForm(FlaskForm):
        current = PasswordField("Current password", validators=[DataRequired()])
        new = PasswordField(
            "New password",
            validators=[DataRequired(), Length(min=staff.MIN_PASSWORD, max=256)],
            description=f"At least {staff.MIN_PASSWORD} characters.",
        )
        repeat = PasswordField(
            "New password again",
            validators=[DataRequired(), EqualTo("new", message="The two do not match.")],
        )

    @expose("/")
    def index(self) -> str:
        return self._page(self.NameForm(name=current_user.name), self.PasswordForm())

    # Not "name": a BaseView's name is its menu label.
    @expose("/name", methods=("POST",))
    @requires("update")
    def save_name(self) -> Any:
        form = self.NameForm()
        if form.validate_on_submit():
            try:
                staff.update_profile(
                    self.session, user_id=current_user.id, name=form.name.data, actor=staff_actor()
                )
            except ServiceError as exc:
                self.session.rollback()
                flash(exc.message, "error")
            else:
                flash("Your name is saved.", "success")
                return redirect(url_for(".index"))
        return self._page(form, self.PasswordForm(formdata=None))

    @expose("/password", methods=("POST",))
    @requires("update")
    def change_password(self) -> Any:
        form = self.PasswordForm()
        if form.validate_on_submit():
            try:
                staff.change_password(
                    self.session,
                    user_id=current_user.id,
                    current=form.current.data,
                    new=form.new.data,
                    actor=staff_actor(),
                )
            except ServiceError as exc:
                self.session.rollback()
                flash(exc.message, "error")
            else:
                flash("Your password is changed.", "success")
                return redirect(url_for(".index"))
        return self._page(self.NameForm(formdata=None, name=current_user.name), form)

    def _page(self, name_form: FlaskForm, password_form: FlaskForm) -> str:
        therapist = self.session.scalar(
            select(Therapist).where(Therapist.staff_user_id == current_user.id)
        )
        return self.render(
            "admin/profile.html",
            user=current_user,
            therapist=therapist,
            name_form=name_form,
            password_form=password_form,
        )
