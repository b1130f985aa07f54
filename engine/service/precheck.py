"""Pre-check (运行端): the warnings a pending matter would raise, before it is approved.

A township clerk about to approve a payment, a subsidy list or a lease asks
which warnings it would raise. The answer comes from the same models as the
supervision side's runs (less those that say `precheck no`: checks that only
time passing can trip): the warnings a run as of that day would give with
the records committed, less those it gives now, compared by model and key. A
warning that exists already and whose message would change (a total that
grows) is returned as `changed`, with the message it has now.

Nothing in the warehouse changes. The records never enter a table: each
model reads their source as a query — the stored rows, less those a record
amends (same key), and the records as literal rows (engine/compiler/compile.py,
`Target.pending`) — so concurrent pre-checks cannot see each other's records
and a read-only login suffices for the models. The one write is an audit row
in the engine's own table, so that the supervision side can see who probed
the rules and how often.

Records are checked before any SQL runs, and every problem is reported with
the JSON path of the field (`records[3].amount`), in Chinese and English.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from adapters.base import QueryTimeout, Warehouse, WarehouseError
from adapters.names import statement, table_named
from dsl import ir
from dsl.diagnostics import Diagnostic, DiagnosticError
from dsl.messages import diagnostic, message
from dsl.pack import Source
from dsl.suggest import did_you_mean
from dsl.types import Type
from engine import __version__
from engine.arrays import array_of, empty_table, table_from_rows
from engine.compiler.compile import compile_model
from engine.compiler.expressions import relation_rows
from engine.compiler.placeholders import AS_OF
from engine.compiler.reviewed import Reviewed
from engine.compiler.target import (
    Pending,
    Target,
    pending_name,
    records_name,
    stored_rows_with,
    touched_name,
)
from engine.policy.deployment import Deployment
from engine.runs import ledger
from engine.runs.reads import relations_read
from engine.runs.run import ModelOutcome, RunResult, run_models, select_models
from engine.runs.warnings import changes
from engine.schema import WARNINGS_SCHEMA, source_schema
from engine.values import convert, value_hints

MAX_RECORDS = 1000
"""Records in one pre-check: a township's subsidy list has a few hundred."""

CHANGES = ("new", "changed")

REMEMBER_SECONDS = 60.0
"""How long a service remembers the warnings of the models it evaluates in full as they stand
now (Standing); 0: never."""

DAYS_REMEMBERED = 4096
"""What `_remembered` holds at most of queries written for a day (`_on_day`)."""

KEPT_TABLES = 16
"""How many tables of relations (Standing.relations) one connection keeps at most."""

PRECHECK_SCHEMA = pa.schema(
    [
        *WARNINGS_SCHEMA,
        pa.field("change", pa.string(), nullable=False),
        pa.field("message_now", pa.string()),
    ]
)
"""What `precheck` returns: the warnings' columns, whether each is new or changed, and
for a changed one the message it has now."""


@dataclass(frozen=True)
class Prechecked:
    """One pre-check's answer, and what its audit row says."""

    source: str
    as_of: date
    records: int
    digest: str  # sha256 of the records as checked (canonical JSON)
    models: tuple[str, ...]  # the models evaluated
    warnings: pa.Table  # PRECHECK_SCHEMA
    # Models that read the source but not evaluated: a source they read is not in the
    # warehouse (as a run skips them).
    skipped: tuple[str, ...] = ()


def records_of(source: Source, records: Any) -> tuple[dict[str, Any], ...]:
    """The records as typed rows of `source`, a value for every column; DiagnosticError if not.

    `records` is what the caller sent: a list of JSON objects (or one object).
    Every problem is reported at once, each with its JSON path.
    """
    if isinstance(records, Mapping):
        records = [records]
    if not isinstance(records, Sequence) or isinstance(records, str | bytes) or not records:
        raise DiagnosticError([diagnostic("E671.not_records", None, path="records")])
    if len(records) > MAX_RECORDS:
        raise DiagnosticError(
            [
                diagnostic(
                    "E671.too_many",
                    None,
                    path="records",
                    max_records=MAX_RECORDS,
                    count=len(records),
                    hints=["请分批预检 / split them into several pre-checks"],
                )
            ]
        )
    problems: list[Diagnostic] = []
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for i, record in enumerate(records):
        path = f"records[{i}]"
        if not isinstance(record, Mapping):
            problems.append(diagnostic("E671.not_object", None, path=path))
            continue
        row, failed = _row(source, record, path, problems)
        key = tuple(row.get(k) for k in source.key)
        if None in key:  # reported already
            continue
        if key in seen:
            problems.append(
                diagnostic(
                    "E675",
                    None,
                    path=path,
                    seen=seen[key],
                    key=_key_text(source, key),
                    hints=["同一事项只需提交一次 / send each record once"],
                )
            )
            continue
        seen[key] = i
        if not failed:
            rows.append(row)
    if problems:
        raise DiagnosticError(problems)
    return tuple(rows)


