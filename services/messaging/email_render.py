"""An outbox email's message: the chat message's words (same key, same values, the
contact's language) with a subject, a greeting and a footer from the patient catalogue,
as plain text and as HTML (Jinja2 with autoescaping: a name is text, never markup), the
receipt's PDF attached, and the unsubscribe link in the body and the headers
(RFC 2369 ``List-Unsubscribe``, RFC 8058 one-click ``List-Unsubscribe-Post``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from jinja2 import Environment
from markupsafe import Markup, escape

from models import Appointment, Clinic, Contact, OutboundEmail
from services.messaging.catalogue import say
from services.messaging.rendering import compose
from services.people.contact_email import unsubscribe_token


@dataclass(frozen=True)
class EmailSetup:
    """What every email needs from the deployment: the address it comes from (the clinic's
    name is its display name), where links point, and the key unsubscribe links are
    signed with."""

    sender: str
    base_url: str
    secret_key: str


_HTML = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222; max-width: 36em">
<p>{{ greeting }}</p>
{% for paragraph in paragraphs %}<p style="white-space: pre-line">{{ paragraph }}</p>
{% endfor %}<hr>
<p style="font-size: small; color: #666">{{ clinic }} &middot;
<a href="{{ unsubscribe_url }}">{{ unsubscribe_label }}</a></p>
</body></html>
"""
)
_BOLD = re.compile(r"\*([^*\n]+)\*")
_URL = re.compile(r"https?://[^\s<>\"]+")


def subject_key(template_key: str) -> str:
    if template_key.startswith("notice_"):
        return "email_subject_notice"
    if template_key.startswith("payment_link_"):
        return "email_subject_payment_link"
    return f"email_subject_{template_key}"


def unsubscribe_url(setup: EmailSetup, contact: Contact) -> str:
    token = unsubscribe_token(setup.secret_key, clinic_id=contact.clinic_id, contact_id=contact.id)
    return f"{setup.base_url}/email/unsubscribe/{token}"


def build_email(
    email: OutboundEmail,
    clinic: Clinic,
    contact: Contact,
    appointment: Appointment | None,
    *,
    now: datetime,
    setup: EmailSetup,
    attachments: Sequence[tuple[str, bytes]] = (),
) -> EmailMessage:
    """``attachments``: (file name, PDF) pairs, a receipt's (``services.billing.emailed``)."""
    assert contact.email is not None
    lang = contact.language
    text, values = compose(email, clinic, contact, appointment, now=now, base_url=setup.base_url)  # type: ignore[arg-type]
    subject = say(lang, subject_key(email.template_key), **values)
    greeting = say(lang, "email_greeting", name=contact.name or "")
    if not contact.name:
        greeting = greeting.replace(" ,", ",")
    paragraphs = [text]
    if attachments and email.payment_id is not None:
        paragraphs.append(say(lang, "email_attached_receipt"))
    link = unsubscribe_url(setup, contact)
    footer = say(lang, "email_footer", clinic=clinic.name, unsubscribe_url=link)

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((clinic.name, setup.sender))
    message["To"] = contact.email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=setup.sender.rpartition("@")[2])
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n\n".join([greeting, *paragraphs, f"-- \n{footer}"]) + "\n")
    message.add_alternative(
        _HTML.render(
            lang=lang,
            subject=subject,
            greeting=greeting,
            paragraphs=[_html_paragraph(p) for p in paragraphs],
            clinic=clinic.name,
            unsubscribe_url=link,
            unsubscribe_label=say(lang, "email_unsubscribe_link"),
        ),
        subtype="html",
    )
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message


def _html_paragraph(text: str) -> Markup:
    """The chat text as HTML: escaped first, then its *bold* and its links made so."""
    safe = str(escape(text))
    safe = _BOLD.sub(r"<strong>\1</strong>", safe)
    safe = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', safe)
    return Markup(safe)  # noqa: S704 - built from escaped text above
