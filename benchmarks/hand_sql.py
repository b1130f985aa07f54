"""The hand-written SQL baseline: tests/demo/demo_reference.py, run on the benchmark's DuckDB file.

demo_reference holds a plain DuckDB query for each of the 35 models, written
from the data contract independently of the engine (the demo tests check it
against the planted truth). It is imported, not copied, so the baseline is
the one the tests keep honest. The only adaptation is where it runs: on the
benchmark's DuckDB file (opened read-only; its `v_*` as-of views and shared
views are TEMP views, which a read-only database allows) instead of Arrow
tables registered in memory. The as-of rule is demo_reference's own: a row
is visible when its event date is null or not after the day.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import duckdb

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "demo" / "demo_reference.py"


def reference() -> ModuleType:
    """tests/demo/demo_reference.py as a module (tests/ is not a package one can import)."""
    module = sys.modules.get("demo_reference")
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location("demo_reference", REFERENCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_reference"] = module
    spec.loader.exec_module(module)
    return module


def model_ids() -> list[str]:
    """The models the baseline covers (all 35)."""
    return sorted(reference().MODELS)


def prepare(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Define the as-of views (`v_<source>`) and the shared views over the file's tables."""
    names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    reference().set_as_of(con, dict.fromkeys(names), as_of)


def run(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, models: list[str]
) -> tuple[dict[str, dict[str, str]], dict[str, float]]:
    """Each model's warnings as key -> township (the smallest, as the engine picks), and seconds."""
    import time

    ref = reference()
    found: dict[str, dict[str, str]] = {}
    seconds: dict[str, float] = {}
    for model in models:
        started = time.perf_counter()
        rows = ref.run_model(con, model, as_of)
        seconds[model] = time.perf_counter() - started
        keys: dict[str, str] = {}
        for key, township in rows:
            if key not in keys or township < keys[key]:
                keys[key] = township
        found[model] = keys
    return found, seconds
