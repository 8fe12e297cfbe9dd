"""Invoice and receipt PDFs: plain frozen dataclasses in, PDF bytes out.

Pure rendering (no database, no Flask), so billing code builds a document from what it
holds and tests check the result byte for byte. Money stays in integer minor units until
Babel formats it; nothing here goes through a float.

Fonts: names may hold ₹, Devanagari or emoji, and the core PDF fonts are latin-1 only.
Mukta (the ``fontpkg-mukta`` wheel, OFL) covers Latin, Latin-1, Latin Extended-A,
Devanagari and ₹, in a regular and a bold; ``uharfbuzz`` shapes Devanagari conjuncts when
installed. A character the font lacks (emoji, other scripts) is swapped, dropped or shown
as "?", never fatal. Without the font package, Helvetica is used the same way (₹ → "Rs").
Output is deterministic: the PDF's creation date comes from the document's own date.
"""

from __future__ import annotations

import contextlib
import functools
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib import resources

from babel.dates import format_date
from babel.numbers import get_currency_precision
from fontTools.ttLib import TTFont
from fpdf import FPDF, FontFace
from fpdf.errors import FPDFException
from num2words import num2words

from core.formatting import format_money


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


@functools.cache
def _unicode_font() -> tuple[str, str, frozenset[int]] | None:
    """Mukta's regular and bold from its wheel, with the code points both draw; or None
    (then core Helvetica) when it is not installed."""
    try:
        folder = resources.files("fontpkg_mukta") / "files"
    except ModuleNotFoundError:
        return None
    paths = [folder / "Mukta-Regular.ttf", folder / "Mukta-Bold.ttf"]
    if not all(path.is_file() for path in paths):
        return None
    cmaps = []
    for path in paths:
        with TTFont(str(path), lazy=True) as font:
            cmaps.append(frozenset(font.getBestCmap()))
    return str(paths[0]), str(paths[1]), cmaps[0] & cmaps[1]


# Stand-ins for characters the font in use lacks; emoji, joiners and controls are dropped.
_SWAPS = dict(zip("…—–−‘’“”•·", ("...", "-", "-", "-", "'", "'", '"', '"', "-", "-"), strict=True))
_SWAPS |= {"₹": "Rs ", "№": "No."}
_JOINERS = {"\u200c", "\u200d"}
_DROP = {"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Mc", "Me", "So", "Sk"}


