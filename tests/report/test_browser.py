"""The page in Debian's headless Chromium: scripts run clean, filters work, it draws and prints.

Chromium writes what the page logs to stderr with --enable-logging=stderr,
one line per message and without its level, e.g.

    [..:INFO:CONSOLE:2] "Uncaught ReferenceError: f is not defined", source: file:///p.html (2)

so the page must log nothing at all: any console line from it (an uncaught
error, console.error, a fetch the Content-Security-Policy refused) fails the
test. Two tests prove that the detector sees such lines. Each run gets a
fresh profile and no network features; each takes about a second.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections import Counter
from pathlib import Path

import pytest
from browser import CHROMIUM, chromium, console_messages
from report_dom import Node, parse
from report_sample import TOWNSHIPS

from engine.reporting.report import ReportData

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it with fonts-noto-cjk)",
)


@pytest.fixture
def page(html: str, tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def dump(page: Path, tmp_path: Path, *args: str) -> tuple[Node, list[str]]:
    result = chromium(page, tmp_path, *args, "--dump-dom")
    return parse(result.stdout), console_messages(result.stderr)


# ---- the detector ----------------------------------------------------------------------------


def test_the_detector_sees_an_uncaught_error(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><p>坏页面</p>'
        "<script>notDefinedAnywhere();</script></body></html>",
        encoding="utf-8",
    )
    _, messages = dump(page, tmp_path)
    assert any("Uncaught ReferenceError" in m and "notDefinedAnywhere" in m for m in messages)


def test_the_detector_sees_a_refused_fetch(tmp_path: Path, html: str) -> None:
    """The page's own policy refuses any fetch, and the refusal is a console line."""
    page = tmp_path / "fetching.html"
    page.write_text(
        html.replace("<body>", '<body><img alt="" src="http://example.invalid/x.png">', 1),
        encoding="utf-8",
    )
    _, messages = dump(page, tmp_path)
    assert any("Content Security Policy" in m and "example.invalid" in m for m in messages)


# ---- the page --------------------------------------------------------------------------------


def test_the_script_runs_clean_and_sets_up_the_filters(
    page: Path, tmp_path: Path, data: ReportData
) -> None:
    dom, messages = dump(page, tmp_path)
    assert messages == []
    assert dom.find("html").attrs.get("data-ready") == "1"
    assert "hidden" not in dom.by_id("filters").attrs
    total = data.warnings.num_rows
    count = dom.by_id("f-count")
    assert count.text() == f"显示 {total} / {total} 条"
    assert len(dom.find_all("a", "tile")) == len(TOWNSHIPS)
    assert len(dom.find_all("tr", "rank-row")) == len(TOWNSHIPS)


def test_without_script_the_page_is_whole(html: str, tmp_path: Path, data: ReportData) -> None:
    """As a reader with scripts off sees it (Chromium's own switch would also stop --dump-dom)."""
    page = tmp_path / "static.html"
    page.write_text(re.sub(r"<script>.*?</script>", "", html, flags=re.S), encoding="utf-8")
    dom, messages = dump(page, tmp_path)
    assert len(dom.find_all("script")) == 1  # the data only
    assert messages == []
    assert "data-ready" not in dom.find("html").attrs
    assert "hidden" in dom.by_id("filters").attrs
    assert len(dom.find_all("a", "tile")) == len(TOWNSHIPS)
    assert len(dom.find_all("tr", "warning")) == data.warnings.num_rows


def test_the_filters_filter(html: str, tmp_path: Path, data: ReportData) -> None:
    """Choose a township, then search a text, then expand: as a person at the cockpit would."""
    township = "330122102"
    probe = """<script>
      function pick(id, value) {
        var el = document.getElementById(id);
        el.value = value;
        el.dispatchEvent(new Event(id === "f-text" ? "input" : "change"));
      }
      function shown() {
        return Array.prototype.filter.call(
          document.querySelectorAll("tr.warning"), function (r) { return !r.hidden; }).length;
      }
      pick("f-township", "TOWNSHIP");
      document.body.dataset.byTownship = shown();
      pick("f-township", "*");
      pick("f-text", "富春饭店");
      document.body.dataset.byText = shown();
      pick("f-text", "330122198501010015");
      document.body.dataset.byRawId = shown();
      document.getElementById("f-reset").click();
      document.body.dataset.afterReset = shown();
      document.getElementById("f-expand").click();
      document.body.dataset.open = document.querySelectorAll(".warnings details[open]").length;
    </script>""".replace("TOWNSHIP", township)
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom, messages = dump(page, tmp_path)
    assert messages == []
    body = dom.find("body").attrs
    rows = data.warnings.to_pylist()
    assert int(body["data-by-township"]) == sum(1 for w in rows if w["township"] == township)
    assert int(body["data-by-township"]) > 0
    assert int(body["data-by-text"]) == sum(1 for w in rows if "富春饭店" in w["warning_key"])
    assert int(body["data-by-raw-id"]) == 0, "the search must not find what the page masks"
    assert int(body["data-after-reset"]) == len(rows)
    assert int(body["data-open"]) == len(rows)


def _png(path: Path, max_rows: int) -> tuple[int, int, list[bytes]]:
    """Width, height and the top rows of RGB pixels of an 8-bit RGB(A) PNG, as Chromium writes it.

    Pure Python, so only as many rows as the test needs are decoded.
    """
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {"IDAT": b""}
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind = blob[pos + 4 : pos + 8].decode("ascii")
        body = blob[pos + 8 : pos + 8 + length]
        chunks[kind] = chunks.get(kind, b"") + body if kind == "IDAT" else body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks["IHDR"][:10])
    assert depth == 8 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(chunks["IDAT"])
    stride = width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(min(height, max_rows)):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if bpp == 3 else bytes(v for j, v in enumerate(line) if j % 4 != 3))
        previous = line
    return width, height, rows


def test_the_screenshot_is_the_page(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1400,2000")
    assert console_messages(result.stderr) == []
    blob = shot.read_bytes()
    width, height = struct.unpack(">II", blob[16:24])
    assert (width, height) == (1400, 2000)
    # A blank page of this size is about 11 KB; the cockpit is several hundred.
    assert len(blob) > 150_000


def test_the_map_is_painted_in_its_colours(page: Path, tmp_path: Path) -> None:
    """The same 1400 × 2000 page drawn at half the size (Chromium's least), its top counted."""
    shot = tmp_path / "small.png"
    chromium(
        page,
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1400,2000",
        "--force-device-scale-factor=0.5",
    )
    width, height, rows = _png(shot, max_rows=400)  # the header, the figures and the map
    assert (width, height) == (700, 1000)
    pixels = Counter(bytes(row[i : i + 3]) for row in rows for i in range(0, len(row), 3))
    assert len(pixels) > 500

    def near(rgb: tuple[int, int, int]) -> int:
        return sum(n for p, n in pixels.items() if all(abs(p[k] - rgb[k]) <= 12 for k in range(3)))

    # The tiles: green, yellow and red, as the CSS names them (--green, --yellow, --red).
    assert near((0x1E, 0x9E, 0x5A)) > 20_000  # ten tiles of about 3,000 pixels
    assert near((0xE5, 0xA5, 0x0A)) > 4_000  # two
    assert near((0xD4, 0x2D, 0x2D)) > 4_000  # two


def test_it_prints(page: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    result = chromium(page, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert console_messages(result.stderr) == []
    blob = pdf.read_bytes()
    assert blob.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", blob)) >= 3
