"""``understand``: one inbound text -> an :class:`Understanding`.

How an intent is chosen, in order (every step can be read off ``Understanding.evidence``):

1. A reference (APT-2026-000042) is taken out of the text first.
2. A bare number ("2", "option 2", "२") is intent "other" with ``choice`` set.
3. The whole message, folded, is a ``[whole]`` entry of the lexicon ("haan ji", "stop",
   "हिंदी", "thank you 🙏", "👍"): that intent.
4. Otherwise every phrase found (longest first, typos corrected) adds its weight to an
   intent: strong cues 3, weak cues 0.75; a topic makes a question (2, plus 1 for a
   question word and 1 for "?"), a service, a patient, a child or a day leans to booking;
   a training example within a few typos of the whole message adds 2 to its intent. The
   highest total wins; ties go to the earlier intent in ``_PRIORITY``; nothing at all is
   "other" (or "question" when it asks something).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from flows.parsing import When, parse_number
from flows.understanding.examples import nearest
from flows.understanding.lexicon import LEXICON, STRONG, fold, tokens
from flows.understanding.model import TOPICS, Understanding, Vocabulary
from flows.understanding.repeat import read_repeat
from flows.understanding.scan import Found, corrected, scan
from flows.understanding.vocabulary import Names, names_for
from flows.understanding.when import Times, read_times

_REFERENCE = re.compile(r"\bapt[\s\-_#]*([0-9]{4})[\s\-_/]*([0-9]{1,6})\b", re.IGNORECASE)
_CHOICE = re.compile(r"^\s*(?:option|opt|choice|no\.?|number|num|#)?\s*(.+?)\s*$")
_DEVANAGARI = re.compile(r"[\u0900-\u0965\u0970-\u097f]")  # letters, not digits
_LATIN = re.compile(r"[a-z]")
# Strongest claim first: a message that both asks to stop and to book is a stop.
_PRIORITY = (
    "stop",
    "start",
    "language",
    "talk",
    "running_late",
    "cancel",
    "reschedule",
    "pay",
    "my_appointments",
    "question",
    "book",
    "help",
    "menu",
    "thanks",
    "greeting",
    "yes",
    "no",
    "other",
)
# More specific topics win ties over the general ones at the end.
_TOPIC_ORDER = (
    "therapist_gender",
    "cancellation_policy",
    "reschedule_policy",
    "payment_methods",
    "open_day",
    "online",
    "parking",
    "fee",
    "address",
    "hours",
    "therapists",
    "services",
)
assert set(_TOPIC_ORDER) == set(TOPICS)
TOPIC_WEIGHT = 2.0
EXTRA_TOPIC_WEIGHT = 0.5  # each further topic phrase: "is there a fee if i cancel late"
MARKER_WEIGHT = 1.0
UNTOPICAL_MARKER_WEIGHT = 0.5  # a question about nothing known leans less
POSSESSIVE_WEIGHT = 3.0  # "Anaya's appointment", "Aarav ki booking": a session already booked
OPENING_ANSWER_WEIGHT = 1.5  # "yes tomorrow at 5 works", "no, friday is better"
# Asking about a policy names its action ("can I pay by card?", "refund if I cancel?"): when
# such a topic is asked about, the action's own cue counts half.
_POLICY_ACTIONS = {
    "payment_methods": "pay",
    "cancellation_policy": "cancel",
    "reschedule_policy": "reschedule",
}
# Words that change nothing in a one-word answer: "yes pls", "ok ji".
_POLITE = frozenset({"pls", "plz", "please", "ji", "sir", "madam", "mam", "maam", "dear", "jee"})
_BOOKED_THINGS = frozenset(
    {"appointment", "appointments", "session", "sessions", "booking", "bookings", "slot"}
)
# A whole message with these intents carries no day: "good morning", "good night".
_NO_ENTITIES = frozenset({"greeting", "thanks", "help", "menu", "stop", "start", "language"})
_POSSESSIVE = frozenset({"s", "ki", "ka", "ke", "की", "का", "के"})
EXAMPLE_WEIGHT = 2.0
# WhatsApp's longest message; anything past it is not a patient's message.
MAX_CHARS = 4096
# Training examples are short: a long message is never "nearly" one of them.
MAX_EXAMPLE_CHARS = 200
# What a session request carries leans to the action said ("cancel Anaya's Tuesday session")
# or, when none is said, to booking ("OT for Aarav tomorrow").
LEANS = {"service": 1.0, "patient": 0.5, "therapist": 0.5, "child": 0.5, "self": 0.5, "day": 0.5}
_ACTIONS = ("cancel", "reschedule", "my_appointments", "book")


def _language(words: tuple[str, ...], text: str) -> str | None:
    if _DEVANAGARI.search(text):
        return "hi"
    counts = {"en": 0, "hinglish": 0}
    for word in words:
        marked = LEXICON.markers.get(word)
        if marked in counts:
            counts[marked] += 1
    if counts["hinglish"] and counts["hinglish"] >= counts["en"]:
        return "hinglish"
    if counts["en"] or _LATIN.search(fold(text)):
        return "en"
    return None


def _choice(text: str) -> int | None:
    if len(text) > 20:  # "option 12." at most
        return None
    match = _CHOICE.match(fold(text))
    if not match:
        return None
    number = parse_number(match[1])
    return number if number is not None and 0 < number < 100 else None


def _emoji_intent(text: str) -> str | None:
    """The intent of a message made of emoji (and spaces) only."""
    folded = fold(text)
    intents = set()
    for char in folded:
        if char.isspace() or 0x1F3FB <= ord(char) <= 0x1F3FF:  # skin tones
            continue
        intent = LEXICON.emoji.get(char)
        if intent is None:
            return None
        intents.add(intent)
    return intents.pop() if len(intents) == 1 else None


def _whole(words: tuple[str, ...], text: str) -> str | None:
    """The intent of a message that is one ``[whole]`` entry, give or take "pls" and "?",
    or whose every word is such an entry of one intent ("ok done", "haan ok")."""
    bare = tuple(w for w in words if w != "?") or words
    polite = tuple(w for w in bare if w not in _POLITE) or bare
    for candidate in (bare, polite, words):
        if intent := LEXICON.whole.get(candidate):
            return intent
    singles = {LEXICON.whole.get((w,)) for w in polite}
    if len(polite) > 1 and None not in singles:
        if len(singles) == 1:
            return singles.pop()
        if singles == {"no", "thanks"}:  # "nahi shukriya", "नहीं धन्यवाद"
            return "no"
    return _emoji_intent(text)


def yes_or_no(text: str) -> bool | None:
    """True for a plain yes ("yes", "haan ji", "हाँ", "👍", "ok done"), False for a plain no
    ("nahi", "no thanks"), None for anything else: the lexicon's whole-message words, the
    one list every question with a yes or a no reads."""
    if not isinstance(text, str):
        return None
    intent = _whole(tokens(text[:MAX_CHARS]), text)
    return True if intent == "yes" else False if intent == "no" else None


def _possessive(words: tuple[str, ...], found: list[Found]) -> bool:
    """A known patient's session: "Anaya's appointment", "Aarav ki booking"."""
    for item in found:
        if any(kind == "patient" for kind, _ in item.names):
            j = item.end
            if j < len(words) and words[j] in _POSSESSIVE:
                j += 1
            if j < len(words) and words[j] in _BOOKED_THINGS:
                return True
    return False


