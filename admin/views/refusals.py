"""A service's refusal in the panel: the transaction rolled back, the reason flashed, in
the staff member's language.

Services write their refusals in English (``services.errors``): a sentence marked with
``N_`` and the params that fill it. ``reason`` is the one place that turns one into what
staff read: every view, flash and JSON answer that shows a refusal goes through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from admin.i18n import panel_lang
from admin.views.current import current_timezone
from core.formatting import format_when
from core.words import Sentence
from services.errors import ServiceError, SlotUnavailable


@dataclass
class Outcome:
    """What became of the calls in a ``with`` block: ``refusal`` is the service's
    ``ServiceError`` when one refused, else None."""

    refusal: ServiceError | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def reason(exc: ServiceError) -> str:
    """The refusal in the panel's language (``said``)."""
    return said(Sentence(exc.text, exc.params))


def said(sentence: Sentence) -> str:
    """A service's marked sentence in the panel's language: through the staff catalogue,
    then filled from its params, each of which that is a marked word (``what="patient"``,
    a status, a verb) translated too. A sentence or word the catalogue lacks stays
    English. Templates call it as ``said(rules.why)``."""
    text = _(sentence.text)  # no params here: Flask-Babel fills only when given some
    if not sentence.params:
        return text
    return text % {name: _word(value) for name, value in sentence.params.items()}


def _word(value: object) -> object:
    # gettext("") is the catalogue's header, never a word.
    return _(value) if isinstance(value, str) and value else value


@contextmanager
def refusal_rolled_back(session: Session) -> Iterator[Outcome]:
    """Run the block; a ``ServiceError`` from it rolls ``session`` back and is kept on the
    outcome instead of raised (for callers that report refusals their own way).
    Any other exception goes on up untouched."""
    outcome = Outcome()
    try:
        yield outcome
    except ServiceError as exc:
        session.rollback()
        outcome.refusal = exc


@contextmanager
def refused_as_flash(
    session: Session, say: Callable[[ServiceError], str] = reason
) -> Iterator[Outcome]:
    """Call services in the block; on a refusal roll back and flash ``say(refusal)`` as an
    error. Branch on ``outcome.ok`` after the block (redirect on success, re-render the
    form on refusal)::

        with refused_as_flash(self.session) as outcome:
            notes.add_progress_note(self.session, ...)
        if outcome.ok:
            flash("Note added.", "success")
            return redirect(...)
    """
    with refusal_rolled_back(session) as outcome:
        yield outcome
    if outcome.refusal is not None:
        flash(say(outcome.refusal), "error")


def with_free_nearby(exc: ServiceError) -> str:
    """The refusal, and for a slot that is taken or closed the free times nearby."""
    if not isinstance(exc, SlotUnavailable) or not exc.alternatives:
        return reason(exc)
    times = ", ".join(
        format_when(s.start, current_timezone(), panel_lang()) for s in exc.alternatives
    )
    nearby = _("Free nearby: %(times)s.", times=times)
    return f"{reason(exc)} {nearby}"
