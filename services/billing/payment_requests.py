"""Asking for money: a prepaid chat booking's payment, a contact's dues, a session staff
send a link for. Each asks for what is left after money on account, by payment link
(a row first; the sweep creates it at Razorpay, or as a Stripe Checkout Session, and
sends it) or by UPI request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clinic_time
from core.db import write_transaction
from core.formatting import format_money
from models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Contact,
    Invoice,
    LinkStatus,
    MessageKind,
    Payment,
    PaymentLink,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
    Service,
)
from services import audit
from services.audit import Actor
from services.billing import credits
from services.billing import invoices as billing
from services.errors import N_, InvalidInput, InvalidTransition
from services.locks import lock_appointment
from services.messaging.outbox import queue_for_contact
from services.people.patients import clinic_and_contact

MIN_LINK_MINOR = 100  # Razorpay's smallest payment link: ₹1 (Stripe's is lower: 30p, 50¢)
DUES_LINK_LIFETIME = timedelta(days=7)
# Razorpay wants expire_by at least 15 minutes ahead when a link is created.
GATEWAY_MIN_LIFETIME = timedelta(minutes=16)
STRIPE_MAX_LIFETIME = timedelta(hours=23)


@dataclass(frozen=True)
class PaymentRequest:
    """What was asked: ``kind`` is "link" (a Razorpay link the sweep creates and sends,
    or an open one sent again: ``reused``), "upi" (UPI details sent in the chat),
    "settled" (money on account paid it) or "none" (no online way to pay)."""

    kind: str
    amount_minor: int
    link_id: int | None = None
    payment_id: int | None = None
    reused: bool = False


def uses_razorpay(clinic: Clinic) -> bool:
    return bool(clinic.razorpay_key_id and clinic.razorpay_key_secret_encrypted)


def uses_stripe(clinic: Clinic) -> bool:
    return bool(clinic.stripe_secret_key_encrypted)


def link_provider(clinic: Clinic) -> str | None:
    """Who collects the clinic's payment links: Stripe (a Checkout Session, paid by card)
    when it has Stripe keys and either works in a currency other than rupees or has no
    Razorpay keys; else Razorpay when it has Razorpay keys; else nobody."""
    if uses_stripe(clinic) and (clinic.currency != "INR" or not uses_razorpay(clinic)):
        return "stripe"
    if uses_razorpay(clinic):
        return "razorpay"
    return None


def takes_links(clinic: Clinic) -> bool:
    return link_provider(clinic) is not None


def uses_upi(clinic: Clinic) -> bool:
    return bool(clinic.upi_vpa) and clinic.currency == "INR"


@dataclass(frozen=True)
class Prepayment:
    """What a chat booking will ask to be paid before the session, said at its confirm
    step: the amount (with tax) and, when an unpaid booking is released, by when."""

    amount_minor: int
    pay_by: datetime | None  # None: a UPI payment, never released on its own


def booking_prepayment(
    session: Session,
    *,
    clinic: Clinic,
    service: Service,
    patient_id: int,
    price_minor: int,
    now: datetime,
) -> Prepayment | None:
    """The same decisions as ``request_for_booking`` for a booking not made yet (before
    money on account, which can only lower the amount)."""
    if price_minor == 0 or not service.prepay_required:
        return None
    if credits.credit_balance(session, patient_id, service.id) >= 1:
        return None
    if not (takes_links(clinic) or uses_upi(clinic)):
        return None
    amount = billing.with_tax(price_minor, clinic.policy.tax_rate_bp)
    held = takes_links(clinic) and amount >= MIN_LINK_MINOR
    return Prepayment(amount, now + timedelta(minutes=service.hold_minutes) if held else None)


def request_for_booking(
    session: Session,
    appointment: Appointment,
    *,
    now: datetime,
    actor: Actor,
    chat_booking: bool = False,
) -> None:
    """Called inside ``book_appointment``: draw package credit, or invoice a prepaid
    session and (for a chat booking) hold the slot while the patient pays.
    ``chat_booking``: staff approve a chat request, so it is billed as the chat's booking
    (a link and a hold), not as one made at the desk. A request not yet approved is not
    billed at all."""
    if appointment.price_minor == 0 or appointment.status is AppointmentStatus.REQUESTED:
        return
    if credits.draw_credit(session, appointment, now=now, actor=actor):
        return
    service = appointment.service
    if not service.prepay_required:
        return
    invoice, due = _invoice_and_due(session, appointment, now=now, actor=actor)
    if (actor.is_staff and not chat_booking) or due <= 0:
        return  # at the desk staff take the money or send a link from the panel
    clinic = session.get(Clinic, appointment.clinic_id)
    assert clinic is not None
    if not (takes_links(clinic) or uses_upi(clinic)):
        return
    appointment.payment_status = PaymentStatus.PENDING
    if takes_links(clinic) and due >= MIN_LINK_MINOR:
        # A link that is not paid in time releases the slot; a UPI payment only staff
        # can confirm, so that booking is never released on its own.
        appointment.hold_expires_at = now + timedelta(minutes=service.hold_minutes)
    _ask(
        session,
        clinic=clinic,
        contact=appointment.patient.contact,
        due=due,
        now=now,
        actor=actor,
        expire_at=appointment.hold_expires_at or now + DUES_LINK_LIFETIME,
        invoice=invoice,
        appointment=appointment,
    )


def course_package_total(
    clinic: Clinic, service: Service, price_minor: int, sessions: int
) -> int | None:
    """What a course's one invoice will come to (with tax), or None when the course is
    not billed as a package (the clinic bills per session, or the service is free or paid
    after)."""
    if clinic.policy.course_billing != "package" or price_minor == 0:
        return None
    if not service.prepay_required:
        return None
    return billing.with_tax(price_minor * sessions, clinic.policy.tax_rate_bp)


def request_for_course(
    session: Session, sessions: list[Appointment], *, now: datetime, actor: Actor
) -> Invoice | None:
    """Called inside ``book_series``: a prepaid course of a clinic that bills courses as
    one package gets one invoice for every session (``credits.invoice_course``) and, booked
    in the chat, one payment link (or UPI request) for it. Nothing is held: a course's
    sessions are not released for an unpaid link; what is unpaid stays in the dues. A
    clinic that bills per session bills a course's sessions as it bills single ones later."""
    first = sessions[0]
    clinic = session.get(Clinic, first.clinic_id)
    assert clinic is not None
    if course_package_total(clinic, first.service, first.price_minor, len(sessions)) is None:
        return None
    start = clinic_time.to_wall(first.start_at, clinic.timezone)
    invoice = credits.invoice_course(
        session,
        clinic=clinic,
        patient=first.patient,
        sessions=sessions,
        description=(
            f"{first.service.name}: course of {len(sessions)} sessions from {start:%d %b %Y}"
        ),
        now=now,
        actor=actor,
    )
    due = invoice.total_minor - billing.invoice_paid(session, invoice.id)
    if actor.is_staff or due <= 0:
        return invoice
    _ask(
        session,
        clinic=clinic,
        contact=first.patient.contact,
        due=due,
        now=now,
        actor=actor,
        expire_at=now + DUES_LINK_LIFETIME,
        invoice=invoice,
        description=(
            f"{first.service.name} for {first.patient.name}: course of {len(sessions)} sessions"
        ),
    )
    return invoice


