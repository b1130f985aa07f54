"""A section per township, reached from the map: its standing, figures, quarters and cases.

The county is township_case.py, built by hand with every figure worked out there: the
statuses as they stood on 2021-12-31 (a warning rectified in time, one rectified after
the period, one verified too recently to be overdue, one overdue on the last day), the
days pending warnings have waited, and ranks where the year and the fourth quarter differ.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from report_dom import Node, parse
from township_case import MASKED_ID, NAMES, RESIDENT_ID, A, B, C, county, ledger_and_disposal

from adapters.duckdb import DuckDBWarehouse
from dsl import ir
from engine import api
from engine.index.score import Period
from engine.policy.deployment import Deployment
from engine.reporting.report import render
from engine.runs import ledger
from engine.schema import WARNINGS_SCHEMA, source_schema


@pytest.fixture(scope="module")
def page() -> Node:
    return parse(render(county("2021")))


def section(page: Node, code: str) -> Node:
    found = page.by_id(f"town-{code}")
    assert found is not None, code
    return found


def status_counts(town: Node) -> dict[str, int]:
    rows = town.find("table", "town-status").find_all("tr", "st-row")
    return {r.attrs["data-status"]: int(r.find("td", "count").text()) for r in rows}


def cases(town: Node, kind: str) -> list[str]:
    """The messages of a section's open or overdue cases, in the order listed."""
    tables = town.find_all("table", "cases", data_kind=kind)
    heading = next(
        h.text()
        for h in town.find_all("h3")
        if h.text().startswith("未结案件" if kind == "open" else "逾期未整改")
    )
    if not tables:
        assert "（0）" in heading
        return []
    rows = tables[0].find_all("tr", "case")
    assert f"（{len(rows)}）" in heading
    return [r.find("td", "message").text() for r in rows]


def test_the_page_nests_properly_and_every_link_lands(page: Node) -> None:
    assert page.attrs["data-mismatches"] == ""
    links = [a.attrs["href"] for a in page.find_all("a") if a.attrs.get("href", "").startswith("#")]
    assert sorted({h for h in links if page.by_id(h[1:]) is None}) == []


def test_each_tile_and_ranking_name_leads_to_its_townships_section(page: Node) -> None:
    tiles = page.find_all("a", "tile")
    assert {t.attrs["data-township"] for t in tiles} == set(NAMES)
    for tile in tiles:
        code = tile.attrs["data-township"]
        assert tile.attrs["href"] == f"#town-{code}"
        town = section(page, code)
        assert town.attrs["data-township"] == code
        assert town.find("h2").text() == f"{NAMES[code]}廉情详情"
    for row in page.find("table", "ranking").find_all("tr", "rank-row"):
        assert (
            row.find("th", "name").find("a").attrs["href"] == f"#town-{row.attrs['data-township']}"
        )


def test_a_section_stands_where_the_ranking_does(page: Node) -> None:
    town = section(page, A)
    standing = town.find("div", "town-standing").text()
    assert "第2名" in standing and "82.00分" in standing and "绿色" in standing
    parts = {
        r.find("th").text(): r.find("td", "pts").text()
        for r in town.find_all("tr")
        if r.find_all("td", "pts")
    }
    assert parts == {
        "预警核查": "28.00/30",
        "预警率": "18.00/20",
        "查实率": "12.00/15",
        "整改率": "10.00/20",
        "人员处置率": "14.00/15",
    }
    values = [td.text() for td in town.find("table", "town-parts").find_all("td", "ind")]
    assert values == ["0.041", "62.5%", "16.00", "80.0%", "25.0%", "0.500"]


def test_a_section_shows_the_quarters_and_the_year(page: Node) -> None:
    trend = section(page, A).find("table", "town-trend")
    head = [th.text() for th in trend.find_all("th")]
    assert head == ["第一季度", "第二季度", "第三季度", "第四季度", "全年"]
    cells = [td.text() for td in trend.find_all("td", "cell")]
    assert cells == ["80.00第2名", "75.00第2名", "70.00第3名", "95.00第1名", "82.00第2名"]
    assert "band-yellow" in trend.find_all("td", "cell")[2].classes
    spark = section(page, A).find("svg", "sparkline")
    assert len(spark.find_all("circle")) == 4


def test_statuses_are_counted_as_they_stood_at_the_periods_end(page: Node) -> None:
    # A-LATE was rectified in 2022: on 2021-12-31 it was overdue. A-NEAR was verified too
    # recently to be overdue; A-INTIME was rectified on its deadline's last day.
    assert status_counts(section(page, A)) == {
        "pending": 3,
        "confirmed": 1,
        "partly": 0,
        "unfounded": 1,
        "rectified": 1,
        "overdue": 2,
    }
    # B-OD's deadline ran out on 2021-12-30: overdue on the period's last day.
    assert status_counts(section(page, B)) == {
        "pending": 1,
        "confirmed": 0,
        "partly": 0,
        "unfounded": 1,
        "rectified": 0,
        "overdue": 1,
    }
    assert status_counts(section(page, C)) == dict.fromkeys(
        ["pending", "confirmed", "partly", "unfounded", "rectified", "overdue"], 0
    )
    assert section(page, A).find("tr", "sum").find("a").text() == "8"


