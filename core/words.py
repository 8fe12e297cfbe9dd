"""A marker for English sentences that staff read translated.

``N_("…")`` returns its text unchanged: the sentence stays English where it is written
(logs, the CLI, tests), and ``make staff-strings`` collects it into the staff catalogue
(admin/babel.cfg). The panel translates it where it shows it
(``admin.views.refusals.reason``). Placeholders are ``%(name)s``, as in the catalogue.
"""

from __future__ import annotations


def N_(text: str) -> str:
    return text
