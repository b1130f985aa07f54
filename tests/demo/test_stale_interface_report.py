"""The demo county with the payments stopped in October: the year's report shows it (issue 18).

`oversight demo --stale-interface fin_payment` writes the annual report of a county whose
国库集中支付明细 delivers nothing from 2021-10-01. Its 数据接口 panel shows fin_payment red
(停滞) with its last delivery in September, every other interface as `oversight sources`
finds it on 2021-12-31 (all ok, tests/demo/test_sources_demo.py), and every township's fourth
quarter and year carry the mark: the payments models read (ENG06, ENG07, FIN04, FIN05,
FUN05) found nothing in Q4 anywhere. Q1–Q3 carry none: on their last days every source a
score stands on was fresh enough (build_settlement, stale on 03-31, is read by no model).
"""

from __future__ import annotations

import contextlib
import io
import sys
from datetime import date
from pathlib import Path

import pytest

from adapters import connect
from engine import api
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.sources import check_sources

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests" / "report") not in sys.path:  # the report tests' small DOM
    sys.path.insert(0, str(ROOT / "tests" / "report"))

from report_dom import Node, parse  # noqa: E402


@pytest.fixture(scope="module")
def stopped(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("stopped-report")
    url = f"duckdb:///{folder / 'demo.duckdb'}"
    page = folder / "report.html"
    args = [
        *("demo", "--policies", str(ROOT / "policies"), "--size", "0.05"),
        *("--warehouse", url, "--report", str(page), "--advice", str(folder / "advice")),
        *("--stale-interface", "fin_payment"),
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == ExitCode.OK
    return page, url


@pytest.fixture(scope="module")
def page(stopped: tuple[Path, str]) -> Node:
    return parse(stopped[0].read_text(encoding="utf-8"))


def test_the_panel_shows_the_stopped_interface_red_and_the_rest_as_sources_finds_them(
    stopped, page
):
    pack = api.load_pack(ROOT / "policies").pack
    warehouse = connect(stopped[1], read_only=True)
    try:
        health = check_sources(warehouse, pack, {}, date(2021, 12, 31))
    finally:
        warehouse.close()
    rows = {r.attrs["data-source"]: r for r in page.by_id("sources").find_all("tr", "source-row")}
    assert list(rows) == [h.name for h in health] == list(pack.sources)
    assert {n: r.attrs["data-status"] for n, r in rows.items()} == {
        n: "stale" if n == "fin_payment" else "ok" for n in pack.sources
    }
    payments = rows["fin_payment"]
    assert payments.find("span", "light").text() == "■ 停滞"
    assert "src-stale" in payments.find("span", "light").classes
    latest = date.fromisoformat(payments.find("td", "date").text())
    assert latest < date(2021, 10, 1)
    assert latest == next(h.latest for h in health if h.name == "fin_payment")
    lag = (date(2021, 12, 31) - latest).days
    assert lag > 30 and payments.find("td", "lag").text() == f"{lag}天"
    assert payments.find("td", "reasons").text() == (
        f"最新数据已 {lag} 天，超过 30 days；近 30 天新增 0 行，少于 100 行"
    )


def test_every_townships_fourth_quarter_and_year_carry_the_mark_and_no_earlier_quarter(page):
    marked = page.by_id("sources").find("div", "source-marks").find_all("li")
    assert [li.attrs["data-period"] for li in marked] == ["2021年第四季度", "2021年度"]
    assert all(li.text().endswith("（国库集中支付明细）") for li in marked)
    towns = page.find_all("section", "town")
    assert len(towns) == 14
    for town in towns:
        cells = town.find("table", "town-trend").find_all("td")
        tips = [[m.attrs["title"] for m in c.find_all("span", "feed-mark")] for c in cells]
        assert [bool(t) for t in tips] == [False, False, False, True, True], town.attrs["id"]
        assert "国库集中支付明细（fin_payment）已" in tips[3][0]
    ranking = page.find_all("tr", "rank-row")
    assert len(ranking) == 14
    assert all(r.find_all("span", "feed-mark") for r in ranking)
    assert len(page.find_all("span", "tile-mark")) == 14
