"""What patients owe and what they have on account: dues from pay-after sessions,
paying them in the chat, and packages of prepaid sessions (credits).

Razorpay is tests/fake_razorpay.py behind the real SDK (its clock starts at NOW).
Webhook events are applied the way the webhook leaves them: stored once by id
(``store_event``), then applied (``process_events``); the HTTP edge itself is
tests/reconciliation/test_payment_webhooks.py.

NOW is Monday 23 Nov 2026, 09:00 in Kolkata; the default policy has 2 h minimum
notice and a 24 h cancellation window; prepaid services here hold a slot 30 minutes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from jobs.runner import tick
from jobs.runtime import Runtime
from jobs.sweep import StepFailure, _Guard, queue_dues
from models import (
    Appointment,
    Clinic,
    Contact,
    CreditEntry,
    Invoice,
    InvoiceLineKind,
    LinkStatus,
    MessageKind,
    OutboundMessage,
    Patient,
    Payment,
    PaymentAllocation,
    PaymentLink,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
    Role,
)
from services.audit import Actor
from services.billing import credits, dues, payments
from services.billing import invoices as billing
from services.errors import InvalidInput
from services.scheduling.appointments import cancel_appointment, complete_appointment
from tests.admin.test_admin import log_in
from tests.chat import Chat
from tests.conftest import NOW, staff_logins
from tests.outbox import SUNRISE, london, seed
from tests.outbox import book as book_at

# The shared fixtures are imported by name so pytest finds them here; tests then take
# them as parameters of the same name, which is what F811 would flag.
# ruff: noqa: F811
from tests.payments_support import (  # noqa: F401  (fixtures)
    MON_11,
    MON_15,
    STAFF,
    WED_10,
    add_package,
    add_service,
    book,
    clinic,
    count,
    deliver,
    fresh,
    messages,
    online,
    package,
    patient,
    pay_after,
    prepaid,
    push_links,
    rows,
    sell,
    sibling,
    upi_clinic,
)

# --- dues ----------------------------------------------------------------------------------------


def complete(session, clinic, appointment, *, at=None):
    at = at or appointment.start_at + timedelta(hours=1)
    return complete_appointment(
        session, clinic_id=clinic.id, appointment_id=appointment.id, now=at, actor=STAFF
    )


@pytest.fixture
def two_sessions_done(session, clinic, patient, pay_after):
    """Aarav and his sister Diya each had a ₹600 pay-after session today."""
    diya = sibling(session, patient)
    done = [
        book(session, clinic, child, pay_after, start, actor=STAFF)
        for child, start in ((patient, MON_11), (diya, MON_15))
    ]
    for appointment in done:
        complete(session, clinic, appointment)
    return patient, diya


def test_completed_pay_after_sessions_are_invoiced_and_owed_per_patient(
    session, clinic, two_sessions_done
):
    aarav, diya = two_sessions_done

    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)

    assert [(p.name, owed) for p, owed in dues.per_patient] == [("Aarav", 60000), ("Diya", 60000)]
    assert dues.total == 120000
    assert billing.dues_by_patient(session, clinic.id) == {aarav.id: 60000, diya.id: 60000}
    assert [i.number for i in rows(session, Invoice)] == [
        "INV-2026-27-000001",
        "INV-2026-27-000002",
    ]


def test_a_booked_pay_after_session_is_not_owed_until_it_happens(
    session, clinic, patient, pay_after
):
    book(session, clinic, patient, pay_after, WED_10, actor=STAFF)

    assert billing.contact_dues(session, clinic.id, patient.contact_id).total == 0
    assert count(session, Invoice) == 0


def test_a_cash_payment_reduces_what_is_owed_oldest_first(session, clinic, two_sessions_done):
    aarav, _diya = two_sessions_done

    payment = payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        amount_minor=70000,
        method=PaymentMethod.CASH,
        now=NOW + timedelta(hours=8),
        actor=STAFF,
    )

    assert payment.receipt_number == "RCPT-2026-27-000001"
    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)
    assert [(p.name, owed) for p, owed in dues.per_patient] == [("Diya", 50000)]
    assert (dues.total, dues.on_account) == (50000, 0)


def test_an_overpayment_stays_on_account_and_pays_the_next_invoice(
    session, clinic, two_sessions_done, pay_after
):
    aarav, _diya = two_sessions_done
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        amount_minor=200000,
        method=PaymentMethod.BANK_TRANSFER,
        now=NOW + timedelta(hours=8),
        actor=STAFF,
    )
    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)
    assert (dues.total, dues.on_account) == (0, 80000)

    wednesday = book(session, clinic, aarav, pay_after, WED_10, actor=STAFF)
    complete(session, clinic, wednesday)

    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)
    assert (dues.total, dues.on_account) == (0, 20000)
    assert fresh(session, wednesday).payment_status is PaymentStatus.PAID


def test_record_payment_refuses_online_methods_and_non_positive_amounts(session, clinic, patient):
    for method, amount in ((PaymentMethod.PAYMENT_LINK, 100), (PaymentMethod.CASH, 0)):
        with pytest.raises(InvalidInput):
            payments.record_payment(
                session,
                clinic_id=clinic.id,
                contact_id=patient.contact_id,
                amount_minor=amount,
                method=method,
                now=NOW,
                actor=STAFF,
            )
    assert count(session, Payment) == 0


@pytest.fixture
def chat_with_dues(session, clinic, pay_after):
    """A parent registered Aarav and Diya over chat; each had a ₹600 session today.

    After registering the chat goes on to book; *menu* leaves it at the menu instead."""
    chat = Chat(session, clinic, now=NOW)
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019", "menu")
    aarav = session.scalar(select(Patient).where(Patient.name == "Aarav"))
    diya = sibling(session, aarav)
    for child, start in ((aarav, MON_11), (diya, MON_15)):
        complete(session, clinic, book(session, clinic, child, pay_after, start, actor=STAFF))
    chat.now = NOW + timedelta(hours=8)
    return chat


def test_pay_dues_in_the_chat_lists_what_each_child_owes(chat_with_dues):
    reply = chat_with_dues.say("5")

    assert "• Aarav: ₹600\n• Diya: ₹600\nTotal: ₹1,200" in reply
    assert "1. Pay ₹1,200 now" in reply


def test_paying_dues_with_razorpay_opens_one_link_for_the_total(
    session, chat_with_dues, connect_razorpay, gateway_for, razorpay
):
    connect_razorpay(chat_with_dues.clinic)
    chat_with_dues.say("5")

    assert "payment link for ₹1,200" in chat_with_dues.say("1")
    chat_with_dues.script("pay", "1")  # asked again: the same link is sent again

    [link] = rows(session, PaymentLink)
    assert (link.amount_minor, link.appointment_id) == (120000, None)
    push_links(session, gateway_for, now=chat_with_dues.now)
    assert [at["amount"] for at in razorpay.links.values()] == [120000]


def test_paying_dues_without_razorpay_sends_upi_details(session, chat_with_dues, upi_clinic):
    chat_with_dues.say("5")

    assert "UPI details for ₹1,200" in chat_with_dues.say("pay")

    [payment] = rows(session, Payment)
    assert (payment.method, payment.status, payment.amount_minor) == (
        PaymentMethod.UPI,
        PaymentState.AWAITING_CONFIRMATION,
        120000,
    )
    [message] = messages(session, "payment_upi")
    assert message.variables["vpa"] == "clinic@okaxis"
    assert count(session, PaymentLink) == 0


def test_paying_dues_with_no_online_payment_says_pay_at_the_clinic(session, chat_with_dues):
    chat_with_dues.say("5")

    assert "pay ₹1,200 at the clinic" in chat_with_dues.say("1")
    assert count(session, Payment) == count(session, PaymentLink) == 0


def test_paying_the_dues_link_settles_every_open_invoice(
    session, chat_with_dues, connect_razorpay, gateway_for, razorpay
):
    chat = chat_with_dues
    connect_razorpay(chat.clinic)
    chat.script("5", "1")
    push_links(session, gateway_for, now=chat.now)
    [link] = rows(session, PaymentLink)
    [message] = messages(session, "payment_link_dues")
    assert message.variables["url"] == link.short_url

    deliver(session, razorpay.pay(link.provider_link_id), now=chat.now)

    [contact_id] = {p.contact_id for p in rows(session, Patient)}
    assert billing.contact_dues(session, chat.clinic.id, contact_id).total == 0
    assert sorted(a.amount_minor for a in rows(session, PaymentAllocation)) == [60000, 60000]
    assert "nothing to pay" in chat.say("5")


def test_a_session_paid_from_credit_is_no_longer_owed(
    session, clinic, two_sessions_done, pay_after
):
    aarav, _diya = two_sessions_done
    package = add_package(session, clinic, pay_after, sessions=5, price=250000)
    sell(session, clinic, aarav, package)
    package_invoice = rows(session, Invoice)[-1]
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        amount_minor=250000,
        method=PaymentMethod.CARD,
        now=NOW + timedelta(hours=9),
        actor=STAFF,
        invoice_id=package_invoice.id,
    )
    [aarav_session] = rows(session, Appointment, Appointment.patient_id == aarav.id)

    credits.draw_credit_for(
        session,
        clinic_id=clinic.id,
        appointment_id=aarav_session.id,
        now=NOW + timedelta(hours=9),
        actor=STAFF,
    )

    dues = billing.contact_dues(session, clinic.id, aarav.contact_id)
    assert [(p.name, owed) for p, owed in dues.per_patient] == [("Diya", 60000)]
    assert credits.credit_balance(session, aarav.id, pay_after.id) == 4


def test_nothing_owed_means_nothing_to_pay(session, clinic, connect_razorpay):
    connect_razorpay(clinic)
    chat = Chat(session, clinic, now=NOW)
    chat.script("hi", "1", "Asha Verma", "Aarav", "12/03/2019")

    assert "nothing to pay" in chat.say("pay")
    assert count(session, PaymentLink) == 0


DESK_PASSWORD = "correct-horse-battery"

# --- the monthly dues reminder: the same rule as the invoices -----------------------------------

# The default dues day and time (the 15th, 10:00 in Kolkata), a minute on: 15 Dec 2026, 10:01 IST.
DUES_DAY = datetime(2026, 12, 15, 4, 31, tzinfo=UTC)


def dues_reminders(session, clinic) -> dict[int, str]:
    """Turn the clinic's dues reminders on, run the monthly job: contact id → amount stated."""
    clinic.policy.dues_reminders_enabled = True
    session.commit()
    dues.queue_monthly_reminders(session, now=DUES_DAY)
    queued = session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.clinic_id == clinic.id, OutboundMessage.kind == MessageKind.DUES
        )
    ).all()
    return {m.contact_id: m.variables["amount"] for m in queued}


