"""Invoice and receipt PDFs: plain frozen dataclasses in, PDF bytes out.

Pure rendering (no database, no Flask), so billing code builds a document from what it
holds and tests check the result byte for byte. Money stays in integer minor units until
Babel formats it; nothing here goes through a float.

The page itself (fonts, cleaning of names with ₹, Devanagari or emoji, the footer) is
``core.pdf.Pdf``. Output is deterministic: the PDF's creation date comes from the
document's own date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.numbers import get_currency_precision
from fpdf import FontFace
from num2words import num2words

from core.formatting import format_full_day, format_money
from core.pdf import Pdf


@dataclass(frozen=True)
class DocumentLine:
    description: str
    quantity: int
    unit_minor: int
    amount_minor: int


@dataclass(frozen=True)
class InvoiceDocument:
    clinic_name: str
    clinic_address: str | None
    clinic_phone: str | None
    tax_id: str | None  # GSTIN for Indian clinics
    number: str  # "INV-2026-27-000042"
    issued_on: date
    billed_to: str
    billed_phone: str | None
    patient_name: str
    currency: str  # ISO 4217
    lines: tuple[DocumentLine, ...]
    subtotal_minor: int
    tax_label: str | None  # "GST"
    tax_rate_bp: int  # basis points: 1800 = 18%
    tax_minor: int
    total_minor: int
    paid_minor: int
    due_minor: int
    locale: str = "en_IN"
    amount_in_words: bool = True
    notes: str | None = None
    logo: bytes | None = field(default=None, repr=False)  # a PNG (services.clinics.logo)


@dataclass(frozen=True)
class ReceiptDocument:
    clinic_name: str
    clinic_address: str | None
    clinic_phone: str | None
    tax_id: str | None
    number: str  # "RCPT-000123", given by the caller
    received_on: date
    received_from: str
    invoice_numbers: tuple[str, ...]
    method: str  # "UPI", "Cash"
    reference: str | None  # the provider's payment id
    currency: str
    amount_minor: int
    locale: str = "en_IN"
    amount_in_words: bool = True
    logo: bytes | None = field(default=None, repr=False)


def _words(number: int, lang: str) -> str:
    """``1205`` → ``One Thousand Two Hundred Five``: no commas, no inner "and"."""
    words = num2words(number, lang=lang).replace(",", " ").split()
    return " ".join(word.title() for word in words if word != "and")


def money_in_words(amount_minor: int, currency: str) -> str:
    """``120050, "INR"`` → ``Rupees One Thousand Two Hundred and Fifty Paise only``;
    other currencies read ``USD Twelve and 50/100 only``."""
    precision = get_currency_precision(currency)
    major, minor = divmod(abs(amount_minor), 10**precision)
    sign = "Minus " if amount_minor < 0 else ""
    if currency == "INR":
        text = f"Rupees {_words(major, 'en_IN')}"
        if minor:
            text += f" and {_words(minor, 'en_IN')} Paise"
    else:
        text = f"{currency} {_words(major, 'en')}"
        if minor:
            text += f" and {minor:0{precision}d}/{10**precision}"
    return f"{sign}{text} only"


def _percent(basis_points: int) -> str:
    return f"{Decimal(basis_points).scaleb(-2).normalize():f}%"  # 1800 → 18%, 1250 → 12.5%


def _page(doc: InvoiceDocument | ReceiptDocument, *, on: date, title: str) -> Pdf:
    return Pdf(
        clinic_name=doc.clinic_name,
        reference=doc.number,
        locale=doc.locale,
        on=on,
        title=title,
        text=repr(doc),
    )


def _header(pdf: Pdf, doc: InvoiceDocument | ReceiptDocument, title: str) -> None:
    pdf.letterhead(doc.clinic_name, doc.clinic_address, doc.logo)
    contact = [f"Phone {pdf.clean(doc.clinic_phone, 40)}" if doc.clinic_phone else ""]
    if doc.tax_id:
        label = "GSTIN" if doc.currency == "INR" else "Tax ID"
        contact.append(f"{label} {pdf.clean(doc.tax_id, 40)}")
    pdf.para("   ".join(part for part in contact if part), 9, grey=True, height=4.5)
    pdf.ln(2)
    pdf.rule(4)
    pdf.para(title, 18, bold=True, height=9)
    pdf.ln(2)


def _pairs(pdf: Pdf, x: float, y: float, rows: list[tuple[str, str]], width: float) -> float:
    """Label/value rows in a column starting at (x, y); returns the y below them."""
    for label, value in rows:
        pdf.set_xy(x, y)
        pdf.style(9, grey=True)
        pdf.cell(28, 5.5, label)
        pdf.style(10, bold=True)
        pdf.multi_cell(width - 28, 5.5, value, new_x="LMARGIN", new_y="NEXT")
        y = pdf.get_y()
    return y


def _columns(pdf: Pdf, left: list[tuple[str, str]], kind: str, number: str, on: date) -> None:
    """The parties on the left; the document's number and date on the right."""
    date_text = format_full_day(on, locale=pdf.locale)
    right = [(f"{kind} no.", pdf.clean(number, 60)), ("Date", pdf.clean(date_text))]
    half, top = pdf.epw / 2, pdf.get_y()
    bottom = max(
        _pairs(pdf, pdf.l_margin, top, left, half - 4),
        _pairs(pdf, pdf.l_margin + half + 4, top, right, half - 4),
    )
    pdf.set_xy(pdf.l_margin, bottom + 4)


