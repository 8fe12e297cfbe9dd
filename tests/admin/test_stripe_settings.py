"""A clinic's Stripe keys in the panel: write-only, stored encrypted, never shown again or
written to the audit log, and only a clinic admin may set them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditLog, Clinic, Role
from services.staff.accounts import create_staff_user

# The shared fixture is imported by name so pytest finds it here.
# ruff: noqa: F811
from tests.admin.test_admin import (
    PASSWORD,
    csrf_token,
    fresh,
    log_in,
    renamed_clinic_a,
    two_clinics,  # noqa: F401  (fixture)
)
from tests.conftest import SYSTEM

pytestmark = pytest.mark.usefixtures("frozen_clock")

SECRET_KEY = "sk_test_51ClinicAStripeSecretKey0000"
SIGNING_SECRET = "whsec_ClinicASigningSecret000000001"


def edit_url(clinic) -> str:
    return f"/admin/clinic/edit/?id={clinic.id}"


def stripe_form(client, url: str, **fields: str) -> dict[str, str]:
    return renamed_clinic_a(client, url, currency="GBP", **fields)


def test_an_admin_sets_the_stripe_keys_and_never_sees_them_again(app, two_clinics, session):
    a = two_clinics["a"]["clinic"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = edit_url(a)

    client.post(
        url,
        data=stripe_form(
            client, url, stripe_secret=SECRET_KEY, stripe_webhook_secret=SIGNING_SECRET
        ),
    )

    fresh(session)
    clinic = session.get(Clinic, a.id)
    assert clinic.currency == "GBP"
    assert (
        clinic.stripe_secret_key_encrypted and SECRET_KEY not in clinic.stripe_secret_key_encrypted
    )
    assert clinic.stripe_webhook_secret_encrypted
    page = client.get(url).text
    assert SECRET_KEY not in page and SIGNING_SECRET not in page
    assert clinic.stripe_secret_key_encrypted not in page
    logged = session.scalars(select(AuditLog).where(AuditLog.clinic_id == a.id)).all()
    assert "clinic.stripe" in [row.action for row in logged]
    for row in logged:
        assert SECRET_KEY not in f"{row.before}{row.after}"
        assert "stripe_secret_key_encrypted" not in f"{row.before}{row.after}"
    # Blank keeps both; asking to stop clears both.
    client.post(url, data=stripe_form(client, url))
    fresh(session)
    assert session.get(Clinic, a.id).stripe_secret_key_encrypted
    client.post(url, data=stripe_form(client, url, stripe_clear="y"))
    fresh(session)
    clinic = session.get(Clinic, a.id)
    assert clinic.stripe_secret_key_encrypted is None
    assert clinic.stripe_webhook_secret_encrypted is None


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"stripe_secret": "pk_test_publishable0000"}, "A Stripe secret key looks like"),
        ({"stripe_secret": SECRET_KEY}, "Give the signing secret of the webhook"),
        ({"stripe_webhook_secret": "not-a-whsec"}, "A Stripe webhook signing secret looks"),
    ],
)
def test_a_bad_stripe_key_changes_nothing(app, two_clinics, session, fields, refusal):
    a = two_clinics["a"]["clinic"]
    client = app.test_client()
    log_in(client, "admin@a.example")
    url = edit_url(a)

    page = client.post(url, data=stripe_form(client, url, **fields), follow_redirects=True)

    assert refusal in page.text
    fresh(session)
    clinic = session.get(Clinic, a.id)
    assert clinic.currency == "INR"
    assert clinic.stripe_secret_key_encrypted is None


def test_only_an_admin_may_set_stripe_keys(app, two_clinics, session):
    a = two_clinics["a"]["clinic"]
    create_staff_user(
        session,
        email="desk@a.example",
        password=PASSWORD,
        role=Role.OPERATOR,
        clinic_id=a.id,
        actor=SYSTEM,
    )
    client = app.test_client()
    log_in(client, "desk@a.example")
    url = edit_url(a)

    page = client.get(url)
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, "/admin/"),
            "name": "Clinic A",
            "stripe_secret": SECRET_KEY,
            "stripe_webhook_secret": SIGNING_SECRET,
        },
    )

    assert page.status_code in (302, 403)
    assert response.status_code in (302, 403)
    fresh(session)
    assert session.get(Clinic, a.id).stripe_secret_key_encrypted is None
