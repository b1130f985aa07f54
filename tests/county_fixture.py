"""A county's warehouse for tests: every source of the catalog, with the rows a test gives."""

from __future__ import annotations

import pyarrow as pa

from adapters import connect
from dsl import ir
from engine.schema import source_schema

WAREHOUSE_KINDS = ("duckdb", "sqlite", "postgres")
"""The warehouses whose answers must agree, for tests that run on each."""


def fill_county(
    url: str,
    pack: ir.CheckedPack,
    townships: list[dict],
    rows_by_source: dict[str, list[dict]] | None = None,
) -> str:
    """Every source of the catalog in the warehouse at `url`: the rows given, else empty.

    ref_township holds the townships unless rows are given for it. Returns `url`.
    """
    warehouse = connect(url)
    try:
        for name, source in pack.pack.sources.items():
            default = townships if name == "ref_township" else []
            rows = (rows_by_source or {}).get(name, default)
            warehouse.load(name, pa.Table.from_pylist(rows, schema=source_schema(source)), True)
    finally:
        warehouse.close()
    return url
