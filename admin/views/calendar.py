"""The calendar: EventCalendar's page and its feeds (sessions, free times), drag to move
and to resize (``admin.views.calendar_drag``); the printable day sheet is
``admin.views.calendar_sheet``.

Free starts link to the booking form (``admin.views.calendar_booking``). A page or feed
costs the same few statements whatever it shows: the pickers, the weekly hours, one
joined query for the range's sessions and the three of ``free_slots``. The sheet's
layout is ``admin.views.calendar_grid``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from flask import abort, jsonify, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from sqlalchemy import Row, Select, select
from werkzeug.wrappers import Response

from admin.i18n import calendar_words, panel_lang
from admin.permissions import CREATE
from admin.views.access import Guarded, SessionPage, requires
from admin.views.calendar_booking import LOCAL_FORMAT, BookingRoutes, safe_back
from admin.views.calendar_drag import DragRoutes
from admin.views.calendar_feed import (
    IdUrl,
    SessionRow,
    free_events,
    session_event,
    visible_days,
)
from admin.views.calendar_grid import (
    STATUS_CLASS,
    Scope,
)
from admin.views.calendar_sheet import SheetRoutes, by_id
from admin.views.current import current_clinic_id, current_timezone
from core import clinic_time
from core.clock import utcnow
from models import (
    Appointment,
    AppointmentStatus,
    Location,
    Patient,
    Role,
    Service,
    Therapist,
    WeeklyHours,
)
from services.errors import NotFound
from services.scheduling.availability import free_slots

# How far from today the calendar goes; a date beyond it (a typed URL) shows today.
MAX_DAYS_AWAY = 366 * 20
# Free times are shown in the day and week views; a month of every service's free
# starts would be thousands of shaded slivers nobody can click.
FREE_TIMES_DAYS = 7
# The page's views (its ?view=) and EventCalendar's names for them.
CALENDAR_VIEWS = {"day": "resourceTimeGridDay", "week": "timeGridWeek", "month": "dayGridMonth"}
# What the feed reads of a session, in ``SessionRow``'s order.
SESSION_COLUMNS = (
    Appointment.id,
    Appointment.therapist_id,
    Appointment.start_at,
    Appointment.end_at,
    Appointment.status,
    Appointment.number,
    Appointment.payment_status,
    Patient.name,
    Service.name,
    Therapist.name,
)


@dataclass
class CalendarContext:
    """What every calendar page and feed starts from: the clinic's therapists and
    locations (the pickers), the page's choices (``scope``; None for a therapist with no
    therapist row) and, for the pages, the weekly hours."""

    clinic_id: int
    zone: ZoneInfo
    now: datetime
    today: date
    therapists: list[Therapist]
    locations: list[Location]
    scope: Scope | None
    hours: list[Row[Any]]

    def pickers(self) -> dict[str, Any]:
        """The therapist/location picker's lists (admin/_calendar_picker.html)."""
        scope = self.scope
        return {
            "therapists": [t for t in self.therapists if t.active or t is scope.therapist],
            "locations": [loc for loc in self.locations if loc.active or loc is scope.location],
            "may_choose": current_user.role is not Role.THERAPIST,
        }


