"""People first: names and clinic times where staff read, the audit log's time column,
the text the message log sent, the contact page's Message and Book, friendly error pages."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from core.db import get_db
from core.formatting import format_when, format_when_with_year
from models import (
    AuditLog,
    BookingSource,
    Channel,
    Contact,
    MessageKind,
    OutboundMessage,
    PaymentMethod,
    Role,
)
from services import audit
from services.audit import Actor
from services.billing import payments
from services.messaging.outbox import queue_message
from services.scheduling.appointments import book_appointment
from tests.admin.test_admin import PASSWORD, log_in
from tests.conftest import NOW, counting_statements, staff_logins

pytestmark = pytest.mark.usefixtures("frozen_clock")
ZONE = "Asia/Kolkata"


@pytest.fixture
def clinic(session, make_clinic, make_therapist):
    clinic = make_clinic(name="Clinic A", slug="clinic-a", timezone=ZONE)
    make_therapist(clinic, name="Dr Meera")
    return clinic


@pytest.fixture
def staff(session, clinic):
    return staff_logins(session, clinic.id, password=PASSWORD, domain="a.example", label="A")


@pytest.fixture
def patient(session, clinic, make_patient):
    return make_patient(clinic, name="Aarav")  # guardian: Asha Verma


@pytest.fixture
def service(clinic, make_service):
    return make_service(clinic, name="Speech therapy")


def book(session, clinic, patient, service, *, actor, hours: int = 30):
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=NOW + timedelta(hours=hours),
        now=NOW,
        actor=actor,
        source=BookingSource.ADMIN if actor.is_staff else BookingSource.CHAT,
    )


def signed_in(app, staff, role: Role):
    client = app.test_client()
    assert log_in(client, staff[role].email).status_code == 302
    return client


def text(page) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


# --- names, not ids; clinic times, not UTC ---------------------------------------------------


def test_a_session_s_page_names_who_booked_and_cancelled_and_shows_clinic_times(
    app, session, clinic, staff, patient, service
):
    by_chat = book(session, clinic, patient, service, actor=Actor.contact(patient.contact_id))
    by_desk = book(
        session, clinic, patient, service, actor=Actor.staff(staff[Role.OPERATOR].id), hours=50
    )
    session.commit()
    client = signed_in(app, staff, Role.ADMIN)

    chat_page = text(client.get(f"/admin/appointment/details/?id={by_chat.id}"))
    assert "Asha Verma (contact)" in chat_page
    assert f"contact:{patient.contact_id}" not in chat_page
    assert format_when(by_chat.end_at, ZONE) in chat_page  # End At in Kolkata time
    assert by_chat.end_at.strftime("%Y-%m-%d %H:%M") not in chat_page  # not UTC

    desk_page = text(client.get(f"/admin/appointment/details/?id={by_desk.id}"))
    assert "Operator A" in desk_page
    assert f"staff:{staff[Role.OPERATOR].id}" not in desk_page


def test_every_datetime_on_a_details_page_is_clinic_time(app, session, clinic, staff, patient):
    """A view with no formatter of its own for a column (the message log's details)."""
    message = queue_message(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        channel=Channel.WHATSAPP,
        kind=MessageKind.PAYMENT,
        template_key="payment_received",
        idempotency_key="t:1",
        due_at=NOW,
        variables={"amount": "₹500.00", "receipt_url": "https://example.com/r"},
    )
    session.execute(update(OutboundMessage).values(sent_at=NOW + timedelta(minutes=1)))
    session.commit()
    page = text(
        signed_in(app, staff, Role.ADMIN).get(f"/admin/outboundmessage/details/?id={message.id}")
    )
    assert format_when(NOW, ZONE) in page
    assert format_when(NOW + timedelta(minutes=1), ZONE) in page
    assert "+00:00" not in page


# --- the audit log -------------------------------------------------------------------------


def test_the_audit_log_has_its_time_column_in_clinic_time_and_names_people(
    app, session, clinic, staff, patient, service
):
    book(session, clinic, patient, service, actor=Actor.contact(patient.contact_id))
    book(session, clinic, patient, service, actor=Actor.staff(staff[Role.OPERATOR].id), hours=50)
    session.commit()
    page = signed_in(app, staff, Role.ADMIN).get("/admin/auditlog/")
    assert page.status_code == 200
    headers = re.findall(r"<th[^>]*>(.*?)</th>", page.text, re.S)
    assert any("When" in h for h in headers), "the audit log lost its time column"
    body = text(page)
    assert format_when_with_year(NOW, ZONE) in body
    assert "Operator A" in body and "Asha Verma (contact)" in body
    assert f"contact: {patient.contact_id}" not in body


def test_the_audit_log_costs_the_same_statements_for_few_or_many_people(
    app, session, clinic, staff, make_patient
):
    client = signed_in(app, staff, Role.ADMIN)

    def statements() -> int:
        with counting_statements(get_db(app).engine) as seen:
            assert client.get("/admin/auditlog/").status_code == 200
        return len(seen)

    def people(count: int, first: int) -> None:
        """``count`` guardians, each with a change of their own in the log."""
        for n in range(first, first + count):
            kid = make_patient(clinic, name=f"Kid {n}")
            contact = session.get(Contact, kid.contact_id)
            audit.record(
                session,
                clinic_id=clinic.id,
                actor=Actor.contact(contact.id),
                action="contact.update",
                entity=contact,
            )
            session.commit()

    people(2, 0)
    few = statements()
    people(12, 2)
    assert statements() == few


# --- the message log shows what was sent -------------------------------------------------------


@pytest.fixture
def messages(session, clinic, staff, patient, service):
    """The booking notice (words from the catalogue) and a free-form reply (words noted)."""
    book(session, clinic, patient, service, actor=Actor.staff(staff[Role.OPERATOR].id))
    reply = queue_message(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        channel=Channel.WHATSAPP,
        kind=MessageKind.NOTICE,
        template_key="notice_booked",
        idempotency_key="t:reply",
        due_at=NOW,
    )
    session.flush()
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == reply.id)
        .values(body="See you on Tuesday, Aarav!", sent_at=NOW)
    )
    session.commit()
    return session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.ACCOUNTANT])
