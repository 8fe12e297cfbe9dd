"""Invoice and receipt PDFs: valid, readable back, deterministic, and unbreakable by names."""

from __future__ import annotations

import dataclasses
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader

from core import pdf
from core.formatting import format_money
from services.billing.documents import (
    DocumentLine,
    InvoiceDocument,
    ReceiptDocument,
    money_in_words,
    render_invoice_pdf,
    render_receipt_pdf,
)


def _invoice(**changes) -> InvoiceDocument:
    doc = InvoiceDocument(
        clinic_name="Roshni Therapy Centre",
        clinic_address="12, 4th Cross, Indiranagar\nBengaluru 560038",
        clinic_phone="+91 80 4567 8900",
        tax_id="29ABCDE1234F1Z5",
        number="INV-2026-27-000042",
        issued_on=date(2026, 11, 23),
        billed_to="Priya Sharma",
        billed_phone="+91 98450 12345",
        patient_name="Aarav Sharma",
        currency="INR",
        lines=(DocumentLine("Speech therapy session (45 min)", 2, 50000, 100000),),
        subtotal_minor=100000,
        tax_label="GST",
        tax_rate_bp=2000,
        tax_minor=20000,
        total_minor=120000,
        paid_minor=20000,
        due_minor=100000,
    )
    return dataclasses.replace(doc, **changes)


def _receipt(**changes) -> ReceiptDocument:
    doc = ReceiptDocument(
        clinic_name="Roshni Therapy Centre",
        clinic_address=None,
        clinic_phone="+91 80 4567 8900",
        tax_id="29ABCDE1234F1Z5",
        number="RCPT-000123",
        received_on=date(2026, 11, 24),
        received_from="Priya Sharma",
        invoice_numbers=("INV-2026-27-000042", "INV-2026-27-000043"),
        method="UPI",
        reference="pay_N8x7Qk2LmZ",
        currency="INR",
        amount_minor=120050,
    )
    return dataclasses.replace(doc, **changes)


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_invoice_reads_back() -> None:
    text = _text(render_invoice_pdf(_invoice()))
    assert "Tax invoice" in text
    assert "INV-2026-27-000042" in text
    assert "Priya Sharma" in text and "Aarav Sharma" in text
    assert "GSTIN 29ABCDE1234F1Z5" in text
    assert "Speech therapy session (45 min)" in text
    assert "23 Nov 2026" in text
    for amount in ("₹500.00", "₹1,000.00", "₹200.00", "₹1,200.00"):
        assert amount in text
    assert "GST 20%" in text
    assert "Balance due" in text
    assert "Amount in words: Rupees One Thousand Two Hundred only" in text
    assert "Computer-generated; no signature required." in text


def test_no_tax_line_without_tax() -> None:
    doc = _invoice(tax_label="GST", tax_rate_bp=0, tax_minor=0, total_minor=100000)
    text = _text(render_invoice_pdf(doc))
    assert "GST" not in text.replace("GSTIN", "")
    assert "Tax invoice" not in text
    assert "Invoice" in text
    assert "Rupees One Thousand only" in text


def test_indian_grouping_for_large_amounts() -> None:
    doc = _invoice(
        lines=(DocumentLine("Intensive programme", 1, 10000000, 10000000),),
        subtotal_minor=10000000,
        tax_rate_bp=1800,
        tax_minor=1800000,
        total_minor=11800000,
        paid_minor=0,
        due_minor=11800000,
    )
    text = _text(render_invoice_pdf(doc))
    assert "₹1,00,000.00" in text
    assert "₹18,000.00" in text
    assert "₹1,18,000.00" in text
    assert "GST 18%" in text
    assert "Rupees One Lakh Eighteen Thousand only" in text


def test_a_pound_invoice_groups_amounts_the_british_way() -> None:
    doc = _invoice(
        currency="GBP",
        tax_label="VAT",
        lines=(DocumentLine("Intensive programme", 1, 10000000, 10000000),),
        subtotal_minor=10000000,
        tax_rate_bp=2000,
        tax_minor=2000000,
        total_minor=12000000,
        paid_minor=0,
        due_minor=12000000,
    )
    text = _text(render_invoice_pdf(doc))
    assert "£100,000.00" in text
    assert "£120,000.00" in text
    assert "1,00,000" not in text


def test_a_pound_receipt_groups_amounts_the_british_way() -> None:
    text = _text(render_receipt_pdf(_receipt(currency="GBP", amount_minor=12000050)))
    assert "£120,000.50" in text


