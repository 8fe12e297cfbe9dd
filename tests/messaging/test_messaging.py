"""The outbox: delivery obeys each channel's rules (WhatsApp's 24-hour window and
templates, SMS in GSM-7 and DLT templates in India), failures fall back, retry or stop,
callbacks only move forward, staff actions and dues are told to the patient, and every
message goes out exactly once, whether sent by a tick, the CLI or two workers at once.
Sending goes through the real Twilio SDK to FakeTwilio. Reminders' life cycle and the
patient's answers to them are in tests/messaging/test_reminders.py.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; times are clinic-local (tests/outbox.py).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from core.clock import utcnow
from core.config import Config
from core.db import get_db, write_transaction
from integrations.twilio.client import TwilioSender
from jobs.runner import tick
from jobs.runtime import Runtime
from models import (
    AuditLog,
    Channel,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    PaymentMethod,
)
from roshni.app import create_app
from services.audit import Actor
from services.billing import dues, payments
from services.messaging import outbox as messaging
from services.messaging.delivery import deliver
from services.messaging.stuck_sends import release_stuck
from services.people import patients
from services.scheduling.appointments import (
    cancel_appointment,
    change_length,
    complete_appointment,
    reschedule_appointment,
)
from tests.conftest import NOW, SYSTEM
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.outbox import (
    SUNRISE,
    add_template,
    book,
    contact_of,
    ist,
    london,
    one,
    open_window,
    outbox,
    reminders,
    seed,
)

QUEUED, SENDING, SENT = OutboundStatus.QUEUED, OutboundStatus.SENDING, OutboundStatus.SENT
FAILED, CANCELLED = OutboundStatus.FAILED, OutboundStatus.CANCELLED
STAFF = Actor.staff(1)
TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://roshni.example.com"
# GSM 03.38 basic set and extension table: anything else makes an SMS UCS-2.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
# Tue 24 Nov 10:00: its reminders are due Mon 10:00 (24 h) and Tue 08:00 (2 h).
TUE_10 = ist(24, 10)


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic)


# --- rendering for the channel -------------------------------------------------------------------


def test_inside_the_24_hour_window_a_free_form_whatsapp_reminder_is_sent(
    session, clinic, patient, sender, twilio
):
    appointment = book(session, clinic, patient, TUE_10)
    open_window(session, patient, ist(23, 9))
    row = reminders(session)[0]
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is SENT
    sent = one(twilio.sent)
    assert sent["From"] == "whatsapp:+14155238886"
    assert sent["To"] == f"whatsapp:{contact_of(session, patient).phone}"
    assert "ContentSid" not in sent
    body = sent["Body"]
    assert body.startswith("⏰ Reminder: Aarav has Speech Therapy Session with Dr. Priya Nair")
    assert f"tomorrow at 10:00 am ({appointment.number})" in body
    assert body.endswith("1. I'll be there\n2. Reschedule\n3. Cancel")
    row = reminders(session)[0]
    assert row.status is SENT and row.attempts == 1
    assert (row.provider_sid, row.body, row.sent_at) == (sent["Sid"], body, ist(23, 10))


def test_outside_the_window_the_approved_template_goes_with_its_variables_in_order(
    session, clinic, patient, sender, twilio
):
    appointment = book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP, variable_order=["patient", "when", "number"])
    open_window(session, patient, ist(22, 9, 59))  # 24 h 1 min before: closed
    row = reminders(session)[0]
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is SENT
    sent = one(twilio.sent)
    assert sent["ContentSid"].startswith("HX") and "Body" not in sent
    variables = json.loads(sent["ContentVariables"])
    assert list(variables.items()) == [
        ("1", "Aarav"),
        ("2", "tomorrow at 10:00 am"),
        ("3", appointment.number),
    ]
    assert "⏰ Reminder" in reminders(session)[0].body  # the log shows what it says


def test_outside_the_window_a_length_change_goes_as_the_move_s_template(
    session, clinic, patient, sender, twilio
):
    """No clinic registers a template for a resize: the move's approved one carries it."""
    appointment = book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP, key="notice_moved")
    open_window(session, patient, ist(22, 9))  # closed by 09:30 on the 23rd
    change_length(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_end=ist(24, 11),
        now=NOW,
        actor=Actor.staff(1),
    )
    row = one(outbox(session, template_key="notice_length_changed"))
    # Before the session's reminders fall due, so nothing queued earlier goes first.
    assert deliver(session, row.id, now=ist(23, 9, 30), sender=sender) is SENT
    sent = one(twilio.sent)
    assert sent["ContentSid"].startswith("HX") and "Body" not in sent
    assert "changed the length" in outbox(session, id=row.id)[0].body  # the log says it


