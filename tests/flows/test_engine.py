"""The engine's small text helpers: how a typed reply picks a numbered choice."""

from __future__ import annotations

import pytest

from flows.dialog import _label_matches, clean_text, normalise, parse_number


@pytest.mark.parametrize(
    ("typed", "label", "matches"),
    [
        ("speech", "speech therapy session 45 min 800", True),
        ("physio", "physiotherapy session 45 min 700", True),
        ("dr priya", "dr priya nair speech", True),
        ("1 dec", "tue 1 dec", True),
        ("10 dec", "tue 1 dec", False),  # the day number must match, not just the month
        ("dec 10", "tue 1 dec", False),
        ("ab", "about", True),  # a prefix of the whole label
        ("xyz", "speech therapy", False),
    ],
)
def test_typed_words_name_a_choice_only_when_every_number_matches(typed, label, matches):
    assert _label_matches(normalise(typed), normalise(label)) is matches


@pytest.mark.parametrize(
    ("text", "number"),
    [("1", 1), (" 2. ", 2), ("#3", 3), ("4)", 4), ("two", 2), ("1st", None), ("12/3", None)],
)
def test_numbers_are_read_as_choices(text, number):
    assert parse_number(text) == number


def test_control_and_direction_characters_are_dropped():
    assert clean_text("\u202eevil\u202c  \x00text\n") == "evil text"
