"""The clinic's own Q&A: answers staff write in the panel, found by a fuzzy match of what a
patient typed.

Staff write a question as patients ask it ("Is there parking?"), optional keywords
("parking, car, bike") and an optional Hindi question; the patient's text is compared with
all of them by RapidFuzz, so a typo ("is ther parkng") still finds the entry. An entry with a
``topic`` replaces the bot's own answer to that topic (services.reports.answers).

The writes go through ``services.clinics.catalog.save_record`` / ``delete_record`` (validated
here, audited there), like every other row the panel edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import write_transaction
from models import Clinic, ClinicAnswer
from services import audit
from services.audit import Actor
from services.errors import N_, InvalidInput

# The topics the bot answers from the clinic's data (services.reports.answers); a staff
# answer may name one to replace the bot's own. "parking" has no built-in answer.
TOPICS = (
    "fee",
    "address",
    "hours",
    "open_day",
    "services",
    "online",
    "therapists",
    "therapist_gender",
    "parking",
    "payment_methods",
    "cancellation_policy",
    "reschedule_policy",
)
# A whole question must read alike (token_set_ratio, 0-100); a keyword must appear, allowing a
# typo (partial_ratio of the keyword inside the text). Tuned on the cases in
# tests/clinics/test_staff_answers.py: "is ther parkng" finds "parking", "what is the fee"
# does not find "Is there parking?".
QUESTION_THRESHOLD = 80
KEYWORD_THRESHOLD = 85
# Shorter keywords are matched as whole words only: "car" must not match "care".
MIN_FUZZY_KEYWORD = 4
_SPLIT = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class StaffAnswer:
    """A staff answer in the contact's language, with the entry it came from."""

    answer_id: int
    text: str
    topic: str | None
    score: float


def keywords_of(entry: ClinicAnswer) -> list[str]:
    return [k.strip() for k in _SPLIT.split(entry.keywords or "") if k.strip()]


def validate_clinic_answer(entry: ClinicAnswer) -> None:
    entry.question = (entry.question or "").strip()
    entry.answer_en = (entry.answer_en or "").strip()
    for attr in ("keywords", "question_hi", "answer_hi", "topic"):
        value = getattr(entry, attr)
        setattr(entry, attr, (value.strip() or None) if isinstance(value, str) else None)
    if not entry.question:
        raise InvalidInput(detail=N_("Write the question as patients ask it."))
    if not entry.answer_en:
        raise InvalidInput(detail=N_("Write the answer in English."))
    if len(entry.answer_en) > 1000 or len(entry.answer_hi or "") > 1000:
        raise InvalidInput(
            detail=N_("Keep an answer under 1,000 characters: it is a chat message.")
        )
    if entry.topic is not None and entry.topic not in TOPICS:
        raise InvalidInput(N_("Unknown topic '%(topic)s'."), topic=entry.topic)
    if entry.active is None:
        entry.active = True


def add_clinic_answer(
    session: Session,
    *,
    clinic_id: int,
    question: str,
    answer_en: str,
    actor: Actor,
    keywords: str | None = None,
    question_hi: str | None = None,
    answer_hi: str | None = None,
    topic: str | None = None,
) -> ClinicAnswer:
    """A new staff answer (the panel edits through ``catalog.save_record``; the seed and
    tests call this)."""
    with write_transaction(session):
        entry = ClinicAnswer(
            clinic_id=clinic_id,
            question=question,
            keywords=keywords,
            question_hi=question_hi,
            answer_en=answer_en,
            answer_hi=answer_hi,
            topic=topic,
            active=True,
        )
        validate_clinic_answer(entry)
        session.add(entry)
        session.flush()
        audit.record(
            session, clinic_id=clinic_id, actor=actor, action="clinic_answer.create", entity=entry
        )
    return entry


def _active_answers(session: Session, clinic_id: int) -> list[ClinicAnswer]:
    return list(
        session.scalars(
            select(ClinicAnswer)
            .where(ClinicAnswer.clinic_id == clinic_id, ClinicAnswer.active.is_(True))
            .order_by(ClinicAnswer.id)
        )
    )


def _in_language(entry: ClinicAnswer, lang: str, score: float) -> StaffAnswer:
    text = entry.answer_hi if lang == "hi" and entry.answer_hi else entry.answer_en
    return StaffAnswer(answer_id=entry.id, text=text, topic=entry.topic, score=score)


def _keyword_score(keyword: str, text: str) -> float:
    keyword = default_process(keyword)
    if not keyword:
        return 0.0
    if len(keyword) < MIN_FUZZY_KEYWORD:
        return 100.0 if keyword in text.split() else 0.0
    return fuzz.partial_ratio(keyword, text)


def score(entry: ClinicAnswer, text: str) -> float:
    """How well ``text`` (already through ``default_process``) matches the entry, 0-100."""
    best = 0.0
    for question in (entry.question, entry.question_hi):
        if question:
            value = fuzz.token_set_ratio(default_process(question), text)
            if value >= QUESTION_THRESHOLD:
                best = max(best, value)
    for keyword in keywords_of(entry):
        value = _keyword_score(keyword, text)
        if value >= KEYWORD_THRESHOLD:
            best = max(best, value)
    return best


def match_staff_answer(
    session: Session, clinic: Clinic, text: str, lang: str
) -> StaffAnswer | None:
    """The clinic's best-matching active answer to ``text``, in ``lang`` (Hindi when asked
    for and written, else English); None when nothing matches well enough."""
    processed = default_process(text or "")
    if not processed:
        return None
    best: tuple[float, ClinicAnswer] | None = None
    for entry in _active_answers(session, clinic.id):
        value = score(entry, processed)
        if value and (best is None or value > best[0]):
            best = (value, entry)
    return _in_language(best[1], lang, best[0]) if best else None


def staff_answer_for_topic(
    session: Session, clinic: Clinic, topic: str, lang: str
) -> StaffAnswer | None:
    """The clinic's own answer to a built-in topic, if staff wrote one."""
    entry = session.scalar(
        select(ClinicAnswer)
        .where(
            ClinicAnswer.clinic_id == clinic.id,
            ClinicAnswer.topic == topic,
            ClinicAnswer.active.is_(True),
        )
        .order_by(ClinicAnswer.id)
        .limit(1)
    )
    return _in_language(entry, lang, 100.0) if entry is not None else None
