"""Shared fixtures: the repository's own pack, checked once, and warehouse builders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from adapters.duckdb import DuckDBWarehouse
from dsl import ir
from engine import api
from engine.schema import source_schema

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"


@pytest.fixture(scope="session")
def pack() -> ir.CheckedPack:
    return api.load_pack(POLICIES)


WarehouseBuilder = Callable[[dict[str, list[dict]]], str]


@pytest.fixture
def duckdb_warehouse(tmp_path: Path, pack: ir.CheckedPack) -> WarehouseBuilder:
    """Build a DuckDB file holding the given sources (rows as dicts); returns its URL.

    Only the named sources exist in it, so models reading others are skipped.
    """

    def build(rows_by_source: dict[str, list[dict]]) -> str:
        url = f"duckdb:///{tmp_path / 'county.duckdb'}"
        warehouse = DuckDBWarehouse(url)
        try:
            for name, rows in rows_by_source.items():
                schema = source_schema(pack.pack.sources[name])
                warehouse.load(name, pa.Table.from_pylist(rows, schema=schema), replace=True)
        finally:
            warehouse.close()
        return url

    return build


@pytest.fixture
def townships(pack: ir.CheckedPack) -> list[dict]:
    return [{"township": t.code, "name": t.name, "kind": t.kind} for t in pack.pack.townships]
