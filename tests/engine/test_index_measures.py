"""An index's measure may read the measures before it (`let Q = W + C`), as the checker allows.

It is written out where it is read, as a model's let is: the same query as
the measure spelled out in full.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import api
from engine.compiler.compile import DIALECTS, Target
from engine.index.score import ScoreTables, compile_score

ROOT = Path(__file__).resolve().parents[2]
TABLES = ScoreTables("warning_ledger", "sup_disposal", "staffing")
CONFIRMED = 'count(* where w.outcome in ("属实", "部分属实"))'


def _index_sql(tmp_path: Path, measure: str, dialect: str) -> str:
    policies = tmp_path / measure.replace(" ", "").replace('"', "")[:20] / "policies"
    shutil.copytree(ROOT / "policies", policies)
    index = policies / "index.rule"
    text = index.read_text(encoding="utf-8")
    anchor = "  let P = sum(w.persons_disposed)"
    assert anchor in text
    index.write_text(text.replace(anchor, f"  let Q = {measure}\n{anchor}"), encoding="utf-8")
    pack = api.load_pack(policies, examples=False)
    return compile_score(pack, Target(dialect), None, TABLES).sql(dialect=dialect)


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d in ("duckdb", "sqlite", "postgres")])
def test_a_measure_reading_measures_is_them_written_out(tmp_path: Path, dialect: str):
    reading = _index_sql(tmp_path, "W + C", dialect)
    written_out = _index_sql(tmp_path, f"count(*) + {CONFIRMED}", dialect)
    assert "measure_q" in reading
    assert reading == written_out
