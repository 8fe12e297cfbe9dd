"""Keeping our payment rows and Razorpay in step, in both directions.

Out: links and refunds written as rows are created at Razorpay by ``push`` (a job,
after commit). In: webhook events are stored once by their id (``store_event``)
and applied by ``process_events``; ``reconcile`` fetches links a webhook may have
missed (expired holds at once, any open link every 15 minutes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from core.db import unit_of_work, write_transaction
from integrations.razorpay_client import GatewayError, RazorpayGateway
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Contact,
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
from services.scheduling import holds

log = logging.getLogger(__name__)

GatewayFor = Callable[[Clinic], RazorpayGateway | None]
RECONCILE_EVERY = timedelta(minutes=15)
# A payment made at the last second may be captured after we expired its link (and
# released its booking); its webhook can be lost too. Expired links are fetched (every
# RECONCILE_EVERY) for this long after they expire, so such a payment is still found.
LATE_PAYMENT_WATCH = timedelta(hours=2)
PROVIDER = "razorpay"


@dataclass(frozen=True)
class SyncResult:
    links_created: int = 0
    refunds_submitted: int = 0
    links_checked: int = 0
    events_processed: int = 0


# --- in: webhook events ---------------------------------------------------------------


def store_event(
    session: Session,
    *,
    event_id: str,
    payload: dict[str, Any],
    now: datetime,
    owners: set[int] | None = None,
) -> int | None:
    """Keep the event (once per id); its row id, or None when it was seen before.
    ``owners``: the clinics it is about, when the caller has looked them up already."""
    if owners is None:
        owners = event_clinic_ids(payload, session)
    return provider_events.store_event(
        session,
        provider=PROVIDER,
        event_id=event_id,
        event_type=str(payload.get("event", "")),
        payload=payload,
        now=now,
        clinic_id=next(iter(owners)) if len(owners) == 1 else None,
    )


def event_clinic_ids(payload: dict[str, Any], session: Session) -> set[int]:
    """The clinics an event is about (so the webhook can check it was signed by one of
    them): the link's or the refund's owner."""
    ids: set[int] = set()
    link_entity = _entity(payload, "payment_link")
    if link_entity:
        ids.update(session.scalars(select(PaymentLink.clinic_id).where(_link_match(link_entity))))
    refund_entity = _entity(payload, "refund")
    if refund_entity:
        ids.update(refund.clinic_id for refund in session.scalars(_refund_query(refund_entity)))
    return ids


def process_events(session: Session, *, now: datetime, limit: int = 200) -> int:
    """Apply stored Razorpay events not yet applied, oldest first (each in its own
    transaction; a failing one is retried on later runs without blocking the rest)."""
    return provider_events.process_events(
        session, provider=PROVIDER, apply=_apply, now=now, limit=limit
    )


def process_event(session: Session, event_pk: int, *, now: datetime) -> bool:
    return provider_events.process_event(session, event_pk, apply=_apply, now=now)


def _apply(session: Session, event_type: str, payload: dict[str, Any], now: datetime) -> None:
    if event_type.startswith("payment_link."):
        entity = _entity(payload, "payment_link") or {}
        link = _link_for(session, entity)
        if link is None:
            log.info("Razorpay event %s for a link we do not know; ignored", event_type)
            return
        payment = _entity(payload, "payment")
        reported = [_provider_payment(payment)] if payment else []
        take_link_news(
            session,
            link,
            status=str(entity.get("status") or event_type.split(".", 1)[1]),
            amount_paid_minor=int(entity.get("amount_paid") or 0),
            reported=reported,
            now=now,
        )
    elif event_type in ("refund.processed", "refund.failed"):
        entity = _entity(payload, "refund") or {}
        refund = session.scalar(_refund_query(entity).with_for_update())
        if refund is not None:
            if refund.provider_refund_id is None:  # the event beat our own record of the id
                refund.provider_refund_id = str(entity.get("id", ""))[:40] or None
            refunds.apply_refund(session, refund, status=event_type.split(".", 1)[1], now=now)


def _refund_query(entity: dict[str, Any]):
    """Our refund: by Razorpay's id, or by our id in its notes (set when we asked)."""
    notes = entity.get("notes")
    ours = str(notes.get("refund", "")) if isinstance(notes, dict) else ""
    condition = Refund.provider_refund_id == str(entity.get("id", ""))
    if ours.isdigit():
        condition = or_(condition, Refund.id == int(ours))
    return select(Refund).where(condition)


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any] | None:
    try:
        entity = payload["payload"][name]["entity"]
    except (KeyError, TypeError):
        return None
    return entity if isinstance(entity, dict) else None


