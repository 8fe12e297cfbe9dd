"""The panel's own language: English or Hindi per staff member (Flask-Babel).

The staff catalogues live in ``admin/translations/<lang>/LC_MESSAGES/``: ``messages.po``
for the panel's words and ``admin.po`` for Flask-Admin's own (its "admin" domain ships no
Hindi). Only the ``.po`` files are kept in git; :func:`compile_catalogues` writes the
``.mo`` files gettext reads into the instance directory when the app starts, so there is
nothing to compile by hand and nothing to fall out of step. The patient catalogue is a
different one (``services/messaging/locales``).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from importlib import resources
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, abort, has_request_context, request, send_file
from flask_babel import Babel, get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.formatting import ENGLISH, LANGUAGES, format_full_day

# The languages the panel speaks (the bot's too); a staff member's ``locale`` is one of
# these or None.
PANEL_LANGUAGES = LANGUAGES
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
BABEL = Babel()
# Devanagari for desks whose computer has no Hindi font: Mukta (OFL, the PDFs' font, from
# the fontpkg-mukta wheel), served by the app itself; admin/static/devanagari.css asks for
# it only for Devanagari letters (unicode-range), so English pages never load it.
fonts = Blueprint("panel_fonts", __name__)
FONT_FILES = {"regular": "Mukta-Regular.ttf", "bold": "Mukta-Bold.ttf"}


@fonts.get("/admin-fonts/mukta-<weight>.ttf")
def font(weight: str):
    if weight not in FONT_FILES:
        abort(404)
    path = resources.files("fontpkg_mukta") / "files" / FONT_FILES[weight]
    if not path.is_file():
        abort(404)
    return send_file(str(path), mimetype="font/ttf", max_age=60 * 60 * 24 * 30)


# The stored words staff read as labels (statuses, methods, roles), so that pybabel
# extracts them; :func:`word` looks them up. Enum values read with spaces for underscores.
ENUM_WORDS = (
    # appointments and requests
    _l("booked"),
    _l("confirmed"),
    _l("completed"),
    _l("cancelled"),
    _l("no show"),
    _l("requested"),
    _l("chat"),
    _l("admin"),
    _l("pending"),
    _l("approved"),
    _l("rejected"),
    _l("withdrawn"),
    _l("patient"),
    _l("therapist"),
    # money
    _l("not required"),
    _l("unpaid"),
    _l("partially paid"),
    _l("paid"),
    _l("refunded"),
    _l("issued"),
    _l("void"),
    _l("payment link"),
    _l("upi"),
    _l("cash"),
    _l("card"),
    _l("bank transfer"),
    _l("credit"),
    _l("awaiting confirmation"),
    _l("received"),
    _l("processed"),
    _l("failed"),
    _l("created"),
    _l("expired"),
    _l("package"),
    _l("drawn"),
    _l("returned"),
    _l("adjustment"),
    _l("session"),
    _l("other"),
    # messages
    _l("whatsapp"),
    _l("sms"),
    _l("queued"),
    _l("sending"),
    _l("sent"),
    _l("delivered"),
    _l("read"),
    _l("undelivered"),
    _l("reminder"),
    _l("notice"),
    _l("dues"),
    _l("payment"),
    # people and staff
    _l("self"),
    _l("child"),
    _l("spouse"),
    _l("parent"),
    _l("superadmin"),
    _l("operator"),
    _l("accountant"),
    _l("staff"),
    _l("contact"),
    _l("system"),
    _l("closed"),
    _l("extra"),
    # payment methods' labels (models.PaymentMethod.label)
    _l("Online payment link"),
    _l("UPI"),
    _l("Cash"),
    _l("Card"),
    _l("Bank transfer"),
    _l("Package credit"),
)


def word(value: str | None) -> str:
    """A stored value as a word in the panel's language: ``no_show`` → "no show" /
    "नहीं आए"."""
    return "" if not value else gettext(value.replace("_", " "))


def calendar_words() -> dict[str, str]:
    """What admin/static/calendar.js says, in the panel's language (it reads them from the
    page's setup block)."""
    return {
        "today": gettext("Today"),
        "list": gettext("List"),
        "day": gettext("Day"),
        "week": gettext("Week"),
        "month": gettext("Month"),
        "moving": gettext("Moving…"),
        "notMoved": gettext("The session could not be moved"),
        "resizing": gettext("Changing its length…"),
        "notResized": gettext("The session's length could not be changed"),
        "noAnswer": gettext("no answer from the server."),
        "free": gettext("Free:"),
    }


def compile_catalogues(target: Path, source: Path = TRANSLATIONS) -> Path:
    """Every ``<lang>/LC_MESSAGES/<domain>.po`` under ``source`` as a ``.mo`` under
    ``target`` (same layout). Each file is written whole and renamed into place, so
    workers starting together never read half a catalogue."""
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        out = target / po.relative_to(source).with_suffix(".mo")
        out.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parts[-3])
        fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalog)
        os.replace(tmp, out)
    return target


def select_locale() -> str:
    """Signed in: the staff member's choice, else their clinic's language if the panel
    speaks it, else English. Signed out (the login pages): the browser's best match."""
    if not has_request_context():
        return ENGLISH
    if current_user.is_authenticated:
        chosen = current_user.locale
        if chosen in PANEL_LANGUAGES:
            return chosen
        clinic = current_user.clinic
        if clinic is not None and clinic.language in PANEL_LANGUAGES:
            return clinic.language
        return ENGLISH
    return request.accept_languages.best_match(PANEL_LANGUAGES) or ENGLISH


def panel_lang() -> str:
    """The language this request's page is written in (``"en"`` or ``"hi"``), for
    ``core.formatting``'s ``lang=``."""
    locale = get_locale() if has_request_context() else None
    return locale.language if locale is not None else ENGLISH


def _full_day(value: date) -> str:
    """A date as a page shows it in the page's language (``8 Sept 2026``)."""
    return format_full_day(value, panel_lang())


def init_app(app: Flask) -> Path:
    """Compile the staff catalogues into the instance directory and choose each
    request's language. Returns the directory Flask-Admin's domain reads too."""
    compiled = compile_catalogues(Path(app.instance_path) / "translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    BABEL.init_app(app, locale_selector=select_locale)
    app.register_blueprint(fonts)
    app.jinja_env.globals.update(word=word, panel_lang=panel_lang, full_day=_full_day)
    return compiled
