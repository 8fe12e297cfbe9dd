"""The appointments list in the staff panel: filters in the clinic's days, search,
actions through the booking and payment services, cancelling with a reason."""

from __future__ import annotations

import csv
import io
import re
from datetime import time, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from admin.views import appointments as appointments_view
from core.db import get_db
from models import (
    Appointment,
    AppointmentStatus,
    AuditLog,
    BookingSource,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LinkStatus,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    Payment,
    PaymentLink,
    PaymentMethod,
    PaymentState,
    Role,
)
from roshni.app import create_app
from services.billing import invoices as billing
from services.billing import payments
from services.reconciliation import razorpay_sync
from services.scheduling.appointments import book_appointment
from services.staff.accounts import create_staff_user
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.conftest import NOW, SYSTEM, counting_statements

# Clinic time is Asia/Kolkata (UTC+5:30); NOW is Mon 23 Nov 2026, 09:00 there.
IST = timedelta(hours=5, minutes=30)


def local(day: int, hour: int, minute: int = 0):
    """``local(24, 10)``: 24 Nov 2026, 10:00 in the clinic, as aware UTC."""
    return NOW.replace(day=day, hour=hour, minute=minute) - IST


@pytest.fixture
def app(payments_config, monkeypatch):
    # The panel reads the clock through its views' module; freeze it at NOW.
    monkeypatch.setattr(appointments_view, "utcnow", lambda: NOW)
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


@pytest.fixture
def desk(session, make_clinic, make_therapist, make_service, make_patient):
    """Clinic A: an admin, two therapists, a priced and a free service, two patients."""
    clinic = make_clinic(name="Clinic A", slug="clinic-a")
    priya = make_therapist(clinic, name="Dr. Priya Nair")
    ravi = make_therapist(clinic, name="Dr. Ravi Menon")
    speech = make_service(clinic)
    free = make_service(clinic, name="Free Assessment", price=0)
    aarav = make_patient(clinic, name="Aarav Sharma", phone="+919876500001")
    meera = make_patient(clinic, name="Meera Iyer", phone="+919876500002")
    create_staff_user(
        session,
        email="admin@a.example",
        password=PASSWORD,
        role=Role.ADMIN,
        clinic_id=clinic.id,
        actor=SYSTEM,
    )
    return type(
        "Desk",
        (),
        dict(
            clinic=clinic,
            priya=priya,
            ravi=ravi,
            speech=speech,
            free=free,
            aarav=aarav,
            meera=meera,
        ),
    )


@pytest.fixture
def client(app, desk):
    client = app.test_client()
    assert log_in(client, "admin@a.example").status_code == 302
    return client


def book(session, desk, patient, start, *, therapist=None, service=None, now=NOW):
    return book_appointment(
        session,
        clinic_id=desk.clinic.id,
        patient_id=patient.id,
        service_id=(service or desk.speech).id,
        therapist_id=(therapist or desk.priya).id,
        start=start,
        now=now,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )


def listed(client, **params) -> str:
    page = client.get("/admin/appointment/", query_string=params)
    assert page.status_code == 200
    return page.text


def numbers(text: str) -> set[str]:
    return set(re.findall(r"APT-\d{4}-\d{6}", text))


def fresh(session):
    session.rollback()
    session.expire_all()


def act(client, action: str, *appointments):
    token = csrf_token(client, "/admin/appointment/")
    return client.post(
        "/admin/appointment/action/",
        data={"csrf_token": token, "action": action, "rowid": [str(a.id) for a in appointments]},
        follow_redirects=True,
    )


def alerts(page) -> str:
    """The flashed messages on a page, one a line."""
    found = re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page.text, re.S)
    return "\n".join(re.sub(r"<[^>]+>|&times;", "", text).strip() for text in found)


def audit_actions(session, appointment) -> list[str]:
    fresh(session)
    return list(
        session.scalars(
            select(AuditLog.action)
            .where(AuditLog.entity_type == "Appointment", AuditLog.entity_id == str(appointment.id))
            .order_by(AuditLog.id)
        )
    )


def queued(session, kind: MessageKind | None = None, template: str | None = None):
    fresh(session)
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    if kind is not None:
        query = query.where(OutboundMessage.kind == kind)
    if template is not None:
        query = query.where(OutboundMessage.template_key == template)
    return list(session.scalars(query))