def test_a_part_paid_session_gets_a_reminder_for_what_is_left(session, clinic, two_sessions_done):
    aarav, diya = two_sessions_done
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        amount_minor=70000,
        method=PaymentMethod.CASH,
        now=NOW + timedelta(hours=8),
        actor=STAFF,
    )
    [diya_session] = rows(session, Appointment, Appointment.patient_id == diya.id)
    assert diya_session.payment_status is PaymentStatus.PARTIALLY_PAID

    assert dues_reminders(session, clinic) == {aarav.contact_id: "₹500"}


def test_a_taxed_invoice_is_reminded_at_its_total(session, clinic, patient, pay_after):
    clinic.policy.tax_rate_bp = 1800  # 18% GST
    session.commit()
    complete(session, clinic, book(session, clinic, patient, pay_after, MON_11, actor=STAFF))
    [invoice] = rows(session, Invoice)
    assert invoice.total_minor == 70800

    assert dues_reminders(session, clinic) == {patient.contact_id: "₹708"}


def test_an_unpaid_package_gets_a_reminder(session, online, patient, package):
    sell(session, online, patient, package)

    assert dues_reminders(session, online) == {patient.contact_id: "₹6,000"}


def test_nothing_owed_means_no_reminder(session, clinic, two_sessions_done):
    aarav, _diya = two_sessions_done
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        amount_minor=120000,
        method=PaymentMethod.CASH,
        now=NOW + timedelta(hours=8),
        actor=STAFF,
    )

    assert dues_reminders(session, clinic) == {}


