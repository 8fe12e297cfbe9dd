"""How dates, times and money read to people: the clinic's zone and currency, at the edge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_date
from babel.dates import format_time as babel_time
from babel.dates import get_day_names
from babel.lists import format_list
from babel.numbers import format_currency, get_currency_precision

# English: locale per currency for grouping (₹1,20,000 vs £1,200).
_LOCALES = {"INR": "en_IN", "GBP": "en_GB", "USD": "en_US", "EUR": "en_IE", "AED": "en_AE"}
# Other languages: the Babel locale their readers use (dates "सोम, 23 नव॰").
_LANGUAGE_LOCALES = {"hi": "hi_IN"}
ENGLISH = "en"
# The languages the bot speaks (a catalogue each in services/messaging/locales).
LANGUAGES = (ENGLISH, *_LANGUAGE_LOCALES)


def babel_locale(lang: str | None = None, currency: str | None = None) -> str:
    """The Babel locale for a contact's language and the clinic's currency: ``hi`` →
    ``hi_IN``; English → ``en_IN`` for INR, ``en_GB`` for GBP, …, plain ``en`` otherwise.
    The one place that decides how a language and a region read dates and money."""
    if lang and lang != ENGLISH and lang in _LANGUAGE_LOCALES:
        return _LANGUAGE_LOCALES[lang]
    return _LOCALES.get(currency or "", ENGLISH)


def _english(lang: str | None) -> bool:
    return not lang or lang == ENGLISH or lang not in _LANGUAGE_LOCALES


def to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-get_currency_precision(currency))


def format_money(
    amount_minor: int,
    currency: str,
    *,
    short: bool = False,
    locale: str | None = None,
    lang: str | None = None,
) -> str:
    """``80000, 'INR'`` → ``₹800.00``; ``short`` drops zero minor units (``₹800``).

    Grouping follows the currency (``₹1,20,000.00``, ``£120,000.00``) unless ``locale``
    names one: the PDF documents carry their own (``en_IN`` by default, for every currency).
    ``lang`` is the reader's language (``hi`` → ``hi_IN`` grouping and digits).
    """
    amount = to_major(amount_minor, currency)
    locale = locale or babel_locale(lang, currency)
    if short and amount == amount.to_integral_value():
        whole = (
            Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0].split(".")[0]
        )
        return format_currency(amount, currency, locale=locale, currency_digits=False, format=whole)
    return format_currency(amount, currency, locale=locale)


def format_when(value: datetime, timezone: str, lang: str | None = None) -> str:
    """``Mon 23 Nov, 4:45 pm`` in the clinic's zone (Hindi: ``सोम, 23 नव॰, 4:45 pm``)."""
    local = value.astimezone(ZoneInfo(timezone))
    if not _english(lang):
        return f"{format_day(local.date(), lang)}, {format_time(local, lang)}"
    hour = local.hour % 12 or 12
    return (
        f"{local:%a} {local.day} {local:%b}, {hour}:{local:%M} {'am' if local.hour < 12 else 'pm'}"
    )


def format_when_with_year(value: datetime, timezone: str, lang: str | None = None) -> str:
    local = value.astimezone(ZoneInfo(timezone))
    return f"{format_when(value, timezone, lang)} {local.year}"


def format_day(value: date, lang: str | None = None) -> str:
    """``Mon 23 Nov``; in Hindi Babel's ``सोम, 23 नव॰``."""
    if not _english(lang):
        return babel_date(value, "EEE, d MMM", locale=babel_locale(lang))
    return f"{value:%a} {value.day} {value:%b}"


def format_full_day(value: date, lang: str | None = None, *, locale: str | None = None) -> str:
    """``8 Sept 2026``, a date on a document or a period (Babel's ``d MMM y``; Hindi
    ``8 सित॰ 2026``). ``locale``: a Babel locale already chosen (a document's)."""
    return babel_date(value, "d MMM y", locale=locale or babel_locale(lang))


def format_weekday(value: date, lang: str | None = None) -> str:
    """``Mon 23``, a column heading; in Hindi ``सोम 23``."""
    if not _english(lang):
        return babel_date(value, "EEE d", locale=babel_locale(lang))
    return f"{value:%a} {value.day}"


def format_time(value: time | datetime, lang: str | None = None) -> str:
    """``4:45 pm``; ``12:00 pm`` is noon. Other languages through Babel (``h:mm a``)."""
    if not _english(lang):
        plain = time(value.hour, value.minute)
        return babel_time(plain, "h:mm a", locale=babel_locale(lang))
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'am' if value.hour < 12 else 'pm'}"


def format_span(start: datetime, end: datetime, timezone: str, lang: str | None = None) -> str:
    """``Mon 23 Nov, 4:45–5:30 pm`` in the clinic's zone."""
    zone = ZoneInfo(timezone)
    start, end = start.astimezone(zone), end.astimezone(zone)
    first = format_time(start, lang)
    last = format_time(end, lang)
    if first[-3:] == last[-3:] and first[-3:-2] == " ":
        first = first[:-3]
    return f"{format_day(start.date(), lang)}, {first}–{last}"


def format_weekdays(weekdays: Sequence[int], lang: str | None = None) -> str:
    """``(0, 3)`` → ``Monday and Thursday`` (Hindi ``सोमवार और गुरुवार``), 0 = Monday."""
    locale = babel_locale(lang)
    names = get_day_names("wide", locale=locale)
    return format_list([names[d] for d in weekdays], locale=locale)


def format_phone(e164: str) -> str:
    """``+918045678900`` → ``+91 80 4567 8900``, as people write it."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
