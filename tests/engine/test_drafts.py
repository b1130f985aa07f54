"""The 纪检监察建议书 and 通报 drafts: laid out after GB/T 9704, figures equal to the ledger's.

The warnings are a small ledger joined with disposal records in Arrow, as `oversight advise`
passes them; the figures each test expects are counted here from that same table.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import docx
import pyarrow as pa
import pytest
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from dsl import ir
from engine.index.disposal import with_disposal
from engine.index.score import Period
from engine.remedy import drafts
from engine.remedy.drafts import write_drafts
from engine.runs.ledger import LEDGER_SCHEMA

PERIOD = Period.parse("2021")
NAMES = {
    "330122105": "分水镇",
    "330122101": "横村镇",
    "330122002": "旧县街道",
    "330122203": "合村乡",
    "330122201": "钟山乡",
}
# 分水镇 and 横村镇 are green but have confirmed common problems; 旧县街道 is red; 合村乡 is
# yellow with nothing confirmed; 钟山乡 is green with only a one-off (not common) problem.
COLOURS = {
    "330122105": "green",
    "330122101": "green",
    "330122002": "red",
    "330122203": "yellow",
    "330122201": "green",
}
PERSON = "330122194001010018"  # a valid resident id number (check character 8)
MASKED = "330122********0018"
COMMON = ("FUN01", "INV05")


def warning(model, key, township, message, amount=None, issued="2021-05-01"):
    evidence = {"s.recipient_id": key}
    if amount is not None:
        evidence["@amount"] = amount
    return {
        "model_id": model,
        "warning_key": key,
        "township": township,
        "severity": "red",
        "domain": "funds",
        "model_title": {
            "FUN01": "死亡人员冒领",
            "INV05": "多头兑现",
            "HOU05": "公职人员及亲属建房",
        }[model],
        "message": message,
        "issued_on": date.fromisoformat(issued),
        "last_seen_on": date.fromisoformat(issued),
        "model_revision": "r1",
        "pack_version": "0.6.0",
        "evidence": json.dumps(evidence, ensure_ascii=False),
        "run_id": "run-1",
    }


LEDGER = [
    # FUN01 in 分水镇: three confirmed with amounts, one unfounded (its amount must not count).
    warning("FUN01", "A1", "330122105", f"张小明（{PERSON}）死亡后仍领取补贴，请核查。", "1200.50"),
    warning("FUN01", "A2", "330122105", "李四死亡后仍领取补贴，请核查。", "88320000", "2021-06-01"),
    warning("FUN01", "A3", "330122105", "王五死亡后仍领取补贴，请核查。", "0.49", "2021-07-01"),
    warning("FUN01", "A4", "330122105", "赵六死亡后仍领取补贴，请核查。", "999999", "2021-08-01"),
    warning("FUN01", "A5", "330122105", "钱七死亡后仍领取补贴，请核查。", "5", "2021-09-01"),
    # FUN01 in 横村镇: one confirmed, no amount stated.
    warning("FUN01", "B1", "330122101", "孙八死亡后仍领取补贴，请核查。"),
    # INV05 in 旧县街道 (red): one with an amount, one without.
    warning("INV05", "C1", "330122002", "某公司重复兑现奖励，请核查。", "300000"),
    warning("INV05", "C2", "330122002", "另一公司重复兑现奖励，请核查。"),
    # HOU05 (not common) in 旧县街道 (red: reported) and 钟山乡 (green: not reported).
    warning("HOU05", "D1", "330122002", "周九系公职人员亲属建房，请核查。"),
    warning("HOU05", "D2", "330122201", "吴十系公职人员亲属建房，请核查。"),
    # Pending in 合村乡 (yellow).
    warning("FUN01", "E1", "330122203", "郑十一死亡后仍领取补贴，请核查。", "100"),
]

DISPOSAL = [
    ("FUN01", "A1", "属实", "2021-06-01", None),
    ("FUN01", "A2", "部分属实", "2021-07-01", "2021-08-01"),
    ("FUN01", "A3", "属实", "2021-08-01", None),
    ("FUN01", "A4", "不属实", "2021-09-01", None),
    ("FUN01", "A5", "属实", "2021-11-01", None),
    ("FUN01", "B1", "属实", "2021-06-01", None),
    ("INV05", "C1", "属实", "2021-06-01", None),
    ("INV05", "C2", "部分属实", "2021-06-01", None),
    ("HOU05", "D1", "属实", "2021-06-01", None),
    ("HOU05", "D2", "属实", "2021-06-01", None),
]


def disposal_table() -> pa.Table:
    def day(text):
        return date.fromisoformat(text) if text else None

    return pa.table(
        {
            "model_id": [d[0] for d in DISPOSAL],
            "warning_key": [d[1] for d in DISPOSAL],
            "verified_on": pa.array([day(d[3]) for d in DISPOSAL], pa.date32()),
            "outcome": [d[2] for d in DISPOSAL],
            "rectified_on": pa.array([day(d[4]) for d in DISPOSAL], pa.date32()),
            "persons_disposed": pa.array([None] * len(DISPOSAL), pa.int64()),
            "funds_recovered": pa.array([None] * len(DISPOSAL), pa.decimal128(18, 2)),
        }
    )


@pytest.fixture
def warnings_table() -> pa.Table:
    ledger = pa.Table.from_pylist(LEDGER, schema=LEDGER_SCHEMA)
    return with_disposal(ledger, disposal_table(), on=PERIOD.end, deadline_days=60)


PROBLEMS = pa.table(
    {
        "model_id": ["FUN01", "INV05", "HOU05"],
        "common": [True, True, False],
        "why": ["在2个乡镇核查属实", "在1个乡镇的2个季度核查属实", None],
    }
)


@pytest.fixture
def written(tmp_path: Path, pack: ir.CheckedPack, warnings_table: pa.Table) -> dict[str, Path]:
    out = tmp_path / "advice" / "2021"  # does not exist yet
    paths = write_drafts(
        out,
        pack=pack,
        period=PERIOD,
        warnings=warnings_table,
        problems=PROBLEMS,
        colours=COLOURS,
        names=NAMES,
        deadline_days=60,
        county="桐庐县",
    )
    assert sorted(paths) == sorted(out.iterdir())  # nothing else, no temporary files left
    return {p.name: p for p in paths}


def expected(table: pa.Table, township: str | None, model: str) -> tuple[int, Decimal, int]:
    """(confirmed warnings, sum of their stated amounts in 元, how many state one), counted here."""
    count, total, known = 0, Decimal(0), 0
    for row in table.to_pylist():
        if row["model_id"] != model or row["outcome"] not in ("属实", "部分属实"):
            continue
        if township is not None and row["township"] != township:
            continue
        count += 1
        amount = json.loads(row["evidence"]).get("@amount")
        if amount is not None:
            total += Decimal(amount)
            known += 1
    return count, total, known


def in_money(total: Decimal) -> str:
    """As a letter writes a sum: 万元 from 10,000 元, else 元, both to two decimals."""
    if abs(total) >= 10000:
        return f"{(total / 10000).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}万元"
    return f"{total.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}元"


def paragraphs(path: Path) -> list[str]:
    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs]
    for table in document.tables:
        texts.extend(" | ".join(c.text for c in row.cells) for row in table.rows)
    return texts


def after(texts: list[str], heading: str) -> str:
    """The paragraph that follows the first one equal to `heading`."""
    return texts[texts.index(heading) + 1]


def test_the_townships_that_get_a_draft(written):
    assert set(written) == {
        "纪检监察建议书_旧县街道.docx",  # red
        "纪检监察建议书_旧县街道.md",
        "纪检监察建议书_合村乡.docx",  # yellow, nothing confirmed
        "纪检监察建议书_合村乡.md",
        "纪检监察建议书_分水镇.docx",  # green, confirmed common problem
        "纪检监察建议书_分水镇.md",
        "纪检监察建议书_横村镇.docx",
        "纪检监察建议书_横村镇.md",
        "通报_2021.docx",
        "通报_2021.md",
    }
    # 钟山乡: green, its only confirmed problem (HOU05) is not common — the near miss.
    assert not any("钟山乡" in name for name in written)


def test_page_and_fonts_follow_gb_t_9704(written):
    document = docx.Document(str(written["纪检监察建议书_分水镇.docx"]))
    section = document.sections[0]
    # Word keeps lengths in twentieths of a point: a millimetre is 56.7 of them, so compare to 0.1.
    page = [section.page_width, section.page_height]
    margins = [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin]
    assert [round(length.mm, 1) for length in page] == [210, 297]  # A4
    assert [round(length.mm, 1) for length in margins] == [37, 35, 28, 26]

    by_text = {p.text: p for p in document.paragraphs}
    title = by_text["关于分水镇2021年大数据监督发现问题的纪检监察建议书"]
    assert title.alignment == 1  # centred
    assert title.runs[0].font.size == Pt(22)
    assert title.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"

    body = next(p for p in document.paragraphs if p.text.startswith("2021年，县纪委县监委"))
    run = body.runs[0]
    assert run.font.size == Pt(16)
    assert run.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    # 22 lines on the 225 mm 版心: a fixed pitch of 28.95 pt, and 22 of them fit.
    assert body.paragraph_format.line_spacing == Pt(28.95)
    assert 22 * body.paragraph_format.line_spacing <= Mm(297 - 37 - 35)
    assert body.paragraph_format.first_line_indent == Pt(32)  # two characters

    heading = by_text["一、发现的主要问题"]
    assert heading.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    sub = by_text["（一）死亡人员冒领（面上共性问题）"]
    assert sub.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"

    # Where 仿宋_GB2312 is not installed, Word falls back to 仿宋.
    with zipfile.ZipFile(written["纪检监察建议书_分水镇.docx"]) as package:
        fonts = package.read("word/fontTable.xml").decode()
        footer = package.read("word/footer1.xml").decode()
    assert '<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>' in fonts
    assert "PAGE" in footer and "— " in footer and " —" in footer
    assert document.settings.odd_and_even_pages_header_footer


def test_the_letter_to_a_township(written, warnings_table, pack):
    texts = paragraphs(written["纪检监察建议书_分水镇.docx"])
    assert texts[:3] == ["中共桐庐县纪律检查委员会", "桐庐县监察委员会", "桐纪建〔　　〕　号"]
    assert "中共分水镇委员会、分水镇人民政府：" in texts
    count, total, known = expected(warnings_table, "330122105", "FUN01")
    assert (count, known) == (4, 4)  # A4 is unfounded: neither counted nor summed
    assert total == Decimal("88321205.99")
    assert after(texts, "（一）死亡人员冒领（面上共性问题）") == (
        f"经核查属实（含部分属实）{count}条，涉及金额合计{in_money(total)}。"
        "此为全县面上共性问题（在2个乡镇核查属实）。"
    )
    assert in_money(total) == "8832.12万元"
    # Three cases of four are quoted, the id number masked, the stale "请核查" dropped.
    assert f"1. 张小明（{MASKED}）死亡后仍领取补贴（核查结论：属实）" in texts
    assert "3. 王五死亡后仍领取补贴（核查结论：属实）" in texts
    assert "其余1条见预警核查台账。" in texts
    assert not any(PERSON in t for t in texts)
    assert not any("钱七" in t for t in texts)
    assert after(texts, "二、原因分析").startswith("【请起草人填写")
    assert pack.models["FUN01"].advice in texts
    assert f"依据：{pack.models['FUN01'].basis}。" in texts
    assert texts[-5].startswith(
        "请于收到本建议书之日起60日内，书面报告整改情况，报送县纪委县监委。"
    )
    assert texts[-4:] == [
        "中共桐庐县纪律检查委员会",
        "桐庐县监察委员会",
        "（印章）",
        "○○○○年○○月○○日",
    ]
    # The opening counts all its warnings: A2 rectified; A1 and A3 verified more than 60 days
    # before the year's end are overdue, A5 (verified 2021-11-01) is not yet.
    assert after(texts, "中共分水镇委员会、分水镇人民政府：").startswith(
        "2021年，县纪委县监委大数据监督平台向你镇发出预警5条，经核查属实（含部分属实）4条，"
        "已整改1条，逾期未整改2条。你镇本期廉情指数评价为绿色。"
    )


def test_an_amount_no_warning_states_is_left_out(written, warnings_table):
    texts = paragraphs(written["纪检监察建议书_横村镇.docx"])
    count, _, known = expected(warnings_table, "330122101", "FUN01")
    assert (count, known) == (1, 0)
    assert after(texts, "（一）死亡人员冒领（面上共性问题）") == (
        "经核查属实（含部分属实）1条。此为全县面上共性问题（在2个乡镇核查属实）。"
    )
    assert not any("万元" in t for t in texts)

    street = paragraphs(written["纪检监察建议书_旧县街道.docx"])
    count, total, known = expected(warnings_table, "330122002", "INV05")
    assert after(street, "（一）多头兑现（面上共性问题）").startswith(
        f"经核查属实（含部分属实）{count}条，其中{known}条涉及金额合计{in_money(total)}。"
    )
    assert in_money(total) == "30.00万元"
    assert "中共旧县街道工作委员会、旧县街道办事处：" in street
    # A red township hears of every confirmed problem, the common ones first.
    assert after(street, "（二）公职人员及亲属建房") == "经核查属实（含部分属实）1条。"


def test_a_yellow_township_with_nothing_confirmed(written):
    texts = paragraphs(written["纪检监察建议书_合村乡.docx"])
    assert "中共合村乡委员会、合村乡人民政府：" in texts
    assert "你乡本期廉情指数评价为黄色。" in after(texts, "中共合村乡委员会、合村乡人民政府：")
    assert after(texts, "一、发现的主要问题") == "本期暂无核查属实的问题。"


def test_the_circular(written, warnings_table):
    texts = paragraphs(written["通报_2021.docx"])
    assert "关于2021年大数据监督发现问题情况的通报" in texts
    assert "桐纪通〔　　〕　号" in texts
    total_confirmed = sum(
        1 for r in warnings_table.to_pylist() if r["outcome"] in ("属实", "部分属实")
    )
    assert (
        f"共发出预警{warnings_table.num_rows}条，经核查属实（含部分属实）{total_confirmed}条"
        in after(texts, "各乡镇党委、政府，各街道党工委、办事处：")
    )
    count, total, known = expected(warnings_table, None, "FUN01")
    assert (count, known) == (5, 4)
    assert after(texts, "（一）死亡人员冒领") == (
        f"全县经核查属实（含部分属实）{count}条，其中{known}条涉及金额合计{in_money(total)}，"
        "涉及2个乡镇（街道）：分水镇4条、横村镇1条。此为全县面上共性问题（在2个乡镇核查属实）。"
    )
    # Not common: not among the common problems, but counted in its township's row.
    assert "（三）公职人员及亲属建房" not in texts
    per_township = defaultdict(lambda: [0, 0])
    for row in warnings_table.to_pylist():
        per_township[NAMES[row["township"]]][0] += 1
        per_township[NAMES[row["township"]]][1] += row["outcome"] in ("属实", "部分属实")
    assert "乡镇（街道） | 预警 | 属实 | 已整改 | 逾期未整改 | 廉情指数" in texts
    # 分水镇: A2 rectified; A1 and A3 verified more than 60 days before the year's end, so overdue;
    # A5 verified on 2021-11-01 is still within its 60 days.
    assert f"分水镇 | {per_township['分水镇'][0]} | {per_township['分水镇'][1]} | 1 | 2 | 绿色" in (
        texts
    )
    assert f"合村乡 | {per_township['合村乡'][0]} | 0 | 0 | 0 | 黄色" in texts
    assert "本期廉情指数评价为红色的1个：旧县街道；评价为黄色的1个：合村乡；评价为绿色的3个。" in (
        texts
    )
    assert any(t.startswith("旧县街道、合村乡、横村镇、分水镇要按照纪检监察建议书") for t in texts)


def test_markdown_says_what_the_word_document_says(written, warnings_table):
    for name in written:
        if not name.endswith(".docx"):
            continue
        markdown = written[name].with_suffix(".md").read_text(encoding="utf-8")
        for text in paragraphs(written[name]):
            if " | " in text:  # a table row
                assert "| " + text.replace("*", "\\*") + " |" in markdown
            else:
                assert drafts.escape_markdown(text) in markdown, text
    markdown = written["纪检监察建议书_分水镇.md"].read_text(encoding="utf-8")
    assert PERSON not in markdown
    assert MASKED.replace("*", "\\*") in markdown
    count, total, _ = expected(warnings_table, "330122105", "FUN01")
    assert f"经核查属实（含部分属实）{count}条，涉及金额合计{in_money(total)}。" in markdown
    assert "# 关于分水镇2021年大数据监督发现问题的纪检监察建议书" in markdown
    assert "## 二、原因分析" in markdown


def test_the_same_input_gives_the_same_files(tmp_path, pack, warnings_table):
    def run(out):
        return write_drafts(
            out,
            pack=pack,
            period=PERIOD,
            warnings=warnings_table,
            problems=PROBLEMS,
            colours=COLOURS,
            names=NAMES,
            deadline_days=60,
            county="桐庐县",
        )

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_a_failure_leaves_the_old_drafts(tmp_path, pack, warnings_table, monkeypatch):
    out = tmp_path / "advice"
    out.mkdir()
    old = out / "通报_2021.docx"
    old.write_bytes(b"the signed one")
    real_replace = os.replace
    calls = []

    def failing_replace(source, target):
        calls.append(target)
        if len(calls) == 3:
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_drafts(
            out,
            pack=pack,
            period=PERIOD,
            warnings=warnings_table,
            problems=PROBLEMS,
            colours=COLOURS,
            names=NAMES,
            deadline_days=60,
            county="桐庐县",
        )
    assert old.read_bytes() == b"the signed one"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert len(list(out.iterdir())) == 3  # the old 通报 and the two files written before


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("88320000", "8832.00万元"),
        ("10000", "1.00万元"),
        ("9999.995", "10000.00元"),  # below 10,000 元 before rounding: written in 元
        ("600", "600.00元"),
        ("0.01", "0.01元"),  # a boundary case's excess is not "0.00万元"
    ],
)
def test_a_sum_is_written_in_wan_from_ten_thousand_yuan_and_in_yuan_below(amount, words):
    assert drafts.money(Decimal(amount)) == words