# --- filters ----------------------------------------------------------------------------


def test_the_date_filter_reads_the_clinics_days_across_midnight_utc(
    session, client, desk, make_therapist
):
    night = make_therapist(
        desk.clinic,
        name="Dr. Night Owl",
        hours={0: (time(21), time(23, 59)), 1: (time(0), time(8))},
    )
    # Mon 23:00 in the clinic is 17:30 UTC Monday; Tue 04:30 is 23:00 UTC, still Monday.
    late_monday = book(session, desk, desk.aarav, local(23, 23), therapist=night)
    early_tuesday = book(session, desk, desk.meera, local(24, 4, 30), therapist=night)
    wednesday = book(session, desk, desk.aarav, local(25, 10))
    assert late_monday.start_at.day == early_tuesday.start_at.day == 23  # in UTC

    monday = numbers(listed(client, flt0_date_between="2026-11-23 to 2026-11-23"))
    assert monday == {late_monday.number}
    tuesday_on = numbers(listed(client, flt0_date_on_or_after="2026-11-24"))
    assert tuesday_on == {early_tuesday.number, wednesday.number}
    up_to_tuesday = numbers(listed(client, flt0_date_on_or_before="2026-11-24"))
    assert up_to_tuesday == {late_monday.number, early_tuesday.number}
    both = numbers(
        listed(client, flt0_date_on_or_after="2026-11-24", flt1_date_on_or_before="2026-11-24")
    )
    assert both == {early_tuesday.number}


def test_a_bad_date_is_ignored_with_a_message(client, session, desk):
    booked = book(session, desk, desk.aarav, local(24, 10))
    page = listed(client, flt0_date_on_or_after="next tuesday")
    assert booked.number in page
    assert "Invalid Filter Value" in page or "invalid" in page.lower()


def test_the_therapist_filter_lists_this_clinics_therapists_and_narrows(client, session, desk):
    with_priya = book(session, desk, desk.aarav, local(24, 10))
    with_ravi = book(session, desk, desk.meera, local(24, 10), therapist=desk.ravi)

    page = listed(client, flt0_therapist_is=str(desk.ravi.id))
    assert numbers(page) == {with_ravi.number}
    assert "Dr. Priya Nair" in page  # offered as a choice
    assert numbers(listed(client, flt0_therapist_is=str(desk.priya.id))) == {with_priya.number}


def test_the_status_and_payment_filters_narrow(client, session, desk):
    kept = book(session, desk, desk.aarav, local(24, 10))
    free = book(session, desk, desk.meera, local(24, 11), service=desk.free)
    gone = book(session, desk, desk.meera, local(24, 12))
    token = csrf_token(client, f"/admin/appointment/cancel/?id={gone.id}")
    client.post(
        f"/admin/appointment/cancel/?id={gone.id}",
        data={"csrf_token": token, "reason": "Family travelling"},
    )

    assert numbers(listed(client, flt0_status_equals="cancelled")) == {gone.number}
    assert numbers(listed(client, flt0_status_equals="booked")) == {kept.number, free.number}
    assert numbers(listed(client, flt0_payment_equals="not_required")) == {free.number}
    assert numbers(listed(client, flt0_status_equals="booked", flt1_payment_equals="unpaid")) == {
        kept.number
    }


# --- search -------------------------------------------------------------------------------


def test_search_finds_by_number_phone_and_name(client, session, desk):
    aarav = book(session, desk, desk.aarav, local(24, 10))
    meera = book(session, desk, desk.meera, local(24, 11))

    assert numbers(listed(client, search=meera.number)) == {meera.number}
    # A number as printed without its prefix looks like a phone, and still finds it.
    assert numbers(listed(client, search=meera.number.removeprefix("APT-"))) == {meera.number}
    assert numbers(listed(client, search="Aarav")) == {aarav.number}
    assert numbers(listed(client, search="aarav sharma")) == {aarav.number}
    # Phones as people type them: local with a trunk 0, spaces, or the full E.164.
    assert numbers(listed(client, search="098765 00002")) == {meera.number}
    assert numbers(listed(client, search="+91 98765-00001")) == {aarav.number}
    assert numbers(listed(client, search="Asha Verma")) == {aarav.number, meera.number}
    assert numbers(listed(client, search="nobody-like-this")) == set()


