"""One left-to-right, longest-phrase-first pass over a message's tokens.

Each position takes the longest phrase that the lexicon or the vocabulary knows ("how much do i
owe" before "how much", "lady therapist" before "lady"); the words it covers are used up, so a
word inside a longer phrase never counts twice. Typos are corrected first, word by word.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.understanding.lexicon import FUZZY_MIN_LENGTH, LEXICON, Hit, correct
from flows.understanding.vocabulary import Names, correct_name


@dataclass(frozen=True, slots=True)
class Found:
    start: int  # index of the first token
    end: int  # index after the last token
    hits: tuple[Hit, ...]
    names: tuple[tuple[str, int], ...]  # ("service" | "therapist" | "patient", id)

    @property
    def phrase(self) -> tuple[int, int]:
        return self.start, self.end


def corrected(words: tuple[str, ...], names: Names) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words with typos replaced, and a note per replacement ("apointment->appointment")."""
    out, notes = [], []
    for word in words:
        if (word,) in names.phrases or word in LEXICON.known or len(word) < FUZZY_MIN_LENGTH:
            out.append(word)  # a known word or a child's name is never somebody's typo
            continue
        fixed = correct_name(word, names) or correct(word)
        if fixed and fixed != word:
            notes.append(f"{word}->{fixed}")
            out.append(fixed)
        else:
            out.append(word)
    return tuple(out), tuple(notes)


def scan(words: tuple[str, ...], names: Names) -> list[Found]:
    """The phrases in ``words``, in order, none overlapping."""
    found: list[Found] = []
    i = 0
    while i < len(words):
        for size in names.sizes.get(words[i], ()):
            key = words[i : i + size]
            hits = LEXICON.phrases.get(key, ())
            named = names.phrases.get(key, ())
            if len(key) == size and (hits or named):
                found.append(Found(i, i + size, hits, named))
                i += size
                break
        else:
            i += 1
    return found
