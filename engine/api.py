"""The engine as a library: what every CLI command does, callable from Python and tests.

The CLI in engine/cli/ only parses arguments, calls these and prints. `check`
(engine/policy/check.py) and the files of compiled/ (engine/compiler/files.py) have
modules of their own, so that the edit loop imports neither the warehouses nor
pyarrow; they are named here too (`from … import x as x`), as before.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from adapters import PermissionDenied, Warehouse, WarehouseError, WarehouseLost, connect
from adapters.names import quote_identifiers, statement, table_named
from adapters.passwords import WarehouseURL
from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError
from dsl.messages import diagnostic
from dsl.suggest import did_you_mean
from engine import __version__, signals
from engine.access import named_refusal
from engine.compiler import reviewed
from engine.compiler.compile import CompiledModel, Target, render
from engine.compiler.files import compile_models
from engine.compiler.files import compiled_files as compiled_files
from engine.compiler.files import index_sql_file as index_sql_file
from engine.compiler.files import sql_file as sql_file
from engine.compiler.files import stale_compiled as stale_compiled
from engine.compiler.files import write_compiled as write_compiled
from engine.defaults import POLICIES_ENV as POLICIES_ENV
from engine.defaults import WAREHOUSE_ENV, default_policies
from engine.index.disposal import (
    DISPOSAL,
    deadline_days,
    disposal_source,
    read_disposal,
    with_disposal,
)
from engine.index.score import Period, ScoreResult, ScoreTables, index_of, run_score
from engine.policy.check import CheckReport as CheckReport
from engine.policy.check import check as check
from engine.policy.deployment import (
    DEFAULT_WAREHOUSE,
    Deployment,
    load_deployment,
    password_ready,
)
from engine.policy.params import value_text
from engine.remedy.common import common_problems, common_thresholds, with_facts
from engine.remedy.common import document as common_document
from engine.remedy.drafts import write_drafts
from engine.reporting.report import IndicatorInfo, ModelInfo, PartInfo, ReportData
from engine.reporting.report import render as render_report
from engine.runs import ledger
from engine.runs.atomic import replace_file, replacing_file
from engine.runs.ledger import new_run_id
from engine.runs.logs import no_progress as no_progress
from engine.runs.manifest import RunFacts, redact, write_document
from engine.runs.reads import relations_read
from engine.runs.run import Events, RunResult, run_models, select_models
from engine.runs.shared import HOW_SHARED, create_statement, plan_shared
from engine.schema import source_schema
from engine.service import precheck as prechecks
from engine.signals import RunInterrupted as RunInterrupted
from engine.sources import SourceHealth, StaleMark, check_sources, previous_rows, stale_marks

COMMON_PROBLEMS_FILE = "共性问题.json"
"""What `oversight advise --out DIR` writes in DIR: the period's common problems as JSON."""


def load_pack(policies: str | Path | None = None, examples: bool = False) -> ir.CheckedPack:
    """A checked pack, or DiagnosticError with every problem.

    Examples are not run; unless `examples` is true they are not even parsed
    (they are most of a rule file, and only `check` and `explain` need them).
    """
    result = check_pack(policies or default_policies(), __version__, examples)
    if result.pack is None:
        raise DiagnosticError(result.diagnostics)
    return result.pack


def deployment_for(pack: ir.CheckedPack, path: str | Path | None) -> Deployment:
    """The deployment file at `path` checked against `pack` (defaults when `path` is None)."""
    return load_deployment(path, pack.pack)


def warehouse_url(explicit: str | None, deployment: Deployment, opening: bool = True) -> str:
    """--warehouse, else the deployment's, else $OVERSIGHT_WAREHOUSE, else the default file.

    With the deployment's `password_env`/`password_file`, a WarehouseURL that names
    where the password is: adapters.connect reads it then, and only then. A command
    asks for the URL just before it opens the warehouse (`opening`), so a password
    that is not there is E626 now, before anything is opened; one that only prints
    what the URL names (`grants` without --check) passes `opening=False`.
    """
    url = explicit or deployment.warehouse or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
    if deployment.password is None:
        return url
    if opening:
        password_ready(deployment, url)
    return WarehouseURL(url, deployment.password)


