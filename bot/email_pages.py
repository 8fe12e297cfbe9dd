"""Email's public edges: the unsubscribe page every email links to (GET asks, POST
unsubscribes; mail clients' one-click POST, RFC 8058, lands on the same URL), and the
bounce webhook a mail provider calls (a shared secret; JSON ``{"email": ...}`` or a
delivery status notification, ``multipart/report``)."""

from __future__ import annotations

import hmac
import json
from email import message_from_bytes, policy
from email.message import Message

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request, url_for

from core import rate_limit
from core.clock import utcnow
from core.config import Config
from core.db import get_db
from core.security import csrf
from models import Clinic
from services.errors import NotFound
from services.messaging.catalogue import say
from services.people.contact_email import contact_for_token, mark_bounced, unsubscribe

bp = Blueprint("email_pages", __name__, template_folder="templates")

PAGES_PER_MINUTE = 30
MAX_BOUNCE_BYTES = 256 * 1024


def _slow_down() -> Response:
    return Response(say("en", "page_too_many_tries"), status=429, mimetype="text/plain")


limited = rate_limit.limited("email-pages", per_minute=PAGES_PER_MINUTE, refusal=_slow_down)


@bp.route("/email/unsubscribe/<token>", methods=["GET", "POST"])
@limited
def unsubscribe_page(token: str) -> Response:
    """GET shows what the button does (a link scanner's GET changes nothing); POST does it."""
    config: Config = current_app.config["ROSHNI"]
    session = get_db().scoped
    try:
        if request.method == "POST":
            contact = unsubscribe(session, config.secret_key, token, now=utcnow())
        else:
            contact = contact_for_token(session, config.secret_key, token)
    except NotFound:
        abort(404)
    clinic = session.get(Clinic, contact.clinic_id)
    assert clinic is not None
    lang = contact.language
    if request.method == "POST":
        title = say(lang, "email_unsubscribe_link")
        text, button = say(lang, "email_unsubscribe_done", clinic=clinic.name), None
    else:
        title = say(lang, "email_unsubscribe_title", clinic=clinic.name)
        text = say(lang, "email_unsubscribe_ask", clinic=clinic.name, email=contact.email or "")
        button = say(lang, "email_unsubscribe_button")
    html = render_template(
        "email/unsubscribe.html",
        lang=lang,
        title=title,
        text=text,
        button=button,
        clinic=clinic.name,
        action=url_for("email_pages.unsubscribe_page", token=token),
    )
    return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})


@bp.post("/webhooks/email/bounce")
def bounce() -> tuple[str, int]:
    """A provider's bounce notice: every contact with the address gets no more email."""
    config: Config = current_app.config["ROSHNI"]
    secret = config.email_webhook_secret
    given = request.headers.get("X-Webhook-Secret", "")
    if secret is None:
        abort(404)
    if not hmac.compare_digest(given.encode(), secret.encode()):
        abort(403)
    body = request.get_data(cache=False)[:MAX_BOUNCE_BYTES]
    addresses = _bounced_addresses(body, request.mimetype)
    if addresses is None:
        abort(400)
    marked = sum(mark_bounced(get_db().scoped, a, now=utcnow()) for a in addresses)
    return f"{marked}\n", 200


def _bounced_addresses(body: bytes, mimetype: str) -> list[str] | None:
    if mimetype == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return None
        email = data.get("email") if isinstance(data, dict) else None
        return [email] if isinstance(email, str) and "@" in email else None
    message = message_from_bytes(body, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        return None
    found = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _status_blocks(part):
            action = (block.get("Action") or "").strip().lower()
            recipient = block.get("Final-Recipient") or block.get("Original-Recipient") or ""
            _, _, address = recipient.partition(";")
            if action == "failed" and "@" in address:
                found.append(address.strip())
    return found


def _status_blocks(part: Message) -> list[Message]:
    """The per-recipient blocks of a message/delivery-status part (RFC 3464)."""
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def init_app(app: Flask) -> None:
    # The token in the URL is the secret; mail clients' one-click POST carries no form token.
    csrf.exempt(bp)
    app.register_blueprint(bp)
