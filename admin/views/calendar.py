"""The calendar: a week or a day of sessions, per therapist or per location.

Server-rendered and script-free (plain links and forms). For a chosen service the
free starts link to a small booking form that goes through ``book_appointment``,
so a booking made here obeys the same rules, and the same no-double-booking
guarantee, as one made in the chat or the appointment form.

A page costs the same few statements whatever it shows: the pickers, the weekly
hours, one joined query for the range's appointments and the three of
``free_slots``. The layout itself is ``admin.views.calendar_grid``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, urlsplit
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms.fields import DateTimeLocalField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from admin.permissions import CREATE, UPDATE
from admin.views.access import Guarded, SessionPage, requires
from admin.views.booking_note import booked_sentence, patient_choice
from admin.views.calendar_feed import (
    IdUrl,
    SessionRow,
    free_events,
    parse_wall,
    session_event,
    visible_days,
)
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
from admin.views.current import current_clinic_id, current_timezone, staff_actor
from admin.views.refusals import refusal_rolled_back, refused_as_flash, with_free_nearby
from core import clinic_time
from core.clock import utcnow
from core.formatting import format_day, format_time, format_when
from core.ids import parse_id
from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    Contact,
    Location,
    Patient,
    Role,
    Service,
    Therapist,
    WeeklyHours,
)
from services.errors import NotFound, SlotUnavailable
from services.scheduling import appointments
from services.scheduling.availability import Slot, free_slots

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# How far from today the calendar goes; a date beyond it (a typed URL) shows today.
MAX_DAYS_AWAY = 366 * 20
PATIENT_CHOICES = 300  # beyond this the form lists the first ones and offers a search
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


def _optional_int(value: Any) -> int | None:
    if value in (None, "", "None", "__None"):
        return None
    key = parse_id(value)
    if key is None:
        raise ValueError("Please choose from the list.")
    return key


class BookingForm(FlaskForm):
    # Choices are not checked against the lists: the booking service refuses any
    # patient, service or therapist that is not this clinic's, with a sentence.
    patient = SelectField(
        "Patient",
        coerce=_optional_int,
        validate_choice=False,
        validators=[DataRequired("Choose a patient.")],
    )
    service = SelectField(
        "Service",
        coerce=_optional_int,
        validate_choice=False,
        validators=[DataRequired("Choose a service.")],
    )
    therapist = SelectField("Therapist", coerce=_optional_int, validate_choice=False)
    start = DateTimeLocalField(
        "Start (clinic time)", format=LOCAL_FORMAT, validators=[DataRequired("Give a start.")]
    )
    location = HiddenField()
    back = HiddenField()
    q = StringField("Find a patient", validators=[Length(max=80)])


class CalendarView(Guarded, SessionPage, BaseView):
    """Week and day calendars; the front desk books from the free cells."""

    resource = "appointments"
    # Rows belong to a therapist; a therapist is shown only their own (see _scope).
    therapist_scope = "therapist"

    # --- the calendar ---------------------------------------------------------------

    @expose("/")
    def index(self) -> str:
        """The calendar (EventCalendar, admin/static/calendar.js): day per therapist, week,
        month; the sessions and free times come from the feeds below."""
        clinic_id = current_clinic_id()
        zone = ZoneInfo(current_timezone())
        today = utcnow().astimezone(zone).date()
        therapists = self.session.scalars(
            select(Therapist).where(Therapist.clinic_id == clinic_id).order_by(Therapist.name)
        ).all()
        locations = self.session.scalars(
            select(Location).where(Location.clinic_id == clinic_id).order_by(Location.id)
        ).all()
        scope = self._scope(therapists, locations, today)
        if scope is None:
            return self.render("admin/calendar.html", scope=None)
        view = request.args.get("view")
        scope.view = view if view in CALENDAR_VIEWS else "day"
        hours = self.session.execute(
            select(WeeklyHours.therapist_id, WeeklyHours.location_id).where(
                WeeklyHours.clinic_id == clinic_id
            )
        ).all()
        if scope.therapist is not None:
            columns = [scope.therapist]
        else:  # a location's therapists (a clinic with no location yet: no column)
            working = {
                h.therapist_id
                for h in hours
                if scope.location is not None and h.location_id == scope.location.id
            }
            columns = [t for t in therapists if t.active and t.id in working]
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
            "page": url_for("calendar.index", **filters),
            "back": here,
            "step": current_user.clinic.policy.slot_step_minutes,
        }
        return self.render(
            "admin/calendar.html",
            scope=scope,
            setup=setup,
            today=today,
            therapists=[t for t in therapists if t.active or t is scope.therapist],
            locations=[loc for loc in locations if loc.active or loc is scope.location],
            may_choose=current_user.role is not Role.THERAPIST,
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
        clinic_id = current_clinic_id()
        zone = ZoneInfo(current_timezone())
        scope, days = self._feed_scope(clinic_id, zone)
        if scope is None:
            return jsonify([])
        rows = self._session_rows(clinic_id, scope, zone, days)
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
        clinic_id = current_clinic_id()
        zone = ZoneInfo(current_timezone())
        scope, days = self._feed_scope(clinic_id, zone)
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
                back=_safe_back(back),
            )

        step = current_user.clinic.policy.slot_step_minutes
        return jsonify(free_events(found, step, book_url))

    @expose("/move/<int:appointment_id>", methods=("POST",))
    @requires(UPDATE)
    def move(self, appointment_id: int) -> tuple[Response, int]:
        """A dragged session: moved through ``reschedule_appointment`` as the signed-in
        staff member, or refused in the service's own words (the page puts it back)."""
        zone = ZoneInfo(current_timezone())
        wall = parse_wall(request.form.get("start"), zone)
        therapist_raw = request.form.get("therapist")
        therapist_id = parse_id(therapist_raw) if therapist_raw else None
        if wall is None or (therapist_raw and therapist_id is None):
            return jsonify(ok=False, message="Give the new start as a date and time."), 400
        with refusal_rolled_back(self.session) as outcome:
            appointment = appointments.reschedule_appointment(
                self.session,
                clinic_id=current_clinic_id(),
                appointment_id=appointment_id,
                new_start=clinic_time.to_utc(wall, zone),
                now=utcnow(),
                actor=staff_actor(),
                therapist_id=therapist_id,
            )
        if (
            isinstance(outcome.refusal, NotFound)
            and outcome.refusal.params.get("what") == "appointment"
        ):
            abort(404)  # not this clinic's (or no such) session
        if outcome.refusal is not None:
            return jsonify(ok=False, message=with_free_nearby(outcome.refusal)), 409
        when = format_when(appointment.start_at, zone.key)
        return jsonify(
            ok=True,
            message=f"{appointment.patient.name}: moved to {when}, {appointment.therapist.name}.",
            event=session_event(
                SessionRow.of(appointment),
                zone,
                url=self._event_url(appointment),
                movable=True,
            ),
        ), 200

    def _feed_scope(self, clinic_id: int, zone: ZoneInfo) -> tuple[Scope | None, list[date]]:
        """The feeds' filters (as the page's) and the visible clinic-local days."""
        today = utcnow().astimezone(zone).date()
        try:
            days = visible_days(request.args.get("start"), request.args.get("end"), zone, today)
        except ValueError:
            abort(400)
        therapists = self.session.scalars(
            select(Therapist).where(Therapist.clinic_id == clinic_id).order_by(Therapist.name)
        ).all()
        locations = self.session.scalars(
            select(Location).where(Location.clinic_id == clinic_id).order_by(Location.id)
        ).all()
        return self._scope(therapists, locations, today), days

    @expose("/sheet")
    def sheet(self) -> str:
        """The same sessions as a plain table: a day sheet to print, and no script needed."""
        clinic_id = current_clinic_id()
        zone = ZoneInfo(current_timezone())
        now = utcnow()
        today = now.astimezone(zone).date()
        therapists = self.session.scalars(
            select(Therapist).where(Therapist.clinic_id == clinic_id).order_by(Therapist.name)
        ).all()
        locations = self.session.scalars(
            select(Location).where(Location.clinic_id == clinic_id).order_by(Location.id)
        ).all()
        scope = self._scope(therapists, locations, today)
        if scope is None:
            return self.render("admin/calendar_sheet.html", scope=None)
        hours = self.session.execute(
            select(
                WeeklyHours.therapist_id,
                WeeklyHours.location_id,
                WeeklyHours.weekday,
                WeeklyHours.start_time,
                WeeklyHours.end_time,
            ).where(WeeklyHours.clinic_id == clinic_id)
        ).all()
        booked = self._appointments(clinic_id, scope, zone)
        services, slots, slot_note = self._free(clinic_id, scope, now)
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
            today=today,
            therapists=[t for t in therapists if t.active or t is scope.therapist],
            locations=[loc for loc in locations if loc.active or loc is scope.location],
            therapist_names={t.id: t.name for t in therapists},
            services=services,
            slot_note=slot_note,
            may_book=self.may_write(),
            may_choose=current_user.role is not Role.THERAPIST,
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
            day_label=format_day,
            time_label=format_time,
            span=lambda a: span_label(a.start_at.astimezone(zone), a.end_at.astimezone(zone)),
            status_class=STATUS_CLASS,
            payment_badge=PAYMENT_BADGE,
        )

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
        therapist = _by_id(therapists, therapist_raw)
        location = None if therapist is not None else _by_id(locations, location_raw)
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

    def _appointments(self, clinic_id: int, scope: Scope, zone: ZoneInfo) -> list[Appointment]:
        """The range's sessions, with patient, service and therapist, in one statement."""
        stmt = select(Appointment).options(
            joinedload(Appointment.patient),
            joinedload(Appointment.service),
            joinedload(Appointment.therapist),
        )
        return list(self.session.scalars(self._in_range(stmt, clinic_id, scope, zone)))

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
        scope.service = _by_id(services, raw) or next(
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

    # --- booking from a free cell -------------------------------------------------------

    @expose("/book", methods=("GET", "POST"))
    @requires("create")
    def book(self) -> Response | str:
        if not self.may_write():
            abort(403)
        args = request.args
        form = BookingForm(
            data={
                # From "add a patient": straight on to booking for them.
                "patient": _int_or_none(args.get("patient")),
                "service": _int_or_none(args.get("service")),
                "therapist": _int_or_none(args.get("therapist")),
                "start": _parse_local(args.get("start")),
                "location": args.get("location", ""),
                "back": args.get("back", ""),
            }
        )
        alternatives: list[Slot] = []
        if request.method == "POST" and "find" not in request.form and form.validate():
            with refused_as_flash(self.session, say=with_free_nearby) as outcome:
                appointment = appointments.book_appointment(
                    self.session,
                    clinic_id=current_clinic_id(),
                    patient_id=form.patient.data,
                    service_id=form.service.data,
                    therapist_id=form.therapist.data,
                    location_id=_int_or_none(form.location.data),
                    start=clinic_time.to_utc(form.start.data, current_timezone()),
                    now=utcnow(),
                    actor=staff_actor(),
                    source=BookingSource.ADMIN,
                )
            if isinstance(outcome.refusal, SlotUnavailable):
                alternatives = outcome.refusal.alternatives
            if outcome.ok:
                flash(booked_sentence(self.session, appointment, current_timezone()), "success")
                return redirect(_safe_back(form.back.data))
        return self._booking_page(form, alternatives)

    def _booking_page(self, form: BookingForm, alternatives: list[Slot]) -> str:
        clinic_id = current_clinic_id()
        services = self.session.scalars(
            select(Service)
            .where(Service.clinic_id == clinic_id, Service.active.is_(True))
            .order_by(Service.name)
        ).all()
        therapists = self.session.scalars(
            select(Therapist)
            .where(Therapist.clinic_id == clinic_id, Therapist.active.is_(True))
            .order_by(Therapist.name)
        ).all()
        query = (form.q.data or "").strip()
        patients = self._patients(clinic_id, query, form.patient.data)
        # Nothing chosen for them: one hasty Save must not book the first in the list.
        form.service.choices = [("", "Choose a service…")] + [(s.id, s.name) for s in services]
        form.therapist.choices = [("", "Any available therapist")] + [
            (t.id, f"{t.name} ({t.specialization})") for t in therapists
        ]
        form.patient.choices = [("", "Choose a patient…")] + [
            (p.id, patient_choice(p)) for p in patients[:PATIENT_CHOICES]
        ]
        return self.render(
            "admin/calendar_book.html",
            form=form,
            more_patients=len(patients) > PATIENT_CHOICES,
            back=_safe_back(form.back.data),
            alternatives=[
                (
                    format_when(s.start, current_timezone()),
                    clinic_time.to_wall(s.start, current_timezone()).strftime(LOCAL_FORMAT),
                    s.therapist_id,
                )
                for s in alternatives
            ],
        )

    def _patients(self, clinic_id: int, query: str, chosen: int | None) -> list[Patient]:
        """Active patients by name, with their guardian; a search narrows by name or phone.

        The search is posted, never put in the URL: no patient data in addresses.
        """
        stmt = (
            select(Patient)
            .join(Contact, Contact.id == Patient.contact_id)
            .options(joinedload(Patient.contact))
            .where(Patient.clinic_id == clinic_id, Patient.active.is_(True))
            .order_by(Patient.name, Patient.id)
            .limit(PATIENT_CHOICES + 1)
        )
        if query:
            like = "%" + "".join(ch for ch in query if ch not in "%_\\") + "%"
            matches = [Patient.name.ilike(like), Contact.name.ilike(like)]
            digits = "".join(ch for ch in query if ch.isdigit())
            if len(digits) >= 3:
                matches.append(Contact.phone.like(f"%{digits}%"))
            if chosen is not None:
                matches.append(Patient.id == chosen)  # keep the one already picked
            stmt = stmt.where(or_(*matches))
        found = list(self.session.scalars(stmt))
        if chosen is not None and all(p.id != chosen for p in found[:PATIENT_CHOICES]):
            # Past the first page of names (a patient just added, say): listed first.
            extra = self.session.scalars(
                select(Patient)
                .options(joinedload(Patient.contact))
                .where(
                    Patient.clinic_id == clinic_id,
                    Patient.active.is_(True),
                    Patient.id == chosen,
                )
            ).all()
            found = [*extra, *found]
        return found


def _by_id(rows: list[Any], raw: str | None) -> Any:
    """The row with this id among the clinic's own; anyone else's id is not found."""
    if not raw:
        return None
    key = parse_id(raw)
    found = next((r for r in rows if key is not None and r.id == key), None)
    if found is None:
        abort(404)
    return found


def _int_or_none(value: str | None) -> int | None:
    try:
        return _optional_int(value)
    except ValueError:
        return None


def _parse_local(value: str | None) -> datetime | None:
    """A clinic wall-clock time from a link (``2026-11-24T10:00``), still without its zone."""
    try:
        parsed = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else None


def _safe_back(value: str | None) -> str:
    """Back to a calendar page of this site only; never to an address from elsewhere."""
    home = url_for("calendar.index")
    if value and value.startswith(home) and "\\" not in value:
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc:
            return value
    return home
