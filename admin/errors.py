"""Friendly 400, 403, 404, 405 and 500 pages for the staff panel, in its layout, with a way back.

Only for pages under /admin that a browser asked for: webhooks, patient pages and any
caller that wants JSON keep Werkzeug's plain answers. Nothing of the request (a phone in
a URL, a form) is echoed back or logged here; Flask logs a 500 before it gets here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_admin import Admin
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

PANEL = "/admin"
PAGES = {
    # A form sent without its CSRF token (or with one that expired) is a 400 too.
    400: (
        _l("This form could not be used"),
        _l(
            "It may have been open too long, or something in it was missing. Nothing was "
            "saved: open the page again and repeat the step."
        ),
    ),
    403: (_l("Not for your role"), _l("Your role does not open this page or do this here.")),
    404: (
        _l("Not found"),
        _l("There is nothing here: it may have been removed, or the link is old."),
    ),
    405: (
        _l("Not done this way"),
        _l("This address takes its steps from the page's own buttons. Go back and use them."),
    ),
    500: (
        _l("Something went wrong"),
        _l(
            "Nothing was saved by the step that failed. Try again; if it keeps happening, "
            "tell your clinic's admin what you were doing and when."
        ),
    ),
}


def init_app(app: Flask, panel: Admin, rollback: Any) -> None:
    """``rollback`` undoes the request's unfinished transaction before a 500 page renders."""

    def friendly(error: Exception) -> Any:
        plain = error if isinstance(error, HTTPException) else InternalServerError()
        code = plain.code or 500
        if not _panel_page():
            return plain.get_response()
        if code >= 500:
            rollback()
        title, text = PAGES[code]
        try:
            page = panel.index_view.render("admin/error.html", code=code, title=title, text=text)
        except Exception:  # the layout itself failed: the plain answer still goes out
            app.logger.exception("the %s page could not be shown", code)
            return plain.get_response()
        return page, code

    for code in PAGES:
        app.register_error_handler(code, friendly)


def _panel_page() -> bool:
    """A browser asking for a panel page (not an API caller that wants JSON)?"""
    path = request.path
    if not (path == PANEL or path.startswith(PANEL + "/")):
        return False
    accepts = request.accept_mimetypes
    return not (accepts.accept_json and not accepts.accept_html)
