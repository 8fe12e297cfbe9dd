"""Configuration: safe defaults, loud errors for bad values."""

from __future__ import annotations

import pytest

from core.config import Config, ConfigError, normalise_database_url


def test_defaults_are_an_embedded_sqlite_database_and_a_stable_dev_secret(tmp_path):
    env = {"ROSHNI_INSTANCE_DIR": str(tmp_path)}
    first = Config.from_env(env)
    assert first.database_url == f"sqlite:///{tmp_path / 'roshni.db'}"
    assert first.redis_url is None
    assert first.port == 5000
    assert len(first.secret_key) >= 32
    assert Config.from_env(env).secret_key == first.secret_key  # kept under instance/


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_from_hosting_platforms_are_accepted(given, expected):
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be a whole number"),
        ({"PORT": "70000"}, "PORT must be between"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be"),
        ({"ROSHNI_ENV": "staging"}, "ROSHNI_ENV must be one of"),
        ({"SQL_ECHO": "maybe"}, "SQL_ECHO must be true or false"),
        ({"SECRET_KEY": "short"}, "at least 32 characters"),
        ({"ROSHNI_ENV": "production"}, "SECRET_KEY is required"),
        ({"PUBLIC_BASE_URL": "example.com"}, "PUBLIC_BASE_URL must start with"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of"),
        ({"SENTRY_DSN": "key@sentry.example/1"}, "SENTRY_DSN must be a DSN URL"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN must be at least 16 characters"),
    ],
)
def test_bad_values_stop_start_up_with_a_message_naming_the_variable(env, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        Config.from_env({"ROSHNI_INSTANCE_DIR": str(tmp_path), **env})


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 40 + "\n")
    config = Config.from_env({"SECRET_KEY_FILE": str(secret), "ROSHNI_INSTANCE_DIR": str(tmp_path)})
    assert config.secret_key == "s" * 40


def test_production_turns_on_secure_cookies(tmp_path):
    from core.db import get_db
    from roshni.app import create_app

    config = Config.from_env(
        {
            "ROSHNI_ENV": "production",
            "SECRET_KEY": "p" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "ROSHNI_INPROCESS_JOBS": "false",  # no outbox thread against an empty database
        }
    )
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    get_db(app).dispose()


def test_without_redis_the_web_process_runs_the_outbox_thread_and_with_redis_it_does_not(
    tmp_path, sqlite_url
):
    from core.db import get_db
    from roshni.app import create_app

    base = {
        "DATABASE_URL": sqlite_url,
        "SECRET_KEY": "d" * 40,
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
        "ROSHNI_ENV": "development",
    }
    embedded = create_app(Config.from_env(base))
    thread = embedded.extensions["roshni.jobs"]
    assert thread.is_alive()
    thread.stop()
    get_db(embedded).dispose()
    with_redis = create_app(Config.from_env({**base, "REDIS_URL": "redis://127.0.0.1:6379/9"}))
    assert "roshni.jobs" not in with_redis.extensions
    get_db(with_redis).dispose()


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(tmp_path):
    from flask import request

    from roshni.app import create_app

    def client_address(hops: int) -> bytes:
        app = create_app(
            env="test",
            database_url=f"sqlite:///{tmp_path / 'proxy.db'}",
            instance_dir=tmp_path,
            proxy_hops=hops,
            inprocess_jobs=False,
        )
        app.add_url_rule("/_address", "address", lambda: request.remote_addr or "")
        return app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.9"}).data

    assert client_address(1) == b"203.0.113.9"
    assert client_address(0) == b"127.0.0.1"  # untrusted header ignored


def test_proxy_hops_must_be_a_small_number(tmp_path):
    with pytest.raises(ConfigError, match="PROXY_HOPS"):
        Config.from_env({"PROXY_HOPS": "many", "ROSHNI_INSTANCE_DIR": str(tmp_path)})


def test_logs_are_text_and_metrics_and_error_reports_off_by_default(tmp_path):
    config = Config.from_env({"ROSHNI_INSTANCE_DIR": str(tmp_path)})
    assert (config.log_format, config.sentry_dsn, config.metrics_token) == ("text", None, None)
    config = Config.from_env(
        {"ROSHNI_INSTANCE_DIR": str(tmp_path), "LOG_FORMAT": "JSON", "METRICS_TOKEN": "t" * 16}
    )
    assert (config.log_format, config.metrics_token) == ("json", "t" * 16)
    assert "t" * 16 not in repr(config)
