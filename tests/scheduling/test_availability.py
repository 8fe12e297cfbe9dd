"""free_slots: weekly hours, minus exceptions, minus bookings, within the clinic's policy.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata. The default therapist works
Mon-Fri 09:00-18:00 and Sat 09:00-13:00 at the clinic's first location; the
default policy is 2 h minimum notice, a 30-day horizon and a 15-minute step.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from models import BookingSource, ExceptionKind, TherapistServiceOverride
from services.audit import Actor
from services.clinics import catalog
from services.clinics import settings as clinics
from services.errors import NotFound
from services.scheduling.appointments import book_appointment, cancel_appointment
from services.scheduling.availability import Slot, free_slots
from tests.conftest import NOW, SYSTEM

IST = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
STAFF = Actor.staff(1)
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, d) for d in range(23, 30))
NEXT_MON = date(2026, 11, 30)


def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=IST)


def slots_on(session, clinic, service, first: date, last: date | None = None, **kwargs):
    kwargs.setdefault("now", NOW)
    return free_slots(
        session,
        clinic_id=clinic.id,
        service_id=service.id,
        start_date=first,
        end_date=last or first,
        **kwargs,
    )


def wall_clock(slots: list[Slot]) -> list[time]:
    return [slot.start.timetz().replace(tzinfo=None) for slot in slots]


def times(*hh_mm: str) -> list[time]:
    return [time.fromisoformat(value) for value in hh_mm]


def every(step: int, first: str, last: str) -> list[time]:
    start = datetime.combine(date.min, time.fromisoformat(first))
    end = datetime.combine(date.min, time.fromisoformat(last))
    out = []
    while start <= end:
        out.append(start.time())
        start += timedelta(minutes=step)
    return out


def by_day(slots: list[Slot]) -> dict[date, list[Slot]]:
    days: dict[date, list[Slot]] = defaultdict(list)
    for slot in slots:
        days[slot.start.date()].append(slot)
    return dict(days)


def book(session, clinic, patient, service, start, therapist=None, now=NOW):
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=start,
        now=now,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
        therapist_id=therapist.id if therapist is not None else None,
    )


def close(session, clinic, day: date, *, therapist=None, start=None, end=None, last=None):
    return catalog.add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.CLOSED,
        start_date=day,
        end_date=last or day,
        therapist_id=therapist.id if therapist is not None else None,
        start=start,
        end=end,
        actor=SYSTEM,
    )


def extra(session, clinic, therapist, day: date, start: time, end: time):
    """Extra hours for ``therapist`` on ``day`` at the clinic's first location."""
    return catalog.add_exception(
        session,
        clinic_id=clinic.id,
        kind=ExceptionKind.EXTRA,
        therapist_id=therapist.id,
        location_id=clinic.locations[0].id,
        start_date=day,
        end_date=day,
        start=start,
        end=end,
        actor=SYSTEM,
    )


# --- weekly hours, duration and step ---------------------------------------------------------


