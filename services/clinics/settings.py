"""Clinics (tenants), their locations and sender numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.config import Config
from core.db import write_transaction
from core.secrets import decrypt, encrypt
from integrations import upi
from integrations.razorpay_client import RazorpayAccount
from integrations.stripe_client import StripeAccount
from models import Channel, Clinic, ClinicPolicy, Location, OutboundMessage, SenderNumber
from services import audit
from services.audit import Actor
from services.errors import N_, Duplicate, InvalidInput, NotFound
from services.people.patients import clean_name
from services.people.phones import normalise_phone

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def validate_clinic_fields(
    *, slug: str, timezone: str, currency: str, phone_region: str, language: str
) -> None:
    if not SLUG.match(slug or ""):
        raise InvalidInput(detail=N_("The slug may use lowercase letters, digits and dashes."))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(N_("'%(zone)s' is not an IANA time zone."), zone=timezone) from None
    if not re.fullmatch(r"[A-Z]{3}", currency or ""):
        raise InvalidInput(detail=N_("The currency must be a three-letter ISO code such as INR."))
    if (phone_region or "") not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(
            N_("'%(region)s' is not a phone region code such as IN."), region=phone_region
        )
    if not re.fullmatch(r"[a-z]{2}(-[A-Za-z]{2})?", language or ""):
        raise InvalidInput(detail=N_("The language must be a code such as en or hi."))


def create_clinic(
    session: Session,
    *,
    name: str,
    slug: str,
    actor: Actor,
    timezone: str = "Asia/Kolkata",
    currency: str = "INR",
    phone_region: str = "IN",
    language: str = "en",
    phone: str | None = None,
) -> Clinic:
    validate_clinic_fields(
        slug=slug,
        timezone=timezone,
        currency=currency,
        phone_region=phone_region,
        language=language,
    )
    with write_transaction(session):
        if session.scalar(select(Clinic.id).where(Clinic.slug == slug)) is not None:
            raise Duplicate(N_("A clinic with the slug '%(slug)s' already exists."), slug=slug)
        clinic = Clinic(
            name=clean_name(name, N_("clinic name")),
            slug=slug,
            timezone=timezone,
            currency=currency,
            phone_region=phone_region,
            language=language,
            phone=normalise_phone(phone, phone_region) if phone else None,
            policy=ClinicPolicy(),
        )
        session.add(clinic)
        session.flush()
        audit.record(
            session, clinic_id=clinic.id, actor=actor, action="clinic.create", entity=clinic
        )
    return clinic


def add_location(
    session: Session, *, clinic_id: int, name: str, actor: Actor, address: str | None = None
) -> Location:
    with write_transaction(session):
        _require_clinic(session, clinic_id)
        location = Location(
            clinic_id=clinic_id, name=clean_name(name, N_("location name")), address=address
        )
        session.add(location)
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="location.create", entity=location
        )
    return location


def add_sender_number(
    session: Session, *, clinic_id: int, channel: Channel, address: str, actor: Actor
) -> SenderNumber:
    """Register a number the clinic sends from; each (channel, number) routes to one clinic."""
    with write_transaction(session):
        clinic = _require_clinic(session, clinic_id)
        e164 = normalise_phone(address, clinic.phone_region, possible_only=True)
        taken = session.scalar(
            select(SenderNumber).where(
                SenderNumber.channel == channel, SenderNumber.address == e164
            )
        )
        if taken is not None:
            raise Duplicate(
                N_("%(channel)s number %(phone)s is already in use."),
                channel=channel.value,
                phone=e164,
            )
        sender = SenderNumber(clinic_id=clinic_id, channel=channel, address=e164)
        session.add(sender)
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="sender.create", entity=sender
        )
    return sender


# Built once: every inbound message runs it, and building a statement costs more than
# running a cached one (the values go in as parameters).
_CLINIC_FOR_SENDER = (
    select(Clinic)
    .join(SenderNumber, SenderNumber.clinic_id == Clinic.id)
    .where(
        SenderNumber.channel == bindparam("channel"),
        SenderNumber.address == bindparam("address"),
        Clinic.active,
    )
)


def clinic_for_sender(session: Session, channel: Channel, address: str) -> Clinic | None:
    """Route an inbound message by the number it was sent *to*."""
    return session.scalar(_CLINIC_FOR_SENDER, {"channel": channel, "address": address})


def main_address(session: Session, clinic_id: int) -> str | None:
    """The clinic's address on its documents: its first active location's."""
    return session.scalar(
        select(Location.address)
        .where(Location.clinic_id == clinic_id, Location.active.is_(True))
        .order_by(Location.id)
        .limit(1)
    )


def clinic_for_message(session: Session, provider_sid: str) -> Clinic | None:
    """The clinic that sent an outbound message (for its status callbacks)."""
    return session.scalar(
        select(Clinic)
        .join(OutboundMessage, OutboundMessage.clinic_id == Clinic.id)
        .where(OutboundMessage.provider_sid == provider_sid)
    )


def _require_clinic(session: Session, clinic_id: int) -> Clinic:
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound(what=N_("clinic"))
    return clinic


TWILIO_ACCOUNT = re.compile(r"^AC[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class TwilioChange:
    """The clinic's own Twilio account; both empty: back to the deployment's."""

    account_sid: str | None
    auth_token: str | None


@dataclass(frozen=True)
class RazorpayChange:
    """The clinic's Razorpay keys; all empty: no Razorpay. An empty secret keeps the old."""

    key_id: str | None
    key_secret: str | None
    webhook_secret: str | None