def send_payment_request(
    session: Session, *, clinic_id: int, appointment_id: int, now: datetime, actor: Actor
) -> PaymentRequest:
    """Staff ask the patient to pay for one session: issue (or reuse) its invoice, use any
    money on account first, then ask for the rest by Razorpay link or UPI request.

    An open link for the same amount is sent again rather than a second one opened.
    """
    with write_transaction(session):
        appointment = lock_appointment(session, clinic_id, appointment_id)
        if appointment.status is AppointmentStatus.CANCELLED:
            raise InvalidTransition(N_("This session is cancelled, so there is nothing to pay."))
        if appointment.status is AppointmentStatus.REQUESTED:
            raise InvalidTransition(
                N_("This session is a request the clinic has not approved yet: approve it first.")
            )
        if appointment.price_minor == 0 or appointment.payment_status.settled:
            raise InvalidTransition(N_("This session is free or already paid."))
        clinic = session.get(Clinic, clinic_id)
        assert clinic is not None
        if not (takes_links(clinic) or uses_upi(clinic)):
            raise InvalidTransition(
                N_(
                    "This clinic takes no online payments yet: connect Razorpay or Stripe, or set "
                    "a UPI ID in the clinic settings, or record the payment at the desk."
                )
            )
        invoice, due = _invoice_and_due(session, appointment, now=now, actor=actor)
        if due <= 0:
            return PaymentRequest("settled", 0)
        asked = _ask(
            session,
            clinic=clinic,
            contact=appointment.patient.contact,
            due=due,
            now=now,
            actor=actor,
            expire_at=now + DUES_LINK_LIFETIME,
            invoice=invoice,
            appointment=appointment,
        )
        if asked.kind == "none":
            raise InvalidInput(
                N_("%(amount)s is below Razorpay's smallest link; please take it at the desk."),
                amount=format_money(due, clinic.currency),
            )
        if asked.link_id is not None:
            audit.record(
                session,
                clinic_id=clinic_id,
                actor=actor,
                action="payment_link.send" if asked.reused else "payment_link.create",
                entity=session.get(PaymentLink, asked.link_id),
            )
        return asked


