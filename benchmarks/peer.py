"""How long the peer comparison with quantile() takes on the demo county (tests/packs/peer).

    python3 benchmarks/peer.py --sizes 1 --repeat 9 [--as-of 2021-12-31] [--out benchmarks/results]

For each size factor of the demo county (benchmarks/data.py generates it once
and keeps it as a DuckDB file), on that file, read-only:

1. compiles PEER01 for DuckDB as of the day and times it;
2. runs its query `--repeat` times on one connection, interleaved with a
   hand-written query of the same rule in plain DuckDB SQL (the per-head
   spending grouped once in a WITH, the fences grouped by year, one join),
   and reports the median, the fastest and the slowest of each;
3. runs the model as `oversight run` would (`engine.runs.run.run_models`: compile,
   query, warnings written out) `--repeat` times, and reports the median;
4. checks before reporting that the model's warnings are exactly the
   hand-written query's keys; otherwise it prints both and exits 1.

Prints a Markdown table and writes it, with every raw figure and the load
average before each size, to benchmarks/results/peer-<UTC time>.json / .md.
The machine is shared: read the load average beside the times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from data import prepare, size_label  # noqa: E402

from adapters.duckdb import DuckDBWarehouse  # noqa: E402
from engine import api  # noqa: E402
from engine.compiler.compile import Target, compile_model  # noqa: E402
from engine.runs.run import run_models  # noqa: E402

PACK = ROOT / "tests" / "packs" / "peer"
MODEL = "PEER01"

# The rule as one would write it by hand in DuckDB: rows after as_of are invisible, the peers
# of a year are the township-years with staff and reimbursements, and a township-year warns
# when its spending per head is above Q3 + 1.5·(Q3 − Q1) of its year with at least 5 peers.
HAND_WRITTEN = """
WITH per_head AS (
  SELECT s.township, s.year, SUM(r.amount) / s.staff_count AS per_head
  FROM town_staffing AS s
  JOIN town_reimbursement AS r ON r.township = s.township AND YEAR(r.expense_on) = s.year
  WHERE s.staff_count > 0 AND (r.expense_on <= CAST($as_of AS DATE) OR r.expense_on IS NULL)
  GROUP BY s.township, s.year, s.staff_count
), fences AS (
  SELECT year, COUNT(*) AS peers,
         QUANTILE_CONT(per_head, 0.25) AS q1, QUANTILE_CONT(per_head, 0.75) AS q3
  FROM per_head GROUP BY year
)
SELECT p.township || '|' || CAST(p.year AS VARCHAR) AS warning_key
FROM per_head AS p JOIN fences AS f ON f.year = p.year
WHERE f.peers >= 5 AND p.per_head > f.q3 + 1.5 * (f.q3 - f.q1)
"""


def _timed(action) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def _summary(times: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
    }


def measure(size: float, seed: int, as_of: date, repeat: int) -> dict[str, Any]:
    """Every figure of one size: compile, the model's query, the hand-written one, a run."""
    dataset = prepare(size, seed)
    pack = api.load_pack(PACK)
    model = pack.models[MODEL]
    load_before = os.getloadavg()
    warehouse = DuckDBWarehouse(f"duckdb:///{dataset.duckdb}", read_only=True)
    try:
        compile_ms, compiled = _timed(
            lambda: compile_model(model, pack, Target("duckdb", as_of)).sql()
        )
        connection = warehouse.connection
        model_times, hand_times, run_times = [], [], []
        model_keys = hand_keys = set()
        for _ in range(repeat):
            elapsed, rows = _timed(lambda: connection.execute(compiled).fetchall())
            model_times.append(elapsed)
            elapsed, hand = _timed(
                lambda: connection.execute(HAND_WRITTEN, {"as_of": as_of.isoformat()}).fetchall()
            )
            hand_times.append(elapsed)
            hand_keys = {key for (key,) in hand}
            elapsed, result = _timed(
                lambda: run_models(pack, warehouse, as_of, [model], reviewed=False)
            )
            run_times.append(elapsed)
            model_keys = set(result.warnings["warning_key"].to_pylist())
        if model_keys != hand_keys or len(rows) != len(model_keys):
            print(f"PEER01 warns of {sorted(model_keys)}, by hand {sorted(hand_keys)}")
            sys.exit(1)
    finally:
        warehouse.close()
    return {
        "size": size,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "rows": dataset.rows["town_reimbursement"] + dataset.rows["town_staffing"],
        "warnings": sorted(model_keys),
        "compile_ms": round(compile_ms, 1),
        "query": _summary(model_times),
        "hand_written": _summary(hand_times),
        "run": _summary(run_times),
        "raw_ms": {"query": model_times, "hand_written": hand_times, "run": run_times},
        "load_average": load_before,
    }


def table(results: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table, one row per size, the load average beside them."""
    lines = [
        "| size | rows read | warnings | compile | PEER01 query (median, min–max) "
        "| hand-written | ratio | run_models | load average |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        q, h, run = r["query"], r["hand_written"], r["run"]
        lines.append(
            f"| {size_label(r['size'])} | {r['rows']:,} | {len(r['warnings'])} "
            f"| {r['compile_ms']} ms | {q['median_ms']} ms ({q['min_ms']}–{q['max_ms']}) "
            f"| {h['median_ms']} ms | {q['median_ms'] / h['median_ms']:.1f}× "
            f"| {run['median_ms']} ms | {' '.join(f'{x:.1f}' for x in r['load_average'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure each size asked for, print the table and keep it with the raw figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1", help="size factors, comma-separated")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2021, 12, 31))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    results = [
        measure(float(size), args.seed, args.as_of, args.repeat) for size in args.sizes.split(",")
    ]
    text = table(results)
    print(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"peer-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"peer-{stamp}.md").write_text(
        f"# PEER01 on the demo county, as of {args.as_of}\n\n{text}\n"
    )


if __name__ == "__main__":
    main()