class _Pdf(FPDF):
    def __init__(self, doc: InvoiceDocument | ReceiptDocument, *, on: date, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        font = _unicode_font()
        self._codepoints = font[2] if font else None
        if font is not None:
            self.face = "mukta"
            self.add_font(self.face, "", font[0])
            self.add_font(self.face, "B", font[1])
            # HarfBuzz guesses one script per run from its first letter, so "Clinic प्रिया"
            # would shape as Latin: a document with any Devanagari is shaped as Devanagari
            # (Latin only loses a little kerning there).
            script = "deva" if any("\u0900" <= c <= "\u097f" for c in repr(doc)) else None
            with contextlib.suppress(FPDFException):  # uharfbuzz missing: unshaped Devanagari
                self.set_text_shaping(True, script=script)
        else:
            self.face = "helvetica"
            self.core_fonts_encoding = "cp1252"
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=20)
        self.set_creation_date(datetime.combine(on, time(12), tzinfo=UTC))
        self.set_title(self.clean(title, 200))
        self.set_author(self.clean(doc.clinic_name, 200))
        self.set_creator("Roshni")
        self._reference = self.clean(doc.number, 60)
        self.locale = doc.locale
        self.add_page()

    def covers(self, char: str) -> bool:
        if self._codepoints is not None:
            return ord(char) in self._codepoints
        try:
            char.encode("cp1252")
        except UnicodeEncodeError:
            return False
        return unicodedata.category(char) != "Cc"

    def clean(self, text: str | None, limit: int = 200, *, lines: bool = False) -> str:
        """Only characters the font can draw, whitespace collapsed, at most ``limit`` long."""
        out: list[str] = []
        dropped = False  # joiners only survive between two kept characters (not in 👩‍👧)
        for char in unicodedata.normalize("NFC", text or ""):
            if char in _JOINERS and (dropped or not out):
                continue
            dropped = False
            if char == "\n" and lines:
                out.append("\n")
            elif char.isspace():
                out.append(" ")
            elif self.covers(char):
                out.append(char)
            elif char in _SWAPS and all(self.covers(c) for c in _SWAPS[char]):
                out.append(_SWAPS[char])
            elif self.covers(base := unicodedata.normalize("NFKD", char)[0]) and base.isalnum():
                out.append(base)  # Ŋ → N under Helvetica
            elif unicodedata.category(char) not in _DROP:
                out.append("?")
            else:
                dropped = True
                while out and out[-1] in _JOINERS:
                    out.pop()
        rows = [" ".join(row.split()) for row in "".join(out).split("\n")]
        cleaned = "\n".join(row for row in rows if row)
        if len(cleaned) > limit:
            ellipsis = "…" if self.covers("…") else "..."
            cleaned = cleaned[: limit - len(ellipsis)].rstrip() + ellipsis
        return cleaned

    def style(self, size: float, *, bold: bool = False, grey: bool = False) -> None:
        self.set_font(self.face, "B" if bold else "", size)
        self.set_text_color(95 if grey else 20)

    def para(self, text: str, size: float = 10, *, bold=False, grey=False, height=5.0) -> None:
        """A full-width block that wraps (text already cleaned)."""
        if text:
            self.style(size, bold=bold, grey=grey)
            self.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-14)
        self.style(8, grey=True)
        self.cell(0, 5, "Computer-generated; no signature required.")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"{self._reference}  ·  page {self.page_no()}", align="R")

    def rule(self, gap: float = 3) -> None:
        self.set_draw_color(200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(gap)


def _header(pdf: _Pdf, doc: InvoiceDocument | ReceiptDocument, title: str) -> None:
    pdf.para(pdf.clean(doc.clinic_name, 120), 16, bold=True, height=7)
    pdf.para(pdf.clean(doc.clinic_address, 300, lines=True), 9, grey=True, height=4.5)
    contact = [f"Phone {pdf.clean(doc.clinic_phone, 40)}" if doc.clinic_phone else ""]
    if doc.tax_id:
        label = "GSTIN" if doc.currency == "INR" else "Tax ID"
        contact.append(f"{label} {pdf.clean(doc.tax_id, 40)}")
    pdf.para("   ".join(part for part in contact if part), 9, grey=True, height=4.5)
    pdf.ln(2)
    pdf.rule(4)
    pdf.para(title, 18, bold=True, height=9)
    pdf.ln(2)


def _pairs(pdf: _Pdf, x: float, y: float, rows: list[tuple[str, str]], width: float) -> float:
    """Label/value rows in a column starting at (x, y); returns the y below them."""
    for label, value in rows:
        pdf.set_xy(x, y)
        pdf.style(9, grey=True)
        pdf.cell(28, 5.5, label)
        pdf.style(10, bold=True)
        pdf.multi_cell(width - 28, 5.5, value, new_x="LMARGIN", new_y="NEXT")
        y = pdf.get_y()
    return y


def _columns(pdf: _Pdf, left: list[tuple[str, str]], kind: str, number: str, on: date) -> None:
    """The parties on the left; the document's number and date on the right."""
    date_text = format_date(on, "d MMM y", locale=pdf.locale)
    right = [(f"{kind} no.", pdf.clean(number, 60)), ("Date", pdf.clean(date_text))]
    half, top = pdf.epw / 2, pdf.get_y()
    bottom = max(
        _pairs(pdf, pdf.l_margin, top, left, half - 4),
        _pairs(pdf, pdf.l_margin + half + 4, top, right, half - 4),
    )
    pdf.set_xy(pdf.l_margin, bottom + 4)


def _totals(pdf: _Pdf, rows: list[tuple[str, str, bool]]) -> None:
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
    pdf = _Pdf(doc, on=doc.issued_on, title=f"{title} {doc.number}")

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
    pdf = _Pdf(doc, on=doc.received_on, title=f"Receipt {doc.number}")
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