def _link_match(entity: dict[str, Any]) -> ColumnElement[bool]:
    """Our link for Razorpay's entity: by its plink id, or by our reference id."""
    return or_(
        PaymentLink.provider_link_id == str(entity.get("id", "")),
        PaymentLink.reference_id == str(entity.get("reference_id", "")),
    )


def _link_for(session: Session, entity: dict[str, Any]) -> PaymentLink | None:
    return session.scalar(select(PaymentLink).where(_link_match(entity)).with_for_update())


def _provider_payment(entity: dict[str, Any]) -> ProviderPayment:
    status = str(entity.get("status", ""))
    return ProviderPayment(
        id=str(entity.get("id") or entity.get("payment_id") or ""),
        amount_minor=int(entity.get("amount") or 0),
        method=str(entity.get("method") or ""),
        captured=status == "captured" or entity.get("captured") is True,
    )


# --- out: creating links and refunds at Razorpay --------------------------------------


def push(
    session: Session,
    gateway_for: GatewayFor,
    *,
    now: datetime,
    callback_url: str | None,
    clinic_id: int | None = None,
) -> SyncResult:
    """Withdraw, create and refund at Razorpay: every clinic's, or one clinic's."""
    cancel_orphaned_links(session, gateway_for, now=now, clinic_id=clinic_id)
    created = create_pending_links(
        session, gateway_for, now=now, callback_url=callback_url, clinic_id=clinic_id
    )
    refunds = submit_pending_refunds(session, gateway_for, now=now, clinic_id=clinic_id)
    return SyncResult(links_created=created, refunds_submitted=refunds)


def cancel_orphaned_links(
    session: Session, gateway_for: GatewayFor, *, now: datetime, clinic_id: int | None = None
) -> int:
    """Links of bookings cancelled since: withdrawn, so nobody pays for a session that is
    gone (a link not yet at Razorpay is simply never made). If Razorpay says no (paid
    meanwhile), the reconcile fetch records the payment, which stays on account."""
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
    for link_id, provider_id, clinic_id in rows:
        if provider_id is not None:
            clinic = session.get(Clinic, clinic_id)
            gateway = gateway_for(clinic) if clinic is not None else None
            session.rollback()
            if gateway is None:
                continue
            try:
                gateway.cancel_link(provider_id)
            except GatewayError as exc:
                log.info("Razorpay link %s not cancelled: %s", link_id, exc.message)
                continue
        with write_transaction(session):
            link = locked_link(session, link_id)
            if link is not None and link.status in (LinkStatus.PENDING, LinkStatus.CREATED):
                link.status = LinkStatus.CANCELLED
                link.last_error = "the booking was cancelled"
                withdrawn += 1
    return withdrawn