def test_words_can_be_left_out_and_notes_shown() -> None:
    text = _text(render_invoice_pdf(_invoice(amount_in_words=False, notes="Pay by UPI")))
    assert "Amount in words" not in text
    assert "Notes: Pay by UPI" in text


def test_receipt_reads_back() -> None:
    text = _text(render_receipt_pdf(_receipt()))
    assert "Payment receipt" in text
    assert "RCPT-000123" in text
    assert "24 Nov 2026" in text
    assert "Priya Sharma" in text
    assert "UPI" in text and "pay_N8x7Qk2LmZ" in text
    assert "₹1,200.50" in text
    assert "Rupees One Thousand Two Hundred and Fifty Paise only" in text
    assert "INV-2026-27-000042, INV-2026-27-000043" in text


def test_same_document_same_bytes() -> None:
    assert render_invoice_pdf(_invoice()) == render_invoice_pdf(_invoice())
    assert render_receipt_pdf(_receipt()) == render_receipt_pdf(_receipt())
    assert render_invoice_pdf(_invoice()) != render_invoice_pdf(_invoice(number="INV-2"))


def test_devanagari_rupee_and_emoji_do_not_break_it() -> None:
    doc = _invoice(
        clinic_name="रोशनी क्लिनिक 🌸 ₹",
        billed_to="Priya प्रिया 👩‍👧\u200d",
        patient_name="🧒🏽",
        lines=(DocumentLine("Séance d’orthophonie — 45 min ✅ 診所 Клиника \x07", 1, 100, 100),),
        notes="\ud800 lone surrogate, \x00 control",
    )
    pdf = render_invoice_pdf(doc)
    text = _text(pdf)
    assert "INV-2026-27-000042" in text
    assert "Priya" in text
    assert "Séance d’orthophonie — 45 min" in text
    assert "Patient" not in text  # nothing drawable was left of the emoji-only name
    assert render_receipt_pdf(_receipt(received_from="अनिल 🙏", method="UPI 💳"))


def test_core_font_fallback_never_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf, "unicode_font", lambda: None)
    doc = _invoice(clinic_name="रोशनी Clinic 🌸", billed_to="Zoë Šimek Őrs Łukasz")
    text = _text(render_invoice_pdf(doc))
    assert "Rs 1,200.00" in text
    assert "Clinic" in text and "Zoë Šimek Ors ?ukasz" in text
    assert "Rs 1,200.50" in _text(render_receipt_pdf(_receipt()))


def test_long_text_wraps_and_pages() -> None:
    doc = _invoice(
        clinic_name="Clinic " * 100,
        clinic_address="Street " * 200,
        billed_to="x" * 1000,
        lines=tuple(
            DocumentLine("w" * 3000 if i % 5 == 0 else f"Session {i} " * 30, 1, 100, 100)
            for i in range(40)
        ),
        notes="note " * 1000,
    )
    reader = PdfReader(BytesIO(render_invoice_pdf(doc)))
    assert len(reader.pages) > 1
    last = reader.pages[-1].extract_text()
    assert "Balance due" in last
    assert "page" in last


def test_empty_invoice_renders() -> None:
    assert "Subtotal" in _text(render_invoice_pdf(_invoice(lines=())))


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "expected"),
    [
        (120000, "INR", "en_IN", "₹1,200.00"),
        (12000000, "INR", "en_IN", "₹1,20,000.00"),
        (1234567890, "INR", "en_IN", "₹1,23,45,678.90"),
        (123456, "USD", "en_US", "$1,234.56"),
        (123456, "JPY", "en_US", "¥123,456"),
        (-5000, "INR", "en_IN", "-₹50.00"),
    ],
)
def test_document_amounts_group_by_the_documents_locale(
    minor: int, currency: str, locale: str, expected: str
) -> None:
    assert format_money(minor, currency, locale=locale) == expected


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (120000, "INR", "Rupees One Thousand Two Hundred only"),
        (120500, "INR", "Rupees One Thousand Two Hundred Five only"),
        (100, "INR", "Rupees One only"),
        (1, "INR", "Rupees Zero and One Paise only"),
        (0, "INR", "Rupees Zero only"),
        (
            1234567899,
            "INR",
            "Rupees One Crore Twenty-Three Lakh Forty-Five Thousand "
            "Six Hundred Seventy-Eight and Ninety-Nine Paise only",
        ),
        (123456, "USD", "USD One Thousand Two Hundred Thirty-Four and 56/100 only"),
        (1200, "JPY", "JPY One Thousand Two Hundred only"),
        (-2500, "INR", "Minus Rupees Twenty-Five only"),
    ],
)
def test_money_in_words(minor: int, currency: str, expected: str) -> None:
    assert money_in_words(minor, currency) == expected
