"""The staff catalogues (admin/translations): every word the panel marks is in them, every
one has its Hindi with the same placeholders, and they compile to what gettext reads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations

from admin import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
DEVANAGARI = re.compile("[\u0900-\u097f]")
# Read the same in Hindi: a name, an abbreviation, or nothing but a placeholder.
SAME_IN_HINDI = {"UPI", "upi", "sms", "whatsapp", "%(placeholder)s"}


def catalog(lang: str, domain: str = "messages"):
    with (i18n.TRANSLATIONS / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        return read_po(f, locale=lang)


def entries(lang: str, domain: str = "messages"):
    return [m for m in catalog(lang, domain) if m.id]


def marked_in_code() -> set[str]:
    """What ``make staff-strings`` would collect (admin/babel.cfg: the panel's Python and
    templates, and the refusals services mark with ``N_``)."""
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
    found = set()
    for folder, method_map in (
        ("admin", [("**.py", "python"), ("templates/**.html", "jinja2")]),
        ("services", [("**.py", "python")]),
        ("core", [("passwords.py", "python")]),
    ):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=method_map, keywords=keywords
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_marked_word_is_in_both_catalogues_and_nothing_stale():
    marked = marked_in_code()
    for lang in ("en", "hi"):
        ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in entries(lang)}
        assert marked - ids == set(), f"run make staff-strings ({lang} lacks these)"
        assert ids - marked == set(), f"run make staff-strings ({lang} has unused ones)"


@pytest.mark.parametrize("domain", ["messages", "admin"])
def test_every_hindi_entry_is_written_with_the_same_placeholders(domain):
    found = entries("hi", domain)
    assert len(found) > 100
    for message in found:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"no Hindi for {ids[0]!r}"
        assert not message.fuzzy, ids[0]
        # A plural's "one" form may leave the count out, as English does.
        assert sorted(PLACEHOLDER.findall(strings[-1])) == sorted(PLACEHOLDER.findall(ids[-1]))
        for text, english in zip(strings, ids, strict=False):
            assert set(PLACEHOLDER.findall(text)) <= set(PLACEHOLDER.findall(ids[-1])), ids[0]
            assert set(PLACEHOLDER.findall(english)) <= set(PLACEHOLDER.findall(text)), ids[0]
        if ids[0] not in SAME_IN_HINDI and re.search("[a-zA-Z]", PLACEHOLDER.sub("", ids[0])):
            assert all(DEVANAGARI.search(text) for text in strings), f"not Hindi: {ids[0]!r}"


def test_flask_admins_words_are_all_there():
    """Its own English catalogue lists what its templates and views say."""
    import flask_admin

    upstream = Path(flask_admin.__file__).parent / "translations" / "en" / "LC_MESSAGES"
    with (upstream / "admin.po").open("rb") as f:
        theirs = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    ours = {m.id if isinstance(m.id, str) else m.id[0] for m in entries("hi", "admin")}
    assert theirs - ours == set()


def test_the_catalogues_compile_to_what_gettext_reads(tmp_path):
    compiled = i18n.compile_catalogues(tmp_path)
    panel = Translations.load(str(compiled), ["hi"], "messages")
    assert panel.gettext("Today") == "आज"
    assert panel.ngettext("%(num)d contact owes", "%(num)d contacts owe", 2) == (
        "%(num)d संपर्कों पर बकाया"
    )
    flask_admin = Translations.load(str(compiled), ["hi"], "admin")
    assert flask_admin.gettext("List") == "सूची" and flask_admin.gettext("Create") == "नया बनाएँ"
    # Compiling again (another worker starting) replaces the files whole.
    i18n.compile_catalogues(tmp_path)
    assert sorted(p.name for p in (compiled / "hi" / "LC_MESSAGES").iterdir()) == [
        "admin.mo",
        "messages.mo",
    ]


def test_the_po_files_ship_with_the_package():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["admin"]
    shipped = {p for pattern in patterns for p in (ROOT / "admin").glob(pattern)}
    assert set(i18n.TRANSLATIONS.glob("*/LC_MESSAGES/*.po")) <= shipped


def test_no_words_are_hidden_from_pybabel_in_f_strings():
    """pybabel does not read inside f-strings: ``f"{_('x')}"`` would never be translated."""
    hidden = re.compile(r"\{\s*(_|_l|gettext|ngettext|lazy_gettext)\(")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "admin").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if hidden.search(line) and re.search(r"\bf[\"']", line)
    ]
    assert found == []
