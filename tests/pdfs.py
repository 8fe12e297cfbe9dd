"""Looking at a PDF the way a reader does: pdfium (the engine of Chromium's PDF viewer)
draws its first page, reads its words and counts what is drawn on it."""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2
import pypdfium2.raw as pdfium_raw
from PIL import Image

SHAPES = pdfium_raw.FPDF_PAGEOBJ_PATH  # lines, bars, dots
PICTURES = pdfium_raw.FPDF_PAGEOBJ_IMAGE


@dataclass(frozen=True)
class PdfPage:
    text: str
    image: Image.Image  # greyscale, at 72 dpi
    inked_share: float  # the share of the page's pixels that are not near-white


def first_page(pdf: bytes) -> PdfPage:
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        text = page.get_textpage().get_text_range()
        image = page.render(scale=1).to_pil().convert("L")
    finally:
        document.close()
    inked = sum(image.histogram()[:200])
    return PdfPage(text=text, image=image, inked_share=inked / (image.width * image.height))


def drawn(pdf: bytes, kind: int) -> int:
    """How many objects of ``kind`` (``SHAPES``, ``PICTURES``) the first page draws."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        return sum(1 for _ in document[0].get_objects(filter=[kind]))
    finally:
        document.close()
