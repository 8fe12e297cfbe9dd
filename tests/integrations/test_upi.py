"""UPI deep links and their QR codes, built locally from integer paise."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from integrations.upi import format_amount, qr_png, upi_link

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _link(**changes) -> str:
    args = {
        "vpa": "roshni.clinic@okhdfc",
        "payee_name": "Roshni Therapy",
        "amount_minor": 50000,
        "note": "Invoice INV-2026-27-000042",
        "reference": "INV202627000042",
    }
    return upi_link(**(args | changes))


def test_link_format_and_encoding() -> None:
    assert _link() == (
        "upi://pay?pa=roshni.clinic@okhdfc&pn=Roshni%20Therapy&am=500.00&cu=INR"
        "&tn=Invoice%20INV-2026-27-000042&tr=INV202627000042"
    )


def test_values_are_percent_encoded_and_decode_back() -> None:
    link = _link(payee_name="Dr. Rao & Sons / ₹ क्लिनिक", note="a=b&c #1 ?")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc) == ("upi", "pay")
    assert " " not in link and "+" not in link
    assert "tn=a%3Db%26c%20%231%20%3F&" in link
    query = parse_qs(parts.query, strict_parsing=True)
    assert query["pn"] == ["Dr. Rao & Sons / ₹ क्लिनिक"]
    assert query["tn"] == ["a=b&c #1 ?"]
    assert query["am"] == ["500.00"] and query["cu"] == ["INR"]


def test_note_is_cut_to_50_and_controls_dropped() -> None:
    query = parse_qs(urlsplit(_link(note="x" * 80 + "\n\x00")).query)
    assert query["tn"] == ["x" * 50]
    assert "tn=" not in _link(note=" \n ")


@pytest.mark.parametrize(
    ("paise", "text"),
    [(1, "0.01"), (99, "0.99"), (100, "1.00"), (50000, "500.00"), (12345678, "123456.78")],
)
def test_amount_formatting(paise: int, text: str) -> None:
    assert format_amount(paise) == text
    assert f"&am={text}&" in _link(amount_minor=paise)


@given(st.integers(min_value=1, max_value=10**12))
def test_amount_round_trips_to_paise(paise: int) -> None:
    text = format_amount(paise)
    whole, fraction = text.split(".")
    assert len(fraction) == 2 and whole == str(int(whole))
    assert int(Decimal(text) * 100) == paise
    assert int(whole) * 100 + int(fraction) == paise


@pytest.mark.parametrize("amount", [0, -100])
def test_amount_must_be_positive(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        _link(amount_minor=amount)


@pytest.mark.parametrize("amount", [5.0, "500", True])
def test_amount_must_be_integer_paise(amount: object) -> None:
    with pytest.raises(TypeError):
        format_amount(amount)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "vpa",
    ["", "roshni", "@okhdfc", "r@okhdfc", "roshni@ok hdfc", "roshni@ok1", "ro shni@okhdfc",
     "roshni@x", "roshni@@okhdfc", "roshni@okhdfc&am=1", "roshni@okhdfc\nx"],
)  # fmt: skip
def test_bad_vpa_rejected(vpa: str) -> None:
    with pytest.raises(ValueError, match="UPI ID"):
        _link(vpa=vpa)


def test_only_inr() -> None:
    with pytest.raises(ValueError, match="INR"):
        _link(currency="USD")


@pytest.mark.parametrize("reference", ["", "INV-2026-27", "x" * 36, "ref 1", "रेफ"])
def test_bad_reference_rejected(reference: str) -> None:
    with pytest.raises(ValueError, match="reference"):
        _link(reference=reference)


def test_empty_payee_rejected() -> None:
    with pytest.raises(ValueError, match="payee"):
        _link(payee_name=" \t ")


def test_qr_png() -> None:
    link = _link()
    png = qr_png(link)
    assert png.startswith(PNG_SIGNATURE)
    assert png[12:16] == b"IHDR"
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    qr = segno.make(link, error="m", micro=False)
    assert not qr.is_micro and qr.error == "M"
    assert width == height == (qr.symbol_size(scale=8, border=4)[0])
    assert png == qr_png(link)  # deterministic
    assert len(qr_png(link, scale=2)) < len(png)


def test_qr_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scale"):
        qr_png("x", scale=0)
