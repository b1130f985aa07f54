"""Stage 4, run: every selected model as of a day on one warehouse, to one table of warnings.

A model whose source is missing from the warehouse is skipped and reported
by name; a model whose query fails is reported; the others still run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa

from adapters.base import Warehouse, WarehouseError
from dsl import ir
from dsl.diagnostics import DiagnosticError
from engine.compile import Target, compile_model
from engine.schema import WARNINGS_SCHEMA
from engine.warnings import to_warnings


@dataclass(frozen=True)
class ModelOutcome:
    """How one model's run went: ran, skipped (missing sources) or failed (with why)."""

    model_id: str
    status: str  # ran | skipped | failed
    warnings: int = 0
    rows: int = 0
    dropped_rows: int = 0
    seconds: float = 0.0
    missing_sources: tuple[str, ...] = ()
    error: str | None = None


@dataclass
class RunResult:
    """All warnings of one run, and how each model went."""

    as_of: date
    warnings: pa.Table
    outcomes: list[ModelOutcome] = field(default_factory=list)
    recorded: Any = None  # engine.ledger.Recorded, when the run was recorded in the ledger

    @property
    def failed(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def skipped(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]


def select_models(
    pack: ir.CheckedPack, selectors: Iterable[str] = (), include_inactive: bool = False
) -> list[ir.Model]:
    """Models picked by id, domain, severity or status; every active model when none is picked.

    Selectors: ENG01, ENG or 工程管理, red, draft|active|deprecated. Draft and
    deprecated models are left out unless picked by id or status: a deprecated
    model no longer runs, while its warnings stay in the ledger.
    """
    chosen = []
    wanted = [s.strip() for s in selectors if s.strip()]
    for model in sorted(pack.models.values(), key=lambda m: m.id):
        picked = model.id in wanted or model.status in wanted
        if (
            wanted
            and not picked
            and not any(
                s in (model.domain, pack.pack.domains.get(model.domain), model.severity)
                for s in wanted
            )
        ):
            continue
        if model.status != "active" and not (picked or include_inactive):
            continue
        chosen.append(model)
    return chosen


def run_models(
    pack: ir.CheckedPack,
    warehouse: Warehouse,
    as_of: date,
    models: list[ir.Model] | None = None,
    parameters: Mapping[str, Any] | None = None,
    tables: Mapping[str, str] | None = None,
) -> RunResult:
    """Evaluate `models` (default: every active one) as of `as_of` on `warehouse`."""
    models = select_models(pack) if models is None else models
    tables = dict(tables or {})
    target = Target(warehouse.dialect, as_of, dict(parameters or {}), tables)
    present: dict[str, bool] = {}
    parts: list[pa.Table] = []
    result = RunResult(as_of, WARNINGS_SCHEMA.empty_table())
    for model in models:
        missing = []
        for source in sorted(model.sources):
            if source not in present:
                present[source] = warehouse.has_table(tables.get(source, source))
            if not present[source]:
                missing.append(source)
        if missing:
            result.outcomes.append(
                ModelOutcome(model.id, "skipped", missing_sources=tuple(missing))
            )
            continue
        started = time.perf_counter()
        try:
            compiled = compile_model(model, pack, target)
            rows = warehouse.query(compiled.sql())
            warnings, dropped = to_warnings(compiled, rows, pack.pack, as_of)
        except (WarehouseError, DiagnosticError) as exc:
            result.outcomes.append(
                ModelOutcome(
                    model.id, "failed", error=str(exc), seconds=time.perf_counter() - started
                )
            )
            continue
        parts.append(warnings)
        result.outcomes.append(
            ModelOutcome(
                model.id,
                "ran",
                warnings.num_rows,
                rows.num_rows,
                dropped,
                time.perf_counter() - started,
            )
        )
    if parts:
        result.warnings = pa.concat_tables(parts)
    return result