def test_the_message_log_shows_the_text_to_those_who_read_the_log(app, staff, messages, role):
    client = signed_in(app, staff, role)
    listing = text(client.get("/admin/outboundmessage/"))
    assert "See you on Tuesday, Aarav!" in listing
    assert "Asha Verma" in listing and "+9198765" not in listing  # a name, not a raw number
    notice = next(m for m in messages if m.template_key == "notice_booked" and not m.body)
    assert "booked Speech therapy for Aarav with Dr Meera" in listing
    details = text(client.get(f"/admin/outboundmessage/details/?id={notice.id}"))
    assert "booked Speech therapy for Aarav with Dr Meera" in details


def test_a_therapist_does_not_read_the_message_log(app, staff, messages):
    client = signed_in(app, staff, Role.THERAPIST)
    assert client.get("/admin/outboundmessage/").status_code == 403
    page = client.get(f"/admin/outboundmessage/details/?id={messages[0].id}")
    assert page.status_code == 403
    assert "See you on Tuesday" not in page.text


# --- the contact page: Message and Book ----------------------------------------------------


def test_the_contact_page_offers_message_and_book_that_lead_there(
    app, session, clinic, staff, patient, service
):
    client = signed_in(app, staff, Role.OPERATOR)
    page = client.get(f"/admin/contact/details/?id={patient.contact_id}")
    message = re.search(r'id="message-contact" href="([^"]+)"', page.text)
    booking = re.search(rf'id="book-patient-{patient.id}" href="([^"]+)"', page.text)
    assert message and booking

    # No chat yet: Message comes back to the contact's page and says why.
    followed = client.get(html.unescape(message.group(1)), follow_redirects=True)
    assert followed.request.path == "/admin/contact/details/"
    assert "No chat with this contact yet" in followed.text

    form = client.get(html.unescape(booking.group(1)))
    assert form.status_code == 200
    assert re.search(rf'<option[^>]*selected[^>]*value="{patient.id}"', form.text) or re.search(
        rf'<option[^>]*value="{patient.id}"[^>]*selected', form.text
    )


