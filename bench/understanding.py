"""What does ``flows.understanding.understand`` cost per message?

Run from the repository root::

    .venv/bin/python -m bench.understanding [--size N] [--seed N]

It builds a deterministic sample of inbound messages (the labelled examples of every
language, long first enquiries, menu digits, emoji and junk), warms everything up over the
whole sample, then times one pass of each function over it in the same run: ``str.lower``
(the floor: a Python call on the text), ``parse_when`` alone (what the day/time question
costs today) and ``understand`` with the clinic's vocabulary already indexed, and once more
with the vocabulary index rebuilt for every message (the cost of a clinic or contact seen for
the first time). The target is informational: the exit code is 0 whatever it says.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Callable

from bench.sampling import Kinds, timed, weighted_sample
from flows.parsing import parse_when
from flows.understanding import understand
from flows.understanding.evaluate import EVALUATION_NOW, EVALUATION_VOCABULARY
from flows.understanding.examples import TRAIN_FILES, load
from flows.understanding.vocabulary import names_for

TARGET_MEAN_MS = 1.0  # "a few milliseconds at most": we aim well under one
TARGET_P99_MS = 5.0

LONG = (
    "Hello! We moved to Bengaluru recently and my son Aarav (5 years) was getting speech "
    "therapy in Pune twice a week. His therapist there suggested we continue without a long "
    "break. Could you please let us know if we can book a speech therapy session with a "
    "female therapist sometime next week, preferably in the evening after 4 because he has "
    "school till 3? Also is there parking near the clinic? Thank you so much, Asha. "
)
JUNK = ["1", "2", "3.", "२", "👍", "🙏🙏", "??", "asdf", "'; DROP TABLE x; --", "9876543210"]


def build_sample(size: int, seed: int) -> list[tuple[str, str]]:
    """``size`` (kind, message) pairs, always the same for the same seed."""
    rnd = random.Random(seed)
    labelled = [e.text for name in (*TRAIN_FILES, "heldout") for e in load(name)]
    kinds: Kinds = [
        ("labelled example", 0.80, lambda: rnd.choice(labelled)),
        ("digit/emoji/junk", 0.14, lambda: rnd.choice(JUNK)),
        ("long (80-1600 chars)", 0.05, lambda: (LONG * 4)[: rnd.randint(80, 1600)]),
        ("10,000 chars", 0.01, lambda: rnd.choice("x5🙂 ") * 10_000),
    ]
    return weighted_sample(kinds, size, rnd)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--size", type=int, default=2000)
    options.add_argument("--seed", type=int, default=2026)
    args = options.parse_args(argv)

    sample = build_sample(args.size, args.seed)
    messages = [message for _, message in sample]

    def ours(message: str) -> object:
        return understand(message, vocabulary=EVALUATION_VOCABULARY, now=EVALUATION_NOW)

    def cold(message: str) -> object:
        names_for.cache_clear()
        return ours(message)

    def when(message: str) -> object:
        return parse_when(message, EVALUATION_NOW)

    functions: dict[str, Callable[[str], object]] = {
        "str.lower": str.lower,
        "parse_when": when,
        "understand": ours,
        "understand, cold vocabulary": cold,
    }
    for function in functions.values():  # warm-up, untimed (imports, caches, dateparser)
        for message in messages:
            function(message)
    timings = {name: timed(function, messages) for name, function in functions.items()}

    n = len(messages)
    print(f"understand: {n:,} inbound messages (seed {args.seed}), now = {EVALUATION_NOW}")
    print(f"  {'function':<30}{'mean µs':>10}{'p50 µs':>10}{'p99 µs':>10}{'max µs':>10}")
    for name, seconds in timings.items():
        ordered = sorted(seconds)
        print(
            f"  {name:<30}{statistics.fmean(seconds) * 1e6:>10.1f}"
            f"{ordered[n // 2] * 1e6:>10.1f}{ordered[int(n * 0.99)] * 1e6:>10.1f}"
            f"{ordered[-1] * 1e6:>10.1f}"
        )
    print(f"  {'kind':<30}{'count':>10}{'understand µs':>15}")
    by_kind: dict[str, list[int]] = {}
    for index, (kind, _) in enumerate(sample):
        by_kind.setdefault(kind, []).append(index)
    for kind, indexes in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        mean = sum(timings["understand"][i] for i in indexes) / len(indexes) * 1e6
        print(f"  {kind:<30}{len(indexes):>10}{mean:>15.1f}")
    mean_ms = statistics.fmean(timings["understand"]) * 1e3
    p99_ms = sorted(timings["understand"])[int(n * 0.99)] * 1e3
    for baseline in ("str.lower", "parse_when"):
        ratio = sum(timings["understand"]) / sum(timings[baseline])
        print(f"  understand costs {ratio:,.1f}x {baseline}")
    verdict = "PASS" if mean_ms <= TARGET_MEAN_MS and p99_ms <= TARGET_P99_MS else "MISS"
    print(
        f"  understand: mean {mean_ms:.3f} ms, p99 {p99_ms:.3f} ms   target: mean <= "
        f"{TARGET_MEAN_MS} ms, p99 <= {TARGET_P99_MS} ms   {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
