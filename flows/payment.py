"""Paying from the chat: what is owed, and one link (or UPI request) for all of it."""

from __future__ import annotations

from flows.dialog import Turn, state
from models import Appointment, PaymentStatus, Service
from services.billing import credits, payment_requests
from services.billing import invoices as billing


def start_pay_dues(turn: Turn) -> str:
    contact = turn.contact
    assert contact is not None
    dues = billing.contact_dues(turn.session, turn.clinic.id, contact.id)
    if dues.total <= 0:
        turn.conversation.state = "menu"
        return turn.say("dues_none")
    lines = "\n".join(
        turn.say("dues_line", patient=patient.name, amount=turn.money(owed))
        for patient, owed in dues.per_patient
    )
    total = turn.money(dues.total)
    turn.data["dues_total"] = dues.total
    turn.conversation.state = "pay_dues"
    return turn.offer(
        turn.say("dues_summary", lines=lines, total=total),
        [("pay", turn.say("dues_pay_now", total=total)), ("menu", turn.say("back"))],
    )


def answer_pay_dues(turn: Turn, text: str) -> str:
    choice = turn.pick(text)
    if choice is None and "pay" in text.casefold():
        choice = "pay"
    if choice == "menu":
        return turn.goto("menu")
    if choice != "pay":
        return turn.miss(turn.say("choose_number", count=2))
    contact = turn.contact
    assert contact is not None
    amount, route = payment_requests.request_dues_payment(
        turn.session,
        clinic_id=turn.clinic.id,
        contact_id=contact.id,
        now=turn.now,
        actor=turn.actor,
    )
    turn.conversation.state = "menu"
    turn.data.pop("dues_total", None)
    if amount <= 0:
        return turn.say("dues_none")
    total = turn.money(amount)
    if route == "link":
        return turn.say("dues_link_coming", total=total)
    if route == "upi":
        return turn.say("dues_upi_coming", total=total)
    return turn.say("dues_pay_at_clinic", total=total)


def booking_payment_note(turn: Turn, appointment: Appointment) -> str:
    """The line under "Booked!" saying how this session is paid for."""
    invoice = billing.session_invoice(turn.session, appointment.id)
    owed = appointment.price_minor
    if invoice is not None:  # what is asked for: the total with tax, less money on account
        owed = invoice.total_minor - billing.invoice_paid(turn.session, invoice.id)
    amount = turn.money(owed)
    if appointment.payment_status is PaymentStatus.PAID:
        left = credits.credit_balance(turn.session, appointment.patient_id, appointment.service_id)
        return "\n" + turn.say("paid_from_credit", left=left)
    if appointment.payment_status is not PaymentStatus.PENDING:
        return ""
    if appointment.hold_expires_at is not None:
        until = appointment.hold_expires_at.astimezone(turn.zone)
        return "\n" + turn.say("pay_to_keep", amount=amount, until=turn.time(until))
    if payment_requests.uses_upi(turn.clinic):
        return "\n" + turn.say("pay_by_upi", amount=amount)
    return ""


def prepayment_note(turn: Turn, service: Service, patient_id: int, price_minor: int) -> str:
    """For the confirm step: a session paid in advance says how much and by when before
    the patient confirms, so "Booked!" is never followed by a surprise."""
    due = payment_requests.booking_prepayment(
        turn.session,
        clinic=turn.clinic,
        service=service,
        patient_id=patient_id,
        price_minor=price_minor,
        now=turn.now,
    )
    if due is None:
        return ""
    amount = turn.money(due.amount_minor)
    if due.pay_by is not None:
        until = turn.time(due.pay_by.astimezone(turn.zone))
        minutes = service.hold_minutes
        return turn.say("prepay_by_link", amount=amount, until=until, minutes=minutes)
    return turn.say("prepay_by_upi", amount=amount)


state("pay_dues", ask=start_pay_dues, answer=answer_pay_dues)
