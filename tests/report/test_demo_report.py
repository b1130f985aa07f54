"""The report of the demo county, written by `oversight report`, opens clean in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import CHROMIUM, chromium, console_messages
from report_dom import parse

from engine import api
from engine.cli import main
from engine.demo import demo_run
from engine.demo.generator import generate

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it with fonts-noto-cjk)",
)


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo-report")
    url = f"duckdb:///{folder / 'demo.duckdb'}"
    demo_run.build_warehouse(url, generate(size=0.05, seed=2021))
    demo_run.run_month_ends(api.load_pack(ROOT / "policies"), url)
    page = folder / "report.html"
    assert main(["report", "--period", "2021", "--warehouse", url, "--output", str(page)]) == 0
    return page


def test_the_demo_report_opens_with_no_console_errors(demo_page: Path, tmp_path: Path):
    result = chromium(demo_page, tmp_path, "--dump-dom")
    assert console_messages(result.stderr) == []
    dom = parse(result.stdout)
    assert len(dom.find_all("a", "tile")) == 14


def test_the_demo_report_masks_resident_ids(demo_page: Path):
    text = demo_page.read_text(encoding="utf-8")
    # FUN04's messages name the person by id; the page shows 330122********NNNN.
    assert "330122********" in text
    assert "330122198111229518" not in text
