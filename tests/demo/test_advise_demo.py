"""On the demo county, `advise`'s figures per model equal the ledger's, counted in SQL apart.

The query below reads the ledger and sup_disposal straight from the DuckDB file, with the
meanings the engine gives them: confirmed is 属实 or 部分属实; rectified and overdue are
judged on the period's last day (60 days to rectify, counted from verification); a
township recurs in the distinct quarters its confirmed warnings were first issued in.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import docx
import duckdb
import openpyxl
import pytest

from engine import api
from engine.cli import main
from engine.demo import demo_run
from engine.index.score import Period

ROOT = Path(__file__).resolve().parents[2]

INDEPENDENT = """
with confirmed as (
    select l.model_id, l.township, l.issued_on, l.evidence,
           d.verified_on, d.rectified_on, d.funds_recovered
    from oversight_ledger l
    join sup_disposal d on d.model_id = l.model_id and d.warning_key = l.warning_key
    where l.issued_on between $start and $end and d.outcome in ('属实', '部分属实')
),
per_township as (
    select model_id, township, count(distinct quarter(issued_on)) as quarters
    from confirmed where township is not null group by model_id, township
),
per_model as (
    select model_id,
           count(*) as confirmed,
           count(distinct township) as townships,
           count(*) filter (
               where verified_on is not null and rectified_on <= $end
           ) as rectified,
           count(*) filter (
               where verified_on is not null
                 and (rectified_on is null or rectified_on > $end)
                 and verified_on + 61 <= $end
           ) as overdue,
           coalesce(sum(funds_recovered), 0) as recovered,
           sum(try_cast(json_extract_string(evidence, '$."@amount"') as decimal(18, 2)))
               as amount
    from confirmed group by model_id
)
select m.*,
       coalesce((select max(quarters) from per_township p where p.model_id = m.model_id), 0)
           as quarters_max,
       (select list(r.name order by r.name) from per_township p
          join ref_township r on r.township = p.township where p.model_id = m.model_id)
           as township_names
from per_model m
"""


@pytest.fixture(scope="module")
def demo_url(small_county, tmp_path_factory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('advise') / 'demo.duckdb'}"
    demo_run.build_warehouse(url, small_county)
    demo_run.run_month_ends(api.load_pack(ROOT / "policies"), url)
    return url


@pytest.mark.parametrize("label", ["2021", "2021Q3"])
def test_advise_equals_the_ledger_counted_apart(demo_url, label):
    pack = api.load_pack(ROOT / "policies")
    period = Period.parse(label)
    table = api.advise(pack, period, demo_url)
    with duckdb.connect(demo_url.removeprefix("duckdb:///"), read_only=True) as connection:
        expected = connection.execute(
            INDEPENDENT, {"start": period.start, "end": period.end}
        ).to_arrow_table()
    columns = [
        "townships",
        "confirmed",
        "quarters_max",
        "rectified",
        "recovered",
        "overdue",
        "amount",
    ]
    counted = {
        row["model_id"]: {
            **{c: row[c] for c in columns},
            "township_names": row["township_names"],
            "common": row["townships"] >= 3 or row["quarters_max"] >= 2,
        }
        for row in expected.to_pylist()
    }
    for figures in counted.values():
        figures["recovered"] = Decimal(figures["recovered"]).quantize(Decimal("0.01"))
    got = {
        row["model_id"]: {
            **{c: row[c] for c in columns},
            "township_names": sorted(row["township_names"]),
            "common": row["common"],
        }
        for row in table.to_pylist()
    }
    assert len(got) >= 10  # the demo plants confirmed warnings of most models in any quarter
    assert got == counted
    assert sum(r["confirmed"] for r in got.values()) > 0
    if period.is_year:  # the demo plants each model's violations across the county
        assert any(r["common"] for r in got.values())


PER_TOWNSHIP = """
select r.name,
       count(*) as warnings,
       count(*) filter (where d.outcome in ('属实', '部分属实')) as confirmed,
       count(*) filter (
           where d.outcome in ('属实', '部分属实') and d.rectified_on <= $end
       ) as rectified,
       count(*) filter (
           where d.outcome in ('属实', '部分属实')
             and (d.rectified_on is null or d.rectified_on > $end)
             and d.verified_on + 61 <= $end
       ) as overdue
from oversight_ledger l
join ref_township r on r.township = l.township
left join sup_disposal d on d.model_id = l.model_id and d.warning_key = l.warning_key
where l.issued_on between $start and $end
group by r.name
"""

OVERVIEW = re.compile(
    r"向你(?:镇|乡|街道)发出预警(\d+)条，经核查属实（含部分属实）(\d+)条，已整改(\d+)条，"
    r"逾期未整改(\d+)条"
)


def test_the_drafts_in_word_say_what_the_ledger_says(demo_url, tmp_path):
    """Each 建议书's opening figures and the 通报's table, read back with python-docx."""
    pack = api.load_pack(ROOT / "policies")
    period = Period.parse("2021")
    written = api.write_advice(pack, period, tmp_path, demo_url)
    with duckdb.connect(demo_url.removeprefix("duckdb:///"), read_only=True) as connection:
        rows = connection.execute(
            PER_TOWNSHIP, {"start": period.start, "end": period.end}
        ).fetchall()
    counted = {name: tuple(str(n) for n in figures) for name, *figures in rows}

    letters = [p for p in written.paths if p.name.startswith("纪检监察建议书_")]
    assert written.scored and letters
    for path in (p for p in letters if p.suffix == ".docx"):
        name = path.stem.removeprefix("纪检监察建议书_")
        text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        match = OVERVIEW.search(text)
        assert match, path.name
        assert match.groups() == counted[name], name
        # The Markdown beside it says the same.
        assert match.group(0) in path.with_suffix(".md").read_text(encoding="utf-8")

    circular = docx.Document(str(tmp_path / "通报_2021.docx"))
    table = circular.tables[0]
    assert [c.text for c in table.rows[0].cells][:5] == [
        "乡镇（街道）",
        "预警",
        "属实",
        "已整改",
        "逾期未整改",
    ]
    listed = {r.cells[0].text: tuple(c.text for c in r.cells[1:5]) for r in table.rows[1:]}
    assert listed == counted


def test_the_workbook_holds_the_ledger_and_its_disposal(demo_url, tmp_path):
    """Every warning once, with its 核查结果 and 追缴金额 as sup_disposal holds them."""
    workbook = tmp_path / "预警处置.xlsx"
    argv = ["warnings", "--policies", str(ROOT / "policies"), "--warehouse", demo_url]
    assert main([*argv, "--format", "xlsx", "--output", str(workbook)]) == 0
    sheet = openpyxl.load_workbook(workbook, read_only=True)["处置"]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows)
    at = {name: header.index(name) for name in ("模型编号", "预警编号", "核查结果", "追缴金额")}
    found = {
        (r[at["模型编号"]], r[at["预警编号"]]): (
            r[at["核查结果"]],
            None if r[at["追缴金额"]] is None else Decimal(str(r[at["追缴金额"]])),
        )
        for r in rows
    }
    with duckdb.connect(demo_url.removeprefix("duckdb:///"), read_only=True) as connection:
        expected = connection.execute(
            """select l.model_id, l.warning_key, d.outcome, d.funds_recovered
               from oversight_ledger l left join sup_disposal d using (model_id, warning_key)"""
        ).fetchall()
    assert len(found) == len(expected) > 0
    # Decimals compare by value: 12345.6 from Excel equals the warehouse's 12345.60.
    assert found == {(m, k): (o, f) for m, k, o, f in expected}
    assert any(f for _, f in found.values()), "the demo records money recovered"
