"""Amounts read alike from every warehouse: a binary float is the amount to the fen it means.

SQLite keeps DECIMAL columns as REAL and PostgreSQL's `double precision` is
binary too; neither holds 8716.38 exactly, and arithmetic on them leaves
8716.380000000001 where DuckDB's DECIMAL(18, 2) holds 8716.38.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pyarrow as pa

from adapters import connect
from dsl import ir
from dsl.types import Type
from engine.runs.run import run_models, select_models
from engine.runs.warnings import normalise, write_value
from engine.schema import fen, source_schema


def one_bit_above(amount: str) -> float:
    """The double just above an amount's own: what a sum or Arrow's decimal cast leaves."""
    return math.nextafter(float(amount), math.inf)


def test_a_double_is_the_amount_to_the_fen_it_stands_for():
    assert one_bit_above("8716.38") == 8716.380000000001
    assert fen(8716.380000000001) == Decimal("8716.38")
    assert fen(0.1 + 0.2) == Decimal("0.30")
    # 1.005 as a double is 1.00499999999999989…; it reads as the 1.005 every warehouse
    # prints for it, rounded halves up, as DuckDB's DECIMAL 1.005 is.
    assert fen(1.005) == fen(Decimal("1.005")) == Decimal("1.01")
    assert fen(-0.005) == Decimal("-0.01")
    assert fen(12) == Decimal("12.00")


def test_a_decimal_value_normalises_to_the_fen_and_a_float_keeps_its_digits():
    assert normalise(8716.380000000001, Type.DECIMAL) == Decimal("8716.38")
    assert normalise(Decimal("8716.380"), Type.DECIMAL) == Decimal("8716.38")
    assert normalise(0.1 + 0.2, Type.FLOAT) == Decimal("0.30000000000000004")
    assert write_value(0.1 + 0.2, Type.FLOAT) == "0.3"


# ---- a model's messages on DuckDB (DECIMAL) and SQLite (REAL one bit off) -------------------

AS_OF = date(2021, 12, 31)
REIMBURSED = ["1500.35", "1501.12", "1999.99"]  # FIN03: three vouchers under 5,000, 5,001.46 in all
INVESTMENT = "40000000.01"  # ENG01: just over the threshold, not tendered


def _rows(townships: list[dict]) -> dict[str, list[dict]]:
    reimbursements = [
        {
            "voucher_id": f"V{i}",
            "township": "330122003",
            "claimant_id": "330122198501010015",
            "vendor_name": "富春饭店",
            "amount": Decimal(amount),
            "expense_on": date(2021, 3, i + 1),
        }
        for i, amount in enumerate(REIMBURSED)
    ]
    project = {
        "project_id": "P1",
        "township": "330122102",
        "name": "农村自来水工程",
        "investment": Decimal(INVESTMENT),
        "approved_on": date(2021, 4, 20),
        "status": "在建",
    }
    return {
        "ref_township": townships,
        "town_reimbursement": reimbursements,
        "dr_project": [project],
        "trade_tender": [],
    }


def _warnings(url: str, pack: ir.CheckedPack, tables: dict[str, pa.Table]) -> list[tuple]:
    warehouse = connect(url)
    try:
        for name, table in tables.items():
            warehouse.load(name, table, replace=True)
        result = run_models(pack, warehouse, AS_OF, select_models(pack, ["FIN03", "ENG01"]))
    finally:
        warehouse.close()
    assert result.failed == []
    return sorted(
        (w["model_id"], w["warning_key"], w["message"], w["evidence"])
        for w in result.warnings.to_pylist()
    )


def test_messages_from_real_columns_read_as_duckdb_decimals(tmp_path, pack, townships):
    exact = {
        name: pa.Table.from_pylist(rows, schema=source_schema(pack.pack.sources[name]))
        for name, rows in _rows(townships).items()
    }
    # SQLite's tables hold the amounts as doubles one bit off, as the demo once stored them.
    off = dict(exact)
    for name, column, amounts in (
        ("town_reimbursement", "amount", REIMBURSED),
        ("dr_project", "investment", [INVESTMENT]),
    ):
        table = exact[name]
        doubles = pa.array([one_bit_above(a) for a in amounts], pa.float64())
        off[name] = table.set_column(table.schema.get_field_index(column), column, doubles)

    on_duckdb = _warnings(f"duckdb:///{tmp_path / 'w.duckdb'}", pack, exact)
    on_sqlite = _warnings(f"sqlite:///{tmp_path / 'w.sqlite'}", pack, off)

    assert on_sqlite == on_duckdb
    messages = [message for _, _, message, _ in on_duckdb]
    assert "投资额为4000万元的分水镇农村自来水工程" in messages[0]  # wan(): two decimals
    assert '"40000000.01"' in on_duckdb[0][3]  # the evidence keeps the amount to the fen
    assert "合计5001.46元" in messages[1]
