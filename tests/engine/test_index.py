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
from decimal import Decimal

import pytest
from index_fixture import A, B, C, D, E, build_index_fixture

from adapters.duckdb import DuckDBWarehouse
from engine.cli import main


@pytest.fixture
def county(tmp_path, pack) -> str:
    url = f"duckdb:///{tmp_path / 'fixture.duckdb'}"
    warehouse = DuckDBWarehouse(url)
    build_index_fixture(warehouse, pack)
    warehouse.close()
    return url


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