def test_a_search_posted_from_the_box_never_puts_the_term_in_a_url(client, session, desk):
    aarav = book(session, desk, desk.aarav, local(24, 10))
    book(session, desk, desk.meera, local(24, 11))

    posted = client.post("/admin/appointment/search/", data={"search": "+91 98765-00001"})

    assert posted.status_code == 302
    location = posted.headers["Location"]
    assert "98765" not in location and "sq=" in location
    page = client.get(location)
    assert numbers(page.text) == {aarav.number}
    # Paging, sorting and "clear search" links carry the opaque key, never the term.
    assert "98765" not in " ".join(re.findall(r'href="([^"]+)"', page.text))
    assert "/admin-assets/search.js" in page.text  # turns the GET box into this POST


def test_a_search_key_from_another_session_finds_nothing_of_its_term(client, app, desk):
    posted = client.post("/admin/appointment/search/", data={"search": "Aarav"})
    stranger = app.test_client()
    assert log_in(stranger, "admin@a.example").status_code == 302

    page = stranger.get(posted.headers["Location"])

    assert page.status_code == 200
    assert 'value="Aarav"' not in page.text  # the key means nothing outside its session


# --- actions ------------------------------------------------------------------------------


def test_confirm_goes_through_the_service_with_an_audit_row_and_no_message(client, session, desk):
    appointment = book(session, desk, desk.aarav, local(24, 10))
    before = len(queued(session))

    page = act(client, "confirm", appointment)

    assert "Confirmed." in alerts(page)
    fresh(session)
    assert session.get(Appointment, appointment.id).status is AppointmentStatus.CONFIRMED
    assert audit_actions(session, appointment)[-1] == "appointment.confirm"
    # The patient said they would come (or staff rang them): nothing more to tell them.
    assert len(queued(session)) == before


def test_complete_and_no_show_close_past_sessions_only(client, session, desk):
    # Booked on Friday for Saturday morning, so they have happened by Monday.
    done = book(session, desk, desk.aarav, local(21, 10), now=NOW - timedelta(days=3))
    missed = book(session, desk, desk.meera, local(21, 11), now=NOW - timedelta(days=3))
    later = book(session, desk, desk.meera, local(24, 10))

    act(client, "complete", done)
    act(client, "no_show", missed)
    refused = act(client, "complete", later)

    fresh(session)
    assert session.get(Appointment, done.id).status is AppointmentStatus.COMPLETED
    assert session.get(Appointment, missed.id).status is AppointmentStatus.NO_SHOW
    assert session.get(Appointment, later.id).status is AppointmentStatus.BOOKED
    assert "has not started yet" in alerts(refused)
    assert audit_actions(session, done)[-1] == "appointment.completed"
    assert audit_actions(session, missed)[-1] == "appointment.no_show"
    # A completed pay-after session is invoiced; no notice goes to the patient.
    assert billing.session_invoice(session, done.id) is not None
    assert queued(session, MessageKind.NOTICE) == []


def test_resend_reminder_queues_one_reminder_now(client, session, desk):
    appointment = book(session, desk, desk.aarav, local(24, 10))
    scheduled = len(queued(session, MessageKind.REMINDER))

    page = act(client, "remind", appointment)

    assert "Reminder queued." in alerts(page)
    reminders = queued(session, MessageKind.REMINDER)
    assert len(reminders) == scheduled + 1
    extra = reminders[-1]
    assert (extra.due_at, extra.status, extra.appointment_id) == (
        NOW,
        OutboundStatus.QUEUED,
        appointment.id,
    )
    assert extra.contact_id == desk.aarav.contact_id
    fresh(session)
    assert "message.reminder" in session.scalars(select(AuditLog.action)).all()


