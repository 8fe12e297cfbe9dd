"""Notifications: what the signed-in staff member was told about their patients'
sessions (``services.staff.notifications``), unread first, each linked to its session;
and (posted from My profile) their phone and whether to be told by WhatsApp too.

Everyone's own only, like My profile (the "profile" row of the matrix): the rows are
looked up by the signed-in user's id and clinic, never by an id from the URL. In the
menu of everyone who can be told (``may_be_told``), with the unread count on the alerts
badge (``admin.views.alerts``).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from admin.views.access import Guarded, SessionPage, requires
from admin.views.current import staff_actor
from admin.views.formatters import clinic_time
from admin.views.refusals import refused_as_flash
from core.clock import utcnow
from models import NotificationKind
from services.staff import notifications

# What the page says each kind is.
SAID = {
    NotificationKind.BOOKED: _l("New session"),
    NotificationKind.MOVED: _l("Session moved"),
    NotificationKind.CANCELLED: _l("Session cancelled"),
    NotificationKind.REQUEST: _l("Reschedule request awaiting a decision"),
    NotificationKind.RESIZED: _l("Session length changed"),
}


def may_be_told() -> bool:
    """Whether the signed-in user can receive notifications: any clinic's staff member.
    ``notify_therapist`` writes to whichever active login of the session's clinic its
    therapist is linked to, whatever that login's role (a therapist's login may since have
    become an admin or operator, and keeps its link); the superadmin has no clinic."""
    return bool(current_user.is_authenticated and current_user.clinic_id is not None)


class NotificationsView(Guarded, SessionPage, BaseView):
    resource = "profile"

    class ReadForm(FlaskForm):
        pass

    def is_visible(self) -> bool:
        return may_be_told()

    @expose("/")
    def index(self) -> str:
        rows = []
        if current_user.clinic_id is not None:
            rows = notifications.notifications_for(
                self.session, current_user.clinic_id, current_user.id
            )
        return self.render(
            "admin/notifications.html",
            rows=rows,
            said=SAID,
            clinic_time=clinic_time,
            form=self.ReadForm(),
        )

    @expose("/read", methods=("POST",))
    @requires("update")
    def mark_read(self) -> Any:
        form = self.ReadForm()
        if form.validate_on_submit() and current_user.clinic_id is not None:
            with refused_as_flash(self.session) as outcome:
                marked = notifications.mark_all_read(
                    self.session,
                    clinic_id=current_user.clinic_id,
                    staff_user_id=current_user.id,
                    now=utcnow(),
                    actor=staff_actor(),
                )
            if outcome.ok and marked:
                flash(_("All notifications are marked read."), "success")
        return redirect(url_for(".index"))

    @expose("/whatsapp", methods=("POST",))
    @requires("update")
    def whatsapp(self) -> Any:
        """My profile's "tell me by WhatsApp" form: one's own phone and choice (audited)."""
        form = self.ReadForm()  # the CSRF token only; the two fields are read below
        if form.validate_on_submit():
            with refused_as_flash(self.session) as outcome:
                notifications.set_whatsapp_choice(
                    self.session,
                    user_id=current_user.id,
                    phone=request.form.get("phone", "")[:40],
                    notify_whatsapp=request.form.get("notify_whatsapp") == "y",
                    actor=staff_actor(),
                )
            if outcome.ok:
                flash(_("Your notification choice is saved."), "success")
        return redirect(url_for("profile.index"))
