"""Everything the bot says, by message id and language.

The sentences live in gettext catalogues, one ``.po`` file per language
(``services/messaging/locales/<lang>/LC_MESSAGES/messages.po``, read with Babel by
``services.messaging.po_files``); the msgid is the message id the flows ask for with
``say(lang, "id", **params)``. Adding a language is a translation of the English file,
nothing else. Every language holds every message with the same placeholders (a test
checks it); a language we do not have reads English.
"""

from __future__ import annotations

from core.formatting import LANGUAGES
from services.errors import ServiceError
from services.messaging import po_files

# The privacy notice's version, recorded with each contact's consent; a new wording
# of "privacy" is a new version.
CONSENT_VERSION = "2026-12"
DEFAULT_LANGUAGE = "en"


class MissingMessage(KeyError):
    """A message id no catalogue holds: a typo in the caller, or a message not added yet."""

    def __str__(self) -> str:
        return f"no message {self.args[0]!r} in the catalogue (services/messaging/locales)"


CATALOGUES: dict[str, dict[str, str]] = {
    lang: po_files.messages(po_files.load_catalog(lang)) for lang in LANGUAGES
}
EN: dict[str, str] = CATALOGUES["en"]
HI: dict[str, str] = CATALOGUES["hi"]


def say(lang: str, key: str, **params: object) -> str:
    """The message ``key`` in ``lang`` (English when we have no such language), filled in."""
    catalogue = CATALOGUES.get(lang, EN)
    template = catalogue.get(key) or EN.get(key)
    if template is None:
        raise MissingMessage(key)
    return template.format(**params)


def refusal(lang: str, error: ServiceError, **params: object) -> str:
    """A service's refusal as the patient reads it: the catalogue's ``refused_<code>``
    sentence filled from the error's params, else the error's own (English) sentence."""
    key = f"refused_{error.code}"
    if key not in EN:
        return error.message
    return say(lang, key, **{**params, **error.params})


def numbered(options: list[str], *, start: int = 1) -> str:
    """``1. Speech Therapy Session`` lines: every choice answerable with one digit."""
    return "\n".join(f"{i}. {label}" for i, label in enumerate(options, start=start))


def reminder_choices(lang: str) -> list[tuple[str, str]]:
    """What a reminder offers; the reply "1", "2" or "3" picks one (flows.my_appointments)."""
    return [
        ("confirm", say(lang, "reminder_confirm")),
        ("reschedule", say(lang, "reschedule")),
        ("cancel", say(lang, "cancel")),
    ]