def test_outside_the_window_without_a_template_nothing_goes_on_whatsapp_and_sms_is_queued(
    session, clinic, patient, sender, twilio
):
    book(session, clinic, patient, TUE_10)
    row = reminders(session)[0]
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is FAILED
    assert twilio.state.requests == 0
    failed = outbox(session, id=row.id)[0]
    assert failed.error_code == "no_template"
    assert "no approved WhatsApp template 'reminder'" in failed.error_message
    fallback = one(outbox(session, channel=Channel.SMS))
    assert (fallback.fallback_of_id, fallback.status) == (row.id, QUEUED)
    assert (fallback.kind, fallback.template_key) == (MessageKind.REMINDER, "reminder")
    assert fallback.next_attempt_at == ist(23, 10)


def test_an_sms_in_india_without_a_dlt_template_fails_and_sends_nothing(
    session, clinic, patient, sender, twilio
):
    book(session, clinic, patient, TUE_10)
    deliver(session, reminders(session)[0].id, now=ist(23, 10), sender=sender)
    sms = one(outbox(session, channel=Channel.SMS))
    assert deliver(session, sms.id, now=ist(23, 10), sender=sender) is FAILED
    sms = one(outbox(session, channel=Channel.SMS))
    assert sms.error_code == "no_dlt_template" and "DLT" in sms.error_message
    assert twilio.state.requests == 0
    assert len(outbox(session)) == 3  # an SMS that failed falls back to nothing


def test_an_sms_in_india_goes_out_as_its_dlt_registered_text(
    session, clinic, patient, sender, twilio
):
    appointment = book(session, clinic, patient, TUE_10)
    add_template(
        session,
        clinic,
        Channel.SMS,
        body="{clinic}: {patient} has {service} {when} ({number}). Fee {price}.",
        dlt_template_id="1107161234567890123",
    )
    deliver(session, reminders(session)[0].id, now=ist(23, 10), sender=sender)
    sms = one(outbox(session, channel=Channel.SMS))
    assert deliver(session, sms.id, now=ist(23, 10, 1), sender=sender) is SENT
    sent = one(twilio.sent)
    assert (sent["From"], sent["To"]) == ("+15017122661", contact_of(session, patient).phone)
    assert sent["Body"] == (
        f"Roshni Clinic: Aarav has Speech Therapy Session tomorrow at 10:00 am "
        f"({appointment.number}). Fee Rs 800."
    )
    assert set(sent["Body"]) <= GSM7


def test_an_sms_outside_india_is_free_form_and_gsm_plain(session, make_patient, sender, twilio):
    sunrise = seed(session, SUNRISE)
    patient = make_patient(sunrise, phone="+447911123456")
    contact_of(session, patient).whatsapp_opted_out_at = NOW
    session.commit()
    book(session, sunrise, patient, london(24, 10))
    row = reminders(session)[0]
    assert row.channel is Channel.SMS
    assert deliver(session, row.id, now=london(23, 10), sender=sender) is SENT
    sent = one(twilio.sent)
    assert (sent["From"], sent["To"]) == ("+447700900456", "+447911123456")
    assert sent["Body"].startswith("Reminder: Aarav has Speech and Language Therapy")
    assert "1. I'll be there" in sent["Body"]
    assert set(sent["Body"]) <= GSM7, set(sent["Body"]) - GSM7