def test_open_and_overdue_cases_are_listed_with_how_long_they_stood(page: Node) -> None:
    town = section(page, A)
    assert cases(town, "open") == [
        "线索A-P1，请核查。",
        "线索A-P2，请核查。",
        "线索A-NEAR，请核查。",
        "线索A-P3，请核查。",
    ]
    assert cases(town, "overdue") == ["线索A-OD，请核查。", "线索A-LATE，请核查。"]
    standing = {
        r.find("td", "message").text(): r.find("td", "standing").text()
        for r in town.find_all("tr", "case")
    }
    assert standing["线索A-P3，请核查。"] == "已等待核查90天"
    assert standing["线索A-NEAR，请核查。"] == "整改期限2021-12-31"
    assert standing["线索A-OD，请核查。"] == "整改期限2021-11-30，已逾期31天"
    assert standing["线索A-LATE，请核查。"] == "整改期限2021-09-30，已逾期92天"
    assert cases(section(page, C), "open") == [] and cases(section(page, C), "overdue") == []


def test_a_case_message_is_masked_like_the_rest_of_the_page(page: Node) -> None:
    town = section(page, B)
    (open_case,) = town.find_all("tr", "case", data_status="pending")
    assert open_case.find("td", "message").text() == f"报销人{MASKED_ID}拆分报销，请核查（B-P）。"
    assert RESIDENT_ID not in render(county("2021"))


def test_waiting_for_verification_in_each_township_and_the_county(page: Node) -> None:
    assert section(page, A).find("p", "waits").text() == "待核查3条，已等待中位40天，最长90天。"
    assert section(page, B).find("p", "waits").text() == "待核查1条，已等待中位0天，最长0天。"
    assert section(page, C).find("p", "waits").text() == "没有待核查的预警。"
    county_line = page.find("p", "waits-county").text()
    assert county_line == "待核查预警4条，平均已等待40天，最长90天（中位35天）。"
    card = next(k for k in page.find_all("div", "kpi") if "待核查平均等待" in k.text())
    assert card.find("div", "kpi-value").text() == "40天"
    assert card.find("div", "kpi-note").text() == "4 条待核查，最长 90 天"


def test_the_overdue_figure_and_the_warning_list(page: Node) -> None:
    card = next(k for k in page.find_all("div", "kpi") if "逾期未整改" in k.text())
    assert card.find("div", "kpi-value").text() == "3条"
    assert "60天" in card.find("div", "kpi-note").text()
    assert "2021-12-31" in card.find("div", "kpi-note").text()
    overdue = page.find("table", "warnings").find_all("tr", "warning", data_status="overdue")
    assert sorted(r.find("td", "message").find("p").text() for r in overdue) == [
        "线索A-LATE，请核查。",
        "线索A-OD，请核查。",
        "线索B-OD，请核查。",
    ]
    texts = {r.find("span", "status").text() for r in overdue}
    assert texts == {"属实·逾期未整改", "部分属实·逾期未整改"}
    options = [o.text() for o in page.by_id("f-status").find_all("option")]
    assert "逾期未整改（3）" in options


def test_without_a_status_column_the_page_judges_the_same(page: Node) -> None:
    unjudged = parse(render(county("2021", judged=False)))
    for code in NAMES:
        assert status_counts(section(unjudged, code)) == status_counts(section(page, code))


def test_without_a_deadline_nothing_is_overdue() -> None:
    data = replace(county("2021", judged=False), deadline_days=None)
    dom = parse(render(data))
    assert status_counts(section(dom, A))["overdue"] == 0
    assert status_counts(section(dom, A))["confirmed"] == 3  # A-OD, A-NEAR, A-LATE
    card = next(k for k in dom.find_all("div", "kpi") if "逾期未整改" in k.text())
    assert card.find("div", "kpi-value").text() == "0条"


def test_why_the_year_ranks_apart_from_the_fourth_quarter(page: Node) -> None:
    assert section(page, A).find("p", "why").text() == (
        "凤川街道年度排名第2（82.00分），第四季度排名第1（95.00分）："
        "年度按全年预警计分（全年8条：第一季度1条、第二季度0条、第三季度3条、第四季度4条），"
        "第四季度只计本季度的4条；两者得分相差最多的是「整改率」（年度10.00分，第四季度20.00分）。"
    )
    assert section(page, B).find("p", "why").text() == (
        "分水镇年度排名第1（86.00分），第四季度排名第2（85.00分）："
        "年度按全年预警计分（全年3条：第一季度1条、第二季度0条、第三季度0条、第四季度2条），"
        "第四季度只计本季度的2条；两者得分相差最多的是「预警核查」（年度27.00分，第四季度22.00分）。"
    )
    # 横村镇 is third in both: nothing to explain.
    assert section(page, C).find_all("p", "why") == []
    summary = page.find("p", "why-summary")
    assert summary.text().startswith("年度排名与第四季度排名不同的有2个：")
    assert [a.attrs["href"] for a in summary.find_all("a")] == [f"#town-{A}", f"#town-{B}"]


