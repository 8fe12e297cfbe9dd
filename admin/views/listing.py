"""A model list's search, filters and pages, with no patient's name or phone in a URL."""

from __future__ import annotations

import math
import secrets
from typing import Any

from flask import flash, redirect, request, session
from flask_admin import expose
from werkzeug.wrappers import Response

from admin.views.access import requires

MAX_PAGE = 100_000
SEARCHES = "admin_searches"
MAX_SEARCHES = 20


def remember_search(term: str) -> str:
    """An opaque key for a search term; the term itself stays in the signed session cookie."""
    searches: dict[str, str] = dict(session.get(SEARCHES) or {})
    for key, known in searches.items():
        if known == term:
            return key
    key = secrets.token_urlsafe(6)
    searches[key] = term
    session[SEARCHES] = dict(list(searches.items())[-MAX_SEARCHES:])
    return key


def _valid_filter_value(flt: Any, value: str) -> bool:
    try:
        return bool(flt.validate(value)) and _storable(flt.clean(value))
    except (KeyError, ValueError, TypeError, ArithmeticError):
        return False


def _storable(value: Any) -> bool:
    """Could a database column compare with this filter value without overflowing?"""
    if isinstance(value, list | tuple | set):
        return all(_storable(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return True


class SafeListArgs:
    """For a Flask-Admin ``ModelView``: the search term kept out of URLs, and filter
    values, page numbers and sort columns from a URL checked before they reach SQL."""

    # Turns the list's GET search form into a POST to ``search`` (static/search.js).
    extra_js = ["/admin-assets/search.js"]

    @expose("/search/", methods=("POST",))
    @requires("read")
    def search(self) -> Response:
        """The search box posts here; the term is kept in the session and the list is
        shown under an opaque key (``?sq=…``), so a patient's name or phone never
        lands in a URL, the browser history or an access log."""
        term = (request.form.get("search") or "").strip()[:100]
        keep = {k: v for k, v in request.form.items() if k not in ("search", "sq", "csrf_token")}
        if term:
            keep["sq"] = remember_search(term)
        return redirect(self.get_url(".index_view", **keep))

    def _get_list_filter_args(self) -> Any:
        """Flask-Admin's own loop over ``flt<pos>_<key>`` arguments, but a value its
        filters would choke on (an enum name that does not exist: a KeyError inside
        Flask-Admin's ``validate``; a number no column can hold) gets Flask-Admin's
        "invalid value" message instead of a 500."""
        if not self._filters:
            return None
        filters = []
        for arg, value in request.args.items():
            if not arg.startswith("flt") or "_" not in arg:
                continue
            pos, key = arg[3:].split("_", 1)
            if key not in self._filter_args:
                continue
            idx, flt = self._filter_args[key]
            if _valid_filter_value(flt, value):
                filters.append((pos, (idx, str(flt.name), value)))
            else:
                flash(self.get_invalid_value_msg(value, flt), "error")
        return [item for _pos, item in sorted(filters, key=lambda pair: pair[0])]

    def _get_list_extra_args(self) -> Any:
        args = super()._get_list_extra_args()
        # Page numbers from the URL, within reason: 10**30 would overflow the OFFSET,
        # a negative one PostgreSQL refuses. Past the last page, the list is empty.
        args.page = min(max(args.page or 0, 0), MAX_PAGE)
        if not self.can_set_page_size:
            args.page_size = 0
        if args.sort is not None and not 0 <= args.sort < len(self._list_columns):
            args.sort = None
        key = args.extra_args.get("sq")
        if not args.search and key:
            args.search = (session.get(SEARCHES) or {}).get(key)
        return args

    def _get_list_url(self, view_args: Any) -> str:
        extra = {k: v for k, v in (view_args.extra_args or {}).items() if k != "sq"}
        if view_args.search:
            extra["sq"] = remember_search(view_args.search)
        return super()._get_list_url(view_args.clone(search=None, extra_args=extra))
