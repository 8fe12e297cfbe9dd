"""integrations.twilio: the Twilio specifics the webhooks and delivery share, in one place."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from integrations.twilio.addresses import bare_number, whatsapp_address
from integrations.twilio.errors import SMS_OPTED_OUT, is_permanent
from integrations.twilio.signature import signature_ok
from integrations.twilio.twiml import twiml_reply
from services.people.phones import normalise_phone

TOKEN = "test-auth-token-0123456789abcdef"
URL = "https://clinic.example/webhooks/twilio/sms"
FORM = {"From": "+919876543210", "Body": "hi", "MessageSid": "SM" + "a" * 32}


@pytest.mark.parametrize(
    ("address", "number"),
    [
        ("whatsapp:+919876543210", "+919876543210"),
        ("  WhatsApp:+919876543210 ", "+919876543210"),
        ("+447700900123", "+447700900123"),
        (" +447700900123\n", "+447700900123"),
        ("", ""),
    ],
)
def test_a_whatsapp_address_loses_its_prefix_and_a_plain_number_is_only_trimmed(address, number):
    assert bare_number(address) == number


def test_whatsapp_addresses_round_trip():
    assert whatsapp_address("+919876543210") == "whatsapp:+919876543210"
    assert bare_number(whatsapp_address("+919876543210")) == "+919876543210"
    assert normalise_phone(whatsapp_address("+919876543210"), "IN") == "+919876543210"


def test_only_a_signature_made_with_the_token_over_this_url_and_form_passes():
    good = RequestValidator(TOKEN).compute_signature(URL, FORM)
    assert signature_ok(TOKEN, URL, FORM, good)
    assert not signature_ok(TOKEN, URL + "?x=1", FORM, good)
    assert not signature_ok(TOKEN, URL, {**FORM, "Body": "hello"}, good)
    assert not signature_ok("another-token", URL, FORM, good)
    assert not signature_ok(TOKEN, URL, FORM, "")
    assert not signature_ok("", URL, FORM, good)


def test_a_refusal_is_permanent_by_its_code_or_a_4xx_other_than_429():
    assert is_permanent(SMS_OPTED_OUT, 400)
    assert is_permanent(63016, 500)
    assert is_permanent(None, 404)
    assert not is_permanent(None, 429)
    assert not is_permanent(20429, 429)
    assert not is_permanent(None, 503)


def test_an_sms_reply_is_gsm_plain_and_a_whatsapp_reply_keeps_its_characters():
    assert "Rs 800" in twiml_reply("✅ Paid ₹800", sms=True)
    assert "₹800" in twiml_reply("✅ Paid ₹800", sms=False)
    assert "<Message>" not in twiml_reply(None, sms=True)
