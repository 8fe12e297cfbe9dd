"""Home-exercise nudges: one per practice day at the clinic-local time (India and a UK
clinic across the change from summer time), none in the past, idempotent, withdrawn with
the assignment; at send time never in the quiet hours or after their day, never to an
opted-out or erased contact or for a stopped assignment; the approved template outside
WhatsApp's window; and a sent nudge is remembered for the guardian's answer.

Sending goes through the real Twilio SDK to FakeTwilio. NOW is Monday 23 Nov 2026, 09:00
in Kolkata (tests/outbox.py).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pytest

from models import Channel, OutboundStatus
from services.clinical.exercise_nudges import cancel_nudges
from services.clinical.exercise_nudges import schedule_nudges as schedule
from services.messaging.batches import deliver_due_from
from services.messaging.delivery import deliver
from services.messaging.exercise_sends import ENDED, ERASED, QUIET, STALE
from tests.conftest import NOW
from tests.exercises import assign, held_nudge, nudges
from tests.outbox import SUNRISE, add_template, contact_of, ist, london, one, open_window, seed

pytestmark = pytest.mark.usefixtures("frozen_clock")

QUEUED, SENT, CANCELLED = OutboundStatus.QUEUED, OutboundStatus.SENT, OutboundStatus.CANCELLED


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def patient(clinic, make_patient):
    return make_patient(clinic, name="Aarav Verma")


def scheduled(session, assignment, now=NOW) -> int:
    made = schedule(session, assignment, now=now)
    session.commit()
    return made


# --- scheduling ---------------------------------------------------------------------------------


def test_one_nudge_per_practice_day_at_the_clinic_time_from_today_to_the_end(
    session, clinic, patient
):
    assignment = assign(session, clinic, patient)  # Mon, Wed, Fri 10:00, 16 Nov – 4 Dec
    assert scheduled(session, assignment) == 6
    rows = nudges(session)
    assert [r.due_at for r in rows] == [
        ist(23, 10),
        ist(25, 10),
        ist(27, 10),
        ist(30, 10),
        ist(2, 10, month=12),
        ist(4, 10, month=12),
    ]
    assert rows[0].due_at == datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # IST has no DST
    first = rows[0]
    assert (first.status, first.channel, first.template_key) == (
        QUEUED,
        Channel.WHATSAPP,
        "exercise_nudge",
    )
    assert first.contact_id == patient.contact_id and first.next_attempt_at == first.due_at
    assert first.idempotency_key == f"exercise:{assignment.id}:20261123"
    assert first.variables == {
        "patient": "Aarav",
        "exercise": "Lip rounding",
        "repetitions": 3,
        "assignment_id": assignment.id,
        "day": "2026-11-23",
    }
    assert scheduled(session, assignment) == 0  # again: nothing doubled
    assert len(nudges(session)) == 6


def test_a_nudge_time_already_past_today_starts_on_the_next_practice_day(session, clinic, patient):
    assignment = assign(session, clinic, patient, nudge_time=time(8, 30))
    scheduled(session, assignment)
    assert nudges(session)[0].due_at == ist(25, 8, 30)
    later = assign(session, clinic, patient, starts_on=date(2026, 11, 30))
    scheduled(session, later)
    starting_later = [r for r in nudges(session) if r.variables["assignment_id"] == later.id]
    assert [r.due_at for r in starting_later] == [
        ist(30, 10),
        ist(2, 10, month=12),
        ist(4, 10, month=12),
    ]


def test_a_uk_clinic_nudges_at_its_own_time_in_summer_and_in_winter(session, make_patient):
    sunrise = seed(session, SUNRISE)
    patient = make_patient(sunrise, phone="+447911123456")
    assignment = assign(
        session,
        sunrise,
        patient,
        weekdays=tuple(range(7)),
        nudge_time=time(17, 0),
        starts_on=date(2026, 10, 23),
        ends_on=date(2026, 10, 27),
    )
    assert scheduled(session, assignment, now=london(22, 12, month=10)) == 5
    # British Summer Time ends on Sunday 25 October 2026.
    assert [r.due_at.astimezone(UTC).hour for r in nudges(session)] == [16, 16, 17, 17, 17]
    assert [r.due_at for r in nudges(session)][2] == london(25, 17, month=10)


def test_nothing_is_scheduled_when_it_could_not_be_sent(session, clinic, patient):
    stopped = assign(session, clinic, patient)
    stopped.stopped_at = NOW
    quiet = assign(session, clinic, patient, nudge_time=time(21, 30))
    over = assign(session, clinic, patient, starts_on=date(2026, 11, 2), ends_on=date(2026, 11, 20))
    assert [scheduled(session, a) for a in (stopped, quiet, over)] == [0, 0, 0]
    contact_of(session, patient).erased_at = NOW
    session.commit()
    assert scheduled(session, assign(session, clinic, patient)) == 0
    assert nudges(session) == []


def test_cancelling_withdraws_the_unsent_nudges_and_scheduling_again_brings_them_back(
    session, clinic, patient, sender
):
    assignment = assign(session, clinic, patient)
    other = assign(session, clinic, patient, name="Tongue clicks")
    scheduled(session, assignment)
    scheduled(session, other)
    open_window(session, patient, ist(23, 9))
    first = nudges(session)[0]
    assert deliver(session, first.id, now=ist(23, 10), sender=sender) is SENT

    assert cancel_nudges(session, assignment, now=ist(23, 11)) == 5
    session.commit()
    mine = [r for r in nudges(session) if r.variables["assignment_id"] == assignment.id]
    assert [r.status for r in mine] == [SENT] + [CANCELLED] * 5
    assert {r.error_message for r in mine[1:]} == {"the home exercise was stopped or changed"}
    theirs = [r for r in nudges(session) if r.variables["assignment_id"] == other.id]
    assert {r.status for r in theirs} == {QUEUED}

    assert scheduled(session, assignment, now=ist(23, 11)) == 5  # changed, not stopped
    mine = [r for r in nudges(session) if r.variables["assignment_id"] == assignment.id]
    assert [r.status for r in mine] == [SENT] + [QUEUED] * 5


# --- at send time -------------------------------------------------------------------------------


def test_inside_the_window_the_nudge_is_free_text_and_is_remembered_for_the_answer(
    session, clinic, patient, sender, twilio
):
    assignment = assign(session, clinic, patient)
    scheduled(session, assignment)
    open_window(session, patient, ist(23, 9))
    row = nudges(session)[0]
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is SENT
    body = one(twilio.sent)["Body"]
    assert body.startswith("🏠 Roshni Clinic: time for Aarav's home exercise, Lip rounding (3×")
    assert "*done*" in body and "1 of 3" in body
    assert held_nudge(session) == {"assignment_id": assignment.id, "day": "2026-11-23"}


def test_outside_the_window_the_approved_template_carries_the_variables(
    session, clinic, patient, sender, twilio
):
    scheduled(session, assign(session, clinic, patient))
    add_template(
        session,
        clinic,
        Channel.WHATSAPP,
        key="exercise_nudge",
        variable_order=["patient", "exercise", "repetitions"],
    )
    open_window(session, patient, ist(22, 9, 59))  # 24 h 1 min before: closed
    row = nudges(session)[0]
    assert deliver(session, row.id, now=ist(23, 10), sender=sender) is SENT
    sent = one(twilio.sent)
    assert sent["ContentSid"].startswith("HX") and "Body" not in sent
    assert json.loads(sent["ContentVariables"]) == {"1": "Aarav", "2": "Lip rounding", "3": "3"}


@pytest.mark.parametrize(
    ("at", "sent", "reason"),
    [
        (ist(23, 20, 59), True, None),  # late after an outage, still the day's evening
        (ist(23, 21, 0), False, QUIET),  # a nudge after 21:00 is noise
        (ist(23, 23, 30), False, QUIET),
        (ist(24, 7, 59), False, STALE),  # its day is over
        (ist(24, 10), False, STALE),
    ],
)
def test_a_late_nudge_is_not_sent_in_the_quiet_hours_or_after_its_day(
    session, clinic, patient, sender, twilio, at, sent, reason
):
    scheduled(session, assign(session, clinic, patient))
    open_window(session, patient, ist(23, 9))
    row = nudges(session)[0]
    outcome = deliver(session, row.id, now=at, sender=sender)
    row = nudges(session)[0]
    if sent:
        assert outcome is SENT and len(twilio.sent) == 1
    else:
        assert (outcome, row.status, row.error_message) == (CANCELLED, CANCELLED, reason)
        assert twilio.state.requests == 0
        assert held_nudge(session) is None


def test_an_opted_out_or_erased_contact_or_a_stopped_assignment_gets_no_nudge(
    session, clinic, patient, make_patient, sender, twilio
):
    assignment = assign(session, clinic, patient)
    scheduled(session, assignment)
    opted = make_patient(clinic, name="Meera")
    scheduled(session, assign(session, clinic, opted))
    erased = make_patient(clinic, name="Kabir")
    scheduled(session, assign(session, clinic, erased))
    first_of = {r.contact_id: r for r in reversed(nudges(session))}
    contact_of(session, opted).whatsapp_opted_out_at = NOW
    contact_of(session, erased).erased_at = NOW
    assignment.stopped_at = NOW
    session.commit()
    for contact in (patient.contact_id, opted.contact_id, erased.contact_id):
        deliver(session, first_of[contact].id, now=ist(23, 10), sender=sender)
    reasons = {r.contact_id: r.error_message for r in nudges(session) if r.status is CANCELLED}
    assert reasons == {
        patient.contact_id: ENDED,
        opted.contact_id: "the contact opted out of whatsapp",
        erased.contact_id: ERASED,
    }
    assert twilio.state.requests == 0


def test_a_batch_of_workers_sends_nudges_and_remembers_them_too(
    session, clinic, patient, sender, twilio
):
    assignment = assign(session, clinic, patient)
    scheduled(session, assignment)
    assignment_id = assignment.id
    open_window(session, patient, ist(23, 9))
    row = nudges(session)[0]
    outcomes = deliver_due_from(session, row.id, now=ist(23, 10, 5), sender=sender)
    assert outcomes == {row.id: SENT}
    assert len(twilio.sent) == 1
    assert held_nudge(session) == {"assignment_id": assignment_id, "day": "2026-11-23"}
