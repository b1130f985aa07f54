"""Stage 4, run: every selected model as of a day on one warehouse, to one table of warnings.

A model whose source is missing from the warehouse is skipped and reported
by name; given the sources' health (engine/sources.py), so is a model reading a
column that a source lost or holds as another type, before its query runs, and
each model names the late or stale sources it read. A model whose query fails
or runs past its time limit is reported; the others still run. A warehouse
that is lost midway stops the run (WarehouseLost): nothing of it is recorded,
and it can simply be run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
from sqlglot import exp

from adapters.base import (
    PermissionDenied,
    QueryTimeout,
    Warehouse,
    WarehouseError,
    WarehouseLost,
)
from adapters.names import statement, table_named
from dsl import ir
from dsl.check import STATUSES
from dsl.diagnostics import DiagnosticError
from dsl.pack import SEVERITY_ALIASES
from dsl.suggest import closest
from engine import signals
from engine.arrays import empty_table
from engine.compiler.compile import Pending, Target, compile_model
from engine.compiler.reviewed import Reviewed, reviewed_queries
from engine.runs.reads import columns_read, relations_read
from engine.runs.shared import SharedStep, plan_shared, shared_tables
from engine.runs.warnings import to_warnings
from engine.schema import WARNINGS_SCHEMA
from engine.sources import DriftedColumn, SourceHealth, drifted_columns, lagging


@dataclass(frozen=True)
class ModelOutcome:
    """How one model's run went: ran, skipped (missing sources or columns) or failed (with why).

    `lagging_sources` names the late or stale sources it read (source → status): it
    ran, on data that stops early. `drifted_columns` are the columns it reads that a
    source lost or retyped: it was skipped for them.
    """

    model_id: str
    status: str  # ran | skipped | failed | timed_out
    warnings: int = 0
    rows: int = 0  # rows the model's query returned
    dropped_rows: int = 0
    seconds: float = 0.0
    missing_sources: tuple[str, ...] = ()
    error: str | None = None
    revision: str = ""
    rows_scanned: int | None = None  # rows of the sources it read, when counted
    # The statement it ran: a reviewed file (compiled/duckdb/ENG01.sql) or "compiled at run time".
    sql: str = ""
    lagging_sources: tuple[tuple[str, str], ...] = ()
    drifted_columns: tuple[DriftedColumn, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.model_id,
            "revision": self.revision,
            "status": self.status,
            "rows_scanned": self.rows_scanned,
            "rows_returned": self.rows,
            "rows_dropped": self.dropped_rows,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "missing_sources": list(self.missing_sources),
            "lagging_sources": dict(self.lagging_sources),
            "drifted_columns": [c.to_json() for c in self.drifted_columns],
            "error": self.error,
            "sql": self.sql,
        }


@dataclass(frozen=True)
class ModelRows:
    """A model's query's rows, and what `to_warnings` made of them as of the run's day."""

    rows: pa.Table
    warnings: pa.Table
    dropped: int


@dataclass
class RunResult:
    """All warnings of one run, and how each model went."""

    as_of: date
    warnings: pa.Table
    outcomes: list[ModelOutcome] = field(default_factory=list)
    recorded: Any = None  # engine.runs.ledger.Recorded, when the run was recorded in the ledger
    run_id: str | None = None
    manifest: dict[str, Any] | None = None
    sources: list[SourceHealth] = field(default_factory=list)  # their health, when checked
    # The relations computed once for several of its models (engine/runs/shared.py).
    shared: list[SharedStep] = field(default_factory=list)
    # Per model, when asked (`run_models(keep_rows=True)`): its query's rows, the warnings
    # made of them and the rows dropped for want of a key (`ModelRows`).
    rows: dict[str, ModelRows] = field(default_factory=dict)

    @property
    def failed(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "timed_out")]

    @property
    def skipped(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]


