"""Sends whose answer was lost: a worker killed (or timed out) while Twilio held the request.

``release_stuck`` settles such a row by Twilio's own message list (the fake serves it
in Twilio's documented list format, with paging): found, it is sent with Twilio's id
and nothing goes twice; not found, it is sent again once; a worker that died before
calling Twilio simply gives the row back; an unreadable list leaves it for the next
sweep. What the fake accepted is what the patient received.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; times are clinic-local (tests/outbox.py).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.db import write_transaction
from integrations.twilio.client import TwilioSender
from models import Channel, OutboundMessage, OutboundStatus
from services.messaging import delivery, stuck_sends
from services.messaging import outbox as messaging
from services.messaging.delivery import deliver
from services.messaging.stuck_sends import release_stuck
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.outbox import (
    add_template,
    book,
    contact_of,
    ist,
    one,
    open_window,
    outbox,
    reminders,
    seed,
)

QUEUED, SENDING, SENT, FAILED = (
    OutboundStatus.QUEUED,
    OutboundStatus.SENDING,
    OutboundStatus.SENT,
    OutboundStatus.FAILED,
)
TUE_10 = ist(24, 10)  # its 24-hour reminder is due Mon 23 Nov 10:00
AT = ist(23, 10)  # when the worker sends it
LATER = AT + delivery.STUCK_AFTER + timedelta(minutes=1)  # the next sweep after it is stuck


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def reminder(session, clinic, make_patient, twilio):
    """The 24-hour reminder of a booking, inside the WhatsApp window (free-form words)."""
    patient = make_patient(clinic)
    book(session, clinic, patient, TUE_10)
    open_window(session, patient, ist(23, 9))
    twilio.set_clock(lambda: AT)  # Twilio dates what it takes on the test's calendar
    return reminders(session)[0]


@pytest.fixture
def impatient(twilio):
    """A sender whose answer times out while Twilio takes the message anyway."""
    twilio.delay_responses(0.6)
    yield TwilioSender(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url, timeout=0.2)
    twilio.delay_responses(0)


def taken(twilio, count: int = 1) -> list[dict[str, str]]:
    """What Twilio took, once the slow request the sender gave up on has landed."""
    deadline = time.monotonic() + 10
    while len(twilio.sent) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return twilio.sent


def sweep(session, sender, *, now=LATER) -> int:
    return release_stuck(session, now=now, sender_for=lambda _clinic: sender)


def lose_worker(session, row, *, noted: bool, body: str | None = None) -> None:
    """The row as a worker killed mid-attempt leaves it: claimed six minutes before LATER,
    its send noted (about to call Twilio) or not (it never got that far)."""
    with write_transaction(session):
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == row.id)
            .values(
                status=SENDING,
                claimed_at=AT,
                attempts=OutboundMessage.attempts + 1,
                send_started_at=AT if noted else None,
                body=body,
            )
        )


def test_a_send_twilio_took_before_the_answer_was_lost_is_marked_sent_not_sent_again(
    session, reminder, impatient, sender, twilio
):
    assert deliver(session, reminder.id, now=AT, sender=impatient) is SENDING
    row = one(outbox(session, id=reminder.id))
    assert (row.status, row.provider_sid) == (SENDING, None)
    assert row.send_started_at == AT and row.body.startswith("⏰ Reminder")
    assert len(taken(twilio)) == 1  # Twilio has it; we do not know

    assert sweep(session, sender, now=AT + timedelta(minutes=2)) == 0  # not stuck yet
    assert twilio.state.lists == 0
    assert sweep(session, sender) == 0

    row = one(outbox(session, id=reminder.id))
    assert (row.status, row.provider_sid, row.error_code) == (SENT, twilio.sent[0]["Sid"], None)
    assert row.sent_at == AT
    assert deliver(session, row.id, now=LATER, sender=sender) is None
    assert messaging.due_ids(session, now=LATER + timedelta(hours=1)) == []
    assert len(twilio.sent) == 1  # exactly once


def test_a_worker_that_died_before_calling_twilio_gives_the_row_back(
    session, reminder, sender, twilio
):
    lose_worker(session, reminder, noted=False)

    assert sweep(session, sender) == 0

    row = one(outbox(session, id=reminder.id))
    assert (row.status, row.next_attempt_at) == (QUEUED, LATER)
    assert twilio.state.lists == 0  # nothing to ask Twilio about
    assert deliver(session, row.id, now=LATER, sender=sender) is SENT
    assert len(twilio.sent) == 1


def test_a_noted_send_twilio_never_got_is_sent_again_once(session, reminder, sender, twilio):
    lose_worker(session, reminder, noted=True, body="⏰ Reminder: words Twilio never saw")

    assert sweep(session, sender) == 0

    row = one(outbox(session, id=reminder.id))
    assert (row.status, row.outcome_checked_at, row.send_started_at) == (QUEUED, LATER, None)
    assert twilio.state.lists == 1
    assert deliver(session, row.id, now=LATER, sender=sender) is SENT
    assert deliver(session, row.id, now=LATER, sender=sender) is None
    assert len(twilio.sent) == 1


def test_lost_twice_and_not_at_twilio_goes_to_staff_rather_than_round_again(
    session, reminder, sender, twilio
):
    lose_worker(session, reminder, noted=True, body="⏰ Reminder: first try")
    assert sweep(session, sender) == 0
    with write_transaction(session):  # the second attempt is lost the same way
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == reminder.id)
            .values(status=SENDING, send_started_at=AT)
        )

    assert sweep(session, sender) == 1

    row = one(outbox(session, id=reminder.id))
    assert (row.status, row.error_code) == (FAILED, delivery.OUTCOME_UNKNOWN)
    assert "twice" in row.error_message
    assert twilio.sent == []


def test_an_unreadable_message_list_leaves_the_row_for_the_next_sweep_and_sends_nothing(
    session, reminder, impatient, sender, twilio
):
    assert deliver(session, reminder.id, now=AT, sender=impatient) is SENDING
    assert len(taken(twilio)) == 1
    twilio.fail_next_list(20500, status=500, message="Internal Server Error")

    assert sweep(session, sender) == 0

    row = one(outbox(session, id=reminder.id))
    assert (row.status, row.provider_sid) == (SENDING, None)
    assert messaging.due_ids(session, now=LATER) == []  # not queued, so not sent again
    assert deliver(session, row.id, now=LATER, sender=sender) is None
    assert len(twilio.sent) == 1

    assert sweep(session, sender, now=LATER + timedelta(minutes=1)) == 0  # the list answers
    assert one(outbox(session, id=reminder.id)).provider_sid == twilio.sent[0]["Sid"]
    assert len(twilio.sent) == 1


def test_a_list_unreadable_for_hours_goes_to_staff(session, reminder, impatient, sender, twilio):
    assert deliver(session, reminder.id, now=AT, sender=impatient) is SENDING
    assert len(taken(twilio)) == 1
    twilio.fail_next_list(20500, status=500)

    late = AT + stuck_sends.GIVE_UP_LOOKING_AFTER + timedelta(minutes=1)
    assert sweep(session, sender, now=late) == 1

    row = one(outbox(session, id=reminder.id))
    assert (row.status, row.error_code) == (FAILED, delivery.OUTCOME_UNKNOWN)
    assert len(twilio.sent) == 1


def test_a_message_another_row_owns_is_not_taken_for_the_lost_one(
    session, clinic, make_patient, sender, twilio
):
    patient = make_patient(clinic)
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)  # template sends: Twilio has the words
    twilio.set_clock(lambda: AT)
    day_before, two_hours = reminders(session)
    assert deliver(session, day_before.id, now=AT, sender=sender) is SENT  # owned, answered
    lose_worker(session, two_hours, noted=True, body=None)

    assert sweep(session, sender) == 0

    lost = one(outbox(session, id=two_hours.id))
    assert (lost.status, lost.provider_sid) == (QUEUED, None)  # not confused with the other


def test_two_unowned_template_sends_in_the_window_go_to_staff(
    session, clinic, make_patient, sender, twilio
):
    patient = make_patient(clinic)
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    twilio.set_clock(lambda: AT)
    row = reminders(session)[0]
    for _ in range(2):  # say, replies to the patient sent outside the outbox
        sender.send(from_="whatsapp:+14155238886", to=twilio_to(session, patient), body="Hello")
    lose_worker(session, row, noted=True, body=None)

    assert sweep(session, sender) == 1

    row = one(outbox(session, id=row.id))
    assert (row.status, row.error_code) == (FAILED, delivery.OUTCOME_UNKNOWN)
    assert len(twilio.sent) == 2


def twilio_to(session, patient) -> str:
    return f"whatsapp:{contact_of(session, patient).phone}"


def test_the_fake_lists_messages_newest_first_in_pages_the_sdk_follows(sender, twilio):
    twilio.set_clock(lambda: AT)
    for n in range(5):
        sender.send(from_="+15005550006", to="+447911123456", body=f"message {n}")
    sender.send(from_="+15005550006", to="+447911000000", body="someone else")

    listed = sender.client.messages.list(to="+447911123456", page_size=2)

    assert [m.body for m in listed] == [f"message {n}" for n in (4, 3, 2, 1, 0)]
    assert twilio.state.lists == 3  # three pages of two, linked by next_page_uri
    assert {m.date_created for m in listed} == {AT}
    assert (
        sender.sent_since(from_="+15005550006", to="+447911123456", since=AT + timedelta(1)) == []
    )