# --- fallback and opt-outs -----------------------------------------------------------------------


@pytest.mark.parametrize("code", [63016, 63003])
def test_a_permanent_whatsapp_failure_falls_back_to_sms_which_is_sent(
    session, clinic, patient, sender, twilio, code
):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    add_template(session, clinic, Channel.SMS, body="{patient}: {when}", dlt_template_id="1107")
    row = reminders(session)[0]
    twilio.fail_next(code, status=400)
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is FAILED
    failed = outbox(session, id=row.id)[0]
    assert (failed.error_code, failed.attempts) == (str(code), 1)
    sms = one(outbox(session, fallback_of_id=row.id))
    assert deliver(session, sms.id, now=ist(23, 10), sender=sender) is SENT
    assert [m["To"] for m in twilio.sent] == [contact_of(session, patient).phone]
    assert twilio.sent[0]["Body"] == "Aarav: tomorrow at 10:00 am"


def test_a_contact_who_opted_out_before_sending_gets_nothing(
    session, clinic, patient, sender, twilio
):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    contact_of(session, patient).whatsapp_opted_out_at = ist(23, 9, 30)
    session.commit()
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is CANCELLED
    row = outbox(session, id=row.id)[0]
    assert row.error_message == "the contact opted out of whatsapp"
    assert twilio.state.requests == 0
    assert outbox(session, channel=Channel.SMS) == []


def test_an_sms_refused_with_21610_fails_and_is_not_retried(session, make_patient, sender, twilio):
    sunrise = seed(session, SUNRISE)
    patient = make_patient(sunrise, phone="+447911123456")
    contact_of(session, patient).whatsapp_opted_out_at = NOW
    session.commit()
    book(session, sunrise, patient, london(24, 10))
    row = reminders(session)[0]
    twilio.fail_next(21610, status=400)
    assert deliver(session, row.id, now=london(23, 10), sender=sender) is FAILED
    assert deliver(session, row.id, now=london(23, 12), sender=sender) is None
    row = outbox(session, id=row.id)[0]
    assert (row.status, row.error_code, row.attempts) == (FAILED, "21610", 1)
    assert twilio.state.requests == 1
    assert len(outbox(session)) == 2  # no fallback from SMS
    assert contact_of(session, patient).sms_opted_out_at is not None  # and no more tries


def test_a_timeout_after_the_request_left_is_not_sent_again_on_a_guess(
    session, clinic, patient, twilio
):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    impatient = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url, timeout=0.2)
    twilio.delay_responses(0.6)  # Twilio takes the message, the answer comes too late
    try:
        assert deliver(session, row.id, now=ist(23, 10), sender=impatient) is SENDING
    finally:
        twilio.delay_responses(0)
    row = outbox(session, id=row.id)[0]
    # Left for release_stuck to settle by Twilio's message list
    # (tests/messaging/test_lost_answers.py).
    assert (row.status, row.send_started_at, row.provider_sid) == (SENDING, ist(23, 10), None)
    assert "Twilio not reachable" in row.error_message
    assert deliver(session, row.id, now=ist(23, 12), sender=impatient) is None  # not again


def test_twilio_unreachable_before_connecting_is_retried(session, clinic, patient):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    nowhere = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, api_url=closed, timeout=1)
    assert deliver(session, row.id, now=ist(23, 10), sender=nowhere) is QUEUED
    assert outbox(session, id=row.id)[0].next_attempt_at > ist(23, 10)


# --- retries and exactly once --------------------------------------------------------------------


