"""A run reuses the warnings of an earlier run whose rows a model's query gave again.

A pre-check evaluates its models without the records and with them, as of the same
day; most models' rows come out the same, and making their warnings again is work
done twice (engine/runs/run.py `known`). Rows that differ are made into warnings anew.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters import connect
from engine import api
from engine.demo import demo_run
from engine.demo.generator import generate
from engine.runs.run import ModelRows, run_models

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2021, 12, 31)
MODELS = ("FIN02", "FUN01", "ENG04")


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('known') / 'county.duckdb'}"
    demo_run.build_warehouse(url, generate(size=0.05, seed=2021))
    return url


def test_the_same_rows_take_the_warnings_made_before(county: str) -> None:
    pack = api.load_pack(ROOT / "policies")
    models = [pack.models[m] for m in MODELS]
    warehouse = connect(county)
    # One thread, as the pre-check service's connections run (engine/service/server.py
    # QUERY_THREADS): with several, DuckDB may return the same rows in another order, and
    # rows in another order are not the same rows to `known` (their warnings are made anew).
    warehouse.execute("SET threads = 1")
    try:
        first = run_models(pack, warehouse, AS_OF, models, keep_rows=True, share=False)
        assert set(first.rows) == set(MODELS) and first.warnings.num_rows > 0
        assert sum(r.warnings.num_rows for r in first.rows.values()) == first.warnings.num_rows
        # Warnings marked as made before: taken as they are when the rows are the same.
        marked = {
            m: ModelRows(r.rows, r.warnings.slice(0, 0), r.dropped) for m, r in first.rows.items()
        }
        again = run_models(pack, warehouse, AS_OF, models, known=marked, share=False)
        assert again.warnings.num_rows == 0
        # Another day's rows differ: their warnings are made anew, as a run without any.
        other = date(2021, 6, 30)
        fresh = run_models(pack, warehouse, other, models, keep_rows=True, share=False)
        assert all(not fresh.rows[m].rows.equals(first.rows[m].rows) for m in MODELS)
        reused = run_models(pack, warehouse, other, models, known=marked, share=False)
        assert fresh.warnings.num_rows > 0
        assert reused.warnings.to_pylist() == fresh.warnings.to_pylist()
    finally:
        warehouse.close()
