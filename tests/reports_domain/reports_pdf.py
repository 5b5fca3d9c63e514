"""A PDF as a reader sees it: its pages rendered to images (pypdfium2) and its text."""

from __future__ import annotations

from typing import Any

import pypdfium2 as pdfium

#: The fill colour of the bars of every report chart.
BAR_BLUE = (0x1F, 0x5F, 0xA8)


def read_pdf(pdf: bytes) -> tuple[int, list[Any], str]:
    """Page count, each page as an RGB image, and the text of all pages."""
    doc = pdfium.PdfDocument(pdf)
    images = [doc[i].render(scale=1.5).to_pil().convert("RGB") for i in range(len(doc))]
    text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    return len(doc), images, text


def _colors(image: Any) -> list[tuple[int, tuple[int, int, int]]]:
    return image.getcolors(maxcolors=image.width * image.height)


def ink(image: Any) -> float:
    """Share of the page's pixels that are not (nearly) white."""
    total = image.width * image.height
    return sum(n for n, c in _colors(image) if sum(c) < 720) / total


def bar_pixels(image: Any) -> int:
    """Pixels painted in the charts' bar colour."""
    return sum(
        n
        for n, c in _colors(image)
        if all(abs(x - b) < 25 for x, b in zip(c, BAR_BLUE, strict=True))
    )