def test_a_working_day_offers_every_step_until_the_session_no_longer_fits(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    therapist = make_therapist(clinic)
    service = make_service(clinic, minutes=45)

    slots = slots_on(session, clinic, service, TUE)

    assert wall_clock(slots) == every(15, "09:00", "17:15")
    assert slots[-1].end == ist(TUE, 18, 0)
    assert all(s.end - s.start == timedelta(minutes=45) for s in slots)
    assert {s.therapist_id for s in slots} == {therapist.id}
    assert {s.location_id for s in slots} == {clinic.locations[0].id}
    assert {s.seats_left for s in slots} == {1}
    assert all(s.start.utcoffset() == timedelta(hours=5, minutes=30) for s in slots)


def test_the_last_slot_ends_exactly_at_closing_time(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    make_therapist(clinic)
    hour = make_service(clinic, name="Hour", minutes=60)
    ninety = make_service(clinic, name="Ninety", minutes=90)

    weekday = slots_on(session, clinic, hour, TUE)
    saturday = slots_on(session, clinic, hour, SAT)
    long_ones = slots_on(session, clinic, ninety, TUE)

    assert weekday[-1].start == ist(TUE, 17) and weekday[-1].end == ist(TUE, 18)
    assert saturday[-1].start == ist(SAT, 12) and saturday[-1].end == ist(SAT, 13)
    assert long_ones[-1].start == ist(TUE, 16, 30) and long_ones[-1].end == ist(TUE, 18)


@pytest.mark.parametrize(
    ("step", "expected_starts"),
    [
        (30, every(30, "09:00", "17:00")),
        (20, every(20, "09:00", "17:00")),
        (60, every(60, "09:00", "17:00")),
    ],
)
def test_the_slot_step_sets_the_spacing_of_start_times(
    session, make_clinic, make_therapist, make_service, step, expected_starts
):
    clinic = make_clinic(slot_step_minutes=step)
    make_therapist(clinic)
    service = make_service(clinic, minutes=60)

    assert wall_clock(slots_on(session, clinic, service, TUE)) == expected_starts


def test_a_day_without_weekly_hours_offers_nothing(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    make_therapist(clinic)
    service = make_service(clinic)

    assert slots_on(session, clinic, service, SUN) == []


def test_only_therapists_of_the_services_specialization_are_offered(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    speech = make_therapist(clinic, name="Dr. Speech", specialization="speech")
    make_therapist(clinic, name="Dr. Motion", specialization="occupational")
    service = make_service(clinic, specialization="speech")

    assert {s.therapist_id for s in slots_on(session, clinic, service, TUE)} == {speech.id}


def test_an_inactive_therapist_is_not_offered(session, make_clinic, make_therapist, make_service):
    clinic = make_clinic()
    therapist = make_therapist(clinic)
    service = make_service(clinic)
    therapist.active = False
    session.commit()

    assert slots_on(session, clinic, service, TUE) == []


def test_an_empty_or_reversed_date_range_offers_nothing(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    make_therapist(clinic)
    service = make_service(clinic)

    assert slots_on(session, clinic, service, WED, TUE) == []
    assert slots_on(session, clinic, service, date(2026, 11, 1), date(2026, 11, 20)) == []


def test_a_naive_now_is_refused(session, make_clinic, make_therapist, make_service):
    clinic = make_clinic()
    make_therapist(clinic)
    service = make_service(clinic)

    with pytest.raises(ValueError, match="timezone-aware"):
        slots_on(session, clinic, service, TUE, now=NOW.replace(tzinfo=None))


def test_an_unknown_service_is_not_found(session, make_clinic):
    clinic = make_clinic()

    with pytest.raises(NotFound) as refused:
        free_slots(
            session,
            clinic_id=clinic.id,
            service_id=987654,
            start_date=TUE,
            end_date=TUE,
            now=NOW,
        )
    assert refused.value.message == "We could not find that service."


# --- policy: minimum notice and horizon -------------------------------------------------------


def test_slots_inside_the_minimum_notice_are_not_offered(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()  # 2 hours' notice
    make_therapist(clinic)
    service = make_service(clinic)

    today = slots_on(session, clinic, service, MON)

    assert today[0].start == ist(MON, 11, 0)  # NOW + 2 h exactly is still bookable
    assert all(s.start >= NOW + timedelta(hours=2) for s in today)


def test_a_longer_minimum_notice_pushes_the_first_slot_later(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic(min_notice_hours=5)
    make_therapist(clinic)
    service = make_service(clinic)

    assert slots_on(session, clinic, service, MON)[0].start == ist(MON, 14, 0)


def test_a_minimum_notice_of_a_day_empties_today_and_starts_tomorrow_at_the_same_time(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic(min_notice_hours=25)
    make_therapist(clinic)
    service = make_service(clinic)

    slots = slots_on(session, clinic, service, MON, TUE)

    assert slots[0].start == ist(TUE, 10, 0)


def test_nothing_is_offered_beyond_the_booking_horizon(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic(booking_horizon_days=8)
    make_therapist(clinic)
    service = make_service(clinic)

    slots = slots_on(session, clinic, service, MON, date(2026, 12, 31))
    days = by_day(slots)

    horizon = NOW + timedelta(days=8)  # Tue 1 Dec, 09:00 IST
    assert all(s.start < horizon for s in slots)
    assert max(days) == NEXT_MON
    assert days[NEXT_MON][-1].start == ist(NEXT_MON, 17, 15)


def test_the_horizon_instant_itself_is_not_bookable(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic(booking_horizon_days=7)  # ends Mon 30 Nov 09:00, the opening time
    make_therapist(clinic)
    service = make_service(clinic)

    days = by_day(slots_on(session, clinic, service, MON, date(2026, 12, 31)))

    assert NEXT_MON not in days
    assert max(days) == SAT


# --- exceptions ---------------------------------------------------------------------------


def test_a_whole_clinic_closed_day_removes_every_therapists_slots(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    make_therapist(clinic, name="Dr. One")
    make_therapist(clinic, name="Dr. Two")
    service = make_service(clinic)
    close(session, clinic, TUE)  # therapist_id None: a holiday

    days = by_day(slots_on(session, clinic, service, MON, THU))

    assert TUE not in days
    assert len({s.therapist_id for s in days[WED]}) == 2
    assert wall_clock(days[WED])[0] == time(9, 0)


def test_a_closure_over_several_days_closes_each_of_them(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    make_therapist(clinic)
    service = make_service(clinic)
    close(session, clinic, WED, last=FRI)

    days = by_day(slots_on(session, clinic, service, TUE, SAT))

    assert sorted(days) == [TUE, SAT]


def test_a_therapists_closed_afternoon_leaves_the_morning_and_colleagues(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    away = make_therapist(clinic, name="Dr. Away")
    colleague = make_therapist(clinic, name="Dr. Here")
    service = make_service(clinic)
    close(session, clinic, WED, therapist=away, start=time(13), end=time(18))

    slots = slots_on(session, clinic, service, WED)
    mine = [s for s in slots if s.therapist_id == away.id]
    theirs = [s for s in slots if s.therapist_id == colleague.id]

    assert wall_clock(mine) == every(15, "09:00", "12:15")
    assert mine[-1].end == ist(WED, 13)
    assert wall_clock(theirs) == every(15, "09:00", "17:15")


def test_a_closed_hour_in_the_middle_of_the_day_splits_it(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    therapist = make_therapist(clinic)
    service = make_service(clinic, minutes=60)
    close(session, clinic, WED, therapist=therapist, start=time(12), end=time(13))

    starts = wall_clock(slots_on(session, clinic, service, WED))

    assert starts == every(15, "09:00", "11:00") + every(15, "13:00", "17:00")


def test_extra_hours_open_a_sunday_for_that_therapist_only(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    keen = make_therapist(clinic, name="Dr. Keen")
    make_therapist(clinic, name="Dr. Resting")
    service = make_service(clinic)
    extra(session, clinic, keen, SUN, time(10), time(12))

    sunday = slots_on(session, clinic, service, SUN)

    assert wall_clock(sunday) == every(15, "10:00", "11:15")
    assert {s.therapist_id for s in sunday} == {keen.id}
    assert sunday[-1].end == ist(SUN, 12)


def test_exceptions_on_other_dates_change_nothing(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    make_therapist(clinic)
    service = make_service(clinic)
    before = slots_on(session, clinic, service, TUE)
    close(session, clinic, date(2026, 12, 25))

    assert slots_on(session, clinic, service, TUE) == before


# --- filters and overrides -------------------------------------------------------------------


def test_the_location_filter_offers_only_hours_at_that_location(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    main = clinic.locations[0]
    therapist = make_therapist(clinic, hours={d: (time(9), time(18)) for d in range(5)})
    branch = clinics.add_location(session, clinic_id=clinic.id, name="Branch", actor=SYSTEM)
    catalog.add_weekly_hours(
        session,
        clinic_id=clinic.id,
        therapist_id=therapist.id,
        location_id=branch.id,
        weekday=5,
        start=time(10),
        end=time(14),
        actor=SYSTEM,
    )
    service = make_service(clinic)

    everywhere = by_day(slots_on(session, clinic, service, TUE, SAT))
    at_branch = slots_on(session, clinic, service, TUE, SAT, location_id=branch.id)
    at_main = slots_on(session, clinic, service, TUE, SAT, location_id=main.id)

    assert sorted(everywhere) == [TUE, WED, THU, FRI, SAT]
    assert {s.location_id for s in everywhere[SAT]} == {branch.id}
    assert {s.start.date() for s in at_branch} == {SAT}
    assert {s.location_id for s in at_branch} == {branch.id}
    assert wall_clock(at_branch) == every(15, "10:00", "13:15")
    assert {s.start.date() for s in at_main} == {TUE, WED, THU, FRI}
    assert {s.location_id for s in at_main} == {main.id}


def test_the_therapist_filter_offers_only_that_therapist(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    make_therapist(clinic, name="Dr. One")
    two = make_therapist(clinic, name="Dr. Two")
    service = make_service(clinic)

    slots = slots_on(session, clinic, service, TUE, therapist_id=two.id)

    assert slots
    assert {s.therapist_id for s in slots} == {two.id}
    assert wall_clock(slots) == every(15, "09:00", "17:15")


def test_a_therapist_of_another_specialization_is_not_found_for_the_service(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    other = make_therapist(clinic, specialization="occupational")
    service = make_service(clinic, specialization="speech")

    with pytest.raises(NotFound):
        slots_on(session, clinic, service, TUE, therapist_id=other.id)


def test_a_therapists_own_duration_shapes_their_slots(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    senior = make_therapist(clinic, name="Dr. Senior")
    junior = make_therapist(clinic, name="Dr. Junior")
    service = make_service(clinic, minutes=45)
    catalog.save_record(
        session,
        TherapistServiceOverride(
            therapist_id=senior.id, service_id=service.id, duration_minutes=60
        ),
        clinic_id=clinic.id,
        actor=SYSTEM,
        before=None,
    )

    slots = slots_on(session, clinic, service, TUE)
    seniors = [s for s in slots if s.therapist_id == senior.id]
    juniors = [s for s in slots if s.therapist_id == junior.id]

    assert all(s.end - s.start == timedelta(minutes=60) for s in seniors)
    assert seniors[-1].start == ist(TUE, 17, 0)
    assert all(s.end - s.start == timedelta(minutes=45) for s in juniors)
    assert juniors[-1].start == ist(TUE, 17, 15)


def test_a_price_only_override_keeps_the_services_duration(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic()
    therapist = make_therapist(clinic)
    service = make_service(clinic, minutes=45)
    catalog.save_record(
        session,
        TherapistServiceOverride(therapist_id=therapist.id, service_id=service.id, price_minor=1),
        clinic_id=clinic.id,
        actor=SYSTEM,
        before=None,
    )

    slots = slots_on(session, clinic, service, TUE)

    assert all(s.end - s.start == timedelta(minutes=45) for s in slots)


# --- bookings --------------------------------------------------------------------------------


def test_a_booking_removes_every_slot_that_overlaps_it(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    make_therapist(clinic)
    service = make_service(clinic, minutes=45)
    patient = make_patient(clinic)
    before = wall_clock(slots_on(session, clinic, service, TUE))

    book(session, clinic, patient, service, ist(TUE, 11))
    after = wall_clock(slots_on(session, clinic, service, TUE))

    assert sorted(set(before) - set(after)) == times("10:30", "10:45", "11:00", "11:15", "11:30")
    assert time(10, 15) in after  # ends as ours begins
    assert time(11, 45) in after  # begins as ours ends
    assert set(after) < set(before)


def test_a_booking_with_one_therapist_leaves_the_colleague_free(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    one = make_therapist(clinic, name="Dr. One")
    two = make_therapist(clinic, name="Dr. Two")
    service = make_service(clinic)
    patient = make_patient(clinic)

    book(session, clinic, patient, service, ist(TUE, 11), therapist=one)
    at_eleven = [s for s in slots_on(session, clinic, service, TUE) if s.start == ist(TUE, 11)]

    assert [s.therapist_id for s in at_eleven] == [two.id]


def test_a_booking_of_another_service_blocks_the_same_therapist(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    make_therapist(clinic)
    assessment = make_service(clinic, name="Assessment", minutes=90)
    session_ = make_service(clinic, name="Session", minutes=30)
    patient = make_patient(clinic)

    book(session, clinic, patient, assessment, ist(TUE, 10))
    starts = wall_clock(slots_on(session, clinic, session_, TUE))

    assert not [t for t in starts if time(9, 45) < t < time(11, 30)]
    assert time(9, 30) in starts and time(11, 30) in starts


def test_a_cancelled_appointment_frees_its_slots_again(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    make_therapist(clinic)
    service = make_service(clinic)
    patient = make_patient(clinic)
    before = slots_on(session, clinic, service, TUE)
    appointment = book(session, clinic, patient, service, ist(TUE, 11))
    assert slots_on(session, clinic, service, TUE) != before

    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=STAFF
    )

    assert slots_on(session, clinic, service, TUE) == before


def test_a_group_session_offers_seats_until_it_is_full(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    make_therapist(clinic)
    group = make_service(clinic, name="Social Skills Group", minutes=60, capacity=3)
    start = ist(TUE, 11)

    def seats_at_eleven() -> int | None:
        found = [s for s in slots_on(session, clinic, group, TUE) if s.start == start]
        return found[0].seats_left if found else None

    assert seats_at_eleven() == 3
    for n, name in enumerate(["Aarav", "Diya", "Kabir"], start=1):
        book(session, clinic, make_patient(clinic, name=name), group, start)
        assert seats_at_eleven() == (3 - n or None)

    starts = wall_clock(slots_on(session, clinic, group, TUE))
    assert time(11) not in starts
    assert not [t for t in starts if time(10) < t < time(12)]  # other starts would overlap it


def test_a_partly_booked_group_does_not_offer_overlapping_starts(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    make_therapist(clinic)
    group = make_service(clinic, name="Group", minutes=60, capacity=3)
    book(session, clinic, make_patient(clinic), group, ist(TUE, 11))

    slots = {s.start: s for s in slots_on(session, clinic, group, TUE)}

    assert slots[ist(TUE, 11)].seats_left == 2
    assert ist(TUE, 11, 15) not in slots and ist(TUE, 10, 45) not in slots
    assert slots[ist(TUE, 10)].seats_left == 3
    assert slots[ist(TUE, 12)].seats_left == 3


def test_a_group_slot_is_not_offered_over_an_individual_session_of_the_same_therapist(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    make_therapist(clinic)
    individual = make_service(clinic, name="Individual", minutes=45)
    group = make_service(clinic, name="Group", minutes=60, capacity=3)
    book(session, clinic, make_patient(clinic), individual, ist(TUE, 11))

    starts = wall_clock(slots_on(session, clinic, group, TUE))

    assert not [t for t in starts if time(10) < t < time(11, 45)]
    assert time(10) in starts and time(11, 45) in starts


def test_an_individual_slot_is_not_offered_over_a_group_session_of_the_same_therapist(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    make_therapist(clinic)
    individual = make_service(clinic, name="Individual", minutes=45)
    group = make_service(clinic, name="Group", minutes=60, capacity=3)
    book(session, clinic, make_patient(clinic), group, ist(TUE, 11))

    starts = wall_clock(slots_on(session, clinic, individual, TUE))

    assert not [t for t in starts if time(10, 15) < t < time(12)]
    assert time(10, 15) in starts and time(12) in starts


def test_two_group_services_of_one_therapist_do_not_share_seats(
    session, make_clinic, make_therapist, make_service, make_patient
):
    clinic = make_clinic()
    make_therapist(clinic)
    group_a = make_service(clinic, name="Group A", minutes=60, capacity=3)
    group_b = make_service(clinic, name="Group B", minutes=60, capacity=3)
    book(session, clinic, make_patient(clinic), group_a, ist(TUE, 11))

    assert ist(TUE, 11) not in {s.start for s in slots_on(session, clinic, group_b, TUE)}


# --- daylight saving time --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "first", "last", "change_day", "offsets", "gap"),
    [
        pytest.param(
            datetime(2026, 3, 20, 12, tzinfo=UTC),
            date(2026, 3, 23),
            date(2026, 4, 3),
            date(2026, 3, 29),  # clocks go forward at 01:00 UTC
            (timedelta(0), timedelta(hours=1)),
            timedelta(hours=23),
            id="spring-forward",
        ),
        pytest.param(
            datetime(2026, 10, 16, 12, tzinfo=UTC),
            date(2026, 10, 19),
            date(2026, 10, 30),
            date(2026, 10, 25),  # clocks go back at 01:00 UTC
            (timedelta(hours=1), timedelta(0)),
            timedelta(hours=25),
            id="fall-back",
        ),
    ],
)
def test_slots_keep_their_wall_clock_time_across_a_dst_change(
    session, make_clinic, make_therapist, make_service, now, first, last, change_day, offsets, gap
):
    clinic = make_clinic(timezone="Europe/London", region="GB", booking_horizon_days=60)
    make_therapist(clinic, hours={d: (time(9), time(17)) for d in range(7)})
    service = make_service(clinic, minutes=60)

    days = by_day(slots_on(session, clinic, service, first, last, now=now))

    assert sorted(days) == [first + timedelta(days=n) for n in range((last - first).days + 1)]
    for day, slots in days.items():
        assert wall_clock(slots) == every(15, "09:00", "16:00"), day
        assert slots[-1].end == datetime.combine(day, time(17), tzinfo=LONDON)
        expected = offsets[0] if day < change_day else offsets[1]
        assert {s.start.utcoffset() for s in slots} == {expected}, day
        assert all(
            s.end.astimezone(UTC) - s.start.astimezone(UTC) == timedelta(hours=1) for s in slots
        )
    firsts = sorted(slots[0].start.astimezone(UTC) for slots in days.values())
    for earlier, later in pairwise(firsts):
        expected = gap if later.date() == change_day else timedelta(hours=24)
        assert later - earlier == expected, (earlier, later)


@pytest.mark.parametrize(
    ("now", "friday", "monday", "gap"),
    [
        (datetime(2026, 3, 20, 12, tzinfo=UTC), date(2026, 3, 27), date(2026, 3, 30), 71),
        (datetime(2026, 10, 16, 12, tzinfo=UTC), date(2026, 10, 23), date(2026, 10, 26), 73),
    ],
)
def test_weekday_slots_open_at_nine_local_on_both_sides_of_a_dst_weekend(
    session, make_clinic, make_therapist, make_service, now, friday, monday, gap
):
    clinic = make_clinic(timezone="Europe/London", region="GB", booking_horizon_days=60)
    make_therapist(clinic, hours={d: (time(9), time(17)) for d in range(5)})
    service = make_service(clinic, minutes=45)

    days = by_day(slots_on(session, clinic, service, friday, monday, now=now))

    assert sorted(days) == [friday, monday]
    assert days[friday][0].start == datetime.combine(friday, time(9), tzinfo=LONDON)
    assert days[monday][0].start == datetime.combine(monday, time(9), tzinfo=LONDON)
    utc_gap = days[monday][0].start.astimezone(UTC) - days[friday][0].start.astimezone(UTC)
    assert utc_gap == timedelta(hours=gap)


def test_wall_clock_times_skipped_by_the_spring_change_are_never_offered(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic(timezone="Europe/London", region="GB", booking_horizon_days=60)
    therapist = make_therapist(clinic, hours={})
    service = make_service(clinic, minutes=45)
    sunday = date(2026, 3, 29)
    extra(session, clinic, therapist, sunday, time(0), time(4))

    slots = slots_on(session, clinic, service, sunday, now=datetime(2026, 3, 20, tzinfo=UTC))

    # 01:00-01:59 does not exist that night; the window is 3 real hours long.
    assert wall_clock(slots) == every(15, "00:00", "00:45") + every(15, "02:00", "03:15")
    utc_starts = [s.start.astimezone(UTC) for s in slots]
    assert utc_starts == [
        datetime(2026, 3, 29, 0, tzinfo=UTC) + timedelta(minutes=15 * n) for n in range(10)
    ]
    assert all(
        s.end.astimezone(UTC) - s.start.astimezone(UTC) == timedelta(minutes=45) for s in slots
    )


def test_a_window_ending_inside_the_spring_gap_closes_at_the_change(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic(timezone="Europe/London", region="GB", booking_horizon_days=60)
    therapist = make_therapist(clinic, hours={})
    service = make_service(clinic, minutes=30)
    sunday = date(2026, 3, 29)
    # 01:30 never happens that night: the clocks jump from 01:00 GMT to 02:00 BST.
    extra(session, clinic, therapist, sunday, time(0), time(1, 30))

    slots = slots_on(session, clinic, service, sunday, now=datetime(2026, 3, 20, tzinfo=UTC))

    assert wall_clock(slots) == every(15, "00:00", "00:30")
    assert slots[-1].end == datetime(2026, 3, 29, 2, tzinfo=LONDON)


def test_minimum_notice_counts_real_hours_when_now_is_given_in_the_clinics_zone(
    session, make_clinic, make_therapist, make_service
):
    clinic = make_clinic(timezone="Europe/London", region="GB", booking_horizon_days=60)
    therapist = make_therapist(clinic, hours={})
    service = make_service(clinic, minutes=30)
    sunday = date(2026, 3, 29)
    extra(session, clinic, therapist, sunday, time(0), time(6))
    now = datetime(2026, 3, 28, 23, 30, tzinfo=LONDON)  # 23:30 GMT; 2 h later is 02:30 BST

    slots = slots_on(session, clinic, service, sunday, now=now)

    assert slots[0].start == datetime(2026, 3, 29, 2, 30, tzinfo=LONDON)
    assert all(s.start.astimezone(UTC) - now.astimezone(UTC) >= timedelta(hours=2) for s in slots)


# --- cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [14, 90])
def test_free_slots_issues_at_most_three_sql_statements_whatever_the_range(
    db, session, make_clinic, make_therapist, make_service, make_patient, days
):
    clinic = make_clinic(booking_horizon_days=120)
    therapists = [make_therapist(clinic, name=f"Dr. {n}") for n in "ABC"]
    service = make_service(clinic)
    patient = make_patient(clinic)
    book(session, clinic, patient, service, ist(TUE, 11), therapist=therapists[0])
    close(session, clinic, WED)
    close(session, clinic, THU, therapist=therapists[1], start=time(13), end=time(18))
    session.commit()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        slots = slots_on(session, clinic, service, MON, MON + timedelta(days=days - 1))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert 0 < len(statements) <= 3, statements
    assert max(s.start for s in slots).date() > MON + timedelta(days=days - 8)
