"""flows.understanding: any inbound text -> intent and entities, in English, Hinglish and Hindi.

Everything is read against the evaluation clinic (Roshni Clinic's services and therapists, a
guardian with Aarav and Anaya) at a fixed "now": Monday 23 Nov 2026, 10:00 in Kolkata.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.parsing import When
from flows.understanding import (
    INTENTS,
    TOPICS,
    Named,
    Therapist,
    Vocabulary,
    understand,
)
from flows.understanding import evaluate as evaluation
from flows.understanding.examples import load
from flows.understanding.lexicon import DATA

VOCABULARY = evaluation.EVALUATION_VOCABULARY
NOW = evaluation.EVALUATION_NOW  # Monday 23 Nov 2026, 10:00
SPEECH, OT, PHYSIO, GROUP, ASSESSMENT = 1, 2, 3, 4, 5
AARAV, ANAYA = 1, 2
PRIYA, RAHUL, KAVYA = 1, 2, 3


def day(offset: int) -> date:
    return NOW.date() + timedelta(days=offset)


def read(text: str, vocabulary: Vocabulary = VOCABULARY, now: datetime = NOW):
    return understand(text, vocabulary=vocabulary, now=now)


INTENT_CASES = [
    # (text, intent, language)
    ("I'd like to book a speech session", "book", "en"),
    ("mujhe OT ka session book karna hai", "book", "hinglish"),
    ("मुझे फिजियो का अपॉइंटमेंट चाहिए", "book", "hi"),
    ("when is my next appointment?", "my_appointments", "en"),
    ("meri appointment kab hai", "my_appointments", "hinglish"),
    ("मेरी अपॉइंटमेंट कब है", "my_appointments", "hi"),
    ("please cancel my appointment", "cancel", "en"),
    ("kal nahi aa payenge", "cancel", "hinglish"),
    ("मेरा सेशन रद्द कर दीजिए", "cancel", "hi"),
    ("I need to reschedule", "reschedule", "en"),
    ("time badalna hai", "reschedule", "hinglish"),
    ("मुझे समय बदलना है", "reschedule", "hi"),
    ("how much do I owe?", "pay", "en"),
    ("kitna baki hai", "pay", "hinglish"),
    ("मुझे भुगतान करना है", "pay", "hi"),
    ("what's the fee?", "question", "en"),
    ("fees kitni hai", "question", "hinglish"),
    ("फीस कितनी है", "question", "hi"),
    ("can I talk to someone?", "talk", "en"),
    ("call me", "talk", "en"),
    ("I want a real person", "talk", "en"),
    ("kisi se baat karni hai", "talk", "hinglish"),
    ("किसी से बात करनी है", "talk", "hi"),
    ("running 10 minutes late", "running_late", "en"),
    ("thoda late ho jayega", "running_late", "hinglish"),
    ("हम थोड़ी देर से पहुंचेंगे", "running_late", "hi"),
    ("hi", "greeting", "en"),
    ("namaste", "greeting", "hinglish"),
    ("नमस्ते", "greeting", "hi"),
    ("thank you 🙏", "thanks", "en"),
    ("shukriya", "thanks", "hinglish"),
    ("dhanyavaad", "thanks", "hinglish"),
    ("धन्यवाद", "thanks", "hi"),
    ("yes please", "yes", "en"),
    ("ok", "yes", "en"),
    ("haan ji", "yes", "hinglish"),
    ("ha", "yes", "hinglish"),
    ("theek hai", "yes", "hinglish"),
    ("हाँ", "yes", "hi"),
    ("हां", "yes", "hi"),
    ("no thanks", "no", "en"),
    ("nahi", "no", "hinglish"),
    ("नहीं", "no", "hi"),
    ("hindi", "language", "en"),
    ("English", "language", "en"),
    ("language", "language", "en"),
    ("hindi mein baat karo", "language", "hinglish"),
    ("हिंदी", "language", "hi"),
    ("stop", "stop", "en"),
    ("messages band karo", "stop", "hinglish"),
    ("मैसेज मत भेजो", "stop", "hi"),
    ("START", "start", "en"),
    ("help", "help", "en"),
    ("madad chahiye", "help", "hinglish"),
    ("मदद", "help", "hi"),
    ("menu", "menu", "en"),
    ("मेनू", "menu", "hi"),
    ("asdfgh qwerty", "other", "en"),
]


@pytest.mark.parametrize(("text", "intent", "language"), INTENT_CASES)
def test_every_intent_is_read_in_each_language(text, intent, language):
    found = read(text)
    assert (found.intent, found.language) == (intent, language), found.evidence


# Phrasings collected after the lexicon was first written (not in any data file).
MORE_PHRASINGS = [
    ("Hi, can I get an OT slot for my son on Thursday after 5?", "book"),
    ("need physio for my mom, she had knee surgery", "book"),
    ("kya kal shaam ko speech ka slot mil sakta hai", "book"),
    ("मुझे अपने बेटे के लिए ओटी चाहिए", "book"),
    ("is dr kavya free on saturday morning", "book"),
    ("pls book anaya for speech next wed 4pm", "book"),
    ("did my booking go through?", "my_appointments"),
    ("what time is my session on friday", "my_appointments"),
    ("need to cancel anaya tomorrow, she has exams", "cancel"),
    ("aaj ka cancel kar dijiye", "cancel"),
    ("we are travelling, please cancel all sessions this week", "cancel"),
    ("can I come at 6 instead of 5", "reschedule"),
    ("can we push tomorrow's session to next week", "reschedule"),
    ("where do I send the money", "pay"),
    ("payment ho gaya, please confirm", "pay"),
    ("link expired, send again", "pay"),
    ("do you have a speech therapist who speaks tamil", "question"),
    ("how long is each session?", "question"),
    ("what is the charge for assessment", "question"),
    ("is the clinic wheelchair accessible", "question"),
    ("any discount for 10 sessions?", "question"),
    ("clinic ka address bhej do", "question"),
    ("क्या आप ऑनलाइन थेरेपी करते हैं", "question"),
    ("can I have a word with the therapist", "talk"),
    ("please have someone call me", "talk"),
    ("mujhe kisi se baat karni hai urgent", "talk"),
    ("be there in 10", "running_late"),
    ("sorry running a bit behind", "running_late"),
    ("5 min mein pahunch rahe hai", "running_late"),
    ("Good morning!", "greeting"),
    ("hello ji", "greeting"),
    ("thanks a ton", "thanks"),
    ("bahut bahut dhanyavaad", "thanks"),
    ("yes that's fine", "yes"),
    ("haan theek hai", "yes"),
    ("ok 👍", "yes"),
    ("no, not that one", "no"),
    ("नहीं धन्यवाद", "no"),
    ("can we talk in hindi", "language"),
    ("english mein bolo", "language"),
    ("don't send me messages", "stop"),
    ("I'm confused", "help"),
    ("back", "menu"),
    ("bhaiya kal ka koi slot khali hai kya OT ke liye", "book"),
    ("beti ko bolne mein dikkat hai, dikhana hai", "book"),
    ("mera beta 3 saal ka hai, therapy shuru karwani hai", "book"),
    ("कल सुबह का समय मिलेगा क्या", "book"),
    ("स्पीच थेरेपी के लिए अपॉइंटमेंट लेना है", "book"),
    ("appointment book karwana tha", "book"),
    ("Hi, I'm looking for a physiotherapist for my father", "book"),
    ("mera appointment confirm hai kya", "my_appointments"),
    ("kal kitne baje aana hai", "my_appointments"),
    ("मेरा सेशन कितने बजे है", "my_appointments"),
    ("kal nahi aa paunga", "cancel"),
    ("aaj ki appointment radd kar do", "cancel"),
    ("बेटी बीमार है, आज नहीं आएंगे", "cancel"),
    ("please cancel, we have a family function", "cancel"),
    ("kal ki jagah parso ho sakta hai kya", "reschedule"),
    ("time thoda aage kar do", "reschedule"),
    ("can we make it 5 instead", "reschedule"),
    ("paise kaise bhejun", "pay"),
    ("bill bhej do", "pay"),
    ("गूगल पे से भेज दिया है", "pay"),
    ("fees kitni lagegi", "question"),
    ("aapke yahan lady doctor hai", "question"),
    ("kya aap sunday ko bhi khule rehte ho", "question"),
    ("फिजियो की फीस कितनी है", "question"),
    ("क्लिनिक का टाइम क्या है", "question"),
    ("do you give reports for school", "question"),
    ("doctor se baat ho sakti hai", "talk"),
    ("koi call kar sakta hai mujhe", "talk"),
    ("मुझसे कोई बात कर लो", "talk"),
    ("10 min mein aa rahe hai", "running_late"),
    ("traffic hai thoda late ho jayega", "running_late"),
    ("हम रास्ते में हैं", "running_late"),
    ("haan bilkul", "yes"),
    ("ji theek hai", "yes"),
    ("👌", "yes"),
    ("nahi rehne do", "no"),
    ("नहीं रहने दीजिए", "no"),
    ("thank you ji", "thanks"),
    ("shukriya aapka", "thanks"),
    ("hello madam", "greeting"),
    ("kya hindi me baat kar sakte hai", "language"),
    ("अंग्रेज़ी", "language"),
    ("mujhe message mat bhejo", "stop"),
]


@pytest.mark.parametrize(("text", "intent"), MORE_PHRASINGS)
def test_more_phrasings(text, intent):
    found = read(text)
    assert found.intent == intent, found.evidence


def test_the_cases_cover_every_intent():
    assert {intent for _, intent, _ in INTENT_CASES} == set(INTENTS)


def test_a_command_alone_is_whole_and_inside_a_sentence_is_not():
    assert read("STOP").whole
    assert read("हिंदी").whole
    stop_in_a_sentence = read("please stop sending reminders")
    assert stop_in_a_sentence.intent == "stop"
    assert not stop_in_a_sentence.whole
    assert not read("2").whole


def test_emoji_alone_carry_yes_and_thanks_and_no_language():
    assert (read("👍").intent, read("👍").language) == ("yes", None)
    assert read("👍🏽").intent == "yes"
    assert read("🙏🙏").intent == "thanks"
    assert read("2").language is None


TOPIC_CASES = [
    ("what are your fees?", "fee"),
    ("OT ki fees kya hai", "fee"),
    ("एक सेशन का कितना लगेगा", "fee"),
    ("where is the clinic?", "address"),
    ("clinic kahan hai", "address"),
    ("आपका पता क्या है", "address"),
    ("what are your timings?", "hours"),
    ("clinic kab khulta hai", "hours"),
    ("क्लिनिक कब खुलता है", "hours"),
    ("open on sunday?", "open_day"),
    ("sunday ko khula hai kya", "open_day"),
    ("क्या रविवार को खुला है", "open_day"),
    ("which therapies do you offer?", "services"),
    ("kya kya therapy hoti hai", "services"),
    ("आप कौन सी थेरेपी देते हैं", "services"),
    ("do you do online sessions?", "online"),
    ("video call pe ho sakta hai kya", "online"),
    ("क्या ऑनलाइन सेशन होता है", "online"),
    ("who are your therapists?", "therapists"),
    ("doctor kaun hai", "therapists"),
    ("थेरेपिस्ट कौन हैं", "therapists"),
    ("do you have a lady therapist?", "therapist_gender"),
    ("mahila therapist milegi kya", "therapist_gender"),
    ("क्या महिला डॉक्टर है", "therapist_gender"),
    ("is there parking?", "parking"),
    ("gaadi kahan park kare", "parking"),
    ("पार्किंग है क्या", "parking"),
    ("do you accept UPI?", "payment_methods"),
    ("card se payment ho jayega?", "payment_methods"),
    ("क्या कैश चलेगा", "payment_methods"),
    ("what is your cancellation policy?", "cancellation_policy"),
    ("cancel karne par paise wapas milenge kya", "cancellation_policy"),
    ("रद्द करने पर रिफंड मिलेगा क्या", "cancellation_policy"),
    ("can I reschedule later if needed?", "reschedule_policy"),
    ("baad mein time badal sakte hai kya", "reschedule_policy"),
    ("क्या बाद में समय बदल सकते हैं", "reschedule_policy"),
]


@pytest.mark.parametrize(("text", "topic"), TOPIC_CASES)
def test_questions_are_answered_by_topic(text, topic):
    found = read(text)
    assert (found.intent, found.topic) == ("question", topic), found.evidence


def test_the_cases_cover_every_topic():
    assert {topic for _, topic in TOPIC_CASES} == set(TOPICS)


def test_an_unknown_question_is_a_question_without_a_topic():
    found = read("do you have a waiting room for siblings?")
    assert (found.intent, found.topic) == ("question", None)


# --- words inside sentences do not hijack ---------------------------------------------------


def test_lady_therapist_for_my_son_is_a_question_about_gender_not_my_appointments():
    found = read("lady therapist for my son")
    assert found.intent in ("question", "book")
    assert found.therapist_gender == "female"
    assert found.for_child
    assert found.intent != "my_appointments"


def test_cancelling_a_named_day_keeps_the_day():
    found = read("I want to cancel my Tuesday session")
    assert found.intent == "cancel"
    assert found.when == When(day(1))


def test_a_hinglish_booking_carries_service_child_and_evening():
    found = read("mere bete ke liye speech therapy chahiye kal shaam")
    assert found.intent == "book"
    assert found.service_ids == (SPEECH,)
    assert found.for_child
    assert found.when == When(day(1), None, "evening")
    assert found.language == "hinglish"


def test_a_booking_names_service_patient_day_and_time():
    found = read("book OT for Aarav tomorrow at 11")
    assert found.intent == "book"
    assert found.service_ids == (OT,)
    assert found.patient_ids == (AARAV,)
    assert found.when == When(day(1), time(11))


def test_a_long_first_message_is_read_whole():
    text = (
        "Hello! We moved to Bengaluru recently and my son Aarav (5 years) was getting speech "
        "therapy in Pune twice a week. His therapist there suggested we continue without a "
        "long break. Could you please let us know if we can book a speech therapy session "
        "with a female therapist sometime next week, preferably in the evening after 4 "
        "because he has school till 3? Also is there parking near the clinic? Thank you so "
        "much, Asha"
    )
    assert len(text) >= 400
    found = read(text)
    assert found.intent == "book"
    assert found.service_ids == (SPEECH,)
    assert found.patient_ids == (AARAV,)
    assert found.therapist_gender == "female"
    assert found.after == time(16)
    assert found.days == tuple(day(7 + n) for n in range(7))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("don't cancel", "no"),
        ("cancel nahi karna", "no"),
        ("रद्द मत करो", "no"),
        ("yes tomorrow at 5 works", "yes"),
        ("no, friday is better", "no"),
        ("stop reminders", "stop"),
        ("same as last time", "book"),
    ],
)
def test_negations_and_answers_that_carry_more(text, intent):
    assert read(text).intent == intent


def test_good_morning_and_good_night_are_words_not_times():
    for text in ("good morning", "good night"):
        found = read(text)
        assert found.intent in ("greeting", "thanks")
        assert (found.when, found.days) == (None, ())


def test_a_gpay_caption_is_about_payment_not_a_booking():
    assert read("paid via gpay").intent == "pay"


# --- entities ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("OT", (OT,)),
        ("ocupational therapy for my son", (OT,)),
        ("physio", (PHYSIO,)),
        ("PT session", (PHYSIO,)),
        ("speech", (SPEECH,)),  # not the group session
        ("ST", (SPEECH,)),
        ("group speech therapy", (GROUP,)),
        ("assessment", (ASSESSMENT,)),
        ("बोलने की थेरेपी", (SPEECH,)),
        ("fizio chahiye", (PHYSIO,)),
        ("स्पीच", (SPEECH,)),
        ("my son stammers", (SPEECH,)),  # a symptom points to a service when none is named
        ("hello", ()),
    ],
)
def test_services_are_found_by_alias_and_by_the_clinics_names(text, services):
    assert read(text).service_ids == services


def test_a_clinics_own_alias_names_its_service():
    vocabulary = Vocabulary(
        services=(Named(7, "Speech and Language Therapy", aliases=("SALT",)),),
    )
    assert read("SALT please", vocabulary).service_ids == (7,)
    assert read("speech", vocabulary).service_ids == (7,)


@pytest.mark.parametrize(
    ("text", "therapists", "gender"),
    [
        ("book with Dr Priya", (PRIYA,), None),
        ("can I see Rahul on friday", (RAHUL,), None),
        ("kavya mam ke saath", (KAVYA,), None),
        ("Priyaa please", (PRIYA,), None),  # a typo
        ("a female therapist please", (), "female"),
        ("mahila therapist", (), "female"),
        ("male physio", (), "male"),
    ],
)
def test_therapists_by_name_and_gender(text, therapists, gender):
    found = read(text)
    assert (found.therapist_ids, found.therapist_gender) == (therapists, gender)


@pytest.mark.parametrize(
    ("text", "patients", "for_self", "for_child"),
    [
        ("for Aarav", (AARAV,), False, False),
        ("Anaya's session", (ANAYA,), False, False),
        ("Aarav and Anaya both", (AARAV, ANAYA), False, False),
        ("Ananya tomorrow", (ANAYA,), False, False),  # a typo of Anaya
        ("for me", (), True, False),
        ("mere liye", (), True, False),
        ("मेरे लिए", (), True, False),
        ("for my daughter", (), False, True),
        ("bete ke liye", (), False, True),
        ("बेटी के लिए", (), False, True),
    ],
)
def test_patients_self_and_child(text, patients, for_self, for_child):
    found = read(text)
    assert (found.patient_ids, found.for_self, found.for_child) == (
        patients,
        for_self,
        for_child,
    )


@pytest.mark.parametrize(
    ("text", "when", "days"),
    [
        ("tomorrow", When(day(1)), (day(1),)),
        ("can I come tomorrow at 5?", When(day(1), time(17)), (day(1),)),
        ("kal shaam 5 baje", When(day(1), time(17), "evening"), (day(1),)),
        ("कल शाम", When(day(1), None, "evening"), (day(1),)),
        ("parso subah", When(day(2), None, "morning"), (day(2),)),
        ("book speech on 28 nov", When(day(5)), (day(5),)),
        ("tomorrow or Wednesday", None, (day(1), day(2))),
        ("kal ya parso shaam ko", When(None, None, "evening"), (day(1), day(2))),
        ("this weekend", None, (day(5), day(6))),
        ("next week", None, tuple(day(7 + n) for n in range(7))),
        ("agle hafte", None, tuple(day(7 + n) for n in range(7))),
        ("running 10 minutes late", None, ()),  # a number alone is no time
        ("2 kids", None, ()),
        ("good morning", None, ()),
    ],
)
def test_days_and_times_inside_sentences(text, when, days):
    found = read(text)
    assert (found.when, found.days) == (when, days)


@pytest.mark.parametrize(
    ("text", "after", "before"),
    [
        ("after 4", time(16), None),
        ("anytime after 4:30 pm", time(16, 30), None),
        ("before noon", None, time(12)),
        ("before 11", None, time(11)),
        ("between 3 and 5", time(15), time(17)),
        ("4-6 pm works", time(16), time(18)),
        ("3-5 baje", time(15), time(17)),
        ("5 baje ke baad", time(17), None),
        ("12 se pehle", None, time(12)),
        ("4 बजे के बाद", time(16), None),
        ("after school", time(15), None),
        ("school ke baad", time(15), None),
    ],
)
def test_time_constraints(text, after, before):
    found = read(text)
    assert (found.after, found.before) == (after, before)
    assert found.when is None  # the constraint's clock is not a chosen time


@pytest.mark.parametrize(
    "text", ["asap", "earliest slot please", "jaldi", "jitna jaldi ho sake", "जल्दी"]
)
def test_earliest(text):
    assert read(text).earliest


@pytest.mark.parametrize(
    ("text", "choice"),
    [("1", 1), ("2.", 2), ("option 2", 2), ("#3", 3), ("२", 2), (" 4) ", 4), ("two", 2)],
)
def test_a_bare_number_is_a_choice_with_intent_other(text, choice):
    found = read(text)
    assert (found.intent, found.choice, found.when) == ("other", choice, None)


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("cancel APT-2026-000042", "APT-2026-000042"),
        ("apt 2026 42 reschedule", "APT-2026-000042"),
        ("hello", None),
    ],
)
def test_appointment_references(text, reference):
    assert read(text).reference == reference


@pytest.mark.parametrize(
    "text", ["koi bhi", "any therapist is fine", "कोई भी", "any", "any day", "whenever"]
)
def test_any_of_the_choices(text):
    assert read(text).anything


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("apointment for tomorrow", "book"),
        ("reshedule", "reschedule"),
        ("cancle it", "cancel"),
        ("shukriyaa", "thanks"),
    ],
)
def test_typos_of_longer_words_are_forgiven(text, intent):
    assert read(text).intent == intent


def test_a_therapist_without_a_recorded_gender_and_an_empty_vocabulary_are_fine():
    vocabulary = Vocabulary(therapists=(Therapist(9, "Sam"),))
    assert read("book with Sam", vocabulary).therapist_ids == (9,)
    assert read("book OT", Vocabulary()).service_ids == ()
    assert read("", Vocabulary()).intent == "other"


def test_the_clinics_zone_and_date_order_are_honoured():
    us = Vocabulary(date_order="MDY")
    new_york = datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("America/New_York"))
    assert read("book for 12/1", us, new_york).days == (date(2026, 12, 1),)
    assert read("book for 12/1", VOCABULARY).days == (date(2027, 1, 12),)
    with pytest.raises(ValueError):
        understand("hi", vocabulary=VOCABULARY, now=datetime(2026, 11, 23, 10))  # noqa: DTZ001


def test_long_and_hostile_input_is_read_without_error():
    for text in ("x" * 10_000, "5" * 500, "🙂" * 2000, "'; DROP TABLE x; --", "\u202e\x00"):
        assert read(text).intent in INTENTS


_WORDS = st.sampled_from(
    [
        "book",
        "cancel",
        "kal",
        "tomorrow",
        "5",
        "baje",
        "after",
        "before",
        "or",
        "ya",
        "fees",
        "?",
        "👍",
        "haan",
        "nahi",
        "Aarav",
        "OT",
        "speech",
        "at",
        "pm",
        "12/11",
        "next",
        "week",
        "जी",
        "कल",
        "शाम",
        "बजे",
        "के",
        "बाद",
        "से",
        "पहले",
        "my",
        "son",
        "for",
        "me",
        "lady",
        "2",
        "apt-2026-7",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_WORDS, max_size=12).map(" ".join)))
def test_any_text_is_read_into_a_well_formed_understanding(text):
    found = read(text)
    assert found.intent in INTENTS
    assert found.topic is None or (found.intent == "question" and found.topic in TOPICS)
    assert found.language in ("en", "hi", "hinglish", None)
    assert found.choice is None or found.intent == "other"
    if found.when is not None and found.when.date is not None:
        assert found.when.date in found.days


def test_the_language_of_each_training_file_is_recognised():
    for language in ("en", "hinglish", "hi"):
        examples = [e.text for e in load(f"train.{language}")]
        read_as = [read(text).language for text in examples]
        right = sum(found in (language, None) for found in read_as)
        assert right / len(examples) >= 0.95, language
    assert read("२").language is None


# --- data and evaluation ----------------------------------------------------------------------


def test_every_lexicon_file_parses_and_names_only_known_intents_and_topics():
    for language in ("en", "hinglish", "hi"):
        with (DATA / f"lexicon.{language}.toml").open("rb") as file:
            data = tomllib.load(file)
        assert set(data["whole"]) <= set(INTENTS)
        assert set(data["cues"]) <= set(INTENTS)
        assert set(data["topics"]) <= set(TOPICS)


def test_the_held_out_file_is_large_varied_and_apart_from_the_training_files():
    heldout = load("heldout")
    names = ("train.en", "train.hinglish", "train.hi")
    train = {e.text.casefold() for name in names for e in load(name)}
    assert len(heldout) >= 150
    assert {e.intent for e in heldout} == set(INTENTS)
    assert {e.topic for e in heldout if e.topic} == set(TOPICS)
    # One-word commands ("STOP", "Menu") are the same everywhere; sentences are not shared.
    shared = [e.text for e in heldout if e.text.casefold() in train]
    assert all(len(text.split()) == 1 for text in shared), shared
    languages = {read(e.text).language for e in heldout}
    assert {"en", "hinglish", "hi"} <= languages


def test_held_out_intent_accuracy_is_at_least_95_percent():
    report = evaluation.evaluate(load("heldout"))
    assert report.intent_accuracy >= 0.95, "\n".join(report.errors)
    assert report.topic_accuracy >= 0.90, "\n".join(report.errors)
    for entity in evaluation.ENTITIES:
        assert report.entity_accuracy(entity) >= 0.85, (entity, report.errors)


def test_the_evaluation_tool_prints_accuracy_and_a_confusion_table(capsys):
    assert evaluation.main(["--file", "heldout", "--errors"]) == 0
    out = capsys.readouterr().out
    assert "intent accuracy" in out
    assert "true / read" in out
    assert "running_late" in out
