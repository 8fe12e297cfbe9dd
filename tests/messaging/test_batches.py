"""Batched delivery (services.messaging.batches) and per-contact order.

Real databases (SQLite and PostgreSQL; the two-thread race on PostgreSQL, where two
workers really run at once) and the real Twilio SDK against tests/fake_twilio.py,
which records the order messages arrive in. Times are relative to the real clock.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from integrations.twilio.client import TwilioSender
from models import Contact, Conversation, OutboundMessage, OutboundStatus
from services.messaging.batches import deliver_due_from
from services.messaging.delivery import deliver
from services.people import patients
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, SYSTEM
from tests.outbox import book, ist, outbox, queue_text, reminders, seed

SENT, QUEUED = OutboundStatus.SENT, OutboundStatus.QUEUED


def contacts(session, clinic, make_patient, count: int) -> list[int]:
    """``count`` contacts who wrote on WhatsApp an hour ago (free-form replies may go)."""
    ids = [make_patient(clinic).contact_id for _ in range(count)]
    for contact_id in ids:
        session.get(Contact, contact_id).whatsapp_last_inbound_at = utcnow() - timedelta(hours=1)
    session.commit()
    return ids


def queue_replies(
    session, clinic, contact_ids: list[int], per_contact: int, *, interleaved: bool = True
) -> list[int]:
    """Staff replies "<contact>-<n>", all in one commit, interleaved across contacts
    (reply 0 to everyone, then reply 1 ...) or one contact's after another's: ids rise
    in the order each contact must get them."""
    due = utcnow() - timedelta(seconds=1)
    rows = []
    pairs = [(n, c) for n in range(per_contact) for c in contact_ids]
    if not interleaved:
        pairs.sort(key=lambda pair: contact_ids.index(pair[1]))
    for n, contact_id in pairs:
        text = f"{contact_id}-{n}"
        rows.append(
            queue_text(session, clinic.id, contact_id, text, key=f"test:{text}", due_at=due)
        )
    session.commit()
    return [row.id for row in rows]


def arrival_order(twilio) -> dict[str, list[str]]:
    """Per recipient, the staff replies' texts in the order Twilio took them."""
    order: dict[str, list[str]] = {}
    for message in twilio.sent:
        order.setdefault(message["To"], []).append(message["Body"])
    return order


@pytest.fixture
def clinic(session):
    return seed(session)


def test_one_call_sends_a_batch_and_the_other_rows_jobs_find_nothing(
    session, clinic, make_patient, sender, twilio
):
    ids = queue_replies(session, clinic, contacts(session, clinic, make_patient, 4), 1)
    now = utcnow()
    outcomes = deliver_due_from(session, ids[0], now=now, sender=sender, limit=3)
    assert outcomes == {ids[0]: SENT, ids[1]: SENT, ids[2]: SENT}
    # The next job takes what is still due from its row on; the rest find nothing to do.
    assert deliver_due_from(session, ids[1], now=now, sender=sender) == {ids[3]: SENT}
    for other in ids[2:]:
        assert deliver_due_from(session, other, now=now, sender=sender) == {}
    rows = outbox(session)
    assert [r.status for r in rows] == [SENT] * 4
    assert len({r.provider_sid for r in rows}) == 4 and all(r.attempts == 1 for r in rows)
    assert len(twilio.sent) == 4 and len({m["To"] for m in twilio.sent}) == 4
    assert all(r.body == m["Body"] for r, m in zip(rows, twilio.sent, strict=True))


def test_a_batch_of_reminders_marks_each_conversation_to_answer_them(
    session, clinic, make_patient, sender, twilio
):
    """On the tests' fixed calendar (booking takes clinic hours): three sessions on
    Tuesday at 10, 11 and 12; their day-before reminders all due by Monday 12:01."""
    patients = [make_patient(clinic) for _ in range(3)]
    for patient in patients:
        session.get(Contact, patient.contact_id).whatsapp_last_inbound_at = ist(23, 9)
    session.commit()
    for hour, patient in zip((10, 11, 12), patients, strict=True):
        book(session, clinic, patient, ist(24, hour))
    day_before = [r for r in reminders(session) if r.due_at <= ist(23, 12)]
    assert len(day_before) == 3
    outcomes = deliver_due_from(session, day_before[0].id, now=ist(23, 12, 1), sender=sender)
    assert outcomes == {r.id: SENT for r in day_before}
    assert len(twilio.sent) == 3
    session.expire_all()
    assert session.scalars(select(Conversation.state)).all() == ["reminder"] * 3


def test_a_later_message_waits_for_an_earlier_one_to_the_same_contact(
    session, clinic, make_patient, sender, twilio
):
    first, second = queue_replies(session, clinic, contacts(session, clinic, make_patient, 1), 2)
    now = utcnow()
    assert deliver(session, second, now=now, sender=sender) is None  # the first is due
    assert outbox(session, id=second)[0].status is QUEUED
    assert deliver(session, first, now=now, sender=sender) is SENT
    assert deliver(session, second, now=now, sender=sender) is SENT
    assert [m["Body"].rsplit("-", 1)[1] for m in twilio.sent] == ["0", "1"]


def test_a_failed_send_holds_the_contacts_later_rows_back_then_they_follow(
    session, clinic, make_patient, sender, twilio
):
    first, second = queue_replies(session, clinic, contacts(session, clinic, make_patient, 1), 2)
    twilio.fail_next(20500, status=500)  # the first send: retried in 30 s
    outcomes = deliver_due_from(session, first, now=utcnow(), sender=sender)
    assert outcomes == {first: QUEUED, second: SENT}
    one, two = outbox(session)
    assert (one.status, one.attempts, one.error_code) == (QUEUED, 1, "20500")
    # Held back while the first was tried, then sent once the first waits out its backoff.
    assert (two.status, two.attempts) == (SENT, 1)
    assert len(twilio.sent) == 1 and twilio.state.requests == 2


def test_two_workers_at_once_never_reorder_one_contacts_messages(pg_db, twilio):
    """Two threads (two workers) take the same jobs at the same moment, as RQ hands
    them out; Twilio answers slowly, so one contact's next row comes up while its
    previous one is still on its way."""
    with pg_db.session_scope() as session:
        clinic = seed(session)
        contact_ids = [
            patients.create_contact(
                session, clinic_id=clinic.id, phone=f"+91987650000{n}", name="Asha", actor=SYSTEM
            ).id
            for n in range(3)
        ]
        for contact_id in contact_ids:
            contact = session.get(Contact, contact_id)
            contact.whatsapp_last_inbound_at = utcnow() - timedelta(hours=1)
        session.commit()
        ids = queue_replies(session, clinic, contact_ids, 4, interleaved=False)
    twilio.delay_responses(0.02)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(limit: int) -> None:
        sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, api_url=twilio.url)
        try:
            with pg_db.session_scope() as session:
                start.wait()
                for message_id in ids:  # every job, in the queue's order
                    deliver_due_from(session, message_id, now=utcnow(), sender=sender, limit=limit)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(limit,)) for limit in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    with pg_db.session_scope() as session:
        rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        assert [r.status for r in rows] == [SENT] * len(ids)
        assert all(r.attempts == 1 for r in rows)
    assert len(twilio.sent) == len(ids)  # each exactly once
    order = arrival_order(twilio)
    assert len(order) == len(contact_ids)
    for texts in order.values():
        assert [t.rsplit("-", 1)[1] for t in texts] == ["0", "1", "2", "3"], texts