def test_send_payment_link_opens_a_razorpay_link_that_the_sweep_sends(
    client, session, desk, connect_razorpay, gateway_for, razorpay, monkeypatch
):
    connect_razorpay(desk.clinic)
    appointment = book(session, desk, desk.aarav, local(24, 10))

    page = act(client, "payment_link", appointment)

    assert "1 payment link(s) queued" in alerts(page)
    fresh(session)
    [link] = session.scalars(
        select(PaymentLink).where(PaymentLink.appointment_id == appointment.id)
    ).all()
    invoice = billing.session_invoice(session, appointment.id)
    assert (link.status, link.amount_minor, link.invoice_id) == (
        LinkStatus.PENDING,
        80000,
        invoice.id,
    )
    assert "payment_link.create" in session.scalars(select(AuditLog.action)).all()
    # The sweep makes it at Razorpay and sends it in the chat.
    assert razorpay_sync.create_pending_links(session, gateway_for, now=NOW, callback_url=None)
    [message] = queued(session, template="payment_link_booking")
    assert message.appointment_id == appointment.id
    assert message.variables["url"].startswith("http")

    # Asked again a little later: the same open link is sent again, no second link.
    monkeypatch.setattr(appointments_view, "utcnow", lambda: NOW + timedelta(minutes=5))
    act(client, "payment_link", appointment)
    fresh(session)
    assert len(session.scalars(select(PaymentLink)).all()) == 1
    assert len(queued(session, template="payment_link_booking")) == 2


def test_send_payment_link_without_razorpay_sends_upi_details(client, session, desk):
    desk.clinic.upi_vpa = "clinic@okaxis"
    session.commit()
    appointment = book(session, desk, desk.aarav, local(24, 10))

    page = act(client, "payment_link", appointment)

    assert "1 UPI request(s) sent" in alerts(page)
    fresh(session)
    [payment] = session.scalars(select(Payment)).all()
    assert (payment.method, payment.status, payment.amount_minor) == (
        PaymentMethod.UPI,
        PaymentState.AWAITING_CONFIRMATION,
        80000,
    )
    [message] = queued(session, template="payment_upi")
    assert message.appointment_id == appointment.id


def test_send_payment_link_refuses_free_sessions_and_clinics_without_online_payments(
    client, session, desk
):
    free = book(session, desk, desk.aarav, local(24, 10), service=desk.free)
    priced = book(session, desk, desk.meera, local(24, 11))

    assert "free or already paid" in alerts(act(client, "payment_link", free))
    assert "takes no online payments" in alerts(act(client, "payment_link", priced))
    fresh(session)
    assert session.scalars(select(PaymentLink)).all() == []
    assert session.scalars(select(Invoice)).all() == []


# --- cancel with a reason -----------------------------------------------------------------


def cancel_page(client, appointment):
    return client.get(f"/admin/appointment/cancel/?id={appointment.id}")


def cancel(client, appointment, **fields):
    url = f"/admin/appointment/cancel/?id={appointment.id}"
    token = csrf_token(client, url)
    return client.post(url, data={"csrf_token": token, **fields}, follow_redirects=True)


def test_each_active_row_links_to_its_cancel_page(client, session, desk):
    appointment = book(session, desk, desk.aarav, local(24, 10))
    page = listed(client)
    assert f'href="/admin/appointment/cancel/?id={appointment.id}"' in page
    assert 'title="Cancel with reason"' in page


def test_cancel_without_a_reason_is_refused(client, session, desk):
    appointment = book(session, desk, desk.aarav, local(24, 10))

    page = cancel(client, appointment, reason="   ")

    assert "Please give a reason" in alerts(page)
    fresh(session)
    assert session.get(Appointment, appointment.id).status is AppointmentStatus.BOOKED


def test_cancel_with_a_reason_tells_the_patient_and_withdraws_reminders(client, session, desk):
    appointment = book(session, desk, desk.aarav, local(25, 10))
    assert queued(session, MessageKind.REMINDER)

    page = cancel(client, appointment, reason="Therapist unwell")

    assert f"Cancelled {appointment.number}" in alerts(page)
    fresh(session)
    cancelled = session.get(Appointment, appointment.id)
    assert cancelled.status is AppointmentStatus.CANCELLED
    assert cancelled.cancellation_reason == "Therapist unwell"
    assert cancelled.cancelled_by.startswith("staff:")
    assert audit_actions(session, appointment)[-1] == "appointment.cancel"
    [notice] = queued(session, MessageKind.NOTICE)
    assert (notice.template_key, notice.appointment_id) == ("notice_cancelled", appointment.id)
    assert {m.status for m in queued(session, MessageKind.REMINDER)} == {OutboundStatus.CANCELLED}
    details = client.get(f"/admin/appointment/details/?id={appointment.id}")
    assert details.status_code == 200 and "Therapist unwell" in details.text


