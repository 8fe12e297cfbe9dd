"""The shared lexicon: the words and phrases of data/lexicon.{en,hinglish,hi}.toml, folded and
indexed once at import, and the one way text is folded and cut into tokens.

Every entry becomes a :class:`Hit` (what the phrase means: an intent cue, a topic, a service
kind, a gender, a time constraint, ...) under its token tuple, so a sentence is read with one
longest-match scan (``flows.understanding.reading``). Typos of words of five letters or more
are mapped to the nearest lexicon word with RapidFuzz (``correct``).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from rapidfuzz import fuzz, process

from flows.parsing import when_word_kind
from flows.understanding.model import INTENTS, LANGUAGES, TOPICS

DATA: Final = Path(__file__).resolve().parent / "data"
STRONG: Final = 3.0
WEAK: Final = 0.75
# A word is corrected only when it is this long and this close (RapidFuzz ratio, 0-100) to a
# lexicon word: "apointment" -> "appointment", "reshedule" -> "reschedule".
FUZZY_MIN_LENGTH: Final = 5
FUZZY_CUTOFF: Final = 85.0

_TRANSLATE: Final = {
    **{0x966 + digit: str(digit) for digit in range(10)},  # Devanagari digits
    0x93C: None,  # nukta: "फ़ीस" and "फीस" are one word
    0x901: 0x902,  # chandrabindu as anusvara: "हाँ" and "हां" are one word
    **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\ufe0f"), None),
}
_AM_PM_DOTTED: Final = re.compile(r"(?<![a-z])([ap])\s?\.\s?m(?![a-z])\.?")
_TOKEN: Final = re.compile(
    r"[0-9]+(?:[:/.\-][0-9]+)*|[a-z\u00e0-\u024f]+|[\u0900-\u0963\u0970-\u097f]+|[₹?]"
)


def fold(text: str) -> str:
    """Casefolded NFKC text with Devanagari digits, nukta and chandrabindu folded."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_TRANSLATE)
    return _AM_PM_DOTTED.sub(r" \1m ", text)


def tokens(text: str) -> tuple[str, ...]:
    """The words, numbers, "₹" and "?" of ``text``: "Aarav's" is "aarav", "s"."""
    return tuple(_TOKEN.findall(fold(text)))


@dataclass(frozen=True, slots=True)
class Hit:
    """What a phrase means. ``kind`` is one of: "cue" (value: an intent), "marker" (a
    question word), "topic", "service" (a kind of therapy), "service_hint" (the kind a
    symptom points to), "gender", "self", "child", "any", "earliest", "or", "and", "after",
    "before", "between", "after_suffix", "before_suffix", "named" (value: ("after" |
    "before", "HH:MM")), "days" (value: "weekend", "next_week", ...). ``language`` is the
    lexicon file it came from."""

    kind: str
    value: object = None
    weight: float = 0.0
    language: str = "en"


@dataclass(frozen=True)
class ServiceKind:
    name: str
    match: tuple[str, ...]  # words that find it in a clinic's service names
    qualifier: bool  # "group", "assessment": a service named with it is only meant when said


@dataclass(frozen=True)
class Lexicon:
    phrases: dict[tuple[str, ...], tuple[Hit, ...]]
    whole: dict[tuple[str, ...], str]  # a whole message -> intent
    emoji: dict[str, str]  # an emoji -> intent
    kinds: dict[str, ServiceKind]
    markers: dict[str, str]  # a word -> the language it marks ("en" | "hinglish")
    sizes: dict[
        str, tuple[int, ...]
    ]  # first word -> lengths of the phrases it starts, longest first
    words: tuple[str, ...]  # single words of FUZZY_MIN_LENGTH - 1 letters or more: typo targets
    known: frozenset[str]  # every word the lexicon, its markers or parse_when know


def phrase_sizes(keys) -> dict[str, tuple[int, ...]]:
    """First word -> the lengths of the phrases starting with it, longest first."""
    sizes: dict[str, set[int]] = defaultdict(set)
    for key in keys:
        sizes[key[0]].add(len(key))
    return {word: tuple(sorted(found, reverse=True)) for word, found in sizes.items()}


def _key(phrase: str) -> tuple[str, ...]:
    return tokens(phrase)


