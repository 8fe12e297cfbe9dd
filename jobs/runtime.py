"""What a job needs, built once per process from the environment: the database,
the Twilio sender, the status-callback URL. Jobs take ids and fetch the rest here.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from functools import cache

from core.config import Config
from core.db import Database
from core.storage import BackupStore, media_store
from integrations.razorpay_client import RazorpayGateway
from integrations.smtp import SmtpMailer
from integrations.stripe_client import StripeGateway
from integrations.twilio.client import ProviderMessage, Sent, TwilioSender
from integrations.twilio.media import TwilioMediaFetcher
from jobs.dispatch import dispatch_to_rq
from models import Clinic
from services.clinics.settings import razorpay_account, stripe_account, twilio_account
from services.messaging.delivery import Sender
from services.messaging.email_delivery import Mailer
from services.messaging.email_render import EmailSetup

log = logging.getLogger(__name__)


class DryRunSender:
    """Development without Twilio credentials: record the message as sent, send nothing.

    The outbox shows exactly what would have gone out (``body``); the provider id
    says it was a dry run.
    """

    def send(self, **_kwargs: object) -> Sent:
        # Random, not a counter: several processes (web, `roshni chat`, a worker) may
        # dry-run at once, and provider ids are unique.
        return Sent(sid=f"DRYRUN{secrets.token_hex(13)}", status="sent")

    def sent_since(self, **_kwargs: object) -> list[ProviderMessage]:
        return []  # a dry run sends nothing: a lost answer is simply sent again


@dataclass
class Runtime:
    config: Config
    database: Database
    sender: Sender | None  # the deployment's account (or the dry run), for clinics without one
    _own: dict[tuple[str, str], Sender] = field(default_factory=dict)
    _gateways: dict[tuple[str, str], RazorpayGateway] = field(default_factory=dict)
    _card_gateways: dict[str, StripeGateway] = field(default_factory=dict)
    _fetchers: dict[tuple[str, str], TwilioMediaFetcher] = field(default_factory=dict)
    _media_store: BackupStore | None = None
    mailer: Mailer | None = None  # SMTP_URL's server; None: email is off

    @property
    def email_setup(self) -> EmailSetup | None:
        """What every email needs (EMAIL_FROM, link base, signing key); None when off."""
        if self.config.email_from is None:
            return None
        return EmailSetup(
            sender=self.config.email_from,
            base_url=self.base_url,
            secret_key=self.config.secret_key,
        )

    @property
    def status_callback(self) -> str | None:
        base = self.config.public_base_url
        return f"{base}/webhooks/twilio/status" if base else None

    @property
    def base_url(self) -> str:
        """Where patients' links (receipts, UPI QR codes) point."""
        return self.config.public_base_url or f"http://{self.config.host}:{self.config.port}"

    @property
    def payment_callback(self) -> str:
        return f"{self.base_url}/payments/razorpay/return"

    @property
    def stripe_return(self) -> str:
        """Where Stripe's Checkout sends the browser after paying (a page, nothing more)."""
        return f"{self.base_url}/payments/stripe/return"

    def stripe_for(self, clinic: Clinic) -> StripeGateway | None:
        """The clinic's Stripe account, or None when it has none."""
        account = stripe_account(clinic, self.config)
        if account is None:
            return None
        gateway = self._card_gateways.get(account.secret_key)
        if gateway is None:
            gateway = self._card_gateways[account.secret_key] = StripeGateway(
                account, api_url=self.config.stripe_api_url
            )
        return gateway

    def gateway_for(self, clinic: Clinic) -> RazorpayGateway | None:
        """The clinic's Razorpay account, or None when it has none."""
        account = razorpay_account(clinic, self.config)
        if account is None:
            return None
        key = (account.key_id, account.key_secret)
        gateway = self._gateways.get(key)
        if gateway is None:
            gateway = self._gateways[key] = RazorpayGateway(
                account, api_url=self.config.razorpay_api_url
            )
        return gateway

    @property
    def media_store(self) -> BackupStore:
        """Where files from chats are kept (MEDIA_TARGET, default instance/media)."""
        if self._media_store is None:
            self._media_store = media_store(self.config)
        return self._media_store

    def media_fetcher_for(self, clinic: Clinic) -> TwilioMediaFetcher | None:
        """Fetches a clinic's inbound media with the account its messages came through."""
        account = twilio_account(clinic, self.config)
        if account is None:
            return None
        fetcher = self._fetchers.get(account)
        if fetcher is None:
            fetcher = self._fetchers[account] = TwilioMediaFetcher(
                *account, api_url=self.config.twilio_api_url
            )
        return fetcher

    def sender_for(self, clinic: Clinic) -> Sender | None:
        """The clinic's own Twilio account where it has one, else the deployment's."""
        if not (clinic.twilio_account_sid and clinic.twilio_auth_token_encrypted):
            return self.sender
        account = twilio_account(clinic, self.config)
        assert account is not None
        sender = self._own.get(account)
        if sender is None:
            sender = self._own[account] = TwilioSender(*account, api_url=self.config.twilio_api_url)
        return sender


def build_runtime(config: Config, database: Database | None = None) -> Runtime:
    return Runtime(
        config=config,
        database=database or Database(config.database_url),
        sender=make_sender(config),
        mailer=SmtpMailer(config.smtp) if config.smtp is not None else None,
    )


def make_sender(config: Config) -> Sender | None:
    if config.twilio_account_sid and config.twilio_auth_token:
        return TwilioSender(
            config.twilio_account_sid, config.twilio_auth_token, api_url=config.twilio_api_url
        )
    if config.is_production:
        log.error("TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are not set: messages stay queued")
        return None
    return DryRunSender()


@cache
def runtime() -> Runtime:
    """The process-wide runtime of an RQ worker (created after any fork, on first use).
    What its jobs queue (an SMS fallback, say) goes to RQ at their commit."""
    rt = build_runtime(Config.from_env())
    if rt.config.redis_url:
        dispatch_to_rq(rt.database.session_factory, rt.config.redis_url)
    return rt