class UnknownSelector(ValueError):
    """A name to select models by that is no model, domain, severity or status.

    Selecting nothing by mistake would "succeed" with 0 models; the command
    line reports it as a usage error instead, with the closest name.
    """

    def __init__(self, name: str, suggestion: str | None) -> None:
        self.name = name
        self.suggestion = suggestion
        self.message_zh = f"「{name}」不是模型编号、领域、等级或状态"
        self.message_en = f"{name!r} is no model, domain, severity or status"
        self.hints = (
            (f"是否要写 {suggestion}？ / did you mean {suggestion}?",) if suggestion else ()
        )
        super().__init__(f"{self.message_zh} / {self.message_en}")


def _selector(pack: ir.CheckedPack, text: str) -> str:
    """A selector in its canonical form (domain code, severity, status, model id), or raise."""
    canonical = (
        (text if text in pack.models else None)
        or pack.pack.domain_code(text)
        or SEVERITY_ALIASES.get(text)
        or STATUSES.get(text)
    )
    if canonical is not None:
        return canonical
    names = [
        *pack.models,
        *pack.pack.domains,
        *pack.pack.domains.values(),
        *SEVERITY_ALIASES,
        *STATUSES,
    ]
    same_but_case = next((n for n in names if n.casefold() == text.casefold()), None)
    raise UnknownSelector(text, same_but_case or closest(text, names))


def select_models(
    pack: ir.CheckedPack, selectors: Iterable[str] = (), include_inactive: bool = False
) -> list[ir.Model]:
    """Models picked by id, domain, severity or status; every active model when none is picked.

    Selectors: ENG01, ENG or 工程管理, red or 红色, draft|active|deprecated (草稿 …).
    Draft and deprecated models are left out unless picked by id or status: a
    deprecated model no longer runs, while its warnings stay in the ledger. A
    selector that names nothing raises UnknownSelector.
    """
    chosen = []
    wanted = {_selector(pack, s.strip()) for s in selectors if s.strip()}
    for model in sorted(pack.models.values(), key=lambda m: m.id):
        picked = model.id in wanted or model.status in wanted
        if wanted and not picked and not ({model.domain, model.severity} & wanted):
            continue
        if model.status != "active" and not (picked or include_inactive):
            continue
        chosen.append(model)
    return chosen


Events = Callable[[str, dict[str, Any]], None]


def _silent(event: str, facts: dict[str, Any]) -> None:
    """No one is listening."""


