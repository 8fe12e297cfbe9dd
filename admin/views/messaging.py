"""The message log (outbox) and the clinic's approved message templates."""

from __future__ import annotations

from typing import Any

from flask import flash, g
from flask_admin.actions import action
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField

from admin.views.base import SecureModelView
from admin.views.current import current_clinic_id, staff_actor
from admin.views.formatters import label_formatter, when_formatter
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from core.formatting import format_phone
from core.ids import parse_id
from services.messaging import outbox as messaging
from services.messaging.rendering import shown_texts

LIST_TEXT = 120  # characters of a message's text in the list; its page has all of it


def _text_cell(view: OutboundMessageView, context: Any, model: Any, name: str) -> str:
    text = view.text_of(model)
    return text if len(text) <= LIST_TEXT else text[: LIST_TEXT - 1].rstrip() + "…"


def _contact_cell(view: OutboundMessageView, context: Any, model: Any, name: str) -> str:
    contact = model.contact
    return contact.name or format_phone(contact.phone) if contact is not None else ""


def _full_text_cell(view: OutboundMessageView, context: Any, model: Any, name: str) -> str:
    return view.text_of(model)


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
        "text",
        "status",
        "attempts",
        "error_code",
        "error_message",
        "sent_at",
    )
    column_details_list = (
        "due_at",
        "kind",
        "channel",
        "contact",
        "text",
        "template_key",
        "status",
        "attempts",
        "error_code",
        "error_message",
        "sent_at",
        "provider_sid",
    )
    column_labels = {
        "due_at": _l("Due"),
        "error_code": _l("Error"),
        "error_message": _l("Why"),
        "text": _l("Text"),
        "template_key": _l("Template"),
        "provider_sid": _l("Twilio id"),
    }
    column_default_sort = ("due_at", True)
    column_filters = ("status", "kind", "channel")
    column_formatters = {
        "due_at": when_formatter,
        "sent_at": when_formatter,
        "status": label_formatter,
        "kind": label_formatter,
        "channel": label_formatter,
        "text": _text_cell,
        "contact": _contact_cell,
    }
    column_formatters_detail = {**column_formatters, "text": _full_text_cell}

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)
        if isinstance(rows, list):  # the page's texts, its sessions in one statement
            g.roshni_message_texts = shown_texts(self.session, current_user.clinic, rows)
        return count, rows

    def text_of(self, message: Any) -> str:
        """What the message said (the same people who may read the log read this)."""
        texts = g.setdefault("roshni_message_texts", {})
        if message.id not in texts:
            texts.update(shown_texts(self.session, current_user.clinic, [message]))
        return texts[message.id]

    @action("retry", _l("Retry"), _l("Send the selected failed messages again?"))
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
    notice_cancelled, dues_reminder, exercise_nudge (patient, exercise, repetitions). A
    length change (notice_length_changed) goes as notice_moved's template outside the
    24-hour window."""

    resource = "settings"
    allow_delete = True
    column_list = ("key", "channel", "content_sid", "variable_order", "dlt_template_id")
    form_columns = ("key", "channel", "content_sid", "variable_order", "body", "dlt_template_id")
    form_overrides = {"variable_order": StringField}
    form_args = {
        "variable_order": {
            "description": _l("Our names for {{1}}, {{2}}… in order, e.g. patient, service, when")
        },
        "body": {"description": _l("SMS only: the registered text with {patient}-style names.")},
    }

    def on_form_prefill(self, form: Any, id: Any) -> None:
        template = self.get_one(id)
        if template is not None:
            form.variable_order.data = ", ".join(template.variable_order or [])