def compile_pack(
    pack: ir.CheckedPack,
    dialect: str,
    select: Iterable[str] = (),
    as_of: date | None = None,
    deployment: Deployment | None = None,
) -> list[CompiledModel]:
    """Every selected model's query for one dialect (all models when nothing is selected).

    Without an as-of day, the query a run binds, as in compiled/: the day and each
    scalar parameter are placeholders (engine/compiler/placeholders.py); with one, a
    query that runs by itself, every value written in.
    """
    deployment = deployment or Deployment()
    target = Target(
        dialect, as_of, deployment.parameters, deployment.tables, bind_parameters=as_of is None
    )
    return compile_models(pack, select_models(pack, select, include_inactive=True), target)


def compiled_dir(policies: str | Path | None = None) -> Path:
    """Where the pack's compiled SQL lives: `compiled/` beside the policies folder."""
    return reviewed.compiled_folder(policies or default_policies())


class StaleSources(Exception):
    """`--require-fresh`: a selected model would read a stale source, so nothing ran.

    `stale` maps each stale source a selected model reads to those models' ids;
    `sources` is every source's health as checked. Nothing was recorded.
    """

    def __init__(self, stale: dict[str, list[str]], sources: list[SourceHealth]) -> None:
        self.stale = stale
        self.sources = sources
        reasons = {h.name: "；".join(h.reasons) for h in sources}
        zh = "；".join(
            f"{name}（{reasons[name]}）由 {'、'.join(models)} 读取"
            for name, models in stale.items()
        )
        en = "; ".join(f"{name} (read by {', '.join(models)})" for name, models in stale.items())
        self.message_zh = f"数据停滞，本次运行未运行任何模型、未记录任何内容：{zh}"
        self.message_en = f"--require-fresh: stale sources, nothing was run or recorded: {en}"
        super().__init__(f"{self.message_zh} / {self.message_en}")


def source_facts(run_id: str, health: SourceHealth) -> dict[str, Any]:
    """What the `source.checked` event says of one source."""
    return {
        "run_id": run_id,
        "name": health.name,
        "status": health.status,
        "lag_days": health.lag_days,
        "rows": health.rows,
        "latest": health.latest.isoformat() if health.latest else None,
        "added_since_previous": health.added_since_previous,
        "reasons": list(health.reasons),
    }


