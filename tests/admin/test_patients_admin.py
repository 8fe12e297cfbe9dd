"""Patients and contacts in the staff panel: the contact page (children, consent,
opt-outs, dues, credits, timeline) and adding a patient with a guardian's phone."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from admin.views import appointments as appointments_view
from admin.views import people as people_view
from core.db import get_db
from models import (
    AuditLog,
    BookingSource,
    Channel,
    Contact,
    Patient,
    PaymentMethod,
    Relation,
    Role,
)
from roshni.app import create_app
from services.billing import credits, payments
from services.people import patients
from services.scheduling.appointments import book_appointment, complete_appointment
from services.staff.accounts import create_staff_user
from tests.admin.test_admin import PASSWORD, csrf_token, log_in
from tests.admin.test_appointments_admin import alerts, counting, fresh, local
from tests.chat import Chat
from tests.conftest import NOW, SYSTEM


@pytest.fixture
def app(payments_config, monkeypatch):
    monkeypatch.setattr(people_view, "utcnow", lambda: NOW)
    monkeypatch.setattr(appointments_view, "utcnow", lambda: NOW)
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


@pytest.fixture
def clinic(session, make_clinic, make_therapist):
    clinic = make_clinic(name="Clinic A", slug="clinic-a")
    make_therapist(clinic)
    create_staff_user(
        session,
        email="admin@a.example",
        password=PASSWORD,
        role=Role.ADMIN,
        clinic_id=clinic.id,
        actor=SYSTEM,
    )
    return clinic


@pytest.fixture
def service(clinic, make_service):
    return make_service(clinic)


@pytest.fixture
def client(app, clinic):
    client = app.test_client()
    assert log_in(client, "admin@a.example").status_code == 302
    return client


@pytest.fixture
def family(session, clinic, make_patient):
    """Asha Verma (+91 98765 00001) with two children, Aarav and Diya."""
    aarav = make_patient(clinic, name="Aarav", phone="+919876500001")
    diya = patients.add_patient(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        name="Diya",
        relation=Relation.CHILD,
        date_of_birth=date(2021, 6, 1),
        actor=SYSTEM,
        today=NOW.date(),
    )
    return aarav, diya


def contact_page(client, contact_id: int, **params):
    return client.get("/admin/contact/details/", query_string={"id": contact_id, **params})


def book(session, clinic, service, patient, start, *, now=NOW):
    return book_appointment(
        session,
        clinic_id=clinic.id,
        patient_id=patient.id,
        service_id=service.id,
        start=start,
        now=now,
        actor=SYSTEM,
        source=BookingSource.ADMIN,
    )


# --- the contact page ---------------------------------------------------------------------


def test_the_contact_page_shows_children_consent_opt_outs_dues_and_credits(
    client, session, clinic, service, family
):
    aarav, diya = family
    contact = session.get(Contact, aarav.contact_id)
    patients.set_opt_out(
        session, contact=contact, channel=Channel.SMS, opted_out=True, now=NOW, actor=SYSTEM
    )
    done = book(session, clinic, service, aarav, local(21, 10), now=NOW - timedelta(days=3))
    complete_appointment(
        session, clinic_id=clinic.id, appointment_id=done.id, now=NOW, actor=SYSTEM
    )
    credits.adjust_credit(
        session,
        clinic_id=clinic.id,
        patient_id=diya.id,
        sessions=3,
        note="Goodwill",
        now=NOW,
        actor=SYSTEM,
    )

    page = contact_page(client, contact.id)

    assert page.status_code == 200
    text = page.text
    assert "Asha Verma" in text and "+91 98765 00001" in text
    patients_table = section(text, "contact-patients")
    assert "Aarav" in patients_table and "Diya" in patients_table
    # Added by staff: no chat consent yet, and the page says so.
    assert "not yet" in section(text, "contact-consent")
    assert re.search(r"SMS</th>\s*<td>\s*<span class=\"badge badge-danger\">opted out", text)
    assert re.search(r"WhatsApp</th>\s*<td>\s*<span class=\"badge badge-light\">receiving", text)
    money = section(text, "contact-money")
    assert "₹800.00" in money  # the completed session's invoice
    rows = {
        name: row
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", patients_table, re.S)
        for name in ("Aarav", "Diya")
        if f"<td>{name}" in row
    }
    assert "₹800.00" in rows["Aarav"] and "₹0.00" in rows["Diya"]
    assert re.search(r">3</td>", rows["Diya"])


def test_a_contact_who_agreed_in_the_chat_shows_their_consent(client, session, clinic, family):
    aarav, _ = family
    patients.record_consent(
        session,
        clinic_id=clinic.id,
        contact_id=aarav.contact_id,
        version="v1",
        now=NOW,
        actor=SYSTEM,
    )
    consent = section(contact_page(client, aarav.contact_id).text, "contact-consent")
    assert "given" in consent and "(notice v1)" in consent


def test_the_timeline_merges_sessions_payments_and_messages_newest_first(
    client, session, clinic, service, family
):
    aarav, _ = family
    contact_id = aarav.contact_id
    phone = session.get(Contact, contact_id).phone
    chat = Chat(session, clinic, phone=phone, now=NOW - timedelta(hours=3))
    chat.say("hi")  # inbound, three hours ago
    payments.record_payment(  # a payment two hours ago, and its receipt message
        session,
        clinic_id=clinic.id,
        contact_id=contact_id,
        amount_minor=50000,
        method=PaymentMethod.CASH,
        now=NOW - timedelta(hours=2),
        actor=SYSTEM,
    )
    wednesday = book(session, clinic, service, aarav, local(25, 10))  # and its two reminders

    text = contact_page(client, contact_id).text

    kinds = re.findall(r'<tr class="timeline-(\w+)">', text)
    # Wed 10:00 session; reminders due Wed 08:00 and Tue 10:00; the receipt and the
    # payment two hours ago; the message that came in three hours ago.
    assert kinds == ["appointment", "outbound", "outbound", "outbound", "payment", "inbound"]
    timeline = section(text, "contact-timeline")
    assert timeline.index(wednesday.number) < timeline.index("₹500.00 by Cash")
    assert "“hi”" in timeline


def test_the_timeline_pages_and_costs_the_same_statements_for_few_or_many(
    app, client, session, clinic, family
):
    aarav, _ = family

    def pay(count: int, start: int) -> None:
        for n in range(start, start + count):
            payments.record_payment(
                session,
                clinic_id=clinic.id,
                contact_id=aarav.contact_id,
                amount_minor=1000 + n,
                method=PaymentMethod.CASH,
                now=NOW - timedelta(hours=n + 1),
                actor=SYSTEM,
            )

    def statements() -> int:
        contact_page(client, aarav.contact_id)
        with counting(app) as seen:
            assert contact_page(client, aarav.contact_id).status_code == 200
        return len(seen)

    pay(3, 0)  # 3 payments + 3 receipts
    few = statements()
    pay(27, 3)  # 60 entries: three pages of 25
    many = statements()

    assert few == many
    first = contact_page(client, aarav.contact_id).text
    third = contact_page(client, aarav.contact_id, page=3).text
    assert "Page 1 of 3" in first and "Page 3 of 3" in third
    assert len(re.findall(r'<tr class="timeline-', first)) == 25
    assert len(re.findall(r'<tr class="timeline-', third)) == 10
    assert "₹10.00 by Cash" in first  # the newest payment (1000 paise)
    assert "₹10.29 by Cash" in third  # the oldest


def test_lists_of_patients_and_contacts_cost_the_same_statements_for_5_or_40(
    app, client, session, clinic, make_patient
):
    def statements(url: str) -> int:
        client.get(url)
        with counting(app) as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    for n in range(5):
        make_patient(clinic, name=f"Child {n:02d}")
    few = {url: statements(url) for url in ("/admin/patient/", "/admin/contact/")}
    for n in range(5, 40):
        make_patient(clinic, name=f"Child {n:02d}")
    many = {url: statements(url) for url in ("/admin/patient/", "/admin/contact/")}

    assert few == many
    assert "Child 39" in client.get("/admin/patient/").text
    assert "Child 39" in client.get("/admin/contact/").text  # the children's names


def test_search_finds_patients_and_contacts_by_phone_as_typed(client, session, clinic, family):
    patients_page = client.get("/admin/patient/", query_string={"search": "098765 00001"}).text
    assert "Aarav" in patients_page and "Diya" in patients_page
    contacts_page = client.get("/admin/contact/", query_string={"search": "+91 98765 00001"}).text
    assert "Asha Verma" in contacts_page
    assert "Asha Verma" not in client.get("/admin/contact/", query_string={"search": "11111"}).text


# --- adding a patient with a guardian -----------------------------------------------------


def add(client, **fields):
    token = csrf_token(client, "/admin/patient/new/")
    form = {
        "csrf_token": token,
        "guardian_phone": "",
        "guardian_name": "Rahul Gupta",
        "name": "Ishaan Gupta",
        "relation": "child",
        "date_of_birth": "2019-08-14",
    }
    return client.post("/admin/patient/new/", data={**form, **fields}, follow_redirects=True)


def test_adding_a_patient_with_a_guardian_normalises_the_phone(client, session, clinic):
    page = add(client, guardian_phone="098765 43219")

    assert page.status_code == 200
    fresh(session)
    contact = session.scalar(select(Contact).where(Contact.phone == "+919876543219"))
    assert contact is not None and contact.name == "Rahul Gupta"
    assert contact.consent_at is None  # no chat consent until their first chat
    [child] = contact.patients
    assert (child.name, child.relation, child.date_of_birth) == (
        "Ishaan Gupta",
        Relation.CHILD,
        date(2019, 8, 14),
    )
    actions = session.scalars(select(AuditLog.action).where(AuditLog.actor_type == "staff")).all()
    assert {"contact.create", "patient.create"} <= set(actions)
    # Saved: straight on to booking for the new patient, chosen already.
    assert "Book a session" in page.text and "Added Ishaan Gupta." in page.text
    assert re.search(rf'<option selected value="{child.id}">Ishaan Gupta — Rahul Gupta', page.text)
    # The new contact's page shows consent is still missing.
    contact_text = contact_page(client, contact.id).text
    assert "Ishaan Gupta" in section(contact_text, "contact-patients")
    assert "not yet" in section(contact_text, "contact-consent")


def test_an_invalid_phone_is_refused_with_a_clear_error(client, session, clinic):
    page = add(client, guardian_phone="12345")

    assert "'12345' is not a valid mobile number" in alerts(page).replace("&#39;", "'")
    fresh(session)
    assert session.scalars(select(Patient)).all() == []
    assert session.scalars(select(Contact)).all() == []


def test_a_landline_is_refused(client, session, clinic):
    page = add(client, guardian_phone="080 4567 8900")  # Bengaluru landline
    assert "landline" in alerts(page)
    fresh(session)
    assert session.scalars(select(Contact)).all() == []


def test_a_number_that_is_already_a_contact_links_to_that_contact(client, session, clinic, family):
    aarav, _ = family
    page = add(client, guardian_phone="+91 98765 00001", name="Kabir")

    text = alerts(page)
    assert "A contact with the number +919876500001 already exists" in text
    assert f'href="/admin/contact/details/?id={aarav.contact_id}"' in page.text
    fresh(session)
    assert session.scalar(select(Patient).where(Patient.name == "Kabir")) is None


def test_a_second_child_is_added_from_the_contact_page(client, session, clinic, family):
    aarav, _ = family
    contact_text = contact_page(client, aarav.contact_id).text
    url = f"/admin/patient/new/?contact_id={aarav.contact_id}"
    assert f'href="{url}"' in contact_text.replace("&amp;", "&")
    form_page = client.get(url).text
    assert "Adding a patient to" in form_page and "guardian_phone" not in form_page

    token = csrf_token(client, url)
    page = client.post(
        url,
        data={"csrf_token": token, "name": "Kabir", "relation": "child", "date_of_birth": ""},
        follow_redirects=True,
    )
    assert "Added Kabir." in page.text
    assert "Kabir" in section(contact_page(client, aarav.contact_id).text, "contact-patients")
    again = client.post(
        url,
        data={"csrf_token": token, "name": "kabir", "relation": "child"},
        follow_redirects=True,
    )
    assert "already registered with this number" in alerts(again)
    fresh(session)
    assert len(session.scalars(select(Patient).where(Patient.name == "Kabir")).all()) == 1


def test_a_future_birth_date_is_refused(client, session, clinic):
    page = add(client, guardian_phone="9876543219", date_of_birth="2027-01-01")
    assert "cannot be in the future" in alerts(page)
    fresh(session)
    assert session.scalars(select(Contact)).all() == []  # the contact is not left behind


# --- another clinic -----------------------------------------------------------------------


def test_another_clinics_contacts_are_not_found(client, session, make_clinic, make_patient, clinic):
    other = make_clinic(name="Clinic B", slug="clinic-b")
    theirs = make_patient(other, name="Patient B", phone="+919876599999")

    assert contact_page(client, theirs.contact_id).status_code == 404
    assert client.get(f"/admin/patient/new/?contact_id={theirs.contact_id}").status_code == 404
    token = csrf_token(client, "/admin/patient/new/")
    response = client.post(
        f"/admin/patient/new/?contact_id={theirs.contact_id}",
        data={"csrf_token": token, "name": "Intruder", "relation": "child"},
    )
    assert response.status_code == 404
    # Their number is not "a duplicate" here: each clinic has its own contacts.
    add(client, guardian_phone="+919876599999", name="Own patient")
    fresh(session)
    assert session.scalar(select(Patient).where(Patient.name == "Intruder")) is None
    assert session.scalar(
        select(Patient).where(Patient.name == "Own patient", Patient.clinic_id == clinic.id)
    )


def section(text: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its closing table or list."""
    start = text.index(f'id="{element_id}"')
    end = min(i for i in (text.find("</table>", start), text.find("</ul>", start)) if i > 0)
    return text[start:end]


def test_patients_and_contacts_export_as_csv(client, session, clinic, family):
    patients_csv = client.get("/admin/patient/export/csv/").text.splitlines()
    assert len(patients_csv) == 3
    assert any("Diya" in row and "+919876500001" in row and "child" in row for row in patients_csv)
    contacts_csv = client.get("/admin/contact/export/csv/").text.splitlines()
    assert "Asha Verma" in contacts_csv[1] and "not yet" in contacts_csv[1]
