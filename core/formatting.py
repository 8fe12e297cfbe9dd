"""How dates, times and money read to people: the clinic's zone and currency, at the edge."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.numbers import format_currency, get_currency_precision

# Locale per currency for grouping (₹1,20,000 vs £1,200); English wording throughout.
_LOCALES = {"INR": "en_IN", "GBP": "en_GB", "USD": "en_US", "EUR": "en_IE", "AED": "en_AE"}


def to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-get_currency_precision(currency))


def format_money(
    amount_minor: int, currency: str, *, short: bool = False, locale: str | None = None
) -> str:
    """``80000, 'INR'`` → ``₹800.00``; ``short`` drops zero minor units (``₹800``).

    Grouping follows the currency (``₹1,20,000.00``, ``£120,000.00``) unless ``locale``
    names one: the PDF documents carry their own (``en_IN`` by default, for every currency).
    """
    amount = to_major(amount_minor, currency)
    locale = locale or _LOCALES.get(currency, "en")
    if short and amount == amount.to_integral_value():
        whole = (
            Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0].split(".")[0]
        )
        return format_currency(amount, currency, locale=locale, currency_digits=False, format=whole)
    return format_currency(amount, currency, locale=locale)


def format_when(value: datetime, timezone: str) -> str:
    """``Mon 23 Nov, 4:45 pm`` in the clinic's zone."""
    local = value.astimezone(ZoneInfo(timezone))
    hour = local.hour % 12 or 12
    return (
        f"{local:%a} {local.day} {local:%b}, {hour}:{local:%M} {'am' if local.hour < 12 else 'pm'}"
    )


def format_when_with_year(value: datetime, timezone: str) -> str:
    local = value.astimezone(ZoneInfo(timezone))
    return f"{format_when(value, timezone)} {local.year}"


def format_day(value: date) -> str:
    """``Mon 23 Nov``."""
    return f"{value:%a} {value.day} {value:%b}"


def format_time(value: time | datetime) -> str:
    """``4:45 pm``; ``12:00 pm`` is noon."""
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'am' if value.hour < 12 else 'pm'}"


def format_span(start: datetime, end: datetime, timezone: str) -> str:
    """``Mon 23 Nov, 4:45–5:30 pm`` in the clinic's zone."""
    zone = ZoneInfo(timezone)
    start, end = start.astimezone(zone), end.astimezone(zone)
    first = format_time(start)
    last = format_time(end)
    if first[-2:] == last[-2:]:
        first = first[:-3]
    return f"{format_day(start.date())}, {first}–{last}"


def format_phone(e164: str) -> str:
    """``+918045678900`` → ``+91 80 4567 8900``, as people write it."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