def test_the_dues_page_the_chat_and_the_reminder_state_one_amount(
    session, app, chat_with_dues, clinic
):
    chat = chat_with_dues
    [contact_id] = {p.contact_id for p in rows(session, Patient)}
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=contact_id,
        amount_minor=70000,
        method=PaymentMethod.CASH,
        now=chat.now,
        actor=STAFF,
    )
    logins = staff_logins(session, clinic.id, password=DESK_PASSWORD, domain="dues.example")
    client = app.test_client()
    assert log_in(client, logins[Role.ACCOUNTANT].email).status_code == 302

    page = client.get("/admin/dues/").text

    assert "Total: ₹500" in chat.say("5")
    assert "₹500.00" in page
    assert dues_reminders(session, clinic) == {contact_id: "₹500"}


# --- the sweep: one clinic's failure never silences the others ----------------------------------


def test_a_clinic_whose_razorpay_secret_no_longer_decrypts_does_not_stop_the_others(
    db,
    session,
    caplog,
    payments_config,
    sender,
    twilio,
    online,
    prepaid,
    patient,
    make_patient,
):
    """Clinic A's stored Razorpay secret was encrypted with a key since rotated away, and A
    has a payment link to create; clinic B's dues reminder still goes out in the same sweep."""
    sweep_at = london(15, 10, 1, month=12)  # both clinics' dues day, after its time
    a = online
    # A prepaid chat booking, made a minute before the sweep: its link waits for Razorpay.
    thursday_10 = datetime(2026, 12, 17, 4, 30, tzinfo=UTC)  # 10:00 in Kolkata
    book(session, a, patient, prepaid, thursday_10, now=sweep_at - timedelta(minutes=1))
    a.razorpay_key_secret_encrypted = "gAAAAA-encrypted-with-a-key-rotated-away"
    session.commit()
    b = seed(session, SUNRISE)  # a London clinic that texts (SMS) where WhatsApp is off
    b.policy.dues_reminders_enabled = True
    session.commit()
    owes = make_patient(b, name="Meera", phone="+447911123456")
    session.get(Contact, owes.contact_id).whatsapp_opted_out_at = NOW  # so: by SMS
    session.commit()
    complete(session, b, book_at(session, b, owes, london(23, 10)))
    rt = Runtime(config=payments_config, database=db, sender=sender)

    with caplog.at_level(logging.ERROR, logger="jobs.sweep"):
        result = tick(rt, now=sweep_at)

    assert result.failed == (StepFailure("payment sync", a.id),)
    [failure] = [r for r in caplog.records if r.name == "jobs.sweep"]
    assert failure.getMessage() == f"sweep step payment sync failed for clinic {a.id}"
    # With the app's logging set up, the traceback is redacted into exc_text.
    trace = failure.exc_text or logging.Formatter().formatException(failure.exc_info)
    assert "SecretUnreadable" in trace and "gAAAAA" not in trace
    assert [m["To"] for m in twilio.sent] == ["+447911123456"]
    assert twilio.sent[0]["Body"].startswith("Sunrise Therapy Centre: you have £65 outstanding")
    [link] = rows(session, PaymentLink)
    assert (link.status, link.attempts) == (LinkStatus.PENDING, 0)  # untouched: tried again


