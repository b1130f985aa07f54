"""The 数据接口 panel, and the mark on a score that stood on a stale source (issue 18).

Two counties built by hand. The small pack below (three townships A, B, C; D has no rows)
judges `stale_marks` and `township_lags` directly, on each warehouse:

    pay      township column, growth 1/month, stale after 30 days. A's last payment
             2021-09-15, B's 12-28, C's 12-15; one undated-township row on 12-30.
    tender   township column, no growth (sparse), stale after 90 days. A's last 03-01,
             B's 08-01 and 11-20, C's 12-01 (and C's 2023-01-01, after every day asked:
             invisible).
    txn      no township column, timestamps, stale after 10 days: 2021-09-29 and 12-30
             at 10:00.
    book     township column, `freshness: none`: A's one row of 2019 never marks.
    unread   stale long ago, but no score stands on it.

Then township_case.py's county in DuckDB with the real pack, and town_reimbursement
(报销单: growth 50 a month, stale after two months) whose rows of 凤川街道 (A) stop on
2021-09-15 while 分水镇 and 横村镇 deliver every day: A's fourth quarter and year carry the
mark, its third quarter does not, and neither do the others; printed, the marks are words.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from browser import CHROMIUM, chromium, console_messages
from pdf_text import pdf_text
from report_dom import Node, parse
from township_case import NAMES, A, B, C, ledger_and_disposal

from adapters import connect
from dsl import ir
from dsl.pack import Pack, load_pack
from engine import api
from engine.index.score import Period
from engine.runs import ledger
from engine.schema import WARNINGS_SCHEMA, source_schema
from engine.sources import STATUS_ZH, StaleMark, check_sources, stale_marks, township_lags

D = "330122999"  # a township of the list with no rows anywhere

PACK = """\
pack: {name: 测试包, version: 0.1.0}
domains: {FIN: 财务}
parameters: {}
sources:
  pay:
    label: 支付
    department: 财政局
    key: [id]
    event_date: paid_on
    freshness: {warn_after: 7 days, error_after: 30 days}
    growth: {min_rows: 1, per: month}
    columns:
      id: {type: string}
      township: {type: string}
      paid_on: {type: date}
  tender:
    label: 招标
    department: 交易中心
    key: [id]
    event_date: published_on
    freshness: {warn_after: 1 month, error_after: 3 months}
    columns:
      id: {type: string}
      township: {type: string}
      published_on: {type: date}
  txn:
    label: 流水
    department: 银行
    key: [id]
    event_date: txn_at
    freshness: {warn_after: 3 days, error_after: 10 days}
    columns:
      id: {type: string}
      txn_at: {type: timestamp}
  book:
    label: 台账
    department: 参考
    key: [id]
    event_date: day
    freshness: none
    columns:
      id: {type: string}
      township: {type: string}
      day: {type: date}
  unread:
    label: 无人读
    department: 参考
    key: [id]
    event_date: day
    freshness: {warn_after: 1 day, error_after: 2 days}
    columns:
      id: {type: string}
      day: {type: date}
