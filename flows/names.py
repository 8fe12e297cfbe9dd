"""People's names as typed in a chat: "my name is Farida Khan", "Mrs. Shalini Sharma",
"mera naam Pooja hai", "Aarav aur Anaya".

Pure functions: text in, names out. What a stored name may hold (length, no markup, no
links) is ``services.people.patients.clean_name``; these functions find the name in the
message and hand it to that rule.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from flows.parsing import parse_date_of_birth
from services.errors import InvalidInput
from services.people.patients import clean_name

MAX_NAME_WORDS = 4  # more words than this is a sentence, not a name

# Titles as typed → as written back. Kept apart from the name: "Mrs" is not a first name.
TITLES: dict[str, str] = {
    "mr": "Mr",
    "mister": "Mr",
    "mrs": "Mrs",
    "ms": "Ms",
    "miss": "Miss",
    "dr": "Dr",
    "doctor": "Dr",
    "prof": "Prof",
    "smt": "Smt",
    "shrimati": "Smt",
    "shri": "Shri",
    "sri": "Shri",
    "shree": "Shri",
    "kumari": "Kumari",
    "श्रीमती": "श्रीमती",
    "श्री": "श्री",
    "डॉ": "डॉ",
    "कुमारी": "कुमारी",
}

# How people introduce themselves (matched at the start, after a greeting), and the
# words that may close the sentence ("mera naam Pooja hai").
_INTRODUCTIONS = (
    "my name is",
    "my name s",
    "my names",
    "name is",
    "name",
    "i am",
    "i m",
    "im",
    "this is",
    "it is",
    "it s",
    "its",
    "myself",
    "mera naam",
    "mera nam",
    "mera name",
    "main",
    "mai",
    "मेरा नाम",
    "मैं",
)
# Phrases that can only be someone telling their name (a correction mid-chat needs these).
_EXPLICIT = frozenset({"my name is", "my name s", "my names", "mera naam", "mera nam", "मेरा नाम"})
# "main"/"mai" ("I" in Hinglish) are also names ("Mai Tran"): an introduction only when
# the sentence closes as one ("main Pooja hoon").
_NEEDS_CLOSING = frozenset({"main", "mai", "मैं"})
_CLOSINGS = ("hai", "hain", "hu", "hoon", "hun", "here", "speaking", "है", "हूँ", "हूं")
_GREETINGS = ("hi", "hii", "hello", "hey", "namaste", "namaskar", "नमस्ते", "good morning")
_CHILD_INTRODUCTIONS = (
    "my son s name is",
    "my daughter s name is",
    "my children are",
    "my kids are",
    "their names are",
    "names are",
    "my son",
    "my daughter",
    "my sons",
    "my daughters",
    "my child",
    "my children",
    "my kids",
    "son",
    "daughter",
    "mera beta",
    "meri beti",
    "mere bete",
    "mere bachche",
    "beta",
    "beti",
    "मेरा बेटा",
    "मेरी बेटी",
    "बेटा",
    "बेटी",
)
_CHILD_SEPARATORS = re.compile(r"\s*(?:,|&|\+|/|;|\band\b|\baur\b|\bn\b|और)\s*", re.IGNORECASE)

# Words that never appear in a name: a message holding one is about something else.
_NOT_NAME_TEXT = """
    yes no ok okay haan han nahi nahin hi hii hello hey thanks thank thankyou please
    menu help stop start talk cancel reschedule book booking appointment appointments
    session sessions therapy therapist speech physio ot pt st want need would like
    chahiye karna hai kal aaj tomorrow today morning evening the for to with at on in
    of is am are was my your me we you pay dues fee fees price time date what when where
    how who why can could not sure dont know hmm
    हाँ हां नहीं बुक सेशन थेरेपी कल आज
"""
_NOT_NAME_WORDS = frozenset(_NOT_NAME_TEXT.split())

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedName:
    """A name found in a message: ``name`` without any title, ``title`` apart."""

    name: str
    title: str | None = None
    explicit: bool = False  # said as "my name is …" / "mera naam …"

    @property
    def stored(self) -> str:
        """What to keep as the contact's name: a title alone with a surname stays
        ("Dr Rao"); otherwise the name without its title."""
        if self.title and len(self.name.split()) == 1:
            return f"{self.title} {self.name}"
        return self.name

    @property
    def greeting(self) -> str:
        """How to greet them: the first name, or "Dr Rao" when that is all we have."""
        return greeting_name(self.stored)


def person_name(text: str) -> ParsedName | None:
    """The person's own name in a message, or None when the message is not a name."""
    if not _acceptable(text):
        return None
    words, explicit = _strip_phrases(_words(text), _INTRODUCTIONS, greet=True)
    if words is None:
        return None
    title = None
    if words and (canon := TITLES.get(words[0].casefold().rstrip("."))):
        title, words = canon, words[1:]
    name = _name_from(words)
    if name is None:
        return None
    return ParsedName(name=name, title=title, explicit=explicit)


