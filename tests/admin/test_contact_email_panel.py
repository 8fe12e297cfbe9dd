"""A contact's email in the staff panel: the desk sets the address and how the contact
wants the clinic's messages, sees a bounce or an unsubscribe, and lifts a bounce; a bad
address changes nothing; other clinics' contacts are out of reach. (Sending:
tests/messaging/test_email.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import get_db
from models import AuditLog, Contact, EmailPreference, Role
from roshni.app import create_app
from services.people.contact_email import mark_bounced
from tests.admin.test_admin import csrf_token
from tests.admin.test_series_panel import desk, signed_in  # noqa: F401  (fixtures)
from tests.conftest import NOW

# ruff: noqa: F811  (the fixtures imported from test_series_panel)


@pytest.fixture
def app(payments_config):
    app = create_app(payments_config)
    yield app
    get_db(app).dispose()


def page(contact) -> str:
    return f"/admin/contact/email/?id={contact.id}"


def fresh(session, contact) -> Contact:
    session.rollback()  # a new read: the panel committed on its own connection
    session.expire_all()
    return session.get(Contact, contact.id)


def save(client, contact, **data):
    url = page(contact)
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def test_the_desk_sets_an_address_and_email_instead_of_chat(app, session, desk):
    contact = desk.aarav.contact
    client = signed_in(app, Role.OPERATOR)
    saved = save(client, contact, email=" Asha.Verma@Example.com ", preference="email")
    assert saved.status_code == 302
    stored = fresh(session, contact)
    assert (stored.email, stored.email_preference) == (
        "asha.verma@example.com",
        EmailPreference.EMAIL,
    )
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "contact.email"))
    assert audit is not None and audit.clinic_id == desk.clinic.id
    details = client.get(f"/admin/contact/details/?id={contact.id}")
    row = details.text[details.text.index('id="contact-email"') :]
    assert "asha.verma@example.com" in row[:600] and "instead of the chat" in row[:600]


def test_a_bad_address_or_email_without_one_changes_nothing(app, session, desk):
    contact = desk.aarav.contact
    client = signed_in(app, Role.OPERATOR)
    refused = save(client, contact, email="not an address", preference="both")
    assert refused.status_code == 200 and "That is not an email address." in refused.text
    missing = save(client, contact, email="", preference="email")
    assert missing.status_code == 200
    assert "Give an email address to send messages by email." in missing.text
    stored = fresh(session, contact)
    assert (stored.email, stored.email_preference) == (None, EmailPreference.CHAT)


def test_a_bounce_shows_and_the_desk_can_lift_it(app, session, desk):
    contact = desk.aarav.contact
    client = signed_in(app, Role.OPERATOR)
    assert save(client, contact, email="asha@example.com", preference="both").status_code == 302
    mark_bounced(session, "asha@example.com", now=NOW)
    shown = client.get(page(contact))
    assert 'id="email-bounced"' in shown.text and "clear_bounce" in shown.text
    details = client.get(f"/admin/contact/details/?id={contact.id}")
    assert "bounced" in details.text[details.text.index('id="contact-email"') :][:600]
    lifted = save(client, contact, email="asha@example.com", preference="both", clear_bounce="y")
    assert lifted.status_code == 302
    assert fresh(session, contact).email_bounced_at is None


def test_other_clinics_contacts_and_read_only_roles_are_refused(app, session, desk):
    client = signed_in(app, Role.OPERATOR)
    assert client.get(page(desk.other_patient.contact)).status_code == 404
    other = save(client, desk.other_patient.contact, email="b@example.com", preference="email")
    assert other.status_code == 404
    assert fresh(session, desk.other_patient.contact).email is None
    accountant = signed_in(app, Role.ACCOUNTANT)
    assert accountant.get(page(desk.aarav.contact)).status_code in (302, 403)
