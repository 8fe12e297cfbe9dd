"""Phone numbers: parsed with phonenumbers in the clinic's region, stored as E.164."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from integrations.twilio.addresses import bare_number
from services.errors import N_, InvalidPhone

MAX_PHONE_INPUT = 40
_MESSAGEABLE = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
}


def normalise_phone(
    text: str, region: str, *, require_mobile: bool = False, possible_only: bool = False
) -> str:
    """``'098765 43210'`` in region IN → ``'+919876543210'``; raises InvalidPhone otherwise.

    Accepts Twilio's ``whatsapp:+91…`` addresses. ``require_mobile`` refuses
    landlines and other numbers that cannot receive WhatsApp or SMS.
    ``possible_only`` accepts any number of a plausible shape: for the clinic's
    own sender numbers, which come from Twilio and may sit in ranges reserved
    for tests and demos (Ofcom's 07700 900xxx) that phonenumbers calls invalid.
    """
    raw = (text or "").strip()
    shown = raw[:MAX_PHONE_INPUT]
    raw = bare_number(raw)
    if not raw or len(raw) > MAX_PHONE_INPUT:
        raise InvalidPhone(phone=shown)
    try:
        number = phonenumbers.parse(raw, region.upper())
    except NumberParseException:
        raise InvalidPhone(phone=shown) from None
    valid = phonenumbers.is_possible_number if possible_only else phonenumbers.is_valid_number
    if not valid(number):
        raise InvalidPhone(phone=shown)
    if require_mobile and phonenumbers.number_type(number) not in _MESSAGEABLE:
        raise InvalidPhone(
            N_("'%(phone)s' looks like a landline; please give a mobile number."), phone=shown
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