def test_one_clinics_failing_dues_step_does_not_stop_the_next_clinics(
    session, caplog, clinic, two_sessions_done, make_clinic, make_therapist, make_patient
):
    broken = clinic  # the first clinic swept
    session.execute(  # a time zone the database holds but the machine no longer knows
        update(Clinic).where(Clinic.id == broken.id).values(timezone="Mars/Olympus_Mons")
    )
    broken.policy.dues_reminders_enabled = True
    session.commit()
    other = make_clinic(name="Other", dues_reminders_enabled=True)
    make_therapist(other)
    meera = make_patient(other, name="Meera", phone="+919812345678")
    service = add_service(session, other, price=60000)
    complete(session, other, book(session, other, meera, service, MON_11, actor=STAFF))
    guard = _Guard(session)

    with caplog.at_level(logging.ERROR, logger="jobs.sweep"):
        queued = queue_dues(session, now=DUES_DAY, guard=guard)

    assert queued == 1  # Meera's parent, at the other clinic
    assert guard.failed == [StepFailure("dues", broken.id)]
    assert [r.getMessage() for r in caplog.records if r.name == "jobs.sweep"] == [
        f"sweep step dues failed for clinic {broken.id}"
    ]


# --- packages and credits ------------------------------------------------------------------------


def test_selling_a_package_invoices_it_and_adds_its_sessions(
    session, online, patient, package, prepaid
):
    invoice = sell(session, online, patient, package)

    assert (invoice.number, invoice.total_minor) == ("INV-2026-27-000001", 600000)
    assert [line.kind for line in invoice.lines] == [InvoiceLineKind.PACKAGE]
    assert credits.credit_balance(session, patient.id, prepaid.id) == 10
    assert billing.contact_dues(session, online.id, patient.contact_id).total == 600000


