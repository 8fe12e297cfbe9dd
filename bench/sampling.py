"""What the message benchmarks share: a weighted, seeded sample of chat messages and a timed
pass over it (bench/parsing.py, bench/understanding.py)."""

from __future__ import annotations

import random
import time as clock
from collections.abc import Callable

# (kind, weight, make one message)
Kinds = list[tuple[str, float, Callable[[], str]]]


def weighted_sample(kinds: Kinds, size: int, rnd: random.Random) -> list[tuple[str, str]]:
    """``size`` (kind, message) pairs drawn by weight; the same for the same ``rnd`` seed."""
    weights = [weight for _, weight, _ in kinds]
    sample = []
    for _ in range(size):
        kind, _, make = rnd.choices(kinds, weights)[0]
        sample.append((kind, make()))
    return sample


def timed(function: Callable[[str], object], messages: list[str]) -> list[float]:
    """Seconds per message, one pass in order."""
    seconds = []
    for message in messages:
        started = clock.perf_counter()
        function(message)
        seconds.append(clock.perf_counter() - started)
    return seconds
