"""The menu's alerts badge: chats waiting for a person and reschedule requests awaiting a
decision, counted for the signed-in user, and (on Notifications) the signed-in staff
member's own unread notifications.

Each count is there only for those the list it opens lets in (``may_open``), and a
therapist's requests are those about their own sessions, as the request list shows them.
The menu renders the counts with every page (``desk_alerts()`` in templates); the JSON
endpoint lets ``admin/static/alerts.js`` refresh them by short polling. Polling, not
server-sent events: gunicorn's sync workers would hold one worker per open tab.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify
from flask_admin import BaseView, expose
from flask_login import current_user
from werkzeug.wrappers import Response

from admin.views import access
from admin.views.notifications import may_be_told
from core.db import get_db
from services.reports.desk_alerts import DeskAlerts, desk_alerts

# The menu entries that carry a badge, by the view endpoint each count opens.
CHATS, REQUESTS, NOTIFICATIONS = "conversations", "requests", "notifications"
# Chat booking requests waiting for approval: on the Appointments entry, for who may
# approve them (booking_requests_page).
BOOKINGS = "appointment"
POLL_SECONDS = 20


def _views() -> list[Any]:
    return [view for panel in current_app.extensions.get("admin", []) for view in panel._views]


def current_alerts() -> DeskAlerts:
    """The signed-in user's counts, once per request (the menu and the page share them)."""
    if "desk_alerts" in g:
        return g.desk_alerts
    alerts = DeskAlerts()
    if current_user.is_authenticated and current_user.clinic_id is not None:
        views = _views()
        chats = access.may_open(views, CHATS)
        requests = access.may_open(views, REQUESTS)
        own = next((v for v in views if v.endpoint == REQUESTS), None)
        scope = access.own_ids("appointment") if own is not None and own.own_only() else None
        # One's own notifications, for everyone the page is in the menu of.
        mine = may_be_told() and access.may_open(views, NOTIFICATIONS)
        bookings = access.may_open(views, f"{BOOKINGS}.booking_requests_view")
        if chats or requests or mine or bookings:
            alerts = desk_alerts(
                get_db(current_app).scoped(),
                current_user.clinic_id,
                chats=chats,
                requests=requests,
                appointment_ids=scope,
                staff_user_id=current_user.id if mine else None,
                bookings=bookings,
            )
    g.desk_alerts = alerts
    return alerts


def menu_badges() -> dict[str, int]:
    """Counts by menu endpoint, for the menu's badges (kinds the user may not open left out)."""
    alerts = current_alerts()
    counts = {
        CHATS: alerts.waiting_chats,
        REQUESTS: alerts.pending_requests,
        NOTIFICATIONS: alerts.unread_notifications,
        BOOKINGS: alerts.booking_requests,
    }
    return {endpoint: count for endpoint, count in counts.items() if count is not None}


def init_app(app: Any) -> None:
    app.jinja_env.globals.update(menu_badges=menu_badges, alerts_poll_seconds=POLL_SECONDS)


class AlertsView(access.Guarded, access.SessionPage, BaseView):
    """``GET /admin/alerts/``: the badge's counts as JSON, for every signed-in user (the
    "home" row: each count follows its own list's grant). Not in the menu."""

    resource = "home"

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self) -> Response:
        alerts = current_alerts()
        # Panel responses are never cached (core.security sets no-store on every one).
        counts = {CHATS: alerts.waiting_chats, REQUESTS: alerts.pending_requests}
        if alerts.unread_notifications is not None:  # one's own
            counts[NOTIFICATIONS] = alerts.unread_notifications
        if alerts.booking_requests is not None:
            counts[BOOKINGS] = alerts.booking_requests
        return jsonify({**counts, "total": alerts.total})
