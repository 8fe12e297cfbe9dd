"""Dispatch on commit with RQ: a transaction that queues messages hands them to RQ the
moment it commits (its outermost COMMIT, never a savepoint's release), under the job id
the sweep uses, so the sweep never adds them twice; a message due later is scheduled for
its moment; Redis failing at commit fails nothing. Embedded mode: tests/messaging/
test_dispatch_on_commit.py.

PostgreSQL (the RQ tests' database, tests/jobs_support.py), Redis db ROSHNI_TEST_REDIS,
Twilio through the real SDK to FakeTwilio; the contact wrote on WhatsApp minutes ago, so
replies go free-form.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import Config
from core.db import unit_of_work, write_transaction
from jobs.dispatch import (
    RQDispatcher,
    commit_connection,
    link_job_id,
    links_lock,
    schedule_at,
    send_job_id,
)
from jobs.runner import QUEUE, enqueue_due
from jobs.runtime import build_runtime
from jobs.worker import _Scheduler
from models import (
    Contact,
    Conversation,
    LinkStatus,
    OutboundMessage,
    OutboundStatus,
    PaymentLink,
)
from services.audit import Actor
from services.billing.payment_requests import open_link
from services.messaging import handoff
from services.messaging.dispatch import install

# ruff: noqa: F811
from tests.chat import Chat
from tests.conftest import RAZORPAY_BASE_URL
from tests.jobs_support import (  # noqa: F401  (fixtures)
    db,
    env,
    inprocess_worker,
    queue,
    redis,
    runtime,
    twilio,
    wait_for,
    worker_in_process,
)
from tests.outbox import outbox, queue_text, seed

PARENT = "+919876543210"
STAFF = Actor.staff(1)


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def dispatched(db, queue) -> Iterator[Queue]:
    """Commits of this database's sessions hand their messages to ``queue``."""
    with install(db.session_factory, RQDispatcher(queue)):
        yield queue


@pytest.fixture
def conversation(session, clinic) -> Conversation:
    """A parent who registered on WhatsApp ten minutes ago (the 24-hour window is open)."""
    Chat(session, clinic, phone=PARENT, now=utcnow() - timedelta(minutes=10)).script(
        "hi", "2", "Asha Verma"
    )
    session.commit()
    found = session.scalar(select(Conversation).where(Conversation.phone == PARENT))
    assert found is not None
    session.rollback()
    return found


def reply(session: Session, clinic, conversation: Conversation, text: str) -> OutboundMessage:
    return handoff.staff_reply(
        session,
        clinic_id=clinic.id,
        conversation_id=conversation.id,
        now=utcnow(),
        actor=STAFF,
        text=text,
    )


def job_status(queue: Queue, message_id: int) -> JobStatus | None:
    try:
        return Job.fetch(send_job_id(message_id), connection=queue.connection).get_status()
    except NoSuchJobError:
        return None


def queue_notice(session: Session, clinic, contact_id: int, key: str, *, due_in=timedelta(0)):
    """A message for the contact, due ``due_in`` from now, in the caller's transaction."""
    return queue_text(
        session, clinic.id, contact_id, key, key=f"test:{key}", due_at=utcnow() + due_in
    )


def test_a_staff_reply_waits_in_rq_under_the_sweeps_job_id_the_moment_it_commits(
    session, clinic, conversation, dispatched
):
    assert dispatched.job_ids == []
    message = reply(session, clinic, conversation, "We have a slot at 4 pm today.")
    # Right after the commit, before any sweep: the job is there, under the sweep's id.
    assert job_status(dispatched, message.id) == JobStatus.QUEUED
    assert dispatched.job_ids == [f"send-message-{message.id}"]
    job = Job.fetch(send_job_id(message.id), connection=dispatched.connection)
    assert (job.func_name, job.args) == ("jobs.tasks.send_message", (message.id,))


def test_a_transaction_that_rolls_back_enqueues_nothing(session, clinic, conversation, dispatched):
    with pytest.raises(RuntimeError), write_transaction(session):
        queue_notice(session, clinic, conversation.contact_id, "never")
        raise RuntimeError("the service failed after queueing")
    assert dispatched.job_ids == []
    assert outbox(session) == []
    # The next commit of the same session hands over only its own message.
    with write_transaction(session):
        later = queue_notice(session, clinic, conversation.contact_id, "later")
    assert dispatched.job_ids == [send_job_id(later.id)]


def test_a_savepoint_release_hands_nothing_over_before_the_outer_commit(
    session, clinic, conversation, dispatched
):
    contact_id = conversation.contact_id
    with unit_of_work(session):
        with write_transaction(session):  # a SAVEPOINT inside the unit of work
            kept = queue_notice(session, clinic, contact_id, "kept")
        # Released, not committed: another session cannot see the row yet.
        assert dispatched.job_ids == []
        with pytest.raises(RuntimeError), write_transaction(session):
            undone = queue_notice(session, clinic, contact_id, "undone")
            undone_id = undone.id
            raise RuntimeError("this service call fails; its savepoint rolls back")
        assert dispatched.job_ids == []
    # The outer COMMIT hands over the released savepoint's row, not the rolled-back one.
    assert dispatched.job_ids == [send_job_id(kept.id)]
    assert job_status(dispatched, undone_id) is None
    assert [m.id for m in outbox(session)] == [kept.id]


def test_a_message_due_later_is_scheduled_for_its_moment_under_the_same_id(
    session, clinic, conversation, dispatched, runtime
):
    with write_transaction(session):
        later = queue_notice(
            session, clinic, conversation.contact_id, "later", due_in=timedelta(hours=2)
        )
        due_at = later.next_attempt_at
    assert job_status(dispatched, later.id) == JobStatus.SCHEDULED
    assert dispatched.job_ids == []  # not in the queue before its time
    at = dispatched.scheduled_job_registry.get_scheduled_time(send_job_id(later.id))
    # To the microsecond (RQ itself keeps whole seconds; our scheduler reads exact times).
    assert abs(at - due_at) < timedelta(milliseconds=1)
    # The sweep leaves it alone: not due yet.
    assert enqueue_due(runtime, dispatched).dispatched == 0