def _totals(pdf: Pdf, rows: list[tuple[str, str, bool]]) -> None:
    if pdf.will_page_break(7 * len(rows) + 4):
        pdf.add_page()
    pdf.ln(2)
    for label, value, strong in rows:
        pdf.set_x(pdf.l_margin + pdf.epw - 100)
        pdf.style(10, bold=strong, grey=not strong)
        pdf.cell(55, 7, label, align="R")
        pdf.style(11 if strong else 10, bold=strong)
        pdf.cell(45, 7, value, align="R", new_x="LMARGIN", new_y="NEXT")


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    title = "Tax invoice" if doc.tax_rate_bp > 0 else "Invoice"
    pdf = _page(doc, on=doc.issued_on, title=f"{title} {doc.number}")

    def money(amount_minor: int) -> str:
        return pdf.clean(format_money(amount_minor, doc.currency), 60)

    _header(pdf, doc, title)
    billed = [("Billed to", pdf.clean(doc.billed_to, 120) or "-")]
    if doc.billed_phone:
        billed.append(("Phone", pdf.clean(doc.billed_phone, 40)))
    patient = pdf.clean(doc.patient_name, 120)
    if patient and patient != billed[0][1]:
        billed.append(("Patient", patient))
    _columns(pdf, billed, "Invoice", doc.number, doc.issued_on)

    pdf.set_draw_color(200)
    pdf.style(10)
    with pdf.table(
        col_widths=(96, 14, 35, 35),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="BOLD", fill_color=(238, 238, 238)),
        line_height=6,
        padding=(1.5, 2),
    ) as table:
        table.row(("Description", "Qty", "Rate", "Amount"))
        for line in doc.lines:
            description = pdf.clean(line.description, 300) or "-"
            amounts = money(line.unit_minor), money(line.amount_minor)
            table.row((description, str(line.quantity), *amounts))

    rows = [("Subtotal", money(doc.subtotal_minor), False)]
    if doc.tax_minor > 0:
        label = pdf.clean(doc.tax_label, 30) or "Tax"
        rate = f" {_percent(doc.tax_rate_bp)}" if doc.tax_rate_bp > 0 else ""
        rows.append((f"{label}{rate}", money(doc.tax_minor), False))
    rows += [
        ("Total", money(doc.total_minor), True),
        ("Paid", money(doc.paid_minor), False),
        ("Balance due", money(doc.due_minor), True),
    ]
    _totals(pdf, rows)
    if doc.amount_in_words:
        pdf.ln(3)
        pdf.para(f"Amount in words: {money_in_words(doc.total_minor, doc.currency)}", 9.5)
    if doc.notes:
        pdf.ln(3)
        pdf.para(pdf.clean(f"Notes: {doc.notes}", 1000, lines=True), 9, grey=True, height=4.5)
    return bytes(pdf.output())


def render_receipt_pdf(doc: ReceiptDocument) -> bytes:
    pdf = _page(doc, on=doc.received_on, title=f"Receipt {doc.number}")
    _header(pdf, doc, "Payment receipt")
    received = [
        ("Received from", pdf.clean(doc.received_from, 120) or "-"),
        ("Method", pdf.clean(doc.method, 40) or "-"),
    ]
    if doc.reference:
        received.append(("Reference", pdf.clean(doc.reference, 80)))
    _columns(pdf, received, "Receipt", doc.number, doc.received_on)
    pdf.rule(4)
    pdf.style(11, grey=True)
    pdf.cell(45, 10, "Amount received")
    pdf.style(18, bold=True)
    amount = pdf.clean(format_money(doc.amount_minor, doc.currency), 60)
    pdf.cell(0, 10, amount, new_x="LMARGIN", new_y="NEXT")
    if doc.amount_in_words:
        pdf.ln(3)
        pdf.para(f"Amount in words: {money_in_words(doc.amount_minor, doc.currency)}", 9.5)
    if doc.invoice_numbers:
        pdf.ln(3)
        towards = ", ".join(doc.invoice_numbers)
        label = "Towards invoice" if len(doc.invoice_numbers) == 1 else "Towards invoices"
        pdf.para(pdf.clean(f"{label} {towards}", 1500), 10)
    return bytes(pdf.output())