def _row(
    source: Source, record: Mapping[str, Any], path: str, problems: list[Diagnostic]
) -> tuple[dict[str, Any], bool]:
    """One record as a typed row; whether it had a problem (added to `problems`)."""
    before = len(problems)
    for name in record:
        if name not in source.columns:
            problems.append(
                diagnostic(
                    "E672",
                    None,
                    path=f"{path}.{name}",
                    source=source.name,
                    column=name,
                    hints=did_you_mean(str(name), list(source.columns)),
                )
            )
    row: dict[str, Any] = {}
    for column in source.columns.values():
        raw = record.get(column.name)
        if isinstance(raw, str) and column.type is not Type.STRING:
            raw = raw.strip() or None
        if raw is None:
            if column.required or column.name in source.key:
                if column.label:
                    missing = message("E673.labelled", name=column.name, label=column.label)
                else:
                    missing = message("E673.unlabelled", name=column.name)
                problems.append(missing.at(None, path=f"{path}.{column.name}"))
            row[column.name] = None
            continue
        try:
            row[column.name] = _value(raw, column.type)
        except ValueError:
            problems.append(
                diagnostic(
                    "E674.not_a_type",
                    None,
                    path=f"{path}.{column.name}",
                    name=column.name,
                    raw=raw,
                    type_zh=column.type.zh,
                    raw_json=json.dumps(raw, ensure_ascii=False),
                    type_name=column.type.value,
                    hints=value_hints(raw, column.type),
                )
            )
    return row, len(problems) > before


def _value(raw: Any, type_: Type) -> Any:
    """A JSON value as `type_`: text must be a JSON string; numbers may be written as text."""
    if type_ is Type.STRING:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return raw
    if isinstance(raw, list | dict):
        raise ValueError(raw)
    return convert(raw, type_)


def _key_text(source: Source, key: tuple[Any, ...]) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip(source.key, key, strict=True))


def source_of(pack: ir.CheckedPack, name: str) -> Source:
    """The catalog's source called `name`; DiagnosticError E670 (with a suggestion) if none."""
    source = pack.pack.sources.get(name)
    if source is None:
        raise DiagnosticError(
            [
                diagnostic(
                    "E670.unknown_source",
                    None,
                    path="source",
                    name=name,
                    hints=did_you_mean(name, list(pack.pack.sources)),
                )
            ]
        )
    return source


def takes_part(model: ir.Model) -> bool:
    """Whether `model` is evaluated by pre-checks of the sources it reads (not `precheck no`)."""
    return model.precheck


def models_reading(pack: ir.CheckedPack, source: str) -> list[ir.Model]:
    """The active models that read `source`, directly or through definitions and relations.

    A model that says `precheck no` is left out: it only finds that time has
    passed without something (a project not tendered six months after approval),
    which a record being approved today cannot tell.
    """
    return [m for m in select_models(pack) if takes_part(m) and source in m.sources]


def default_as_of(source: Source, rows: Sequence[Mapping[str, Any]], today: date) -> date:
    """The day the records become known: the latest event date among them, else today."""
    if source.event_date is None:
        return today
    days = [
        value.date() if isinstance(value, datetime) else value
        for row in rows
        if (value := row.get(source.event_date)) is not None
    ]
    return max(days, default=today)


