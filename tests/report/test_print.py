"""The page printed to PDF by headless Chromium: A4 landscape, and its text is the page's.

There is no pdftotext (poppler-utils) on CI, so the PDF's text is read in pure
Python (pdf_text.py): the township names must be text in the PDF, not only
pixels, so a printed or saved report can be searched and copied from.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import CHROMIUM, chromium, console_messages
from pdf_text import pdf_pages, pdf_text
from report_sample import TOWNSHIPS

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it with fonts-noto-cjk)",
)

A4_LANDSCAPE = (841.92, 594.96)  # 297 × 210 mm in points, as Chromium writes it


@pytest.fixture(scope="module")
def printed(html: str, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("print")
    page = folder / "report.html"
    page.write_text(html, encoding="utf-8")
    pdf = folder / "report.pdf"
    result = chromium(page, folder, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert console_messages(result.stderr) == []
    return pdf.read_bytes()


def test_every_page_is_a4_landscape(printed: bytes) -> None:
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", printed)
    assert len(boxes) >= 3
    for width, height in boxes:
        assert (float(width), float(height)) == pytest.approx(A4_LANDSCAPE, abs=0.1)


def test_the_pdf_holds_every_township_name_as_text(printed: bytes) -> None:
    text = pdf_text(printed)
    assert "廉情地图" in text and "廉情指数排名" in text
    for _, name in TOWNSHIPS:
        # On the map, in the ranking, the trend and the matrix at least.
        assert text.count(name) >= 4, name


def test_each_township_section_prints_on_pages_of_its_own(printed: bytes) -> None:
    """Every section's heading is text in the PDF, and each starts a page (report.css)."""
    text = pdf_text(printed)
    for _, name in TOWNSHIPS:
        assert text.count(f"{name}廉情详情") == 1, name
    pages = pdf_pages(printed)
    starts = [
        i for i, page in enumerate(pages) if "廉情详情" in page and "乡镇（街道）详情" not in page
    ]
    assert len(starts) == len(TOWNSHIPS)
    for i in starts:
        heading = next(line for line in pages[i].splitlines() if line.strip())
        assert heading.endswith("廉情详情"), (i, heading)


def test_the_reader_sees_what_it_does_not_print(tmp_path: Path) -> None:
    """The reader finds no text that was never drawn: it is not reading the HTML's bytes."""
    page = tmp_path / "plain.html"
    page.write_text(
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
        ".gone{display:none}</style></head><body><p>桐君街道</p>"
        '<p class="gone">分水镇</p></body></html>',
        encoding="utf-8",
    )
    pdf = tmp_path / "plain.pdf"
    chromium(page, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    text = pdf_text(pdf.read_bytes())
    assert "桐君街道" in text
    assert "分水镇" not in text
