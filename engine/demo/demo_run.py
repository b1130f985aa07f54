"""`oversight demo`: build the demo county's warehouse and run the whole chain on it.

The county comes from engine/demo (deterministic for a seed, with planted
violations); every model runs as of each month end of 2021, each run
recorded in the warehouse's ledger, so that the ledger ends up holding each
(model, key) once, with the township and day of the first run that raised
it — which is what the demo reports.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlglot import exp

from adapters import connect
from adapters.names import statement, table_named
from adapters.redaction import redact
from dsl import ir
from engine import api
from engine.demo.generator import (
    MONTH_ENDS,
    STOPPED_FROM,
    DemoCounty,
    StoppedInterface,
    check_stoppable,
    generate,
)
from engine.index.score import Period, ScoreResult, index_of
from engine.runs import ledger
from engine.runs.logs import Progress
from engine.runs.run import ModelOutcome, run_models, select_models
from engine.sources import SourceHealth, check_sources, models_reading


@dataclass
class DemoResult:
    """What the demo built and found."""

    warehouse: str
    size: float
    seed: int
    rows: dict[str, int]
    warnings: pa.Table  # the ledger: each (model_id, warning_key) once, as first issued
    truth: pa.Table
    seconds: dict[str, float] = field(default_factory=dict)
    failures: list[ModelOutcome] = field(default_factory=list)
    scores: dict[str, ScoreResult] = field(default_factory=dict)  # 2021Q1 … 2021Q4, 2021
    report: Path | None = None
    advice: list[Path] = field(default_factory=list)  # 共性问题.json and the drafts, as written
    stopped: StoppedInterface | None = None  # the interface made to stop (--stale-interface)
    # Every source's health as of the year-end run (engine/sources.py), as `oversight run` checks.
    sources: list[SourceHealth] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def build_warehouse(
    url: str, county: DemoCounty, progress: Progress = api.no_progress
) -> dict[str, int]:
    """Replace the demo warehouse's tables with the county's; returns rows per source."""
    warehouse = connect(url)
    try:
        names = sorted(county.tables)
        for done, name in enumerate(names, 1):
            warehouse.load(name, county.tables[name], replace=True)
            progress("load", done, len(names))
    finally:
        warehouse.close()
    return {name: table.num_rows for name, table in county.tables.items()}


DEMO_MARKER = "oversight_demo"
"""A table the demo leaves in the warehouse it builds: the sign that it may build it again."""


class NotADemoWarehouse(ValueError):
    """The demo was pointed at a warehouse it did not build; it replaces nothing there."""

    def __init__(self, url: str, tables: list[str]) -> None:
        self.url = url
        self.tables = tables
        shown = ", ".join(tables[:3]) + (" …" if len(tables) > 3 else "")
        super().__init__(
            f"{url} 已有数据（{shown}），不是演示程序建的，演示不会替换它 / "
            f"{url} holds tables the demo did not build ({shown}); the demo replaces nothing "
            "there\n  = 提示 hint: 用 --warehouse 给演示另选一个文件，如 "
            "--warehouse duckdb:///demo.duckdb / choose another file with --warehouse"
        )


def start_afresh(url: str, sources: Iterable[str]) -> None:
    """Make `url` ready for a new demo: the ledger and runs of earlier runs are dropped.

    The demo's summary is the ledger, so a ledger kept from earlier runs (at
    other days) would be counted in it: the demo run twice must say the same.
    A warehouse with the county's tables or a ledger but without the demo's
    mark is someone's data, maybe at the default path: NotADemoWarehouse.
    """
    warehouse = connect(url)
    try:
        if not warehouse.has_table(DEMO_MARKER):
            found = [t for t in (ledger.LEDGER, *sorted(sources)) if warehouse.has_table(t)]
            if found:
                raise NotADemoWarehouse(url, found)
        for table in (ledger.LEDGER, ledger.RUNS):
            drop = exp.Drop(tables=[table_named(table)], kind="TABLE", exists=True)
            warehouse.execute(statement(drop, warehouse.dialect))
        note = "built by `oversight demo`: the next demo replaces every table of it"
        warehouse.load(DEMO_MARKER, pa.table({"note": [note]}), replace=True)
    finally:
        warehouse.close()


def run_month_ends(
    pack: ir.CheckedPack,
    url: str,
    month_ends: Iterable[date] = MONTH_ENDS,
    progress: Progress = api.no_progress,
) -> tuple[pa.Table, list[ModelOutcome]]:
    """Every active model as of each month end, each run recorded; returns the ledger."""
    days = list(month_ends)
    models = select_models(pack)
    warehouse = connect(url, must_exist=True)
    failures = []
    try:
        for done, day in enumerate(days, 1):
            result = run_models(pack, warehouse, day, models)
            facts = {
                "pack_version": pack.pack.version,
                "models_run": len(models),
                "models_failed": len(result.failed),
            }
            ledger.record(warehouse, result.warnings, day, facts)
            failures.extend(result.failed)
            progress("run", done, len(days))
        return ledger.read(warehouse), failures
    finally:
        warehouse.close()


def demo(
    pack: ir.CheckedPack,
    url: str,
    size: float = 1.0,
    seed: int = 2021,
    progress: Progress = api.no_progress,
    report: Path | None = None,
    advice: Path | None = None,
    stopped: str | None = None,
    stopped_from: date = STOPPED_FROM,
) -> DemoResult:
    """Generate the county and run the whole chain on it in the warehouse at `url`.

    Every model runs at each month end of 2021, each quarter and the year are
    scored, the year's report is written to `report` and its common problems and
    recommendation drafts into the folder `advice` (when given). With `stopped`,
    that source delivers nothing from `stopped_from` on (generator.StoppedInterface).
    """
    index_of(pack)  # the demo scores and reports: refuse a pack without them before building
    if stopped is not None:
        check_stoppable(stopped)  # before the warehouse's ledger is dropped
    start_afresh(url, pack.pack.sources)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    progress("generate", 0, 1)
    county = generate(size=size, seed=seed, stopped=stopped, stopped_from=stopped_from)
    progress("generate", 1, 1)
    seconds["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    rows = build_warehouse(url, county, progress)
    seconds["load"] = time.perf_counter() - started
    started = time.perf_counter()
    warnings, failures = run_month_ends(pack, url, MONTH_ENDS, progress)
    health = year_end_sources(pack, url, MONTH_ENDS[-1])
    seconds["run"] = time.perf_counter() - started
    started = time.perf_counter()
    year = MONTH_ENDS[-1].year
    scores = score_year(pack, url, year)
    seconds["score"] = time.perf_counter() - started
    written = None
    if report is not None:
        started = time.perf_counter()
        written = api.report(pack, Period.parse(str(year)), report, url)
        seconds["report"] = time.perf_counter() - started
    drafted: list[Path] = []
    if advice is not None:
        started = time.perf_counter()
        drafted = api.write_advice(pack, Period.parse(str(year)), advice, url).paths
        seconds["advice"] = time.perf_counter() - started
    return DemoResult(
        url,
        size,
        seed,
        rows,
        warnings,
        county.truth,
        seconds,
        failures,
        scores,
        written,
        drafted,
        county.stopped,
        health,
    )


def year_end_sources(pack: ir.CheckedPack, url: str, day: date) -> list[SourceHealth]:
    """Every source's health as of the year-end run: what that run stood on."""
    warehouse = connect(url, read_only=True, must_exist=True)
    try:
        return check_sources(warehouse, pack.pack, {}, day)
    finally:
        warehouse.close()