def digest(source: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """A fingerprint of the records as checked: the same records give the same digest."""
    canonical = json.dumps(
        {"source": source, "records": list(rows)},
        sort_keys=True,
        ensure_ascii=False,
        default=_json_value,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _json_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


@dataclass(frozen=True)
class Request:
    """A pre-check's records, checked and typed, and the day they are checked as of."""

    source: str
    rows: tuple[dict[str, Any], ...]
    as_of: date


def request(
    pack: ir.CheckedPack,
    source_name: str,
    records: Any,
    as_of: date | None = None,
    today: date | None = None,
) -> Request:
    """Check what a caller sent, before any warehouse is asked; DiagnosticError if it is bad.

    `as_of` defaults to the latest event date of the records, else `today`.
    """
    source = source_of(pack, source_name)
    rows = records_of(source, records)
    day = as_of or default_as_of(source, rows, today or datetime.now(UTC).date())
    return Request(source.name, rows, day)


class Standing:
    """The warnings that models evaluated in full give now, remembered for `seconds`.

    A model that a pre-check cannot narrow (`narrowed_to`) is run twice per
    pre-check: over the stored rows, and with the records. The first run is the
    same for every pre-check of the source as of the same day, so a service
    remembers it: a pre-check then compares against the county's warnings as
    they stood at most `seconds` ago (the departments' data arrive in batches).
    Only complete runs are remembered; at most `entries` at once, the oldest
    forgotten first. One per warehouse; safe to share between threads.
    """

    def __init__(self, seconds: float, entries: int = 256) -> None:
        self.seconds = seconds
        self.entries = entries
        self._lock = threading.Lock()
        self._remembered: dict[tuple[Any, ...], tuple[float, ir.CheckedPack, RunResult]] = {}
        # Per connection (dropped with it), its tables of relations: name → (made, pack).
        self._kept: weakref.WeakKeyDictionary[Warehouse, dict[str, tuple[float, Any]]] = (
            weakref.WeakKeyDictionary()
        )

    def result(
        self, pack: ir.CheckedPack, key: tuple[Any, ...], run: Callable[[], RunResult]
    ) -> RunResult:
        """The remembered result for `key` under `pack`, or `run()`'s, remembered if complete."""
        now = time.monotonic()
        with self._lock:
            entry = self._remembered.get(key)
        if entry is not None and entry[1] is pack and now - entry[0] <= self.seconds:
            return entry[2]
        result = run()
        if self.seconds > 0 and all(o.status in ("ran", "skipped") for o in result.outcomes):
            with self._lock:
                self._remembered.pop(key, None)
                while len(self._remembered) >= self.entries:
                    self._remembered.pop(next(iter(self._remembered)))
                self._remembered[key] = (now, pack, result)
        return result

    def relations(
        self,
        warehouse: Warehouse,
        pack: ir.CheckedPack,
        as_of: date,
        parameters: Mapping[str, Any],
        tables: Mapping[str, str],
        names: set[str],
    ) -> dict[str, str]:
        """Relation → a temporary table of `warehouse`'s connection holding its rows as of `as_of`.

        For each of `names` (relations that do not read the pre-checked source), the
        rows as they stood at most `seconds` ago, made again when older, for another
        pack or other settings. A relation such as `official_circle` is the same for
        every pre-check of a day: computed inline, it was most of many models' query
        time. A connection keeps its own tables (only it sees them, in memory, never in
        the database file), so the caller holds `warehouse` alone while the tables are
        read. One the warehouse cannot make is left out: its models read it inline.
        """
        if self.seconds <= 0 or not names:
            return {}
        with self._lock:
            kept = self._kept.setdefault(warehouse, {})
        settings = (as_of, tuple(sorted(parameters.items())), tuple(sorted(tables.items())))
        suffix = hashlib.sha256(repr(settings).encode()).hexdigest()[:10]
        made: dict[str, str] = {}
        now = time.monotonic()
        for relation in pack.relations:  # in dependency order: one may read another's table
            if relation not in names:
                continue
            table = f"oversight_precheck__{relation}__{suffix}"
            entry = kept.get(table)
            if entry is not None and entry[1] is pack and now - entry[0] <= self.seconds:
                made[relation] = table
                continue
            kept.pop(table, None)
            target = Target(warehouse.dialect, as_of, parameters, tables, shared=dict(made))
            try:
                rows = relation_rows(pack, relation, target)
                fills = getattr(warehouse, "filled", None)
                if fills is not None:  # filled again, the catalog unchanged (prepared queries)
                    fills(table, rows, (pack.relations[relation].revision, relation))
                else:
                    create = exp.Create(
                        this=table_named(table),
                        kind="TABLE",
                        replace=True,
                        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
                        expression=rows,
                    )
                    warehouse.execute(statement(create, warehouse.dialect))
            except (WarehouseError, DiagnosticError):
                continue  # its models read it inline
            while len(kept) >= KEPT_TABLES:  # the oldest made goes
                oldest = min(kept, key=lambda name: kept[name][0])
                kept.pop(oldest)
                drop = exp.Drop(tables=[table_named(oldest)], kind="TABLE", exists=True)
                with suppress(WarehouseError):
                    warehouse.execute(statement(drop, warehouse.dialect))
            kept[table] = (now, pack)
            made[relation] = table
        return made


def precheck(
    warehouse: Warehouse,
    pack: ir.CheckedPack,
    asked: Request,
    *,
    tables: Mapping[str, str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    models: Sequence[ir.Model] | None = None,
    reviewed: bool = True,
    standing: Standing | None = None,
) -> Prechecked:
    """The warnings `asked`'s records would add or change, by the models that read their source.

    A model whose warnings are each made from the rows of the source that share
    the warning's key (`narrowed_to`) is evaluated, without and with the
    records, on just those rows whose key a record touches: no other warning of
    it can change. The other models are evaluated in full, with the records and
    without them (as `standing` remembers it, when one is given). Where no
    record amends a stored row, the stored rows are read as they are.

    `models` defaults to models_reading(); an inline example names its own
    model, and runs it as compiled now (`reviewed` false), as examples do.

    Raises WarehouseError when the warehouse fails or a model fails (half an
    answer would say "no warnings" where there are some); a model skipped
    because a source it reads is not in the warehouse is named in `skipped`.
    Writes nothing (the audit row is the caller's: engine.api.precheck).
    """
    models = list(_reading(pack, asked.source) if models is None else models)
    groups: dict[tuple[str, ...], list[ir.Model]] = {}
    for model in models:
        groups.setdefault(narrowed_to(pack, model, asked.source) or (), []).append(model)
    tables = dict(tables or {})
    parameters = dict(parameters or {})
    # DuckDB reads the records as a registered Arrow table: every query's text is then the
    # same for every pre-check, compiled once. Elsewhere they are literal rows in the query.
    registers = getattr(warehouse, "registered", None)
    rows = None if registers else asked.rows
    # A service's connections (`standing`) keep those tables between pre-checks and each
    # model's query prepared (DuckDB: adapters/duckdb.py `kept`, `prepared`): binding and
    # optimising a query cost about as much as running it on a pre-check's few rows.
    keeps = getattr(warehouse, "kept", None) if standing is not None and registers else None
    prepares = getattr(warehouse, "prepared", None) if keeps else None
    narrowed = [within for within in groups if within]
    # The relations the models read that the records cannot change, as the service keeps
    # them (Standing.relations): read from a table of the connection instead of computed.
    shared: dict[str, str] = {}
    if standing is not None and registers:
        unchanged = _unchanged(pack, asked.source, models)
        shared = standing.relations(warehouse, pack, asked.as_of, parameters, tables, unchanged)
    stored: str | None = None  # set below, before the models run
    nothing_stored = False
    amends = True
    # A stored row with a record's key is amended: with none, a model narrowed to values
    # that include the key reads the records alone (`alone`).
    key = set(pack.pack.sources[asked.source].key)

    # Each group's run without the records: a model whose rows the records leave as they
    # were (most of them) has its warnings taken from it rather than made again.
    nows: dict[tuple[str, ...], RunResult] = {}

    def run(chosen: list[ir.Model], read: str, within: tuple[str, ...]) -> RunResult:
        amending = amends and read != "records"
        pending = Pending(asked.source, rows, read, within, stored if within else None, amending)
        prepared: dict[str, str | Reviewed] | None = None
        if rows is None:
            compiled = _prepared(
                pack, chosen, pending, warehouse.dialect, parameters, tables, shared
            )
            prepared = dict(compiled)
            for model_id, sql in compiled.items() if prepares else ():
                try:
                    day = _on_day(pack, sql, asked.as_of, warehouse.dialect)
                    prepared[model_id] = Reviewed(prepares(day), bound=())
                except WarehouseError:  # run as it is: run_models reports what fails
                    pass
        known = nows[within].rows if read == "then" and within in nows else None
        return run_models(
            pack, warehouse, asked.as_of, chosen, parameters, tables, timeout,
            reviewed=reviewed, pending=pending, prepared=prepared,
            keep_rows=read == "now", known=known,
        )  # fmt: skip

    def alone(within: tuple[str, ...]) -> bool:
        """Whether no stored row has the records' values of `within` (nor amended ones)."""
        return bool(within) and (nothing_stored or (not amends and key <= set(within)))

    def evaluate(half: str, within: tuple[str, ...], chosen: list[ir.Model]) -> RunResult:
        if alone(within):  # now: nothing; then: the records by themselves
            if half == "then":
                return run(chosen, "records", ())
            ran = [ModelOutcome(m.id, "ran") for m in chosen]
            return RunResult(asked.as_of, empty_table(WARNINGS_SCHEMA), ran)
        if standing is None or half == "then" or within:
            result = run(chosen, half, within)
        else:
            ids = tuple(m.id for m in chosen)
            settings = (
                tuple(sorted(parameters.items())), tuple(sorted(tables.items())), reviewed,
            )  # fmt: skip
            key = (asked.source, asked.as_of, ids, *settings)
            result = standing.result(pack, key, lambda: run(chosen, "now", ()))
        if half == "now":
            nows[within] = result
        return result

    with ExitStack() as registered:
        if registers:
            schema = source_schema(pack.pack.sources[asked.source])
            records = table_from_rows(list(asked.rows), schema)
            if keeps:
                registered.enter_context(keeps(records_name(asked.source), records, str(schema)))
            else:
                registered.enter_context(registers(records_name(asked.source), records))
        try:
            # The stored rows the records amend, if any. Without, each query reads the
            # stored rows as they are, plus the records.
            firsts = sorted({within[0] for within in narrowed})
            amended = _amended(warehouse, pack, asked, firsts, tables)
            amends = bool(amended)
            if registers and not all(alone(within) for within in narrowed):
                # On DuckDB the stored rows the narrowed models can see are copied first
                # into a small table (a superset: rows with the values of the first column
                # of some `within` that the records or the rows they amend have). DuckDB
                # would otherwise compute each model's filters on the whole table. With
                # none, the narrowed models give nothing now.
                values = {c: {row[c] for row in [*asked.rows, *amended]} for c in firsts}
                query = stored_rows_with(pack, asked.source, values, warehouse.dialect, tables)
                touched = touched_name(asked.source)
                if keeps:
                    shape = (str(schema), tables.get(asked.source, asked.source))
                    counted = registered.enter_context(keeps(touched, query, shape))
                else:
                    registered.enter_context(registers(touched, query))
                    count = exp.select(exp.Count(this=exp.Star())).from_(touched)
                    answer = warehouse.query(statement(count, warehouse.dialect))
                    counted = answer.column(0)[0].as_py()
                stored = touched
                nothing_stored = counted == 0
        except WarehouseError:  # the source's table is missing: each model says so
            pass
        results = {
            half: [evaluate(half, within, chosen) for within, chosen in groups.items()]
            for half in ("now", "then")
        }
    outcomes = [o for parts in results.values() for part in parts for o in part.outcomes]
    for outcome in outcomes:
        if outcome.status == "timed_out":
            raise QueryTimeout(
                f"模型 {outcome.model_id} 超时", f"model {outcome.model_id} timed out"
            )
        if outcome.status not in ("ran", "skipped"):
            raise WarehouseError(
                f"模型 {outcome.model_id} 未能预检：{outcome.error}",
                f"model {outcome.model_id} could not be pre-checked: {outcome.error}",
            )
    skipped = tuple(sorted({o.model_id for o in outcomes if o.status == "skipped"}))
    now, then = (pa.concat_tables([p.warnings for p in results[k]]) for k in ("now", "then"))
    return Prechecked(
        asked.source,
        asked.as_of,
        len(asked.rows),
        digest(asked.source, asked.rows),
        tuple(m.id for m in models if m.id not in skipped),
        difference(now, then),
        skipped,
    )


def _reading(pack: ir.CheckedPack, source: str) -> list[ir.Model]:
    """`models_reading`, worked out once per pack (a walk of every model's tree)."""
    cache = _remembered(pack)
    key = ("reading", source)
    if key not in cache:
        cache[key] = models_reading(pack, source)
    return cache[key]


def _unchanged(pack: ir.CheckedPack, source: str, models: Sequence[ir.Model]) -> set[str]:
    """The relations `models` read that do not read `source`: records cannot change them.

    Worked out once per pack (following a model's definitions and relations is a
    walk of its whole tree).
    """
    cache = _remembered(pack)
    key = ("unchanged", source, tuple(m.id for m in models))
    if key not in cache:
        cache[key] = {
            relation
            for model in models
            for relation in relations_read(pack, model)
            if source not in pack.relations[relation].sources
        }
    return cache[key]


def _amended(
    warehouse: Warehouse,
    pack: ir.CheckedPack,
    asked: Request,
    columns: Sequence[str],
    tables: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The stored rows the records amend (the same key): their key and `columns`."""
    source = pack.pack.sources[asked.source]
    first = source.key[0]  # filtered on as the table is scanned; the whole key in Python
    values = {first: {row[first] for row in asked.rows}}
    wanted = sorted({*source.key, *columns})
    query = stored_rows_with(pack, asked.source, values, warehouse.dialect, tables, wanted)
    keys = {tuple(row[k] for k in source.key) for row in asked.rows}
    rows = warehouse.query(statement(query, warehouse.dialect)).to_pylist()
    return [row for row in rows if tuple(row[k] for k in source.key) in keys]


_REMEMBERED: dict[int, tuple[ir.CheckedPack, dict[tuple[Any, ...], Any]]] = {}


def _remembered(pack: ir.CheckedPack) -> dict[tuple[Any, ...], Any]:
    """What is worked out once per pack (compiled queries, which models are narrowed).

    Per pack object, not per model revision: a model's query also depends on the
    shared definitions it calls and the parameters' values. The last few packs
    are kept (a server re-reads a changed pack; requests may still hold the old one).
    """
    entry = _REMEMBERED.get(id(pack))
    if entry is None or entry[0] is not pack:
        if len(_REMEMBERED) >= 4:
            _REMEMBERED.clear()
        entry = _REMEMBERED[id(pack)] = (pack, {})
    return entry[1]


def _prepared(
    pack: ir.CheckedPack,
    models: list[ir.Model],
    pending: Pending,
    dialect: str,
    parameters: dict[str, Any],
    tables: dict[str, str],
    shared: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Each model's query reading `pending` as the connection provides it, compiled once.

    The as-of day is a placeholder, bound when the query runs; `shared` names the
    tables of relations the query reads instead of computing them (Standing.relations).
    A model that does not compile is left to run_models, which reports it as it
    reports any model.
    """
    shared = dict(shared or {})
    prepared = {}
    cache = _remembered(pack)
    for model in models:
        key = (
            "sql", model.id, pending.source, pending.read, pending.within, pending.stored,
            pending.amends, dialect,
            tuple(sorted(parameters.items())), tuple(sorted(tables.items())),
            tuple(sorted(shared.items())),
        )  # fmt: skip
        if key not in cache:
            target = Target(dialect, None, parameters, tables, pending, shared)
            try:
                cache[key] = compile_model(model, pack, target).sql(last_use=True)
            except DiagnosticError:
                continue
        prepared[model.id] = cache[key]
    return prepared


def _on_day(pack: ir.CheckedPack, sql: str, as_of: date, dialect: str) -> str:
    """`sql` (from `_prepared`) with its as-of placeholder written as the day, once per day.

    A connection prepares the query so: a prepared statement given the day as a
    parameter is bound again at every execution (DuckDB cannot type it beforehand).
    """
    cache = _remembered(pack)
    key = ("day", sql, as_of)
    if key not in cache:
        if len(cache) > DAYS_REMEMBERED:  # a service asked about many days: start again
            cache.clear()
        tree = sqlglot.parse_one(sql, read=dialect)
        day = exp.cast(exp.Literal.string(as_of.isoformat()), exp.DataType.build("date"))
        for placeholder in list(tree.find_all(exp.Placeholder)):
            if placeholder.name == AS_OF:
                placeholder.replace(day.copy())
        cache[key] = statement(tree, dialect)
    return cache[key]


def narrowed_to(pack: ir.CheckedPack, model: ir.Model, source: str) -> tuple[str, ...] | None:
    """The columns of `source` whose values each of `model`'s warnings is made within, or None.

    That is when `source` is the model's first `from`, read nowhere else (not in
    a join, a subquery, a shared definition or relation), the model's key is
    columns of it, and no window or limit looks across rows: then a warning
    depends on the source's rows with its key's values (a group, or one row)
    and on other sources, so records change only the warnings of the values
    they touch. Answered from the model as compiled, once per pack.
    """
    cache = _remembered(pack)
    key = ("narrowed", model.id, source)
    if key not in cache:
        cache[key] = _narrowed_to(pack, model, source)
    return cache[key]


def _narrowed_to(pack: ir.CheckedPack, model: ir.Model, source: str) -> tuple[str, ...] | None:
    driver = model.query.sources[0].binding
    if driver.is_relation or driver.source != source:
        return None
    if not all(isinstance(k, ir.Col) and k.binding.uid == driver.uid for k in model.key):
        return None
    within = tuple(dict.fromkeys(k.column for k in model.key if isinstance(k, ir.Col)))
    # The shape as PostgreSQL's: DuckDB's own rewrites of a grouping (functions.py
    # group_hash, two_phase_distinct) read the rows through a WITH and group them twice,
    # which the walk below does not follow. They keep every row of a group large enough
    # for `having` and group exactly after, so a group's warning still depends on its rows
    # alone, and what holds for this shape holds for DuckDB's.
    probe = Target("postgres", date(2000, 1, 1), pending=Pending(source, ()))
    try:
        tree = compile_model(model, pack, probe).tree
    except DiagnosticError:
        return None
    read_as = pending_name(source)
    reads = [t for t in tree.find_all(exp.Table) if t.name == read_as and not _values_of(t)]
    if len(reads) != 1:
        return None
    # From the select reading the source up to the whole query, each select reads the one
    # below as its FROM (the compiler wraps a model's rows in derived tables) and looks at
    # one row or one group at a time: no window, no limit.
    below: exp.Expression = reads[0]
    select = reads[0].parent_select
    while True:
        if not isinstance(select, exp.Select) or select.args.get("from_") is None:
            return None
        if select.args["from_"].this is not below:
            return None
        if select.args.get("limit") or _own(select, exp.Window):
            return None
        if select is tree:
            return within
        below = select.parent
        if not isinstance(below, exp.Subquery):
            return None
        select = below.parent_select


def _values_of(read: exp.Table) -> bool:
    """Whether `read` is only the distinct values of a correlated subquery's outer row.

    engine/compiler/decorrelate.py's domain form reads the source again as
    `JOIN (SELECT DISTINCT columns FROM source) ON …`, to group other rows by
    those values and match each model row to its own values' group. Narrowed,
    it reads the same rows as the model's own rows, so it holds the values of
    every row evaluated, and a warning still depends on its row's values alone.
    """
    select = read.parent_select
    return (
        isinstance(select, exp.Select)
        and bool(select.args.get("distinct"))
        and select.args["from_"].this is read
        and not select.args.get("joins")
        and isinstance(select.parent, exp.Subquery)
        and isinstance(select.parent.parent, exp.Join)
        and select.parent.parent.args.get("kind") == "INNER"
    )


def _own(select: exp.Select, kind: type[exp.Expression]) -> bool:
    """Whether `select` holds a `kind` in its own scope (subqueries and WITH aside)."""
    scopes = (exp.Subquery, exp.Exists, exp.CTE, exp.With)
    own = select.walk(prune=lambda node: node is not select and isinstance(node, scopes))
    return any(isinstance(node, kind) for node in own)


def answered(
    warehouse: Warehouse,
    pack: ir.CheckedPack,
    asked: Request,
    deployment: Deployment,
    caller: str,
    timeout: float | None = None,
    standing: Standing | None = None,
) -> pa.Table:
    """One pre-check as every door answers it: evaluated, its audit row written.

    The warnings (PRECHECK_SCHEMA) carry what was checked in their schema
    metadata (`oversight.source`, `.as_of`, `.records`, `.models`, `.skipped`,
    `.digest`, `.pack_version`), read back by `document`.
    """
    answer = precheck(
        warehouse,
        pack,
        asked,
        tables=deployment.tables,
        parameters=deployment.parameters,
        timeout=timeout,
        standing=standing,
    )
    row = audit_row(answer, caller, pack.pack.version)
    ledger.record_precheck(warehouse, row, ledger.Tables(deployment.ledger_schema))
    facts = {
        "oversight.source": answer.source,
        "oversight.as_of": answer.as_of.isoformat(),
        "oversight.records": str(answer.records),
        "oversight.models": ",".join(answer.models),
        "oversight.skipped": ",".join(answer.skipped),
        "oversight.digest": answer.digest,
        "oversight.pack_version": pack.pack.version,
    }
    return answer.warnings.replace_schema_metadata(facts)


def facts(answer: pa.Table) -> dict[str, str]:
    """What an answer of `answered` says was checked, from its schema metadata."""
    meta = answer.schema.metadata or {}
    return {k.decode().removeprefix("oversight."): v.decode() for k, v in meta.items()}


def document(answer: pa.Table) -> dict[str, Any]:
    """An answer of `answered` as JSON values: `precheck --format json` and the HTTP service."""
    checked = facts(answer)
    warnings = answer.to_pylist()
    for row in warnings:
        for name, value in row.items():
            if isinstance(value, date):
                row[name] = value.isoformat()
    return {
        "source": checked.get("source"),
        "as_of": checked.get("as_of"),
        "records": int(checked.get("records", "0")),
        "models": [m for m in checked.get("models", "").split(",") if m],
        "skipped": [m for m in checked.get("skipped", "").split(",") if m],
        "pack_version": checked.get("pack_version"),
        "warnings": warnings,
    }


def audit_row(answer: Prechecked, caller: str, pack_version: str) -> dict[str, object]:
    """The audit row (engine.runs.ledger.PRECHECKS_SCHEMA) of one pre-check by `caller`."""
    warnings = answer.warnings
    told = [
        {"model_id": m, "warning_key": k, "change": c}
        for m, k, c in zip(
            warnings.column("model_id").to_pylist(),
            warnings.column("warning_key").to_pylist(),
            warnings.column("change").to_pylist(),
            strict=True,
        )
    ]
    return {
        "precheck_id": uuid.uuid4().hex[:16],
        "checked_at": datetime.now(UTC).replace(tzinfo=None),
        "caller": caller,
        "source": answer.source,
        "as_of": answer.as_of,
        "records": answer.records,
        "digest": answer.digest,
        "models": ",".join(answer.models),
        "warnings": warnings.num_rows,
        "answer": json.dumps(told, ensure_ascii=False),
        "pack_version": pack_version,
        "engine_version": __version__,
    }


def _messages(warnings: pa.Table) -> Iterator[tuple[tuple[str, str], str]]:
    """Each warning's (model, key) and message, in the table's order."""
    models = warnings.column("model_id").to_pylist()
    keys = warnings.column("warning_key").to_pylist()
    return zip(zip(models, keys, strict=True), warnings.column("message").to_pylist(), strict=True)


def difference(now: pa.Table, then: pa.Table) -> pa.Table:
    """The warnings of `then` that `now` lacks (new) or words differently (changed)."""
    if then.num_rows == 0:
        return empty_table(PRECHECK_SCHEMA)
    found = list(changes(dict(_messages(now)), _messages(then)))
    keep = [i for i, _, _ in found]
    change = [c for _, c, _ in found]
    message_now = [m for _, _, m in found]
    chosen = then.take(array_of(keep, pa.int64())).cast(WARNINGS_SCHEMA)
    return pa.Table.from_arrays(
        [*chosen.columns, array_of(change, pa.string()), array_of(message_now, pa.string())],
        schema=PRECHECK_SCHEMA,
    )
