"""The integrity index on a fixture computed by hand: four townships, a tie, a fifth left out.

Period 2021Q4. Staff: A 50, B 30, C 50, D 25; E has warnings but no staffing row.

    township  W  V  C  R  P | 预警率  人均问题数  核实率  查实率  整改率  人员处置率
    A         7  7  3  3  1 | 14      0.06        1       3/7     1       2
    B         4  2  2  1  0 | 13.33   1/15        0.5     1       0.5     0
    C  (= A)  7  7  3  3  1 | 14      0.06        1       3/7     1       2
    D         0  0  0  0  0 | 0       0           1 (W=0) 0 (V=0) 1 (C=0) 0

Points, each indicator scaled min–max (best all, worst none):

    人均问题数 15, lower, max 1/15:  A 15·(1/15−0.06)/(1/15) = 1.5,  B 0,  C 1.5,  D 15
    核实率     15, higher, min 0.5:  A 15,  B 0,  C 15,  D 15
    预警率     20, lower, max 14:    A 0,   B 20·(14−13.333…)/14 = 0.952381,  C 0,  D 20
    查实率     15, lower, max 1:     A 15·(1−3/7) = 8.571429,  B 0,  C 8.571429,  D 15
    整改率     20, higher, min 0.5:  A 20,  B 0,  C 20,  D 20
    人员处置率 15, lower, max 2:     A 0,   B 15,  C 0,  D 15

    total  A 45.071429 → 45.07   B 15.952381 → 15.95   C 45.07   D 100.00
    rank   D 1, A 2, C 2 (shared), B 4
    colour n = 4: rank > 2 red (B), rank > 0 yellow (D, A, C), no green
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from adapters.duckdb import DuckDBWarehouse
from engine import ledger
from engine.cli import main
from engine.schema import WARNINGS_SCHEMA, source_schema

A, B, C, D, E = "330122001", "330122002", "330122003", "330122004", "330122100"


def warning(key: str, township: str) -> dict:
    return {
        "model_id": "FIN05",
        "warning_key": key,
        "township": township,
        "severity": "yellow",
        "domain": "FIN",
        "message": key,
        "as_of": date(2021, 1, 1),
        "model_title": "t",
        "model_revision": "r",
        "pack_version": "0.1.0",
        "evidence": "{}",
    }


def disposal(
    key: str,
    verified: bool,
    outcome: str | None = None,
    rectified: bool = False,
    persons: int | None = None,
) -> dict:
    return {
        "model_id": "FIN05",
        "warning_key": key,
        "verified_on": date(2021, 12, 20) if verified else None,
        "outcome": outcome,
        "rectified_on": date(2021, 12, 28) if rectified else None,
        "persons_disposed": persons,
        "funds_recovered": None,
    }


def confirmed_township(code: str) -> tuple[list[dict], list[dict]]:
    """A and C: 7 warnings, all verified; 2 属实 and 1 部分属实, all rectified; 1 person."""
    keys = [f"{code}-{i}" for i in range(7)]
    outcomes = ["属实", "属实", "部分属实", "不属实", "不属实", "不属实", "不属实"]
    records = [
        disposal(k, True, o, rectified=o != "不属实", persons=1 if i == 0 else 0)
        for i, (k, o) in enumerate(zip(keys, outcomes, strict=True))
    ]
    return [warning(k, code) for k in keys], records


@pytest.fixture
def county(tmp_path, pack) -> str:
    path = tmp_path / "fixture.duckdb"
    warehouse = DuckDBWarehouse(f"duckdb:///{path}")
    a_warnings, a_disposal = confirmed_township(A)
    c_warnings, c_disposal = confirmed_township(C)
    b_warnings = [warning(f"B-{i}", B) for i in range(4)]
    b_disposal = [
        disposal("B-0", True, "属实", rectified=True),
        disposal("B-1", True, "属实"),
        disposal("B-2", False),
    ]  # B-3 has no record at all
    quarter = a_warnings + b_warnings + c_warnings + [warning("E-0", E)]
    ledger.record(
        warehouse, pa.Table.from_pylist(quarter, schema=WARNINGS_SCHEMA), date(2021, 10, 31), {}
    )
    # D's only warning was issued in Q3: it does not count in Q4.
    ledger.record(
        warehouse,
        pa.Table.from_pylist([warning("D-0", D)], schema=WARNINGS_SCHEMA),
        date(2021, 9, 30),
        {},
    )
    sources = pack.pack.sources
    warehouse.load(
        "sup_disposal",
        pa.Table.from_pylist(
            a_disposal + b_disposal + c_disposal, schema=source_schema(sources["sup_disposal"])
        ),
    )
    staffing = [
        {"township": t, "year": 2021, "staff_count": n}
        for t, n in ((A, 50), (B, 30), (C, 50), (D, 25))
    ]
    staffing.append({"township": A, "year": 2020, "staff_count": 999})
    warehouse.load(
        "town_staffing",
        pa.Table.from_pylist(staffing, schema=source_schema(sources["town_staffing"])),
    )
    names = [
        {"township": t, "name": n, "kind": "镇"}
        for t, n in ((A, "甲镇"), (B, "乙镇"), (C, "丙镇"), (D, "丁镇"), (E, "戊镇"))
    ]
    warehouse.load(
        "ref_township", pa.Table.from_pylist(names, schema=source_schema(sources["ref_township"]))
    )
    warehouse.close()
    return f"duckdb:///{path}"


def scores(county: str, period: str, capsys) -> tuple[dict[str, dict], list[str]]:
    assert main(["score", "--period", period, "--warehouse", county, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    return {row["township"]: row for row in out["scores"]}, out["left_out"]


def two(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_the_hand_computed_fixture(county, capsys):
    rows, left_out = scores(county, "2021Q4", capsys)
    assert left_out == [E]
    assert {t: two(r["total"]) for t, r in rows.items()} == {
        A: Decimal("45.07"),
        B: Decimal("15.95"),
        C: Decimal("45.07"),
        D: Decimal("100.00"),
    }
    assert {t: r["rank"] for t, r in rows.items()} == {D: 1, A: 2, C: 2, B: 4}
    assert {t: r["colour"] for t, r in rows.items()} == {
        D: "yellow",
        A: "yellow",
        C: "yellow",
        B: "red",
    }
    assert {t: two(r["part_verification"]) for t, r in rows.items()} == {
        A: Decimal("16.50"),
        B: Decimal("0.00"),
        C: Decimal("16.50"),
        D: Decimal("30.00"),
    }
    assert two(rows[B]["part_warnings"]) == Decimal("0.95")
    assert two(rows[A]["part_confirmation"]) == Decimal("8.57")
    a = rows[A]
    assert (float(a["warning_rate"]), float(a["problems_per_capita"])) == (14.0, 0.06)
    assert (float(a["verification_rate"]), round(float(a["confirmation_rate"]), 6)) == (
        1.0,
        round(3 / 7, 6),
    )
    d = rows[D]
    assert (
        float(d["verification_rate"]),
        float(d["confirmation_rate"]),
        float(d["rectification_rate"]),
    ) == (1.0, 0.0, 1.0)
    assert rows[B]["measure_w"] == 4 and rows[B]["measure_v"] == 2
    assert all(r["consequence"] is None for r in rows.values())


def test_the_year_takes_its_staffing_year_and_states_consequences(county, capsys):
    rows, _ = scores(county, "2021", capsys)
    # Over the year D's Q3 warning counts too.
    assert rows[D]["measure_w"] == 1
    red = [r for r in rows.values() if r["colour"] == "red"]
    assert red and all("约谈" in r["consequence"] for r in red)


def test_a_period_is_a_quarter_or_a_year(county, capsys):
    assert main(["score", "--period", "2021Q5", "--warehouse", county]) == 64
    assert "不是期间" in capsys.readouterr().err