class CalendarView(BookingRoutes, DragRoutes, SheetRoutes, Guarded, SessionPage, BaseView):
    """Day, week and month calendars; the front desk books from the free times."""

    resource = "appointments"
    # Rows belong to a therapist; a therapist is shown only their own (see _scope).
    therapist_scope = "therapist"

    # --- the calendar ---------------------------------------------------------------

    @expose("/")
    def index(self) -> str:
        """The calendar (EventCalendar, admin/static/calendar.js): day per therapist, week,
        month; the sessions and free times come from the feeds below."""
        ctx = self._calendar_context()
        scope = ctx.scope
        if scope is None:
            return self.render("admin/calendar.html", scope=None)
        view = request.args.get("view")
        scope.view = view if view in CALENDAR_VIEWS else "day"
        if scope.therapist is not None:
            columns = [scope.therapist]
        else:  # a location's therapists (a clinic with no location yet: no column)
            working = {
                h.therapist_id
                for h in ctx.hours
                if scope.location is not None and h.location_id == scope.location.id
            }
            columns = [t for t in ctx.therapists if t.active and t.id in working]
        filters = {k: v for k, v in scope.params().items() if k in ("therapist", "location")}
        if scope.show_cancelled:
            filters["cancelled"] = 1
        here = request.full_path.rstrip("?")
        setup = {
            "view": CALENDAR_VIEWS[scope.view],
            "date": scope.day.isoformat(),
            "views": [[name, kind] for name, kind in CALENDAR_VIEWS.items()],  # in order
            "resources": [{"id": str(t.id), "title": t.name} for t in columns],
            "events": url_for("calendar.events", **filters),
            "free": url_for("calendar.free", **filters) if self.allowed(CREATE) else None,
            "move": url_for("calendar.move", appointment_id=0) if self.may_write() else None,
            "resize": url_for("calendar.resize", appointment_id=0) if self.may_write() else None,
            "page": url_for("calendar.index", **filters),
            "back": here,
            "step": current_user.clinic.policy.slot_step_minutes,
            # The board's own words and its month and day names in the panel's language.
            "locale": panel_lang(),
            "words": calendar_words(),
        }
        return self.render(
            "admin/calendar.html",
            scope=scope,
            setup=setup,
            today=ctx.today,
            **ctx.pickers(),
            may_book=self.allowed(CREATE),
            may_move=self.may_write(),
            sheet_url=url_for(
                "calendar.sheet",
                view="day",
                date=scope.day.isoformat(),
                service="none",
                **filters,
            ),
            status_class=STATUS_CLASS,
        )

    @expose("/events")
    def events(self) -> Response:
        """The visible range's sessions as JSON, in three statements whatever the range
        holds: the clinic's therapists and locations (the filters), then one joined query."""
        ctx, days = self._feed_scope()
        if ctx.scope is None:
            return jsonify([])
        zone = ctx.zone
        rows = self._session_rows(ctx.clinic_id, ctx.scope, zone, days)
        movable = self.may_write()
        page = self._page_url()
        actions = (
            IdUrl(lambda i: url_for("appointment.actions_view", appointment_id=i))
            if self.may_open("appointment.actions_view")
            else None
        )
        return jsonify(
            [
                session_event(
                    row,
                    zone,
                    url=page(row),
                    movable=movable,
                    resizable=len(days) <= FREE_TIMES_DAYS,  # a month's cells are whole days
                    actions=actions(row.id) if actions else None,
                )
                for row in rows
            ]
        )

    @expose("/free")
    @requires(CREATE)
    def free(self) -> Response:
        """Free times of every service the therapists in view offer (the same
        ``free_slots`` the chat and the booking form use), as background events."""
        ctx, days = self._feed_scope()
        clinic_id, scope = ctx.clinic_id, ctx.scope
        if scope is None or len(days) > FREE_TIMES_DAYS:
            return jsonify([])
        services = self.session.scalars(
            select(Service)
            .where(Service.clinic_id == clinic_id, Service.active.is_(True))
            .order_by(Service.name)
        ).all()
        now = utcnow()
        found = []
        for service in services:
            try:
                slots = free_slots(
                    self.session,
                    clinic_id=clinic_id,
                    service_id=service.id,
                    start_date=days[0],
                    end_date=days[-1],
                    now=now,
                    therapist_id=scope.therapist.id if scope.therapist else None,
                    location_id=scope.location.id if scope.location else None,
                    respect_policy=False,  # staff book inside the notice and past the horizon
                )
            except NotFound:  # nobody in view delivers it
                continue
            found.append((service, slots))
        back = request.args.get("back") or url_for("calendar.index")

        def book_url(start: datetime, therapist_id: int, location_id: int, service: int | None):
            return url_for(
                "calendar.book",
                service=service,
                start=start.strftime(LOCAL_FORMAT),
                therapist=therapist_id,
                location=location_id,
                back=safe_back(back),
            )

        step = current_user.clinic.policy.slot_step_minutes
        return jsonify(free_events(found, step, book_url))

    def _feed_scope(self) -> tuple[CalendarContext, list[date]]:
        """The feeds' filters (as the page's) and the visible clinic-local days."""
        ctx = self._calendar_context(hours=False)
        try:
            days = visible_days(
                request.args.get("start"), request.args.get("end"), ctx.zone, ctx.today
            )
        except ValueError:
            abort(400)
        return ctx, days

    def _calendar_context(self, *, hours: bool = True) -> CalendarContext:
        """The opening every calendar page shares: the clinic, its zone and today, its
        therapists and locations, the page's choices and (``hours``) the weekly hours."""
        clinic_id = current_clinic_id()
        zone = ZoneInfo(current_timezone())
        now = utcnow()
        today = now.astimezone(zone).date()
        therapists = list(
            self.session.scalars(
                select(Therapist).where(Therapist.clinic_id == clinic_id).order_by(Therapist.name)
            )
        )
        locations = list(
            self.session.scalars(
                select(Location).where(Location.clinic_id == clinic_id).order_by(Location.id)
            )
        )
        scope = self._scope(therapists, locations, today)
        weekly: list[Row[Any]] = []
        if hours and scope is not None:
            weekly = list(
                self.session.execute(
                    select(
                        WeeklyHours.therapist_id,
                        WeeklyHours.location_id,
                        WeeklyHours.weekday,
                        WeeklyHours.start_time,
                        WeeklyHours.end_time,
                    ).where(WeeklyHours.clinic_id == clinic_id)
                )
            )
        return CalendarContext(clinic_id, zone, now, today, therapists, locations, scope, weekly)

    def _scope(
        self, therapists: list[Therapist], locations: list[Location], today: date
    ) -> Scope | None:
        """Read the page's choices; another clinic's id, or junk, is a 404."""
        args = request.args
        therapist_raw, location_raw = args.get("therapist"), args.get("location")
        kind, _, raw = args.get("show", "").partition(":")  # the picker's one select
        if kind == "therapist":
            therapist_raw, location_raw = raw, None
        elif kind == "location":
            therapist_raw, location_raw = None, raw
        therapist = by_id(therapists, therapist_raw)
        location = None if therapist is not None else by_id(locations, location_raw)
        if current_user.role is Role.THERAPIST:
            own = next((t for t in therapists if t.staff_user_id == current_user.id), None)
            if own is None:
                return None
            if therapist is not None and therapist is not own:
                abort(403)
            therapist, location = own, None
        if therapist is None and location is None:
            location = next((loc for loc in locations if loc.active), None)
            if location is None:
                therapist = next((t for t in therapists if t.active), None)
        try:
            day = date.fromisoformat(args["date"]) if args.get("date") else today
        except ValueError:
            day = today
        if abs((day - today).days) > MAX_DAYS_AWAY:  # 9999-12-31's week overflows a date
            day = today
        return Scope(
            view="day" if args.get("view") == "day" else "week",
            day=day,
            therapist=therapist,
            location=location,
            show_cancelled=args.get("cancelled") == "1",
        )

    def _session_rows(
        self, clinic_id: int, scope: Scope, zone: ZoneInfo, days: list[date]
    ) -> list[SessionRow]:
        """The feed's sessions as plain columns with the three names joined in: one
        statement, and no ORM object to build per session."""
        stmt = (
            select(*SESSION_COLUMNS)
            .join(Patient, Patient.id == Appointment.patient_id)
            .join(Service, Service.id == Appointment.service_id)
            .join(Therapist, Therapist.id == Appointment.therapist_id)
        )
        found = self.session.execute(self._in_range(stmt, clinic_id, scope, zone, days))
        return [SessionRow(*row) for row in found]

    @staticmethod
    def _in_range(
        stmt: Select, clinic_id: int, scope: Scope, zone: ZoneInfo, days: list[date] | None = None
    ) -> Select:
        """The clinic's sessions starting in the visible days, as the filters say."""
        days = days or scope.days
        start = clinic_time.local_midnight(days[0], zone)
        end = clinic_time.local_midnight(days[-1] + timedelta(days=1), zone)
        stmt = stmt.where(
            Appointment.clinic_id == clinic_id,
            Appointment.start_at >= start,
            Appointment.start_at < end,
        ).order_by(Appointment.start_at, Appointment.id)
        if scope.therapist is not None:
            stmt = stmt.where(Appointment.therapist_id == scope.therapist.id)
        elif scope.location is not None:
            stmt = stmt.where(Appointment.location_id == scope.location.id)
        if not scope.show_cancelled:
            stmt = stmt.where(Appointment.status != AppointmentStatus.CANCELLED)
        return stmt

    def _page_url(self) -> Callable[[Any], str]:
        """A session's link (given a row with ``id`` and ``number``), the permission asked
        and the address built once per request: the session page (its actions also open in
        a popover: session-popover.js), or for those who may not open it, the list."""
        if self.may_open("appointment.details_view"):
            details = IdUrl(lambda i: url_for("appointment.details_view", id=i))
            return lambda row: details(row.id)
        listed = url_for("appointment.index_view", search="")
        return lambda row: listed + quote_plus(row.number)

    def _event_url(self, appointment: Appointment) -> str:
        return self._page_url()(appointment)