"""

DAY = date.fromisoformat
READ = {"pay", "tender", "txn", "book"}
ROWS = {
    "pay": [
        *({"id": f"a{m}", "township": A, "paid_on": date(2021, m, 15)} for m in range(1, 10)),
        *({"id": f"b{m}", "township": B, "paid_on": date(2021, m, 15)} for m in range(1, 13)),
        *({"id": f"c{m}", "township": C, "paid_on": date(2021, m, 15)} for m in range(1, 13)),
        {"id": "b-last", "township": B, "paid_on": DAY("2021-12-28")},
        {"id": "nowhere", "township": None, "paid_on": DAY("2021-12-30")},
    ],
    "tender": [
        {"id": "ta", "township": A, "published_on": DAY("2021-03-01")},
        {"id": "tb-summer", "township": B, "published_on": DAY("2021-08-01")},
        {"id": "tb", "township": B, "published_on": DAY("2021-11-20")},
        {"id": "tc", "township": C, "published_on": DAY("2021-12-01")},
        {"id": "tc-later", "township": C, "published_on": DAY("2023-01-01")},
    ],
    "txn": [
        {"id": "x0", "txn_at": datetime(2021, 9, 29, 10, 0)},
        {"id": "x1", "txn_at": datetime(2021, 12, 30, 10, 0)},
    ],
    "book": [{"id": "k1", "township": A, "day": DAY("2019-01-01")}],
    "unread": [{"id": "u1", "day": DAY("2020-01-01")}],
}


@pytest.fixture(scope="module")
def small_pack(tmp_path_factory) -> Pack:
    folder = tmp_path_factory.mktemp("pack")
    (folder / "pack.yaml").write_text(PACK, encoding="utf-8")
    return load_pack(folder)


@pytest.fixture
def small_county(empty_warehouse: str, small_pack: Pack) -> str:
    warehouse = connect(empty_warehouse)
    try:
        for name, rows in ROWS.items():
            table = pa.Table.from_pylist(rows, schema=source_schema(small_pack.sources[name]))
            warehouse.load(name, table, replace=True)
    finally:
        warehouse.close()
    return empty_warehouse


def marks(url: str, pack: Pack, as_of: str) -> dict[str, tuple[StaleMark, ...]]:
    warehouse = connect(url, read_only=True)
    try:
        return stale_marks(warehouse, pack, {}, DAY(as_of), [A, B, C, D], READ | {"bogus"})
    finally:
        warehouse.close()


def test_each_townships_lag_is_its_own_newest_row_as_of_the_day(
    small_county: str, small_pack: Pack
):
    warehouse = connect(small_county, read_only=True)
    try:
        q4 = township_lags(warehouse, small_pack, {}, DAY("2021-12-31"))
        q3 = township_lags(warehouse, small_pack, {}, DAY("2021-09-30"), ["pay"])
        early = township_lags(warehouse, small_pack, {}, DAY("2021-02-01"), ["tender"])
    finally:
        warehouse.close()
    # txn and unread have no township column; the row of no township is nobody's
    assert q4 == {
        "pay": {A: 107, B: 3, C: 16},
        "tender": {A: 305, B: 41, C: 30},  # C's 2023 tender is not visible on 2021-12-31
        "book": {A: 1095},
    }
    assert q3 == {"pay": {A: 15, B: 15, C: 15}}
    assert early == {"tender": {}}  # nothing published yet: no township has a lag


def test_one_townships_silent_feed_marks_it_alone(small_county: str, small_pack: Pack):
    """On 12-31 pay is fresh as a whole (12-30), but A's payments stopped on 09-15."""
    warehouse = connect(small_county, read_only=True)
    try:
        health = {
            h.name: h.status for h in check_sources(warehouse, small_pack, {}, DAY("2021-12-31"))
        }
    finally:
        warehouse.close()
    assert health == {"pay": "ok", "tender": "ok", "txn": "ok", "book": "ok", "unread": "stale"}
    # tender's A has nothing for 305 days, past its 90: a sparse source marks nobody alone;
    # book is `freshness: none`; unread is stale but no score stands on it.
    assert marks(small_county, small_pack, "2021-12-31") == {A: (StaleMark("pay", "支付", 107),)}
    # On 09-30 A's last payment is 15 days old; tender's newest (B's 08-01) 60, txn's 1.
    assert marks(small_county, small_pack, "2021-09-30") == {}


def test_a_stale_source_without_townships_marks_every_township(small_county: str, small_pack: Pack):
    """On 2022-01-12 txn (last 12-30) is 13 days old, past its 10; pay's A is still silent."""
    found = marks(small_county, small_pack, "2022-01-12")
    txn = StaleMark("txn", "流水", 13)
    assert found == {A: (StaleMark("pay", "支付", 119), txn), B: (txn,), C: (txn,), D: (txn,)}


def test_a_source_stale_as_a_whole_marks_every_township_with_its_own_lag(
    small_county: str, small_pack: Pack
):
    """On 2022-03-31 every dated feed has stopped; D, with no row at all, has no lag."""
    found = marks(small_county, small_pack, "2022-03-31")
    assert {t: [(m.source, m.lag_days) for m in found[t]] for t in found} == {
        A: [("pay", 197), ("tender", 395), ("txn", 91)],
        B: [("pay", 93), ("tender", 131), ("txn", 91)],
        C: [("pay", 106), ("tender", 120), ("txn", 91)],
        D: [("pay", None), ("tender", None), ("txn", 91)],
    }
    # however old, `freshness: none` marks nothing
    assert all(m.source != "book" for t in found for m in found[t])
    assert "book" not in {
        m.source for ms in marks(small_county, small_pack, "2030-01-01").values() for m in ms
    }