def test_message_and_book_show_only_to_roles_their_pages_let_in(
    app, session, clinic, staff, patient
):
    page = signed_in(app, staff, Role.ACCOUNTANT).get(
        f"/admin/contact/details/?id={patient.contact_id}"
    )
    assert page.status_code == 200
    assert 'id="message-contact"' in page.text  # the accountant reads conversations
    assert "book-patient" not in page.text  # but books nothing


# --- friendly error pages ------------------------------------------------------------------


def test_a_missing_page_is_friendly_inside_the_panel_with_a_way_back(app, staff):
    client = signed_in(app, staff, Role.ADMIN)
    for url in ("/admin/contact/details/?id=999999", "/admin/no-such-page/"):
        page = client.get(url)
        assert page.status_code == 404
        assert 'id="error-page"' in page.text and "Not found" in page.text
        assert 'id="error-home" href="/admin/"' in page.text
        assert "navbar" in page.text  # the panel's layout, its menu


def test_a_refused_page_is_friendly_inside_the_panel(app, staff):
    page = signed_in(app, staff, Role.THERAPIST).get("/admin/auditlog/")
    assert page.status_code == 403
    assert 'id="error-page"' in page.text and "Not for your role" in page.text
    assert 'id="error-home" href="/admin/"' in page.text


def test_a_failure_is_friendly_inside_the_panel(app, staff):
    def boom():
        raise RuntimeError("kaput")

    app.add_url_rule("/admin/test-boom", "test_boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = signed_in(app, staff, Role.ADMIN).get("/admin/test-boom")
    assert page.status_code == 500
    assert 'id="error-page"' in page.text and "Something went wrong" in page.text
    assert "kaput" not in page.text


def test_a_form_without_its_token_and_a_wrong_method_are_friendly_too(app, session, staff):
    client = signed_in(app, staff, Role.ADMIN)
    audit_rows = session.scalar(select(func.count()).select_from(AuditLog))
    for method, url, code in (
        ("post", "/admin/payment/credit/", 400),  # no CSRF token: nothing done
        ("get", "/admin/payment/credit/", 405),  # a POST-only step opened as a page
    ):
        page = getattr(client, method)(url)
        assert page.status_code == code
        assert f'data-code="{code}"' in page.text
        assert 'id="error-home" href="/admin/"' in page.text
    assert session.scalar(select(func.count()).select_from(AuditLog)) == audit_rows


def test_webhooks_and_json_callers_keep_plain_answers(app, staff):
    client = signed_in(app, staff, Role.ADMIN)
    for url, headers in (
        ("/webhooks/no-such-hook", {}),
        ("/admin/no-such-page/", {"Accept": "application/json"}),
    ):
        page = client.get(url, headers=headers)
        assert page.status_code == 404
        assert 'id="error-page"' not in page.text


def test_a_payments_csv_names_who_recorded_each_in_clinic_time(
    app, session, clinic, staff, patient
):
    payments.record_payment(
        session,
        clinic_id=clinic.id,
        contact_id=patient.contact_id,
        amount_minor=50000,
        method=PaymentMethod.CASH,
        now=NOW - timedelta(hours=2),
        actor=Actor.staff(staff[Role.OPERATOR].id),
    )
    session.commit()
    client = signed_in(app, staff, Role.ADMIN)
    listing = text(client.get("/admin/payment/"))
    assert "Operator A" in listing and f"staff:{staff[Role.OPERATOR].id}" not in listing
    csv = client.get("/admin/payment/export/csv/").get_data(as_text=True)
    assert "Operator A" in csv and "staff:" not in csv
    header = "Receipt,Received at,Contact,Method,Status,Amount,Currency,Reference,Recorded by"
    assert csv.splitlines()[0] == header
    assert ",500.00,INR," in csv and "₹" not in csv  # a number and its currency, apart
    local = (NOW - timedelta(hours=2)).astimezone(ZoneInfo(ZONE))  # Kolkata, not UTC
    assert local.strftime("%Y-%m-%d %H:%M") in csv