def run(
    pack: ir.CheckedPack,
    as_of: date,
    warehouse: str | None = None,
    select: Iterable[str] = (),
    deployment: Deployment | None = None,
    record: bool = True,
    timeout: float | None = None,
    events: Events | None = None,
    manifest: str | Path | None = None,
    output: str | Path | None = None,
    require_fresh: bool = False,
) -> RunResult:
    """Evaluate the selected models as of `as_of`; record new warnings in the ledger.

    Before any model runs, every source's health as of `as_of` is checked on the same
    connection (engine/sources.py; a `source.checked` event each): the manifest keeps
    it, each model's outcome names the late or stale sources it read, and a model
    reading a column a source lost or retyped is skipped. With `require_fresh`, a
    selected model reading a stale source stops the run there (StaleSources): nothing
    is recorded, and the manifest says `stale_sources`.

    Every run has a manifest (engine/runs/manifest.py): kept in the runs table with
    the ledger, written to `manifest` when given — also when the run is
    interrupted or loses its warehouse, so a scheduler can tell what happened.

    The run's results — the warnings file `output`, the ledger and the run's
    row with its manifest — are committed together at the end: the file is
    written aside and put in place once the ledger has committed. Until then a
    signal stops the run with nothing written (RunInterrupted); from then on
    the run finishes and its manifest names the signal (engine/signals.py).
    """
    deployment = deployment or Deployment()
    events = events or (lambda event, facts: None)
    url = warehouse_url(warehouse, deployment)
    facts = RunFacts(pack, as_of, url, new_run_id(), datetime.now(UTC).replace(tzinfo=None))
    events(
        "run.started",
        {
            "run_id": facts.run_id,
            "as_of": as_of.isoformat(),
            "warehouse": redact(url),
            "pack_version": pack.pack.version,
        },
    )
    result: RunResult | None = None
    try:
        signals.point("run.started")
        # A dry run writes nothing: it asks the warehouse for no more than reading.
        connection = connect(url, read_only=not record, must_exist=True)
        try:
            with signals.cancelling(connection.interrupt):
                models = select_models(pack, select)
                previous = previous_rows(connection, ledger.Tables(deployment.ledger_schema), as_of)
                health = check_sources(connection, pack.pack, deployment.tables, as_of, previous)
                for checked in health:
                    events("source.checked", source_facts(facts.run_id, checked))
                if require_fresh:
                    stale = {
                        h.name: [m.id for m in models if h.name in m.sources]
                        for h in health
                        if h.status == "stale"
                    }
                    stale = {name: ids for name, ids in stale.items() if ids}
                    if stale:
                        raise StaleSources(stale, health)
                result = run_models(
                    pack,
                    connection,
                    as_of,
                    models,
                    deployment.parameters,
                    deployment.tables,
                    timeout=timeout,
                    events=events,
                    count_rows=True,
                    sources=health,
                )
                result.run_id = facts.run_id
                outcome = (
                    "models_failed"
                    if result.failed
                    else "models_skipped"
                    if result.skipped
                    else "ok"
                )
                signals.hold()
                _commit(connection, result, facts, outcome, record, output, deployment, events)
        finally:
            connection.close()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) or (
            isinstance(exc, Exception) and signals.received() and not signals.holding()
        ):
            signals.hold()  # a second signal must not cut the manifest short
            events("run.interrupted", {"run_id": facts.run_id, "signal": signals.received()})
            _write_manifest(
                manifest, facts.manifest(result, "interrupted", signal=signals.received()), events
            )
            raise RunInterrupted(signals.received() or "interrupted") from None
        if isinstance(exc, StaleSources):
            document = facts.manifest(None, "stale_sources", str(exc), sources=exc.sources)
            _write_manifest(manifest, document, events)
            events(
                "run.finished",
                {
                    "run_id": facts.run_id,
                    "outcome": "stale_sources",
                    "warnings": 0,
                    "seconds": document["seconds"],
                },
            )
        if isinstance(exc, PermissionDenied):  # a privilege the role lacks: a DBA's business
            refused = named_refusal(exc, "run", pack, deployment, url)
            events(
                "warehouse.refused",
                {"run_id": facts.run_id, "outcome": "permission_denied", "error": str(refused)},
            )
            document = facts.manifest(result, "permission_denied", str(refused))
            _write_manifest(manifest, document, events)
            raise refused from exc
        if isinstance(exc, WarehouseError):  # unreachable from the start, or lost midway
            lost = isinstance(exc, WarehouseLost)
            outcome = "warehouse_lost" if lost else "warehouse_unreachable"
            events(
                "warehouse.lost", {"run_id": facts.run_id, "outcome": outcome, "error": str(exc)}
            )
            _write_manifest(manifest, facts.manifest(result, outcome, str(exc)), events)
        raise
    document = facts.manifest(result, outcome, signal=signals.received())
    _write_manifest(manifest, document, events)
    events(
        "run.finished",
        {
            "run_id": facts.run_id,
            "outcome": outcome,
            "warnings": result.warnings.num_rows,
            "seconds": document["seconds"],
        },
    )
    result.manifest = document
    return result


