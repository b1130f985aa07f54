"""The hand-written SQL baselines, run on the benchmark's DuckDB file.

Two sets of plain DuckDB queries, one per model, over the same as-of views
(`v_<source>`, hiding rows whose event date is after the day; a row with
none is visible) and shared views that tests/demo/demo_reference.py defines:

- `messages` (benchmarks/hand_messages.py): what the engine's query gives —
  the key parts, the township and the value of every `{…}` of the message.
  This is the baseline the ratio is measured against: the same work.
- `keys` (tests/demo/demo_reference.py): only each warning's key and
  township, written from the data contract before the engine existed to
  check the demo data. It does less than the engine, so it is reported
  beside the other, not as the target.

Both are kept honest by tests (tests/demo/test_ground_truth.py for the keys,
tests/demo/test_hand_messages.py for the messages against the engine's own
warnings). The views are TEMP views, which a read-only database allows.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pyarrow as pa

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "tests" / "demo" / "demo_reference.py"
BASELINES = ("messages", "keys")


def _module(name: str, path: Path) -> ModuleType:
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def reference() -> ModuleType:
    """tests/demo/demo_reference.py as a module (tests/ is not a package one can import)."""
    return _module("demo_reference", REFERENCE)


def queries(baseline: str) -> dict[str, str]:
    """Model id -> query text of one baseline (`{D}` stands for the as-of DATE literal)."""
    if baseline == "keys":
        return reference().MODELS
    return _module("hand_messages", HERE / "hand_messages.py").MODELS


def model_ids(baseline: str = "messages") -> list[str]:
    """The models a baseline covers (all 35)."""
    return sorted(queries(baseline))


def prepare(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Define the as-of views (`v_<source>`) and the shared views over the file's tables."""
    names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    reference().set_as_of(con, dict.fromkeys(names), as_of)


def run(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, models: list[str], baseline: str
) -> tuple[dict[str, list[tuple]], dict[str, float]]:
    """Each model's rows, and the seconds its query took (run and fetched)."""
    texts = queries(baseline)
    day = f"DATE '{as_of}'"
    rows: dict[str, list[tuple]] = {}
    seconds: dict[str, float] = {}
    for model in models:
        started = time.perf_counter()
        rows[model] = con.execute(texts[model].format(D=day)).fetchall()
        seconds[model] = time.perf_counter() - started
    return rows, seconds


def as_warnings(model: Any, rows: pa.Table | list[tuple], pack: Any, as_of: dt.date) -> pa.Table:
    """A hand-written query's rows read as the engine's warnings of that model.

    The query's columns are, by position, the key parts, the township and the
    values of the message, named as the engine's compiler names them; the
    engine's own to_warnings writes the messages out, so that they compare
    with the engine's word for word.
    """
    from engine.compiler.compile import hole_columns, key_columns
    from engine.runs.warnings import to_warnings

    names = [*key_columns(model), "township", *hole_columns(model)]
    if isinstance(rows, pa.Table):
        if rows.num_columns != len(names):
            raise ValueError(f"{model.id}: {rows.num_columns} columns, not {len(names)}")
        table = rows.rename_columns(names)
    elif rows:
        table = pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in rows])
    else:
        table = pa.table({name: pa.array([], pa.null()) for name in names})
    return to_warnings(model, table, pack.pack, as_of)[0]
