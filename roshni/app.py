"""The application factory: settings, the database, every edge's routes, and in embedded
mode the job runner. Importing this module builds nothing."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import admin
from bot import email_pages, pages, payments, webhooks
from core import error_tracking, logging_setup, security
from core.config import Config
from core.db import EXTENSION, Database
from jobs.dispatch import dispatch_to_rq
from jobs.inprocess import start_inprocess
from jobs.runtime import build_runtime
from roshni import health, metrics_endpoint


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    config = config or Config.from_env(**overrides)
    app = Flask(__name__, instance_path=str(config.instance_dir), instance_relative_config=False)
    app.config.update(_flask_settings(config))
    logging_setup.configure_logging(config.log_level, config.log_format)
    if config.sentry_dsn:
        error_tracking.init(config)
    config.instance_dir.mkdir(parents=True, exist_ok=True)

    if config.proxy_hops:
        # Behind N trusted proxies: the client's address (login rate limits) and scheme
        # come from their X-Forwarded-* headers, never from anyone else's.
        hops = config.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db = Database(config.database_url, echo=config.sql_echo)
    app.extensions[EXTENSION] = db

    @app.teardown_appcontext
    def _release_session(_exc: BaseException | None) -> None:
        db.scoped.remove()

    for edge in (
        logging_setup,
        security,
        health,
        metrics_endpoint,
        webhooks,
        payments,
        pages,
        email_pages,
    ):
        edge.init_app(app)
    admin.init_app(app)

    if config.redis_url:
        # RQ mode: a commit that queued messages hands them to the workers at once.
        app.extensions["roshni.dispatch"] = dispatch_to_rq(db.session_factory, config.redis_url)
    elif config.inprocess_jobs:
        # Embedded mode: no Redis, so this process sends (woken by commits) and sweeps.
        app.extensions["roshni.jobs"] = start_inprocess(build_runtime(config, db))
    return app


def _flask_settings(config: Config) -> dict[str, Any]:
    return {
        "ROSHNI": config,
        "SECRET_KEY": config.secret_key,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": config.is_production,
        "SESSION_COOKIE_NAME": "roshni_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": config.is_production,
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 8,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": 60 * 60 * 8,
        "TESTING": config.env == "test",
    }
