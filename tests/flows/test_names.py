"""Names as people type them: introductions, titles, families, hostile input."""

from __future__ import annotations

from datetime import date

import pytest

from flows.names import ParsedName, child_names, greeting_name, name_and_date_of_birth, person_name


@pytest.mark.parametrize(
    ("text", "name", "title", "greeting"),
    [
        ("my name is Farida Khan", "Farida Khan", None, "Farida"),
        ("My name's Ravi", "Ravi", None, "Ravi"),
        ("I am Pooja", "Pooja", None, "Pooja"),
        ("I'm Pooja", "Pooja", None, "Pooja"),
        ("I’m Pooja", "Pooja", None, "Pooja"),
        ("this is Pooja", "Pooja", None, "Pooja"),
        ("Hi, I am Pooja 🙏", "Pooja", None, "Pooja"),
        ("mera naam Pooja hai", "Pooja", None, "Pooja"),
        ("main Pooja hoon", "Pooja", None, "Pooja"),
        ("मेरा नाम पूजा है", "पूजा", None, "पूजा"),
        ("Mrs. Shalini Sharma", "Shalini Sharma", "Mrs", "Shalini"),
        ("Smt Shalini Sharma", "Shalini Sharma", "Smt", "Shalini"),
        ("Dr Rao", "Rao", "Dr", "Dr Rao"),
        ("asha verma", "Asha Verma", None, "Asha"),
        ("ASHA VERMA", "Asha Verma", None, "Asha"),
        ("Asha Verma!!", "Asha Verma", None, "Asha"),
        ("Ronan McDonald", "Ronan McDonald", None, "Ronan"),
        ("Will Smith", "Will Smith", None, "Will"),
        ("Mai Tran", "Mai Tran", None, "Mai"),
        ("Mai Pooja hu", "Pooja", None, "Pooja"),
        ("मैं पूजा हूँ", "पूजा", None, "पूजा"),
        ("Farida\u202e Khan", "Farida Khan", None, "Farida"),
    ],
)
def test_a_persons_name_is_found_in_what_they_type(text, name, title, greeting):
    parsed = person_name(text)
    assert parsed is not None
    assert (parsed.name, parsed.title, parsed.greeting) == (name, title, greeting)


@pytest.mark.parametrize(
    "text",
    [
        "12345",
        "hi",
        "yes",
        "haan",
        "ok",
        "I want to book speech therapy",
        "book OT for Aarav tomorrow",
        "I",
        "👍",
        "<b>Asha</b>",
        "<script>alert(1)</script>",
        "http://evil.example",
        "www.example.com",
        "Asha" * 40,
        "one two three four five six",
    ],
)
def test_what_is_not_a_name_is_refused(text):
    assert person_name(text) is None


def test_only_my_name_is_counts_as_an_explicit_introduction():
    assert person_name("my name is Farida Khan").explicit
    assert person_name("mera naam Farida hai").explicit
    assert not person_name("Farida Khan").explicit
    assert not person_name("I am Farida").explicit


def test_what_is_stored_keeps_a_title_only_when_it_is_needed_to_greet():
    assert person_name("Mrs. Shalini Sharma").stored == "Shalini Sharma"
    assert person_name("Dr Rao").stored == "Dr Rao"
    assert greeting_name("Dr Rao") == "Dr Rao"
    assert greeting_name("Shalini Sharma") == "Shalini"
    assert greeting_name(None) == ""
    assert ParsedName("Asha").greeting == "Asha"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Aarav", ["Aarav"]),
        ("Aarav and Anaya", ["Aarav", "Anaya"]),
        ("Aarav, Anaya", ["Aarav", "Anaya"]),
        ("Aarav & Anaya & Kabir", ["Aarav", "Anaya", "Kabir"]),
        ("Aarav aur Anaya", ["Aarav", "Anaya"]),
        ("आरव और अनाया", ["आरव", "अनाया"]),
        ("my son Aarav", ["Aarav"]),
        ("my son, Aarav", ["Aarav"]),
        ("my son Aarav and my daughter Anaya", ["Aarav", "Anaya"]),
        ("mere bete Aarav aur Kabir", ["Aarav", "Kabir"]),
        ("aarav and aarav", ["Aarav"]),
        ("I want to book", []),
        ("Aarav and 123", []),
        ("<i>Aarav</i>", []),
    ],
)
def test_several_children_in_one_message(text, names):
    assert child_names(text) == names


def test_a_name_and_a_date_of_birth_in_one_message():
    today = date(2026, 11, 23)
    assert name_and_date_of_birth("Asha Verma, 12/03/2019", today) == (
        "Asha Verma",
        date(2019, 3, 12),
    )
    assert name_and_date_of_birth("Aarav 12 March 2019", today) == ("Aarav", date(2019, 3, 12))
    assert name_and_date_of_birth("Aarav 03/12/2019", today, date_order="MDY") == (
        "Aarav",
        date(2019, 3, 12),
    )
    assert name_and_date_of_birth("Asha Verma", today) is None
    assert name_and_date_of_birth("12/03/2019", today) is None