def test_a_transient_error_is_retried_later_then_sent(session, clinic, patient, sender, twilio):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    twilio.fail_next(20500, status=500)
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is QUEUED
    row = outbox(session, id=row.id)[0]
    assert (row.status, row.attempts, row.error_code) == (QUEUED, 1, "20500")
    assert row.next_attempt_at == ist(23, 10) + timedelta(seconds=30)
    assert deliver(session, row.id, now=ist(23, 10, 0), sender=sender) is None  # not due yet
    assert deliver(session, row.id, now=row.next_attempt_at, sender=sender) is SENT
    assert len(twilio.sent) == 1 and twilio.state.requests == 2
    assert outbox(session, id=row.id)[0].attempts == 2


def test_transient_errors_back_off_and_stop_after_five_attempts(
    session, clinic, patient, sender, twilio
):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    for _ in range(6):
        twilio.fail_next(20500, status=500)
    at, waits, results = ist(23, 10), [], []
    for _ in range(5):
        results.append(deliver(session, row.id, now=at, sender=sender))
        row = outbox(session, id=row.id)[0]
        waits.append(row.next_attempt_at - at)
        at = row.next_attempt_at
    assert results == [QUEUED] * 4 + [FAILED]
    minutes = [timedelta(minutes=m) for m in (0.5, 2, 10, 30)]
    assert waits[:4] == minutes
    assert (row.status, row.attempts, row.error_code) == (FAILED, 5, "20500")
    assert deliver(session, row.id, now=at + timedelta(hours=1), sender=sender) is None
    assert twilio.state.requests == 5 and twilio.sent == []
    assert outbox(session, channel=Channel.SMS) == []  # a server error is no reason for SMS


def test_a_permanent_error_stops_at_once(session, clinic, patient, sender, twilio):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    twilio.fail_next(21211, status=400)
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is FAILED
    row = outbox(session, id=row.id)[0]
    assert (row.status, row.attempts, row.error_code) == (FAILED, 1, "21211")
    assert deliver(session, row.id, now=ist(23, 11), sender=sender) is None
    assert twilio.state.requests == 1 and len(outbox(session)) == 2


def test_delivering_the_same_row_twice_sends_it_once(session, clinic, patient, sender, twilio):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is SENT
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is None
    assert len(twilio.sent) == 1


def test_two_workers_delivering_the_same_row_at_once_send_it_once(
    db, session, clinic, patient, sender, twilio
):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row_id = reminders(session)[0].id
    twilio.delay_responses(0.2)  # the winner is still talking to Twilio when the other tries
    barrier = threading.Barrier(2)
    results: list[OutboundStatus | None] = []

    def worker() -> None:
        with db.session_scope() as own:
            barrier.wait()
            results.append(deliver(own, row_id, now=ist(23, 10), sender=sender))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results, key=str) == sorted([None, SENT], key=str)
    assert len(twilio.sent) == 1
    assert outbox(session, id=row_id)[0].attempts == 1


class WorkerKilled(BaseException):
    """Stands for SIGKILL: no ``except Exception`` and no clean-up runs."""


def test_a_worker_killed_before_its_request_leaves_the_row_to_the_next_one(
    session, clinic, patient, sender, twilio
):
    book(session, clinic, patient, TUE_10)
    open_window(session, patient, ist(23, 9))
    row = reminders(session)[0]

    def dies_while_preparing(_clinic):
        raise WorkerKilled

    with pytest.raises(WorkerKilled):
        deliver(session, row.id, now=ist(23, 10), sender_for=dies_while_preparing)
    session.rollback()
    # Claimed before the death, the row would sit in "sending" until release_stuck marked
    # it outcome unknown: a reminder lost (bench/faults.py, scenario 1).
    assert outbox(session, id=row.id)[0].status is QUEUED

    assert deliver(session, row.id, now=ist(23, 10, 1), sender=sender) is SENT
    assert len(twilio.sent) == 1
    assert outbox(session, id=row.id)[0].attempts == 1


# --- status callbacks ----------------------------------------------------------------------------


@pytest.fixture
def app(db, tmp_path, clinic):
    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": BASE,
        }
    )
    app = create_app(config)
    yield app
    get_db(app).dispose()


