"""My profile → Calendar feed: a therapist makes (or remakes) the private link their
phone's calendar subscribes to, sees it once, and can stop it
(``services.scheduling.calendar_feed``)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from admin.views.access import requires
from admin.views.current import staff_actor
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from services.scheduling import calendar_feed
from services.staff import accounts as staff


class CalendarFeedMixin:
    """Routes for ``ProfileView``: ``/calendar/new`` and ``/calendar/stop``."""

    session: Any  # and ProfileView's _page(name form, password form, **extra), _blank_forms()

    @expose("/calendar/new", methods=("POST",))
    @requires("update")
    def calendar_new(self) -> Any:
        therapist = self._own_therapist()
        if therapist is None:
            return redirect(url_for(".index"))
        token = None
        with refused_as_flash(self.session) as outcome:
            token = calendar_feed.issue_feed(
                self.session,
                clinic_id=current_user.clinic_id,
                therapist_id=therapist.id,
                now=utcnow(),
                actor=staff_actor(),
            )
        if not outcome.ok or token is None:
            return redirect(url_for(".index"))
        flash(_("Your calendar link is ready: copy it now, it is shown only once."), "success")
        # Shown on this page only, never stored: a reload shows no link.
        link = url_for("pages.calendar_feed", token=token, _external=True)
        return self._page(*self._blank_forms(), calendar_link=link)

    @expose("/calendar/stop", methods=("POST",))
    @requires("update")
    def calendar_stop(self) -> Any:
        therapist = self._own_therapist()
        if therapist is None:
            return redirect(url_for(".index"))
        with refused_as_flash(self.session) as outcome:
            stopped = calendar_feed.stop_feed(
                self.session,
                clinic_id=current_user.clinic_id,
                therapist_id=therapist.id,
                actor=staff_actor(),
            )
        if outcome.ok:
            flash(
                _("Your calendar link is stopped.") if stopped else _("There was no link to stop."),
                "success",
            )
        return redirect(url_for(".index"))

    def _own_therapist(self) -> Any:
        """The therapist this login is; None (said on the page) for a login that is none."""
        if not FlaskForm().validate_on_submit():  # the CSRF token
            abort(400)
        therapist = staff.linked_therapist(self.session, current_user.clinic_id, current_user.id)
        if therapist is None:
            flash(_("Only a therapist's own login has a calendar feed."), "error")
        return therapist
