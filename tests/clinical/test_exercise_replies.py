"""A guardian answers a home-exercise nudge in the chat: "done", "2 of 3", "skipped" (in
English, Hinglish or Hindi) or a photo; one reply per assignment and day, a later answer
replacing the outcome, audited as the guardian. Without an outstanding nudge the words
read as usual, and a bare number stays a menu choice. Last, the same through Twilio's
signed webhook.

The guardian registers in the chat on NOW (Monday 23 Nov 2026, 09:00 Kolkata); the first
nudge goes at 10:00 and is answered five minutes later.
"""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from core import tenancy
from core.clock import utcnow
from integrations.twilio.client import TwilioSender
from models import (
    AuditLog,
    Clinic,
    Conversation,
    ExerciseOutcome,
    InboundMessage,
    OutboundStatus,
    Patient,
)
from services.clinical.exercise_nudges import schedule_nudges
from services.clinical.exercise_replies import record_reply
from services.errors import InvalidInput
from services.messaging.conversations import EXERCISE_NUDGE
from services.messaging.delivery import deliver
from services.messaging.media import SentFile
from tests.bot.test_media import JPEG, app, config, onboard, post, with_file
from tests.chat import Chat
from tests.conftest import NOW
from tests.exercises import assign, held_nudge, nudges, replies
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.outbox import SUNRISE, ist, seed

__all__ = ["app", "config"]

pytestmark = pytest.mark.usefixtures("frozen_clock")

DONE, PARTIAL = ExerciseOutcome.DONE, ExerciseOutcome.PARTIAL
SKIPPED, MEDIA = ExerciseOutcome.SKIPPED, ExerciseOutcome.MEDIA
PHOTO = SentFile("https://api.twilio.com/media/ME1", "image/jpeg")


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def chat(session, clinic):
    chat = Chat(session, clinic, now=NOW)
    chat.script("hi", "1", "Asha Verma", "Aarav, 12/03/2019", "menu")  # for a child: Aarav
    return chat


@pytest.fixture
def assignment(session, clinic, chat, sender):
    """Lip rounding three times on Mon/Wed/Fri, nudged at 10:00; today's nudge sent."""
    patient = session.scalar(select(Patient).where(Patient.name == "Aarav"))
    assignment = assign(session, clinic, patient)
    schedule_nudges(session, assignment, now=NOW)
    session.commit()
    first = nudges(session)[0]
    assert deliver(session, first.id, now=ist(23, 10), sender=sender) is OutboundStatus.SENT
    chat.now = ist(23, 10, 5)
    return assignment


def answers(session) -> list[tuple[date, ExerciseOutcome, int | None]]:
    return [(r.day, r.outcome, r.done_count) for r in replies(session)]


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("words", ["done", "Done ✅", "did it!", "ho gaya", "हो गया", "kar liya"])
def test_done_in_any_language_is_every_repetition(session, chat, assignment, words):
    assert chat.say(words) == "Thank you! 🌟 Noted that Aarav did Lip rounding today."
    assert answers(session) == [(TODAY, DONE, 3)]


@pytest.mark.parametrize(
    "words",
    ["did 2 of 3", "2 of 3", "2/3", "2 out of 3", "3 mein se 2", "3 में से 2", "३ में से २", "2 baar"],
)
def test_some_repetitions_are_counted(session, chat, assignment, words):
    assert chat.say(words) == "Thank you! Noted that Aarav did 2 of 3 today. Every bit helps 🌱"
    assert answers(session) == [(TODAY, PARTIAL, 2)]


def test_all_the_repetitions_counted_are_done(session, chat, assignment):
    chat.say("3 of 3")
    assert answers(session) == [(TODAY, DONE, 3)]


@pytest.mark.parametrize("words", ["skipped", "Skip", "nahi kiya", "नहीं किया", "not today"])
def test_skipped_in_any_language(session, chat, assignment, words):
    assert chat.say(words) == "No problem, noted. Let's try again at Aarav's next reminder 🙂"
    assert answers(session) == [(TODAY, SKIPPED, 0)]


def test_a_hindi_guardian_is_thanked_in_hindi(session, chat, assignment):
    chat.say("hindi")
    assert chat.say("3 में से 2") == (
        "धन्यवाद! नोट कर लिया: Aarav ने आज 3 में से 2 बार किया। हर कोशिश मायने रखती है 🌱"
    )
    assert chat.say("हो गया") == "धन्यवाद! 🌟 नोट कर लिया: Aarav ने आज Lip rounding पूरी की।"


def test_a_later_answer_replaces_the_day_s_outcome_and_each_is_audited(session, chat, assignment):
    chat.say("2 of 3")
    chat.say("done")
    assert answers(session) == [(TODAY, DONE, 3)]
    audits = session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "ExerciseReply").order_by(AuditLog.id)
    ).all()
    contact_id = assignment.patient.contact_id
    assert [(a.action, a.actor_type, a.actor_id) for a in audits] == [
        ("exercise.reply", "contact", contact_id)
    ] * 2
    assert audits[1].before["outcome"] == "partial" and audits[1].after["outcome"] == "done"


