"""Liveness and readiness probes for load balancers and deploy checks."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import func, select

from core.clock import utcnow
from models import OutboundMessage, OutboundStatus

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    from core.app import get_db

    checks: dict[str, str | int | float | None] = {}
    ok = True
    try:
        with get_db().engine.connect() as conn:
            now = utcnow()
            # One query answers both "is the database there?" and "is the outbox moving?":
            # messages due and not sent; the oldest one's wait shows a stalled sender first.
            depth, oldest = conn.execute(
                select(func.count(), func.min(OutboundMessage.next_attempt_at)).where(
                    OutboundMessage.status == OutboundStatus.QUEUED,
                    OutboundMessage.next_attempt_at <= now,
                )
            ).one()
        checks["database"] = "ok"
        checks["outbox_due"] = depth
        checks["oldest_due_seconds"] = (
            None if oldest is None else round((now - oldest).total_seconds(), 1)
        )
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
