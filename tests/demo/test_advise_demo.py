"""On the demo county, `advise`'s figures per model equal the ledger's, counted in SQL apart.

The query below reads the ledger and sup_disposal straight from the DuckDB file, with the
meanings the engine gives them: confirmed is 属实 or 部分属实; rectified and overdue are
judged on the period's last day (60 days to rectify, counted from verification); a
township recurs in the distinct quarters its confirmed warnings were first issued in.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from engine import api
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