def _load(language: str, into: dict[tuple[str, ...], list[Hit]], lexicon: dict) -> None:
    """Add one language's file to the index (``lexicon`` collects the other sections)."""
    with (DATA / f"lexicon.{language}.toml").open("rb") as file:
        data = tomllib.load(file)

    def add(phrase: str, hit: Hit) -> None:
        key = _key(phrase)
        if key:
            into[key].append(hit)

    for intent, phrases in data.get("whole", {}).items():
        _require(intent in INTENTS, f"{language}: unknown intent {intent!r} in [whole]")
        for phrase in phrases:
            lexicon["whole"][_key(phrase)] = intent
    for intent, weights in data.get("cues", {}).items():
        _require(intent in INTENTS, f"{language}: unknown intent {intent!r} in [cues]")
        for strength, weight in (("strong", STRONG), ("weak", WEAK)):
            for phrase in weights.get(strength, ()):
                add(phrase, Hit("cue", intent, weight, language))
    for phrase in data.get("question", {}).get("markers", ()):
        add(phrase, Hit("marker", None, 0.0, language))
    for topic, phrases in data.get("topics", {}).items():
        _require(topic in TOPICS, f"{language}: unknown topic {topic!r}")
        for phrase in phrases:
            add(phrase, Hit("topic", topic, 1.0 + 0.5 * (len(_key(phrase)) - 1), language))
    for kind, entry in data.get("services", {}).items():
        for phrase in entry.get("words", ()):
            add(phrase, Hit("service", kind, 1.0, language))
        for phrase in entry.get("hints", ()):
            add(phrase, Hit("service_hint", kind, 1.0, language))
        known = lexicon["kinds"].get(kind)
        lexicon["kinds"][kind] = ServiceKind(
            kind,
            tuple(known.match if known else ()) + tuple(entry.get("match", ())),
            bool(entry.get("qualifier", known.qualifier if known else False)),
        )
    for gender, phrases in data.get("gender", {}).items():
        for phrase in phrases:
            add(phrase, Hit("gender", gender, 0.0, language))
    for who, phrases in data.get("patient", {}).items():
        for phrase in phrases:
            add(phrase, Hit(who, None, 0.0, language))
    for phrase in data.get("answer", {}).get("any", ()):
        add(phrase, Hit("any", None, 0.0, language))
    times = data.get("time", {})
    for kind in ("earliest", "or", "and", "after", "before", "between"):
        for phrase in times.get(kind, ()):
            add(phrase, Hit(kind, None, 0.0, language))
    for kind in ("after_suffix", "before_suffix"):
        for phrase in times.get(kind, ()):
            add(phrase, Hit(kind, None, 0.0, language))
    for phrase, (side, clock) in times.get("named", {}).items():
        add(phrase, Hit("named", (side, clock), 0.0, language))
    for phrase, rule in times.get("days", {}).items():
        add(phrase, Hit("days", rule, 0.0, language))
    for word in data.get("language", {}).get("markers", ()):
        lexicon["markers"].setdefault(fold(word), language)
    for symbol, intent in data.get("emoji", {}).items():
        _require(intent in INTENTS, f"{language}: unknown intent {intent!r} in [emoji]")
        lexicon["emoji"][fold(symbol)] = intent


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise ValueError(f"flows/understanding/data: {problem}")


def load() -> Lexicon:
    """Read the three lexicon files; a wrong intent or topic name fails loudly here."""
    index: dict[tuple[str, ...], list[Hit]] = defaultdict(list)
    parts: dict = {"whole": {}, "kinds": {}, "markers": {}, "emoji": {}}
    for language in LANGUAGES:
        _load(language, index, parts)
    # A word only Hinglish entries use ("thoda", "jayega") marks Hinglish too.
    english = {
        w for key, hits in index.items() for w in key if any(h.language == "en" for h in hits)
    }
    english |= {w for w, language in parts["markers"].items() if language == "en"}
    for key, hits in index.items():
        if any(h.language == "hinglish" for h in hits):
            for word in key:
                if word.isascii() and word.isalpha() and word not in english:
                    parts["markers"].setdefault(word, "hinglish")
    # "mahila therapist" is a question about gender *and* names the gender.
    for key, hits in index.items():
        if any(h.kind == "topic" and h.value == "therapist_gender" for h in hits):
            genders = [h for w in key for h in index.get((w,), ()) if h.kind == "gender"]
            if genders and not any(h.kind == "gender" for h in hits):
                hits.append(genders[0])
    phrases = {key: tuple(hits) for key, hits in index.items()}
    singles = {word for key in [*phrases, *parts["whole"]] for word in key}
    words = tuple(sorted(w for w in singles if len(w) >= FUZZY_MIN_LENGTH - 1 and w.isalpha()))
    return Lexicon(
        phrases=phrases,
        whole=parts["whole"],
        emoji=parts["emoji"],
        kinds=parts["kinds"],
        markers=parts["markers"],
        sizes=phrase_sizes(phrases),
        words=words,
        known=frozenset(singles | set(parts["markers"])),
    )


LEXICON: Final = load()


def is_known(word: str) -> bool:
    return word in LEXICON.known or when_word_kind(word) is not None


@lru_cache(maxsize=8192)
def correct(word: str) -> str | None:
    """The lexicon word ``word`` is a typo of, or ``None`` (known, short, or nothing close)."""
    if len(word) < FUZZY_MIN_LENGTH or not word.isalpha() or is_known(word):
        return None
    return nearest_word(word, LEXICON.words)


def nearest_word(word: str, choices: tuple[str, ...]) -> str | None:
    """The closest of ``choices`` within ``FUZZY_CUTOFF``; between equally close ones, one with
    the same first letter ("paayenge" is "payenge", not "aayenge")."""
    found = process.extract(word, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=4)
    if not found:
        return None
    best = max(found, key=lambda f: (f[1], f[0][0] == word[0], -f[2]))
    return best[0]