def _services(found: list[Found], names: Names) -> tuple[int, ...]:
    named = [i for f in found for kind, i in f.names if kind == "service"]
    kinds = [h.value for f in found for h in f.hits if h.kind == "service"]
    if not named and not kinds:
        kinds = [h.value for f in found for h in f.hits if h.kind == "service_hint"]
    qualifiers = {k.name for k in LEXICON.kinds.values() if k.qualifier}
    said = set(kinds)
    ids: list[int] = list(named)
    for kind in kinds:
        matching = names.kinds.get(str(kind), ())
        # "speech" means the speech session, not "Group Speech Therapy", unless "group" is said.
        plain = [
            i
            for i in matching
            if not any(
                q not in said and any(m in names.services[i] for m in LEXICON.kinds[q].match)
                for q in qualifiers
                if q != kind
            )
        ]
        ids.extend(plain or matching)
    if len(said & qualifiers) and len(set(ids)) > 1:
        # "group speech": the services that carry every kind said
        both = [
            i
            for i in ids
            if all(
                any(m in names.services[i] for m in LEXICON.kinds[str(k)].match)
                for k in said
                if LEXICON.kinds[str(k)].match
            )
        ]
        ids = both or ids
    return tuple(dict.fromkeys(ids))


def understand(text: str, *, vocabulary: Vocabulary, now: datetime) -> Understanding:
    """Intent and entities of one inbound message; see the module docstring."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime in the clinic's zone")
    text = text[:MAX_CHARS] if isinstance(text, str) else ""
    reference = None
    if match := _REFERENCE.search(text):
        reference = f"APT-{match[1]}-{int(match[2]):06d}"
        text = text[: match.start()] + " " + text[match.end() :]
    names = names_for(vocabulary)
    raw = tokens(text)
    language = _language(raw, text)
    words, notes = corrected(raw, names)
    found = scan(words, names)
    times = read_times(words, found, now, vocabulary.date_order)
    repeat = read_repeat(words, raw)
    if repeat is not None:  # a course's days are weekdays, not dates: keep the time of day
        if repeat.used:  # "8 weeks" is the course's length, not a day eight weeks away
            rest = tuple(w for i, w in enumerate(words) if i not in repeat.used)
            times = read_times(rest, scan(rest, names), now, vocabulary.date_order)
        clock = times.when.time if times.when is not None else None
        times = Times(
            when=When(None, clock) if clock is not None else None,
            after=times.after,
            before=times.before,
        )
    hits = [hit for item in found for hit in item.hits]
    kinds = {hit.kind for hit in hits}
    patients = tuple(dict.fromkeys(i for f in found for k, i in f.names if k == "patient"))
    therapists = tuple(dict.fromkeys(i for f in found for k, i in f.names if k == "therapist"))
    services = _services(found, names)
    genders = [str(hit.value) for hit in hits if hit.kind == "gender"]
    evidence: list[str] = [f"typo {note}" for note in notes]

    topic_scores: dict[str, float] = defaultdict(float)
    for hit in hits:
        if hit.kind == "topic":
            topic_scores[str(hit.value)] += hit.weight
    topic = (
        max(_TOPIC_ORDER, key=lambda t: (topic_scores.get(t, 0.0), -_TOPIC_ORDER.index(t)))
        if topic_scores
        else None
    )
    asks = "marker" in kinds or "?" in words

    intent, score = "other", 0.0
    choice = _choice(text) if reference is None else None
    bare = tuple(w for w in words if w != "?") or words
    whole = _whole(words, text)
    if choice is not None:
        evidence.append(f"choice {choice}")
    elif whole is not None:
        intent, score = whole, 10.0
        evidence.append(f"whole message: {whole}")
        if whole in _NO_ENTITIES:
            times = Times()
    else:
        scores: dict[str, float] = defaultdict(float)
        for item in found:
            for hit in item.hits:
                if hit.kind == "cue":
                    weight = hit.weight
                    if item.start == 0 and hit.value in ("yes", "no"):
                        weight = max(weight, OPENING_ANSWER_WEIGHT)
                    scores[str(hit.value)] += weight
                    evidence.append(f"{' '.join(words[item.start : item.end])}: {hit.value}")
        if _possessive(words, found):
            scores["my_appointments"] += POSSESSIVE_WEIGHT
            evidence.append("a patient's session: my_appointments")
        signs = ("marker" in kinds) + ("?" in words)
        if topic is not None:
            topic_hits = sum(1 for hit in hits if hit.kind == "topic")
            scores["question"] += (
                TOPIC_WEIGHT + EXTRA_TOPIC_WEIGHT * (topic_hits - 1) + MARKER_WEIGHT * signs
            )
            evidence.append(f"topic {topic}")
            if asks and topic in _POLICY_ACTIONS:
                scores[_POLICY_ACTIONS[topic]] /= 2
        elif asks:
            scores["question"] += UNTOPICAL_MARKER_WEIGHT * signs
        leans = {
            "service": bool(services),
            "patient": bool(patients),
            "therapist": bool(therapists),
            "child": "child" in kinds,
            "self": "self" in kinds,
            "day": times.when is not None or bool(times.days),
        }
        said = [a for a in _ACTIONS if scores.get(a, 0.0) >= STRONG]
        action = max(said, key=lambda a: scores[a]) if said else "book"
        for lean, present in leans.items():
            if present:
                scores[action] += LEANS[lean]
        example = nearest(" ".join(bare)) if len(text) <= MAX_EXAMPLE_CHARS else None
        if example is not None:
            scores[example.intent] += EXAMPLE_WEIGHT
            evidence.append(f"like example {example.text!r}: {example.intent}")
        if scores:
            intent = max(_PRIORITY, key=lambda i: (scores.get(i, 0.0), -_PRIORITY.index(i)))
            score = scores[intent]
            if score < 1.0:
                intent, score = ("question", score) if asks else ("other", 0.0)
        if repeat is not None and intent in ("other", "book"):
            intent, score = "book", max(score, STRONG)
            evidence.append("a course of sessions: book")
    if intent != "book":
        repeat = None
    return Understanding(
        intent=intent,
        topic=topic if intent == "question" else None,
        language=language,
        choice=choice,
        service_ids=services,
        therapist_ids=therapists,
        therapist_gender=genders[0] if genders else None,
        patient_ids=patients,
        for_self="self" in kinds,
        for_child="child" in kinds,
        when=times.when,
        after=times.after,
        before=times.before,
        earliest="earliest" in kinds,
        days=times.days,
        reference=reference,
        anything="any" in kinds and intent in ("other", "yes"),
        repeat=repeat,
        score=score,
        whole=whole is not None and choice is None,
        evidence=tuple(evidence),
    )
