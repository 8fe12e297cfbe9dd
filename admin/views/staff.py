"""Staff accounts in the panel: an admin running the team, and everyone's own profile."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_admin.form import BaseForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from admin.auth import keep_this_session
from admin.i18n import panel_lang
from admin.permissions import UPDATE
from admin.views.access import Guarded, SessionPage, requires
from admin.views.calendar_link import CalendarFeedMixin
from admin.views.current import current_timezone, staff_actor
from admin.views.deployment import DeploymentModelView
from admin.views.formatters import label_formatter, when_formatter
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_when
from models import Clinic, Role, StaffUser
from services.staff import accounts as staff

CLINIC_STAFF_ROLES = [
    (Role.ADMIN.value, _l("Admin")),
    (Role.OPERATOR.value, _l("Operator")),
    (Role.THERAPIST.value, _l("Therapist")),
    (Role.ACCOUNTANT.value, _l("Accountant")),
]


class StaffUserView(DeploymentModelView):
    """The team: an admin runs their clinic's accounts, the superadmin every clinic's.

    Accounts are created here; each one's page (the email in the list) changes its
    role, deactivates or reactivates it, ends a lockout, resets a lost two-step login
    and sets a new password, each through a verb of ``services.staff.accounts``.
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
    column_labels = {"two_step": _l("Two-step login"), "last_login_at": _l("Last login")}
    column_formatters = {
        "email": lambda view, context, model, name: view.manage_link(model),
        "role": label_formatter,
        "locked": lambda view, context, model, name: _locked_text(model),
        "two_step": lambda view, context, model, name: "on" if model.has_totp else "off",
        "last_login_at": when_formatter,
    }

    class RoleForm(FlaskForm):
        role = SelectField(_l("Role"), choices=CLINIC_STAFF_ROLES, validators=[DataRequired()])

    class ActiveForm(FlaskForm):
        # Posted by the Activate / Deactivate button; a form without it changes nothing.
        active = SelectField(choices=[("1", _l("Active")), ("0", _l("Deactivated"))])

    class ConfirmForm(FlaskForm):
        """Only the CSRF token: unlock and reset two-step ask for nothing else."""

    class PasswordForm(FlaskForm):
        new = PasswordField(
            _l("New password"),
            validators=[DataRequired(), Length(min=staff.MIN_PASSWORD, max=256)],
            description=f"At least {staff.MIN_PASSWORD} characters. Tell it to them in person.",
        )
        repeat = PasswordField(
            _l("New password again"),
            validators=[DataRequired(), EqualTo("new", message=_l("The two do not match."))],
        )

    def scope(self, query: Any) -> Any:
        if current_user.is_superadmin:
            return query
        return query.filter(StaffUser.clinic_id == current_user.clinic_id)

    def get_create_form(self) -> type[BaseForm]:
        class StaffForm(BaseForm):
            email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
            name = StringField(_l("Name"), validators=[Length(max=120)])
            role = SelectField(_l("Role"), choices=CLINIC_STAFF_ROLES)
            password = PasswordField(
                _l("Password"), validators=[DataRequired(), Length(min=staff.MIN_PASSWORD, max=256)]
            )
            clinic = SelectField(_l("Clinic"), coerce=int)

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
        with refused_as_flash(self.session):
            return staff.create_staff_user(
                self.session,
                email=form.email.data,
                password=form.password.data,
                role=Role(form.role.data),
                clinic_id=clinic_id,
                name=form.name.data or "",
                actor=staff_actor(),
            )
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
        with refused_as_flash(self.session) as outcome:
            verb(user_id=user.id, actor=staff_actor(), clinic_id=clinic_id)
        if outcome.ok:
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
            last_login=format_when(user.last_login_at, current_timezone(), panel_lang())
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
    return f"until {format_when(user.locked_until, current_timezone(), panel_lang())}"


def _a_role(role: Role) -> str:
    return ("an " if role.value[0] in "aeiou" else "a ") + role.value


class ProfileView(CalendarFeedMixin, Guarded, SessionPage, BaseView):
    """My profile: one's own name, password and two-step login, for every role.

    A therapist sees the therapist they are linked to; nobody sees anyone else here.
    """

    resource = "profile"

    class NameForm(FlaskForm):
        name = StringField(_l("Name"), validators=[Length(max=120)])

    class LanguageForm(FlaskForm):
        locale = SelectField(
            _l("Language of the panel"),
            choices=[
                ("", _l("The clinic's language")),
                ("en", "English"),
                ("hi", "हिंदी (Hindi)"),
            ],
        )

    class PasswordForm(FlaskForm):
        current = PasswordField(_l("Current password"), validators=[DataRequired()])
        new = PasswordField(
            _l("New password"),
            validators=[DataRequired(), Length(min=staff.MIN_PASSWORD, max=256)],
            description=_l("At least %(n)s characters.", n=staff.MIN_PASSWORD),
        )
        repeat = PasswordField(
            _l("New password again"),
            validators=[DataRequired(), EqualTo("new", message=_l("The two do not match."))],
        )

    @expose("/")
    def index(self) -> str:
        return self._page(self.NameForm(name=current_user.name), self.PasswordForm())

    @expose("/language", methods=("POST",))
    @requires("update")
    def save_language(self) -> Any:
        form = self.LanguageForm()
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                staff.choose_language(
                    self.session,
                    user_id=current_user.id,
                    locale=form.locale.data,
                    actor=staff_actor(),
                )
            if outcome.ok:
                # This request chose its language before the change: say it in the new one.
                refresh()
                flash(_("Your language is saved."), "success")
                return redirect(url_for(".index"))
        return self._page(
            self.NameForm(formdata=None, name=current_user.name), self.PasswordForm(formdata=None)
        )

    # Not "name": a BaseView's name is its menu label.
    @expose("/name", methods=("POST",))
    @requires("update")
    def save_name(self) -> Any:
        form = self.NameForm()
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                staff.update_profile(
                    self.session, user_id=current_user.id, name=form.name.data, actor=staff_actor()
                )
            if outcome.ok:
                flash(_("Your name is saved."), "success")
                return redirect(url_for(".index"))
        return self._page(form, self.PasswordForm(formdata=None))

    @expose("/password", methods=("POST",))
    @requires("update")
    def change_password(self) -> Any:
        form = self.PasswordForm()
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                staff.change_password(
                    self.session,
                    user_id=current_user.id,
                    current=form.current.data,
                    new=form.new.data,
                    actor=staff_actor(),
                )
            if outcome.ok:
                # Every other session of this account has ended; this one carries on.
                keep_this_session(current_user)
                flash(_("Your password is changed."), "success")
                return redirect(url_for(".index"))
        return self._page(self.NameForm(formdata=None, name=current_user.name), form)

    def _blank_forms(self) -> tuple[FlaskForm, FlaskForm]:
        return self.NameForm(formdata=None, name=current_user.name), self.PasswordForm(
            formdata=None
        )

    def _page(self, name_form: FlaskForm, password_form: FlaskForm, **extra: Any) -> str:
        therapist = staff.linked_therapist(self.session, current_user.clinic_id, current_user.id)
        issued = therapist.calendar_issued_at if therapist is not None else None
        return self.render(
            "admin/profile.html",
            user=current_user,
            therapist=therapist,
            calendar_made=format_when(issued, current_timezone(), panel_lang()) if issued else None,
            name_form=name_form,
            language_form=self.LanguageForm(formdata=None, locale=current_user.locale or ""),
            password_form=password_form,
            **extra,
        )
