"""Configuration, read once from the environment and checked strictly.

Every setting has a safe development default; a value that cannot be parsed
stops start-up with a message naming the variable. Secrets may also come from
``<NAME>_FILE`` (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.passwords import password_problem
from integrations.smtp import SmtpSettings, SmtpUrlError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "test", "production")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Config:
    env: str = "development"
    database_url: str = ""
    secret_key: str = field(default="", repr=False)
    redis_url: str | None = None
    port: int = 5000
    host: str = "127.0.0.1"
    proxy_hops: int = 0
    public_base_url: str | None = None
    twilio_api_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    razorpay_api_url: str | None = None
    stripe_api_url: str | None = None
    secrets_key: str | None = field(default=None, repr=False)
    admin_password: str | None = field(default=None, repr=False)
    instance_dir: Path = PROJECT_ROOT / "instance"
    inprocess_jobs: bool = True
    jobs_max_delay_seconds: int = 180
    log_level: str = "INFO"
    log_format: str = "text"
    sql_echo: bool = False
    sentry_dsn: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    backup_target: str | None = None
    backup_keep: int = 14
    backup_s3_endpoint_url: str | None = None
    backup_s3_region: str | None = None
    backup_s3_access_key_id: str | None = None
    backup_s3_secret_access_key: str | None = field(default=None, repr=False)
    # Files from chats: a directory (default instance/media) or s3://bucket/prefix, reached
    # with the BACKUP_S3_* endpoint and credentials.
    media_target: str | None = None
    # Email (SMTP_URL, EMAIL_FROM): off without SMTP_URL; chat then carries everything.
    smtp: SmtpSettings | None = field(default=None, repr=False)
    email_from: str | None = None
    email_webhook_secret: str | None = field(default=None, repr=False)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Config:
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        roshni_env = reader.choice("ROSHNI_ENV", ENVIRONMENTS, "development")
        instance_dir = Path(reader.str("ROSHNI_INSTANCE_DIR", str(PROJECT_ROOT / "instance")))
        is_production = roshni_env == "production"

        database_url = normalise_database_url(
            reader.str("DATABASE_URL", f"sqlite:///{instance_dir / 'roshni.db'}")
        )
        secret_key = reader.secret("SECRET_KEY")
        if secret_key is None:
            if is_production:
                raise ConfigError("SECRET_KEY is required when ROSHNI_ENV=production")
            secret_key = _development_secret(instance_dir)
        elif len(secret_key) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")

        admin_password = reader.secret("ADMIN_PASSWORD")
        if admin_password is not None:
            # The demo's staff logins get it: the same rule as every staff password.
            problem = password_problem(admin_password)
            if problem is not None:
                raise ConfigError(f"ADMIN_PASSWORD is refused: {problem}")

        public_base_url = reader.str("PUBLIC_BASE_URL", None)
        if public_base_url is not None:
            if not public_base_url.startswith(("http://", "https://")):
                raise ConfigError("PUBLIC_BASE_URL must start with http:// or https://")
            public_base_url = public_base_url.rstrip("/")

        smtp, email_from = _email(reader)
        values: dict[str, object] = {
            "smtp": smtp,
            "email_from": email_from,
            "email_webhook_secret": _webhook_secret(reader.secret("EMAIL_WEBHOOK_SECRET")),
            "env": roshni_env,
            "database_url": database_url,
            "secret_key": secret_key,
            "redis_url": reader.str("REDIS_URL", None),
            "port": reader.int("PORT", 5000, minimum=1, maximum=65535),
            "host": reader.str("HOST", "127.0.0.1"),
            "proxy_hops": reader.int("PROXY_HOPS", 0, minimum=0, maximum=5),
            "public_base_url": public_base_url,
            "admin_password": admin_password,
            "twilio_api_url": reader.str("TWILIO_API_URL", None),
            "twilio_account_sid": reader.str("TWILIO_ACCOUNT_SID", None),
            "inprocess_jobs": reader.bool("ROSHNI_INPROCESS_JOBS", roshni_env != "test"),
            "jobs_max_delay_seconds": reader.int(
                "JOBS_MAX_DELAY_SECONDS", 180, minimum=30, maximum=24 * 3600
            ),
            "twilio_auth_token": reader.secret("TWILIO_AUTH_TOKEN"),
            "razorpay_api_url": _http_url(reader, "RAZORPAY_API_URL"),
            "stripe_api_url": _http_url(reader, "STRIPE_API_URL"),
            "secrets_key": _fernet_key(reader.secret("ROSHNI_SECRETS_KEY")),
            "instance_dir": instance_dir,
            "log_level": reader.choice(
                "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True
            ),
            "log_format": reader.choice("LOG_FORMAT", ("text", "json"), "text"),
            "sql_echo": reader.bool("SQL_ECHO", False),
            "sentry_dsn": _sentry_dsn(reader.secret("SENTRY_DSN")),
            "metrics_token": _metrics_token(reader.secret("METRICS_TOKEN")),
            "backup_target": _storage_target(reader, "BACKUP_TARGET"),
            "media_target": _storage_target(reader, "MEDIA_TARGET"),
            "backup_keep": reader.int("BACKUP_KEEP", 14, minimum=1, maximum=1000),
            "backup_s3_endpoint_url": _http_url(reader, "BACKUP_S3_ENDPOINT_URL"),
            "backup_s3_region": reader.str("BACKUP_S3_REGION", None),
            "backup_s3_access_key_id": reader.str("BACKUP_S3_ACCESS_KEY_ID", None),
            "backup_s3_secret_access_key": reader.secret("BACKUP_S3_SECRET_ACCESS_KEY"),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting platforms hand out and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("postgresql+psycopg://", "sqlite://")):
        return url
    raise ConfigError(
        "DATABASE_URL must be a postgresql:// (psycopg) or sqlite:/// URL; "
        f"got a URL starting with {url.split(':', 1)[0]!r}"
    )


def _http_url(reader: _Reader, name: str) -> str | None:
    value = reader.str(name, None)
    if value is not None and not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://")
    return value.rstrip("/") if value else None


# Strict enough to refuse a typo, loose enough for every real address we send from.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _email(reader: _Reader) -> tuple[SmtpSettings | None, str | None]:
    """SMTP_URL and EMAIL_FROM: both or neither (an address to send from, a way to send)."""
    url = reader.secret("SMTP_URL")
    sender = reader.str("EMAIL_FROM", None)
    if url is None:
        if sender is not None:
            raise ConfigError("EMAIL_FROM is set but SMTP_URL is not: set both to send email")
        return None, None
    try:
        smtp = SmtpSettings.parse(url)
    except SmtpUrlError as exc:
        raise ConfigError(str(exc)) from None
    if sender is None:
        raise ConfigError("SMTP_URL is set but EMAIL_FROM is not: the address emails come from")
    if not _ADDRESS.match(sender):
        raise ConfigError("EMAIL_FROM must be a plain address such as clinic@example.com")
    return smtp, sender.lower()


def _webhook_secret(value: str | None) -> str | None:
    if value is not None and len(value) < 16:
        raise ConfigError("EMAIL_WEBHOOK_SECRET must be at least 16 characters long")
    return value


def _sentry_dsn(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ConfigError("SENTRY_DSN must be a DSN URL (https://KEY@HOST/PROJECT)")
    return value


def _metrics_token(value: str | None) -> str | None:
    """The bearer token Prometheus sends to /metrics; long enough not to be guessed."""
    if value is not None and len(value) < 16:
        raise ConfigError("METRICS_TOKEN must be at least 16 characters long")
    return value


def _storage_target(reader: _Reader, name: str) -> str | None:
    """A directory, or ``s3://bucket[/prefix]``."""
    value = reader.str(name, None)
    if value is None:
        return None
    if value.startswith("s3://"):
        if not value[len("s3://") :].split("/", 1)[0]:
            raise ConfigError(f"{name} s3:// URLs need a bucket: s3://bucket/prefix")
    elif "://" in value:
        raise ConfigError(f"{name} must be a directory or s3://bucket/prefix")
    return value