def callback(client, sid: str, status: str, *, token: str = TOKEN, **extra: str):
    data = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID, **extra}
    signature = RequestValidator(token).compute_signature(f"{BASE}/webhooks/twilio/status", data)
    return client.post(
        "/webhooks/twilio/status", data=data, headers={"X-Twilio-Signature": signature}
    )


@pytest.fixture
def sent_row(session, clinic, patient, sender):
    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is SENT
    return outbox(session, id=row.id)[0]


def test_status_callbacks_move_a_message_forward_only(app, session, sent_row):
    client = app.test_client()
    seen = []
    for status in ("sending", "sent", "delivered", "sent", "read", "delivered", "failed"):
        assert callback(client, sent_row.provider_sid, status).status_code == 204
        seen.append(outbox(session, id=sent_row.id)[0].status.value)
    assert seen == ["sent", "sent", "delivered", "delivered", "read", "read", "read"]


@pytest.mark.parametrize("status", ["failed", "undelivered"])
def test_a_failed_or_undelivered_callback_keeps_twilios_error_code(app, session, sent_row, status):
    response = callback(app.test_client(), sent_row.provider_sid, status, ErrorCode="30008")
    assert response.status_code == 204
    row = outbox(session, id=sent_row.id)[0]
    assert (row.status.value, row.error_code) == (status, "30008")


def test_a_callback_for_an_unknown_message_still_gets_2xx(app, session, sent_row):
    response = callback(app.test_client(), "SM" + "f" * 32, "delivered")
    assert 200 <= response.status_code < 300
    assert outbox(session, id=sent_row.id)[0].status is SENT


def test_a_callback_with_a_bad_signature_is_403_and_changes_nothing(app, session, sent_row):
    response = callback(app.test_client(), sent_row.provider_sid, "read", token="not-ours")
    assert response.status_code == 403
    assert outbox(session, id=sent_row.id)[0].status is SENT


# --- staff actions tell the patient --------------------------------------------------------------


def test_staff_booking_moving_and_cancelling_each_queue_a_notice_for_the_patient(
    session, clinic, patient, sender, twilio
):
    appointment = book(session, clinic, patient, TUE_10, actor=STAFF)
    reschedule_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        new_start=ist(25, 11),
        now=NOW + timedelta(minutes=1),
        actor=STAFF,
    )
    cancel_appointment(
        session,
        clinic_id=clinic.id,
        appointment_id=appointment.id,
        now=NOW + timedelta(minutes=2),
        actor=STAFF,
    )
    notices = outbox(session, kind=MessageKind.NOTICE)
    assert [n.template_key for n in notices] == [
        "notice_booked",
        "notice_moved",
        "notice_cancelled",
    ]
    assert [n.due_at for n in notices] == [NOW + timedelta(minutes=m) for m in range(3)]
    assert {(n.status, n.channel, n.appointment_id) for n in notices} == {
        (QUEUED, Channel.WHATSAPP, appointment.id)
    }
    open_window(session, patient, NOW)
    for notice in notices:
        deliver(session, notice.id, now=NOW + timedelta(minutes=3), sender=sender)
    bodies = [m["Body"] for m in twilio.sent]
    assert len(bodies) == 3
    assert (
        "Roshni Clinic moved Aarav's Speech Therapy Session to Wed 25 Nov, 11:00 am" in (bodies[1])
    )
    assert bodies[2].startswith("Roshni Clinic cancelled Aarav's Speech Therapy Session")


# --- dues reminders ------------------------------------------------------------------------------


DUES_DAY = ist(15, 10, 1, month=12)  # the default dues day and time (15th, 10:00), a minute on


@pytest.fixture
def owing(session, clinic, patient):
    """Aarav had two sessions on Monday and they are not paid."""
    clinic.policy.dues_reminders_enabled = True
    session.commit()
    for start in (ist(23, 11), ist(23, 14)):
        appointment = book(session, clinic, patient, start)
        complete_appointment(
            session,
            clinic_id=clinic.id,
            appointment_id=appointment.id,
            now=start + timedelta(hours=1),
            actor=SYSTEM,
        )
    return patient


