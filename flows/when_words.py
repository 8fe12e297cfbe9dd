"""The words and shapes ``flows.parsing`` reads dates and times from: the result type
(:class:`When`), the vocabulary (English, Hinglish, Hindi) and the tokeniser.

The rules are documented once, in ``flows.parsing``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from types import MappingProxyType
from typing import Any, Final, Literal

PartOfDay = Literal["morning", "afternoon", "evening"]

# Clinic-local [start, end) of each part of the day.
PART_OF_DAY_WINDOWS: Final[Mapping[PartOfDay, tuple[time, time]]] = MappingProxyType(
    {
        "morning": (time(8), time(12)),
        "afternoon": (time(12), time(16)),
        "evening": (time(16), time(21)),
    }
)

MAX_INPUT_CHARS: Final = 60
_MAX_TOKENS: Final = 16


@dataclass(frozen=True, slots=True)
class When:
    """A clinic-local day and/or time and/or part of the day, as the patient said it."""

    date: date | None  # None when only a time or part of day was said ("5pm", "evening")
    time: time | None = None
    part: PartOfDay | None = None


# --- vocabulary ----------------------------------------------------------------------------

VOCAB: dict[str, tuple[str, Any]] = {}


def _words(kind: str, value: Any, *words: str) -> None:
    for word in words:
        VOCAB[unicodedata.normalize("NFKC", word).casefold()] = (kind, value)


# fmt: off
_words("rel", 0, "today", "tdy", "tday", "aaj", "aj", "आज")
_words(
    "rel", 1, "tomorrow", "tmrw", "tmr", "tmrow", "tmw", "tomo", "tomorow", "tommorow",
    "tommorrow", "tomorrrow", "tomm", "kal", "kall", "कल",
)
_words("rel", 2, "overmorrow", "parso", "parson", "parsoon", "parsun", "parsu", "परसों", "परसो")
_words("tonight", None, "tonight", "tonite")
for _index, _names in enumerate(
    (
        ("monday", "mon", "somvar", "somwar", "somvaar", "सोमवार"),
        ("tuesday", "tue", "tues", "mangalvar", "mangalwar", "मंगलवार"),
        ("wednesday", "wed", "weds", "budhvar", "budhwar", "budhwaar", "बुधवार"),
        ("thursday", "thu", "thur", "thurs", "guruvar", "guruwar", "veervar", "brihaspativar",
         "गुरुवार", "बृहस्पतिवार"),
        ("friday", "fri", "shukravar", "shukrawar", "shukarvar", "शुक्रवार"),
        ("saturday", "sat", "shanivar", "shaniwar", "sanivar", "शनिवार"),
        ("sunday", "sun", "ravivar", "raviwar", "itwar", "itvar", "itvaar", "रविवार", "इतवार"),
    )
):
    _words("weekday", _index, *_names)
for _index, _names in enumerate(
    (
        ("january", "jan", "जनवरी"),
        ("february", "feb", "febuary", "फ़रवरी", "फरवरी"),
        ("march", "mar", "मार्च"),
        ("april", "apr", "अप्रैल"),
        ("may", "मई"),
        ("june", "jun", "जून"),
        ("july", "jul", "जुलाई"),
        ("august", "aug", "अगस्त"),
        ("september", "sep", "sept", "सितंबर", "सितम्बर"),
        ("october", "oct", "अक्टूबर", "अक्तूबर"),
        ("november", "nov", "नवंबर", "नवम्बर"),
        ("december", "dec", "दिसंबर", "दिसम्बर"),
    ),
    start=1,
):
    _words("month", _index, *_names)
_words("part", "morning", "morning", "mrng", "morn", "mornin", "subah", "subha", "subeh", "सुबह")
_words(
    "part", "afternoon", "afternoon", "aftn", "dopahar", "dopehar", "dophar", "dopaher", "दोपहर"
)
_words(
    "part", "evening", "evening", "eve", "evng", "eveng", "shaam", "sham", "saam", "शाम",
    "night", "nite", "raat", "रात",
)
_words("next", None, "next", "nxt", "agle", "agla", "agli", "अगले", "अगला")
_words("this", None, "this", "coming", "is", "iss", "इस")
_words("meridiem", "am", "am")
_words("meridiem", "pm", "pm")
_words("oclock", None, "baje", "bje", "baj", "bajey", "bajay", "bajhe", "बजे", "oclock")
_words("noon", time(12), "noon", "midday")
_words("noon", time(0), "midnight")
_words("ordinal", None, "st", "nd", "rd", "th")
_words("at", None, "at")
_words("plus", 30, "half", "halfpast", "saade", "sade", "saadhe", "sadhe", "साढ़े")
_words("plus", 15, "quarterpast", "sava", "sawa", "savaa", "सवा")
_words("plus", -15, "quarterto", "paune", "pone", "paone", "पौने")
_words("fixed", (1, 30), "dedh", "derh", "डेढ़")
_words("fixed", (2, 30), "dhai", "dhaai", "ढाई")
for _index, _name in enumerate(
    ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
     "twelve"),
    start=1,
):
    _words("number", _index, _name)
_words("unit", 1, "day", "days", "din", "दिन")
_words("unit", 7, "week", "weeks", "wk", "wks", "hafte", "hafta", "हफ्ते", "हफ़्ते")
_words("later", None, "after", "later", "baad", "bad", "बाद")
_words(
    "filler", None, "on", "the", "of", "in", "for", "around", "about", "abt", "approx", "ok",
    "okay", "please", "pls", "plz", "maybe", "any", "anytime", "time", "ko", "ke", "ki", "ka",
    "se", "me", "mein", "mai", "pe", "ji", "sir", "madam", "mam", "maam", "को", "के", "की", "का",
    "से", "में", "पे", "जी",
)
# "I can come tomorrow", "kal chalega": words around a day that change nothing. Negations
# ("not", "can't", "nahi") are deliberately absent: an unknown word makes the message None.
_words(
    "filler", None, "i", "we", "can", "come", "will", "would", "be", "fine", "good", "great",
    "perfect", "works", "work", "suits", "best", "better", "hai", "chalega", "theek", "thik",
    "hoga", "है", "चलेगा", "ठीक",
)
# fmt: on

_TOMORROW_WORDS = frozenset(w for w, (k, v) in VOCAB.items() if k == "rel" and v == 1)
# dateparser's Hindi reads "कल" as yesterday or tomorrow and "परसों" as two days either way: a
# message with these words is ours to understand or to refuse, never dateparser's.
NOT_FOR_DATEPARSER = frozenset(
    unicodedata.normalize("NFKC", w) for w in ("कल", "परसों", "परसो", "kal", "kall")
)
DIGITS = frozenset("0123456789")


def is_number(token: str, max_digits: int = 2) -> bool:
    """``token`` is an ASCII number of at most ``max_digits`` digits."""
    return len(token) <= max_digits and token.isascii() and token.isdecimal()


# Tokens: digit groups joined by : / . - ("17:30", "25/11/2026"), ASCII words, Devanagari words
# (letters, vowel signs, virama, nukta; not the danda), and words in any other script, kept so
# that they make the message unknown instead of vanishing. Everything else separates tokens.
_TOKEN = re.compile(
    r"[0-9]+(?:[:/.\-][0-9]+)*|[a-z]+|[\u0900-\u0963\u0970-\u097f]+|[^\W_a-z0-9\u0900-\u097f]+"
)
_AM_PM_DOTTED = re.compile(r"(?<![a-z])([ap])\s?\.\s?m(?![a-z])\.?")
_TRANSLATE = {
    **{0x966 + digit: str(digit) for digit in range(10)},  # Devanagari digits
    **dict.fromkeys(map(ord, "'`\u00b4\u2018\u2019\u200b\u200c\u200d\u2060\ufeff"), None),
    ord("@"): " at ",
}
CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
DOTTED_PAIR = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})")
NUMERIC_DATE = re.compile(r"([0-9]{1,2})([/.\-])([0-9]{1,2})(?:\2([0-9]{4}|[0-9]{2}))?")
YEAR = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
ISO_DATE = re.compile(r"([0-9]{4})([/.\-])([0-9]{1,2})\2([0-9]{1,2})")
_PHRASES: Final[dict[tuple[str, ...], str]] = {
    ("o", "clock"): "oclock",
    ("half", "past"): "halfpast",
    ("quarter", "past"): "quarterpast",
    ("quarter", "to"): "quarterto",
    ("a", "m"): "am",
    ("p", "m"): "pm",
    ("2", "moro"): "tomorrow",
    ("2", "morrow"): "tomorrow",
    ("2", "mrw"): "tomorrow",
    ("2", "nite"): "tonight",
    ("2", "night"): "tonight",
}


def split_tokens(text: str, drop: str | None = None) -> list[str] | None:
    """Normalised tokens of ``text``; ``None`` when it is too long to be a date."""
    text = text.strip()
    if not text or len(text) > MAX_INPUT_CHARS:
        return None
    text = unicodedata.normalize("NFKC", text).casefold().translate(_TRANSLATE)
    text = _AM_PM_DOTTED.sub(r" \1m ", text)
    raw = _TOKEN.findall(text)
    if len(raw) > _MAX_TOKENS:
        return None
    tokens: list[str] = []
    i = 0
    while i < len(raw):
        word = raw[i]
        if i + 1 < len(raw) and (merged := _PHRASES.get((word, raw[i + 1]))):
            tokens.append(merged)
            i += 2
            continue
        if (
            word == "day"
            and i + 2 < len(raw)
            and raw[i + 1] == "after"
            and raw[i + 2] in _TOMORROW_WORDS
        ):
            tokens.append("overmorrow")
            i += 3
            continue
        if word != drop:
            tokens.append(word)
        i += 1
    return tokens