def child_names(text: str) -> list[str]:
    """The names in "Aarav and Anaya", "Aarav, Anaya", "आरव और अनाया", "my son Aarav";
    an empty list when any part is not a name."""
    if not _acceptable(text):
        return []
    names: list[str] = []
    for index, part in enumerate(_CHILD_SEPARATORS.split(text)):
        words, _ = _strip_phrases(_words(part), _CHILD_INTRODUCTIONS, greet=index == 0)
        if not words or _key(words) in _CHILD_INTRODUCTIONS:
            continue  # "my son, Aarav"; "Aarav,"
        name = _name_from(words)
        if name is None:
            return []
        if name.casefold() not in (n.casefold() for n in names):
            names.append(name)
    return names


def name_and_date_of_birth(
    text: str, today: date, *, date_order: str = "DMY"
) -> tuple[str, date] | None:
    """ "Asha Verma, 12/03/2019" → the name and the date of birth; None unless both are there."""
    tokens = (text or "").replace(",", " , ").split()
    for cut in range(len(tokens) - 1, 0, -1):
        born = parse_date_of_birth(" ".join(tokens[cut:]), today, date_order=date_order)
        if born is None:
            continue
        left = " ".join(tokens[:cut]).strip(" ,")
        names = child_names(left)
        if len(names) == 1:
            return names[0], born
    return None


def greeting_name(stored: str | None) -> str:
    """The name to greet a stored name with: "Shalini" for "Shalini Sharma", "Dr Rao"."""
    words = (stored or "").split()
    if not words:
        return ""
    if words[0].casefold().rstrip(".") in TITLES and len(words) > 1:
        rest = words[1:]
        return f"{TITLES[words[0].casefold().rstrip('.')]} {rest[0]}" if len(rest) == 1 else rest[0]
    return words[0]


# --- internals -------------------------------------------------------------------------


def _acceptable(text: str) -> bool:
    """The stored-name rule on the whole message first: markup or a link anywhere, or a
    message longer than any name, is not a name to clean up but something else."""
    try:
        clean_name(text)
    except InvalidInput:
        return False
    return True


def _words(text: str) -> list[str]:
    """Letters, marks, apostrophes, hyphens and full stops only: emoji and punctuation go."""
    text = unicodedata.normalize("NFKC", text or "")
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] in ("L", "M", "N") or ch in "'’-." or ch.isspace():
            kept.append("'" if ch == "’" else ch)
        else:
            kept.append(" ")
    return _SPACES.sub(" ", "".join(kept)).strip().split()


def _key(words: list[str]) -> str:
    """Words as compared with the phrase lists: lower case, "name's" as "name s"."""
    return " ".join(w.casefold().replace("'", " ").strip(".") for w in words)


def _strip_phrases(
    words: list[str], phrases: tuple[str, ...], *, greet: bool
) -> tuple[list[str] | None, bool]:
    """Drop a greeting, then one introduction phrase, then closing words. Returns the rest
    and whether the introduction was an explicit "my name is"."""
    explicit = False
    if greet:
        for greeting in _GREETINGS:
            size = len(greeting.split())
            if _key(words[:size]) == greeting and len(words) > size:
                words = words[size:]
                break
    closed = bool(words) and _key(words[-1:]) in _CLOSINGS
    for phrase in sorted(phrases, key=len, reverse=True):
        if phrase in _NEEDS_CLOSING and not closed:
            continue
        typed = _consumed(words, phrase)
        if typed is not None and typed < len(words):
            words = words[typed:]
            explicit = phrase in _EXPLICIT
            break
    while words and _key(words[-1:]) in _CLOSINGS:
        words = words[:-1]
    return words, explicit


def _consumed(words: list[str], phrase: str) -> int | None:
    """How many typed words make up ``phrase`` at the start of ``words``."""
    wanted = phrase.split()
    got: list[str] = []
    for count, word in enumerate(words, start=1):
        got.extend(_key([word]).split())
        if got == wanted:
            return count
        if got != wanted[: len(got)]:
            return None
    return None


def _name_from(words: list[str]) -> str | None:
    words = [w.strip(".'-") for w in words]
    words = [w for w in words if w]
    if not words or len(words) > MAX_NAME_WORDS:
        return None
    if any(any(ch.isdigit() for ch in w) for w in words):
        return None
    if any(w.casefold() in _NOT_NAME_WORDS for w in words):
        return None
    if any(len(w) == 1 and w.isascii() for w in words) and len(words) == 1:
        return None  # "I", "k"
    name = " ".join(_capitalise(w) for w in words)
    try:
        return clean_name(name)
    except InvalidInput:
        return None


def _capitalise(word: str) -> str:
    """Fix the case gently: "asha" and "ASHA" become "Asha"; "McDonald" stays."""
    if not word.isascii() or not (word.islower() or word.isupper()):
        return word
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


def mentioned(text: str, names: list[str]) -> list[int]:
    """Which of ``names`` the text mentions, by full or first name ("Anaya's Tuesday
    session" mentions "Anaya Verma"), as indexes into ``names``."""
    said = f" {_key(_words(text))} ".replace(" s ", " ")
    found = []
    for index, name in enumerate(names):
        full = _key(_words(name))
        if full and (f" {full} " in said or f" {full.split()[0]} " in said):
            found.append(index)
    return found
