"""The clinic wall clock ⇄ instants, on a zone with DST (London) and one without (India)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from core import clinic_time

LONDON = ZoneInfo("Europe/London")
INDIA = "Asia/Kolkata"


def wall_clock(*parts: int) -> datetime:
    """A naive clinic wall-clock time, as a form's datetime-local input gives it."""
    return datetime(*parts)  # noqa: DTZ001


@pytest.mark.parametrize("zone", ["Europe/London", LONDON])
def test_a_wall_clock_time_in_the_spring_gap_moves_to_the_first_real_instant(zone) -> None:
    # 29 Mar 2026: at 01:00 GMT London's clocks jump to 02:00 BST; 01:30 never happens.
    wall = wall_clock(2026, 3, 29, 1, 30)

    assert not clinic_time.exists(wall, zone)
    assert clinic_time.from_wall(wall, zone) == datetime(2026, 3, 29, 2, tzinfo=LONDON)
    assert clinic_time.from_wall(wall, zone).utcoffset().total_seconds() == 3600
    assert clinic_time.to_utc(wall, zone) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert clinic_time.to_utc(wall_clock(2026, 3, 29, 1, 0, 59, 9), zone) == datetime(
        2026, 3, 29, 1, tzinfo=UTC
    )


def test_the_times_either_side_of_the_gap_are_themselves() -> None:
    before, after = wall_clock(2026, 3, 29, 0, 59), wall_clock(2026, 3, 29, 2)

    assert clinic_time.exists(before, LONDON) and clinic_time.exists(after, LONDON)
    assert clinic_time.to_utc(before, LONDON) == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert clinic_time.to_utc(after, LONDON) == datetime(2026, 3, 29, 1, tzinfo=UTC)


def test_a_wall_clock_time_that_happens_twice_reads_as_its_first_occurrence() -> None:
    # 25 Oct 2026: at 02:00 BST London's clocks go back to 01:00 GMT; 01:30 happens twice.
    wall = wall_clock(2026, 10, 25, 1, 30)

    assert clinic_time.exists(wall, LONDON)
    assert clinic_time.to_utc(wall, LONDON) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert clinic_time.from_wall(wall, LONDON).utcoffset().total_seconds() == 3600
    # Both instants read back as the same wall clock.
    for instant in (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ):
        assert clinic_time.to_wall(instant, LONDON) == wall


def test_india_has_one_offset_all_year() -> None:
    for month in (1, 3, 7, 10):
        wall = wall_clock(2026, month, 25, 10, 0)
        assert clinic_time.exists(wall, INDIA)
        assert clinic_time.to_utc(wall, INDIA) == datetime(2026, month, 25, 4, 30, tzinfo=UTC)
        assert clinic_time.to_wall(clinic_time.to_utc(wall, INDIA), INDIA) == wall
    assert clinic_time.local_midnight(date(2026, 11, 24), INDIA) == datetime(
        2026, 11, 23, 18, 30, tzinfo=UTC
    )


def test_to_wall_is_naive_clinic_time() -> None:
    instant = datetime(2026, 7, 1, 8, 15, tzinfo=UTC)

    assert clinic_time.to_wall(instant, LONDON) == wall_clock(2026, 7, 1, 9, 15)
    assert clinic_time.to_wall(instant, LONDON).tzinfo is None


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 29), datetime(2026, 3, 29, 0, tzinfo=UTC)),  # spring-forward day
        (date(2026, 3, 30), datetime(2026, 3, 29, 23, tzinfo=UTC)),
        (date(2026, 10, 25), datetime(2026, 10, 24, 23, tzinfo=UTC)),  # fall-back day
        (date(2026, 10, 26), datetime(2026, 10, 26, 0, tzinfo=UTC)),
    ],
)
def test_local_midnight_is_the_instant_the_clinic_day_begins(day, expected) -> None:
    assert clinic_time.local_midnight(day, LONDON) == expected


def test_a_midnight_skipped_by_dst_begins_the_day_at_the_first_real_instant() -> None:
    # 6 Sep 2026: Santiago's clocks jump from 00:00 to 01:00 (-04:00 → -03:00).
    assert clinic_time.local_midnight(date(2026, 9, 6), "America/Santiago") == datetime(
        2026, 9, 6, 4, tzinfo=UTC
    )


def test_at_reads_time_max_as_the_next_midnight() -> None:
    assert clinic_time.at(date(2026, 3, 28), time.max, LONDON) == datetime(
        2026, 3, 29, 0, tzinfo=LONDON
    )
    assert clinic_time.at(date(2026, 3, 29), time(1, 30), LONDON) == datetime(
        2026, 3, 29, 2, tzinfo=LONDON
    )
