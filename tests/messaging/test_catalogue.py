"""The message catalogues: every language holds every message, with the same
placeholders and the same chat formatting, read from the .po files that ship."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from services.messaging import catalogue, po_files
from services.messaging.catalogue import EN, HI, MissingMessage, numbered, reminder_choices, say

BOLD = re.compile(r"\*[^*\n]+\*")  # WhatsApp *bold*: the words patients type (*menu*, *talk*)
NUMBERED = re.compile(r"^\d+\. ", re.MULTILINE)
ROOT = Path(__file__).resolve().parents[2]


def test_hindi_has_every_english_message_and_nothing_else():
    assert set(HI) == set(EN)


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_no_message_is_empty_or_fuzzy(lang):
    catalog = po_files.load_catalog(lang)
    entries = [m for m in catalog if m.id]
    assert entries, "the catalogue read nothing"
    assert [m.id for m in entries if not m.string] == []
    assert [m.id for m in entries if m.fuzzy] == []


@pytest.mark.parametrize("key", sorted(EN))
def test_both_languages_have_the_same_placeholders_and_formatting(key):
    english, hindi = EN[key], HI[key]
    assert po_files.placeholders(hindi) == po_files.placeholders(english), key
    assert sorted(BOLD.findall(hindi)) == sorted(BOLD.findall(english)), key
    assert len(NUMBERED.findall(hindi)) == len(NUMBERED.findall(english)), key
    assert hindi.count("\n") == english.count("\n"), key


def test_every_hindi_sentence_is_written_in_hindi():
    # Messages with no words of their own ("{name} ({specialization})") read the same in both.
    own_words = [k for k in EN if re.search("[a-zA-Z]", po_files.PLACEHOLDER.sub("", EN[k]))]
    same = {"language_english", "part_suffix"}  # "English"; " {part}" (part_evening is Hindi)
    untranslated = [
        k for k in own_words if k not in same and not re.search("[\u0900-\u097f]", HI[k])
    ]
    assert untranslated == []


def test_an_unknown_message_id_raises_and_names_it():
    with pytest.raises(MissingMessage) as raised:
        say("en", "no_such_message")
    assert "no_such_message" in str(raised.value)
    assert isinstance(raised.value, KeyError)


def test_a_language_without_a_catalogue_reads_english():
    assert say("fr", "menu") == EN["menu"] == "What would you like to do?"


def test_the_helpers_keep_their_shape():
    assert numbered(["a", "b"]) == "1. a\n2. b"
    assert [value for value, _ in reminder_choices("hi")] == ["confirm", "reschedule", "cancel"]
    assert reminder_choices("en")[0][1] == "I'll be there"
    assert catalogue.CONSENT_VERSION
    assert say("hi", "ask_dob", name="Aarav") == "और Aarav की जन्म तिथि? (जैसे 12/03/2019)"


def test_the_po_files_ship_with_the_package():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["services"]
    shipped = {p for pattern in patterns for p in (ROOT / "services").glob(pattern)}
    assert {po_files.po_path(lang) for lang in ("en", "hi")} <= shipped


def test_messages_written_as_dicts_are_added_to_the_po_files(tmp_path, monkeypatch):
    monkeypatch.setattr(po_files, "LOCALES_DIR", tmp_path)
    for lang in ("en", "hi"):
        catalog = po_files.new_catalog(lang)
        po_files.add_message(catalog, "menu", "x" if lang == "en" else "य")
        po_files.save_catalog(lang, catalog)
    old = tmp_path / "old_catalogue.py"
    old.write_text(
        "EN: dict[str, str] = {\n"
        '    "menu": "What would you like to do?",\n'
        "    # issue 12, part 9: answers\n"
        '    "fee_answer": "{service} costs {price}.",\n'
        "}\n"
        'HI: dict[str, str] = {"fee_answer": "{service} की फ़ीस {price} है।"}\n',
        encoding="utf-8",
    )
    assert po_files.add_from_python(old) == {"en": ["fee_answer"], "hi": ["fee_answer"]}
    english = po_files.load_catalog("en")
    assert english["fee_answer"].string == "{service} costs {price}."
    assert english["fee_answer"].auto_comments == ["issue 12, part 9: answers"]
    assert english["menu"].string == "x"  # existing messages are left as they are
    assert po_files.messages(po_files.load_catalog("hi"))["fee_answer"] == (
        "{service} की फ़ीस {price} है।"
    )
