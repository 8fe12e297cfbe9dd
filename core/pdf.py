"""The clinic's PDF page, shared by every document Roshni renders (invoices, receipts,
progress reports): fonts, text cleaning, margins and footer. Pure rendering.

Fonts: names may hold ₹, Devanagari or emoji, and the core PDF fonts are latin-1 only.
Mukta (the ``fontpkg-mukta`` wheel, OFL) covers Latin, Latin-1, Latin Extended-A,
Devanagari and ₹, in a regular and a bold; ``uharfbuzz`` shapes Devanagari conjuncts when
installed. A character the font lacks (emoji, other scripts) is swapped, dropped or shown
as "?", never fatal. Without the font package, Helvetica is used the same way (₹ → "Rs").
"""

from __future__ import annotations

import contextlib
import functools
import unicodedata
from datetime import UTC, date, datetime, time
from importlib import resources
from io import BytesIO

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.errors import FPDFException
from PIL import Image


@functools.cache
def unicode_font() -> tuple[str, str, frozenset[int]] | None:
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


LOGO_BOX = (50.0, 18.0)  # mm: the widest and tallest a logo is drawn

# Stand-ins for characters the font in use lacks; emoji, joiners and controls are dropped.
_SWAPS = dict(zip("…—–−‘’“”•·", ("...", "-", "-", "-", "'", "'", '"', '"', "-", "-"), strict=True))
_SWAPS |= {"₹": "Rs ", "№": "No."}
_JOINERS = {"\u200c", "\u200d"}
_DROP = {"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Mc", "Me", "So", "Sk"}


class Pdf(FPDF):
    """An A4 page in the clinic's name: the font that draws what it can, cleaning of any
    text before it is drawn, and a footer with the document's reference."""

    def __init__(
        self,
        *,
        clinic_name: str,
        reference: str,
        locale: str,
        on: date,
        title: str,
        text: str,
        footer_note: str = "Computer-generated; no signature required.",
        page_word: str = "page",
    ) -> None:
        """``text``: the document's words, to choose how Devanagari is shaped."""
        super().__init__(orientation="portrait", unit="mm", format="A4")
        font = unicode_font()
        self._codepoints = font[2] if font else None
        if font is not None:
            self.face = "mukta"
            self.add_font(self.face, "", font[0])
            self.add_font(self.face, "B", font[1])
            # HarfBuzz guesses one script per run from its first letter, so "Clinic प्रिया"
            # would shape as Latin: a document with any Devanagari is shaped as Devanagari
            # (Latin only loses a little kerning there).
            script = "deva" if any("\u0900" <= c <= "\u097f" for c in text) else None
            with contextlib.suppress(FPDFException):  # uharfbuzz missing: unshaped Devanagari
                self.set_text_shaping(True, script=script)
        else:
            self.face = "helvetica"
            self.core_fonts_encoding = "cp1252"
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=20)
        self.set_creation_date(datetime.combine(on, time(12), tzinfo=UTC))
        self.set_title(self.clean(title, 200))
        self.set_author(self.clean(clinic_name, 200))
        self.set_creator("Roshni")
        self._reference = self.clean(reference, 60)
        self._footer_note = footer_note
        self._page_word = page_word
        self.locale = locale
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

    def letterhead(self, name: str, address: str | None, logo: bytes | None = None) -> None:
        """The clinic's name and address at the top left; its logo, if it has one, at the
        top right (``LOGO_BOX`` at most, its shape kept). Text given raw: cleaned here."""
        top, text_width = self.get_y(), 0.0
        height = 0.0
        if logo:
            with Image.open(BytesIO(logo)) as picture:
                ratio = picture.width / picture.height
            width, height = LOGO_BOX[1] * ratio, LOGO_BOX[1]
            if width > LOGO_BOX[0]:
                width, height = LOGO_BOX[0], LOGO_BOX[0] / ratio
            self.image(BytesIO(logo), x=self.w - self.r_margin - width, y=top, w=width, h=height)
            text_width = self.epw - width - 5
        self.style(16, bold=True)
        self.multi_cell(text_width, 7, self.clean(name, 120), new_x="LMARGIN", new_y="NEXT")
        if address:
            self.style(9, grey=True)
            text = self.clean(address, 300, lines=True)
            self.multi_cell(text_width, 4.5, text, new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(self.get_y(), top + height + 1))

    def footer(self) -> None:
        self.set_y(-14)
        self.style(8, grey=True)
        self.cell(0, 5, self._footer_note)
        self.set_x(self.l_margin)
        self.cell(0, 5, f"{self._reference}  ·  {self._page_word} {self.page_no()}", align="R")

    def rule(self, gap: float = 3) -> None:
        self.set_draw_color(200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(gap)
