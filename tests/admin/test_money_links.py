"""Every money page is reachable from where it is needed, and only by those it lets in.

Refund and receipt from the payment, receipt from the session, sell a package from the
contact, void from the invoice, "Record payment" on Payments, "Send reminder" on Dues.
Each link is looked for on the page, per role; then followed (its href, never a typed
URL) to the page it opens. The world is tests/admin/test_roles.py's: clinic A's own
patient has a session, its invoice and a cash payment that part-pays it.
"""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from models import (
    Appointment,
    AuditLog,
    Invoice,
    InvoiceStatus,
    MessageKind,
    OutboundMessage,
    Package,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from services.audit import Actor
from services.billing import credits, payments, refunds

# ruff: noqa: F811
from tests.admin.test_roles import login, world  # noqa: F401  (fixture)
from tests.conftest import NOW, SYSTEM

CLINIC_ROLES = ("admin", "operator", "therapist", "accountant")
MONEY_DESK = {"admin", "operator", "accountant"}  # record payments, remind of dues
BACK_OFFICE = {"admin", "accountant"}  # refund, void, sell packages


def hrefs(page: str, pattern: str) -> list[str]:
    """The page's link targets (unescaped) that match ``pattern``."""
    return [
        html.unescape(href)
        for href in re.findall(r'href="([^"]+)"', page)
        if re.search(pattern, html.unescape(href))
    ]


def form_actions(page: str, pattern: str) -> list[str]:
    return [
        html.unescape(action)
        for action in re.findall(r'<form[^>]*action="([^"]+)"', page)
        if re.search(pattern, html.unescape(action))
    ]


def own(world, name: str):
    return world.rows["own"][name]


@pytest.mark.parametrize("role", CLINIC_ROLES)
def test_each_money_link_shows_only_to_roles_its_page_lets_in(app, world, role):
    client, _ = login(app, world, role)
    payment, invoice, appointment = (
        own(world, "payment"),
        own(world, "invoice"),
        own(world, "appointment"),
    )

    payments_page = client.get("/admin/payment/").text
    assert bool(hrefs(payments_page, r"/admin/payment/record/$")) == (role in MONEY_DESK)
    assert bool(hrefs(payments_page, rf"/admin/payment/refund/{payment.id}$")) == (
        role in BACK_OFFICE
    )
    assert hrefs(payments_page, rf"/admin/payment/receipt/{payment.id}\.pdf$")

    details = client.get(f"/admin/payment/details/?id={payment.id}").text
    assert hrefs(details, rf"/admin/payment/receipt/{payment.id}\.pdf$")
    assert bool(hrefs(details, rf"/admin/payment/refund/{payment.id}$")) == (role in BACK_OFFICE)

    invoices_page = client.get("/admin/invoice/").text
    assert bool(hrefs(invoices_page, rf"/admin/invoice/void/{invoice.id}$")) == (
        role in BACK_OFFICE
    )

    session_page = client.get(f"/admin/appointment/details/?id={appointment.id}").text
    assert hrefs(session_page, rf"/admin/payment/receipt/{payment.id}\.pdf$")

    contact_page = client.get(f"/admin/contact/details/?id={payment.contact_id}").text
    assert bool(hrefs(contact_page, r"/admin/package/sell/\?patient_id=\d+$")) == (
        role in BACK_OFFICE
    )
    assert bool(hrefs(contact_page, r"/admin/payment/record/\?contact_id=")) == (role in MONEY_DESK)

    dues_page = client.get("/admin/dues/").text
    assert bool(form_actions(dues_page, rf"/admin/dues/remind/{payment.contact_id}$")) == (
        role in MONEY_DESK
    )
    assert bool(hrefs(dues_page, rf"/admin/payment/record/\?contact_id={payment.contact_id}")) == (
        role in MONEY_DESK
    )


def test_an_operator_follows_record_payment_from_payments_and_records_upi(app, world, session):
    client, token = login(app, world, "operator")
    [record] = hrefs(client.get("/admin/payment/").text, r"/admin/payment/record/$")
    form = client.get(record)
    assert form.status_code == 200 and 'value="upi"' in form.text
    # Nobody is chosen for the desk, and a Save without choosing records nothing.
    assert '<option selected value="">' in form.text
    unchosen = client.post(
        record, data={"csrf_token": token, "contact": "", "amount": "450", "method": "upi"}
    )
    assert unchosen.status_code == 200 and "Choose who paid." in unchosen.text
    session.rollback()
    assert not session.scalars(select(Payment).where(Payment.method == PaymentMethod.UPI)).all()

    response = client.post(
        record,
        data={
            "csrf_token": token,
            "contact": str(own(world, "payment").contact_id),
            "amount": "450",
            "method": "upi",
            "reference": "UPI-4471",
        },
    )

    assert response.status_code == 302
    session.rollback()
    [upi] = session.scalars(select(Payment).where(Payment.method == PaymentMethod.UPI)).all()
    assert (upi.amount_minor, upi.reference) == (45000, "UPI-4471")
    assert upi.recorded_by.startswith("staff:")


def test_an_accountant_follows_refund_and_receipt_from_the_payment(app, world, session):
    client, _ = login(app, world, "accountant")
    payment = own(world, "payment")
    page = client.get(f"/admin/payment/details/?id={payment.id}").text
    [receipt] = hrefs(page, r"/receipt/\d+\.pdf$")
    [refund] = hrefs(page, r"/refund/\d+$")

    pdf = client.get(receipt)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    form = client.get(refund)
    assert form.status_code == 200 and "Refund" in form.text


def test_the_session_s_receipt_opens_from_the_session(app, world):
    client, _ = login(app, world, "operator")
    page = client.get(f"/admin/appointment/details/?id={own(world, 'appointment').id}").text
    [receipt] = hrefs(page, r"/admin/payment/receipt/\d+\.pdf$")

    pdf = client.get(receipt)

    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_an_accountant_voids_an_invoice_from_its_row(app, world, session):
    client, token = login(app, world, "accountant")
    invoice = own(world, "invoice")
    [void] = hrefs(client.get("/admin/invoice/").text, rf"/admin/invoice/void/{invoice.id}$")
    assert client.get(void).status_code == 200

    response = client.post(void, data={"csrf_token": token, "reason": "Booked twice"})

    assert response.status_code == 302
    session.rollback()
    status = session.scalar(select(Invoice.status).where(Invoice.id == invoice.id))
    assert status is InvoiceStatus.VOID


def test_an_admin_sells_a_package_from_the_contact(app, world, session):
    client, token = login(app, world, "admin")
    payment = own(world, "payment")
    [sell] = hrefs(
        client.get(f"/admin/contact/details/?id={payment.contact_id}").text,
        r"/admin/package/sell/\?patient_id=",
    )
    form = client.get(sell)
    assert form.status_code == 200
    patient_id = int(sell.rsplit("=", 1)[1])
    assert re.search(rf'<option selected value="{patient_id}"', form.text)
    package_id = re.search(
        r'<select[^>]*name="package"[^>]*>\s*<option[^>]*value="(\d+)"', form.text
    )
    before = session.scalar(select(func.count()).select_from(Invoice))

    response = client.post(
        sell, data={"csrf_token": token, "patient": patient_id, "package": package_id[1]}
    )

    assert response.status_code == 302
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Invoice)) == before + 1


