"""The page's structure, read with html.parser: map, ranking, trend, warnings, traceability.

The data is tests/report/report_sample.py: 14 townships, 2021's quarters and
year, and warnings that carry resident ids and a hostile message.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace

import pyarrow as pa
from report_dom import Node, parse
from report_sample import (
    CREDIT_CODE,
    DOMAINS,
    GONE_MODEL,
    HOSTILE,
    RESIDENT_IDS,
    RULE_ATTACK,
    STALE_REVISION,
    TOWNSHIPS,
    WARNINGS_SCHEMA,
    sample,
)

from engine.reporting.report import RESIDENT_ID, ReportData, mask_ids, render


def current_rows(data: ReportData) -> dict[str, dict]:
    return {r["township"]: r for r in data.scores[data.period].to_pylist()}


def test_the_page_nests_properly(dom: Node) -> None:
    assert dom.attrs["data-mismatches"] == ""
    assert dom.attrs["data-unclosed"] == ""
    assert dom.find("html").attrs["lang"] == "zh-CN"


def test_the_page_needs_no_network(html: str, dom: Node) -> None:
    assert not dom.find_all("link")
    assert not dom.find_all("img")
    assert all("src" not in n.attrs for n in dom.iter())
    assert not re.search(r"(?i)(https?:|//[a-z0-9.-]+\.[a-z]{2,}/|url\(|@import)", html)
    policy = dom.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in policy
    style = dom.find("style").text()
    assert "Noto Sans CJK SC" in style and "@font-face" not in style


def test_every_township_has_a_tile_in_its_colour(data: ReportData, dom: Node) -> None:
    tiles = dom.find_all("a", "tile")
    assert len(tiles) == 14
    scores = current_rows(data)
    assert {t.attrs["data-township"] for t in tiles} == {code for code, _ in TOWNSHIPS}
    for tile in tiles:
        row = scores[tile.attrs["data-township"]]
        assert f"band-{row['colour']}" in tile.classes
        assert tile.attrs["data-colour"] == row["colour"]
        text = tile.text()
        assert row["name"] in text
        assert f"第{row['rank']}名" in text
        assert f"{row['total']:.2f}" in text
        assert dom.by_id(tile.attrs["href"][1:]) is not None
    cells = {re.sub(r"\s", "", t.attrs["style"]) for t in tiles}
    assert len(cells) == 14, "two tiles on one cell"


def test_the_map_has_a_legend_with_the_consequences(data: ReportData, dom: Node) -> None:
    legend = dom.find("aside", "legend")
    items = legend.find_all("li", "legend-item")
    assert [next(c for c in i.classes if c.startswith("band-")) for i in items] == [
        "band-green",
        "band-yellow",
        "band-red",
    ]
    text = legend.text()
    for consequence in data.consequences.values():
        assert consequence in text
    assert "第1–10名" in text and "第11–12名" in text and "第13–14名" in text


def test_ranking_rows_come_in_rank_order(data: ReportData, dom: Node) -> None:
    rows = dom.find("table", "ranking").find_all("tr", "rank-row")
    scores = current_rows(data)
    expected = sorted(scores, key=lambda code: (scores[code]["rank"], code))
    assert [r.attrs["data-township"] for r in rows] == expected
    ranks = [int(r.attrs["data-rank"]) for r in rows]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) < len(ranks), "the sample has a tie; it should show"
    for row in rows:
        score = scores[row.attrs["data-township"]]
        assert f"band-{score['colour']}" in row.classes
        assert row.find("td", "rank").text() == str(score["rank"])
        assert row.find("th", "name").text() == score["name"]
        assert f"{score['total']:.2f}" in row.find("td", "total").text()
        points = [c.text() for c in row.find_all("td", "pts")]
        assert points == [f"{score[f'part_{p.id}']:.2f}" for p in data.parts]
        assert len(row.find_all("td", "ind")) == len(data.indicators)


def test_indicators_are_shown_as_read(data: ReportData, dom: Node) -> None:
    """Ratios as percentages, the others as numbers, in the order of their parts."""
    row = dom.find("tr", "rank-row")
    score = current_rows(data)[row.attrs["data-township"]]
    values = [c.text() for c in row.find_all("td", "ind")]
    by_part = [i for p in data.parts for i in data.indicators if i.part == p.id]
    for indicator, value in zip(by_part, values, strict=True):
        number = score[indicator.name]
        if indicator.percent:
            assert value == f"{100 * number:.1f}%"
        else:
            assert float(value) == float(f"{number:.3f}") or value == f"{number:.2f}"


def test_the_trend_shows_every_quarter_and_the_year(data: ReportData, dom: Node) -> None:
    table = dom.find("table", "trend")
    header = [th.text() for th in table.find("thead").find_all("th")]
    assert header == ["乡镇（街道）", "Q1", "Q2", "Q3", "Q4", "2021年度", "总分走势"]
    rows = table.find("tbody").find_all("tr")
    assert len(rows) == 14
    for row in rows:
        code = row.attrs["data-township"]
        cells = row.find_all("td", "cell")
        assert len(cells) == 5
        for period, cell in zip(
            ["2021Q1", "2021Q2", "2021Q3", "2021Q4", "2021"], cells, strict=True
        ):
            score = {r["township"]: r for r in data.scores[period].to_pylist()}.get(code)
            if score is None:
                assert "band-none" in cell.classes and cell.text() == "—"
            else:
                assert f"band-{score['colour']}" in cell.classes
                assert cell.text() == f"{score['total']:.2f}第{score['rank']}名"
        assert row.find("svg", "sparkline")
    bump = dom.find("svg", "bump-chart")
    assert len(bump.find_all("g", "bump-line")) == 14


def test_no_resident_id_shows_unmasked(html: str) -> None:
    for raw, masked in RESIDENT_IDS.items():
        assert raw not in html
        assert masked in html
    assert [m.group() for m in RESIDENT_ID.finditer(html)] == []
    # The rule files' own examples carry ids too (FIN03); they are masked in the rule text.
    assert "330122198501010023" not in html and "330122********0023" in html


def test_credit_codes_stay(html: str) -> None:
    assert CREDIT_CODE in html


def test_ids_are_masked_in_keys_and_evidence(dom: Node) -> None:
    row = next(r for r in dom.find_all("tr", "warning") if "富春饭店" in r.find("details").text())
    facts = row.find("dl", "facts").text()
    assert "330122********0015|富春饭店|2021-03" in facts
    assert "330122********0015" in row.find("ul", "evidence").text()


def test_the_script_data_is_masked_and_cannot_break_out(html: str, dom: Node) -> None:
    blob = dom.find("script", type="application/json").text()
    assert "</" not in blob and "<!--" not in blob
    decoded = json.loads(blob)
    texts = " ".join(w["text"] for w in decoded["warnings"])
    assert HOSTILE.lower() in texts
    for raw in RESIDENT_IDS:
        assert raw.lower() not in texts


def test_a_hostile_message_renders_as_text(html: str, dom: Node) -> None:
    assert HOSTILE not in html
    assert "&lt;/script&gt;&lt;script&gt;document.title" in html
    scripts = dom.find_all("script")
    assert len(scripts) == 2, "a message added a script element"
    assert "pwned" not in dom.find("title").text()
    messages = [r.find("td", "message").find("p").text() for r in dom.find_all("tr", "warning")]
    assert HOSTILE in messages


def test_a_rule_text_cannot_close_its_pre(data: ReportData, dom: Node) -> None:
    article = dom.by_id("model-ENG02")
    assert article is not None
    assert RULE_ATTACK in article.find("pre", "rule").text()


def test_every_link_target_exists(dom: Node) -> None:
    links = [a.attrs["href"] for a in dom.find_all("a") if a.attrs.get("href", "").startswith("#")]
    assert links
    missing = sorted({href for href in links if dom.by_id(href[1:]) is None})
    assert missing == []


def test_each_warning_leads_to_its_models_rule_text(data: ReportData, dom: Node) -> None:
    models = {m.id: m for m in data.models}
    rows = dom.find_all("tr", "warning")
    assert len(rows) == data.warnings.num_rows
    for row in rows:
        model_id = row.attrs["data-model"]
        link = row.find("a", "model-link")
        assert link.attrs["href"] == f"#model-{model_id}"
        article = dom.by_id(f"model-{model_id}")
        assert article is not None and "model" in article.classes
        if model_id in models:
            model = models[model_id]
            assert article.find("pre", "rule").text() == mask_ids(model.rule_text)
            assert model.revision in article.text()
            assert model.file in article.text()


def test_an_older_revision_is_marked(data: ReportData, dom: Node) -> None:
    stale_rows = [r for r in dom.find_all("tr", "warning") if r.find_all("span", "stale")]
    assert len(stale_rows) == 1
    assert STALE_REVISION in stale_rows[0].find("span", "stale").attrs["title"]
    note = dom.by_id("model-ENG01").find("p", "stale-note")
    assert STALE_REVISION in note.text()


def test_a_model_gone_from_the_pack_still_has_a_section(dom: Node) -> None:
    article = dom.by_id(f"model-{GONE_MODEL}")
    assert article is not None and "missing" in article.classes
    assert "不在当前规则包" in article.text()


def test_warnings_are_listed_newest_first_with_their_status(data: ReportData, dom: Node) -> None:
    rows = dom.find_all("tr", "warning")
    days = [r.find("td", "date").text() for r in rows]
    assert days == sorted(days, reverse=True)
    expected = Counter()
    # The sample names no deadline: nothing is judged overdue; 部分属实 is a status of its own,
    # as `oversight warnings` and the workbook name it.
    for w in data.warnings.to_pylist():
        if w["verified_on"] is None:
            expected["pending"] += 1
        elif w["outcome"] not in ("属实", "部分属实"):
            expected["unfounded"] += 1
        elif w["rectified_on"] is not None:
            expected["rectified"] += 1
        else:
            expected["confirmed" if w["outcome"] == "属实" else "partly"] += 1
    assert Counter(r.attrs["data-status"] for r in rows) == expected
    no_township = [r for r in rows if r.attrs["data-township"] == ""]
    assert len(no_township) == 1 and "未归属" in no_township[0].text()


def test_warnings_by_domain_and_model(data: ReportData, dom: Node) -> None:
    by_domain = Counter(DOMAINS[w["domain"]] for w in data.warnings.to_pylist())
    by_model = Counter(w["model_id"] for w in data.warnings.to_pylist())
    domain_chart, model_chart = dom.find_all("svg", "bars")
    labels = [t.text() for t in domain_chart.find_all("text", "bar-label")]
    values = [int(t.text()) for t in domain_chart.find_all("text", "bar-value")]
    assert labels == list(DOMAINS.values())
    assert dict(zip(labels, values, strict=True)) == dict(by_domain)
    labels = [t.text().split()[0] for t in model_chart.find_all("text", "bar-label")]
    values = [int(t.text()) for t in model_chart.find_all("text", "bar-value")]
    assert dict(zip(labels, values, strict=True)) == dict(by_model)
    matrix = dom.find("table", "matrix")
    assert sum(int(td.text()) for td in matrix.find_all("td", "sum")) == data.warnings.num_rows


def test_the_page_is_whole_without_script(dom: Node) -> None:
    """The filters need the script, so they start hidden; the lists and map don't."""
    assert "hidden" in dom.by_id("filters").attrs
    assert not [r for r in dom.find_all("tr", "warning") if "hidden" in r.attrs]
    assert all("open" not in d.attrs for d in dom.find_all("details"))


