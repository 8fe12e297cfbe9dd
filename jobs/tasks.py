"""RQ job functions: module-level, take ids, safe to run twice."""

from __future__ import annotations

from functools import cache

from redis import Redis

from core.clock import utcnow
from jobs.backups import run_daily_backup
from jobs.dispatch import commit_connection, links_lock
from jobs.runner import make_pending_links
from jobs.runtime import runtime
from services.billing.emailed import attachments
from services.messaging.batches import deliver_due_from
from services.messaging.email_delivery import deliver_email
from services.messaging.media import fetch_media as fetch_inbound_media

# A link job waits this long for the sweep (or another link job) to finish making links.
LINKS_LOCK_WAIT = 30.0  # seconds


def send_message(message_id: int) -> str | None:
    """Deliver one outbox row, with the due rows after it in the same batch
    (services.messaging.batches); a second run finds it claimed or sent and does nothing.
    Returns the row's own outcome when this run settled it."""
    rt = runtime()
    with rt.database.session_scope() as session:
        outcomes = deliver_due_from(
            session,
            message_id,
            now=utcnow(),
            sender_for=rt.sender_for,
            status_callback=rt.status_callback,
            base_url=rt.base_url,
        )
    status = outcomes.get(message_id)
    return status.value if status else None


def send_email(email_id: int) -> str | None:
    """Deliver one outbox email; a second run finds it claimed or sent and does nothing."""
    rt = runtime()
    with rt.database.session_scope() as session:
        status = deliver_email(
            session,
            email_id,
            now=utcnow(),
            mailer=rt.mailer,
            setup=rt.email_setup,
            attach=attachments,
        )
    return status.value if status else None


def create_payment_links(link_id: int) -> int:
    """A commit opened payment link ``link_id``: make it (and any other pending link) at
    Razorpay now; the commit that records each one queues its message, which that commit
    dispatches. Under the links lock, so the sweep never asks Razorpay for the same link;
    a second run finds nothing pending. Raises when the lock stays taken (the sweep then
    makes the link)."""
    rt = runtime()
    assert rt.config.redis_url is not None
    with links_lock(_redis(rt.config.redis_url), wait=LINKS_LOCK_WAIT) as ours:
        if not ours:
            raise RuntimeError(f"payment links are being made elsewhere (link {link_id})")
        with rt.database.session_scope() as session:
            return make_pending_links(rt, session, now=utcnow())


@cache
def _redis(url: str) -> Redis:
    return commit_connection(url)


def fetch_media(media_id: int) -> str | None:
    """Fetch one file a patient sent into the file storage; a second run finds the row
    no longer pending and does nothing."""
    rt = runtime()
    with rt.database.session_scope() as session:
        status = fetch_inbound_media(
            session,
            media_id,
            fetcher_for=rt.media_fetcher_for,
            store=rt.media_store,
            now=utcnow(),
        )
    return status.value if status else None


def daily_backup() -> str | None:
    """Today's backup, unless the target already has one from the last day (the sweeper
    enqueues this under a per-day id; checking again makes a second run a no-op)."""
    result = run_daily_backup(runtime().config)
    return result.name if result else None


def noop(message_id: int) -> int:
    """For the benchmark: the cost of RQ itself."""
    return message_id
