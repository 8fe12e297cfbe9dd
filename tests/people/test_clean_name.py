"""The one rule for a stored name (contacts, patients, clinics, locations)."""

from __future__ import annotations

import pytest

from services.errors import InvalidInput
from services.people.patients import MAX_NAME, clean_name


def test_control_and_direction_characters_are_dropped_and_spaces_folded():
    assert clean_name("  Asha\u202e \u200bVerma\x00 ") == "Asha Verma"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1234",
        "<b>Asha</b>",
        "Asha <script>",
        "http://example.org",
        "see www.example.in",
        "asha.com",
        "a" * (MAX_NAME + 1),
    ],
)
def test_empty_long_markup_and_links_are_refused(value):
    with pytest.raises(InvalidInput):
        clean_name(value)


@pytest.mark.parametrize("value", ["D'Souza", "Anne-Marie", "Dr. P. Rao", "आरव", "O’Brien"])
def test_real_names_pass_unchanged(value):
    assert clean_name(value) == value
