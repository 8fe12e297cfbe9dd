"""The deployment files agree with the code: compose.yaml (parsed, since Docker does not
run here), the Dockerfile and the Procfile name the settings core/config.py reads, the
commands the CLI has, and the probes the app serves."""

from __future__ import annotations

import re

import pytest
import yaml

from core.config import PROJECT_ROOT, Config

ROSHNI_SERVICES = ("migrate", "web", "worker")
# Read by gunicorn.conf.py rather than by Config.
GUNICORN_SETTINGS = {"PORT", "WEB_CONCURRENCY"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())


def config_names() -> set[str]:
    source = (PROJECT_ROOT / "core" / "config.py").read_text()
    names = set(re.findall(r"reader\.\w+\(\s*\"([A-Z_]+)\"", source))
    names |= set(re.findall(r"_http_url\(reader, \"([A-Z_]+)\"\)", source))
    assert {"DATABASE_URL", "SECRET_KEY", "LOG_FORMAT", "METRICS_TOKEN"} <= names
    return names


def resolved(environment: dict[str, str], **given: str) -> dict[str, str]:
    """Compose's ${VAR:-default} / ${VAR:?error} substitution, with ``given`` as the shell."""

    def substitute(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        if op == ":?":
            raise AssertionError(f"{name} is required: {rest}")
        return rest

    return {
        key: re.sub(r"\$\{([A-Z_]+)(:-|:\?)([^}]*)\}", substitute, str(value))
        for key, value in environment.items()
    }


def test_compose_runs_web_worker_postgres_redis_and_a_migration_first(compose):
    services = compose["services"]
    assert set(services) == {"web", "worker", "postgres", "redis", "migrate"}
    assert services["migrate"]["command"] == ["roshni", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["restart"] == "unless-stopped"
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["postgres"]["restart"] == services["redis"]["restart"] == "unless-stopped"
    assert services["web"]["command"] == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    assert services["worker"]["command"] == ["roshni", "worker"]


def test_compose_health_checks_are_readyz_and_roshni_doctor(compose):
    from roshni.cli import main

    services = compose["services"]
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert "/readyz" in web_check and ":5000/" in web_check
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "roshni", "doctor"]
    assert {"doctor", "worker", "db"} <= set(main.commands)


def test_compose_sets_only_settings_the_code_reads(compose):
    known = config_names() | GUNICORN_SETTINGS
    for name in ROSHNI_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, f"{name}: {unknown}"


def test_the_compose_environment_is_a_valid_production_config(compose):
    services = compose["services"]
    postgres = services["postgres"]["environment"]
    for name in ROSHNI_SERVICES:
        env = resolved(services[name]["environment"], SECRET_KEY="k" * 40)
        config = Config.from_env(env)
        assert config.is_production and config.log_format == "json"
        assert config.redis_url == "redis://redis:6379/0"
        # The database URL names the postgres service with its user, password and database.
        user = postgres["POSTGRES_USER"]
        password = resolved({"p": postgres["POSTGRES_PASSWORD"]})["p"]
        assert config.database_url == (
            f"postgresql+psycopg://{user}:{password}@postgres:5432/{postgres['POSTGRES_DB']}"
        )
        assert config.metrics_token is None and config.sentry_dsn is None


def test_the_image_is_python_312_slim_non_root_pinned_and_serves_with_gunicorn():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12-slim$", dockerfile, re.M)
    [user] = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user not in ("root", "0")
    assert "-c constraints.txt" in dockerfile
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]' in dockerfile


def test_the_procfile_serves_with_the_same_gunicorn_settings():
    procfile = dict(
        line.split(": ", 1) for line in (PROJECT_ROOT / "Procfile").read_text().splitlines()
    )
    assert procfile["web"] == "gunicorn -c gunicorn.conf.py wsgi:app"
    assert procfile["release"] == "roshni db upgrade"