def test_a_contact_who_owes_gets_one_dues_reminder_on_the_day(session, owing):
    assert dues.queue_monthly_reminders(session, now=DUES_DAY) == 1
    assert dues.queue_monthly_reminders(session, now=DUES_DAY + timedelta(hours=3)) == 0
    row = one(outbox(session, kind=MessageKind.DUES))
    assert (row.contact_id, row.template_key, row.due_at) == (
        owing.contact_id,
        "dues_reminder",
        DUES_DAY,
    )
    assert row.variables == {"amount": "₹1,600"}


def test_no_dues_reminder_before_the_time_or_on_another_day(session, owing):
    assert dues.queue_monthly_reminders(session, now=ist(15, 9, 59, month=12)) == 0
    assert dues.queue_monthly_reminders(session, now=ist(16, 10, 1, month=12)) == 0
    assert outbox(session, kind=MessageKind.DUES) == []


def test_no_dues_reminder_when_the_clinic_has_them_off(session, clinic, owing):
    clinic.policy.dues_reminders_enabled = False
    session.commit()
    assert dues.queue_monthly_reminders(session, now=DUES_DAY) == 0
    assert outbox(session, kind=MessageKind.DUES) == []


def test_no_dues_reminder_when_nothing_is_owed(session, clinic, owing):
    payments.record_payment(  # they paid both sessions' invoices at the desk
        session,
        clinic_id=clinic.id,
        contact_id=owing.contact_id,
        amount_minor=160000,
        method=PaymentMethod.CASH,
        now=ist(23, 16),
        actor=SYSTEM,
    )
    book(session, clinic, owing, ist(30, 10))  # booked, not yet done: owes nothing
    assert dues.queue_monthly_reminders(session, now=DUES_DAY) == 0
    assert outbox(session, kind=MessageKind.DUES) == []


def test_a_dues_reminder_by_sms_outside_india_is_gsm_plain(session, make_patient, sender, twilio):
    sunrise = seed(session, SUNRISE)
    patient = make_patient(sunrise, phone="+447911123456")
    sunrise.policy.dues_reminders_enabled = True
    contact_of(session, patient).whatsapp_opted_out_at = NOW  # so: by SMS
    session.commit()
    appointment = book(session, sunrise, patient, london(23, 10))
    complete_appointment(
        session,
        clinic_id=sunrise.id,
        appointment_id=appointment.id,
        now=london(23, 11),
        actor=SYSTEM,
    )
    day = london(15, 10, 1, month=12)
    assert dues.queue_monthly_reminders(session, now=day) == 1
    row = one(outbox(session, kind=MessageKind.DUES))
    assert deliver(session, row.id, now=day, sender=sender) is SENT
    body = one(twilio.sent)["Body"]
    assert body.startswith("Sunrise Therapy Centre: you have £65 outstanding")
    assert set(body) <= GSM7


# --- the sweep -----------------------------------------------------------------------------------


def runtime(db, tmp_path, sender) -> Runtime:
    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "PUBLIC_BASE_URL": BASE,
        }
    )
    return Runtime(config=config, database=db, sender=sender)


def test_a_tick_sends_everything_due_once_and_a_second_tick_nothing(
    db, session, tmp_path, clinic, make_patient, sender, twilio
):
    add_template(session, clinic, Channel.WHATSAPP)
    aarav = make_patient(clinic)
    meera = make_patient(clinic, name="Meera")
    book(session, clinic, aarav, TUE_10)  # day-before reminder due Mon 10:00
    book(session, clinic, meera, ist(23, 14))  # two-hour reminder due Mon 12:00
    rt = runtime(db, tmp_path, sender)
    first = tick(rt, now=ist(23, 12, 1))
    assert (first.dispatched, first.released) == (2, 0)
    assert sorted(m["To"] for m in twilio.sent) == sorted(
        f"whatsapp:{contact_of(session, p).phone}" for p in (aarav, meera)
    )
    assert {m["StatusCallback"] for m in twilio.sent} == {f"{BASE}/webhooks/twilio/status"}
    second = tick(rt, now=ist(23, 12, 2))
    assert second.dispatched == 0 and len(twilio.sent) == 2
    assert [r.status for r in reminders(session)] == [SENT, QUEUED, SENT]