def request_dues_payment(
    session: Session, *, clinic_id: int, contact_id: int, now: datetime, actor: Actor
) -> tuple[int, str | None]:
    """The contact asked to pay what they owe: (amount, "link" | "upi" | None)."""
    with write_transaction(session):
        clinic, contact = clinic_and_contact(session, clinic_id, contact_id)
        owed = billing.contact_dues(session, clinic_id, contact_id).total
        if owed <= 0:
            return 0, None
        asked = _ask(
            session,
            clinic=clinic,
            contact=contact,
            due=owed,
            now=now,
            actor=actor,
            expire_at=now + DUES_LINK_LIFETIME,
        )
        return owed, None if asked.kind == "none" else asked.kind


def _invoice_and_due(
    session: Session, appointment: Appointment, *, now: datetime, actor: Actor
) -> tuple[Invoice, int]:
    """The session's invoice (issued once) and what is left to pay on it after the
    contact's money on account (say, from a session cancelled in time) is applied."""
    invoice = billing.invoice_appointment(session, appointment, now=now, actor=actor)
    assert invoice is not None
    billing.settle(
        session,
        appointment.clinic_id,
        appointment.patient.contact_id,
        now=now,
        actor=actor,
        prefer_invoice_id=invoice.id,
    )
    return invoice, invoice.total_minor - billing.invoice_paid(session, invoice.id)


def _ask(
    session: Session,
    *,
    clinic: Clinic,
    contact: Contact,
    due: int,
    now: datetime,
    actor: Actor,
    expire_at: datetime,
    invoice: Invoice | None = None,
    appointment: Appointment | None = None,
    description: str | None = None,
) -> PaymentRequest:
    """Ask for ``due`` the clinic's way: a payment link (an open one for the same thing
    and amount is sent again, not doubled), else a UPI request, else nothing."""
    if takes_links(clinic) and due >= MIN_LINK_MINOR:
        still_open = _open_link_for(session, contact, appointment, due, now)
        if still_open is not None:
            # A pending link is sent by the sweep once Razorpay has made it.
            if still_open.status is LinkStatus.CREATED:
                queue_link_message(session, still_open, now=now)
            return PaymentRequest("link", due, link_id=still_open.id, reused=True)
        service = appointment.service if appointment is not None else None
        link = open_link(
            session,
            clinic=clinic,
            contact=contact,
            amount_minor=due,
            description=description
            or (
                f"{service.name} for {appointment.patient.name} ({appointment.number})"
                if appointment is not None and service is not None
                else f"Outstanding dues at {clinic.name}"
            ),
            expire_at=expire_at,
            now=now,
            invoice=invoice,
            appointment=appointment,
            accept_partial=bool(service and service.accept_partial),
        )
        assert link is not None
        session.flush()
        return PaymentRequest("link", due, link_id=link.id)
    if uses_upi(clinic):
        payment = request_upi(
            session,
            clinic=clinic,
            contact=contact,
            amount_minor=due,
            now=now,
            actor=actor,
            patient_id=appointment.patient_id if appointment is not None else None,
            appointment=appointment,
        )
        return PaymentRequest("upi", due, payment_id=payment.id)
    return PaymentRequest("none", due)


