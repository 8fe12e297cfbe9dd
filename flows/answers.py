"""A question asked in the chat, answered from the clinic's data (services.reports.answers).

The engine calls ``answer_question`` when the understanding step says "question" with a topic
and entities; a None answer means the bot has nothing to say and the chat goes to staff.
This module imports only ``flows.dialog`` (for ``Turn``), so any flow may call it.
"""

from __future__ import annotations

from datetime import date

from flows.dialog import Turn
from services.reports.answers import Answer, answer


def answer_for_turn(
    turn: Turn,
    topic: str | None,
    *,
    service_id: int | None = None,
    therapist_gender: str | None = None,
    day: date | None = None,
    text: str | None = None,
) -> Answer | None:
    """The whole answer, with whether staff should follow up (``Answer.notify_staff``)."""
    return answer(
        turn.session,
        turn.clinic,
        topic,
        lang=turn.lang,
        now=turn.now,
        service_id=service_id,
        therapist_gender=therapist_gender,
        question_text=text,
        day=day,
    )


def answer_question(
    turn: Turn,
    topic: str | None,
    *,
    service_id: int | None = None,
    therapist_gender: str | None = None,
    day: date | None = None,
    text: str | None = None,
) -> str | None:
    """The reply to a question on ``topic`` in the contact's language, or None."""
    found = answer_for_turn(
        turn,
        topic,
        service_id=service_id,
        therapist_gender=therapist_gender,
        day=day,
        text=text,
    )
    return found.text if found is not None else None
