"""Which language to answer in, choosing and changing it, and how the clinic greets.

``written_in(text)`` is the one small guess about the script and words of a message:
Devanagari → Hindi; Latin-script Hindi ("mere bete ke liye speech therapy chahiye") →
Hinglish; anything else → English. It is deliberately small (a script check and a short
word list) and has no notion of intent: the understanding layer may replace it later.

``language_asked(text)`` reads the words that change the language from any state:
"language" offers English / हिंदी; "hindi", "हिंदी", "Hindi me" switch to Hindi;
"English" switches back. The choice is saved on the contact (audited) or, before consent
when there is no contact yet, in the conversation's data; the current question is then
asked again in the new language, so nothing is lost.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from flows.dialog import STATES, Turn, state
from models import Clinic
from services.people import patients

Written = Literal["hi", "hinglish", "en"]
Asked = Literal["choose", "hi", "en"]

HINDI = "hi"
ENGLISH = "en"
# Regions where the clinic greets "Namaste! 🌼"; elsewhere "Hello!" (Hindi readers always
# get "नमस्ते").
NAMASTE_REGIONS = frozenset({"IN", "NP"})

# Common Latin-script Hindi words that are not also everyday English ("me", "to", "hi",
# "do" are left out on purpose).
_HINGLISH = """
    aap aapka aapki aapke apka apki apke accha acha achha abhi baad bacche bachche bachcha
    baccha beta bete beti bhai chahiye chahie chaiye dijiye dijie hai hain haan haa hoon hun
    hum humein hume humko jaldi ji kab kaha kahan kaise kal karna karni karwana karwani
    karao kijiye kitna kitne kitni kripya kya kyu kyun liye lie mera meri mere mujhe mujhko
    nahi nahin namaskar namaste paise parso pehle raha rahi rahe sakte sakta sakti shaam
    sham subah subha shukriya dhanyavad dhanyawad theek thik wala wali wale tha thi
"""
HINGLISH_WORDS = frozenset(_HINGLISH.split())
_LANGUAGE_WORDS: dict[str, Asked] = {
    "language": "choose",
    "languages": "choose",
    "change language": "choose",
    "bhasha": "choose",
    "भाषा": "choose",
    "hindi": HINDI,
    "hindi me": HINDI,
    "hindi mein": HINDI,
    "hindi mai": HINDI,
    "in hindi": HINDI,
    "hindi please": HINDI,
    "हिंदी": HINDI,
    "हिन्दी": HINDI,
    "हिंदी में": HINDI,
    "हिन्दी में": HINDI,
    "english": ENGLISH,
    "in english": ENGLISH,
    "english please": ENGLISH,
    "english me": ENGLISH,
    "english mein": ENGLISH,
    "angrezi": ENGLISH,
    "अंग्रेज़ी": ENGLISH,
    "अंग्रेजी": ENGLISH,
}
_NOT_WORD = re.compile(r"[^\w\s\u0900-\u097f]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_LATIN = re.compile(r"[a-zA-Z]")


def _words(text: str) -> str:
    """Lowercase words, keeping Devanagari vowel signs (``\\w`` alone splits "हिंदी")."""
    text = unicodedata.normalize("NFC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", text).split())


def written_in(text: str) -> Written:
    """Hindi when the message is mostly Devanagari, "hinglish" when it has at least two
    of our Hindi words (a lone "haan" or "namaste" says too little), else English."""
    if len(_DEVANAGARI.findall(text)) > len(_LATIN.findall(text)):
        return HINDI
    words = _words(text).split()
    hits = sum(1 for w in words if w in HINGLISH_WORDS)
    if hits >= 2:
        return "hinglish"
    return ENGLISH


def language_asked(text: str) -> Asked | None:
    """What a language word asks for, or None when the message is not one."""
    return _LANGUAGE_WORDS.get(_words(text))


def greeting(turn: Turn) -> str:
    """The clinic's greeting in the contact's language."""
    return turn.say(greeting_key(turn.clinic, turn.lang))


def greeting_key(clinic: Clinic, lang: str) -> str:
    """Namaste where the clinic's region says it (or whenever we write Hindi), Hello elsewhere."""
    if lang == HINDI or clinic.phone_region in NAMASTE_REGIONS:
        return "greeting_namaste"
    return "greeting_hello"


# --- first contact: guessing the language once ----------------------------------------------


def first_contact(turn: Turn, text: str) -> str:
    """Before consent: a Devanagari message switches the chat to Hindi; a Hinglish one
    keeps the clinic's language and returns the one-time offer of Hindi (else "")."""
    if turn.data.get("lang_chosen") or turn.lang == HINDI:
        return ""
    written = written_in(text)
    if written == HINDI:
        _remember(turn, HINDI)
        return ""
    if written == "hinglish" and not turn.data.get("hindi_offered"):
        turn.data["hindi_offered"] = True
        return turn.say("hindi_offer")
    return ""


# --- choosing and changing ------------------------------------------------------------------


def change_language(turn: Turn, asked: Asked) -> str:
    """Offer the languages, or switch and ask the current question again."""
    if asked == "choose":
        current = turn.conversation.state
        if current != "language":
            turn.data["lang_return"] = current
        return turn.goto("language")
    return _switch(turn, asked)


def _remember(turn: Turn, lang: str) -> None:
    """On the contact when there is one (audited), and in the chat for before there is."""
    contact = turn.contact
    if contact is not None and contact.language != lang:
        patients.update_contact(turn.session, contact=contact, language=lang, actor=turn.actor)
    turn.data["lang"] = lang


def _switch(turn: Turn, lang: str) -> str:
    _remember(turn, lang)
    turn.data["lang_chosen"] = True
    contact = turn.contact
    back = turn.data.pop("lang_return", None) or turn.conversation.state
    if back in ("language", "new", None) or back not in STATES:
        back = "consent" if contact is None or contact.consent_at is None else "menu"
    misses = turn.conversation.misses
    question = turn.goto(back)
    turn.conversation.misses = misses
    return f"{turn.say('language_set')}\n{question}"


def ask_language(turn: Turn) -> str:
    return turn.offer(
        turn.say("language"),
        [(ENGLISH, turn.say("language_english")), (HINDI, turn.say("language_hindi"))],
    )


def answer_language(turn: Turn, text: str) -> str:
    choice = turn.pick(text) or language_asked(text)
    if choice not in (ENGLISH, HINDI):
        return turn.miss(turn.say("choose_number", count=2))
    return _switch(turn, choice)


state("language", ask=ask_language, answer=answer_language)