def test_send_reminder_from_dues_queues_one_message_and_an_audit_row(app, world, session):
    client, token = login(app, world, "operator")
    contact_id = own(world, "payment").contact_id
    [remind] = form_actions(client.get("/admin/dues/").text, rf"/remind/{contact_id}$")

    first = client.post(remind, data={"csrf_token": token})
    again = client.post(remind, data={"csrf_token": token}, follow_redirects=True)

    assert first.status_code == 302
    assert "already reminded" in again.text
    session.rollback()
    queued = session.scalars(
        select(OutboundMessage).where(OutboundMessage.kind == MessageKind.DUES)
    ).all()
    assert [m.contact_id for m in queued] == [contact_id]
    audited = session.scalars(
        select(AuditLog).where(AuditLog.action == "message.dues_reminder")
    ).all()
    assert [a.entity_id for a in audited] == [str(queued[0].id)]


def test_dues_download_as_csv_and_xlsx_with_the_page_s_amounts(app, world, session):
    client, _token = login(app, world, "accountant")
    page = client.get("/admin/dues/").text
    [csv_link] = hrefs(page, r"/admin/dues/export/csv/$")
    rows = list(csv.reader(io.StringIO(client.get(csv_link).text)))
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/admin/dues/export/xlsx/").data)).active
    xlsx = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == xlsx[0]
    assert rows[0][-2:] == ["Owed", "Currency"] and len(rows) == len(xlsx) > 1
    for csv_row, xlsx_row in zip(rows[1:], xlsx[1:], strict=True):
        assert csv_row[-1] == xlsx_row[-1] == "INR"
        assert Decimal(csv_row[-2]) == xlsx_row[-2] > 0  # a number in the workbook
        owed = f"₹{Decimal(csv_row[-2]):,.2f}"
        assert owed in page  # the page's own amount (below ₹1 lakh, grouping agrees)
    operator, _ = login(app, world, "operator")
    assert "/admin/dues/export/" not in operator.get("/admin/dues/").text
    assert operator.get("/admin/dues/export/csv/").status_code == 403


