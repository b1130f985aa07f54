"""A peer comparison with quantile(): tests/packs/peer, over the demo county's catalog.

PEER01 warns of a township whose reimbursements per member of staff in a year
lie above the county's upper fence that year, Q3 + 1.5·(Q3 − Q1) over the
townships with staff and reimbursements. The pack checks without a word, its
examples pass on DuckDB, SQLite, PostgreSQL and Spark, and on the demo county
DuckDB, SQLite and PostgreSQL warn of exactly the townships that a reading of
the rule in Python finds, with the same messages. benchmarks/peer.py times it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

import pyarrow as pa
import pytest
from quantile_reference import type7
from spark_support import spark_available

from adapters import connect
from dsl import ir
from dsl.check import check_pack
from engine import api
from engine.demo.generator import generate
from engine.policy.examples import run_examples
from engine.runs.run import run_models

PACK = Path(__file__).resolve().parents[1] / "packs" / "peer"
SOURCES = ("town_reimbursement", "town_staffing")
AS_OF = (date(2021, 6, 30), date(2021, 12, 31))


@pytest.fixture(scope="module")
def pack() -> ir.CheckedPack:
    return api.load_pack(PACK, examples=True)


def test_the_pack_checks_without_a_word():
    result = check_pack(PACK)
    assert result.pack is not None
    assert [(d.code, d.message_en) for d in result.diagnostics] == []


@pytest.mark.parametrize("engine", ["duckdb", "sqlite", "postgres", "spark"])
def test_every_example_passes(request, tmp_path: Path, pack: ir.CheckedPack, engine: str):
    if engine == "spark" and (why := spark_available()):
        pytest.skip(why)
    if engine == "postgres":
        url = request.getfixturevalue("postgres_database")
    else:
        url = {
            "duckdb": f"duckdb:///{tmp_path / 'w.duckdb'}",
            "sqlite": f"sqlite:///{tmp_path / 'w.sqlite'}",
            "spark": f"spark:///{tmp_path / 'w'}",
        }[engine]
    warehouse = connect(url)
    try:
        outcomes = run_examples(pack, warehouse=warehouse)
    finally:
        warehouse.close()
    assert len(outcomes) == 4
    assert {o.title: [d.message_en for d in o.problems] for o in outcomes if not o.passed} == {}


# ---- on the demo county -----------------------------------------------------------------------


@cache
def county(size: float) -> dict[str, pa.Table]:
    """The two sources PEER01 reads, of the demo county at `size`."""
    tables = generate(size=size, seed=2021).tables
    return {name: tables[name] for name in SOURCES}


def expected_warnings(county: dict[str, pa.Table], as_of: date) -> set[tuple[str, str]]:
    """PEER01 read in Python: (key, township) of each township-year above its year's fence."""
    staff = {
        (r["township"], r["year"]): r["staff_count"]
        for r in county["town_staffing"].to_pylist()
        if r["staff_count"] > 0
    }
    spent: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for r in county["town_reimbursement"].to_pylist():
        if r["expense_on"] <= as_of:
            spent[(r["township"], r["expense_on"].year)] += r["amount"]
    per_head = {k: Fraction(spent[k]) / staff[k] for k in staff if k in spent}
    found = set()
    for year in {y for _, y in per_head}:
        peers = {t: v for (t, y), v in per_head.items() if y == year}
        if len(peers) < 5:
            continue
        q1, q3 = type7(list(peers.values()), "0.25"), type7(list(peers.values()), "0.75")
        fence = q3 + Fraction(3, 2) * (q3 - q1)
        found |= {(f"{t}|{year}", t) for t, v in peers.items() if v > fence}
    return found


def test_the_demo_county_has_townships_above_the_fence():
    """What the comparison below compares. At size 1, by the year's end three townships are
    above the fence, at mid-year none (2020 has one township with reimbursements: too few
    peers); at size 0.05 one township is above it on both days."""
    assert expected_warnings(county(1), AS_OF[1]) == {
        ("330122100|2021", "330122100"),
        ("330122103|2021", "330122103"),
        ("330122104|2021", "330122104"),
    }
    assert expected_warnings(county(1), AS_OF[0]) == set()
    for as_of in AS_OF:
        assert expected_warnings(county(0.05), as_of) == {("330122101|2021", "330122101")}


# SQLite reads every peer's reimbursements once per township-year, without an index: at
# size 1 that took it 70 s (DuckDB: a second), so it and PostgreSQL read the small county.
@pytest.mark.parametrize(
    ("engine", "size"), [("duckdb", 1), ("duckdb", 0.05), ("sqlite", 0.05), ("postgres", 0.05)]
)
def test_on_the_demo_county_each_warehouse_warns_as_the_rule_reads(
    request, tmp_path: Path, pack: ir.CheckedPack, engine: str, size: float
):
    if engine == "postgres":
        url = request.getfixturevalue("postgres_database")
    else:
        url = f"{engine}:///{tmp_path / f'county.{engine}'}"
    warehouse = connect(url)
    tables = county(size)
    try:
        for name, table in tables.items():
            warehouse.load(name, table, replace=True)
        for as_of in AS_OF:
            got = run_models(pack, warehouse, as_of, reviewed=False).warnings.to_pylist()
            assert {(w["warning_key"], w["township"]) for w in got} == expected_warnings(
                tables, as_of
            )
            if engine != "duckdb":
                assert sorted(w["message"] for w in got) == duckdb_messages(size, as_of)
    finally:
        warehouse.close()


@cache
def duckdb_messages(size: float, as_of: date) -> list[str]:
    """PEER01's messages on DuckDB, which the other warehouses must write word for word."""
    pack = api.load_pack(PACK)
    warehouse = connect("duckdb:///:memory:")
    try:
        for name, table in county(size).items():
            warehouse.load(name, table, replace=True)
        return sorted(
            run_models(pack, warehouse, as_of, reviewed=False).warnings["message"].to_pylist()
        )
    finally:
        warehouse.close()
