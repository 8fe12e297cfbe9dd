"""flows.parsing: what a patient types when the bot asks for a day or a time.

Most expectations are checked at the same clinic-local "now" in two zones (Asia/Kolkata and
Europe/London): the answers are clinic-local, so they must not depend on the zone.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time as clock
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import parsing
from flows.parsing import (
    PART_OF_DAY_WINDOWS,
    When,
    date_order_for,
    parse_date_of_birth,
    parse_when,
)
from flows.understanding import yes_or_no

ZONES = ("Asia/Kolkata", "Europe/London")


def _now(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


def d(day: int, month: int = 11, year: int = 2026) -> date:
    return date(year, month, day)


def t(hour: int, minute: int = 0) -> time:
    return time(hour, minute)


def _id(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# now: Saturday 21 Nov 2026, 10:00 clinic time.
SATURDAY = (2026, 11, 21, 10, 0)
CASES: list[tuple[str, When | None]] = [
    # days
    ("today", When(d(21))),
    ("Today!", When(d(21))),
    ("tonight", When(d(21), part="evening")),
    ("tomorrow", When(d(22))),
    ("  TOMORROW  ", When(d(22))),
    ("tmrw", When(d(22))),
    ("tmr", When(d(22))),
    ("2moro", When(d(22))),
    ("day after tomorrow", When(d(23))),
    ("day-after-tomorrow", When(d(23))),
    ("in 3 days", When(d(24))),
    ("in 2 weeks", When(d(5, 12))),
    # weekdays: the next occurrence counting today; "next" adds a week
    ("monday", When(d(23))),
    ("mon", When(d(23))),
    ("Mon.", When(d(23))),
    ("next mon", When(d(30))),
    ("next monday", When(d(30))),
    ("this friday", When(d(27))),
    ("coming fri", When(d(27))),
    ("saturday", When(d(21))),
    ("next sat", When(d(28))),
    ("sun", When(d(22))),
    ("Mon 23 Nov", When(d(23))),
    ("Mon 24 Nov", None),  # 24 Nov is a Tuesday: which one was meant?
    # dates
    ("25 Nov", When(d(25))),
    ("Nov 25", When(d(25))),
    ("25 november", When(d(25))),
    ("25th of November, 2026", When(d(25))),
    ("november 25th", When(d(25))),
    ("25/11", When(d(25))),
    ("25-11", When(d(25))),
    ("25.11", When(d(25))),
    ("25/11/2026", When(d(25))),
    ("25/11/26", When(d(25))),
    ("2026-11-25", When(d(25))),
    ("25th", When(d(25))),
    ("the 25th", When(d(25))),
    ("21st", When(d(21))),  # today counts
    ("20th", When(d(20, 12))),  # already past this month
    ("5 Jan", When(d(5, 1, 2027))),  # rolls to next year
    ("05/09", When(d(5, 9, 2027))),
    ("10.11", When(d(10, 11, 2027))),
    ("25/11/2020", When(d(25, 11, 2020))),  # explicit year: returned although past
    ("29 feb", When(d(29, 2, 2028))),
    ("31 feb", None),
    ("32/11", None),
    # times
    ("5pm", When(None, t(17))),
    ("5 pm", When(None, t(17))),
    ("5 P.M.", When(None, t(17))),
    ("17:30", When(None, t(17, 30))),
    ("5.30 pm", When(None, t(17, 30))),
    ("5:30", When(None, t(17, 30))),
    ("5.30", When(None, t(17, 30))),
    ("9:15", When(None, t(9, 15))),
    ("07:30", When(None, t(7, 30))),  # zero-padded: the 24-hour clock
    ("12:30 am", When(None, t(0, 30))),
    ("noon", When(None, t(12))),
    ("12 noon", When(None, t(12))),
    ("at 5", When(None, t(17))),
    ("at 11", When(None, t(11))),
    ("5 baje", When(None, t(17))),
    ("5 o'clock", When(None, t(17))),
    ("half past 5", When(None, t(17, 30))),
    ("quarter to 5", When(None, t(16, 45))),
    ("saade 5", When(None, t(17, 30))),
    ("paune 5 baje", When(None, t(16, 45))),
    ("13pm", None),
    ("13:75", None),
    # parts of the day
    ("morning", When(None, part="morning")),
    ("in the evening", When(None, part="evening")),
    ("afternoon", When(None, part="afternoon")),
    ("this evening", When(d(21), part="evening")),
    ("subah", When(None, part="morning")),
    ("dopahar", When(None, part="afternoon")),
    ("shaam", When(None, part="evening")),
    ("raat", When(None, part="evening")),
    # combinations
    ("tomorrow 5pm", When(d(22), t(17))),
    ("Tomorrow, 5 P.M.!!", When(d(22), t(17))),
    ("tmrw5pm", When(d(22), t(17))),
    ("tomorrow 5", When(d(22), t(17))),
    ("tomorrow at five", When(d(22), t(17))),
    ("tomorrow morning", When(d(22), part="morning")),
    ("tonight 8", When(d(21), t(20), "evening")),
    ("mon 17:30", When(d(23), t(17, 30))),
    ("monday 10am", When(d(23), t(10))),
    ("25 nov at 4:45 pm", When(d(25), t(16, 45))),
    ("Nov 25 2026, 4:45pm", When(d(25), t(16, 45))),
    ("3rd of december at 5", When(d(3, 12), t(17))),
    ("2:30 pm on the 3rd", When(d(3, 12), t(14, 30))),
    ("kal 10.30", When(d(22), t(10, 30))),
    ("5 in the evening", When(None, t(17), "evening")),
    # Hinglish and Devanagari
    ("kal", When(d(22))),
    ("kal shaam", When(d(22), part="evening")),
    ("kal 5 baje", When(d(22), t(17))),
    ("kal subah 9 baje", When(d(22), t(9), "morning")),
    ("aaj", When(d(21))),
    ("aaj raat 8 baje", When(d(21), t(20), "evening")),
    ("parso", When(d(23))),
    ("parso dopahar 2 baje", When(d(23), t(14), "afternoon")),
    ("agle somvar", When(d(30))),
    ("3 din baad", When(d(24))),
    ("आज", When(d(21))),
    ("कल", When(d(22))),
    ("परसों", When(d(23))),
    ("कल शाम 5 बजे", When(d(22), t(17), "evening")),
    ("सोमवार", When(d(23))),
    ("२५ नवंबर", When(d(25))),
    # chat around the day
    ("tomorrow is fine", When(d(22))),
    ("I can come on monday at 5", When(d(23), t(17))),
    ("kal shaam chalega", When(d(22), part="evening")),
    ("not tomorrow", None),
    ("can't do tomorrow", None),
    ("kal nahi", None),
    # not a day or a time
    ("", None),
    ("   ", None),
    ("asdf", None),
    ("hi", None),
    ("menu", None),
    ("yes please", None),
    ("1", None),
    ("2", None),
    ("5", None),  # menu digits are never times on their own
    ("9", None),
    ("25", None),
    ("0", None),
    ("5 6", None),
    ("the 5", None),
    ("🙂", None),
    ("👍🏽🙏", None),
    ("\x00\x01\x1b[2J\x7f", None),
    ("'; DROP TABLE appointments; --", None),
    ("1 OR 1=1", None),
    ("<script>alert(1)</script>", None),
    ("9876543210", None),
    ("1700000000", None),
    ("1-2 pm", None),
    ("kal parso", None),
    ("tomorrow " + "x" * 60, None),
    ("x" * 10_000, None),
    ("5" * 10_000, None),
    ("next week", None),
    ("december", None),
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("text", "expected"), CASES, ids=_id)
def test_parse_when(zone: str, text: str, expected: When | None) -> None:
    assert parse_when(text, _now(zone, *SATURDAY)) == expected


# now: Monday 23 Nov 2026, 09:00.
MONDAY_CASES: list[tuple[str, When | None]] = [
    ("monday", When(d(23))),
    ("mon", When(d(23))),
    ("this monday", When(d(23))),
    ("next monday", When(d(30))),
    ("tuesday", When(d(24))),
    ("next tue", When(d(1, 12))),
    ("sunday", When(d(29))),
    ("kal", When(d(24))),
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("text", "expected"), MONDAY_CASES, ids=_id)
def test_weekdays_on_a_monday(zone: str, text: str, expected: When | None) -> None:
    assert parse_when(text, _now(zone, 2026, 11, 23, 9, 0)) == expected


# now: Wednesday 30 Dec 2026, 18:00.
YEAR_END_CASES: list[tuple[str, When | None]] = [
    ("tomorrow", When(d(31, 12))),
    ("parso", When(d(1, 1, 2027))),
    ("5 jan", When(d(5, 1, 2027))),
    ("jan 5 at 10", When(d(5, 1, 2027), t(10))),
    ("2/1", When(d(2, 1, 2027))),
    ("1st", When(d(1, 1, 2027))),
    ("30th", When(d(30, 12))),
    ("29th", When(d(29, 1, 2027))),
    ("31 dec", When(d(31, 12))),
    ("25/12", When(d(25, 12, 2027))),
    ("fri", When(d(1, 1, 2027))),
    ("next fri", When(d(8, 1, 2027))),
    ("in 3 days", When(d(2, 1, 2027))),
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("text", "expected"), YEAR_END_CASES, ids=_id)
def test_year_end_rollover(zone: str, text: str, expected: When | None) -> None:
    assert parse_when(text, _now(zone, 2026, 12, 30, 18, 0)) == expected


MDY_CASES: list[tuple[str, When | None]] = [
    ("05/09", When(d(9, 5, 2027))),
    ("11/25", When(d(25))),
    ("25/11", When(d(25))),  # only one reading is a date
    ("12/01/2027", When(d(1, 12, 2027))),
    ("11-25 at 5pm", When(d(25), t(17))),
    ("Nov 25", When(d(25))),
    ("25 nov", When(d(25))),
    ("tomorrow 5pm", When(d(22), t(17))),
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("text", "expected"), MDY_CASES, ids=_id)
def test_month_first_clinics(zone: str, text: str, expected: When | None) -> None:
    assert parse_when(text, _now(zone, *SATURDAY), date_order="MDY") == expected


def test_the_clinics_own_zone_name_is_ignored() -> None:
    assert parse_when("5pm IST", _now("Asia/Kolkata", *SATURDAY)) == When(None, t(17))
    assert parse_when("5pm GMT", _now("Europe/London", *SATURDAY)) == When(None, t(17))


def test_another_zone_is_converted_to_the_clinics() -> None:
    # Goes to dateparser, which returns 17:00 UTC: 22:30 in Kolkata.
    assert parse_when("5pm UTC", _now("Asia/Kolkata", *SATURDAY)) == When(d(21), t(22, 30))


def test_clinic_local_date_not_utc() -> None:
    # 02:00 on Sunday 22 Nov in Kolkata is still Saturday 21 Nov in UTC.
    now = _now("Asia/Kolkata", 2026, 11, 22, 2, 0)
    assert parse_when("today", now) == When(d(22))
    assert parse_when("kal", now) == When(d(23))
    # dateparser's RELATIVE_BASE is the clinic-local wall clock too.
    assert parse_when("in 2 hours", now) == When(d(22), t(4))


def test_dateparser_fallback_follows_date_order() -> None:
    now = _now("Asia/Kolkata", *SATURDAY)
    assert parse_when("05/09 17:00 hrs", now) == When(d(5, 9, 2027), t(17))
    assert parse_when("05/09 17:00 hrs", now, date_order="MDY") == When(d(9, 5, 2027), t(17))


def test_dateparser_fallback_refuses_a_past_day_without_a_year() -> None:
    assert parse_when("wed after 4", _now("Asia/Kolkata", *SATURDAY)) is None


def test_dateparser_fallback_counts_from_each_calls_own_now() -> None:
    london = _now("Europe/London", *SATURDAY)
    assert parse_when("in 2 hours", london) == When(d(21), t(12))
    assert parse_when("in 2 hours", london + timedelta(hours=5)) == When(d(21), t(17))


@pytest.mark.parametrize(
    "text", ["1", "2", "25", "kal xyz 5", "hello there", "x" * 10_000, "9876543210 pls"]
)
def test_no_dateparser_for_menu_digits_junk_or_kal(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("dateparser should not be asked")

    monkeypatch.setattr(parsing, "_dateparser_fallback", fail)
    assert parse_when(text, _now("Asia/Kolkata", *SATURDAY)) is None


def test_long_input_is_refused_quickly() -> None:
    now = _now("Asia/Kolkata", *SATURDAY)
    started = clock.perf_counter()
    for text in ("5 " * 5_000, "tomorrow " * 2_000, "🙂" * 10_000):
        assert parse_when(text, now) is None
    assert clock.perf_counter() - started < 0.05


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("tomorrow", datetime(2026, 11, 21, 10, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="date_order"):
        parse_when("tomorrow", _now("Asia/Kolkata", *SATURDAY), date_order="YMD")


def test_part_of_day_windows() -> None:
    assert dict(PART_OF_DAY_WINDOWS) == {
        "morning": (t(8), t(12)),
        "afternoon": (t(12), t(16)),
        "evening": (t(16), t(21)),
    }
    with pytest.raises(TypeError):
        PART_OF_DAY_WINDOWS["night"] = (t(21), t(23))


_WORDS = [
    "kal", "aaj", "parso", "tomorrow", "next", "this", "mon", "fri", "nov", "dec", "25", "5",
    "12", "0", "99", "pm", "am", "at", "baje", "shaam", "saade", "paune", "half", "past", "th",
    "the", "of", "in", "days", "after", "noon", "25/11", "5:30", "5.30", "2026", "29", "feb",
    "कल", "बजे", "२५", "🙂", "'", "--", "/", ":", ".", "utc", "ist",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.lists(st.sampled_from(_WORDS), max_size=8).map(" ".join),
    ),
    zone=st.sampled_from(ZONES),
    date_order=st.sampled_from(["DMY", "MDY"]),
)
def test_parse_when_never_raises(text: str, zone: str, date_order: str) -> None:
    result = parse_when(text, _now(zone, *SATURDAY), date_order=date_order)
    assert result is None or isinstance(result, When)
    if result is not None:
        assert (result.date, result.time, result.part) != (None, None, None)


# --- dates of birth ----------------------------------------------------------------------------

TODAY = date(2026, 11, 21)
DOB_CASES: list[tuple[str, date | None]] = [
    ("12/03/2019", date(2019, 3, 12)),
    ("12-03-2019", date(2019, 3, 12)),
    ("12.3.2019", date(2019, 3, 12)),
    ("12 March 2019", date(2019, 3, 12)),
    ("12th of March, 2019", date(2019, 3, 12)),
    ("March 12 2019", date(2019, 3, 12)),
    ("march 12, 2019", date(2019, 3, 12)),
    ("2019-03-12", date(2019, 3, 12)),
    ("12/03/19", date(2019, 3, 12)),
    ("12/03/85", date(1985, 3, 12)),
    ("03/25/2019", date(2019, 3, 25)),  # only one reading is a date
    ("21/11/2026", TODAY),  # born today
    ("22/11/2026", None),  # the future
    ("21/11/1906", TODAY.replace(year=1906)),  # 120 years ago
    ("20/11/1906", None),
    ("31/02/2019", None),
    ("12/03", None),
    ("2019", None),
    ("asdf", None),
    ("", None),
    ("1", None),
    ("x" * 10_000, None),
]


@pytest.mark.parametrize(("text", "expected"), DOB_CASES, ids=_id)
def test_parse_date_of_birth(text: str, expected: date | None) -> None:
    assert parse_date_of_birth(text, TODAY) == expected


def test_date_of_birth_month_first() -> None:
    assert parse_date_of_birth("03/12/2019", TODAY, date_order="MDY") == date(2019, 3, 12)
    assert parse_date_of_birth("03/12/2019", TODAY) == date(2019, 12, 3)


@pytest.mark.parametrize(
    ("region", "order"),
    [("US", "MDY"), ("CA", "MDY"), ("PH", "MDY"), ("IN", "DMY"), ("GB", "DMY"), (None, "DMY")],
)
def test_the_date_order_follows_the_clinics_region(region: str | None, order: str) -> None:
    assert date_order_for(region) == order


def test_a_us_clinics_date_of_birth_is_read_month_first() -> None:
    born = parse_date_of_birth("03/12/2019", TODAY, date_order=date_order_for("US"))
    assert born == date(2019, 3, 12)
    assert parse_date_of_birth("03/12/2019", TODAY, date_order=date_order_for("IN")) == date(
        2019, 12, 3
    )


# Every plain yes or no a question in the chat accepts ("Is that OK?", "Cancel it?").
YES_NO_CASES: list[tuple[str, bool | None]] = [
    ("yes", True),
    ("Yes", True),
    ("YES!", True),
    ("ok", True),
    ("OK", True),
    ("ok.", True),
    ("okay", True),
    ("haan", True),
    ("han", True),
    ("हाँ", True),
    ("हां", True),
    ("no", False),
    ("No", False),
    ("no.", False),
    ("nahi", False),
    ("nahin", False),
    ("नहीं", False),
    ("haan ji", True),
    ("ha", True),
    ("👍", True),
    ("yes please", True),
    ("theek hai", True),
    ("nahi ji", False),
    ("1", None),
    ("yes please cancel it", None),
    ("not", None),
    ("", None),
    ("x" * 10_000, None),
]


@pytest.mark.parametrize(("text", "expected"), YES_NO_CASES, ids=_id)
def test_yes_or_no(text: str, expected: bool | None) -> None:
    assert yes_or_no(text) is expected


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_parse_date_of_birth_never_raises(text: str) -> None:
    result = parse_date_of_birth(text, TODAY)
    assert result is None or date(1906, 11, 21) <= result <= TODAY


def test_no_flask_sqlalchemy_or_eager_dateparser_import() -> None:
    code = (
        "import sys, flows.parsing; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'flask', 'sqlalchemy', 'dateparser'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("flows.parsing must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    now = _now("Europe/London", *SATURDAY)
    for text in ("in 2 hours", "5pm UTC", "first monday of december", "tomorrow 5pm"):
        parse_when(text, now)
