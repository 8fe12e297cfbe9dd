"""Amounts staff type in the panel become exact integer minor units, or a clear refusal."""

from __future__ import annotations

import pytest

from admin.views.billing import parse_money
from services.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("1200", 120000),
        ("1200.50", 120050),
        ("1,200.5", 120050),
        ("₹1,20,000.00", 12000000),
        (" 0.01 ", 1),
    ],
)
def test_typed_amounts_become_exact_minor_units(typed, minor):
    assert parse_money(typed, "INR") == minor


def test_a_currency_without_decimals_counts_whole_units():
    assert parse_money("1500", "JPY") == 1500


@pytest.mark.parametrize("typed", ["", "abc", "12.345", "-5", "0", "nan", "Infinity", "1e3x"])
def test_nonsense_negative_or_over_precise_amounts_are_refused(typed):
    with pytest.raises(InvalidInput):
        parse_money(typed, "INR")