# ---- the page, from the warehouse, through api.report -----------------------------------------

REIMBURSEMENT_STOP = DAY("2021-09-15")


@pytest.fixture(scope="module")
def county_url(tmp_path_factory, pack: ir.CheckedPack) -> str:
    """township_case's county in DuckDB, and 报销单 of every day of 2021 but A's after 09-15.

    Each warning recorded by a run on its day of issue, as test_township_sections builds it.
    """
    url = f"duckdb:///{tmp_path_factory.mktemp('county') / 'county.duckdb'}"
    issued, disposal = ledger_and_disposal()
    reimbursements = []
    day = DAY("2021-01-01")
    while day <= DAY("2021-12-31"):
        for code in (A, B, C):
            if code != A or day <= REIMBURSEMENT_STOP:
                reimbursements.append(
                    {
                        "voucher_id": f"{code}-{day}",
                        "township": code,
                        "claimant_id": "p1",
                        "amount": Decimal(100),
                        "expense_on": day,
                    }
                )
        day += timedelta(days=1)
    tables = {
        "sup_disposal": disposal.to_pylist(),
        "town_staffing": [{"township": c, "year": 2021, "staff_count": 40} for c in NAMES],
        "ref_township": [{"township": c, "name": n, "kind": "镇"} for c, n in NAMES.items()],
        "town_reimbursement": reimbursements,
    }
    warehouse = connect(url)
    try:
        for row in issued.to_pylist():
            warning = {k: v for k, v in row.items() if k in WARNINGS_SCHEMA.names}
            warning["as_of"] = row["issued_on"]
            table = pa.Table.from_pylist([warning], schema=WARNINGS_SCHEMA)
            ledger.record(warehouse, table, row["issued_on"], {})
        for name, rows in tables.items():
            schema = source_schema(pack.pack.sources[name])
            warehouse.load(name, pa.Table.from_pylist(rows, schema=schema))
    finally:
        warehouse.close()
    return url


