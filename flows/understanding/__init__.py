"""The understanding layer: any inbound text -> an intent and its entities, in English,
Hinglish (Hindi in Latin letters) and Hindi (Devanagari).

Explainable and offline: a shared lexicon per language (data/lexicon.*.toml), the clinic's
own names (``Vocabulary``), typo-tolerant matching with RapidFuzz, ``flows.parsing`` for
days and times, and labelled examples (data/train.*.md) as near-duplicate exemplars. Measure
it with ``python -m flows.understanding.evaluate`` (held-out file: data/heldout.md).
"""

from flows.parsing import When
from flows.understanding.model import (
    INTENTS,
    TOPICS,
    Named,
    Therapist,
    Understanding,
    Vocabulary,
)
from flows.understanding.reader import understand

__all__ = [
    "INTENTS",
    "TOPICS",
    "Named",
    "Therapist",
    "Understanding",
    "Vocabulary",
    "When",
    "understand",
]