def _commit(
    connection: Warehouse,
    result: RunResult,
    facts: RunFacts,
    outcome: str,
    record: bool,
    output: str | Path | None,
    deployment: Deployment,
    events: Events,
) -> None:
    """Write the warnings file and the ledger, the file in place only once the ledger is."""
    written = (
        replacing_file(_prepared(output), lambda out: pq.write_table(result.warnings, out))
        if output is not None
        else nullcontext()
    )
    with written:
        if record:
            result.recorded = ledger.record(
                connection,
                result.warnings,
                facts.as_of,
                {
                    **facts.counts(result),
                    "run_id": facts.run_id,
                    "manifest": json.dumps(
                        facts.manifest(result, outcome), ensure_ascii=False, default=str
                    ),
                },
                ledger.Tables(deployment.ledger_schema),
            )
    if output is not None:
        events("output.written", {"path": str(output), "rows": result.warnings.num_rows})
    if result.recorded is not None:
        events(
            "ledger.recorded",
            {
                "run_id": facts.run_id,
                "new": result.recorded.new,
                "raised": result.recorded.raised,
            },
        )


def _prepared(path: str | Path) -> Path:
    """The path of a file about to be written, its folder made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_manifest(path: str | Path | None, document: dict[str, Any], events: Events) -> None:
    if path is None:
        return
    write_document(Path(path), document)
    events("manifest.written", {"path": str(path)})
    signals.point("manifest.written")


def score(
    pack: ir.CheckedPack,
    period: Period,
    warehouse: str | None = None,
    deployment: Deployment | None = None,
    disposal: pa.Table | None = None,
) -> ScoreResult:
    """The index for every township with staff in `period`, ranked and coloured.

    Disposal records come from the warehouse's sup_disposal, or from
    `disposal` (a table loaded from a file), which the query reads as a
    temporary table of the connection (Warehouse.scratch).
    """
    index_of(pack)  # before the warehouse is opened: a pack may have nothing to score
    deployment = deployment or Deployment()
    connection = connect(warehouse_url(warehouse, deployment), must_exist=True)
    try:
        with signals.cancelling(connection.interrupt):
            return _score(connection, pack, period, deployment, disposal)
    finally:
        connection.close()


def _score(
    connection: Warehouse,
    pack: ir.CheckedPack,
    period: Period,
    deployment: Deployment,
    disposal: pa.Table | None,
) -> ScoreResult:
    tables = ledger.Tables(deployment.ledger_schema)
    if not connection.has_table(tables.name(ledger.LEDGER)):
        raise DiagnosticError(
            [diagnostic("E650", None, hints=("先运行 oversight run --as-of 日期，把预警记入台账",))]
        )
    physical = {
        name: deployment.tables.get(name, name)
        for name in ("town_staffing", DISPOSAL, "ref_township")
    }
    if not connection.has_table(physical["town_staffing"]):
        raise DiagnosticError(
            [diagnostic("E651", None, hints=("廉情指数按在岗人数计算预警率等指标",))]
        )
    names = township_names(connection, pack, physical["ref_township"])

    def scored(disposal_table: str) -> ScoreResult:
        inputs = ScoreTables(tables.name(ledger.LEDGER), disposal_table, physical["town_staffing"])
        return run_score(pack, connection, period, inputs, names)

    if disposal is None and connection.has_table(physical[DISPOSAL]):
        return scored(physical[DISPOSAL])
    # A file's disposal records (or none): a table this connection alone sees, dropped after.
    if disposal is None:
        disposal = source_schema(disposal_source(pack.pack)).empty_table()
    scratch = f"oversight_scratch_disposal_{ledger.new_run_id()}"
    with connection.scratch(scratch, disposal):
        return scored(scratch)


def precheck(
    pack: ir.CheckedPack,
    source: str,
    records: Any,
    as_of: date | None = None,
    warehouse: str | None = None,
    deployment: Deployment | None = None,
    caller: str = "api",
) -> pa.Table:
    """The warnings `records` of `source` would raise before approval (engine/service/precheck.py).

    Returns the warnings' columns plus `change` (new or changed) and, for a
    changed warning, `message_now`; the schema's metadata says what was
    checked (engine.service.precheck.answered). Raises DiagnosticError for bad records,
    WarehouseError when the warehouse fails. Writes one audit row, naming
    `caller`, in the engine's own table; nothing else in the warehouse changes.
    """
    deployment = deployment or Deployment()
    asked = prechecks.request(pack, source, records, as_of)
    connection = connect(warehouse_url(warehouse, deployment), must_exist=True)
    try:
        with signals.cancelling(connection.interrupt):
            return prechecks.answered(connection, pack, asked, deployment, caller)
    finally:
        connection.close()


def report(
    pack: ir.CheckedPack,
    period: Period,
    output: str | Path,
    warehouse: str | None = None,
    deployment: Deployment | None = None,
    disposal: pa.Table | None = None,
) -> Path:
    """Write the self-contained HTML report of `period` to `output`; return its path.

    It shows the period's scores and the year's quarters up to it (and the
    year itself on an annual report), and the period's warnings with their
    disposal as it stood on the period's last day: a warning rectified after
    it was still open then, and one past its rectification deadline by then
    (the pack's, or the deployment's, rectification_deadline_days) is overdue. Its
    数据接口 panel shows every source's health on the period's last day, and each score
    shown carries a mark where a source it stood on was stale (`report_sources`).
    """
    index_of(pack)
    deployment = deployment or Deployment()
    periods = [q for q in period.quarters() if q.end <= period.end]
    if period.is_year:
        periods.append(period)
    scores = {p.label: score(pack, p, warehouse, deployment, disposal) for p in periods}
    found = period_warnings(pack, period, warehouse, deployment, disposal)
    days_to_rectify = deadline_days(pack.pack, deployment.parameters)
    fed = report_sources(pack, periods, warehouse, deployment, found.names, disposal is not None)
    data = report_data(
        pack,
        period,
        scores,
        found.warnings,
        found.names,
        days_to_rectify,
        sources=fed.health,
        stale=fed.marks,
    )
    path = Path(output)
    write_text_atomically(path, render_report(data))
    return path


@dataclass(frozen=True)
class ReportSources:
    """The sources as a report shows them: their health, and the scores they leave in doubt."""

    health: list[SourceHealth]  # check_sources on the last day of the report's period
    marks: dict[str, dict[str, tuple[StaleMark, ...]]]  # period label -> township -> sources


def scored_sources(pack: ir.CheckedPack, disposal_given: bool = False) -> frozenset[str]:
    """The sources a township's score stands on: what the active models read, and the index's.

    The index counts the warnings of the models that run (the active ones), per staff
    member (town_staffing), with their disposal (sup_disposal, unless the records come
    from a file: `disposal_given`).
    """
    read: set[str] = set().union(*(m.sources for m in select_models(pack)))
    read.add("town_staffing")
    if not disposal_given:
        read.add(DISPOSAL)
    return frozenset(read & set(pack.pack.sources))


def report_sources(
    pack: ir.CheckedPack,
    periods: Iterable[Period],
    warehouse: str | None = None,
    deployment: Deployment | None = None,
    townships: Iterable[str] = (),
    disposal_given: bool = False,
) -> ReportSources:
    """Each source's health on the last period's last day, and each period's stale marks.

    Read only. A period's marks are `engine.sources.stale_marks` as of its last day over
    `scored_sources`: a quarter's score is marked where a source it stood on was stale at
    the quarter's end, the year's where one was at the year's end.
    """
    deployment = deployment or Deployment()
    chosen = list(periods)
    codes = list(townships)
    read = scored_sources(pack, disposal_given)
    connection = connect(warehouse_url(warehouse, deployment), read_only=True, must_exist=True)
    try:
        health: dict[date, list[SourceHealth]] = {}
        marks: dict[str, dict[str, tuple[StaleMark, ...]]] = {}
        for period in chosen:
            if period.end not in health:
                health[period.end] = check_sources(
                    connection, pack.pack, deployment.tables, period.end
                )
            marks[period.label] = stale_marks(
                connection,
                pack.pack,
                deployment.tables,
                period.end,
                codes,
                read,
                health[period.end],
            )
    finally:
        connection.close()
    last = max((p.end for p in chosen), default=None)
    return ReportSources(health[last] if last is not None else [], marks)


def issued_in(issued: pa.Table, period: Period) -> pa.Table:
    """The ledger's warnings first issued within `period`: those the period's figures count."""
    days = issued.column("issued_on").to_pylist()
    chosen = [i for i, d in enumerate(days) if period.start <= d <= period.end]
    return issued.take(pa.array(chosen, pa.int64()))  # typed: an empty list would be null


@dataclass(frozen=True)
class PeriodWarnings:
    """The ledger's warnings of a period with their disposal, as advise and its drafts read them."""

    warnings: pa.Table  # issued in the period; statuses judged on the period's last day
    names: dict[str, str]  # township code -> name, from ref_township
    has_ledger: bool  # False: the warehouse has no ledger yet (no run was recorded)


