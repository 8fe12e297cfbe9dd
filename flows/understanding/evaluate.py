"""How well ``understand`` reads a labelled file: intent, topic and entity accuracy and a
confusion table (rows: the true intent, columns: the intent read).

    .venv/bin/python -m flows.understanding.evaluate [--file heldout] [--errors]

Every file is read against the same demo clinic (``EVALUATION_VOCABULARY``, Roshni Clinic's
services and therapists, a guardian with two children) at a fixed "now" (``EVALUATION_NOW``),
so ``day=+1`` in a file means Tuesday 24 Nov 2026.
Entity accuracy counts, per entity, the examples that carry it or where it was read: an
entity read where none was labelled is an error too.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flows.understanding.examples import Example, load
from flows.understanding.lexicon import LEXICON
from flows.understanding.model import INTENTS, Named, Therapist, Understanding, Vocabulary
from flows.understanding.reader import understand

# Monday 23 Nov 2026, 10:00 in Kolkata.
EVALUATION_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
EVALUATION_VOCABULARY = Vocabulary(
    services=(
        Named(1, "Speech Therapy Session"),
        Named(2, "Occupational Therapy Session"),
        Named(3, "Physiotherapy Session"),
        Named(4, "Group Speech Therapy"),
        Named(5, "Assessment Session"),
    ),
    therapists=(
        Therapist(1, "Dr. Priya Nair", "female"),
        Therapist(2, "Rahul Mehta", "male"),
        Therapist(3, "Dr. Kavya Rao", "female"),
    ),
    patients=(Named(1, "Aarav Verma"), Named(2, "Anaya Verma")),
)
ENTITIES = ("service", "patient", "day")


def expected_services(kinds: tuple[str, ...]) -> tuple[int, ...]:
    """The evaluation clinic's service ids for the service kinds of a label."""
    by_kind = {"speech": 1, "occupational": 2, "physio": 3, "group": 4, "assessment": 5}
    unknown = set(kinds) - set(LEXICON.kinds)
    if unknown:
        raise ValueError(f"unknown service kinds {sorted(unknown)}")
    if "group" in kinds:
        return (4,)
    return tuple(by_kind[k] for k in kinds)


def expected(example: Example, entity: str) -> tuple:
    values = example.entities.get(entity, ())
    if entity == "service":
        return tuple(sorted(expected_services(values)))
    if entity == "patient":
        ids = {p.name.split()[0].casefold(): p.id for p in EVALUATION_VOCABULARY.patients}
        return tuple(sorted(ids[v.casefold()] for v in values))
    if entity == "day":
        return tuple(sorted(EVALUATION_NOW.date() + timedelta(days=int(v)) for v in values))
    raise ValueError(entity)


def read(result: Understanding, entity: str) -> tuple:
    if entity == "service":
        return tuple(sorted(result.service_ids))
    if entity == "patient":
        return tuple(sorted(result.patient_ids))
    if entity == "day":
        return tuple(sorted(result.days))
    raise ValueError(entity)


@dataclass
class Report:
    total: int = 0
    intents_right: int = 0
    topics_total: int = 0
    topics_right: int = 0
    entities: dict[str, list[int]] = field(default_factory=dict)  # entity -> [right, counted]
    confusion: Counter = field(default_factory=Counter)  # (true, read) -> count
    errors: list[str] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intents_right / self.total if self.total else 0.0

    @property
    def topic_accuracy(self) -> float:
        return self.topics_right / self.topics_total if self.topics_total else 0.0

    def entity_accuracy(self, entity: str) -> float:
        right, counted = self.entities.get(entity, [0, 0])
        return right / counted if counted else 1.0


def evaluate(examples: list[Example]) -> Report:
    report = Report(entities={entity: [0, 0] for entity in ENTITIES})
    for example in examples:
        result = understand(example.text, vocabulary=EVALUATION_VOCABULARY, now=EVALUATION_NOW)
        report.total += 1
        report.confusion[example.intent, result.intent] += 1
        problems = []
        if result.intent == example.intent:
            report.intents_right += 1
        else:
            problems.append(f"intent {result.intent}")
        if example.intent == "question":
            report.topics_total += 1
            if result.topic == example.topic:
                report.topics_right += 1
            else:
                problems.append(f"topic {result.topic}")
        for entity in ENTITIES:
            want, got = expected(example, entity), read(result, entity)
            if want or got:
                report.entities[entity][1] += 1
                if want == got:
                    report.entities[entity][0] += 1
                else:
                    problems.append(f"{entity} {got} (want {want})")
        if problems:
            label = example.intent + (f"/{example.topic}" if example.topic else "")
            report.errors.append(
                f"{example.source}: {example.text!r} [{label}]: {'; '.join(problems)}"
                f"  <- {', '.join(result.evidence) or 'no evidence'}"
            )
    return report


def confusion_table(report: Report) -> str:
    seen = [i for i in INTENTS if any(i in key for key in report.confusion)]
    short = {i: i[:6] for i in seen}
    corner = "true / read"
    lines = [f"{corner:<16}" + "".join(f"{short[i]:>7}" for i in seen)]
    for true in seen:
        cells = "".join(f"{report.confusion.get((true, got), 0) or '.':>7}" for got in seen)
        lines.append(f"{true:<16}{cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--file", default="heldout", help="a data/ file without .md")
    options.add_argument("--errors", action="store_true", help="list every miss")
    args = options.parse_args(argv)
    examples = [e for name in args.file.split(",") for e in load(name)]
    report = evaluate(examples)
    print(f"{args.file}: {report.total} examples")
    print(f"  intent accuracy  {report.intent_accuracy:6.1%}")
    print(f"  topic accuracy   {report.topic_accuracy:6.1%}  ({report.topics_total} questions)")
    for entity in ENTITIES:
        counted = report.entities[entity][1]
        print(f"  {entity + ' accuracy':<17}{report.entity_accuracy(entity):6.1%}  ({counted})")
    print()
    print(confusion_table(report))
    if args.errors and report.errors:
        print()
        print("\n".join(report.errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