@pytest.fixture
def paid_session(session, desk):
    """Books a prepaid session at ``start`` and pays it in cash at the desk."""
    desk.speech.prepay_required = True
    session.commit()

    def make(start, patient=None):
        patient = patient or desk.aarav
        appointment = book(session, desk, patient, start)
        payments.record_payment(
            session,
            clinic_id=desk.clinic.id,
            contact_id=patient.contact_id,
            amount_minor=80000,
            method=PaymentMethod.CASH,
            now=NOW,
            actor=SYSTEM,
        )
        return appointment

    return make


def invoice_status(session, appointment) -> InvoiceStatus:
    fresh(session)
    return session.scalar(
        select(Invoice.status)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(InvoiceLine.appointment_id == appointment.id)
    )


def test_cancelling_inside_the_window_proposes_no_refund_and_keeps_the_invoice(
    client, session, desk, paid_session
):
    today = paid_session(local(23, 15))  # six hours from now, inside the 24-hour window

    page = cancel_page(client, today).text
    assert "proposed refund <strong>₹0.00</strong>" in page
    assert "₹800.00 paid" in page
    assert 'name="waive_charge"' in page

    cancel(client, today, reason="Called in sick this morning")

    fresh(session)
    assert session.get(Appointment, today.id).status is AppointmentStatus.CANCELLED
    assert invoice_status(session, today) is InvoiceStatus.ISSUED
    assert billing.contact_dues(session, desk.clinic.id, desk.aarav.contact_id).on_account == 0


def test_waiving_the_late_charge_voids_the_invoice_and_frees_the_money(
    client, session, desk, paid_session
):
    today = paid_session(local(23, 15))

    page = cancel(client, today, reason="Doctor's note", waive_charge="y")

    assert "₹800.00 is on account" in alerts(page)
    assert invoice_status(session, today) is InvoiceStatus.VOID
    assert billing.contact_dues(session, desk.clinic.id, desk.aarav.contact_id).on_account == 80000


def test_cancelling_outside_the_window_proposes_a_full_refund(client, session, desk, paid_session):
    later = paid_session(local(26, 10))

    page = cancel_page(client, later).text
    assert "proposed refund is <strong>₹800.00</strong>" in page
    assert 'name="waive_charge"' not in page

    cancel(client, later, reason="Moving to another city")

    assert invoice_status(session, later) is InvoiceStatus.VOID
    assert billing.contact_dues(session, desk.clinic.id, desk.aarav.contact_id).on_account == 80000


def test_the_bulk_cancel_action_leads_to_the_reason_page(client, session, desk):
    one = book(session, desk, desk.aarav, local(24, 10))
    two = book(session, desk, desk.meera, local(24, 11))
    token = csrf_token(client, "/admin/appointment/")

    single = client.post(
        "/admin/appointment/action/",
        data={"csrf_token": token, "action": "cancel", "rowid": [str(one.id)]},
    )
    assert single.headers["Location"].endswith(f"/admin/appointment/cancel/?id={one.id}")
    several = act(client, "cancel", one, two)
    assert "one appointment at a time" in alerts(several)
    fresh(session)
    assert {session.get(Appointment, a.id).status for a in (one, two)} == {AppointmentStatus.BOOKED}


# --- another clinic, and the cost of a page -----------------------------------------------


def test_another_clinics_appointment_is_not_found(
    client, session, desk, make_clinic, make_therapist, make_service, make_patient
):
    other = make_clinic(name="Clinic B", slug="clinic-b")
    make_therapist(other, name="Dr. B")
    theirs = book_appointment(
        session,
        clinic_id=other.id,
        patient_id=make_patient(other, name="Patient B").id,
        service_id=make_service(other, name="Service B").id,
        start=local(24, 10),
        now=NOW,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )

    assert cancel_page(client, theirs).status_code == 404
    url = f"/admin/appointment/cancel/?id={theirs.id}"
    token = csrf_token(client, "/admin/appointment/")
    assert client.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 404
    for action in ("confirm", "payment_link", "remind", "no_show"):
        act(client, action, theirs)
    assert numbers(listed(client, search="Patient B")) == set()
    fresh(session)
    assert session.get(Appointment, theirs.id).status is AppointmentStatus.BOOKED
    assert queued(session, MessageKind.NOTICE) == []
    assert len(queued(session, MessageKind.REMINDER)) == 2  # only its own scheduled ones