def period_warnings(
    pack: ir.CheckedPack,
    period: Period,
    warehouse: str | None = None,
    deployment: Deployment | None = None,
    disposal: pa.Table | None = None,
) -> PeriodWarnings:
    """The warnings first issued in `period`, joined with their disposal; read only.

    Disposal comes from the warehouse's sup_disposal, or `disposal` loaded from a file.
    Statuses are judged on the period's last day, with the deployment's deadline.
    """
    deployment = deployment or Deployment()
    connection = connect(warehouse_url(warehouse, deployment), read_only=True, must_exist=True)
    try:
        tables = ledger.Tables(deployment.ledger_schema)
        has_ledger = connection.has_table(tables.name(ledger.LEDGER))
        issued = ledger.read(connection, tables)
        records = disposal
        if records is None:
            records = read_disposal(connection, pack.pack, deployment.tables)
        names = township_names(
            connection, pack, deployment.tables.get("ref_township", "ref_township")
        )
    finally:
        connection.close()
    warnings = with_disposal(
        issued_in(issued, period),
        records,
        on=period.end,
        deadline_days=deadline_days(pack.pack, deployment.parameters),
    )
    return PeriodWarnings(warnings, names, has_ledger)


def advise(
    pack: ir.CheckedPack,
    period: Period,
    warehouse: str | None = None,
    deployment: Deployment | None = None,
    disposal: pa.Table | None = None,
) -> pa.Table:
    """The period's common problems (面上共性问题), one row per model: engine/remedy/common.py.

    Read only, like `report`: the period's warnings (`period_warnings`). N and M are
    the deployment's, else the pack's. The table's metadata
    (engine.remedy.common.facts_of) says the period, N, M, and `ledger`: whether the
    warehouse has a ledger at all.
    """
    deployment = deployment or Deployment()
    found = period_warnings(pack, period, warehouse, deployment, disposal)
    return _common_problems(pack, period, found, deployment)


