"""The message catalogues on disk: one gettext ``.po`` file per language.

``locales/<lang>/LC_MESSAGES/messages.po`` next to this module; the msgid is the
message id every caller uses (``"ask_service"``), the msgstr the sentence with its
``{placeholders}``. Read with Babel at import, nothing to compile: a fresh clone and
an installed wheel (the files are package data) read the same files.

Adding messages from a branch that still wrote them as ``EN``/``HI`` dicts in a
Python file (the catalogue's old form) is one command, which adds every id the
``.po`` files lack and keeps the comment above each block::

    python -m services.messaging.po_files add-from path/to/old_catalogue.py

Translators may edit the ``.po`` files with any gettext tool (Poedit, Weblate);
``tests/messaging/test_catalogue.py`` checks both languages stay complete and in step.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "messages"
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")


def po_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_catalog(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fileobj:
        return read_po(fileobj, locale=lang, domain=DOMAIN)


def messages(catalog: Catalog) -> dict[str, str]:
    """msgid → msgstr, in file order, header left out (fuzzy and empty entries too:
    the catalogue test refuses those, the runtime should not hide them)."""
    return {str(m.id): str(m.string or "") for m in catalog if m.id}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def save_catalog(lang: str, catalog: Catalog) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fileobj:
        write_po(fileobj, catalog, width=100, sort_output=False, omit_header=False)


def new_catalog(lang: str) -> Catalog:
    return Catalog(
        locale=lang,
        domain=DOMAIN,
        project="Roshni",
        version="1",
        copyright_holder="Roshni",
        msgid_bugs_address="",
        last_translator="Roshni <>",
        language_team=lang,
        fuzzy=False,
    )


def add_message(catalog: Catalog, msgid: str, text: str, comment: str | None = None) -> None:
    catalog.add(msgid, text, auto_comments=[comment] if comment else ())


# --- adding messages written as Python dicts (the catalogue's old form) ----------------------


def dicts_from_python(source: str) -> dict[str, list[tuple[str, str, str | None]]]:
    """``{"en": [(id, text, comment), …], "hi": […]}`` from a module defining dict
    literals ``EN`` and ``HI``; ``comment`` is the ``# …`` line above a block."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found: dict[str, list[tuple[str, str, str | None]]] = {}
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if not isinstance(target, ast.Name) or target.id not in ("EN", "HI"):
            continue
        value = node.value
        if not isinstance(value, ast.Dict):
            continue
        entries: list[tuple[str, str, str | None]] = []
        for key, text in zip(value.keys, value.values, strict=True):
            if key is None:
                continue
            msgid = ast.literal_eval(key)
            string = ast.literal_eval(text)
            entries.append((msgid, string, _comment_above(lines, key.lineno - 1)))
        found[target.id.lower()] = entries
    return found


def _comment_above(lines: list[str], index: int) -> str | None:
    """The ``# …`` lines right above line ``index``, joined (a block's heading)."""
    found: list[str] = []
    while index > 0 and lines[index - 1].strip().startswith("#"):
        index -= 1
        found.insert(0, lines[index].strip().lstrip("#").strip())
    return " ".join(found) or None


def add_from_python(path: Path) -> dict[str, list[str]]:
    """Add to each ``.po`` file the ids it lacks from the dicts in ``path``;
    returns the ids added per language."""
    found = dicts_from_python(path.read_text(encoding="utf-8"))
    added: dict[str, list[str]] = {}
    for lang, entries in found.items():
        catalog = load_catalog(lang)
        have = set(messages(catalog))
        added[lang] = []
        for msgid, text, comment in entries:
            if msgid not in have:
                add_message(catalog, msgid, text, comment)
                added[lang].append(msgid)
        save_catalog(lang, catalog)
    return added


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "add-from":
        print(__doc__)
        return 2
    added = add_from_python(Path(argv[1]))
    for lang, ids in added.items():
        print(f"{lang}: added {len(ids)}: {', '.join(ids) or '-'}")
    en, hi = set(messages(load_catalog("en"))), set(messages(load_catalog("hi")))
    for msgid in sorted(en - hi):
        print(f"hi: missing translation for {msgid!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
