"""The index fixture computed by hand (tests/engine/test_index.py), built in any warehouse."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from adapters.base import Warehouse
from dsl import ir
from engine.runs import ledger
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


def build_index_fixture(warehouse: Warehouse, pack: ir.CheckedPack) -> None:
    """Fill `warehouse` with the fixture: a ledger, disposal, staffing and township names."""
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
