"""Clinics as tenants: creation rules and routing inbound messages by sender number."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditLog, Channel, Clinic, SenderNumber
from services.clinics import settings as clinics
from services.errors import Duplicate, InvalidInput, InvalidPhone
from tests.conftest import SYSTEM


def test_an_inbound_message_is_routed_by_the_number_it_was_sent_to(session, make_clinic):
    roshni = make_clinic(name="Roshni Clinic", slug="roshni")
    sunrise = make_clinic(name="Sunrise", slug="sunrise", timezone="Europe/London", region="GB")
    clinics.add_sender_number(
        session, clinic_id=roshni.id, channel=Channel.WHATSAPP, address="+14155238886", actor=SYSTEM
    )
    clinics.add_sender_number(
        session,
        clinic_id=sunrise.id,
        channel=Channel.WHATSAPP,
        address="+447700900123",
        actor=SYSTEM,
    )
    clinics.add_sender_number(
        session, clinic_id=sunrise.id, channel=Channel.SMS, address="07700 900456", actor=SYSTEM
    )

    assert clinics.clinic_for_sender(session, Channel.WHATSAPP, "+14155238886").id == roshni.id
    assert clinics.clinic_for_sender(session, Channel.WHATSAPP, "+447700900123").id == sunrise.id
    # Stored E.164 whatever the operator typed; the channel is part of the route.
    assert clinics.clinic_for_sender(session, Channel.SMS, "+447700900456").id == sunrise.id
    assert clinics.clinic_for_sender(session, Channel.SMS, "+14155238886") is None
    assert clinics.clinic_for_sender(session, Channel.WHATSAPP, "+10000000000") is None


def test_a_sender_number_belongs_to_one_clinic_only(session, make_clinic):
    first, second = make_clinic(slug="one"), make_clinic(slug="two")
    clinics.add_sender_number(
        session, clinic_id=first.id, channel=Channel.WHATSAPP, address="+14155238886", actor=SYSTEM
    )
    with pytest.raises(Duplicate):
        clinics.add_sender_number(
            session,
            clinic_id=second.id,
            channel=Channel.WHATSAPP,
            address="+1 415 523 8886",
            actor=SYSTEM,
        )
    with pytest.raises(InvalidPhone):
        clinics.add_sender_number(
            session, clinic_id=second.id, channel=Channel.SMS, address="12", actor=SYSTEM
        )
    assert session.scalar(select(func.count()).select_from(SenderNumber)) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "Not A Slug", "slug"),
        ("timezone", "Mars/Olympus", "IANA time zone"),
        ("currency", "rupees", "three-letter"),
        ("phone_region", "XX", "phone region"),
        ("language", "english", "language"),
    ],
)
def test_a_clinic_with_bad_settings_is_refused_and_nothing_is_stored(
    session, field, value, message
):
    settings = {
        "slug": "good",
        "timezone": "Asia/Kolkata",
        "currency": "INR",
        "phone_region": "IN",
        "language": "en",
    }
    settings[field] = value
    with pytest.raises(InvalidInput, match=message):
        clinics.create_clinic(session, name="Clinic", actor=SYSTEM, **settings)
    assert session.scalar(select(func.count()).select_from(Clinic)) == 0
    assert session.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_a_new_clinic_gets_the_default_policies(session):
    clinic = clinics.create_clinic(session, name="Clinic", slug="fresh", actor=SYSTEM)
    policy = clinic.policy
    assert policy.booking_horizon_days == 30
    assert policy.cancellation_window_hours == 24
    assert policy.reschedule_window_hours == 48
    assert policy.reminder_offsets_hours == [24, 2]
    with pytest.raises(Duplicate):
        clinics.create_clinic(session, name="Clinic again", slug="fresh", actor=SYSTEM)


def test_a_clinic_update_refused_on_its_razorpay_key_saves_nothing(
    session, make_clinic, payments_config
):
    clinic = make_clinic(name="Roshni Clinic", slug="roshni")
    audits = session.scalar(select(func.count()).select_from(AuditLog))

    with pytest.raises(InvalidInput, match="Razorpay key id"):
        clinics.update_clinic(
            session,
            clinic_id=clinic.id,
            fields={"name": "Renamed", "timezone": "Asia/Dubai"},
            twilio=clinics.TwilioChange("AC" + "d" * 32, "a-long-enough-auth-token"),
            razorpay=clinics.RazorpayChange("not-a-key", "secret", "webhook"),
            config=payments_config,
            actor=SYSTEM,
        )

    session.expire_all()
    stored = session.get(Clinic, clinic.id)
    assert (stored.name, stored.timezone) == ("Roshni Clinic", "Asia/Kolkata")
    assert stored.twilio_account_sid is None and stored.twilio_auth_token_encrypted is None
    assert session.scalar(select(func.count()).select_from(AuditLog)) == audits
    with pytest.raises(ValueError, match="slug"):
        clinics.update_clinic(
            session,
            clinic_id=clinic.id,
            fields={"slug": "other"},
            twilio=None,
            razorpay=None,
            config=payments_config,
            actor=SYSTEM,
        )
