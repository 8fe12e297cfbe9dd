"""What the "when" question offers and reads, without a database."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.free_times import Wanted, read_wanted, same_weekly_time, spread, spread_settled
from services.scheduling.availability import Slot

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 23, 9, tzinfo=IST)  # a Monday
MON = date(2026, 11, 23)


def slots(days: int, first: time = time(9), last: time = time(17, 15)) -> list[Slot]:
    """Every quarter hour of 45-minute sessions for ``days`` days from Monday."""
    found = []
    for d in range(days):
        start = datetime.combine(MON + timedelta(days=d), first, tzinfo=IST)
        end = datetime.combine(MON + timedelta(days=d), last, tzinfo=IST)
        while start <= end:
            found.append(Slot(start, start + timedelta(minutes=45), 1, 1))
            start += timedelta(minutes=15)
    return found


def clock(slot: Slot) -> str:
    return f"{slot.start:%a %H:%M}"


def test_the_offer_spreads_over_parts_of_the_day_and_days():
    assert [clock(s) for s in spread(slots(5))] == [
        "Mon 09:00",
        "Mon 12:00",
        "Mon 16:00",
        "Tue 09:00",
        "Tue 12:00",
        "Tue 16:00",
    ]


def test_one_day_is_spread_across_it_an_hour_apart():
    assert [clock(s) for s in spread(slots(1))] == [
        "Mon 09:00",
        "Mon 10:00",
        "Mon 12:00",
        "Mon 13:00",
        "Mon 16:00",
        "Mon 17:00",
    ]


def test_one_part_of_the_day_fills_the_offer_on_distinct_days():
    evening = [s for s in slots(7) if s.start.hour >= 16]
    assert [clock(s) for s in spread(evening)] == [
        "Mon 16:00",
        "Tue 16:00",
        "Wed 16:00",
        "Thu 16:00",
        "Fri 16:00",
        "Sat 16:00",
    ]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("after 4", Wanted(after=time(16))),
        ("tomorrow after 4", Wanted(day=date(2026, 11, 24), after=time(16))),
        ("4 baje ke baad", Wanted(after=time(16))),
        ("before noon", Wanted(before=time(12))),
        ("11 se pehle", Wanted(before=time(11))),
        ("asap", Wanted(earliest=True)),
        ("jald se jald", Wanted(earliest=True)),
        ("tomorrow evening", Wanted(day=date(2026, 11, 24), part="evening")),
        ("kal 5pm", Wanted(day=date(2026, 11, 24), at=time(17))),
        ("wed", Wanted(day=date(2026, 11, 25))),
    ],
)
def test_typed_days_times_and_windows_are_read(text, wanted):
    assert read_wanted(text, NOW, "DMY") == wanted


@pytest.mark.parametrize("text", ["banana", "what is the fee", "😀"])
def test_other_text_is_not_a_time(text):
    assert read_wanted(text, NOW, "DMY") is None


def test_a_later_time_keeps_the_day_and_a_new_day_or_asap_replaces_it():
    tomorrow = Wanted(day=date(2026, 11, 24))
    assert tomorrow.merged(Wanted(part="evening")) == Wanted(day=tomorrow.day, part="evening")
    assert tomorrow.merged(Wanted(day=MON)) == Wanted(day=MON)
    assert tomorrow.merged(Wanted(earliest=True)) == Wanted(earliest=True)
    assert Wanted.from_data(tomorrow.to_data()) == tomorrow


def test_same_as_last_time_takes_that_weekday_and_time_or_the_nearest():
    free = slots(14)
    assert clock(same_weekly_time(free, 1, time(17))) == "Tue 17:00"
    taken = [s for s in free if not (s.start.weekday() == 1 and s.start.hour == 17)]
    assert clock(same_weekly_time(taken, 1, time(17))) == "Tue 16:45"


def test_a_settled_spread_is_what_every_later_day_would_give():
    """The "when" question computes the first week first and stops there when
    ``spread_settled`` says later days cannot change the offer: then they do not."""
    rng = random.Random(13)
    settled = 0
    for _ in range(300):
        free = [s for s in slots(21) if rng.random() < rng.choice((0.003, 0.01, 0.03, 0.3))]
        week = [s for s in free if s.start.date() < MON + timedelta(days=7)]
        if spread_settled(week):
            settled += 1
            assert spread(week) == spread(free)
    assert 0 < settled < 300  # both answers were seen


def test_a_part_free_on_too_few_days_is_not_settled():
    evening_once = [s for s in slots(7) if s.start.hour < 16 or s.start.date() == MON]
    assert not spread_settled(evening_once)
    assert spread_settled(slots(2))
    assert not spread_settled(slots(1))
