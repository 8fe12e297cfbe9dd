"""Clinics, staff accounts, one's own profile and the audit log."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, FilterLike
from flask_admin.form import BaseForm
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from admin.views.base import SecureModelView
from admin.views.current import staff_actor
from admin.views.filters import LocalDayOn, LocalDayOnOrAfter, LocalDayOnOrBefore
from admin.views.formatters import actor_name, remember_actors, when_with_year_formatter
from admin.views.refusals import refused_as_flash
from models import ActorType, AuditLog, Clinic, StaffUser
from services.clinics import logo
from services.clinics import settings as clinics


class DeploymentModelView(SecureModelView):
    """Views over tables that are not ClinicOwned: ``scope`` is written out per view
    (the base applies it to lists, counts, single rows and actions)."""

    def scope(self, query: Any) -> Any:
        raise NotImplementedError


class ClinicView(DeploymentModelView):
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
    column_labels = {"twilio_account_sid": _l("Own Twilio account")}
    form_columns = (
        *clinics.EDITABLE_FIELDS,
        # Flask-Admin includes extra fields only when they are listed here too.
        "twilio_account",
        "twilio_token",
        "twilio_clear",
        "razorpay_key",
        "razorpay_secret",
        "razorpay_webhook_secret",
        "razorpay_clear",
        "stripe_secret",
        "stripe_webhook_secret",
        "stripe_clear",
        "logo",
        "logo_remove",
    )
    # Write-only: the token is never shown; a blank field leaves the stored one as it is.
    form_extra_fields = {
        "twilio_account": StringField(
            _l("Twilio Account SID"),
            description=_l("Leave both empty to use the deployment's account."),
        ),
        "twilio_token": PasswordField(
            _l("Twilio Auth Token"),
            description=_l("Stored encrypted; blank keeps the current one."),
        ),
        "twilio_clear": BooleanField(_l("Use the deployment's Twilio account again")),
        "razorpay_key": StringField(
            _l("Razorpay key id"), description=_l("rzp_test_… or rzp_live_…")
        ),
        "razorpay_secret": PasswordField(
            _l("Razorpay key secret"),
            description=_l("Stored encrypted; blank keeps the current one."),
        ),
        "razorpay_webhook_secret": PasswordField(
            _l("Razorpay webhook secret"),
            description=_l("The secret of the webhook pointing at /webhooks/razorpay."),
        ),
        "razorpay_clear": BooleanField(_l("Stop taking payments through Razorpay")),
        "stripe_secret": PasswordField(
            _l("Stripe secret key"),
            description=_l(
                "sk_live_… or a restricted rk_live_… key: patients pay by card through Stripe "
                "when the clinic's currency is not INR (or it has no Razorpay keys). "
                "Stored encrypted; blank keeps the current one."
            ),
        ),
        "stripe_webhook_secret": PasswordField(
            _l("Stripe webhook signing secret"),
            description=_l(
                "whsec_… of the webhook pointing at /webhooks/stripe/<this clinic's slug>. "
                "Stored encrypted; blank keeps the current one."
            ),
        ),
        "stripe_clear": BooleanField(_l("Stop taking payments through Stripe")),
        "logo": FileField(
            _l("Logo"),
            description=_l(
                "PNG, JPEG or WebP, up to 2 MB: drawn at the top of invoices, receipts and "
                "progress reports. Blank keeps the current one."
            ),
        ),
        "logo_remove": BooleanField(_l("Remove the logo")),
    }
    form_args = {
        "tax_id": {"label": _l("Tax id (GSTIN)")},
        "upi_vpa": {
            "label": _l("UPI id"),
            "description": _l("e.g. clinic@okaxis: patients pay by UPI and staff confirm"),
        },
        "upi_payee_name": {"label": _l("UPI payee name")},
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
            name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
            slug = StringField(_l("Slug"), validators=[DataRequired(), Length(max=40)])
            timezone = StringField(_l("Time zone"), default="Asia/Kolkata")
            currency = StringField(_l("Currency"), default="INR")
            phone_region = StringField(_l("Phone region"), default="IN")
            language = StringField(_l("Language"), default="en")

        return ClinicForm

    def create_model(self, form: Any) -> Any:
        with refused_as_flash(self.session):
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
        twilio = None
        if clear or token or account != (model.twilio_account_sid or ""):
            twilio = (
                clinics.TwilioChange(None, None) if clear else clinics.TwilioChange(account, token)
            )
        payments = None
        if razorpay_clear or any(razorpay[1:]) or razorpay[0] != (model.razorpay_key_id or ""):
            payments = clinics.RazorpayChange(*((None, None, None) if razorpay_clear else razorpay))
        stripe = None
        stripe_given = (
            (form.stripe_secret.data or "").strip(),
            (form.stripe_webhook_secret.data or "").strip(),
        )
        if form.stripe_clear.data or any(stripe_given):
            stripe = clinics.StripeChange(*stripe_given, clear=bool(form.stripe_clear.data))
        upload = form.logo.data
        with refused_as_flash(self.session) as outcome:
            # Checked first: a refused picture leaves every other field as it was too.
            picture = (
                logo.redrawn(upload.read(logo.UPLOAD_MAX_BYTES + 1))
                if upload and getattr(upload, "filename", "") and not form.logo_remove.data
                else None
            )
            clinics.update_clinic(
                self.session,
                clinic_id=model.id,
                fields={name: form[name].data for name in clinics.EDITABLE_FIELDS if name in form},
                twilio=twilio,
                razorpay=payments,
                stripe=stripe,
                config=current_app.config["ROSHNI"],
                actor=staff_actor(),
            )
            if form.logo_remove.data:
                logo.remove_logo(self.session, clinic_id=model.id, actor=staff_actor())
            elif picture is not None:
                logo.set_logo(
                    self.session, clinic_id=model.id, picture=picture, actor=staff_actor()
                )
        return outcome.ok


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
    return actor_name(view.session, model.actor_type.value, model.actor_id)


class AuditLogView(DeploymentModelView):
    """Who changed what, read-only; filter by actor, entity, action and (clinic) day."""

    resource = "audit"
    allow_create = False
    allow_edit = False
    can_view_details = True
    column_list = ("created_at", "actor_id", "action", "entity_type", "entity_id")
    column_labels = {"created_at": _l("When"), "actor_id": _l("Who"), "entity_type": _l("Entity")}
    column_formatters = {"created_at": when_with_year_formatter, "actor_id": _actor_formatter}
    column_filters = (
        StaffEmailFilter(AuditLog.actor_id, _l("Actor")),
        FilterEqual(
            AuditLog.actor_type, _l("Actor type"), options=[(t.value, t.value) for t in ActorType]
        ),
        FilterEqual(AuditLog.actor_id, _l("Actor id")),
        FilterEqual(AuditLog.entity_type, _l("Entity")),
        FilterEqual(AuditLog.entity_id, _l("Entity id")),
        FilterLike(AuditLog.action, _l("Action")),
        LocalDayOn(AuditLog.created_at, _l("Date")),
        LocalDayOnOrAfter(AuditLog.created_at, _l("Date")),
        LocalDayOnOrBefore(AuditLog.created_at, _l("Date")),
    )
    column_default_sort = ("created_at", True)
    named_filter_urls = True  # ?flt0_date_on=2026-11-23 rather than ?flt0_6=…

    def scope(self, query: Any) -> Any:
        if current_user.is_superadmin:
            return query
        return query.filter(AuditLog.clinic_id == current_user.clinic_id)

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        if isinstance(rows, list):  # the page's people in one statement per kind
            remember_actors(
                self.session,
                [(r.actor_type.value, r.actor_id) for r in rows if r.actor_id is not None],
            )
        return count, rows


class PolicyView(SecureModelView):
    """The clinic's booking rules: windows, horizon, reminders, dues reminders."""

    resource = "settings"
    allow_create = False
    column_list = (
        "booking_horizon_days",
        "min_notice_hours",
        "approve_chat_bookings",
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
        "tell_therapists_by_whatsapp",
        "document_max_mb",
        "video_rooms",
        "jitsi_base_url",
        "waitlist_hold_minutes",
        "waitlist_days",
        "course_billing",
    )
    form_columns = column_list
    form_overrides = {
        "reminder_offsets_hours": StringField,
        "video_rooms": SelectField,
        "course_billing": SelectField,
    }
    form_args = {
        "waitlist_hold_minutes": {
            "label": _l("Waitlist offer hold (minutes)"),
            "description": _l("How long a freed time is kept for the person offered it: 5 to 240"),
        },
        "waitlist_days": {
            "label": _l("Waitlist days"),
            "description": _l("How long a waitlist entry waits before it lapses: 1 to 365"),
        },
        "course_billing": {
            "label": _l("Billing of prepaid courses"),
            "choices": [
                ("session", _l("Per session, like single bookings")),
                ("package", _l("One invoice for the whole course when it is booked")),
            ],
        },
        "video_rooms": {
            "label": _l("Video rooms for online sessions"),
            "choices": [
                ("jitsi", _l("Jitsi Meet: a new private room per session")),
                ("therapist", _l("Each therapist's own room (their video link)")),
            ],
        },
        "jitsi_base_url": {
            "label": _l("Jitsi Meet server"),
            "description": _l("https://meet.jit.si, or the clinic's own Jitsi server"),
        },
        "reminder_offsets_hours": {"description": _l("Hours before a session, e.g. 24, 2")},
        "dues_reminder_time": {"description": _l("Clinic time, e.g. 10:00")},
        "tax_label": {"description": _l("e.g. GST; leave empty when sessions are tax-exempt")},
        "tax_rate_bp": {"label": _l("Tax rate (basis points)"), "description": _l("1800 = 18 %")},
        "financial_year_start_month": {"description": _l("4 = April (India); 1 = January")},
        "document_max_mb": {
            "label": _l("Largest document (MB)"),
            "description": _l("Patient documents uploaded or filed from a chat: 1 to 50 MB"),
        },
        "approve_chat_bookings": {
            "label": _l("Approve chat bookings"),
            "description": _l(
                "Chat bookings become requests the front desk approves or declines on the "
                "Booking requests page; the time is held meanwhile, and a request not "
                "answered before the minimum notice is declined"
            ),
        },
        "tell_therapists_by_whatsapp": {
            "label": _l("Tell therapists by WhatsApp"),
            "description": _l(
                "Therapists who gave a phone and opted in on My profile are told "
                "of new, moved and cancelled sessions and of requests (the panel always shows "
                "them)"
            ),
        },
    }

    def on_form_prefill(self, form: Any, id: Any) -> None:
        policy = self.get_one(id)
        if policy is not None:
            form.reminder_offsets_hours.data = ", ".join(
                str(h) for h in policy.reminder_offsets_hours or []
            )
