"""Courses of sessions (services.scheduling.series): every Monday and Thursday at 5 for
eight weeks, booked in one go with its clashes reported, moved or cancelled for one
session, this and the following, or all; London's clocks changing inside a course.

Dates are pinned around ``NOW`` (Monday 23 Nov 2026) and passed to the services."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import (
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    ExceptionKind,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
)
from services.clinics.catalog import add_exception
from services.errors import BeyondHorizon, InvalidInput, NotFound
from services.scheduling.series import (
    Pattern,
    Scope,
    book_series,
    cancel_series,
    move_series,
)
from tests.conftest import NOW
from tests.scheduling.booking_support import (  # noqa: F401  (fixtures)
    IST,
    LONDON,
    STAFF,
    book,
    clinic,
    ist,
    patient,
    patient_of,
    reloaded,
    service,
    therapist,
)

# ruff: noqa: F811  (the fixtures imported from booking_support)

MONDAYS_AND_THURSDAYS = (0, 3)
NEXT_MON = date(2026, 11, 30)
NEXT_THU = date(2026, 12, 3)


def course(session, clinic, patient, service, therapist, pattern, *, actor=STAFF, now=NOW):
    return book_series(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        therapist_id=therapist.id,
        pattern=pattern,
        now=now,
        actor=actor,
        source=BookingSource.ADMIN if actor.is_staff else BookingSource.CHAT,
    )


def eight_weeks(first: date = NEXT_MON, **changes) -> Pattern:
    values = {
        "weekdays": MONDAYS_AND_THURSDAYS,
        "local_time": time(17),
        "first_date": first,
        "sessions": 16,
    }
    return Pattern(**(values | changes))


def notices(session) -> list[OutboundMessage]:
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.kind == MessageKind.NOTICE)
            .order_by(OutboundMessage.id)
        )
    )


def reminders(session, status=OutboundStatus.QUEUED) -> int:
    return session.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(OutboundMessage.kind == MessageKind.REMINDER, OutboundMessage.status == status)
    )


def test_a_course_books_every_session_with_one_therapist_numbered_in_a_row(
    session, clinic, therapist, service, patient
):
    result = course(session, clinic, patient, service, therapist, eight_weeks())

    assert result.clashes == []
    assert len(result.booked) == 16
    locals_ = [a.start_at.astimezone(IST) for a in result.booked]
    assert [d.weekday() for d in locals_] == [0, 3] * 8
    assert {d.time() for d in locals_} == {time(17)}
    assert locals_[0].date() == NEXT_MON and locals_[-1].date() == NEXT_THU + timedelta(weeks=7)
    numbers = [int(a.number.rsplit("-", 1)[1]) for a in result.booked]
    assert numbers == list(range(numbers[0], numbers[0] + 16))
    assert {a.series_id for a in result.booked} == {result.series.id}
    assert {a.therapist_id for a in result.booked} == {therapist.id}
    # Two reminders a session; one message tells the guardian of the whole course.
    assert reminders(session) == 32
    [notice] = notices(session)
    assert notice.template_key == "notice_series_booked"
    assert notice.variables == {"count": 16, "missed": 0}
    assert notice.appointment_id == result.booked[0].id
    actions = session.scalars(select(AuditLog.action)).all()
    assert actions.count("appointment.book") == 16 and actions.count("series.book") == 1


def test_a_number_after_a_course_follows_its_block(session, clinic, therapist, service, patient):
    result = course(session, clinic, patient, service, therapist, eight_weeks(sessions=3))
    single = book(session, clinic, patient, service, ist(date(2026, 11, 24), 11), actor=STAFF)
    last = int(result.booked[-1].number.rsplit("-", 1)[1])
    assert int(single.number.rsplit("-", 1)[1]) == last + 1


def test_clashes_are_reported_with_alternatives_and_the_free_sessions_booked(
    session, clinic, therapist, service, patient, make_patient
):
    other = make_patient(clinic, name="Kabir")
    taken = book(session, clinic, other, service, ist(NEXT_THU + timedelta(weeks=1), 17))
    add_exception(  # the therapist is away on the third Monday
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.CLOSED,
        therapist_id=therapist.id,
        start_date=NEXT_MON + timedelta(weeks=2),
        end_date=NEXT_MON + timedelta(weeks=2),
        actor=STAFF,
    )

    result = course(session, clinic, patient, service, therapist, eight_weeks())

    assert len(result.booked) == 14
    by_start = {c.start: c for c in result.clashes}
    assert set(by_start) == {taken.start_at, ist(NEXT_MON + timedelta(weeks=2), 17)}
    busy = by_start[taken.start_at]
    assert busy.taken is True
    away = by_start[ist(NEXT_MON + timedelta(weeks=2), 17)]
    assert away.taken is False
    for clash in result.clashes:
        assert clash.alternatives, "each clash comes with free times near it"
        for slot in clash.alternatives:
            assert abs(slot.start - clash.start) <= timedelta(days=3)
            assert slot.start != taken.start_at
            # Never on top of the course's own sessions.
            assert not any(slot.start < a.end_at and a.start_at < slot.end for a in result.booked)
    [notice] = notices(session)
    assert notice.template_key == "notice_series_booked_gaps"
    assert notice.variables == {"count": 14, "missed": 2}


def test_nothing_free_books_nothing(session, clinic, therapist, service, patient):
    saturday_evenings = Pattern(weekdays=(5,), local_time=time(17), first_date=NEXT_MON, sessions=4)
    result = course(session, clinic, patient, service, therapist, saturday_evenings)
    assert result.series is None and result.booked == []
    assert len(result.clashes) == 4 and not any(c.taken for c in result.clashes)
    assert session.scalar(select(func.count()).select_from(AppointmentSeries)) == 0
    assert session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_the_horizon_holds_for_the_first_session_only(session, clinic, therapist, service, patient):
    # The clinic books 30 days ahead; a course of 16 runs eight weeks past its start.
    result = course(
        session, clinic, patient, service, therapist, eight_weeks(), actor=patient_of(patient)
    )
    assert len(result.booked) == 16
    assert result.booked[-1].start_at - NOW > timedelta(days=30)
    with pytest.raises(BeyondHorizon):
        course(
            session,
            clinic,
            patient,
            service,
            therapist,
            eight_weeks(first=NOW.date() + timedelta(days=40)),
            actor=patient_of(patient),
        )


def test_fortnightly_until_a_date(session, clinic, therapist, service, patient):
    pattern = Pattern(
        weekdays=(2,),
        local_time=time(10),
        first_date=NEXT_MON,
        every_weeks=2,
        until=date(2027, 1, 31),
    )
    result = course(session, clinic, patient, service, therapist, pattern)
    days = [a.start_at.astimezone(IST).date() for a in result.booked]
    assert days == [
        date(2026, 12, 2),
        date(2026, 12, 16),
        date(2026, 12, 30),
        date(2027, 1, 13),
        date(2027, 1, 27),
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"weekdays": ()},
        {"weekdays": (7,)},
        {"every_weeks": 5},
        {"sessions": None},
        {"sessions": 105},
        {"sessions": None, "until": NEXT_MON - timedelta(days=1)},
    ],
)
def test_a_pattern_that_makes_no_sense_is_refused(
    session, clinic, therapist, service, patient, changes
):
    with pytest.raises(InvalidInput):
        course(session, clinic, patient, service, therapist, eight_weeks(**changes))
    assert session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_another_clinics_patient_cannot_be_booked(
    session, clinic, therapist, service, make_clinic, make_patient
):
    stranger = make_patient(make_clinic(name="Elsewhere"))
    with pytest.raises(NotFound):
        course(session, clinic, stranger, service, therapist, eight_weeks())


def test_london_keeps_ten_oclock_across_the_clocks_changing(
    session, make_clinic, make_therapist, make_service, make_patient
):
    london = make_clinic(name="London", timezone="Europe/London", currency="GBP", region="GB")
    therapist = make_therapist(london)
    service = make_service(london)
    patient = make_patient(london)
    pattern = Pattern(weekdays=(0,), local_time=time(10), first_date=date(2027, 3, 15), sessions=4)
    result = course(session, london, patient, service, therapist, pattern)
    starts = [a.start_at.astimezone(LONDON) for a in result.booked]
    assert [s.time() for s in starts] == [time(10)] * 4
    utc_hours = [a.start_at.astimezone(ZoneInfo("UTC")).hour for a in result.booked]
    assert utc_hours == [10, 10, 9, 9]  # British Summer Time began on 28 March


def test_cancelling_this_and_following_leaves_the_earlier_sessions(
    session, clinic, therapist, service, patient
):
    result = course(session, clinic, patient, service, therapist, eight_weeks())
    session.expire_all()
    fifth = result.booked[4]
    cancelled = cancel_series(
        session,
        clinic_id=clinic.id,
        appointment_id=fifth.id,
        scope=Scope.FOLLOWING,
        now=NOW,
        actor=STAFF,
        reason="family moving away",
    )
    assert len(cancelled) == 12
    session.expire_all()
    statuses = [reloaded(session, a).status for a in result.booked]
    assert statuses[:4] == [AppointmentStatus.BOOKED] * 4
    assert statuses[4:] == [AppointmentStatus.CANCELLED] * 12
    assert reminders(session) == 8
    assert [n.template_key for n in notices(session)][-1] == "notice_series_cancelled"
    assert notices(session)[-1].variables["count"] == 12


def test_cancelling_one_session_of_a_course_tells_of_that_session(
    session, clinic, therapist, service, patient
):
    result = course(session, clinic, patient, service, therapist, eight_weeks(sessions=4))
    [only] = cancel_series(
        session,
        clinic_id=clinic.id,
        appointment_id=result.booked[1].id,
        scope=Scope.THIS,
        now=NOW,
        actor=STAFF,
    )
    assert only.id == result.booked[1].id
    assert notices(session)[-1].template_key == "notice_cancelled"
    session.expire_all()
    assert [reloaded(session, a).status for a in result.booked].count(
        AppointmentStatus.CANCELLED
    ) == 1


def test_moving_this_and_following_moves_each_by_the_same_step(
    session, clinic, therapist, service, patient, make_patient
):
    result = course(session, clinic, patient, service, therapist, eight_weeks(sessions=8))
    session.expire_all()
    other = make_patient(clinic, name="Kabir")
    # Someone already has the Friday at 4 of the last week.
    blocker = book(
        session, clinic, other, service, ist(NEXT_THU + timedelta(weeks=3, days=1), 16), actor=STAFF
    )
    third = result.booked[2]  # the second Monday
    moved = move_series(
        session,
        clinic_id=clinic.id,
        appointment_id=third.id,
        new_start=ist(NEXT_MON + timedelta(weeks=1, days=1), 16),  # Tuesday at 4
        scope=Scope.FOLLOWING,
        now=NOW,
        actor=STAFF,
    )
    assert len(moved.moved) == 5
    assert [c.start for c in moved.clashes] == [blocker.start_at]
    assert moved.clashes[0].taken is True
    session.expire_all()
    locals_ = [reloaded(session, a).start_at.astimezone(IST) for a in result.booked]
    assert [(d.weekday(), d.hour) for d in locals_[:2]] == [(0, 17), (3, 17)]
    assert [(d.weekday(), d.hour) for d in locals_[2:7]] == [(1, 16), (4, 16)] * 2 + [(1, 16)]
    assert (locals_[7].weekday(), locals_[7].hour) == (3, 17)  # it stayed where it was
    series = session.get(AppointmentSeries, result.series.id)
    assert series.weekdays == [1, 4] and series.local_time == time(16)
    last = notices(session)[-1]
    assert last.template_key == "notice_series_moved_gaps"
    assert last.variables == {"count": 5, "missed": 1}


def test_a_moved_course_keeps_its_reminders_in_step(session, clinic, therapist, service, patient):
    result = course(session, clinic, patient, service, therapist, eight_weeks(sessions=4))
    move_series(
        session,
        clinic_id=clinic.id,
        appointment_id=result.booked[0].id,
        new_start=ist(NEXT_MON, 11),
        scope=Scope.ALL,
        now=NOW,
        actor=STAFF,
    )
    session.expire_all()
    due = session.scalars(
        select(OutboundMessage.due_at).where(
            OutboundMessage.kind == MessageKind.REMINDER,
            OutboundMessage.status == OutboundStatus.QUEUED,
        )
    ).all()
    starts = {reloaded(session, a).start_at for a in result.booked}
    assert {d.hour for d in (s.astimezone(IST) for s in starts)} == {11}
    assert len(due) == 8
    assert {d + timedelta(hours=24) for d in due} | {d + timedelta(hours=2) for d in due} >= starts


def test_a_patient_booking_in_chat_is_told_by_the_chat_not_by_a_notice(
    session, clinic, therapist, service, patient
):
    course(session, clinic, patient, service, therapist, eight_weeks(), actor=patient_of(patient))
    assert notices(session) == []


def test_a_course_started_after_now_skips_nothing_when_first_date_is_today(
    session, clinic, therapist, service, patient
):
    # First date today (Monday, 9:00 now): today's 5 pm is still ahead and is the first.
    result = course(
        session,
        clinic,
        patient,
        service,
        therapist,
        eight_weeks(first=NOW.astimezone(IST).date(), sessions=2),
    )
    assert result.booked[0].start_at == datetime.combine(
        NOW.astimezone(IST).date(), time(17), tzinfo=IST
    )


def test_moving_a_whole_course_onto_its_own_later_days_does_not_clash_with_itself(
    session, clinic, therapist, service, patient
):
    # Mondays and Tuesdays at 5, one day later: each Monday lands on its own Tuesday's time,
    # free only once that Tuesday has moved on to Wednesday.
    result = course(
        session, clinic, patient, service, therapist, eight_weeks(sessions=4, weekdays=(0, 1))
    )
    moved = move_series(
        session,
        clinic_id=clinic.id,
        appointment_id=result.booked[0].id,
        new_start=ist(NEXT_MON + timedelta(days=1), 17),  # Monday → Tuesday, Tuesday → Wednesday
        scope=Scope.ALL,
        now=NOW,
        actor=STAFF,
    )
    assert moved.clashes == []
    assert [a.start_at.astimezone(IST).weekday() for a in moved.moved] == [1, 2, 1, 2]