@dataclass(frozen=True)
class StripeChange:
    """The clinic's Stripe keys; both empty with ``clear``: no Stripe. An empty secret
    keeps the old one."""

    secret_key: str | None
    webhook_secret: str | None
    clear: bool = False


# What the admin's clinic form may change; the slug names the clinic and stays.
EDITABLE_FIELDS = (
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
)


def update_clinic(
    session: Session,
    *,
    clinic_id: int,
    fields: Mapping[str, Any],
    twilio: TwilioChange | None,
    razorpay: RazorpayChange | None,
    config: Config,
    actor: Actor,
    stripe: StripeChange | None = None,
) -> Clinic:
    """Edit a clinic's settings and, where given, its Twilio and Razorpay accounts.

    One transaction: a refused account leaves the settings unsaved too.
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with write_transaction(session):
        clinic = _require_clinic(session, clinic_id)
        before = audit.snapshot(clinic)
        for name, value in fields.items():
            setattr(clinic, name, value)
        validate_clinic_fields(
            slug=clinic.slug,
            timezone=clinic.timezone,
            currency=clinic.currency,
            phone_region=clinic.phone_region,
            language=clinic.language,
        )
        clinic.upi_vpa = (clinic.upi_vpa or "").strip() or None
        if clinic.upi_vpa and not upi.VPA.match(clinic.upi_vpa):
            raise InvalidInput(detail=N_("A UPI id looks like name@bank, e.g. clinic@okaxis."))
        audit.record(
            session,
            clinic_id=clinic.id,
            actor=actor,
            action="clinic.update",
            entity=clinic,
            before=before,
        )
        if twilio is not None:
            _set_twilio(session, clinic, twilio, config, actor)
        if razorpay is not None:
            _set_razorpay(session, clinic, razorpay, config, actor)
        if stripe is not None:
            _set_stripe(session, clinic, stripe, config, actor)
    return clinic


def set_twilio_account(
    session: Session,
    *,
    clinic_id: int,
    account_sid: str | None,
    auth_token: str | None,
    config: Config,
    actor: Actor,
) -> Clinic:
    """Give a clinic its own Twilio account (both empty: back to the deployment's).

    The token is stored encrypted and never shown again or written to the audit log.
    """
    with write_transaction(session):
        clinic = _require_clinic(session, clinic_id)
        _set_twilio(session, clinic, TwilioChange(account_sid, auth_token), config, actor)
    return clinic


def _set_twilio(
    session: Session, clinic: Clinic, change: TwilioChange, config: Config, actor: Actor
) -> None:
    account_sid = (change.account_sid or "").strip()
    auth_token = (change.auth_token or "").strip()
    if bool(account_sid) != bool(auth_token):
        raise InvalidInput(
            detail=N_("Give both the Twilio Account SID and its Auth Token, or neither.")
        )
    if account_sid and not TWILIO_ACCOUNT.match(account_sid):
        raise InvalidInput(detail=N_("A Twilio Account SID is AC followed by 32 hex characters."))
    if auth_token and len(auth_token) < 16:
        raise InvalidInput(detail=N_("That does not look like a Twilio Auth Token."))
    before = audit.snapshot(clinic)
    clinic.twilio_account_sid = account_sid or None
    clinic.twilio_auth_token_encrypted = encrypt(config, auth_token) if auth_token else None
    audit.record(
        session,
        clinic_id=clinic.id,
        actor=actor,
        action="clinic.twilio_account",
        entity=clinic,
        before=before,
    )


def twilio_account(clinic: Clinic, config: Config) -> tuple[str, str] | None:
    """(Account SID, Auth Token) for this clinic: its own, else the deployment's, else None."""
    if clinic.twilio_account_sid and clinic.twilio_auth_token_encrypted:
        return clinic.twilio_account_sid, decrypt(config, clinic.twilio_auth_token_encrypted)
    if config.twilio_account_sid and config.twilio_auth_token:
        return config.twilio_account_sid, config.twilio_auth_token
    return None


RAZORPAY_KEY = re.compile(r"^rzp_(test|live)_[A-Za-z0-9]{6,32}$")


def set_razorpay_account(
    session: Session,
    *,
    clinic_id: int,
    key_id: str | None,
    key_secret: str | None,
    webhook_secret: str | None,
    config: Config,
    actor: Actor,
) -> Clinic:
    """The clinic's Razorpay keys (all empty: no Razorpay). Secrets are stored encrypted
    and never shown again; leaving a secret empty while a key id is given keeps the old."""
    with write_transaction(session):
        clinic = _require_clinic(session, clinic_id)
        change = RazorpayChange(key_id, key_secret, webhook_secret)
        _set_razorpay(session, clinic, change, config, actor)
    return clinic


def _set_razorpay(
    session: Session, clinic: Clinic, change: RazorpayChange, config: Config, actor: Actor
) -> None:
    key_id = (change.key_id or "").strip()
    key_secret = (change.key_secret or "").strip()
    webhook_secret = (change.webhook_secret or "").strip()
    if key_id and not RAZORPAY_KEY.match(key_id):
        raise InvalidInput(detail=N_("A Razorpay key id looks like rzp_test_… or rzp_live_…."))
    before = audit.snapshot(clinic)
    if not key_id:
        clinic.razorpay_key_id = None
        clinic.razorpay_key_secret_encrypted = None
        clinic.razorpay_webhook_secret_encrypted = None
    else:
        if not (key_secret or clinic.razorpay_key_secret_encrypted):
            raise InvalidInput(detail=N_("Give the key secret that belongs to this key id."))
        if not (webhook_secret or clinic.razorpay_webhook_secret_encrypted):
            raise InvalidInput(detail=N_("Give the webhook secret set in Razorpay's dashboard."))
        clinic.razorpay_key_id = key_id
        if key_secret:
            clinic.razorpay_key_secret_encrypted = encrypt(config, key_secret)
        if webhook_secret:
            clinic.razorpay_webhook_secret_encrypted = encrypt(config, webhook_secret)
    audit.record(
        session,
        clinic_id=clinic.id,
        actor=actor,
        action="clinic.razorpay",
        entity=clinic,
        before=before,
    )


def razorpay_account(clinic: Clinic, config: Config) -> RazorpayAccount | None:
    if not (clinic.razorpay_key_id and clinic.razorpay_key_secret_encrypted):
        return None
    webhook = clinic.razorpay_webhook_secret_encrypted
    return RazorpayAccount(
        key_id=clinic.razorpay_key_id,
        key_secret=decrypt(config, clinic.razorpay_key_secret_encrypted),
        webhook_secret=decrypt(config, webhook) if webhook else None,
    )


def webhook_secrets(session: Session, config: Config) -> dict[str, list[int]]:
    """Every clinic's Razorpay webhook secret → the clinics that use it."""
    out: dict[str, list[int]] = {}
    for clinic_id, token in session.execute(
        select(Clinic.id, Clinic.razorpay_webhook_secret_encrypted).where(
            Clinic.razorpay_webhook_secret_encrypted.is_not(None)
        )
    ):
        out.setdefault(decrypt(config, token), []).append(clinic_id)
    return out


STRIPE_SECRET_KEY = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{10,247}$")
STRIPE_WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{10,250}$")


def set_stripe_account(
    session: Session,
    *,
    clinic_id: int,
    change: StripeChange,
    config: Config,
    actor: Actor,
) -> Clinic:
    """The clinic's Stripe keys (``clear``: no Stripe). Both secrets are stored encrypted
    and never shown again; an empty one keeps the stored one."""
    with write_transaction(session):
        clinic = _require_clinic(session, clinic_id)
        _set_stripe(session, clinic, change, config, actor)
    return clinic


def _set_stripe(
    session: Session, clinic: Clinic, change: StripeChange, config: Config, actor: Actor
) -> None:
    secret_key = (change.secret_key or "").strip()
    webhook_secret = (change.webhook_secret or "").strip()
    if secret_key and not STRIPE_SECRET_KEY.match(secret_key):
        raise InvalidInput(
            detail=N_("A Stripe secret key looks like sk_test_…, sk_live_… or rk_live_….")
        )
    if webhook_secret and not STRIPE_WEBHOOK_SECRET.match(webhook_secret):
        raise InvalidInput(detail=N_("A Stripe webhook signing secret looks like whsec_…."))
    before = audit.snapshot(clinic)
    if change.clear:
        clinic.stripe_secret_key_encrypted = None
        clinic.stripe_webhook_secret_encrypted = None
    else:
        if not (secret_key or clinic.stripe_secret_key_encrypted):
            raise InvalidInput(detail=N_("Give the Stripe secret key too."))
        if not (webhook_secret or clinic.stripe_webhook_secret_encrypted):
            raise InvalidInput(
                detail=N_("Give the signing secret of the webhook set in Stripe's dashboard.")
            )
        if secret_key:
            clinic.stripe_secret_key_encrypted = encrypt(config, secret_key)
        if webhook_secret:
            clinic.stripe_webhook_secret_encrypted = encrypt(config, webhook_secret)
    audit.record(
        session,
        clinic_id=clinic.id,
        actor=actor,
        action="clinic.stripe",
        entity=clinic,
        before=before,
    )


def stripe_account(clinic: Clinic, config: Config) -> StripeAccount | None:
    if not clinic.stripe_secret_key_encrypted:
        return None
    webhook = clinic.stripe_webhook_secret_encrypted
    return StripeAccount(
        secret_key=decrypt(config, clinic.stripe_secret_key_encrypted),
        webhook_secret=decrypt(config, webhook) if webhook else None,
    )


def clinic_for_stripe_webhook(session: Session, slug: str) -> Clinic | None:
    """The clinic a Stripe webhook URL names (``/webhooks/stripe/<slug>``), if it takes
    payments through Stripe."""
    return session.scalar(
        select(Clinic).where(
            Clinic.slug == slug, Clinic.stripe_webhook_secret_encrypted.is_not(None)
        )
    )