def create_pending_links(
    session: Session,
    gateway_for: GatewayFor,
    *,
    now: datetime,
    callback_url: str | None,
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
        created += _create_link(session, link_id, gateway_for, now=now, callback_url=callback_url)
    return created


def _create_link(
    session: Session,
    link_id: int,
    gateway_for: GatewayFor,
    *,
    now: datetime,
    callback_url: str | None,
) -> bool:
    if not claim_link(session, link_id):
        return False
    link = session.get(PaymentLink, link_id)
    assert link is not None
    clinic = session.get(Clinic, link.clinic_id)
    contact = session.get(Contact, link.contact_id)
    assert clinic is not None and contact is not None
    if link.expire_at < now + payment_requests.GATEWAY_MIN_LIFETIME - timedelta(minutes=1):
        finish_link(session, link_id, LinkStatus.EXPIRED, "the hold ran out before Razorpay", now)
        return False
    gateway = gateway_for(clinic)
    if gateway is None:
        finish_link(session, link_id, LinkStatus.FAILED, "Razorpay is not configured", now)
        return False
    request = _link_request(link, clinic, contact, callback_url)
    session.rollback()  # nothing held open while we talk to Razorpay
    try:
        answer = gateway.create_link(request)
    except GatewayError as exc:
        if exc.permanent:
            finish_link(session, link_id, LinkStatus.FAILED, exc.message, now)
        else:
            note_error(session, link_id, exc.message)
        return False
    with write_transaction(session):
        link = locked_link(session, link_id)
        assert link is not None
        link.provider_link_id = str(answer.get("id", ""))[:40] or None
        link.short_url = str(answer.get("short_url", ""))[:300] or None
        link.last_error = None
        if link.status is LinkStatus.PENDING:
            link.status = LinkStatus.CREATED
        payment_requests.queue_link_message(session, link, now=now)
    return True


def _link_request(
    link: PaymentLink, clinic: Clinic, contact: Contact, callback_url: str | None
) -> dict[str, Any]:
    """What Razorpay is asked to create for our link row."""
    request: dict[str, Any] = {
        "amount": link.amount_minor,
        "currency": link.currency,
        "accept_partial": link.accept_partial,
        "reference_id": link.reference_id,
        "description": link.description,
        "expire_by": int(link.expire_at.timestamp()),
        "customer": {"name": contact.name or "", "contact": contact.phone},
        "notify": {"sms": False, "email": False},  # we send it in the chat ourselves
        "reminder_enable": False,
        "notes": {"clinic": clinic.slug, "link": str(link.id)},
    }
    if link.accept_partial:
        request["first_min_partial_amount"] = max(100, link.amount_minor // 2)
    if callback_url:
        request["callback_url"] = callback_url
        request["callback_method"] = "get"
    return request


def submit_pending_refunds(
    session: Session, gateway_for: GatewayFor, *, now: datetime, clinic_id: int | None = None
) -> int:
    """Refund rows for online payments not yet at Razorpay. Before submitting, the
    payment's refunds are fetched: a refund a crashed run already made is adopted, not
    made twice."""
    rows = session.execute(
        select(Refund.id, Payment.provider_payment_id, Refund.clinic_id)
        .join(Payment, Payment.id == Refund.payment_id)
        .outerjoin(PaymentLink, PaymentLink.id == Payment.payment_link_id)
        .where(
            or_(PaymentLink.provider.is_(None), PaymentLink.provider == PROVIDER),
            Refund.status == RefundStatus.PENDING,
            Refund.provider_refund_id.is_(None),
            Payment.provider_payment_id.is_not(None),
            *of_clinic(Refund.clinic_id, clinic_id),
        )
        .order_by(Refund.id)
    ).all()
    session.rollback()
    submitted = 0
    for refund_id, payment_ref, clinic_id in rows:
        clinic = session.get(Clinic, clinic_id)
        assert clinic is not None
        gateway = gateway_for(clinic)
        refund = session.get(Refund, refund_id)
        assert refund is not None
        amount = refund.amount_minor
        session.rollback()
        if gateway is None:
            continue
        try:
            existing = gateway.refunds_of(payment_ref)
            made = next(
                (r for r in existing if (r.get("notes") or {}).get("refund") == str(refund_id)),
                None,
            )
            if made is None:
                made = gateway.refund(payment_ref, amount, {"refund": str(refund_id)})
        except GatewayError as exc:
            with write_transaction(session):
                values: dict[str, Any] = {"error": exc.message[:300]}
                if exc.permanent:
                    values["status"] = RefundStatus.FAILED
                session.execute(update(Refund).where(Refund.id == refund_id).values(**values))
            continue
        with write_transaction(session):
            refund = session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
            assert refund is not None
            refund.provider_refund_id = str(made.get("id", ""))[:40] or None
            if made.get("status") == "processed":
                refunds.apply_refund(session, refund, status="processed", now=now)
        submitted += 1
    return submitted


# --- repair: fetch what a webhook may have missed -------------------------------------


def reconcile(
    session: Session,
    gateway_for: GatewayFor,
    *,
    now: datetime,
    everything: bool = False,
    clinic_id: int | None = None,
) -> int:
    """Fetch open links from Razorpay and apply what it says. Always: links whose hold
    has run out. ``everything`` (every 15 minutes): every open link not checked lately,
    and links expired within ``LATE_PAYMENT_WATCH`` (a payment captured late)."""
    mine = (PaymentLink.provider == PROVIDER, *of_clinic(PaymentLink.clinic_id, clinic_id))
    due = set(holds.expired_holds(session, now=now, clinic_id=clinic_id, provider=PROVIDER))
    due.update(
        session.scalars(
            select(PaymentLink.id).where(
                PaymentLink.status.in_([LinkStatus.CREATED, LinkStatus.PARTIALLY_PAID]),
                PaymentLink.expire_at <= now,
                *mine,
            )
        )
    )
    if everything:
        due.update(
            session.scalars(
                select(PaymentLink.id).where(
                    PaymentLink.status.in_([LinkStatus.CREATED, LinkStatus.PARTIALLY_PAID]),
                    PaymentLink.provider_link_id.is_not(None),
                    func.coalesce(PaymentLink.checked_at, PaymentLink.created_at)
                    <= now - RECONCILE_EVERY,
                    *mine,
                )
            )
        )
        due.update(
            session.scalars(
                select(PaymentLink.id).where(
                    PaymentLink.status == LinkStatus.EXPIRED,
                    PaymentLink.provider_link_id.is_not(None),
                    PaymentLink.expire_at > now - LATE_PAYMENT_WATCH,
                    func.coalesce(PaymentLink.checked_at, PaymentLink.created_at)
                    <= now - RECONCILE_EVERY,
                    *mine,
                )
            )
        )
    session.rollback()
    checked = 0
    for link_id in sorted(due):
        checked += _check_link(session, link_id, gateway_for, now=now)
    return checked


def _check_link(session: Session, link_id: int, gateway_for: GatewayFor, *, now: datetime) -> bool:
    link = session.get(PaymentLink, link_id)
    if link is None or not link.provider_link_id:
        session.rollback()
        return False
    clinic = session.get(Clinic, link.clinic_id)
    assert clinic is not None
    gateway = gateway_for(clinic)
    provider_id = link.provider_link_id
    session.rollback()
    if gateway is None:
        return False
    try:
        entity = gateway.fetch_link(provider_id)
    except GatewayError as exc:
        log.warning("could not fetch Razorpay link %s: %s", link_id, exc.message)
        return False
    status = str(entity.get("status", ""))
    with unit_of_work(session):  # as process_event: a late payment may book again
        link = locked_link(session, link_id)
        assert link is not None
        if status in ("created", "partially_paid") and link.expire_at <= now:
            # Razorpay takes no payment after expire_by; it may just not have said so yet.
            status = "expired"
        take_link_news(
            session,
            link,
            status=status,
            amount_paid_minor=int(entity.get("amount_paid") or 0),
            reported=[_provider_payment(p) for p in entity.get("payments") or []],
            now=now,
        )
    return True