def test_a_quarter_page_compares_with_the_quarter_before() -> None:
    data = sample("2021Q3")
    dom = parse(render(data))
    assert "2021年第三季度" in dom.find("title").text()
    rows = dom.find("table", "ranking").find_all("tr", "rank-row")
    before = {r["township"]: r["rank"] for r in data.scores["2021Q2"].to_pylist()}
    for row in rows:
        change = before[row.attrs["data-township"]] - int(row.attrs["data-rank"])
        delta = row.find("td", "delta").text()
        assert delta == (f"▲{change}" if change > 0 else f"▼{-change}" if change < 0 else "＝")
    assert "以年度评定结果为准" in dom.find("aside", "legend").text()
    header = [th.text() for th in dom.find("table", "trend").find("thead").find_all("th")]
    assert header == ["乡镇（街道）", "Q1", "Q2", "Q3", "总分走势"], "no later quarter, no year"


def test_a_period_without_scores_or_warnings_still_renders(data: ReportData) -> None:
    empty = replace(
        data, period="2022Q1", scores={}, warnings=pa.Table.from_pylist([], WARNINGS_SCHEMA)
    )
    dom = parse(render(empty))
    assert dom.attrs["data-mismatches"] == ""
    assert "没有评分结果" in dom.by_id("ranking").text()
    assert "本期无预警" in dom.by_id("warnings").text()
    tiles = dom.find_all("a", "tile")
    assert len(tiles) == 14 and all("band-none" in t.classes for t in tiles)


def test_another_countys_townships_still_get_tiles(data: ReportData) -> None:
    other = replace(data, townships=[*data.townships, ("330122999", "新区")])
    dom = parse(render(other))
    tiles = dom.find_all("a", "tile")
    assert len(tiles) == 15
    assert "grid-row:5" in dom.find("a", "tile", data_township="330122999").attrs["style"]
    assert not dom.find_all("svg", "river")


def test_the_amount_in_the_evidence_is_named_as_a_reader_says_it(html: str) -> None:
    # The model's `amount` is kept in the evidence as "@amount"; the page names it 涉及金额.
    assert "涉及金额（元）" in html and "88320000" in html
    assert "@amount" not in html
