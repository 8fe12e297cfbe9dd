"""The message log (outbox) and the clinic's approved message templates."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action
from wtforms import StringField

from admin.views.base import SecureModelView
from admin.views.current import current_clinic_id, staff_actor
from admin.views.formatters import label_formatter, when_formatter
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.ids import parse_id
from services.messaging import outbox as messaging


class OutboundMessageView(SecureModelView):
    """Everything the clinic sent or will send on its own, with what happened to it."""

    resource = "conversations"
    allow_create = False
    allow_edit = False
    can_view_details = True
    column_list = (
        "due_at",
        "kind",
        "channel",
        "contact",
        "status",
        "attempts",
        "error_code",
        "error_message",
        "sent_at",
    )
    column_labels = {"due_at": "Due", "error_code": "Error", "error_message": "Why"}
    column_default_sort = ("due_at", True)
    column_filters = ("status", "kind", "channel")
    column_formatters = {
        "due_at": when_formatter,
        "sent_at": when_formatter,
        "status": label_formatter,
        "kind": label_formatter,
        "channel": label_formatter,
    }
    column_details_exclude_list = ("clinic",)

    @action("retry", "Retry", "Send the selected failed messages again?")
    def action_retry(self, ids: list[str]) -> None:
        done = 0
        for raw in ids:
            if parse_id(raw) is None:
                continue
            with refused_as_flash(self.session):
                messaging.retry_message(
                    self.session,
                    clinic_id=current_clinic_id(),
                    message_id=int(raw),
                    now=utcnow(),
                    actor=staff_actor(),
                )
                done += 1
        if done:
            flash(f"{done} message(s) queued again.", "success")


class MessageTemplateView(SecureModelView):
    """Approved WhatsApp templates (Content SID + variable order) and SMS texts (with a
    DLT template id in India). Keys: reminder, notice_booked, notice_moved,
    notice_cancelled, dues_reminder."""

    resource = "settings"
    allow_delete = True
    column_list = ("key", "channel", "content_sid", "variable_order", "dlt_template_id")
    form_columns = ("key", "channel", "content_sid", "variable_order", "body", "dlt_template_id")
    form_overrides = {"variable_order": StringField}
    form_args = {
        "variable_order": {
            "description": "Our names for {{1}}, {{2}}… in order, e.g. patient, service, when"
        },
        "body": {"description": "SMS only: the registered text with {patient}-style names."},
    }

    def on_form_prefill(self, form: Any, id: Any) -> None:
        template = self.get_one(id)
        if template is not None:
            form.variable_order.data = ", ".join(template.variable_order or [])