def run_models(
    pack: ir.CheckedPack,
    warehouse: Warehouse,
    as_of: date,
    models: list[ir.Model] | None = None,
    parameters: Mapping[str, Any] | None = None,
    tables: Mapping[str, str] | None = None,
    timeout: float | None = None,
    events: Events = _silent,
    count_rows: bool = False,
    reviewed: bool = True,
    pending: Pending | None = None,
    prepared: Mapping[str, str | Reviewed] | None = None,
    sources: Sequence[SourceHealth] | None = None,
    share: bool = True,
    keep_rows: bool = False,
    known: Mapping[str, ModelRows] | None = None,
) -> RunResult:
    """Evaluate `models` (default: every active one) as of `as_of` on `warehouse`.

    `timeout` limits each model's query (seconds); `events` hears what happens
    (engine/runs/logs.py names the events); `count_rows` counts the rows of every
    source a model reads, for the run's manifest. A model whose reviewed file
    in the pack's compiled/ is current runs that file (engine/compiler/reviewed.py)
    unless `reviewed` is false, the day and `parameters` (else the pack's defaults)
    bound to its placeholders; the others are compiled here, and so is a model
    reading a source that `tables` maps or a parameter given here that its file has
    written in (a list, a map). `sources` is the sources' health as of
    the day (engine.sources.check_sources): a model reading a column a source lost or
    retyped is skipped with why, and each outcome names the late or stale sources read.
    With `share`, a relation that two or more of the models read is computed once, into a
    temporary table the models then read (engine/runs/shared.py); without, each model
    computes it, as when compiled alone. The warnings are the same.
    `prepared` (model id → statement) are queries the caller compiled already: SQL text
    binds the day to its placeholder, a `Reviewed` binds what it says (nothing, for a
    statement with the day written in).
    `keep_rows` keeps each model's rows and warnings in the result (`RunResult.rows`);
    a model whose rows equal those `known` holds for it (an earlier run as of the same
    day, under the same pack: a pre-check's two halves) takes the warnings made of
    them then, instead of making them again.
    """
    models = select_models(pack) if models is None else models
    tables = dict(tables or {})
    parameters = dict(parameters or {})
    target = Target(warehouse.dialect, as_of, parameters, tables, pending)
    as_reviewed = {
        model_id: statement
        for model_id, statement in (
            reviewed_queries(pack, warehouse.dialect) if reviewed and pending is None else {}
        ).items()
        if statement.runs_with(parameters)
        and not (tables and tables.keys() & pack.models[model_id].sources)
    }
    if prepared:  # compiled already by the caller
        as_reviewed |= {
            m: sql if isinstance(sql, Reviewed) else Reviewed(sql) for m, sql in prepared.items()
        }
    present: dict[str, bool] = {}
    counted: dict[str, int] = {}
    parts: list[pa.Table] = []
    result = RunResult(as_of, empty_table(WARNINGS_SCHEMA))
    drift = {
        model.id: drifted_columns(columns_read(pack, model), sources, pack.pack) if sources else ()
        for model in models
    }
    # Pre-checks and queries prepared by the caller are evaluated as compiled, model by model.
    share = share and pending is None and not prepared
    planned = [m for m in models if not drift[m.id]] if share else []
    result.shared = plan_shared(pack, planned, warehouse.dialect)
    reads = {m.id: relations_read(pack, m) for m in planned}
    with shared_tables(warehouse, pack, target, result.shared, timeout) as run_target:
        for step in result.shared:
            events("shared.made", step.to_json())
        for model in models:
            scanned = None
            sql_from = ""
            behind = tuple(lagging(model.sources, sources or ()).items())
            drifted = drift[model.id]
            if drifted:
                outcome = ModelOutcome(
                    model.id,
                    "skipped",
                    revision=model.revision,
                    error="；".join(c.reason for c in drifted),
                    lagging_sources=behind,
                    drifted_columns=drifted,
                )
                result.outcomes.append(outcome)
                events("model.skipped", outcome.to_json())
                continue
            started = time.perf_counter()
            try:
                if count_rows:
                    for source in model.sources:
                        if source not in counted:
                            counted[source] = _count(warehouse, tables.get(source, source))
                    scanned = sum(counted[s] for s in model.sources)
                signals.point("model.query")
                shared = sorted(reads.get(model.id, set()) & run_target.shared.keys())
                if model.id in as_reviewed and not shared:
                    sql_from = (
                        "prepared by the caller"
                        if prepared and model.id in prepared
                        else f"compiled/{warehouse.dialect}/{model.id}.sql"
                    )
                    statement = as_reviewed[model.id]
                    bound = statement.values(pack, as_of, parameters)
                    rows = warehouse.query(statement.sql, timeout, bound)
                else:
                    sql_from = "compiled at run time" + (
                        f", reading the run's {', '.join(run_target.shared[r] for r in shared)}"
                        if shared
                        else ""
                    )
                    query = _compiled_sql(model, pack, run_target)
                    rows = warehouse.query(query, timeout)
                seen = known.get(model.id) if known else None
                if seen is not None and rows.equals(seen.rows):
                    warnings, dropped = seen.warnings, seen.dropped
                else:
                    warnings, dropped = to_warnings(model, rows, pack.pack, as_of)
                if keep_rows:
                    result.rows[model.id] = ModelRows(rows, warnings, dropped)
            except (WarehouseLost, PermissionDenied):  # the run stops: no model would do better
                raise
            except _CompileBug as bug:
                outcome = _failed(model, "failed", bug, started, scanned, sql_from, behind)
                result.outcomes.append(outcome)
                events("model.failed", outcome.to_json())
                continue
            except (WarehouseError, DiagnosticError) as exc:
                signals.raise_if_received()  # a driver that turned a signal into its own error
                # The catalog is asked only when something failed: a source that is not
                # there makes the model skipped rather than failed. Asking before every
                # model would cost a catalog query per source on every run.
                try:
                    missing = _missing(model, warehouse, tables, present)
                except (WarehouseLost, PermissionDenied):
                    raise
                except WarehouseError:  # the catalog can't be asked either (an aborted
                    missing = ()  # transaction, as in an example): report the failure itself
                if missing:
                    outcome = ModelOutcome(
                        model.id,
                        "skipped",
                        missing_sources=missing,
                        revision=model.revision,
                        lagging_sources=behind,
                    )
                    result.outcomes.append(outcome)
                    events("model.skipped", outcome.to_json())
                    continue
                timed_out = isinstance(exc, QueryTimeout)
                status = "timed_out" if timed_out else "failed"
                outcome = _failed(model, status, exc, started, scanned, sql_from, behind)
                result.outcomes.append(outcome)
                events("model.timed_out" if timed_out else "model.failed", outcome.to_json())
                continue
            parts.append(warnings)
            outcome = ModelOutcome(
                model.id,
                "ran",
                warnings.num_rows,
                rows.num_rows,
                dropped,
                time.perf_counter() - started,
                revision=model.revision,
                rows_scanned=scanned,
                sql=sql_from,
                lagging_sources=behind,
            )
            result.outcomes.append(outcome)
            events("model.finished", outcome.to_json())
    if parts:
        result.warnings = pa.concat_tables(parts)
    result.sources = list(sources or ())
    return result