def _common_problems(
    pack: ir.CheckedPack, period: Period, found: PeriodWarnings, deployment: Deployment
) -> pa.Table:
    min_townships, min_quarters = common_thresholds(pack.pack, deployment.parameters)
    table = common_problems(
        pack, found.warnings, period, min_townships=min_townships, min_quarters=min_quarters
    )
    return with_facts(table, ledger=found.has_ledger)


@dataclass(frozen=True)
class AdviceWritten:
    """What `write_advice` wrote, and whether the period's colours decided who gets a draft."""

    paths: list[Path]  # in the order written
    scored: bool  # False: the period could not be scored (no staffing): common problems only


def write_advice(
    pack: ir.CheckedPack,
    period: Period,
    folder: str | Path,
    warehouse: str | None = None,
    deployment: Deployment | None = None,
    disposal: pa.Table | None = None,
) -> AdviceWritten:
    """Write the period's common problems and recommendation drafts into `folder`.

    共性问题.json, then a 《纪检监察建议书》 draft (.docx and .md) for each township
    with a confirmed common problem or a yellow or red colour in the period's
    index, and the county's 通报 (engine/remedy/drafts.py). The colours are the
    period's score; a pack without an index, or a warehouse without staffing
    (E651), gets drafts for the common problems alone, and says so in `scored`.
    """
    deployment = deployment or Deployment()
    found = period_warnings(pack, period, warehouse, deployment, disposal)
    problems = _common_problems(pack, period, found, deployment)
    colours: dict[str, str] = {}
    scored = False
    if pack.index is not None and pack.pack.has_townships and found.has_ledger:
        try:
            table = score(pack, period, warehouse, deployment, disposal).table
        except DiagnosticError as err:
            if {d.code for d in err.diagnostics} != {"E651"}:
                raise
        else:
            colours = {row["township"]: row["colour"] for row in table.to_pylist()}
            scored = True
    paths = [write_common_problems(problems, folder)]
    paths += write_drafts(
        Path(folder),
        pack=pack,
        period=period,
        warnings=found.warnings,
        problems=problems,
        colours=colours,
        names=found.names,
        deadline_days=deadline_days(pack.pack, deployment.parameters),
        county=pack.pack.county,
    )
    return AdviceWritten(paths, scored)