def test_when_the_year_and_the_fourth_quarter_agree_it_says_so_once() -> None:
    data = county("2021")
    agreeing = replace(data, scores={**data.scores, "2021Q4": data.scores["2021"]})
    dom = parse(render(agreeing))
    assert dom.find_all("p", "why") == []
    assert dom.find("p", "why-summary").text() == "年度排名与第四季度排名一致。"


def test_a_quarter_page_has_no_annual_sentence() -> None:
    dom = parse(render(county("2021Q4")))
    assert dom.find_all("p", "why") == [] and dom.find_all("p", "why-summary") == []
    # On the Q4 page the rank change is against Q3: 凤川街道 rose from third to first.
    delta = section(dom, A).find("span", "delta").text()
    assert delta == "较上期 ▲2"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, pack: ir.CheckedPack) -> str:
    """township_case's county in DuckDB: each warning recorded by a run on its day of issue."""
    url = f"duckdb:///{tmp_path_factory.mktemp('county') / 'county.duckdb'}"
    issued, disposal = ledger_and_disposal()
    connection = DuckDBWarehouse(url)
    try:
        for row in issued.to_pylist():
            warning = {k: v for k, v in row.items() if k in WARNINGS_SCHEMA.names}
            warning["as_of"] = row["issued_on"]
            table = pa.Table.from_pylist([warning], schema=WARNINGS_SCHEMA)
            ledger.record(connection, table, row["issued_on"], {})
        sources = pack.pack.sources
        connection.load(
            "sup_disposal",
            pa.Table.from_pylist(
                disposal.to_pylist(), schema=source_schema(sources["sup_disposal"])
            ),
        )
        staffing = [{"township": code, "year": 2021, "staff_count": 40} for code in NAMES]
        connection.load(
            "town_staffing",
            pa.Table.from_pylist(staffing, schema=source_schema(sources["town_staffing"])),
        )
        names = [{"township": code, "name": name, "kind": "镇"} for code, name in NAMES.items()]
        connection.load(
            "ref_township",
            pa.Table.from_pylist(names, schema=source_schema(sources["ref_township"])),
        )
    finally:
        connection.close()
    return url


def reported(
    pack: ir.CheckedPack, url: str, period: str, folder: Path, deployment: Deployment | None = None
) -> Node:
    path = api.report(pack, Period.parse(period), folder / f"{period}.html", url, deployment)
    return parse(path.read_text(encoding="utf-8"))


def overdue_card(dom: Node) -> str:
    card = next(k for k in dom.find_all("div", "kpi") if "逾期未整改" in k.text())
    return card.find("div", "kpi-value").text()


def test_the_report_command_judges_statuses_at_the_periods_end(
    pack: ir.CheckedPack, warehouse: str, tmp_path: Path
) -> None:
    """api.report joins the disposal on 2021-12-31 with the pack's 60 days, as the sections say."""
    dom = reported(pack, warehouse, "2021", tmp_path)
    assert overdue_card(dom) == "3条"
    assert status_counts(section(dom, A))["overdue"] == 2
    assert status_counts(section(dom, A))["rectified"] == 1  # A-LATE's 2022 rectification is not
    assert status_counts(section(dom, B))["overdue"] == 1
    assert (
        dom.find("p", "waits-county").text()
        == "待核查预警4条，平均已等待40天，最长90天（中位35天）。"
    )


def test_the_report_takes_the_deployments_deadline(
    pack: ir.CheckedPack, warehouse: str, tmp_path: Path
) -> None:
    """With 30 days A-NEAR (verified 2021-11-01) is overdue too; A-INTIME stays rectified."""
    thirty = Deployment(parameters={"rectification_deadline_days": 30})
    dom = reported(pack, warehouse, "2021", tmp_path, thirty)
    assert overdue_card(dom) == "4条"
    assert status_counts(section(dom, A))["overdue"] == 3
    assert status_counts(section(dom, A))["rectified"] == 1


def test_a_quarters_report_counts_the_quarters_warnings(
    pack: ir.CheckedPack, warehouse: str, tmp_path: Path
) -> None:
    """2021Q4 holds A-P1, A-P2, A-P3, A-NEAR, B-P and B-OD: one overdue, four pending."""
    dom = reported(pack, warehouse, "2021Q4", tmp_path)
    assert overdue_card(dom) == "1条"
    assert cases(section(dom, B), "overdue") == ["线索B-OD，请核查。"]
    assert (
        dom.find("p", "waits-county").text()
        == "待核查预警4条，平均已等待40天，最长90天（中位35天）。"
    )
    assert dom.find_all("p", "why-summary") == []
