"""A marker for English sentences that staff read translated.

``N_("…")`` returns its text unchanged: the sentence stays English where it is written
(logs, the CLI, tests), and ``make staff-strings`` collects it into the staff catalogue
(admin/babel.cfg). The panel translates it where it shows it
(``admin.views.refusals.reason``). Placeholders are ``%(name)s``, as in the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def N_(text: str) -> str:
    return text


@dataclass(frozen=True)
class Sentence:
    """A marked English sentence and what fills it, for a reader whose language is chosen
    where it is shown (``admin.views.refusals.said``); ``str()`` is the English."""

    text: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text % dict(self.params) if self.params else self.text