def counting(app):
    return counting_statements(get_db(app).engine)


def slots(count: int):
    """``count`` back-to-back 45-minute sessions from Tuesday, 12 a day."""
    for n in range(count):
        day, slot = divmod(n, 12)
        start = local(24 + day, 9) + timedelta(minutes=45 * slot)
        yield start


def test_the_list_costs_the_same_statements_for_5_or_40_rows(app, client, session, desk):
    def statements_for_page() -> int:
        client.get("/admin/appointment/")  # warm: the user and clinic are loaded the same
        with counting(app) as seen:
            page = client.get("/admin/appointment/")
            searched = client.get("/admin/appointment/", query_string={"search": "Asha"})
        assert page.status_code == searched.status_code == 200
        return len(seen)

    patients = [desk.aarav, desk.meera]
    starts = list(slots(40))
    for n, start in enumerate(starts[:5]):
        book(session, desk, patients[n % 2], start)
    few = statements_for_page()
    for n, start in enumerate(starts[5:]):
        book(session, desk, patients[n % 2], start)
    many = statements_for_page()

    assert len(numbers(client.get("/admin/appointment/").text)) == 40
    assert few == many


def test_the_list_exports_as_csv_with_an_audit_row(client, session, desk):
    appointment = book(session, desk, desk.aarav, local(24, 10))

    response = client.get("/admin/appointment/export/csv/")

    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0].startswith("Number,When,")
    [row] = lines[1:]
    assert appointment.number in row and "Aarav Sharma" in row and "+919876500001" in row
    assert ",unpaid,800.00,INR," in row and "₹" not in row
    fresh(session)
    assert "export.csv" in session.scalars(select(AuditLog.action)).all()


def test_the_list_exports_raw_values_under_plain_headers_as_csv_and_xlsx(client, session, desk):
    appointment = book(session, desk, desk.aarav, local(24, 10))

    csv_rows = list(csv.reader(io.StringIO(client.get("/admin/appointment/export/csv/").text)))
    response = client.get("/admin/appointment/export/xlsx/")

    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    xlsx_rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    headers = csv_rows[0]
    assert headers == xlsx_rows[0]
    assert {"Patient", "Service", "Therapist", "Currency"} <= set(headers)
    assert not any("." in header for header in headers)
    csv_row = dict(zip(headers, csv_rows[1], strict=True))
    xlsx_row = dict(zip(headers, xlsx_rows[1], strict=True))
    assert csv_row["Number"] == xlsx_row["Number"] == appointment.number
    assert csv_row["When"] == xlsx_row["When"] == "2026-11-24 10:00"  # clinic time
    assert csv_row["Currency"] == xlsx_row["Currency"] == "INR"
    amount = headers[headers.index("Currency") - 1]
    assert csv_row[amount] == "800.00"
    assert xlsx_row[amount] == 800  # a number in the workbook, not text
    fresh(session)
    assert "export.xlsx" in session.scalars(select(AuditLog.action)).all()


def test_a_therapist_sees_and_completes_only_their_own_sessions(app, session, desk):
    user = create_staff_user(
        session,
        email="priya@a.example",
        password=PASSWORD,
        role=Role.THERAPIST,
        clinic_id=desk.clinic.id,
        actor=SYSTEM,
    )
    desk.priya.staff_user_id = user.id
    session.commit()
    friday = NOW - timedelta(days=3)
    mine = book(session, desk, desk.aarav, local(21, 10), now=friday)
    theirs = book(session, desk, desk.meera, local(21, 10), therapist=desk.ravi, now=friday)
    client = app.test_client()
    log_in(client, "priya@a.example")

    assert numbers(listed(client)) == {mine.number}
    assert 'title="Cancel with reason"' not in listed(client)
    assert cancel_page(client, mine).status_code == 403
    assert act(client, "no_show", mine).status_code == 403  # not a therapist's to mark
    act(client, "complete", mine, theirs)

    fresh(session)
    assert session.get(Appointment, mine.id).status is AppointmentStatus.COMPLETED
    assert session.get(Appointment, theirs.id).status is AppointmentStatus.BOOKED