def write_common_problems(table: pa.Table, folder: str | Path) -> Path:
    """Write `advise`'s table as 共性问题.json in `folder` (made if missing), in one step.

    The same JSON `oversight advise --format json` prints; the recommendation
    drafts are written beside it.
    """
    path = Path(folder) / COMMON_PROBLEMS_FILE
    text = json.dumps(common_document(table), ensure_ascii=False, indent=2) + "\n"
    write_text_atomically(path, text)
    return path


def report_data(
    pack: ir.CheckedPack,
    period: Period,
    scores: dict[str, ScoreResult],
    warnings: pa.Table,
    names: dict[str, str],
    days_to_rectify: int | None = None,
    sources: list[SourceHealth] | None = None,
    stale: dict[str, dict[str, tuple[StaleMark, ...]]] | None = None,
) -> ReportData:
    """What the report page shows, gathered from the pack, the scores and the ledger.

    `warnings` is the period's ledger joined to its disposal (with_disposal, judged on
    the period's last day with `days_to_rectify`), as ReportData describes it;
    `sources` and `stale` are `report_sources`' health and marks.
    """
    index = index_of(pack)
    part_of = {item.indicator: (part, item) for part in index.parts for item in part.items}
    indicators = [
        IndicatorInfo(
            i.name,
            i.title,
            part_of[i.name][0].id,
            float(part_of[i.name][1].points),
            part_of[i.name][1].higher_is_better,
            i.percent,
        )
        for i in index.indicators
        if i.name in part_of
    ]
    models = []
    for model in sorted(pack.models.values(), key=lambda m: m.id):
        try:
            text = Path(model.file).read_text(encoding="utf-8")
        except OSError:
            text = ""
        models.append(
            ModelInfo(
                model.id,
                model.title,
                pack.pack.domains.get(model.domain, ""),
                model.severity,
                model.revision,
                model.file,
                text,
            )
        )
    return ReportData(
        period=period.label,
        county=pack.pack.county,
        pack_version=pack.pack.version,
        engine_version=__version__,
        generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        townships=sorted(names.items()),
        indicators=indicators,
        parts=[PartInfo(p.id, p.title, float(p.points)) for p in index.parts],
        bands=[(b.colour, b.title) for b in index.bands],
        consequences=dict(index.consequences),
        scores={label: result.table for label, result in scores.items()},
        warnings=warnings,
        models=models,
        domains=dict(pack.pack.domains),
        deadline_days=days_to_rectify,
        sources=list(sources or []),
        stale=dict(stale or {}),
    )


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, lambda out: out.write(text.encode("utf-8")))


