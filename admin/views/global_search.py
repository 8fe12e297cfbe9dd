"""The top bar's search box: patients, guardians and contacts (name or phone, in any
common form) and appointments (number or id), each linking to its page.

Role-aware by the pages it links to: a kind shows only to those its page lets in
(``may_open``), and a role the matrix limits to its own rows (a therapist) finds only
those (``access.own_ids``). The term is posted, never put in the URL, like the lists'
own search box: no patient's name or number in an address bar, history or access log.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SearchField
from wtforms.validators import Length

from admin.i18n import panel_lang
from admin.permissions import READ
from admin.views import access
from admin.views.current import current_timezone
from core.formatting import format_phone, format_when
from services.people import search as people_search

# What each kind links to, and how its rows belong to a therapist. A patient's page is
# their guardian's contact page (the patient list has no page of its own).
KINDS = {
    "patients": ("contact.details_view", "patient"),
    "contacts": ("contact.details_view", "contact"),
    "appointments": ("appointment.details_view", "appointment"),
}


class SearchForm(FlaskForm):
    q = SearchField(_l("Search"), validators=[Length(max=100)])


class SearchView(access.Guarded, access.SessionPage, BaseView):
    """Every signed-in clinic user may search ("home"); what they find follows the matrix."""

    resource = "home"

    def is_visible(self) -> bool:
        return False

    def _scope(self, kind: str) -> Any:
        """True (all the clinic's), False (not shown) or the ids the user may see."""
        endpoint, scope = KINDS[kind]
        if not self.may_open(endpoint):
            return False
        view = next(v for v in self.admin._views if v.endpoint == endpoint.split(".")[0])
        return access.own_ids(scope) if view.own_only() else True

    @expose("/", methods=("GET", "POST"))
    @access.requires(READ)
    def index(self) -> str:
        form = SearchForm()
        found = None
        if request.method == "POST" and form.validate_on_submit():
            clinic = current_user.clinic
            if clinic is not None:
                found = people_search.search(
                    self.session,
                    clinic.id,
                    form.q.data or "",
                    region=clinic.phone_region,
                    **{kind: self._scope(kind) for kind in KINDS},
                )
        zone = current_timezone()
        return self.render(
            "admin/search.html",
            form=form,
            found=found,
            phone=format_phone,
            when=lambda value: format_when(value, zone, panel_lang()),
        )
