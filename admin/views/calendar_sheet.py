"""The day sheet: the calendar's sessions as a plain table with print styles, a day per
therapist or a week, with one service's free times linking to the booking form. It works
without JavaScript; the layout is ``admin.views.calendar_grid``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from admin.i18n import panel_lang
from admin.views.calendar_booking import LOCAL_FORMAT
from admin.views.calendar_grid import (
    PAYMENT_BADGE,
    STATUS_CLASS,
    Column,
    FreeStart,
    Scope,
    build_grid,
    day_therapists,
    span_label,
    working_windows,
)
from core.formatting import format_day, format_time
from core.ids import parse_id
from models import Appointment, Service
from services.errors import NotFound
from services.scheduling.availability import Slot, free_slots


class SheetRoutes:
    """``calendar.sheet``: mixed into ``CalendarView``, whose guard, role, database session
    and shared opening (``_calendar_context``) it uses."""

    session: Any
    render: Any
    may_write: Any
    may_open: Any
    _calendar_context: Any
    _in_range: Any
    _page_url: Any

    @expose("/sheet")
    def sheet(self) -> str:
        """The same sessions as a plain table: a day sheet to print, and no script needed."""
        ctx = self._calendar_context()
        scope, zone, hours, therapists = ctx.scope, ctx.zone, ctx.hours, ctx.therapists
        if scope is None:
            return self.render("admin/calendar_sheet.html", scope=None)
        booked = self._appointments(ctx.clinic_id, scope, zone)
        services, slots, slot_note = self._free(ctx.clinic_id, scope, ctx.now)
        if scope.view == "week":
            columns = [Column(day=d, therapist=scope.therapist) for d in scope.days]
        else:
            columns = [
                Column(day=scope.day, therapist=t)
                for t in day_therapists(scope, therapists, hours, booked, slots)
            ]
        step = current_user.clinic.policy.slot_step_minutes
        grid = build_grid(scope, columns, booked, slots, working_windows(scope, hours), zone, step)
        move = timedelta(days=1 if scope.view == "day" else 7)
        here = request.full_path.rstrip("?")
        return self.render(
            "admin/calendar_sheet.html",
            scope=scope,
            grid=grid,
            today=ctx.today,
            **ctx.pickers(),
            therapist_names={t.id: t.name for t in therapists},
            services=services,
            slot_note=slot_note,
            may_book=self.may_write(),
            calendar_url=url_for(
                "calendar.index",
                **{
                    k: v
                    for k, v in scope.params().items()
                    if k in ("view", "date", "therapist", "location")
                },
            ),
            prev_url=self._url(scope, date=(scope.day - move).isoformat()),
            next_url=self._url(scope, date=(scope.day + move).isoformat()),
            today_url=self._url(scope, date=None),
            view_url=lambda **changes: self._url(scope, **changes),
            event_url=self._page_url(),
            popover=self.may_open("appointment.actions_view"),
            book_url=lambda free: self._book_url(scope, free, here),
            day_label=lambda d: format_day(d, panel_lang()),
            time_label=lambda t: format_time(t, panel_lang()),
            span=lambda a: span_label(a.start_at.astimezone(zone), a.end_at.astimezone(zone)),
            status_class=STATUS_CLASS,
            payment_badge=PAYMENT_BADGE,
        )

    def _appointments(self, clinic_id: int, scope: Scope, zone: ZoneInfo) -> list[Appointment]:
        """The range's sessions, with patient, service and therapist, in one statement."""
        stmt = select(Appointment).options(
            joinedload(Appointment.patient),
            joinedload(Appointment.service),
            joinedload(Appointment.therapist),
        )
        return list(self.session.scalars(self._in_range(stmt, clinic_id, scope, zone)))

    def _free(
        self, clinic_id: int, scope: Scope, now: datetime
    ) -> tuple[list[Service], list[Slot], str | None]:
        """Free starts for the chosen service (by default the first that fits); bookers only."""
        if not self.may_write():
            return [], [], None
        services = self.session.scalars(
            select(Service)
            .where(Service.clinic_id == clinic_id, Service.active.is_(True))
            .order_by(Service.name)
        ).all()
        raw = request.args.get("service")
        if raw == "none":
            scope.hide_free = True
            return services, [], None
        scope.service = by_id(services, raw) or next(
            (
                s
                for s in services
                if scope.therapist is None or s.specialization == scope.therapist.specialization
            ),
            None,
        )
        if scope.service is None:
            return services, [], "No service to show free times for."
        try:
            slots = free_slots(
                self.session,
                clinic_id=clinic_id,
                service_id=scope.service.id,
                start_date=scope.days[0],
                end_date=scope.days[-1],
                now=now,
                therapist_id=scope.therapist.id if scope.therapist else None,
                location_id=scope.location.id if scope.location else None,
                respect_policy=False,  # staff book inside the notice and past the horizon
            )
        except NotFound:  # the therapist in view does not deliver this service
            assert scope.therapist is not None
            return services, [], f"{scope.therapist.name} does not offer {scope.service.name}."
        return services, slots, None

    def _url(self, scope: Scope, **changes: Any) -> str:
        return url_for("calendar.sheet", **scope.params(**changes))

    @staticmethod
    def _book_url(scope: Scope, free: FreeStart, here: str) -> str:
        assert scope.service is not None
        return url_for(
            "calendar.book",
            service=scope.service.id,
            start=free.start.strftime(LOCAL_FORMAT),
            # Several free at once (a location's week): the service picks one.
            therapist=free.therapist_ids[0] if len(free.therapist_ids) == 1 else None,
            location=free.location_id,
            back=here,
        )


def by_id(rows: list[Any], raw: str | None) -> Any:
    """The row with this id among the clinic's own; anyone else's id is not found."""
    if not raw:
        return None
    key = parse_id(raw)
    found = next((r for r in rows if key is not None and r.id == key), None)
    if found is None:
        abort(404)
    return found