def _failed(
    model: ir.Model,
    status: str,
    error: Exception,
    started: float,
    scanned: int | None,
    sql_from: str,
    behind: tuple[tuple[str, str], ...] = (),
) -> ModelOutcome:
    """The outcome of a model that failed or timed out after starting at `started`."""
    return ModelOutcome(
        model.id,
        status,
        error=str(error),
        seconds=time.perf_counter() - started,
        revision=model.revision,
        rows_scanned=scanned,
        sql=sql_from,
        lagging_sources=behind,
    )


class _CompileBug(Exception):
    """A model that checked but could not be compiled: a bug in oversight, not in the rules."""


def _compiled_sql(model: ir.Model, pack: ir.CheckedPack, target: Target) -> str:
    """The SQL of `model`, or _CompileBug when compiling it fails other than with diagnostics.

    The checker's limits (dsl/limits.py) are meant to keep every checked model
    compilable; should one still fail (a RecursionError, a bug), that model fails
    and says so, and the other models of the run still run.
    """
    try:
        return compile_model(model, pack, target).sql(last_use=True)
    except DiagnosticError:
        raise
    except Exception as exc:
        raise _CompileBug(
            f"内部错误：编译模型 {model.id} 时出错，请报告此问题 / internal error compiling "
            f"model {model.id}, please report it: {type(exc).__name__}: {exc}"
        ) from exc


def _missing(
    model: ir.Model, warehouse: Warehouse, tables: Mapping[str, str], present: dict[str, bool]
) -> tuple[str, ...]:
    """The sources of `model` the warehouse does not have (`present` remembers answers)."""
    for source in model.sources:
        if source not in present:
            present[source] = warehouse.has_table(tables.get(source, source))
    return tuple(sorted(s for s in model.sources if not present[s]))


def _count(warehouse: Warehouse, table: str) -> int:
    query = exp.select(exp.Count(this=exp.Star())).from_(table_named(table))
    try:
        return int(warehouse.query(statement(query, warehouse.dialect)).column(0)[0].as_py())
    except (WarehouseLost, PermissionDenied):
        raise
    except WarehouseError:
        return 0