def test_release_stuck_settles_rows_a_dead_worker_left_without_sending_them_again(
    session, clinic, make_patient, sender, twilio
):
    for name, start in (("Aarav", TUE_10), ("Meera", ist(25, 10))):
        book(session, clinic, make_patient(clinic, name=name), start)
    lost, accepted, busy, _ = reminders(session)
    at = ist(23, 10, 30)
    with write_transaction(session):
        for row, claimed, sid in (
            (lost, at - timedelta(minutes=6), None),  # died before calling Twilio
            (accepted, at - timedelta(minutes=6), "SM" + "1" * 32),  # died after it
            (busy, at - timedelta(minutes=1), None),  # still being worked on
        ):
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == row.id)
                .values(status=SENDING, claimed_at=claimed, provider_sid=sid, attempts=1)
            )
    assert release_stuck(session, now=at, sender_for=lambda _clinic: sender) == 0
    lost, accepted, busy, untouched = reminders(session)
    # Its send was never noted, so Twilio cannot have it: simply queued again.
    assert (lost.status, lost.next_attempt_at) == (QUEUED, at)
    assert accepted.status is SENT
    assert busy.status is SENDING
    assert untouched.status is QUEUED
    assert messaging.due_ids(session, now=at) == [lost.id]
    assert twilio.state.lists == 0 and twilio.sent == []


# --- readiness -----------------------------------------------------------------------------------


def test_readyz_shows_how_many_messages_are_due_and_the_oldest_wait(app, session, patient):
    client = app.test_client()
    checks = client.get("/readyz").get_json()["checks"]
    assert (checks["outbox_due"], checks["oldest_due_seconds"]) == (0, None)
    real_now = utcnow()  # /readyz reads the real clock
    with write_transaction(session):
        for n, due in enumerate((-90, -30, 3600)):
            messaging.queue_message(
                session,
                clinic_id=patient.clinic_id,
                contact_id=patient.contact_id,
                channel=Channel.WHATSAPP,
                kind=MessageKind.DUES,
                template_key="dues_reminder",
                idempotency_key=f"readyz:{n}",
                due_at=real_now + timedelta(seconds=due),
            )
    checks = client.get("/readyz").get_json()["checks"]
    assert checks["outbox_due"] == 2
    assert 90 <= checks["oldest_due_seconds"] < 120


# --- the command line ----------------------------------------------------------------------------


def test_roshni_jobs_tick_now_sends_the_two_hour_reminder_with_the_dry_run_sender(tmp_path):
    from core import migrate
    from core.db import Database
    from tests.core.test_cli import roshni

    url = f"sqlite:///{tmp_path / 'tick.db'}"
    migrate.upgrade(url)
    database = Database(url)
    with database.session_scope() as s:
        clinic = seed(s, templates=True)
        contact = patients.create_contact(
            s, clinic_id=clinic.id, phone="+919876543210", name="Asha Verma", actor=SYSTEM
        )
        patient = patients.add_patient(
            s,
            clinic_id=clinic.id,
            contact_id=contact.id,
            name="Aarav",
            actor=SYSTEM,
            today=NOW.date(),
        )
        book(s, clinic, patient, ist(23, 14))
    env = {
        "DATABASE_URL": url,
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
        "ROSHNI_ENV": "development",
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
        "REDIS_URL": "",
    }
    result = roshni("jobs", "tick", "--now", "2026-11-23T12:01:00+05:30", env=env)
    assert result.returncode == 0, result.stderr
    assert "swept: 1 message(s) due" in result.stdout
    with database.session_scope() as s:
        row = one(reminders(s))
    database.dispose()
    assert row.status is SENT and row.due_at == ist(23, 12)
    assert row.body.startswith("⏰ Reminder: Aarav has Speech Therapy Session")
    assert row.provider_sid.startswith("DRYRUN")


