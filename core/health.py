"""Liveness and readiness probes for load balancers and deploy checks."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    from core.app import get_db

    checks: dict[str, str] = {}
    ok = True
    try:
        with get_db().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; say which kind
        ok = False
        checks["database"] = f"error: {type(exc).__name__}"
    redis_url = current_app.config["ROSHNI"].redis_url
    if redis_url:
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            ok = False
            checks["redis"] = f"error: {type(exc).__name__}"
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
