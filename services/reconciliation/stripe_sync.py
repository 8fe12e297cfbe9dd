"""Keeping our payment rows and Stripe in step, in both directions (as ``razorpay_sync``
does for Razorpay; the parts both share live in ``provider_events`` and ``link_news``).

A link row with provider "stripe" is a Checkout Session: ``push`` creates it at Stripe
(and sends its URL), withdraws those of cancelled bookings and submits refunds. Webhook
events are stored once by their id and applied here; ``reconcile`` retrieves sessions
a webhook may have missed, and expires at Stripe those whose hold ran out (a session
lives at least 30 minutes; a hold may be shorter).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.db import unit_of_work, write_transaction
from integrations.razorpay_client import GatewayError
from integrations.stripe_client import StripeGateway, session_expiry
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    LinkStatus,
    Payment,
    PaymentLink,
    Refund,
    RefundStatus,
)
from services.billing import payment_requests, refunds
from services.billing.payments import ProviderPayment
from services.reconciliation import provider_events
from services.reconciliation.link_news import (
    MAX_ATTEMPTS,
    claim_link,
    finish_link,
    locked_link,
    note_error,
    of_clinic,
    take_link_news,
)
from services.reconciliation.razorpay_sync import LATE_PAYMENT_WATCH, RECONCILE_EVERY, SyncResult
from services.scheduling import holds

log = logging.getLogger(__name__)

StripeFor = Callable[[Clinic], StripeGateway | None]
PROVIDER = "stripe"
PAID = ("paid", "no_payment_required")
# Stripe's refund statuses in ours: pending and requires_action wait for the next word.
REFUND_STATUS = {"succeeded": "processed", "failed": "failed", "canceled": "failed"}


# --- in: webhook events ---------------------------------------------------------------


def event_object(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data")
    found = data.get("object") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def event_clinic_ids(payload: dict[str, Any], session: Session) -> set[int]:
    """The clinics an event is about: its Checkout Session's link, or its refunds'."""
    event_type = str(payload.get("type", ""))
    obj = event_object(payload)
    if event_type.startswith("checkout.session."):
        return set(session.scalars(select(PaymentLink.clinic_id).where(_link_match(obj))))
    return {refund.clinic_id for refund in _refunds_of(session, event_type, obj)}


def store_event(
    session: Session, *, payload: dict[str, Any], now: datetime, owners: set[int]
) -> int | None:
    """Keep the event (once per ``evt_`` id); its row id, or None when seen before."""
    return provider_events.store_event(
        session,
        provider=PROVIDER,
        event_id=str(payload.get("id", "")),
        event_type=str(payload.get("type", "")),
        payload=payload,
        now=now,
        clinic_id=next(iter(owners)) if len(owners) == 1 else None,
    )


def process_events(session: Session, *, now: datetime, limit: int = 200) -> int:
    return provider_events.process_events(
        session, provider=PROVIDER, apply=_apply, now=now, limit=limit
    )


def process_event(session: Session, event_pk: int, *, now: datetime) -> bool:
    return provider_events.process_event(session, event_pk, apply=_apply, now=now)


def _apply(session: Session, event_type: str, payload: dict[str, Any], now: datetime) -> None:
    obj = event_object(payload)
    if event_type.startswith("checkout.session."):
        if event_type == "checkout.session.async_payment_failed":
            return  # the session stays complete and unpaid; the booking's hold decides
        link = session.scalar(select(PaymentLink).where(_link_match(obj)).with_for_update())
        if link is None:
            log.info("Stripe event %s for a session we do not know; ignored", event_type)
            return
        status, paid, reported = session_news(obj)
        take_link_news(
            session, link, status=status, amount_paid_minor=paid, reported=reported, now=now
        )
        return
    for refund, said in _refund_news(session, event_type, obj):
        if refund.provider_refund_id is None:  # the event beat our own record of the id
            refund.provider_refund_id = str(said.get("id", ""))[:40] or None
        status = REFUND_STATUS.get(str(said.get("status", "")))
        if status is not None:
            refunds.apply_refund(
                session, refund, status=status, now=now, error=said.get("failure_reason")
            )


def session_news(obj: dict[str, Any]) -> tuple[str, int, list[ProviderPayment]]:
    """A Checkout Session in our link vocabulary: (status, amount paid, payments).
    Forward-only is billing's rule (``payments.apply_link``): a late "expired" never
    undoes "paid"."""
    if obj.get("payment_status") in PAID and obj.get("status") == "complete":
        amount = int(obj.get("amount_total") or 0)
        intent = obj.get("payment_intent")
        intent_id = str(intent.get("id") if isinstance(intent, dict) else intent or "")
        reported = [
            ProviderPayment(id=intent_id, amount_minor=amount, method="card", captured=True)
        ]
        return "paid", amount, reported if intent_id else []
    if obj.get("status") == "expired":
        return "expired", 0, []
    return "created", 0, []


def _link_match(obj: dict[str, Any]) -> Any:
    """Our link for a Checkout Session: by its cs_ id, or by our reference id."""
    return or_(
        PaymentLink.provider_link_id == str(obj.get("id", "")),
        PaymentLink.reference_id == str(obj.get("client_reference_id") or ""),
    )


def _refund_news(
    session: Session, event_type: str, obj: dict[str, Any]
) -> list[tuple[Refund, dict[str, Any]]]:
    """(our refund, Stripe's refund object) for each refund the event reports."""
    said = _reported_refunds(event_type, obj)
    out = []
    for item in said:
        refund = session.scalar(_refund_query(item).with_for_update())
        if refund is not None:
            out.append((refund, item))
    return out


def _refunds_of(session: Session, event_type: str, obj: dict[str, Any]) -> list[Refund]:
    return [
        refund
        for item in _reported_refunds(event_type, obj)
        for refund in session.scalars(_refund_query(item))
    ]


def _reported_refunds(event_type: str, obj: dict[str, Any]) -> list[dict[str, Any]]:
    if event_type.startswith("refund.") and obj.get("object") == "refund":
        return [obj]
    if event_type == "charge.refunded":
        listed = obj.get("refunds")
        data = listed.get("data") if isinstance(listed, dict) else None
        return [item for item in data or [] if isinstance(item, dict)]
    return []


def _refund_query(item: dict[str, Any]) -> Any:
    """Our refund: by Stripe's re_ id, or by our id in its metadata (set when we asked)."""
    metadata = item.get("metadata")
    ours = str(metadata.get("refund", "")) if isinstance(metadata, dict) else ""
    condition = Refund.provider_refund_id == str(item.get("id", ""))
    if ours.isdigit():
        condition = or_(condition, Refund.id == int(ours))
    return select(Refund).where(condition)


# --- out: sessions and refunds at Stripe ----------------------------------------------


def push(
    session: Session,
    stripe_for: StripeFor,
    *,
    now: datetime,
    success_url: str,
    clinic_id: int | None = None,
) -> SyncResult:
    """Withdraw, create and refund at Stripe: every clinic's, or one clinic's."""
    expire_orphaned_sessions(session, stripe_for, now=now, clinic_id=clinic_id)
    created = create_pending_sessions(
        session, stripe_for, now=now, success_url=success_url, clinic_id=clinic_id
    )
    submitted = submit_pending_refunds(session, stripe_for, now=now, clinic_id=clinic_id)
    return SyncResult(links_created=created, refunds_submitted=submitted)


def expire_orphaned_sessions(
    session: Session, stripe_for: StripeFor, *, now: datetime, clinic_id: int | None = None
) -> int:
    """Sessions of bookings cancelled since: expired at Stripe, so nobody pays for a
    session that is gone. If Stripe says no (paid meanwhile), reconcile records it."""
    rows = session.execute(
        select(PaymentLink.id, PaymentLink.provider_link_id, PaymentLink.clinic_id)
        .join(Appointment, Appointment.id == PaymentLink.appointment_id)
        .where(
            Appointment.status == AppointmentStatus.CANCELLED,
            PaymentLink.provider == PROVIDER,
            PaymentLink.status.in_([LinkStatus.PENDING, LinkStatus.CREATED]),
            *of_clinic(PaymentLink.clinic_id, clinic_id),
        )
    ).all()
    session.rollback()
    withdrawn = 0
    for link_id, provider_id, owner in rows:
        if provider_id is not None:
            gateway = _gateway(session, stripe_for, owner)
            if gateway is None:
                continue
            try:
                gateway.expire_session(provider_id)
            except GatewayError as exc:
                log.info("Stripe session of link %s not expired: %s", link_id, exc.message)
                continue
        with write_transaction(session):
            link = locked_link(session, link_id)
            if link is not None and link.status in (LinkStatus.PENDING, LinkStatus.CREATED):
                link.status = LinkStatus.CANCELLED
                link.last_error = "the booking was cancelled"
                withdrawn += 1
    return withdrawn


def create_pending_sessions(
    session: Session,
    stripe_for: StripeFor,
    *,
    now: datetime,
    success_url: str,
    clinic_id: int | None = None,
) -> int:
    ids = list(
        session.scalars(
            select(PaymentLink.id)
            .where(PaymentLink.status == LinkStatus.PENDING, PaymentLink.attempts < MAX_ATTEMPTS)
            .where(PaymentLink.provider == PROVIDER, *of_clinic(PaymentLink.clinic_id, clinic_id))
            .order_by(PaymentLink.id)
        )
    )
    session.rollback()
    created = 0
    for link_id in ids:
        created += _create_session(session, link_id, stripe_for, now=now, success_url=success_url)
    return created


def _create_session(
    session: Session, link_id: int, stripe_for: StripeFor, *, now: datetime, success_url: str
) -> bool:
    if not claim_link(session, link_id):
        return False
    link = session.get(PaymentLink, link_id)
    assert link is not None
    if link.expire_at < now + payment_requests.GATEWAY_MIN_LIFETIME - timedelta(minutes=1):
        finish_link(session, link_id, LinkStatus.EXPIRED, "the hold ran out before Stripe", now)
        return False
    clinic = session.get(Clinic, link.clinic_id)
    assert clinic is not None
    gateway = stripe_for(clinic)
    if gateway is None:
        finish_link(session, link_id, LinkStatus.FAILED, "Stripe is not configured", now)
        return False
    request = {
        "reference_id": link.reference_id,
        "amount_minor": link.amount_minor,
        "currency": link.currency,
        "description": link.description,
        "expires_at": session_expiry(link.expire_at, now=now),
        "success_url": f"{success_url}?ref={link.reference_id}",
        "metadata": {"clinic": clinic.slug, "link": str(link.id)},
    }
    session.rollback()  # nothing held open while we talk to Stripe
    try:
        answer = gateway.create_session(**request)
    except GatewayError as exc:
        if exc.permanent:
            finish_link(session, link_id, LinkStatus.FAILED, exc.message, now)
        else:
            note_error(session, link_id, exc.message)
        return False
    with write_transaction(session):
        link = locked_link(session, link_id)
        assert link is not None
        link.provider_link_id = str(answer.get("id", ""))[:80] or None
        link.short_url = str(answer.get("url", ""))[:1000] or None
        link.last_error = None
        if link.status is LinkStatus.PENDING:
            link.status = LinkStatus.CREATED
        payment_requests.queue_link_message(session, link, now=now)
    return True


def submit_pending_refunds(
    session: Session, stripe_for: StripeFor, *, now: datetime, clinic_id: int | None = None
) -> int:
    """Refund rows for payments taken through Stripe sessions, not yet at Stripe. Our
    refund id is the idempotency key: a refund a crashed run already made is returned
    again by Stripe, not made twice."""
    rows = session.execute(
        select(Refund.id, Payment.provider_payment_id, Refund.clinic_id, Refund.amount_minor)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(PaymentLink, PaymentLink.id == Payment.payment_link_id)
        .where(
            PaymentLink.provider == PROVIDER,
            Refund.status == RefundStatus.PENDING,
            Refund.provider_refund_id.is_(None),
            Payment.provider_payment_id.is_not(None),
            *of_clinic(Refund.clinic_id, clinic_id),
        )
        .order_by(Refund.id)
    ).all()
    session.rollback()
    submitted = 0
    for refund_id, intent_id, owner, amount in rows:
        gateway = _gateway(session, stripe_for, owner)
        if gateway is None:
            continue
        try:
            made = gateway.refund(intent_id, amount, refund_id)
        except GatewayError as exc:
            with write_transaction(session):
                refund = session.get(Refund, refund_id)
                assert refund is not None
                if exc.permanent:
                    refunds.apply_refund(
                        session, refund, status="failed", now=now, error=exc.message
                    )
                else:
                    refund.error = exc.message[:300]
            continue
        with write_transaction(session):
            refund = session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
            assert refund is not None
            refund.provider_refund_id = str(made.get("id", ""))[:40] or None
            status = REFUND_STATUS.get(str(made.get("status", "")))
            if status is not None:
                refunds.apply_refund(
                    session, refund, status=status, now=now, error=made.get("failure_reason")
                )
        submitted += 1
    return submitted


def _gateway(session: Session, stripe_for: StripeFor, clinic_id: int) -> StripeGateway | None:
    clinic = session.get(Clinic, clinic_id)
    gateway = stripe_for(clinic) if clinic is not None else None
    session.rollback()
    return gateway


# --- repair: retrieve what a webhook may have missed ----------------------------------


def reconcile(
    session: Session,
    stripe_for: StripeFor,
    *,
    now: datetime,
    everything: bool = False,
    clinic_id: int | None = None,
) -> int:
    """Retrieve open sessions from Stripe and apply what it says. Always: sessions whose
    hold or link has run out (expired at Stripe first, unless paid meanwhile).
    ``everything``: every open session not checked lately, and those expired within
    ``LATE_PAYMENT_WATCH``."""
    mine = (PaymentLink.provider == PROVIDER, *of_clinic(PaymentLink.clinic_id, clinic_id))
    open_ = PaymentLink.status.in_([LinkStatus.CREATED, LinkStatus.PARTIALLY_PAID])
    stale = func.coalesce(PaymentLink.checked_at, PaymentLink.created_at) <= now - RECONCILE_EVERY
    held = set(holds.expired_holds(session, now=now, clinic_id=clinic_id, provider=PROVIDER))
    due = set(held)
    due.update(
        session.scalars(select(PaymentLink.id).where(open_, PaymentLink.expire_at <= now, *mine))
    )
    if everything:
        due.update(
            session.scalars(
                select(PaymentLink.id).where(
                    open_, PaymentLink.provider_link_id.is_not(None), stale, *mine
                )
            )
        )
        due.update(
            session.scalars(
                select(PaymentLink.id).where(
                    PaymentLink.status == LinkStatus.EXPIRED,
                    PaymentLink.provider_link_id.is_not(None),
                    PaymentLink.expire_at > now - LATE_PAYMENT_WATCH,
                    stale,
                    *mine,
                )
            )
        )
    session.rollback()
    checked = 0
    for link_id in sorted(due):
        checked += _check_session(session, link_id, stripe_for, now=now, hold_over=link_id in held)
    return checked


def _check_session(
    session: Session, link_id: int, stripe_for: StripeFor, *, now: datetime, hold_over: bool
) -> bool:
    link = session.get(PaymentLink, link_id)
    if link is None or not link.provider_link_id:
        session.rollback()
        return False
    provider_id = link.provider_link_id
    run_out = hold_over or link.expire_at <= now
    gateway = _gateway(session, stripe_for, link.clinic_id)
    if gateway is None:
        return False
    try:
        found = gateway.retrieve_session(provider_id)
        if run_out and found.get("status") == "open":
            # Ours ran out before Stripe's (a session lives 30 minutes at least): end it
            # there too, so nobody pays for a released slot. Refused when the patient
            # paid a moment ago: then what Stripe has now is the news.
            try:
                found = gateway.expire_session(provider_id)
            except GatewayError:
                found = gateway.retrieve_session(provider_id)
    except GatewayError as exc:
        log.warning("could not check Stripe session of link %s: %s", link_id, exc.message)
        return False
    status, paid, reported = session_news(found)
    with unit_of_work(session):  # as process_event: a late payment may book again
        link = locked_link(session, link_id)
        assert link is not None
        take_link_news(
            session, link, status=status, amount_paid_minor=paid, reported=reported, now=now
        )
    return True
