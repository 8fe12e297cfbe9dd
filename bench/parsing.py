"""How much faster is ``flows.parsing.parse_when`` than plain ``dateparser.parse``?

Run from the repository root::

    .venv/bin/python -m bench.parsing [--size N] [--seed N]

It builds a deterministic sample of chat messages of the kinds the bot receives when it asks
for a day or a time (English dates and times, Hinglish and Devanagari, menu digits, junk, long
messages, and phrasings only dateparser understands), warms both parsers up over the whole
sample, then times one pass of each over it in the same run: ``parse_when`` at a fixed clinic
"now" and ``dateparser.parse`` with its defaults (no settings). The target is informational: the
exit code is 0 whatever it says.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import dateparser

from bench.sampling import Kinds, timed, weighted_sample
from flows import parsing
from flows.parsing import parse_when

# Monday 23 Nov 2026, 09:00 in Kolkata: a fixed "now" keeps every run comparable.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
TARGET_RATIO = 20.0

DAYS = ["today", "tomorrow", "tmrw", "tmr", "day after tomorrow", "tonight", "Tomorrow"]
WEEKDAYS = ["monday", "mon", "Tue", "wednesday", "thu", "friday", "sat", "Sunday"]
MONTHS = ["Nov", "november", "Dec", "december", "jan", "January", "feb"]
TIMES = ["5pm", "5 pm", "4:45 pm", "17:30", "5.30 pm", "10am", "noon", "at 5", "11:15", "3"]
PARTS = ["morning", "afternoon", "evening", "in the evening"]
HINGLISH = [
    "kal", "aaj", "parso", "kal shaam", "kal subah", "aaj shaam", "kal 5 baje", "parso 11 baje",
    "kal shaam 5 baje", "subah 10 baje", "dopahar 2 baje", "saade 5", "paune 6", "agle somvar",
    "aaj raat 8 baje", "कल", "आज", "परसों", "कल शाम", "कल 5 बजे", "सोमवार", "२५ नवंबर",
]  # fmt: skip
JUNK = [
    "hi", "hello", "ok", "ok thanks", "thank you!", "yes", "no", "menu", "help", "asdf", "??",
    "🙂", "👍🏽", "🙏🙏", "what are your fees?", "where is the clinic", "talk", "cancel",
    "can I speak to Dr Priya", "'; DROP TABLE appointments; --", "9876543210",
    "my son has a cold", "same as last time", "any time is fine", "not sure",
]  # fmt: skip
ONLY_DATEPARSER = [
    "in 2 hours", "5pm UTC", "3 December 2026 at 17:00 hrs", "monday or tuesday",
    "first monday of december", "a week from monday", "05/09 17:00 hrs", "tomorrow 9:00:00",
]  # fmt: skip
LONG = (
    "Hello, I wanted to ask whether my son can come for his speech therapy session next week "
    "because we are travelling on the 25th and will only be back by the 30th, please let me "
    "know what works for Dr Priya and whether the fee is the same as before. Thanks! "
)


def _english(rnd: random.Random) -> str:
    day = rnd.randint(1, 28)
    forms: list[Callable[[], str]] = [
        lambda: rnd.choice(DAYS),
        lambda: rnd.choice(WEEKDAYS),
        lambda: f"next {rnd.choice(WEEKDAYS)}",
        lambda: f"{day} {rnd.choice(MONTHS)}",
        lambda: f"{rnd.choice(MONTHS)} {day}",
        lambda: f"{day}/{rnd.randint(1, 12)}",
        lambda: f"{day}-{rnd.randint(1, 12)}-2026",
        lambda: f"{day}.{rnd.randint(1, 12)}",
        lambda: f"the {day}th",
        lambda: rnd.choice(TIMES),
        lambda: rnd.choice(PARTS),
        lambda: f"{rnd.choice(DAYS)} {rnd.choice(TIMES)}",
        lambda: f"{rnd.choice(WEEKDAYS)} {rnd.choice(TIMES)}",
        lambda: f"{day} {rnd.choice(MONTHS)} at {rnd.choice(TIMES)}",
        lambda: f"{rnd.choice(DAYS)} {rnd.choice(PARTS)}",
    ]
    return rnd.choice(forms)()


def build_sample(size: int, seed: int) -> list[tuple[str, str]]:
    """``size`` (kind, message) pairs, always the same for the same seed."""
    rnd = random.Random(seed)
    kinds: Kinds = [
        ("english date/time", 0.33, lambda: _english(rnd)),
        ("hinglish/devanagari", 0.16, lambda: rnd.choice(HINGLISH)),
        ("menu digit", 0.22, lambda: str(rnd.randint(1, 9))),
        ("junk", 0.16, lambda: rnd.choice(JUNK)),
        ("only dateparser", 0.05, lambda: rnd.choice(ONLY_DATEPARSER)),
        ("long message", 0.06, lambda: (LONG * 4)[: rnd.randint(80, 1000)]),
        ("10,000 chars", 0.01, lambda: rnd.choice("x5🙂 ") * 10_000),
    ]
    return weighted_sample(kinds, size, rnd)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--size", type=int, default=1000)
    options.add_argument("--seed", type=int, default=2026)
    args = options.parse_args(argv)

    sample = build_sample(args.size, args.seed)
    messages = [message for _, message in sample]

    def ours(message: str) -> object:
        return parse_when(message, NOW)

    # Warm-up, untimed: both parsers see the whole sample once (dateparser loads its locales,
    # parse_when creates its shared DateDataParser); count what each understands on the way.
    fallback = parsing._dateparser_fallback
    with mock.patch.object(parsing, "_dateparser_fallback", side_effect=fallback) as spy:
        understood = sum(ours(message) is not None for message in messages)
    theirs = sum(dateparser.parse(message) is not None for message in messages)

    ours_s = timed(ours, messages)
    theirs_s = timed(dateparser.parse, messages)

    n = len(messages)
    print(
        f"parse_when vs dateparser.parse: {n:,} chat messages (seed {args.seed}), "
        f"now = {NOW:%a %d %b %Y %H:%M} {NOW.tzinfo}"
    )
    print(
        f"  understood: parse_when {understood} (dateparser fallback asked {spy.call_count}), "
        f"dateparser.parse {theirs} (it reads menu digits as dates too)"
    )
    print(f"  {'kind':<22}{'count':>6}{'parse_when µs':>15}{'dateparser µs':>15}")
    by_kind: dict[str, list[int]] = {}
    for index, (kind, _) in enumerate(sample):
        by_kind.setdefault(kind, []).append(index)
    for kind, indexes in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        mine = sum(ours_s[i] for i in indexes) / len(indexes) * 1e6
        other = sum(theirs_s[i] for i in indexes) / len(indexes) * 1e6
        print(f"  {kind:<22}{len(indexes):>6}{mine:>15.1f}{other:>15.1f}")
    print(f"  {'':<22}{'total s':>10}{'mean µs/message':>18}")
    for name, seconds in (("parse_when", sum(ours_s)), ("dateparser.parse", sum(theirs_s))):
        print(f"  {name:<22}{seconds:>10.4f}{seconds / n * 1e6:>18.1f}")
    ratio = sum(theirs_s) / sum(ours_s)
    short = [i for i, message in enumerate(messages) if len(message) <= parsing.MAX_INPUT_CHARS]
    short_ratio = sum(theirs_s[i] for i in short) / sum(ours_s[i] for i in short)
    verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
    print(
        f"  speed ratio: {ratio:.1f}x   target: parse_when >= {TARGET_RATIO:.0f}x faster than "
        f"dateparser.parse   {verdict}"
    )
    print(
        f"  (on the {len(short)} messages of at most {parsing.MAX_INPUT_CHARS} characters alone: "
        f"{short_ratio:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
