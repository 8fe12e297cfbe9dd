"""Optional error tracking: with ``SENTRY_DSN`` set, errors of the web process (Flask)
and of RQ jobs are reported to Sentry (or any server speaking its protocol). Without
it ``sentry_sdk`` is never imported.

Reports carry no people: nothing personal collected by the SDK (what
``send_default_pii=False`` meant: no user, cookies, headers, bodies, query strings or
local variables), and every string in the event passes
through the same redaction as the logs (``before_send``), as do breadcrumbs.
"""

from __future__ import annotations

from typing import Any

from core.config import Config
from core.redaction import redact_value


def init(config: Config) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=config.sentry_dsn,
        environment=config.env,
        integrations=[FlaskIntegration(), RqIntegration()],
        # send_default_pii=False, spelled out in the form the SDK now asks for (it
        # deprecates that flag): no user, cookies, headers, bodies, query strings or
        # local variables.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "off"}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "gen_ai": {"inputs": False, "outputs": False},
            "stack_frame_variables": False,
        },
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
    )


# The SDK's own identifiers (hex ids that redaction would take for secrets) and fields
# that hold no data: kept as they are so the server can file and link the event.
_KEPT = ("event_id", "timestamp", "start_timestamp", "release", "environment", "sdk", "platform")


def before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    kept = {key: event[key] for key in _KEPT if key in event}
    trace = (event.get("contexts") or {}).get("trace")
    redacted: dict[str, Any] = redact_value(event)  # type: ignore[assignment]
    redacted.update(kept)
    if isinstance(trace, dict):
        redacted["contexts"]["trace"] = {
            key: value if key.endswith("_id") else redact_value(value)
            for key, value in trace.items()
        }
    return redacted


def before_breadcrumb(crumb: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    return redact_value(crumb)  # type: ignore[return-value]
