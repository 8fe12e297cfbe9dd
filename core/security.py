"""CSRF on every form, response headers that keep the panel out of frames and out of
caches, and a refusal of NUL bytes (PostgreSQL cannot hold them: a 500, not an answer)."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from flask_wtf.csrf import CSRFProtect

from core.ids import install_id_converter

csrf = CSRFProtect()

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)


# Twilio's signed webhooks answer for themselves (their parameters are checked there).
_NUL_EXEMPT_BLUEPRINTS = frozenset({"webhooks"})
_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _has_nul(pairs: object) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)  # type: ignore[attr-defined]


_PANEL_PATHS = ("/admin", "/login", "/logout", "/auth/")


def _private_page() -> bool:
    """A page of the staff panel or its login, as opposed to its static files."""
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
        return False
    return request.path.startswith(_PANEL_PATHS)


def init_app(app: Flask) -> None:
    """Runs before any blueprint or view is added (``core.app``): routes added later get
    the bounded ``<int:…>`` converter."""
    csrf.init_app(app)
    install_id_converter(app)

    @app.before_request
    def _refuse_nul_bytes() -> None:
        if request.blueprint in _NUL_EXEMPT_BLUEPRINTS:
            return
        if _has_nul(request.args.items(multi=True)):
            abort(400)
        if request.mimetype in _FORMS and _has_nul(request.form.items(multi=True)):
            abort(400)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        if _private_page():
            # Staff pages show patients' names and money: no browser or proxy keeps a copy
            # (the back button after logout, a shared computer's cache).
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CSP)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
