"""Choosing the language, greeting by region and the words after declining consent,
as transcripts with both demo clinics (Roshni Clinic in India, Sunrise in London)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flows.language import language_asked, written_in
from models import AuditLog, Clinic, Contact, Conversation, InboundMessage
from roshni.demo import DEMO_CLINICS, seed_clinic
from tests.chat import Chat
from tests.conftest import NOW  # Mon 23 Nov 2026, 09:00 in Kolkata

HINDI_NOTICE = "नमस्ते! 🌼 यह Roshni Clinic का बुकिंग सहायक है।"
HINDI_OFFER = "हिंदी में जवाब चाहिए? Reply *hindi*."
HINDI_CONSENT_OPTIONS = "1. हाँ, मेरे बच्चे के लिए\n2. हाँ, मेरे लिए\n3. नहीं, धन्यवाद"
SWITCHED_TO_HINDI = "ठीक है, अब से हम हिंदी में बात करेंगे। 🙂"


def seeded(session, index: int) -> Clinic:
    seed_clinic(session, DEMO_CLINICS[index], admin_password=None)
    session.commit()
    return session.scalar(select(Clinic).where(Clinic.slug == DEMO_CLINICS[index].slug))


@pytest.fixture
def clinic(session):
    return seeded(session, 0)


@pytest.fixture
def london(session):
    return seeded(session, 1)


@pytest.fixture
def chat(session, clinic):
    return Chat(session, clinic, now=NOW)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def contact(session) -> Contact:
    return session.scalar(select(Contact))


def onboard_parent(chat: Chat) -> None:
    """A parent registers a child; a first registration goes straight on to booking."""
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")
    assert "Let's book the first session" in chat.last
    assert "Which therapy?" in chat.last


# --- first contact ---------------------------------------------------------------------------


def test_a_first_message_in_devanagari_gets_the_notice_in_hindi(chat, session):
    reply = chat.say("नमस्ते, मेरे बेटे के लिए स्पीच थेरेपी चाहिए")
    assert reply.startswith(HINDI_NOTICE)
    assert "1. हाँ, आगे बढ़ें\n2. नहीं, धन्यवाद" in reply
    assert HINDI_OFFER not in reply
    assert count(session, Contact) == 0
    assert chat.say("1") == "धन्यवाद! आपका नाम क्या है?"
    assert contact(session).language == "hi"
    # "for my son" was said: the child's name is asked straight away, in Hindi
    assert chat.say("Asha Verma").startswith(
        "आपसे मिलकर अच्छा लगा, Asha जी। आपके बच्चे का नाम और जन्म तिथि क्या है?"
    )


def test_the_hindi_consent_asks_who_the_sessions_are_for(chat, session):
    reply = chat.say("नमस्ते")
    assert reply.startswith(HINDI_NOTICE)
    assert reply.endswith(HINDI_CONSENT_OPTIONS)
    assert chat.say("1") == "धन्यवाद! आपका नाम क्या है?"
    assert chat.say("Asha Verma").startswith(
        "आपसे मिलकर अच्छा लगा, Asha जी। आपके बच्चे का नाम और जन्म तिथि क्या है?"
    )
    assert chat.say("Aarav, 12/03/2019").startswith(
        "धन्यवाद, Aarav का नाम दर्ज हो गया। ✅\n"
        "चलिए पहला सेशन बुक करते हैं (कुछ और चाहिए तो *menu* लिखें)।\n"
        "कौन-सी थेरेपी?\n1. Speech Therapy Session — 45 मिनट, ₹800"
    )
    assert contact(session).language == "hi"


def test_the_hindi_consent_for_oneself_goes_on_to_booking(chat, session):
    chat.say("नमस्ते")
    assert chat.say("2") == "धन्यवाद! आपका नाम क्या है?"
    assert chat.say("Asha Verma").startswith(
        "चलिए पहला सेशन बुक करते हैं (कुछ और चाहिए तो *menu* लिखें)।\nकौन-सी थेरेपी?\n"
    )
    assert contact(session).language == "hi"


def test_a_hinglish_writer_is_answered_in_english_and_offered_hindi_once(chat, session):
    reply = chat.say("mere bete ke liye speech therapy chahiye")
    assert reply.startswith("Namaste! 🌼 This is Roshni Clinic's booking assistant.")
    assert reply.endswith(HINDI_OFFER)
    assert HINDI_OFFER not in chat.say("kya aap kal khule hain")
    assert HINDI_OFFER not in chat.say("hi")
    assert session.scalar(select(Conversation)).data["hindi_offered"] is True
    switched = chat.say("hindi")
    assert switched.startswith(f"{SWITCHED_TO_HINDI}\n{HINDI_NOTICE}")
    assert chat.say("haan") == "धन्यवाद! आपका नाम क्या है?"
    assert contact(session).language == "hi"


def test_an_english_first_message_is_not_offered_hindi(chat):
    reply = chat.say("Hello, I would like to book speech therapy for my son")
    assert HINDI_OFFER not in reply
    assert reply.startswith("Namaste! 🌼 This is Roshni Clinic's")


def test_a_london_clinic_greets_hello(session, london):
    chat = Chat(session, london, phone="+447700900999", now=NOW)
    reply = chat.say("hi")
    assert reply.startswith("Hello! This is Sunrise Therapy Centre's booking assistant.")
    assert "Namaste" not in reply


def test_a_london_clinic_greets_namaste_when_the_contact_writes_hindi(session, london):
    chat = Chat(session, london, phone="+447700900998", now=NOW)
    assert chat.say("नमस्ते जी").startswith("नमस्ते! 🌼 यह Sunrise Therapy Centre का")


# --- declining consent ----------------------------------------------------------------------


def test_declining_consent_says_what_is_kept_and_how_to_erase_it(chat, session):
    assert chat.say("hi").endswith("\n3. No thanks")
    reply = chat.say("3")
    assert reply.startswith(
        "No problem. We have kept only your phone number and these messages, for as long as "
        "the law requires, and nothing else about you. To have them erased, reply *talk*"
    )
    # ... which is what is stored: no contact, the conversation (the number) and the messages.
    assert count(session, Contact) == 0
    assert session.scalar(select(Conversation.phone)) == chat.phone
    assert count(session, InboundMessage) == 2
    assert "Is that OK?" in chat.say("hi")


def test_declining_in_hindi_says_the_same_in_hindi(chat, session):
    assert chat.say("नमस्ते").endswith(HINDI_CONSENT_OPTIONS)
    reply = chat.say("नहीं")
    assert reply.startswith("कोई बात नहीं। हमने सिर्फ़ आपका फ़ोन नंबर और ये संदेश रखे हैं")
    assert "*talk*" in reply
    assert count(session, Contact) == 0


# --- changing the language ------------------------------------------------------------------


def test_hindi_mid_booking_switches_and_asks_the_same_question_again(chat, session):
    onboard_parent(chat)  # at "Which therapy?", the first booking
    reply = chat.say("hindi")
    assert reply.startswith(f"{SWITCHED_TO_HINDI}\nकौन-सी थेरेपी?\n")
    assert "1. Speech Therapy Session — 45 मिनट, ₹800" in reply
    # Speech has one therapist, so the next question is when (day and time in one),
    # after what is being booked, said back in Hindi.
    assert chat.say("1").startswith(
        "Aarav के लिए Speech Therapy Session (45 मिनट, ₹800), Dr. Priya Nair के साथ\n"
        "आपके लिए कब ठीक रहेगा? सबसे नज़दीकी खाली समय:\n1. सोम, 23 नव॰, 11:15 am"
    )
    person = contact(session)
    assert person.language == "hi"
    change = session.scalar(
        select(AuditLog).where(AuditLog.action == "contact.update").order_by(AuditLog.id.desc())
    )
    assert change.entity_id == str(person.id)
    assert (change.before["language"], change.after["language"]) == ("en", "hi")
    english = chat.say("English")
    assert english.startswith(
        "OK, I'll reply in English from now on.\nWhen would suit you? The nearest free times:\n"
    )
    assert contact(session).language == "en"


@pytest.mark.parametrize("word", ["हिंदी", "Hindi me", "हिन्दी में", "in Hindi"])
def test_the_ways_of_asking_for_hindi(chat, session, word):
    onboard_parent(chat)
    chat.say("menu")
    assert chat.say(word).startswith(f"{SWITCHED_TO_HINDI}\nआप क्या करना चाहेंगे?")
    assert contact(session).language == "hi"


def test_language_offers_english_and_hindi_by_number(chat, session):
    onboard_parent(chat)
    chat.say("menu")
    offer = chat.say("language")
    assert offer.endswith("\n1. English\n2. हिंदी")
    reply = chat.say("2")
    assert reply.startswith(f"{SWITCHED_TO_HINDI}\nआप क्या करना चाहेंगे?\n1. सेशन बुक करें")
    assert chat.say("language").endswith("1. English\n2. हिंदी")
    assert chat.say("1").startswith("OK, I'll reply in English from now on.\nWhat would you")


def test_language_before_consent_returns_to_the_notice(chat, session):
    chat.say("hi")
    chat.say("language")
    assert chat.say("2").startswith(f"{SWITCHED_TO_HINDI}\n{HINDI_NOTICE}")
    assert count(session, Contact) == 0
    chat.say("1")
    assert contact(session).language == "hi"


# --- dates, times and money in Hindi ---------------------------------------------------------


def test_a_hindi_booking_reads_dates_and_money_from_babel(chat, session):
    onboard_parent(chat)
    chat.say("hindi")
    times = chat.say("1")  # speech: its only therapist is not asked about
    assert "(45 मिनट, ₹800), Dr. Priya Nair के साथ\n" in times
    assert "1. सोम, 23 नव॰, 11:15 am\n" in times
    assert "\nमंगल, 24 नव॰ के खाली समय:\n1. 9:00 am" in chat.say("kal")
    # Everything but the time was said back above the times: a tap books at once.
    booked = chat.say("1")
    assert booked.startswith("✅ बुक हो गया! APT-2026-000001")
    assert "मंगल, 24 नव॰, 9:00 am · Dr. Priya Nair" in booked
    assert "· ₹800" in booked
    assert "हम आपको एक दिन पहले और 2 घंटे पहले याद दिला देंगे।" in booked


def test_a_hindi_summary_reads_the_time_range_and_money_from_babel(chat):
    onboard_parent(chat)
    chat.say("hindi")
    chat.say("4")  # a group session is still summed up to confirm
    assert "\nमंगल, 24 नव॰ के खाली समय:\n1. 9:00 am" in chat.say("kal")
    summary = chat.say("1")
    assert summary.startswith("कृपया पक्का करें:")
    assert "Dr. Priya Nair के साथ, मंगल, 24 नव॰, 9:00–10:00 am" in summary
    assert "· ₹500" in summary
    assert chat.say("1").startswith("✅ बुक हो गया! APT-2026-000001")


def test_an_evening_request_in_hindi_names_the_part_of_day_in_hindi(chat):
    onboard_parent(chat)
    chat.say("hindi")
    assert "आपके लिए कब ठीक रहेगा?" in chat.say("1")  # speech
    assert chat.say("kal shaam").startswith(
        "Aarav के लिए Speech Therapy Session (45 मिनट, ₹800), Dr. Priya Nair के साथ\n"
        "मंगल, 24 नव॰ शाम के खाली समय:"
    )


def test_the_london_clinic_in_english_keeps_pounds(session, london):
    chat = Chat(session, london, phone="+447700900997", now=NOW + timedelta(hours=6))
    # "Yes, for myself": the first booking follows the name.
    reply = chat.script("hi", "2", "Emma Stone")
    assert "Which therapy?" in reply
    assert "1. Speech and Language Therapy — 50 min, £65" in reply


# --- the small guess ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("मुझे अपॉइंटमेंट चाहिए", "hi"),
        ("mere bete ke liye speech therapy chahiye", "hinglish"),
        ("kal shaam ko aa sakte hai kya", "hinglish"),
        ("haan", "en"),  # one word says too little
        ("I want to book OT for my son", "en"),
        ("APT-2026-000042 रद्द करें", "hi"),
        ("speech therapy for आरव please", "en"),  # mostly Latin letters
    ],
)
def test_written_in(text, expected):
    assert written_in(text) == expected


def test_language_words():
    assert language_asked("Language") == "choose"
    assert language_asked("HINDI!") == "hi"
    assert language_asked("हिंदी") == "hi"
    assert language_asked("english please") == "en"
    assert language_asked("hindi speaking therapist?") is None


def test_a_hindi_writer_sending_too_fast_is_told_in_hindi(session, clinic):
    chat = Chat(session, clinic, phone="+919876500001", now=NOW, step=timedelta(seconds=1))
    replies = [chat.say("नमस्ते") for _ in range(31)]
    assert replies[30].startswith("आप बहुत जल्दी-जल्दी संदेश भेज रहे हैं।")
