"""Dates, times and money for the reader's language: English exactly as before, Hindi
from Babel's hi_IN data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from core.formatting import (
    babel_locale,
    format_day,
    format_money,
    format_span,
    format_time,
    format_when,
)

KOLKATA = "Asia/Kolkata"
START = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)  # Wed 25 Nov, 4:45 pm in Kolkata
END = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "currency", "expected"),
    [("hi", "INR", "hi_IN"), ("en", "INR", "en_IN"), ("en", "GBP", "en_GB"), (None, "XYZ", "en")],
)
def test_babel_locale_follows_language_then_currency(lang, currency, expected):
    assert babel_locale(lang, currency) == expected


@pytest.mark.parametrize("lang", [None, "en", "fr"])
def test_english_reads_as_it_always_did(lang):
    assert format_when(START, KOLKATA, lang) == "Wed 25 Nov, 4:45 pm"
    assert format_day(date(2026, 11, 23), lang) == "Mon 23 Nov"
    assert format_time(time(12, 0), lang) == "12:00 pm"
    assert format_span(START, END, KOLKATA, lang) == "Wed 25 Nov, 4:45–5:30 pm"
    assert format_money(80000, "INR", short=True, lang=lang) == "₹800"
    assert format_money(12000000, "INR", lang=lang) == "₹1,20,000.00"
    assert format_money(650000, "GBP", short=True, lang=lang) == "£6,500"


def test_hindi_dates_come_from_babel():
    assert format_day(date(2026, 11, 23), "hi") == "सोम, 23 नव॰"
    assert format_when(START, KOLKATA, "hi") == "बुध, 25 नव॰, 4:45 pm"
    assert format_span(START, END, KOLKATA, "hi") == "बुध, 25 नव॰, 4:45–5:30 pm"
    assert format_time(time(9, 5), "hi") == "9:05 am"


def test_hindi_money_groups_the_indian_way():
    assert format_money(80000, "INR", short=True, lang="hi") == "₹800"
    assert format_money(12000000, "INR", lang="hi") == "₹1,20,000.00"