def test_refunds_list_and_export_amounts_as_values(app, world, session):
    contact_id = own(world, "payment").contact_id
    paid = payments.record_payment(
        session,
        clinic_id=world.a.id,
        contact_id=contact_id,
        amount_minor=150050,
        method=PaymentMethod.UPI,
        now=NOW,
        actor=SYSTEM,
    )
    refunds.refund_payment(
        session,
        clinic_id=world.a.id,
        payment_id=paid.id,
        amount_minor=50025,
        reason="overpaid",
        now=NOW,
        actor=Actor.staff(1),
    )
    session.commit()
    client, _ = login(app, world, "accountant")
    assert "₹500.25" in client.get("/admin/refund/").text
    rows = list(csv.reader(io.StringIO(client.get("/admin/refund/export/csv/").text)))
    headers = rows[0]
    assert headers[:5] == ["Requested", "Processed", "Receipt", "Contact", "Method"]
    assert headers[5:7] == ["Amount", "Currency"]
    [row] = [r for r in rows[1:] if r[2] == paid.receipt_number]
    assert row[4:7] == ["UPI", "500.25", "INR"]
    therapist, _ = login(app, world, "therapist")
    assert therapist.get("/admin/refund/").status_code == 403


def test_send_reminder_without_the_form_s_token_sends_nothing(app, world, session):
    client, _ = login(app, world, "operator")
    contact_id = own(world, "payment").contact_id

    client.post(f"/admin/dues/remind/{contact_id}", data={})

    session.rollback()
    dues_messages = select(func.count()).where(OutboundMessage.kind == MessageKind.DUES)
    assert session.scalar(dues_messages) == 0
    assert (
        session.scalar(select(func.count()).where(AuditLog.action == "message.dues_reminder")) == 0
    )


def sell_own_patient_a_package(session, world) -> None:
    appointment = own(world, "appointment")
    package = session.scalar(
        select(Package).where(Package.clinic_id == world.a.id, Package.name == "Ten sessions")
    )
    credits.sell_package(
        session,
        clinic_id=world.a.id,
        patient_id=appointment.patient_id,
        package_id=package.id,
        now=NOW,
        actor=SYSTEM,
    )
    session.commit()


@pytest.mark.parametrize("role", CLINIC_ROLES)
def test_pay_from_package_credit_shows_to_those_who_record_payments(app, world, session, role):
    sell_own_patient_a_package(session, world)
    client, _ = login(app, world, role)

    page = client.get(f"/admin/appointment/details/?id={own(world, 'appointment').id}").text

    assert bool(form_actions(page, r"/admin/payment/credit/$")) == (role in MONEY_DESK)


def test_an_operator_pays_a_session_from_package_credit_on_its_page(app, world, session):
    sell_own_patient_a_package(session, world)
    appointment = own(world, "appointment")
    left = credits.credit_balance(session, appointment.patient_id, appointment.service_id)
    client, token = login(app, world, "operator")
    page = client.get(f"/admin/appointment/details/?id={appointment.id}").text
    [pay] = form_actions(page, r"/admin/payment/credit/$")

    response = client.post(pay, data={"csrf_token": token, "appointment_id": appointment.id})

    assert response.status_code == 302
    session.rollback()
    status = session.scalar(
        select(Appointment.payment_status).where(Appointment.id == appointment.id)
    )
    assert status is PaymentStatus.PAID
    assert credits.credit_balance(session, appointment.patient_id, appointment.service_id) == (
        left - 1
    )
    assert (
        session.scalar(
            select(func.count()).where(
                AuditLog.action == "appointment.draw_credit", AuditLog.actor_type == "staff"
            )
        )
        == 1
    )
    again = client.get(f"/admin/appointment/details/?id={appointment.id}").text
    assert not form_actions(again, r"/admin/payment/credit/$")


def test_another_clinic_s_session_cannot_be_paid_from_credit(app, world, session):
    client, token = login(app, world, "operator")
    theirs = session.scalar(select(Appointment.id).where(Appointment.clinic_id == world.b.id))

    client.post("/admin/payment/credit/", data={"csrf_token": token, "appointment_id": theirs})

    session.rollback()
    assert (
        session.scalar(select(func.count()).where(AuditLog.action == "appointment.draw_credit"))
        == 0
    )
