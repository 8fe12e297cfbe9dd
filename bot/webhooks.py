"""Twilio's WhatsApp and SMS webhooks: verify, route, hand to ``flows.receive``, answer TwiML.

The Twilio specifics (signature, ``whatsapp:`` addresses, TwiML) are ``integrations.twilio``'s.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.orm import Session, scoped_session

from core.clock import utcnow
from core.db import get_db, retry_on_disconnect
from core.logging_setup import bind_clinic
from core.public_links import links_for
from core.security import csrf
from flows.receive import Delivery, receive
from integrations.twilio.addresses import bare_number
from integrations.twilio.signature import signature_ok
from integrations.twilio.twiml import twiml_reply
from models import Channel, Clinic, MessageSource
from services.clinics.settings import clinic_for_message, clinic_for_sender, twilio_account
from services.messaging.delivery import apply_status
from services.messaging.media import MAX_MEDIA, SentFile, SharedLocation

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SID = re.compile(r"^[A-Za-z0-9]{10,64}$")


@bp.post("/twilio/whatsapp")
def twilio_whatsapp() -> Response:
    return _inbound(Channel.WHATSAPP)


@bp.post("/twilio/sms")
def twilio_sms() -> Response:
    return _inbound(Channel.SMS)


@bp.post("/twilio/status")
def twilio_status() -> Response:
    """Delivery status callbacks: statuses only move forward; unknown ids still get 200
    (so Twilio stops retrying)."""
    session = get_db().scoped

    def handle() -> Response:
        sid = request.form.get("MessageSid", "")
        clinic = clinic_for_message(session, sid) if SID.match(sid) else None
        bind_clinic(clinic.id if clinic is not None else None)
        if not _signature_ok(clinic):
            return _plain("invalid signature", 403)
        status = request.form.get("MessageStatus", "").lower()
        if not SID.match(sid) or not status:
            return _plain("missing MessageSid or MessageStatus", 400)
        apply_status(session, sid, status, error_code=request.form.get("ErrorCode") or None)
        return Response(status=204)

    # Statuses only move forward, so applying one twice changes nothing.
    return retry_on_disconnect(session, handle)


def _inbound(channel: Channel) -> Response:
    session = get_db().scoped
    # Deduplicated by MessageSid: a second try after a dropped connection is safe.
    return retry_on_disconnect(session, lambda: _receive(session, channel))


def _receive(session: scoped_session[Session], channel: Channel) -> Response:
    form = request.form
    to = bare_number(form.get("To", ""))
    # Routing first (a read), because a clinic with its own Twilio account signs with
    # its own token; nothing is stored before the signature is checked.
    clinic = clinic_for_sender(session, channel, to) if E164.match(to) else None
    bind_clinic(clinic.id if clinic is not None else None)
    if not _signature_ok(clinic):
        return _plain("invalid signature", 403)
    sender = bare_number(form.get("From", ""))
    sid = form.get("MessageSid", "")
    if not (E164.match(to) and E164.match(sender) and SID.match(sid)):
        return _plain("missing or malformed To, From or MessageSid", 400)
    if clinic is None:
        # Only the clinic-side number's tail: patients' numbers never go to logs.
        log.warning("inbound %s message for a number no clinic owns (…%s)", channel.value, to[-4:])
        return _plain("no clinic owns this number", 404)
    media = _num_media(form.get("NumMedia", ""))
    receipt = receive(
        session,
        clinic=clinic,
        delivery=Delivery(
            channel=channel,
            source=MessageSource.TWILIO,
            sid=sid,
            from_phone=sender,
            to_address=to,
            body=form.get("Body", ""),
            # A quick-reply button's id, or a list row's (Twilio's inbound fields).
            payload=form.get("ButtonPayload") or form.get("ListId") or None,
            num_media=media,
            files=_files(form, media),
            location=_location(form),
            interactive=channel is Channel.WHATSAPP
            and twilio_account(clinic, current_app.config["ROSHNI"]) is not None,
        ),
        now=utcnow(),
        links=links_for(current_app.config["ROSHNI"], request.url_root),
    )
    # A reply sent through the outbox (buttons, lists) is not answered again here.
    twiml = twiml_reply(None if receipt.queued else receipt.reply, sms=channel is Channel.SMS)
    return Response(twiml, status=200, mimetype="text/xml")


def _num_media(value: str) -> int:
    try:
        return max(0, min(int(value or 0), MAX_MEDIA))
    except ValueError:
        return 0


def _files(form: Mapping[str, str], count: int) -> tuple[SentFile, ...]:
    """``MediaUrl{n}``/``MediaContentType{n}`` pairs (an https URL is required; the URL is
    never logged)."""
    files = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}", "")
        if url.startswith(("https://", "http://")) and len(url) <= 2048:
            files.append(SentFile(url=url, content_type=form.get(f"MediaContentType{i}", "")))
    return tuple(files)


def _location(form: Mapping[str, str]) -> SharedLocation | None:
    """A WhatsApp shared location (``Latitude``, ``Longitude``, ``Label``, ``Address``)."""
    try:
        latitude = float(form.get("Latitude", ""))
        longitude = float(form.get("Longitude", ""))
    except ValueError:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return SharedLocation(
        latitude=latitude,
        longitude=longitude,
        label=form.get("Label") or None,
        address=form.get("Address") or None,
    )


def _signature_ok(clinic: Clinic | None) -> bool:
    """X-Twilio-Signature over the public URL and the POSTed form, with the auth token
    of the clinic's own Twilio account, or the deployment's."""
    config = current_app.config["ROSHNI"]
    account = twilio_account(clinic, config) if clinic is not None else None
    token = account[1] if account else config.twilio_auth_token
    if not token:
        log.error("no Twilio auth token is configured: refusing Twilio webhooks")
        return False
    signature = request.headers.get("X-Twilio-Signature", "")
    return signature_ok(token, public_url(), request.form, signature)


def public_url() -> str:
    """The URL Twilio called: behind a proxy, rebuilt from PUBLIC_BASE_URL."""
    base = current_app.config["ROSHNI"].public_base_url
    if not base:
        return request.url
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def _plain(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # provider webhooks carry signatures, not browser CSRF tokens
    app.register_blueprint(bp)