def test_redis_failing_at_commit_fails_nothing_and_logs_no_personal_data(
    session, clinic, conversation, db, caplog
):
    gone = Queue(QUEUE, connection=commit_connection("redis://127.0.0.1:9/0"))
    caplog.set_level(logging.WARNING)
    with install(db.session_factory, RQDispatcher(gone)):
        message = reply(session, clinic, conversation, "Your report is ready.")
    [row] = outbox(session)
    assert (row.id, row.status) == (message.id, OutboundStatus.QUEUED)  # the sweep's to send
    warnings = [r.getMessage() for r in caplog.records if r.name == "jobs.dispatch"]
    assert len(warnings) == 1 and "the sweep will send them" in warnings[0]
    assert PARENT not in caplog.text and "report is ready" not in caplog.text


def test_a_dispatched_message_is_sent_once_though_the_sweep_runs_before_the_worker(
    session, clinic, conversation, dispatched, runtime, inprocess_worker, twilio
):
    message = reply(session, clinic, conversation, "See you at 4.")
    assert dispatched.count == 1
    assert enqueue_due(runtime, dispatched).dispatched == 1  # the sweep finds it due...
    assert dispatched.count == 1  # ...and leaves the job that waits alone
    inprocess_worker()
    assert enqueue_due(runtime, dispatched).dispatched == 0
    inprocess_worker()
    assert [m["To"] for m in twilio.sent] == [f"whatsapp:{PARENT}"]
    assert [(m.id, m.status) for m in outbox(session)] == [(message.id, OutboundStatus.SENT)]


def test_our_scheduler_moves_a_job_whose_moment_has_passed_inside_its_whole_second(queue):
    """RQ scores a scheduled job in whole seconds and its scheduler looks once a second: a
    reminder left 1-2 s late. Ours reads the exact moment (and looks ten times a second)."""
    now = utcnow()
    schedule_at(queue, now, "jobs.tasks.noop", 1, job_id="due-now")
    schedule_at(queue, now + timedelta(hours=1), "jobs.tasks.noop", 2, job_id="due-later")
    scheduler = _Scheduler([queue], connection=queue.connection)
    scheduler.acquire_locks()
    try:
        scheduler.enqueue_scheduled_jobs()
    finally:
        scheduler.release_locks()
    assert queue.job_ids == ["due-now"]  # though RQ would wait for the next whole second
    assert queue.scheduled_job_registry.get_job_ids() == ["due-later"]


def open_dues_link(session: Session, clinic, contact_id: int) -> int:
    now = utcnow()
    with write_transaction(session):
        link = open_link(
            session,
            clinic=clinic,
            contact=session.get(Contact, contact_id),
            amount_minor=50000,
            description="Dues",
            expire_at=now + timedelta(days=2),
            now=now,
        )
        assert link is not None
        session.flush()
        return link.id


def test_a_committed_payment_link_is_made_by_a_job_and_its_message_sent_without_the_sweep(
    session,
    clinic,
    conversation,
    dispatched,
    env,
    razorpay,
    connect_razorpay,
    twilio,
    monkeypatch,
):
    razorpay.now = None  # the real clock, as the link's lifetime is
    connect_razorpay(clinic)
    link_id = open_dues_link(session, clinic, conversation.contact_id)
    # Its commit queued a job to make it at Razorpay; no sweep has run.
    assert dispatched.job_ids == [link_job_id(link_id)]
    with worker_in_process(dispatched, with_razorpay(env, razorpay), monkeypatch) as work:
        work()  # makes the link; that commit dispatches its message, which it then sends
    link = session.get(PaymentLink, link_id)
    assert link is not None and link.status is LinkStatus.CREATED
    [sent] = twilio.sent
    assert sent["To"] == f"whatsapp:{PARENT}" and link.short_url in sent["Body"]
    assert len(razorpay.links) == 1
    assert [m.status for m in outbox(session)] == [OutboundStatus.SENT]


def test_a_sweep_leaves_pending_links_to_the_job_that_holds_the_links_lock(
    session, clinic, conversation, queue, db, env, razorpay, connect_razorpay
):
    """Two at once would both ask Razorpay for the link (its claim does not exclude a
    second claimant while it is pending)."""
    razorpay.now = None
    connect_razorpay(clinic)
    link_id = open_dues_link(session, clinic, conversation.contact_id)
    rt = build_runtime(Config.from_env(with_razorpay(env, razorpay)), database=db)
    with links_lock(queue.connection) as ours:
        assert ours
        enqueue_due(rt, queue)
    assert link_status(session, link_id) is LinkStatus.PENDING and razorpay.links == {}
    enqueue_due(rt, queue)  # the lock is free again: this sweep makes it
    assert link_status(session, link_id) is LinkStatus.CREATED and len(razorpay.links) == 1


def with_razorpay(env: dict[str, str], razorpay) -> dict[str, str]:
    return {
        **env,
        "SECRET_KEY": "x" * 40,  # the key the clinic's Razorpay secret is encrypted with
        "RAZORPAY_API_URL": razorpay.url,
        "PUBLIC_BASE_URL": RAZORPAY_BASE_URL,
    }


def link_status(session: Session, link_id: int) -> LinkStatus:
    session.rollback()
    status = session.scalar(select(PaymentLink.status).where(PaymentLink.id == link_id))
    session.rollback()
    assert status is not None
    return status