def _open_link_for(
    session: Session, contact: Contact, appointment: Appointment | None, due: int, now: datetime
) -> PaymentLink | None:
    """The newest link still open (for an hour more at least) for the same thing and amount."""
    same_purpose = (
        PaymentLink.appointment_id == appointment.id
        if appointment is not None
        else PaymentLink.appointment_id.is_(None)
    )
    return session.scalar(
        select(PaymentLink)
        .where(
            PaymentLink.contact_id == contact.id,
            same_purpose,
            PaymentLink.amount_minor == due,
            PaymentLink.status.in_([LinkStatus.PENDING, LinkStatus.CREATED]),
            PaymentLink.expire_at > now + timedelta(hours=1),
        )
        .order_by(PaymentLink.id.desc())
        .limit(1)
    )


def open_link(
    session: Session,
    *,
    clinic: Clinic,
    contact: Contact,
    amount_minor: int,
    description: str,
    expire_at: datetime,
    now: datetime,
    invoice: Invoice | None = None,
    appointment: Appointment | None = None,
    accept_partial: bool = False,
) -> PaymentLink | None:
    """A payment link row (status pending) with the clinic's link provider; a job creates
    it there and sends it."""
    provider = link_provider(clinic)
    if amount_minor < MIN_LINK_MINOR or provider is None:
        return None
    if provider == "stripe":
        # A Checkout Session lives 30 minutes to 24 hours (integrations.stripe_client):
        # a longer link (a week for dues) ends after a day and is asked for again then;
        # a shorter hold is kept by the sweep, which expires the session at Stripe.
        expire_at = min(expire_at, now + STRIPE_MAX_LIFETIME)
    link = PaymentLink(
        clinic_id=clinic.id,
        contact_id=contact.id,
        invoice_id=invoice.id if invoice is not None else None,
        appointment_id=appointment.id if appointment is not None else None,
        reference_id=f"rs-{secrets.token_hex(8)}",
        provider=provider,
        description=description[:200],
        amount_minor=amount_minor,
        currency=clinic.currency,
        accept_partial=accept_partial,
        expire_at=max(expire_at, now + GATEWAY_MIN_LIFETIME),
    )
    session.add(link)
    return link


def request_upi(
    session: Session,
    *,
    clinic: Clinic,
    contact: Contact,
    amount_minor: int,
    now: datetime,
    actor: Actor,
    patient_id: int | None = None,
    appointment: Appointment | None = None,
) -> Payment:
    """A UPI payment the patient makes from their own app: recorded as awaiting
    confirmation, and a message with the UPI link and a QR code goes to the chat."""
    payment = Payment(
        clinic_id=clinic.id,
        contact_id=contact.id,
        patient_id=patient_id,
        method=PaymentMethod.UPI,
        status=PaymentState.AWAITING_CONFIRMATION,
        amount_minor=amount_minor,
        currency=clinic.currency,
        received_at=now,
        public_token=secrets.token_urlsafe(16),
        recorded_by=actor.label(),
    )
    session.add(payment)
    session.flush()
    payment.reference = f"RS{clinic.id}P{payment.id}"
    audit.record(
        session, clinic_id=clinic.id, actor=actor, action="payment.upi_request", entity=payment
    )
    queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.PAYMENT,
        template_key="payment_upi",
        idempotency_key=f"upi:{payment.id}",
        due_at=now,
        appointment_id=appointment.id if appointment is not None else None,
        variables={
            "amount": format_money(amount_minor, clinic.currency, short=True),
            "vpa": clinic.upi_vpa,
            "upi_path": f"/pay/upi/{payment.public_token}",
            "media_path": f"/pay/upi/{payment.public_token}.png",
        },
    )
    return payment


def queue_link_message(session: Session, link: PaymentLink, *, now: datetime) -> None:
    clinic = session.get(Clinic, link.clinic_id)
    contact = session.get(Contact, link.contact_id)
    assert clinic is not None and contact is not None
    queue_for_contact(
        session,
        clinic,
        contact,
        kind=MessageKind.PAYMENT,
        template_key="payment_link_booking" if link.appointment_id else "payment_link_dues",
        idempotency_key=f"link:{link.id}:{now:%Y%m%dT%H%M%S%f}",
        due_at=now,
        appointment_id=link.appointment_id,
        variables={
            "amount": format_money(
                link.amount_minor - link.amount_paid_minor, link.currency, short=True
            ),
            "url": link.short_url or "",
            "until": link.expire_at.isoformat(),
        },
    )