def test_roshni_jobs_tick_now_is_refused_in_production(tmp_path):
    from tests.core.test_cli import roshni

    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
        "ROSHNI_INSTANCE_DIR": str(tmp_path),
        "ROSHNI_ENV": "production",
        "SECRET_KEY": "x" * 40,
    }
    result = roshni("jobs", "tick", "--now", "2026-11-23T12:01:00+05:30", env=env)
    assert result.returncode != 0
    assert "--now is for staging and demos, not production" in result.stderr
    assert "Traceback" not in result.stderr


# --- a clinic's own Twilio account ---------------------------------------------------------------


OWN_SID = "AC" + "b" * 32
OWN_TOKEN = "own-clinic-auth-token-123"


def test_a_clinic_with_its_own_twilio_account_sends_and_is_verified_with_it(
    session, db, clinic, patient, tmp_path
):
    from core.secrets import decrypt
    from jobs.runtime import Runtime
    from services.clinics.settings import set_twilio_account

    config = Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "PUBLIC_BASE_URL": "https://roshni.example.com",
        }
    )
    set_twilio_account(
        session,
        clinic_id=clinic.id,
        account_sid=OWN_SID,
        auth_token=OWN_TOKEN,
        config=config,
        actor=Actor.staff(1),
    )
    stored = session.get(type(clinic), clinic.id)
    assert stored.twilio_auth_token_encrypted != OWN_TOKEN
    assert decrypt(config, stored.twilio_auth_token_encrypted) == OWN_TOKEN
    audit_rows = session.scalars(select(AuditLog).where(AuditLog.action == "clinic.twilio_account"))
    assert all(OWN_TOKEN not in json.dumps([a.before, a.after]) for a in audit_rows)

    book(session, clinic, patient, TUE_10)
    add_template(session, clinic, Channel.WHATSAPP)
    row = reminders(session)[0]
    with FakeTwilio(OWN_SID, OWN_TOKEN) as own:
        config = dataclasses.replace(config, twilio_api_url=own.url)
        rt = Runtime(config=config, database=db, sender=None)  # no deployment account at all
        assert deliver(session, row.id, now=ist(23, 10), sender_for=rt.sender_for) is SENT
        assert len(own.sent) == 1  # went through the clinic's own account

    app = create_app(config)
    client = app.test_client()
    url = "https://roshni.example.com/webhooks/twilio/whatsapp"
    data = {
        "MessageSid": "SM" + "c" * 32,
        "From": "whatsapp:+919812345678",
        "To": "whatsapp:+14155238886",
        "Body": "hi",
    }
    deployment_signed = RequestValidator(AUTH_TOKEN).compute_signature(url, data)
    own_signed = RequestValidator(OWN_TOKEN).compute_signature(url, data)
    assert (
        client.post(
            "/webhooks/twilio/whatsapp",
            data=data,
            headers={"X-Twilio-Signature": deployment_signed},
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/webhooks/twilio/whatsapp", data=data, headers={"X-Twilio-Signature": own_signed}
        ).status_code
        == 200
    )
    get_db(app).dispose()


def test_without_any_twilio_account_a_message_waits_in_the_queue(session, clinic, patient):
    book(session, clinic, patient, TUE_10)
    row = reminders(session)[0]
    assert deliver(session, row.id, now=ist(23, 10), sender_for=lambda _c: None) is QUEUED
    row = outbox(session, id=row.id)[0]
    assert row.status is QUEUED and row.error_message == "no Twilio account configured"
