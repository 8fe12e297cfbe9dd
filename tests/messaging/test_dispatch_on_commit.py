"""Dispatch on commit in embedded mode: the in-process sender is woken by the commit that
queued a message (no waiting for the sweep's interval), sends a message due later at its
moment, and sends each message once, in order. RQ mode: tests/jobs/test_dispatch.py.

The sweep's interval is set to an hour here, so only the wake-up or the sender's timer can
send anything after the first pass. The real clock: the parent wrote minutes ago.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from core.config import Config
from core.db import write_transaction
from jobs.inprocess import InprocessSender, start_inprocess
from jobs.runner import tick
from jobs.runtime import Runtime
from models import (
    Contact,
    Conversation,
    LinkStatus,
    MessageKind,
    OutboundStatus,
    PaymentLink,
)
from services.audit import Actor
from services.billing.payment_requests import open_link
from services.messaging import dispatch, handoff
from tests.chat import Chat
from tests.conftest import payments_env
from tests.outbox import outbox, queue_text, seed

PARENT = "+919876543210"
TIMEOUT = 30  # seconds: generous, never a measure


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def clinic(session):
    return seed(session)


@pytest.fixture
def conversation(session, clinic) -> Conversation:
    Chat(session, clinic, phone=PARENT, now=utcnow() - timedelta(minutes=10)).script(
        "hi", "2", "Asha Verma"
    )
    session.commit()
    found = session.scalar(select(Conversation).where(Conversation.phone == PARENT))
    assert found is not None
    session.rollback()
    return found


@pytest.fixture
def config(db, tmp_path) -> Config:
    return Config.from_env(
        {
            "ROSHNI_ENV": "test",
            "DATABASE_URL": db.url,
            "SECRET_KEY": "x" * 40,
            "ROSHNI_INSTANCE_DIR": str(tmp_path),
        }
    )


@pytest.fixture
def sending(db, sender, config) -> Iterator[InprocessSender]:
    """The embedded job thread on this database, its sweep an hour apart, after its first
    pass (the start-up sweep) is done."""
    thread = start_inprocess(Runtime(config=config, database=db, sender=sender), sweep_every=3600)
    try:
        wait_for(lambda: thread.sweeps >= 1, "the start-up sweep")
        yield thread
    finally:
        thread.stop()
        thread.join(timeout=TIMEOUT)


def reply(session, clinic, conversation, text: str):
    return handoff.staff_reply(
        session,
        clinic_id=clinic.id,
        conversation_id=conversation.id,
        now=utcnow(),
        actor=Actor.staff(1),
        text=text,
    )


def test_a_committed_staff_reply_is_sent_without_waiting_for_the_sweep(
    session, clinic, conversation, sending, twilio
):
    message = reply(session, clinic, conversation, "We have a slot at 4 pm today.")
    wait_for(lambda: len(twilio.sent) == 1, "the reply to reach Twilio")
    assert twilio.sent[0]["To"] == f"whatsapp:{PARENT}"
    assert "4 pm today" in twilio.sent[0]["Body"]
    wait_for(lambda: outbox(session)[0].status is OutboundStatus.SENT, "the send recorded")
    assert [m.id for m in outbox(session)] == [message.id]


def test_two_replies_in_a_row_arrive_in_order_each_once(
    session, clinic, conversation, sending, twilio
):
    reply(session, clinic, conversation, "First: we have a slot at 4.")
    reply(session, clinic, conversation, "Second: or at 5.")
    wait_for(lambda: len(twilio.sent) == 2, "both replies")
    assert [m["Body"].split(":")[0] for m in twilio.sent] == ["First", "Second"]
    # A sweep afterwards finds nothing left to send.
    assert tick(sending.rt).dispatched == 0
    assert len(twilio.sent) == 2


def test_a_message_due_later_is_sent_at_its_moment_by_the_senders_timer(
    session, clinic, conversation, sending, twilio
):
    due_at = utcnow() + timedelta(seconds=1)
    with write_transaction(session):
        queue_text(
            session,
            clinic.id,
            conversation.contact_id,
            "A moment later.",
            key="test:later",
            due_at=due_at,
        )
    wait_for(lambda: len(twilio.sent) == 1, "the message due a second later")
    assert twilio.state.dated[0] >= due_at.replace(microsecond=0)  # never before it was due
    wait_for(lambda: outbox(session)[0].status is OutboundStatus.SENT, "the send recorded")
    [row] = outbox(session)
    assert row.sent_at is not None and row.sent_at >= due_at


def test_a_rolled_back_transaction_sends_nothing(session, clinic, conversation, sending, twilio):
    with pytest.raises(RuntimeError), write_transaction(session):
        queue_text(
            session, clinic.id, conversation.contact_id, "Never.", key="test:never", due_at=utcnow()
        )
        raise RuntimeError("the service failed after queueing")
    reply(session, clinic, conversation, "This one goes.")
    wait_for(lambda: len(twilio.sent) == 1, "the reply that committed")
    assert "This one goes." in twilio.sent[0]["Body"]
    assert len(outbox(session)) == 1


def test_the_timer_finds_a_row_that_fell_due_during_a_pass(
    session, clinic, conversation, db, sender, config
):
    """The pass sends what is due by its moment; the timer then looks for what falls due
    after that same moment. Read at a later moment, a row falling due in between was
    neither sent nor waited for (a due reminder waited for the sweep)."""
    rt = Runtime(config=config, database=db, sender=sender)
    thread = InprocessSender(rt, lambda: None, sweep_every=60)  # never started
    pass_moment = utcnow()
    due_at = pass_moment + timedelta(milliseconds=1)
    with write_transaction(session):
        queue_text(
            session,
            clinic.id,
            conversation.contact_id,
            "Due mid-pass.",
            key="test:mid-pass",
            due_at=due_at,
            kind=MessageKind.REMINDER,
        )
    wait_for(lambda: utcnow() > due_at, "the row to fall due")
    assert thread._next_due(pass_moment) == due_at


def test_a_committed_payment_link_is_made_and_sent_without_waiting_for_the_sweep(
    session, clinic, conversation, db, sender, twilio, razorpay, connect_razorpay, tmp_path
):
    razorpay.now = None  # the real clock, as the link's lifetime is
    connect_razorpay(clinic)
    config = Config.from_env(payments_env(db, tmp_path, razorpay))
    thread = start_inprocess(Runtime(config=config, database=db, sender=sender), sweep_every=3600)
    try:
        wait_for(lambda: thread.sweeps >= 1, "the start-up sweep")
        now = utcnow()
        with write_transaction(session):
            link = open_link(
                session,
                clinic=clinic,
                contact=session.get(Contact, conversation.contact_id),
                amount_minor=50000,
                description="Dues",
                expire_at=now + timedelta(days=2),
                now=now,
            )
            assert link is not None
        wait_for(lambda: len(twilio.sent) == 1, "the link's message")
        session.expire_all()
        made = session.get(PaymentLink, link.id)
        assert made is not None and made.status is LinkStatus.CREATED
        assert made.short_url in twilio.sent[0]["Body"]
        assert len(razorpay.links) == 1
    finally:
        thread.stop()
        thread.join(timeout=TIMEOUT)


def test_a_slow_sweep_never_holds_a_send(session, clinic, conversation, db, sender, twilio, config):
    """The sweep runs in its own thread: while one step takes long (reconciling links at
    Razorpay, a media download), a committed reply still leaves at once."""
    in_sweep, release = threading.Event(), threading.Event()

    def slow_sweep() -> None:
        in_sweep.set()
        release.wait(TIMEOUT)

    thread = InprocessSender(
        Runtime(config=config, database=db, sender=sender), slow_sweep, sweep_every=3600
    )
    thread.hook = dispatch.install(db.session_factory, thread.wake)
    thread.start()
    try:
        wait_for(in_sweep.is_set, "the sweep to start")
        reply(session, clinic, conversation, "Sent while the sweep runs.")
        wait_for(lambda: len(twilio.sent) == 1, "the reply, during the sweep")
        assert thread.sweeps == 0  # the sweep is still running
    finally:
        release.set()
        thread.stop()
        thread.join(timeout=TIMEOUT)
