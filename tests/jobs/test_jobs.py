"""The outbox through real RQ workers, Redis and PostgreSQL: every reminder goes out once.

Fixtures and helpers: tests/jobs_support.py.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import Counter
from datetime import timedelta

from rq.job import JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update

from core.clock import utcnow
from jobs.runner import QUEUE, enqueue_due, tick
from jobs.sweep import StepFailure
from models import Clinic, InboundMedia, MediaStatus, OutboundMessage, OutboundStatus
from services.messaging.media import SentFile
from tests.chat import Chat

# The shared fixtures are imported by name so pytest finds them here; tests then take
# them as parameters of the same name, which is what F811 would flag.
# ruff: noqa: F811
from tests.jobs_support import (  # noqa: F401  (fixtures)
    TIMEOUT,
    assert_each_sent_once,
    db,
    due_reminders,
    env,
    inprocess_worker,
    queue,
    recipients,
    redis,
    run_worker,
    runtime,
    start_worker,
    statuses,
    twilio,
    wait_for,
)

# --- tests ---------------------------------------------------------------------------------


def test_due_reminders_are_enqueued_and_sent_once(
    due_reminders, runtime, queue, env, twilio, session
):
    reminders = due_reminders(5)

    first = enqueue_due(runtime, queue)
    second = enqueue_due(runtime, queue)  # a second sweep before any worker ran
    assert first.dispatched == second.dispatched == 5
    assert queue.count == 5, "a row already waiting in Redis is not added again"
    # Even a job that slipped past the dedupe (another id) does not send twice: the claim wins.
    queue.enqueue("jobs.tasks.send_message", reminders.ids[0], job_id="stray-duplicate")

    run_worker(env)  # sweeps once more itself, then drains the queue

    assert recipients(twilio) == reminders.recipients
    assert all(not m.get("ContentSid") and "Reminder" in m["Body"] for m in twilio.sent)
    assert statuses(session) == {OutboundStatus.SENT: 5}
    assert enqueue_due(runtime, queue).dispatched == 0
    assert queue.count == 0


def test_a_job_a_killed_worker_had_started_is_handed_over_again(
    due_reminders, runtime, queue, redis, inprocess_worker, twilio, session
):
    reminders = due_reminders(2)
    assert enqueue_due(runtime, queue).dispatched == 2
    # A worker takes the first job and is killed with SIGKILL before its claim: the job
    # says "started" in Redis for minutes, and the row is still queued in the outbox.
    job = queue.dequeue_any([queue], timeout=None, connection=redis)[0]
    job.set_status(JobStatus.STARTED)
    assert queue.count == 1

    assert enqueue_due(runtime, queue).dispatched == 2  # bench/faults.py scenario 1
    assert queue.count == 2, "the dead worker's job is queued again"
    inprocess_worker()

    assert_each_sent_once(twilio, session, reminders, sent=2)


def test_a_job_a_killed_worker_had_just_taken_is_handed_over_again(
    due_reminders, runtime, queue, redis, inprocess_worker, twilio, session
):
    reminders = due_reminders(2)
    assert enqueue_due(runtime, queue).dispatched == 2
    # A worker takes a job off the queue (RQ's BLMOVE to its intermediate list) and is
    # killed before starting it: the job still says "queued", but nothing will run it.
    redis.lmove(queue.key, queue.intermediate_queue_key)
    assert queue.count == 1

    assert enqueue_due(runtime, queue).dispatched == 2
    assert queue.count == 2, "the stranded job is queued again"
    inprocess_worker()

    assert_each_sent_once(twilio, session, reminders, sent=2)


def test_a_sweep_after_redis_lost_everything_finds_every_unsent_row(
    due_reminders, runtime, queue, redis, inprocess_worker, twilio, session
):
    reminders = due_reminders(4)
    assert enqueue_due(runtime, queue).dispatched == 4
    assert queue.count == 4

    redis.flushdb()  # a Redis restart without persistence
    assert queue.count == 0

    assert enqueue_due(runtime, queue).dispatched == 4
    assert queue.count == 4
    inprocess_worker()

    assert_each_sent_once(twilio, session, reminders, sent=4)


def test_a_worker_killed_inside_the_twilio_call_causes_no_duplicate(
    due_reminders, runtime, queue, redis, env, twilio, session
):
    """SIGKILL while Twilio holds the request: Twilio accepts it, the answer is lost.

    The row stays in "sending" with no provider id but its send noted. Sending it again
    would duplicate it; ``release_stuck`` finds it in Twilio's message list instead and
    records it as sent with Twilio's id, and everything else goes once. (The worker had
    claimed the four due rows as one batch and noted all four sends before the first
    request left: the three that never left are not in Twilio's list, and go again once.)
    """
    reminders = due_reminders(4)
    twilio.delay_responses(1.0)
    worker = start_worker(env)
    try:
        wait_for(lambda: twilio.state.requests >= 1, "the worker's first Twilio request")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=TIMEOUT)
    wait_for(lambda: len(twilio.sent) == 1, "Twilio to accept the in-flight message")
    twilio.delay_responses(0)
    assert statuses(session) == {OutboundStatus.SENDING: 4}

    # Five minutes and more pass. RQ gives up on the dead worker's job (its heartbeat
    # stopped); the worker subprocesses read the real clock, so rather than moving
    # "now" forward the claim is moved back.
    StartedJobRegistry(QUEUE, connection=redis).cleanup(timestamp=time.time() + 3600)
    batch = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.status == OutboundStatus.SENDING)
        .order_by(OutboundMessage.id)
    ).all()
    for row in batch:
        assert row.claimed_at is not None and row.provider_sid is None
        assert row.send_started_at is not None
        row.claimed_at -= timedelta(minutes=6)
    stuck = batch[0]  # the first of the batch: the one in flight
    session.commit()

    # A new worker's sweep settles it by Twilio's message list, then sends what is due.
    run_worker(env)
    assert enqueue_due(runtime, queue).dispatched == 0

    assert_each_sent_once(twilio, session, reminders, sent=4)
    found = session.get(OutboundMessage, stuck.id)
    assert found is not None and found.provider_sid == twilio.sent[0]["Sid"]
    assert f"whatsapp:{found.contact.phone}" == twilio.sent[0]["To"]


def test_inprocess_mode_sends_what_rq_mode_sends(
    due_reminders, runtime, queue, inprocess_worker, twilio, session
):
    reminders = due_reminders(4)
    enqueue_due(runtime, queue)
    inprocess_worker()
    by_rq = sorted((m["From"], m["To"], m["Body"]) for m in twilio.sent)

    # The same rows, queued again, through the embedded runner instead.
    session.execute(
        update(OutboundMessage).values(
            status=OutboundStatus.QUEUED,
            provider_sid=None,
            body=None,
            sent_at=None,
            attempts=0,
            next_attempt_at=utcnow() - timedelta(minutes=1),
        )
    )
    session.commit()
    assert tick(runtime).dispatched == 4
    by_tick = sorted((m["From"], m["To"], m["Body"]) for m in twilio.sent[4:])

    assert len(by_rq) == 4
    assert by_tick == by_rq
    assert Counter(to for _, to, _ in by_rq) == reminders.recipients
    assert statuses(session) == {OutboundStatus.SENT: 4}


def test_a_failure_before_the_twilio_call_puts_the_row_back(
    due_reminders, runtime, twilio, session, monkeypatch
):
    """Only a death *during* the call is "outcome unknown": a bug before it is retried."""
    due_reminders(1)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in rendering")

    monkeypatch.setattr("services.messaging.delivery.render", broken)
    assert tick(runtime).failed == (StepFailure("dispatch"),)  # logged, and the sweep goes on
    row = session.scalars(select(OutboundMessage)).one()
    assert (row.status, row.attempts) == (OutboundStatus.QUEUED, 1)
    assert row.error_message == "RuntimeError before sending"
    assert row.next_attempt_at > utcnow()
    session.rollback()

    monkeypatch.undo()
    assert tick(runtime, now=row.next_attempt_at).dispatched == 1
    assert len(twilio.sent) == 1
    assert statuses(session) == {OutboundStatus.SENT: 1}


def test_one_clinics_unreadable_twilio_token_does_not_stop_the_others(
    due_reminders, runtime, twilio, session, caplog
):
    """Sending in this process (embedded mode, ``roshni jobs tick``): a clinic whose own
    Twilio token no longer decrypts (a key rotated away) fails its rows, not the sweep."""
    broken = due_reminders(2)
    working = due_reminders(2, address="+919800000099")
    clinic = session.get(Clinic, broken.clinic_id)
    clinic.twilio_account_sid = "AC" + "0" * 32
    clinic.twilio_auth_token_encrypted = "gAAAAA-encrypted-with-a-key-rotated-away"
    session.commit()

    with caplog.at_level(logging.ERROR, logger="jobs.sweep"):
        result = tick(runtime)

    assert result.failed == (StepFailure("dispatch"),)
    assert recipients(twilio) == working.recipients  # the other clinic's went out
    assert len([r for r in caplog.records if r.name == "jobs.sweep"]) == 2  # one per row
    rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    assert [(r.clinic_id, r.status) for r in rows] == [
        (broken.clinic_id, OutboundStatus.QUEUED),
        (broken.clinic_id, OutboundStatus.QUEUED),
        (working.clinic_id, OutboundStatus.SENT),
        (working.clinic_id, OutboundStatus.SENT),
    ]


def test_a_file_a_patient_sent_is_fetched_once_by_an_rq_worker(
    runtime, queue, inprocess_worker, twilio, session, make_clinic, tmp_path
):
    clinic = make_clinic()
    chat = Chat(session, clinic, now=utcnow())
    url = twilio.add_media(b"%PDF-1.4 referral", "application/pdf")
    chat.send("referral", files=(SentFile(url, "application/pdf"),))
    assert "passed it to" in chat.last

    enqueue_due(runtime, queue)
    enqueue_due(runtime, queue)  # a second sweep before any worker ran
    assert queue.count == 1
    inprocess_worker()

    session.rollback()
    row = session.scalar(select(InboundMedia))
    assert row.status is MediaStatus.FETCHED
    assert (tmp_path / "media" / row.storage_key).read_bytes() == b"%PDF-1.4 referral"
    assert len(twilio.media_fetches) == 1
