"""UPI payment requests without a gateway: an NPCI ``upi://pay`` deep link and its QR code.

A clinic with a UPI ID (VPA) can be paid by any UPI app straight from a link or a scanned
QR, with no payment provider in between; the transaction reference (``tr``) lets staff
match the credit to the invoice. Amounts stay integer paise until formatted as
``"500.00"``; the QR is drawn locally with segno (no external service sees the link).
"""

from __future__ import annotations

import io
import re
import unicodedata
from urllib.parse import quote

import segno

VPA = re.compile(r"^[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z]{2,64}$")
REFERENCE = re.compile(r"^[a-zA-Z0-9]{1,35}$")
NOTE_MAX = 50
PAYEE_MAX = 99


def format_amount(amount_minor: int) -> str:
    """``50000`` paise → ``"500.00"``, with integer arithmetic only."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError(f"UPI amount must be an int of paise, not {type(amount_minor).__name__}")
    if amount_minor <= 0:
        raise ValueError(f"UPI amount must be positive, got {amount_minor} paise")
    rupees, paise = divmod(amount_minor, 100)
    return f"{rupees}.{paise:02d}"


def _plain(text: str, limit: int) -> str:
    """One line of printable text, at most ``limit`` characters."""
    printable = "".join(c for c in text if not unicodedata.category(c).startswith("C"))
    return " ".join(printable.split())[:limit].rstrip()


def upi_link(
    *,
    vpa: str,
    payee_name: str,
    amount_minor: int,
    currency: str = "INR",
    note: str,
    reference: str,
) -> str:
    """``upi://pay?pa=…&pn=…&am=500.00&cu=INR&tn=…&tr=…``, each value percent-encoded.

    ``note`` is shortened to 50 characters; ``reference`` must be 1–35 letters and digits
    (strip an invoice number's dashes first), since it is how the payment is matched.
    """
    if currency != "INR":
        raise ValueError(f"UPI only moves INR, not {currency!r}")
    vpa = vpa.strip()
    if not VPA.fullmatch(vpa):
        raise ValueError(f"not a UPI ID (VPA) like name@bank: {vpa!r}")
    payee = _plain(payee_name, PAYEE_MAX)
    if not payee:
        raise ValueError("the payee name is empty")
    if not REFERENCE.fullmatch(reference):
        raise ValueError(f"UPI reference must be 1-35 letters or digits: {reference!r}")
    params = {
        "pa": vpa,
        "pn": payee,
        "am": format_amount(amount_minor),
        "cu": currency,
        "tn": _plain(note, NOTE_MAX),
        "tr": reference,
    }
    if not params["tn"]:
        del params["tn"]  # optional in the spec; an empty one confuses some apps
    query = "&".join(
        f"{key}={quote(value, safe='@' if key == 'pa' else '')}" for key, value in params.items()
    )
    return f"upi://pay?{query}"


def qr_png(data: str, *, scale: int = 8) -> bytes:
    """A PNG of ``data`` as a full QR code (never a Micro QR, which phones don't read),
    medium error correction, the standard 4-module quiet zone."""
    if scale < 1:
        raise ValueError(f"QR scale must be at least 1, got {scale}")
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
