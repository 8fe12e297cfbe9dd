"""Labelled example messages (data/train.*.md, data/heldout.md) and the nearest-example lookup.

The files read like an NLU training file: a heading names the intent (``## book``) or the
question and its topic (``## question/fee``); each ``- `` line below it is one message, with
the entities it carries after ``|``::

    ## book
    - book OT for Aarav tomorrow at 11 | service=occupational patient=aarav day=+1

Entities: ``service=<kind>`` (a lexicon service kind: speech, occupational, physio, group,
assessment; several joined by ``,``), ``patient=<first name>``, ``day=<days after the
evaluation's "now">`` (several joined by ``,``), ``choice=<n>``, ``gender=female|male``.
A message without a key carries none of that entity.

The training examples also serve the reader: a message within a few typos of one of them
(RapidFuzz ratio >= ``NEAREST_CUTOFF``) leans to its intent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final

from rapidfuzz import fuzz, process

from flows.understanding.lexicon import DATA, tokens
from flows.understanding.model import INTENTS, LANGUAGES, TOPICS

NEAREST_CUTOFF: Final = 88.0
TRAIN_FILES: Final = tuple(f"train.{language}" for language in LANGUAGES)
ENTITY_KEYS: Final = frozenset({"service", "patient", "day", "choice", "gender"})


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    topic: str | None = None
    entities: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    source: str = ""  # file:line


def parse(path: Path) -> list[Example]:
    """The examples of one file; a wrong intent, topic or entity key fails loudly."""
    out: list[Example] = []
    intent, topic = None, None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path.name}:{number}"
        line = line.strip()
        if not line or (line.startswith("#") and not line.startswith("##")):
            continue
        if line.startswith("##"):
            intent, _, topic_name = line[2:].strip().partition("/")
            topic = topic_name or None
            if intent not in INTENTS or (topic is not None and topic not in TOPICS):
                raise ValueError(f"{where}: unknown intent or topic {line!r}")
            continue
        if not line.startswith("- ") or intent is None:
            raise ValueError(f"{where}: expected '## intent' or '- example'")
        text, _, labels = line[2:].partition("|")
        entities: dict[str, tuple[str, ...]] = {}
        for label in labels.split():
            key, _, value = label.partition("=")
            if key not in ENTITY_KEYS:
                raise ValueError(f"{where}: unknown entity {key!r}")
            entities[key] = tuple(value.split(","))
        out.append(Example(text.strip(), intent, topic, entities, where))
    return out


def load(name: str) -> list[Example]:
    """``name`` is a file of data/ without its ``.md``: "heldout", "train.en", ..."""
    return parse(DATA / f"{name}.md")


@cache
def _train() -> tuple[tuple[str, ...], tuple[Example, ...]]:
    examples = tuple(e for name in TRAIN_FILES for e in load(name))
    return tuple(" ".join(tokens(e.text)) for e in examples), examples


def nearest(folded: str) -> Example | None:
    """The training example ``folded`` (space-joined tokens) is nearly the same as."""
    if len(folded) < 4:
        return None
    texts, examples = _train()
    found = process.extractOne(folded, texts, scorer=fuzz.ratio, score_cutoff=NEAREST_CUTOFF)
    return examples[found[2]] if found else None