def test_a_booking_with_credit_draws_one_session_instead_of_asking_to_pay(
    session, online, patient, package, prepaid, gateway_for
):
    sell(session, online, patient, package)

    appointment = fresh(session, book(session, online, patient, prepaid, WED_10))

    assert appointment.payment_status is PaymentStatus.PAID
    assert appointment.hold_expires_at is None
    assert credits.credit_balance(session, patient.id, prepaid.id) == 9
    assert count(session, Invoice) == 1  # the package's only
    assert count(session, PaymentLink) == 0


def test_cancelling_outside_the_window_returns_the_credit(
    session, online, patient, package, prepaid
):
    sell(session, online, patient, package)
    appointment = book(session, online, patient, prepaid, WED_10)

    cancel_appointment(
        session,
        clinic_id=online.id,
        appointment_id=appointment.id,
        now=NOW,
        actor=Actor.contact(patient.contact_id),
    )

    assert credits.credit_balance(session, patient.id, prepaid.id) == 10


def test_the_credit_balance_is_the_sum_of_the_ledger(session, online, patient, package, prepaid):
    sell(session, online, patient, package)
    book(session, online, patient, prepaid, WED_10)
    credits.adjust_credit(
        session,
        clinic_id=online.id,
        patient_id=patient.id,
        sessions=-2,
        note="two sessions given as a goodwill gesture elsewhere",
        now=NOW,
        actor=STAFF,
    )

    ledger = [e.sessions for e in rows(session, CreditEntry)]
    assert ledger == [10, -1, -2]
    assert credits.credit_balance(session, patient.id) == sum(ledger) == 7


def test_an_adjustment_cannot_make_credit_negative(session, online, patient, package):
    sell(session, online, patient, package)

    with pytest.raises(InvalidInput):
        credits.adjust_credit(
            session,
            clinic_id=online.id,
            patient_id=patient.id,
            sessions=-11,
            note="typo",
            now=NOW,
            actor=STAFF,
        )
    assert credits.credit_balance(session, patient.id) == 10
