"""What every warehouse must answer alike: the pack's inline examples and the index fixture.

tests/conformance/test_conformance.py asks these on each engine in its own process; run as
a script, this module asks them on a Spark cluster, which needs a process of its own
(Spark allows one context per process):

    python3 tests/conformance_checks.py EXAMPLES_URL FIXTURE_URL

prints one line of JSON: the examples' count and failures, the fixture's scores per
period, and the master and number of executors that answered.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from index_fixture import build_index_fixture  # noqa: E402

from adapters import connect  # noqa: E402
from dsl import ir  # noqa: E402
from engine import api  # noqa: E402
from engine.index.score import Period  # noqa: E402
from engine.policy.examples import run_examples  # noqa: E402

FIXTURE_PERIODS = ("2021Q4", "2021")
FIXTURE_2021Q4 = [
    ["330122004", "100.00", 1, "yellow"],
    ["330122001", "45.07", 2, "yellow"],
    ["330122003", "45.07", 2, "yellow"],
    ["330122002", "15.95", 4, "red"],
]
"""The fixture's 2021Q4 township, total, rank and colour, computed by hand (index.md)."""


def small_pack(root: Path, pack_yaml: str, rules: str) -> ir.CheckedPack:
    """A test's own pack (pack.yaml and one rule file under `root`), checked clean, examples kept.

    Only E710 is allowed: a small pack has no compiled/ folder.
    """
    (root / "models").mkdir(parents=True)
    (root / "pack.yaml").write_text(pack_yaml, encoding="utf-8")
    (root / "models" / "models.rule").write_text(rules, encoding="utf-8")
    report = api.check(root)
    problems = [d for d in report.diagnostics if d.code != "E710"]
    assert not problems, [d.message for d in problems]
    return api.load_pack(root, examples=True)


def example_failures(url: str, pack: ir.CheckedPack) -> tuple[int, dict[str, list[str]]]:
    """How many examples ran on the (fresh, empty) warehouse at `url`, and which failed why."""
    warehouse = connect(url)
    try:
        outcomes = run_examples(pack, warehouse=warehouse)
    finally:
        warehouse.close()
    failures = {
        f"{o.model_id} {o.title}": [d.message for d in o.problems] for o in outcomes if not o.passed
    }
    return len(outcomes), failures


def index_scores(url: str, pack: ir.CheckedPack, period: str) -> list[list[str | int]]:
    """A period's scores, normalised: totals to 2 places, indicators to 6."""
    result = api.score(pack, Period.parse(period), url)
    return [
        [
            r["township"],
            _places(r["total"], 2),
            r["rank"],
            r["colour"],
            *(_places(r[i.name], 6) for i in pack.index.indicators),
        ]
        for r in result.table.to_pylist()
    ]


def fixture_scores(url: str, pack: ir.CheckedPack) -> dict[str, list[list[str | int]]]:
    """The index fixture written into the (fresh) warehouse at `url`, then scored per period."""
    warehouse = connect(url)
    try:
        build_index_fixture(warehouse, pack)
    finally:
        warehouse.close()
    return {period: index_scores(url, pack, period) for period in FIXTURE_PERIODS}


def _places(value: object, places: int) -> str:
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-places)))


def _spark_cluster() -> dict[str, object]:
    """The master this process's Spark context runs on, and how many executors joined it."""
    from pyspark.sql import SparkSession

    context = SparkSession.getActiveSession().sparkContext
    infos = context._jsc.sc().statusTracker().getExecutorInfos()  # the driver is one of them
    return {"master": context.master, "executors": len(infos) - 1}


def main(argv: list[str]) -> int:
    examples_url, fixture_url = argv
    pack = api.load_pack(ROOT / "policies", examples=True)
    count, failures = example_failures(examples_url, pack)
    answer = {
        "examples": count,
        "failures": failures,
        "fixture": fixture_scores(fixture_url, pack),
        **(_spark_cluster() if examples_url.startswith("spark:") else {}),
    }
    print(json.dumps(answer, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