def _fernet_key(value: str | None) -> str | None:
    """A urlsafe-base64 32-byte key (``Fernet.generate_key()``). Unset: derived from
    SECRET_KEY, which then cannot be rotated without re-entering clinics' secrets."""
    if value is None:
        return None
    import base64
    import binascii

    try:
        if len(base64.urlsafe_b64decode(value.encode())) != 32:
            raise ValueError
    except (ValueError, binascii.Error):
        raise ConfigError(
            "ROSHNI_SECRETS_KEY must be a Fernet key (32 bytes, urlsafe base64)"
        ) from None
    return value


def _development_secret(instance_dir: Path) -> str:
    """A per-checkout key kept under instance/, so dev sessions survive restarts."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def str(self, name: str, default: str | None) -> str | None:
        value = self.env.get(name, "").strip()
        return value or default

    def secret(self, name: str) -> str | None:
        file_name = self.env.get(f"{name}_FILE", "").strip()
        if file_name:
            try:
                return Path(file_name).read_text().strip() or None
            except OSError as exc:
                raise ConfigError(f"{name}_FILE points at {file_name!r}: {exc.strerror}") from exc
        return self.str(name, None)

    def int(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        raw = self.str(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
        return value

    def bool(self, name: str, default: bool) -> bool:
        raw = self.str(name, None)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")

    def choice(self, name: str, options: tuple[str, ...], default: str, upper: bool = False) -> str:
        raw = self.str(name, None)
        if raw is None:
            return default
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            raise ConfigError(f"{name} must be one of {', '.join(options)}; got {raw!r}")
        return value
