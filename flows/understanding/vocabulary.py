"""A clinic's services and therapists and a contact's patients as phrases to find in a message.

Built once per :class:`Vocabulary` (it is hashable) and kept in a small LRU cache: a webhook
process serves a handful of clinics and contacts at a time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from flows.understanding.lexicon import (
    FUZZY_MIN_LENGTH,
    LEXICON,
    is_known,
    nearest_word,
    phrase_sizes,
    tokens,
)
from flows.understanding.model import Vocabulary

# Words in a service's name that do not tell services apart ("Speech Therapy Session").
_GENERIC = frozenset({"therapy", "session", "sessions", "therapist", "consultation", "class"})
_TITLES = frozenset(
    {"dr", "doctor", "mr", "mrs", "ms", "miss", "smt", "shri", "shrimati", "sri", "prof"}
)


@dataclass(frozen=True)
class Names:
    """Phrases (token tuples) naming a service, therapist or patient: kind -> ids."""

    phrases: dict[tuple[str, ...], tuple[tuple[str, int], ...]]  # -> (("patient", 3), ...)
    # first word -> lengths of the phrases (this vocabulary's and the lexicon's) it starts
    sizes: dict[str, tuple[int, ...]]
    words: tuple[str, ...]  # single-word names, typo targets
    kinds: dict[str, tuple[int, ...]]  # lexicon service kind -> this clinic's service ids
    services: dict[int, tuple[str, ...]]  # service id -> the words of its name


def _add(into: dict, key: tuple[str, ...], kind: str, ident: int) -> None:
    if key and (kind, ident) not in into[key]:
        into[key].append((kind, ident))


@lru_cache(maxsize=256)
def names_for(vocabulary: Vocabulary) -> Names:
    found: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    services: dict[int, tuple[str, ...]] = {}
    for service in vocabulary.services:
        words = tokens(service.name)
        services[service.id] = words
        _add(found, words, "service", service.id)
        distinct = tuple(w for w in words if w not in _GENERIC)
        if distinct and distinct != words:
            _add(found, distinct, "service", service.id)
        for alias in service.aliases:
            _add(found, tokens(alias), "service", service.id)
    for therapist in vocabulary.therapists:
        words = tuple(w for w in tokens(therapist.name) if w not in _TITLES)
        _add(found, words, "therapist", therapist.id)
        for word in words:
            if len(word) >= 3:
                _add(found, (word,), "therapist", therapist.id)
    for patient in vocabulary.patients:
        words = tokens(patient.name)
        _add(found, words, "patient", patient.id)
        if words and len(words[0]) >= 3:
            _add(found, words[:1], "patient", patient.id)
        for alias in patient.aliases:
            _add(found, tokens(alias), "patient", patient.id)
    kinds = {
        kind.name: tuple(
            ident for ident, words in services.items() if any(m in words for m in kind.match)
        )
        for kind in LEXICON.kinds.values()
    }
    single = sorted(
        {key[0] for key in found if len(key) == 1 and len(key[0]) >= FUZZY_MIN_LENGTH - 1}
    )
    return Names(
        phrases={key: tuple(ids) for key, ids in found.items()},
        sizes=_sizes(found),
        words=tuple(w for w in single if w.isalpha()),
        kinds=kinds,
        services=services,
    )


def _sizes(found: dict[tuple[str, ...], list]) -> dict[str, tuple[int, ...]]:
    """The lexicon's phrase lengths per first word, with this vocabulary's merged in."""
    sizes = dict(LEXICON.sizes)
    for word, lengths in phrase_sizes(found).items():
        sizes[word] = tuple(sorted({*lengths, *sizes.get(word, ())}, reverse=True))
    return sizes


def correct_name(word: str, names: Names) -> str | None:
    """The name ``word`` is a typo of ("Anaya" for "Ananya"), or ``None``."""
    if (
        len(word) < FUZZY_MIN_LENGTH
        or not word.isalpha()
        or (word,) in names.phrases
        or not names.words
        or is_known(word)
    ):
        return None
    return nearest_word(word, names.words)