def score_year(pack: ir.CheckedPack, url: str, year: int) -> dict[str, ScoreResult]:
    """The index for each quarter of `year` and for the year, keyed by period label."""
    periods = [*Period.parse(str(year)).quarters(), Period.parse(str(year))]
    return {p.label: api.score(pack, p, url) for p in periods}


def summary(result: DemoResult, pack: ir.CheckedPack, samples: int = 5) -> dict[str, Any]:
    """Counts by domain, severity and township, and a few sample messages."""
    warnings = result.warnings.to_pylist()
    names = {t.code: t.name for t in pack.pack.townships}
    by_domain = Counter(pack.pack.domains.get(w["domain"], w["domain"]) for w in warnings)
    by_severity = Counter(w["severity"] for w in warnings)
    by_township = Counter(names.get(w["township"], w["township"] or "—") for w in warnings)
    by_model = Counter(w["model_id"] for w in warnings)
    picked = [
        w
        for i, w in enumerate(
            sorted(warnings, key=lambda w: (w["severity"] != "red", w["model_id"]))
        )
        if i % max(len(warnings) // max(samples, 1), 1) == 0
    ][:samples]
    return {
        "warehouse": redact(result.warehouse),
        "size": result.size,
        "seed": result.seed,
        "rows": result.total_rows,
        "sources": len(result.rows),
        "models": len(select_models(pack)),
        "runs": [d.isoformat() for d in MONTH_ENDS],
        "warnings": len(warnings),
        "by_domain": dict(by_domain.most_common()),
        "by_severity": {s: by_severity.get(s, 0) for s in ("red", "yellow", "blue")},
        "by_township": dict(by_township.most_common()),
        "by_model": dict(sorted(by_model.items())),
        "samples": [
            {
                "model_id": w["model_id"],
                "township": names.get(w["township"]),
                "message": w["message"],
            }
            for w in picked
        ],
        "scores": {
            label: [
                {
                    "rank": r["rank"],
                    "township": r["name"],
                    "total": float(r["total"]),
                    "colour": r["colour"],
                }
                for r in scored.table.to_pylist()
            ]
            for label, scored in result.scores.items()
        },
        "report": str(result.report) if result.report else None,
        "advice": [str(path) for path in result.advice],
        "failed_models": sorted({f.model_id for f in result.failures}),
        "stopped_interface": stopped_facts(result.stopped),
        "unhealthy_sources": unhealthy_facts(result.sources, pack),
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
    }


def unhealthy_facts(health: list[SourceHealth], pack: ir.CheckedPack) -> dict[str, Any]:
    """The sources not ok at the year-end run, with the models reading them; {} when all are."""
    reading = models_reading(health, select_models(pack))
    return {
        h.name: {"status": h.status, "status_zh": h.status_zh, "models": reading[h.name]}
        for h in health
        if h.status != "ok"
    }


def stopped_facts(stopped: StoppedInterface | None) -> dict[str, Any] | None:
    """The stopped interface as the summary states it; None when every interface delivered."""
    if stopped is None:
        return None
    return {
        "source": stopped.source,
        "from": stopped.since.isoformat(),
        "rows_dropped": stopped.rows_dropped,
    }
