"""CSRF on every form; response headers: a nonce-based CSP, no framing, no sniffing, the
panel kept out of caches; and a refusal of NUL bytes (PostgreSQL cannot hold them: a 500,
not an answer).

The Content-Security-Policy allows no inline code: a script or ``<style>`` block runs
only when it carries this request's nonce (``csp_nonce()`` in templates), inline event
handlers (``onclick=…``), ``javascript:`` links and ``style="…"`` attributes are
refused, and everything else comes from this origin. Nothing external is needed: the
panel's libraries are served by the app, and Razorpay payment links are pages on
Razorpay's own site (the patient follows a link; no Razorpay script runs on ours).
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, abort, g, request
from flask_wtf.csrf import CSRFProtect

from core.ids import install_id_converter

csrf = CSRFProtect()


def csp_nonce() -> str:
    """This request's nonce, made on first use (128 bits, base64url)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        )
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
    """Runs before any blueprint or view is added (``roshni.app``): routes added later get
    the bounded ``<int:…>`` converter."""
    csrf.init_app(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
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
        response.headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
