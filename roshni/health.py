"""Probes for load balancers, deploy checks and monitoring.

- ``/healthz``: the process answers.
- ``/readyz``: this web process can do its work: the database answers (200, else 503).
  Redis down is reported as ``degraded`` but still 200: webhooks store messages and the
  outbox is the record, so the web process stays in rotation.
- ``/healthz/jobs``: messages are leaving. 503 when no job runner (RQ worker, or the
  embedded thread) has been seen for two minutes, or the oldest due message has waited
  longer than ``JOBS_MAX_DELAY_SECONDS``. This is what monitoring should alert on.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

from core.clock import utcnow
from core.db import get_db
from core.probes import redis_status
from services.messaging.job_health import jobs_health
from services.messaging.outbox import backlog

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():

    checks: dict[str, str | int | float | None] = {}
    degraded: list[str] = []
    now = utcnow()
    try:
        with get_db().session_scope() as session:
            waiting = backlog(session, now=now)
        checks["database"] = "ok"
        checks["outbox_due"] = waiting.due
        checks["oldest_due_seconds"] = waiting.oldest_wait_seconds(now)
    except Exception as exc:  # any failure means "not ready"; say which kind
        checks["database"] = f"error: {type(exc).__name__}"
        return jsonify(status="unavailable", checks=checks), 503
    redis_url = current_app.config["ROSHNI"].redis_url
    if redis_url:
        checks["redis"] = redis_status(redis_url)
        if checks["redis"] != "ok":
            degraded.append("redis")
    return jsonify(status="degraded" if degraded else "ok", degraded=degraded, checks=checks), 200


@bp.get("/healthz/jobs")
def healthz_jobs():

    config = current_app.config["ROSHNI"]
    try:
        with get_db().session_scope() as session:
            health = jobs_health(
                session, now=utcnow(), max_delay_seconds=config.jobs_max_delay_seconds
            )
    except Exception as exc:
        return jsonify(status="unavailable", problems=[f"database: {type(exc).__name__}"]), 503
    body = {"status": "ok" if health.ok else "failing", "problems": health.problems}
    return jsonify(**body, checks=health.as_dict()), 200 if health.ok else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