def reported(pack: ir.CheckedPack, url: str, period: str, folder: Path) -> Node:
    path = api.report(pack, Period.parse(period), folder / f"{period}.html", url)
    return parse(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def year_page(pack: ir.CheckedPack, county_url: str, tmp_path_factory) -> Node:
    return reported(pack, county_url, "2021", tmp_path_factory.mktemp("year"))


def mark_tips(node: Node) -> list[str]:
    return [m.attrs.get("title", "") for m in node.find_all("span", "feed-mark")]


def test_the_panel_lists_every_department_and_source_with_its_light(
    year_page: Node, pack: ir.CheckedPack
):
    panel = year_page.by_id("sources")
    assert panel is not None
    sources = pack.pack.sources
    departments = list(dict.fromkeys(s.department for s in sources.values()))
    assert [th.text() for th in panel.find_all("th", "dept")] == departments
    rows = {r.attrs["data-source"]: r for r in panel.find_all("tr", "source-row")}
    assert list(rows) == list(sources)
    delivered = {"town_reimbursement", "sup_disposal", "town_staffing", "ref_township"}
    for name, row in rows.items():
        status = "ok" if name in delivered else "missing"  # the county has nothing else
        assert row.attrs["data-status"] == status, name
        light = row.find("span", "light")
        assert f"src-{status}" in light.classes
        assert light.text() == f"{'●' if status == 'ok' else '○'} {STATUS_ZH[status]}"
    cells = [td.text() for td in rows["town_reimbursement"].find_all("td")]
    # B and C every day: 365 each; A up to 09-15: 258. The latest is 12-31, no lag.
    assert cells[0] == "报销单town_reimbursement"
    assert cells[2:6] == [f"{365 + 365 + 258:,}", "2021-12-31", "0天", ""]
    assert rows["trade_bid"].find("td", "reasons").text() == "数据仓库中没有表 trade_bid"
    counts = panel.find("p", "source-counts").text()
    assert counts == f"● 正常 4个 ○ 缺失 {len(sources) - 4}个"
    assert "截至 2021-12-31 · 15个部门 35个接口" in panel.find("span", "hint").text()


def test_a_townships_silent_feed_marks_its_q4_and_year_only(year_page: Node):
    # The panel's sentence: which periods, which townships, which sources.
    marked = year_page.by_id("sources").find("div", "source-marks").find_all("li")
    assert [li.text() for li in marked] == [
        "2021年第四季度：凤川街道（报销单）",
        "2021年度：凤川街道（报销单）",
    ]
    # A's lag at the fourth quarter's and the year's end: 12-31 − 09-15.
    year_tip = (
        "2021年度得分所依据的数据停滞，截至2021-12-31：报销单（town_reimbursement）已107天无新数据"
    )
    q4_tip = year_tip.replace("2021年度", "2021年第四季度", 1)
    # The year's ranking row, the tile and the section of A; nobody else's.
    ranking = {r.attrs["data-township"]: r for r in year_page.find_all("tr", "rank-row")}
    assert mark_tips(ranking[A]) == [year_tip]
    assert mark_tips(ranking[B]) == mark_tips(ranking[C]) == []
    tiles = {t.attrs["data-township"]: t for t in year_page.find_all("a", "tile")}
    assert tiles[A].find("span", "tile-mark").text() == "⚠ 数据停滞"
    assert tiles[A].attrs["title"].endswith(f"。{year_tip}")
    assert tiles[B].find_all("span", "feed-mark") == tiles[C].find_all("span", "feed-mark") == []
    town = year_page.by_id(f"town-{A}")
    assert mark_tips(town.find("div", "town-standing")) == [year_tip]
    # Its quarters: Q4 and the year marked, Q1–Q3 not.
    cells = town.find("table", "town-trend").find_all("td")
    assert [mark_tips(cell) for cell in cells] == [[], [], [], [q4_tip], [year_tip]]
    assert [li.text() for li in town.find("ul", "feed-note").find_all("li")] == [
        f"⚠ {q4_tip}",
        f"⚠ {year_tip}",
    ]
    for code in (B, C):
        assert mark_tips(year_page.by_id(f"town-{code}")) == []
    # The trend table: A's Q4 and year cells.
    trend = {
        r.attrs["data-township"]: r
        for r in year_page.by_id("trend").find_all("tr")
        if "data-township" in r.attrs
    }
    assert [bool(mark_tips(c)) for c in trend[A].find_all("td", "cell")] == [
        False,
        False,
        False,
        True,
        True,
    ]
    assert not mark_tips(trend[B]) and not mark_tips(trend[C])
    assert set(NAMES) == {A, B, C}


def test_the_third_quarters_page_carries_no_mark(
    pack: ir.CheckedPack, county_url: str, tmp_path: Path
):
    """On 09-30 A's last reimbursement (09-15) is 15 days old: within two months."""
    page = reported(pack, county_url, "2021Q3", tmp_path)
    assert page.find_all("span", "feed-mark") == []
    marks_said = page.by_id("sources").find("div", "source-marks").text()
    assert marks_said == "各期得分所依据的接口在期末均未停滞。"
    rows = {r.attrs["data-source"]: r for r in page.find_all("tr", "source-row")}
    assert [td.text() for td in rows["town_reimbursement"].find_all("td")][3:5] == [
        "2021-09-30",
        "0天",
    ]


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it with fonts-noto-cjk)",
)
def test_on_paper_the_lights_and_the_marks_are_words(
    pack: ir.CheckedPack, county_url: str, tmp_path: Path
):
    """A tooltip does not print: the panel's sentence and the section's note say it in text."""
    page = api.report(pack, Period.parse("2021"), tmp_path / "2021.html", county_url)
    pdf = tmp_path / "2021.pdf"
    result = chromium(page, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert console_messages(result.stderr) == []
    # One line per run of text, NFKC-normalised (full-width ：（） as ASCII): read it as one.
    text = "".join(pdf_text(pdf.read_bytes()).split())
    assert "数据接口" in text and "●正常" in text and "○缺失" in text
    assert "2021年第四季度:凤川街道(报销单)" in text
    assert (
        "⚠2021年度得分所依据的数据停滞,截至2021-12-31:报销单(town_reimbursement)已107天无新数据"
        in text
    )
