"""Adherence to a home exercise assignment, per ISO week, from the guardians' replies: an
assignment in memory and its replies alone (``services.clinical.exercise_adherence``).

The days are around Monday 23 November 2026 in Kolkata.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import ExerciseAssignment, ExerciseOutcome, ExerciseReply
from services.clinical.exercise_adherence import expected_days, weekly_adherence
from tests.conftest import NOW

KOLKATA = ZoneInfo("Asia/Kolkata")
TODAY = date(2026, 11, 23)  # a Monday


def plan(weekdays=(0, 2, 4), starts_on=TODAY, ends_on=None, stopped_at=None, repetitions=3):
    """An assignment in memory: adherence is read from it and its replies alone."""
    return ExerciseAssignment(
        id=1,
        weekdays=list(weekdays),
        repetitions=repetitions,
        nudge_time=time(18, 0),
        starts_on=starts_on,
        ends_on=ends_on or starts_on + timedelta(days=27),
        stopped_at=stopped_at,
    )


def reply(day, outcome, done=None):
    return ExerciseReply(assignment_id=1, day=day, outcome=outcome, done_count=done)


def at_kolkata(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), KOLKATA)


def test_a_day_counts_once_its_nudge_is_due():
    monday = plan()
    assert expected_days(monday, KOLKATA, at_kolkata(TODAY, 17, 59)) == []
    assert expected_days(monday, KOLKATA, at_kolkata(TODAY, 18, 0)) == [TODAY]
    # An early answer counts its day before the nudge.
    assert expected_days(monday, KOLKATA, at_kolkata(TODAY, 9), [TODAY]) == [TODAY]


def test_weeks_run_monday_to_sunday_with_each_outcome_and_a_partial():
    mon, wed, fri = TODAY, TODAY + timedelta(days=2), TODAY + timedelta(days=4)
    next_mon, next_wed = TODAY + timedelta(days=7), TODAY + timedelta(days=9)
    replies = [
        reply(mon, ExerciseOutcome.DONE, 3),
        reply(wed, ExerciseOutcome.PARTIAL, 2),
        reply(fri, ExerciseOutcome.SKIPPED),
        reply(next_mon, ExerciseOutcome.MEDIA),
        reply(next_wed, ExerciseOutcome.PARTIAL, 5),  # more than asked: counts as 1
    ]
    # Sunday night of the first week, then Wednesday night of the next.
    [first] = weekly_adherence(plan(), replies, KOLKATA, at_kolkata(TODAY + timedelta(days=6), 23))
    assert (first.week_start, first.expected, first.done, first.partial, first.skipped) == (
        mon,
        3,
        1,
        1,
        1,
    )
    assert first.score == pytest.approx(1 + 2 / 3) and first.percent == 56
    weeks = weekly_adherence(plan(), replies, KOLKATA, at_kolkata(next_wed, 20))
    assert [(w.week_start, w.expected, w.media, w.partial, w.no_answer) for w in weeks] == [
        (mon, 3, 0, 1, 0),
        (next_mon, 2, 1, 1, 0),
    ]
    assert weeks[1].percent == 50


def test_no_answer_counts_and_a_week_starting_midweek_has_its_own_days():
    thursday = TODAY + timedelta(days=3)
    weeks = weekly_adherence(
        plan(starts_on=thursday), [], KOLKATA, at_kolkata(thursday + timedelta(days=7), 19)
    )
    # Fri 27 Nov; then Mon 30 Nov, Wed 2 Dec and Fri 4 Dec (Thursday's 18:00 came).
    assert [(w.week_start, w.expected, w.no_answer, w.percent) for w in weeks] == [
        (TODAY, 1, 1, 0),
        (TODAY + timedelta(days=7), 2, 2, 0),
    ]


def test_the_end_date_closes_the_count():
    weeks = weekly_adherence(
        plan(ends_on=TODAY + timedelta(days=8)),  # to Tuesday of the next week
        [],
        KOLKATA,
        at_kolkata(TODAY + timedelta(days=30), 12),
    )
    assert [(w.week_start, w.expected) for w in weeks] == [
        (TODAY, 3),
        (TODAY + timedelta(days=7), 1),
    ]


def test_a_stop_mid_week_ends_the_count_at_the_stop():
    wed = TODAY + timedelta(days=2)
    before_nudge = plan(stopped_at=at_kolkata(wed, 12))
    after_nudge = plan(stopped_at=at_kolkata(wed, 18, 30))
    later = at_kolkata(TODAY + timedelta(days=20), 12)
    assert [w.expected for w in weekly_adherence(before_nudge, [], KOLKATA, later)] == [1]
    assert [w.expected for w in weekly_adherence(after_nudge, [], KOLKATA, later)] == [2]
    # A reply after the stop is not counted for a later day.
    late = [reply(TODAY + timedelta(days=4), ExerciseOutcome.DONE, 3)]
    assert [w.done for w in weekly_adherence(before_nudge, late, KOLKATA, later)] == [0]


def test_a_future_assignment_has_no_weeks_yet():
    assert weekly_adherence(plan(starts_on=TODAY + timedelta(days=3)), [], KOLKATA, NOW) == []