def test_a_photo_is_kept_with_the_day_s_answer_instead_of_going_to_staff(session, chat, assignment):
    receipt = chat.send("", files=(PHOTO,))
    assert receipt.reply == (
        "Thank you for the photo! 📷 Aarav's therapist will see it with the home exercise."
    )
    photo_id = session.scalar(select(InboundMessage.id).order_by(InboundMessage.id.desc()))
    [reply] = replies(session)
    assert (reply.outcome, reply.done_count, reply.message_id) == (MEDIA, None, photo_id)
    conversation = session.scalar(select(Conversation))
    assert conversation.handoff_at is None and conversation.state != "handoff"
    chat.say("done")  # words after the photo: the outcome, the photo stays
    [reply] = replies(session)
    assert (reply.outcome, reply.message_id) == (DONE, photo_id)
    chat.send("", files=(PHOTO,))  # a photo after words keeps the words
    [reply] = replies(session)
    assert reply.outcome is DONE and reply.message_id != photo_id


def test_a_video_is_kept_with_the_day_and_a_captioned_photo_counts_its_words(
    session, chat, assignment
):
    video = SentFile("https://api.twilio.com/media/ME2", "video/mp4")
    assert chat.send("", files=(video,)).reply == (
        "Thank you for the video! 🎥 Aarav's therapist will see it with the home exercise."
    )
    assert answers(session) == [(TODAY, MEDIA, None)]
    chat.send("2/3", files=(PHOTO,))
    assert answers(session) == [(TODAY, PARTIAL, 2)]


def test_without_an_outstanding_nudge_the_words_read_as_usual(session, chat, clinic):
    assert "Noted" not in (chat.say("done") or "")
    assert replies(session) == []


def test_a_bare_number_stays_a_menu_choice(session, chat, assignment):
    reply = chat.say("2")  # the main menu's "My appointments"
    assert "Noted" not in reply
    assert replies(session) == []
    assert held_nudge(session) is not None  # still outstanding for a real answer


def test_yesterday_s_nudge_is_answered_until_the_end_of_the_next_day(session, chat, assignment):
    chat.now = ist(24, 21)
    assert chat.say("done") == "Thank you! 🌟 Noted that Aarav did Lip rounding yesterday."
    chat.now = ist(25, 0, 1)
    assert "Noted" not in (chat.say("skipped") or "")
    assert answers(session) == [(TODAY, DONE, 3)]
    assert held_nudge(session) is None  # forgotten once past


def test_a_nudge_of_another_clinic_s_assignment_cannot_be_answered(
    session, chat, assignment, make_patient
):
    tenancy.unbind(session)  # the chat bound the test's session to Roshni Clinic
    sunrise = seed(session, SUNRISE)
    theirs = assign(session, sunrise, make_patient(sunrise, phone="+447911123456"))
    conversation = session.scalar(select(Conversation))
    conversation.data = {
        **conversation.data,
        EXERCISE_NUDGE: {"assignment_id": theirs.id, "day": "2026-11-23"},
    }
    session.commit()
    assert "Noted" not in (chat.say("done") or "")
    assert replies(session) == []


def test_the_service_refuses_a_day_outside_the_period_and_another_clinic_s_message(
    session, chat, assignment, make_patient
):
    with pytest.raises(InvalidInput, match="period"):
        record_reply(
            session,
            assignment,
            day=date(2026, 12, 5),
            outcome=DONE,
            done_count=None,
            message_id=None,
            now=NOW,
        )
    tenancy.unbind(session)
    sunrise = seed(session, SUNRISE)
    Chat(session, sunrise, phone="+447911123456", now=NOW).say("hi")
    tenancy.unbind(session)
    theirs = session.scalar(select(InboundMessage.id).where(InboundMessage.clinic_id == sunrise.id))
    with pytest.raises(InvalidInput, match="clinic"):
        record_reply(
            session,
            assignment,
            day=TODAY,
            outcome=MEDIA,
            done_count=None,
            message_id=theirs,
            now=NOW,
        )
    session.rollback()
    assert replies(session) == []


# --- through Twilio's signed webhook ------------------------------------------------------------


def test_a_nudge_answered_through_the_signed_webhook(app, session, twilio):
    onboard(app)  # registers "for myself" (Asha Verma) at NOW, 09:00
    session.rollback()
    patient = session.scalar(select(Patient))
    clinic = session.get(Clinic, patient.clinic_id)
    assignment = assign(session, clinic, patient, nudge_time=time(8, 30))
    schedule_nudges(session, assignment, now=ist(23, 8))
    session.commit()
    first = nudges(session)[0]
    assert first.due_at == ist(23, 8, 30)
    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url)
    assert deliver(session, first.id, now=first.due_at, sender=sender) is OutboundStatus.SENT
    assert utcnow() == NOW  # the webhook answers at 09:00, after the nudge

    assert post(app, "did 2 of 3").startswith("Thank you! Noted that Asha did 2 of 3 today.")
    url = twilio.add_media(JPEG, "image/jpeg")
    assert post(app, "", **with_file(url, "image/jpeg")).startswith("Thank you for the photo!")
    session.rollback()
    [reply] = replies(session)
    photo = session.scalar(select(InboundMessage).where(InboundMessage.num_media == 1))
    assert (reply.day, reply.outcome, reply.done_count) == (TODAY, PARTIAL, 2)
    assert reply.message_id == photo.id and reply.clinic_id == photo.clinic_id == clinic.id
