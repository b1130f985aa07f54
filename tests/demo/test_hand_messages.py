"""The benchmark's hand-written SQL (benchmarks/hand_messages.py) gives the engine's warnings.

The benchmark measures the engine against these queries; they are only a
fair baseline if they compute what the engine computes. On the demo county
(size 0.05, the planted cases and their near-misses) at four month ends,
every model's hand-written rows, read by the engine's own to_warnings, must
give exactly the engine's warnings: the same keys, townships and messages,
word for word. The benchmark checks the same again at its own sizes.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from demo_reference import connect, set_as_of

from engine import api
from engine.compiler.compile import Target, compile_model
from engine.runs.warnings import to_warnings

ROOT = Path(__file__).resolve().parents[2]
DAYS = (dt.date(2021, 3, 31), dt.date(2021, 6, 30), dt.date(2021, 9, 30), dt.date(2021, 12, 31))


def _hand_sql():
    """benchmarks/hand_sql.py (benchmarks/ is not a package one can import)."""
    spec = importlib.util.spec_from_file_location("hand_sql", ROOT / "benchmarks" / "hand_sql.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hand_sql"] = module
    spec.loader.exec_module(module)
    return module


HAND_SQL = _hand_sql()
HAND = HAND_SQL.queries("messages")


@pytest.fixture(scope="module")
def county(small_county):
    return api.load_pack(ROOT / "policies"), connect(small_county.tables), small_county.tables


def _triples(warnings: pa.Table) -> set[tuple[str, str, str]]:
    columns = [warnings.column(c).to_pylist() for c in ("warning_key", "township", "message")]
    return set(zip(*columns, strict=True))


def test_every_model_has_a_hand_written_query():
    assert sorted(HAND) == sorted(p.stem for p in (ROOT / "policies" / "models").rglob("*.rule"))


@pytest.mark.parametrize("model_id", sorted(HAND))
def test_the_hand_written_query_gives_the_engines_warnings_word_for_word(county, model_id):
    pack, con, tables = county
    raised = 0
    for day in DAYS:
        set_as_of(con, tables, day)
        compiled = compile_model(pack.models[model_id], pack, Target("duckdb", day))
        rows = con.sql(compiled.sql()).to_arrow_table()
        engine = _triples(to_warnings(compiled.model, rows, pack.pack, day)[0])
        width = len(compiled.key_columns) + 1 + len(compiled.hole_columns)
        hand_rows = con.sql(HAND[model_id].format(D=f"DATE '{day}'")).to_arrow_table()
        assert hand_rows.num_columns == width, f"{model_id} returns the wrong columns"
        hand = _triples(HAND_SQL.as_warnings(compiled.model, hand_rows, pack, day))
        assert hand == engine, f"{model_id} as of {day}"
        raised += len(engine)
    assert raised > 0, f"{model_id} raised nothing on the demo county: the comparison is empty"
