"""Reminders: they follow their session (booked, moved, cancelled, over), are checked
again when they go, and a patient answers one in the chat with 1, 2 or 3.

Sending goes through the real Twilio SDK to FakeTwilio. NOW is Monday 23 Nov 2026,
09:00 in Kolkata; times are clinic-local (tests/outbox.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Conversation,
    MessageKind,
    OutboundStatus,
    RescheduleRequest,
    RescheduleStatus,
)
from services.audit import Actor
from services.messaging.delivery import deliver
from services.scheduling.appointments import (
    cancel_appointment,
    complete_appointment,
    mark_no_show,
    reschedule_appointment,
)
from tests.chat import Chat
from tests.conftest import NOW, SYSTEM
from tests.outbox import (
    SUNRISE,
    add_template,
    book,
    contact_of,
    ist,
    london,
    one,
    outbox,
    reminders,
    seed,
)

QUEUED, SENT = OutboundStatus.QUEUED, OutboundStatus.SENT
FAILED, CANCELLED = OutboundStatus.FAILED, OutboundStatus.CANCELLED
# Tue 24 Nov 10:00: its reminders are due Mon 10:00 (24 h) and Tue 08:00 (2 h).
TUE_10 = ist(24, 10)


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)


# --- reminders follow their session --------------------------------------------------------------


def test_booking_queues_reminders_a_day_and_two_hours_before(session, clinic, patient):
    appointment = book(session, clinic, patient, TUE_10)
    rows = reminders(session)
    assert [r.due_at for r in rows] == [ist(23, 10), ist(24, 8)]
    assert [r.next_attempt_at for r in rows] == [ist(23, 10), ist(24, 8)]
    for row in rows:
        assert row.status is QUEUED and row.attempts == 0
        assert row.channel is Channel.WHATSAPP and row.template_key == "reminder"
        assert row.appointment_id == appointment.id and row.contact_id == patient.contact_id
    assert outbox(session, kind=MessageKind.NOTICE) == []  # not a staff action


def test_a_reminder_already_past_at_booking_is_not_created(session, clinic, patient):
    book(session, clinic, patient, ist(23, 14))  # five hours ahead: the 24 h one is past
    assert [r.due_at for r in reminders(session)] == [ist(23, 12)]


def test_a_patient_who_opted_out_of_whatsapp_is_reminded_by_sms(session, clinic, patient):
    contact_of(session, patient).whatsapp_opted_out_at = NOW
    session.commit()
    book(session, clinic, patient, TUE_10)
    assert {r.channel for r in reminders(session)} == {Channel.SMS}


def test_rescheduling_cancels_the_old_reminders_and_queues_new_ones(session, clinic, patient):
    appointment = book(session, clinic, patient, ist(27, 10))
    reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(26, 16),
        now=NOW,
        actor=SYSTEM,
    )
    old, new = reminders(session)[:2], reminders(session)[2:]
    assert [(r.status, r.error_message) for r in old] == [(CANCELLED, "the session moved")] * 2
    assert [(r.status, r.due_at) for r in new] == [(QUEUED, ist(25, 16)), (QUEUED, ist(26, 14))]


def test_moving_a_session_back_to_its_first_time_reminds_again(session, clinic, patient):
    appointment = book(session, clinic, patient, ist(27, 10))
    for new_start in (ist(26, 16), ist(27, 10)):
        reschedule_appointment(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            new_start=new_start,
            now=NOW,
            actor=SYSTEM,
        )
    pending = [r.due_at for r in reminders(session) if r.status is QUEUED]
    assert pending == [ist(26, 10), ist(27, 8)]


def test_cancelling_a_session_cancels_its_reminders(session, clinic, patient):
    appointment = book(session, clinic, patient, TUE_10)
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=SYSTEM
    )
    rows = reminders(session)
    assert [(r.status, r.error_message) for r in rows] == [
        (CANCELLED, "the session was cancelled")
    ] * 2


@pytest.mark.parametrize(
    ("close", "status"), [(complete_appointment, "completed"), (mark_no_show, "no_show")]
)
def test_completing_or_a_no_show_cancels_the_reminders_not_yet_sent(
    session, clinic, patient, sender, close, status
):
    appointment = book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    day_before, two_hours = reminders(session)
    assert deliver(session, day_before.id, now=ist(23, 10), sender=sender) is SENT
    close(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=ist(24, 11), actor=SYSTEM
    )
    day_before, two_hours = reminders(session)
    assert day_before.status is SENT
    assert (two_hours.status, two_hours.error_message) == (CANCELLED, f"the session is {status}")


# --- checked again at send time ------------------------------------------------------------------


def test_a_reminder_for_a_session_cancelled_after_queueing_is_never_sent(
    session, clinic, patient, sender, twilio
):
    appointment = book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    cancel_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=NOW, actor=SYSTEM
    )
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is None
    assert outbox(session, id=row.id)[0].status is CANCELLED
    assert twilio.state.requests == 0


def test_a_reminder_whose_session_ended_elsewhere_is_cancelled_at_send_time(
    db, session, clinic, patient, sender, twilio
):
    appointment = book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    assert appointment.status is AppointmentStatus.BOOKED  # this worker has read it
    with db.session_scope() as other:  # then another process changes it behind the outbox
        other.execute(
            update(Appointment)
            .where(Appointment.id == appointment.id)
            .values(status=AppointmentStatus.CANCELLED)
        )
        other.commit()
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is CANCELLED
    row = outbox(session, id=row.id)[0]
    assert row.error_message == "the session is no longer booked"
    assert twilio.state.requests == 0


def test_a_reminder_whose_session_already_started_is_cancelled(
    session, clinic, patient, sender, twilio
):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    two_hours = reminders(session)[1]
    assert deliver(session, two_hours.id, now=ist(24, 10, 5), sender=sender) is CANCELLED
    row = outbox(session, id=two_hours.id)[0]
    assert row.error_message == "the session has already started"
    assert twilio.state.requests == 0


def test_a_late_day_before_reminder_is_dropped_when_the_two_hour_one_is_due(
    session, clinic, patient, sender, twilio
):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    day_before, two_hours = reminders(session)
    assert deliver(session, day_before.id, now=ist(24, 8, 30), sender=sender) is CANCELLED
    assert deliver(session, two_hours.id, now=ist(24, 8, 30), sender=sender) is SENT
    assert len(twilio.sent) == 1


# --- answering a reminder in the chat ------------------------------------------------------------

# The chat books Wed 25 Nov 9:00: reminders Tue 24 Nov 9:00 (24 h) and Wed 25 Nov 7:00 (2 h).
WED_9 = ist(25, 9)


def book_in_chat(chat: Chat) -> Appointment:
    chat.script("hi", "1", "Asha Verma", "Aarav, 12/03/2019")  # consent for a child, the child
    # booking follows registering: speech, Wed 9:00 (a typed time), confirm
    assert "✅ Booked!" in chat.script("1", "wed 9am", "1")
    appointment = chat.session.scalar(select(Appointment))
    assert appointment.start_at == WED_9
    return appointment


def remind(chat: Chat, sender, which: int) -> None:
    """Deliver reminder ``which`` (0: a day before, 1: two hours before) when it is due;
    the parent reads it five minutes later."""
    row = reminders(chat.session)[which]
    assert deliver(chat.session, row.id, now=row.due_at, sender=sender) is SENT
    chat.now = row.due_at + timedelta(minutes=5)


def conversation_state(session) -> str:
    session.expire_all()
    return session.scalar(select(Conversation.state).where(Conversation.channel == "whatsapp"))


def appointment_status(session, appointment) -> AppointmentStatus:
    session.refresh(appointment)
    return appointment.status


@pytest.fixture
def chat(session, clinic):
    return Chat(session, clinic, now=NOW)


def test_a_sent_reminder_waits_for_the_patients_answer(session, chat, sender, twilio):
    book_in_chat(chat)
    remind(chat, sender, 0)
    body = twilio.sent[0]["Body"]  # the parent wrote on Monday: inside the window
    assert body.startswith("⏰ Reminder: Aarav has Speech Therapy Session with Dr. Priya Nair")
    assert "tomorrow at 9:00 am (APT-2026-000001)" in body
    assert body.endswith("1. I'll be there\n2. Reschedule\n3. Cancel")
    assert conversation_state(session) == "reminder"


def test_a_hindi_contact_gets_the_reminder_in_hindi(session, chat, sender, twilio):
    book_in_chat(chat)
    chat.say("hindi")
    remind(chat, sender, 0)
    body = twilio.sent[0]["Body"]
    assert body.startswith("⏰ याद दिला दें: Aarav का Speech Therapy Session Dr. Priya Nair के")
    assert "कल 9:00 am है (APT-2026-000001)।" in body
    assert body.endswith("1. हाँ, हम आएँगे\n2. समय बदलें\n3. रद्द करें")
    assert chat.say("1") == "धन्यवाद, 9:00 am पर मिलते हैं! ✅"


def test_replying_1_to_a_reminder_confirms_the_session(session, chat, sender):
    appointment = book_in_chat(chat)
    remind(chat, sender, 0)
    assert chat.say("1") == "Thank you, see you at 9:00 am! ✅"
    assert appointment_status(session, appointment) is AppointmentStatus.CONFIRMED
    assert appointment.confirmed_at is not None
    assert conversation_state(session) == "menu"
    assert [r.status for r in reminders(session)] == [SENT, QUEUED]  # 2 h before: still goes


@pytest.mark.parametrize("word", ["yes", "Yes", "ok", "okay", "haan"])
def test_a_plain_yes_to_a_reminder_confirms_the_session(session, chat, sender, word):
    appointment = book_in_chat(chat)
    remind(chat, sender, 0)
    assert chat.say(word) == "Thank you, see you at 9:00 am! ✅"
    assert appointment_status(session, appointment) is AppointmentStatus.CONFIRMED


def test_a_plain_no_to_a_reminder_asks_for_a_number(session, chat, sender):
    appointment = book_in_chat(chat)
    remind(chat, sender, 0)
    assert chat.say("no") == "Please reply with a number from 1 to 3."
    assert appointment_status(session, appointment) is AppointmentStatus.BOOKED
    assert conversation_state(session) == "reminder"


def test_a_template_reminder_outside_the_window_is_answered_the_same_way(
    session, clinic, sender, twilio
):
    add_template(session, clinic, Channel.WHATSAPP)  # an approved "reminder" template
    chat = Chat(session, clinic, now=NOW)
    appointment = book_in_chat(chat)
    remind(chat, sender, 1)  # Wed 7:00: the parent last wrote on Monday
    sent = twilio.sent[0]
    assert sent["ContentSid"].startswith("HX") and "Body" not in sent
    assert chat.say("1") == "Thank you, see you at 9:00 am! ✅"
    assert appointment_status(session, appointment) is AppointmentStatus.CONFIRMED


def test_replying_2_inside_the_reschedule_window_asks_the_clinic_instead(session, chat, sender):
    appointment = book_in_chat(chat)
    remind(chat, sender, 0)  # 24 h before: inside the 48-hour window
    reply = chat.say("2")
    assert reply.startswith(
        "That's within 48 hours, so the clinic needs to approve a change. "
        "Which time would suit you?"
    )
    assert "1. Tue 24 Nov, 11:15 am\n2. Thu 26 Nov, 9:00 am\n3. Fri 27 Nov, 9:00 am" in reply
    assert "4. Any time that suits the clinic\n5. Keep the current time" in reply
    sent = chat.say("any time")
    assert sent.startswith(
        "I've asked the clinic to find another time for APT-2026-000001; you'll hear back here."
    )
    assert "1. Book a session" in sent
    request = session.scalar(select(RescheduleRequest))
    assert (request.appointment_id, request.status) == (appointment.id, RescheduleStatus.PENDING)
    session.refresh(appointment)
    assert (appointment.start_at, appointment.status) == (WED_9, AppointmentStatus.BOOKED)
    assert [r.status for r in reminders(session)] == [SENT, QUEUED]  # nothing moved yet


def test_replying_2_moves_the_session_and_its_reminders_without_a_notice(
    session, clinic, chat, sender
):
    clinic.policy.reschedule_window_hours = 12
    session.commit()
    appointment = book_in_chat(chat)
    remind(chat, sender, 0)
    assert "When would suit you?" in chat.say("2")
    assert "Thu 26 Nov, 4:00–4:45 pm" in chat.say("thursday 4pm")
    assert "✅ Moved! APT-2026-000001 is now Thu 26 Nov, 4:00 pm" in chat.say("1")
    session.refresh(appointment)
    assert appointment.start_at == ist(26, 16)
    assert [(r.status, r.due_at) for r in reminders(session)] == [
        (SENT, ist(24, 9)),
        (CANCELLED, ist(25, 7)),
        (QUEUED, ist(25, 16)),
        (QUEUED, ist(26, 14)),
    ]
    assert outbox(session, kind=MessageKind.NOTICE) == []  # the patient did it themself


def test_replying_3_asks_first_then_cancels_the_session_and_its_reminders(
    session, clinic, chat, sender
):
    clinic.policy.cancellation_window_hours = 12
    session.commit()
    appointment = book_in_chat(chat)
    remind(chat, sender, 0)
    question = chat.say("3")
    assert "Cancel Wed 25 Nov, 9:00 am" in question
    assert appointment_status(session, appointment) is AppointmentStatus.BOOKED
    assert "is cancelled" in chat.say("1")
    assert appointment_status(session, appointment) is AppointmentStatus.CANCELLED
    assert [r.status for r in reminders(session)] == [SENT, CANCELLED]
    assert outbox(session, kind=MessageKind.NOTICE) == []


def test_replying_3_inside_the_cancellation_window_is_refused_with_the_policy(
    session, chat, sender
):
    appointment = book_in_chat(chat)
    remind(chat, sender, 0)  # 24 h before, answered 5 min later: inside the 24-hour window
    reply = chat.say("3")  # the policy comes with the question, not after a confirmation
    assert "up to 24 hours before" in reply
    assert "1. Talk to the clinic\n2. No, keep it" in reply
    assert "OK, your session stays booked." in chat.say("2")
    assert appointment_status(session, appointment) is AppointmentStatus.BOOKED
    assert [r.status for r in reminders(session)] == [SENT, QUEUED]


def test_answering_a_reminder_for_a_session_the_clinic_cancelled_goes_to_the_menu(
    session, clinic, chat, sender
):
    appointment = book_in_chat(chat)
    remind(chat, sender, 0)
    cancel_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        now=chat.now,
        actor=Actor.staff(1),
    )
    reply = chat.say("1")
    assert "Thank you" not in reply and "1. Book a session" in reply
    assert appointment_status(session, appointment) is AppointmentStatus.CANCELLED
    notice = outbox(session, kind=MessageKind.NOTICE)
    assert [n.template_key for n in notice] == ["notice_cancelled"]  # staff: the patient is told


def test_someone_who_only_writes_by_sms_is_reminded_by_sms_and_answers_there(
    session, sender, twilio
):
    sunrise = seed(session, SUNRISE)  # London: two-way SMS works
    add_template(session, sunrise, Channel.WHATSAPP)
    chat = Chat(session, sunrise, now=NOW, phone="+447911123456", channel=Channel.SMS)
    # consent for myself, then booking follows: speech with Emma Clarke, Tue 24 Nov 9:00
    assert "✅ Booked!" in chat.script(
        "hi", "2", "Ravi Kumar", "1", "tomorrow 9am", "in person", "1"
    )
    reminder = reminders(session)[0]
    assert reminder.channel is Channel.SMS  # they have never written on WhatsApp
    assert deliver(session, reminder.id, now=london(23, 9), sender=sender) is SENT
    assert twilio.sent[0]["To"] == "+447911123456"
    chat.now = london(23, 9, 5)
    assert chat.say("1") == "Thank you, see you at 9:00 am! ✅"
    appointment = session.scalar(select(Appointment))
    assert appointment_status(session, appointment) is AppointmentStatus.CONFIRMED


def test_a_reminder_that_fell_back_to_sms_is_answered_by_sms(session, sender, twilio):
    sunrise = seed(session, SUNRISE)  # London: two-way SMS works
    add_template(session, sunrise, Channel.WHATSAPP)
    chat = Chat(session, sunrise, now=NOW, phone="+447911123456", channel=Channel.WHATSAPP)
    # consent for myself, then booking follows: speech with Emma Clarke, Tue 24 Nov 9:00
    assert "✅ Booked!" in chat.script(
        "hi", "2", "Ravi Kumar", "1", "tomorrow 9am", "in person", "1"
    )
    whatsapp = reminders(session)[0]
    assert whatsapp.channel is Channel.WHATSAPP
    twilio.fail_next(63003, status=400)  # not on WhatsApp (any more)
    assert deliver(session, whatsapp.id, now=london(23, 9), sender=sender) is FAILED
    sms = one(outbox(session, fallback_of_id=whatsapp.id))
    assert deliver(session, sms.id, now=london(23, 9), sender=sender) is SENT
    assert twilio.sent[0]["To"] == "+447911123456"
    sms_chat = Chat(
        session, sunrise, now=london(23, 9, 5), phone="+447911123456", channel=Channel.SMS
    )
    assert sms_chat.say("1") == "Thank you, see you at 9:00 am! ✅"
    appointment = session.scalar(select(Appointment))
    assert appointment_status(session, appointment) is AppointmentStatus.CONFIRMED