def township_names(connection: Warehouse, pack: ir.CheckedPack, table: str) -> dict[str, str]:
    """Code -> name of every township: the warehouse's ref_township, else the pack's list."""
    if connection.has_table(table):
        query = exp.select("township", "name").from_(table_named(table))
        rows = connection.query(statement(query, connection.dialect)).to_pylist()
        return {str(r["township"]): str(r["name"]) for r in rows if r["township"]}
    return {t.code: t.name for t in pack.pack.townships}


def write_parquet(table: pa.Table, path: str | Path) -> None:
    """Write `table` to `path` atomically: readers see the old file or the whole new one."""
    replace_file(_prepared(path), lambda out: pq.write_table(table, out))


def explain(
    pack: ir.CheckedPack,
    model_id: str,
    dialect: str = "duckdb",
    deployment: Deployment | None = None,
) -> dict[str, Any]:
    """What a model reads, which parameters it uses with their values, and its SQL."""
    deployment = deployment or Deployment()
    model = pack.models.get(model_id)
    if model is None:
        raise DiagnosticError(
            [diagnostic("E215", None, hints=did_you_mean(model_id, pack.models), model_id=model_id)]
        )
    compiled = compile_pack(pack, dialect, [model_id], None, deployment)[0]
    parameters = []
    for name in sorted(model.parameters):
        param = pack.pack.parameters[name]
        value = deployment.parameters.get(name, param.default)
        parameters.append(
            {
                "name": name,
                "value": value_text(value),
                "default": value_text(param.default),
                "unit": param.unit,
                "description": param.description,
            }
        )
    sources = []
    for name in sorted(model.sources):
        source = pack.pack.sources[name]
        sources.append(
            {
                "name": name,
                "label": source.label,
                "department": source.department,
                "event_date": source.event_date,
                "table": deployment.tables.get(name, name),
            }
        )
    return {
        "id": model.id,
        "title": model.title,
        "domain": pack.pack.domains.get(model.domain, model.domain),
        "severity": model.severity,
        "status": model.status,
        "precheck": model.precheck,  # whether the operation wing's pre-check runs it
        "revision": model.revision,
        "file": model.file,
        "note": model.note,
        "advice": model.advice,  # 整改建议: what a township should fix or put in place
        "basis": model.basis,  # the law or regulation the model rests on
        "parameters": parameters,
        "sources": sources,
        "lets": _let_names(model),
        "examples": [e.title for e in model.examples],
        "dialect": dialect,
        "sql": compiled.sql(pretty=True),
    }


def explain_run(
    pack: ir.CheckedPack,
    select: Iterable[str] = (),
    dialect: str = "duckdb",
    deployment: Deployment | None = None,
) -> dict[str, Any]:
    """The plan of a run of the selected models (every active one): what it computes once.

    Each shared step (engine/runs/shared.py) with the models reading it and its
    statement, the as-of day a placeholder; and per model, the run's tables it reads.
    """
    deployment = deployment or Deployment()
    models = select_models(pack, select)
    steps = plan_shared(pack, models, dialect)
    target = Target(dialect, None, deployment.parameters, deployment.tables)
    made: dict[str, str] = {}
    shown = []
    for step in steps:
        create = create_statement(pack, step, dataclasses.replace(target, shared=dict(made)))
        made[step.relation] = step.table
        shown.append(
            {
                "relation": step.relation,
                "title": pack.relations[step.relation].title,
                "table": step.table,
                "models": list(step.models),
                "sql": render(quote_identifiers(create, dialect), dialect),
            }
        )
    return {
        "dialect": dialect,
        "how": HOW_SHARED.get(dialect),
        "models": [m.id for m in models],
        "shared_steps": shown,
        "reads": {
            m.id: tables
            for m in models
            if (tables := sorted(made[r] for r in relations_read(pack, m) if r in made))
        },
    }


def _let_names(model: ir.Model) -> list[str]:
    """The names a model's lets give, the rows it binds among them, in the order written."""
    named = [(expr.span, name) for name, expr in model.lets]
    named += [(row.span, row.name) for row in model.bound]
    return [name for _, name in sorted(named, key=lambda pair: (pair[0].line, pair[0].column))]
