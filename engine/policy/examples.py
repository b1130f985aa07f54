"""Run every model's inline examples and say which fail, and how.

Each example starts from empty sources (every source of the catalog, typed
as the catalog says), adds its given rows, runs its model as of its day,
and must raise exactly the warnings it expects — no more, no fewer. An
example with pending rows is a pre-check of them (engine/service/precheck.py): the
given rows are what is stored, and it must get exactly the warnings it
expects to be new, or changed (`expect "K" changed`). They run on an
in-memory DuckDB unless another warehouse is given (the conformance tests
run them on every warehouse we claim).

On that in-memory DuckDB (what `oversight check` runs), every example is run on
tables of the examples' own, one per source, made once
and empty: the example inserts its given rows and deletes them after its query,
and each model's query is compiled and prepared once for those tables with the
as-of day a placeholder, given for each example. Writing the rows into empty
tables of every source in a transaction and rolling it back (as on a given
warehouse) took three statements per example more, and the 35 empty tables a
third of a second; reading each example's rows as Arrow tables registered in
place parsed and planned its query anew (40 % more of DuckDB's time), and made
DuckDB import pandas (engine/arrays.py), which the examples now never do.

Nor does anything there pass through pyarrow: each query's answer is read as
Python rows and worded as a run words them (engine/runs/warnings.py `worded`), and
an example with pending rows is evaluated there as its pre-check is defined: the
model on the given rows, then on the given rows with the pending rows committed
(a stored row of the same key replaced), the warnings of the second that the first
lacks or words differently. Importing pyarrow (and numpy with it) took a quarter
of a second of an edit loop's check; the pre-check service's own path
(engine/service/precheck.py), run on any warehouse given, is what the
conformance tests hold to the same examples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from adapters.base import Warehouse, WarehouseError
from adapters.duckdb import DuckDBWarehouse
from adapters.names import quote_identifiers, statement, table_named
from dsl import ir
from dsl.diagnostics import Diagnostic, DiagnosticError
from dsl.messages import diagnostic
from engine.compiler import functions as fn
from engine.compiler import placeholders
from engine.compiler.compile import Target, compile_model
from engine.policy.outcome import ExampleOutcome
from engine.runs.warnings import changes, worded

if TYPE_CHECKING:  # the hints only: the examples `check` runs never import pyarrow
    import pyarrow as pa

Got = dict[str, dict[str, Any]]
"""An example's warnings by key: each a run's warning as a dict (`warning_key`, `township`,
`message`, …; a pre-check's with `change` and `message_now`)."""


def warm_up() -> None:
    """Load what the first example would otherwise load, and open the examples' database.

    sqlglot's DuckDB dialect (50 ms), and an in-memory DuckDB that has answered a
    first query (10 ms to connect, a first grouping 3 ms), which the next
    `run_examples` of this process takes. check's second process does it while
    the first reads the rules (engine/policy/workers.py).
    """
    Dialect.get_or_raise("duckdb")
    if not _OPENED:
        database = _examples_database()
        database.query_rows("SELECT x, count(*) FROM (VALUES (1)) AS t(x) GROUP BY x")
        _OPENED.append(database)


_OPENED: list[DuckDBWarehouse] = []
"""The examples' database warm_up opened ahead, until a run_examples takes it."""


def _examples_database() -> DuckDBWarehouse:
    """An in-memory DuckDB for examples: one thread, and no plan resting on statistics.

    A few rows per example: DuckDB's threads would only take turns planning them.
    Each model's query is planned once, on empty tables, and run on each example's
    rows: no plan may rest on what the tables held then.
    """
    database = DuckDBWarehouse("duckdb:///:memory:")
    one = exp.Set(expressions=[exp.SetItem(this=exp.column("threads").eq(1))])
    database.execute(statement(one, database.dialect))
    database.plan_without_statistics()
    return database


def run_examples(
    pack: ir.CheckedPack,
    models: list[ir.Model] | None = None,
    warehouse: Warehouse | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ExampleOutcome]:
    """Every example of `models` (default all), each on fresh empty sources.

    The sources are (re)created empty in `warehouse` — never give it a
    county's warehouse. `progress` hears (models done, models) after each model.
    """
    models = sorted(pack.models.values(), key=lambda m: m.id) if models is None else models
    own = None
    if warehouse is None:
        own = _OPENED.pop() if _OPENED else _examples_database()
    target: Warehouse = warehouse or own  # type: ignore[assignment]
    try:
        in_place = InPlace(pack, own) if own is not None else None
        if in_place is None:
            empty_sources(pack, target)
        outcomes = []
        for done, model in enumerate(models, 1):
            outcomes += [
                _run_one(pack, target, model, example, in_place) for example in model.examples
            ]
            if progress is not None:
                progress(done, len(models))
        return outcomes
    finally:
        if own is not None:
            own.close()


def _rows(pack: ir.CheckedPack, example: ir.Example) -> dict[str, pa.Table]:
    from engine.arrays import table_from_rows
    from engine.schema import source_schema

    grouped: dict[str, list[dict[str, object]]] = {}
    for source, values in example.rows:
        grouped.setdefault(source, []).append(dict(values))
    tables = {}
    for source, rows in grouped.items():
        schema = source_schema(pack.pack.sources[source])
        tables[source] = table_from_rows(rows, schema)
    return tables


def empty_sources(pack: ir.CheckedPack, warehouse: Warehouse) -> None:
    """Every source of the catalog as an empty table of `warehouse`, typed as the catalog says."""
    from engine.schema import source_schema  # pyarrow: for a warehouse given, not check's own

    for name, source in pack.pack.sources.items():
        warehouse.load(name, source_schema(source).empty_table(), replace=True)


class InPlace:
    """Runs examples on tables of their own, each model prepared once for them.

    Only for the in-memory DuckDB `run_examples` opens itself. Each source a model
    reads is a table of the examples' own, made once and empty; an example inserts
    its given rows (literals) and deletes them after its query. Each model's query
    is compiled and prepared once for those tables, the as-of day a placeholder
    given as a literal for each example: DuckDB then neither parses nor plans it
    again, most of the few milliseconds an example's query takes. No value passes
    through DuckDB's Python binding nor an Arrow scan, each of which imports pandas
    when it is installed (engine/arrays.py), and the answers are read as Python rows.
    """

    PREFIX = "__example_"

    def __init__(self, pack: ir.CheckedPack, warehouse: DuckDBWarehouse) -> None:
        self.pack = pack
        self.warehouse = warehouse
        self.made: set[str] = set()
        self.queries: dict[tuple[str, tuple[str, ...], str], tuple[str, bool] | None] = {}
        self.emptied: dict[str, str] = {}
        self.calls: dict[tuple[str, str], str] = {}

    def table(self, source: str) -> str:
        """The examples' own table of `source` (made at its first use)."""
        name = f"{self.PREFIX}{source}"
        if source not in self.made:
            self._create(name, source)
            self.made.add(source)
        return name

    def _create(self, name: str, source: str) -> None:
        """An empty table `name` with the columns of `source`, as the catalog types them.

        A table of the database, not a temporary one: a failed query asks the catalog
        whether the tables it reads are there, as a run does (engine/runs/run.py).
        """
        columns = self.pack.pack.sources[source].columns.values()
        schema = exp.Schema(
            this=table_named(name),
            expressions=[
                exp.ColumnDef(this=exp.to_identifier(c.name), kind=fn.SQL_TYPES[c.type])
                for c in columns
            ],
        )
        create = exp.Create(this=schema, kind="TABLE", replace=True)
        self.warehouse.execute(self._sql(create))

    def _sql(self, tree: exp.Expression) -> str:
        """A statement's text, as `statement` writes it, from a tree built for it alone.

        Not copied before it is written, as sqlglot otherwise does in case the tree is
        used again: a fifth of the time of writing an example's rows.
        """
        dialect = self.warehouse.dialect
        return quote_identifiers(tree, dialect).sql(dialect, copy=False)

    def insert(self, rows: ir.Rows) -> list[str]:
        """Insert `rows` as literals into the examples' tables; returns the tables filled."""
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for source, values in rows:
            grouped.setdefault(source, []).append(dict(values))
        filled = []
        for source, given in grouped.items():
            columns = list(self.pack.pack.sources[source].columns.values())
            values = exp.Values(
                expressions=[
                    exp.Tuple(
                        expressions=[
                            # no CAST: the table's column types them (and a CAST for each
                            # value took four fifths of the time of writing the statement)
                            fn.literal(row.get(c.name), c.type, self.warehouse.dialect)
                            for c in columns
                        ]
                    )
                    for row in given
                ]
            )
            name = self.table(source)
            filled.append(name)
            insert = exp.insert(values, table_named(name))
            try:
                self.warehouse.execute(self._sql(insert))
            except WarehouseError as exc:
                raise GivenRowsRefused(str(exc)) from exc
        return filled

    @contextmanager
    def given(self, rows: ir.Rows) -> Iterator[None]:
        """`rows` in the examples' tables while the `with` lasts."""
        filled: list[str] = []
        try:
            filled = self.insert(rows)
            yield
        finally:
            for name in filled:
                if name not in self.emptied:  # the same statement for every example
                    self.emptied[name] = self._sql(exp.delete(table_named(name)))
                self.warehouse.execute(self.emptied[name])

    def query(
        self, model: ir.Model, tables: Mapping[str, str], params: dict[str, Any]
    ) -> tuple[str, bool] | None:
        """The model's prepared query reading `tables`, and whether it reads the day.

        Compiled and prepared once. None when compiling or preparing fails (a model a
        warehouse cannot express, a bug): `run_models` then compiles it and reports the
        failure as for any run.
        """
        key = (model.id, tuple(sorted(tables)), repr(sorted(params.items())))
        if key not in self.queries:
            target = Target(self.warehouse.dialect, None, params, dict(tables))
            try:
                compiled = compile_model(model, self.pack, target)
                reads_day = placeholders.AS_OF in compiled.placeholders
                name = self.warehouse.prepare(compiled.sql(last_use=True))
                self.queries[key] = (name, reads_day)
            except Exception:  # diagnostics too: said as a run that compiles says them
                self.queries[key] = None
        return self.queries[key]

    def evaluate(self, model: ir.Model, example: ir.Example) -> tuple[Got, str | None]:
        """The example's warnings, its given rows in the examples' tables; or why it failed.

        Every source the model reads is read from the examples' table of it (empty
        where the example gives no rows), so that one prepared query serves all the
        model's examples with the same parameters. With pending rows, the pre-check's
        warnings: those the rows add or change (`prechecked`).
        """
        if example.pending:
            return self.prechecked(model, example)
        return self.warnings(model, example, example.rows)

    def warnings(
        self, model: ir.Model, example: ir.Example, rows: ir.Rows
    ) -> tuple[Got, str | None]:
        """The model's warnings as of the example's day, on `rows`; or why it failed."""
        sources = {*model.sources, *(source for source, _ in rows)}
        tables = {source: self.table(source) for source in sources}
        params = dict(example.params)
        query = self.query(model, tables, params)
        if query is None:  # compiled again and the failure said, as a run says it
            with self.given(rows):
                return _as_run(self.pack, self.warehouse, model, example, tables)
        name, reads_day = query
        on = example.as_of.isoformat() if reads_day else ""
        if (name, on) not in self.calls:  # the same call for each example of the same day
            day = {placeholders.AS_OF: fn.date_literal(on, "duckdb")} if reads_day else {}
            self.calls[name, on] = self.warehouse.executing(name, day)
        sql = self.calls[name, on]
        with self.given(rows):
            try:
                names, answer = self.warehouse.query_rows(sql)
            except WarehouseError as exc:
                return {}, str(exc)
        columns = {name: [row[i] for row in answer] for i, name in enumerate(names)}
        words, _ = worded(model, columns, len(answer))
        got = {
            w.key: {"warning_key": w.key, "township": w.township, "message": w.message}
            for w in words
        }
        return got, None

    def prechecked(self, model: ir.Model, example: ir.Example) -> tuple[Got, str | None]:
        """A pre-check example's warnings: what its pending rows add or change, or why it failed.

        As engine/service/precheck.py defines a pre-check: the model's warnings with the
        pending rows committed (each replacing a given row of its source with the same
        key) against its warnings on the given rows alone.
        """
        now, error = self.warnings(model, example, example.rows)
        if error is None:
            then, error = self.warnings(model, example, committed(self.pack, example))
        if error is not None:
            failed = WarehouseError(  # worded as the pre-check service words it
                f"模型 {model.id} 未能预检：{error}",
                f"model {model.id} could not be pre-checked: {error}",
            )
            return {}, str(failed)
        warnings = list(then.items())
        said = {key: warning["message"] for key, warning in now.items()}
        found = changes(said, ((key, warning["message"]) for key, warning in warnings))
        got = {}
        for i, change, message_now in found:
            key, warning = warnings[i]
            got[key] = {**warning, "change": change, "message_now": message_now}
        return got, None


def committed(pack: ir.CheckedPack, example: ir.Example) -> ir.Rows:
    """The example's given rows with its pending rows committed.

    A given row of the pending rows' source whose key (the catalog's) a pending row
    has is replaced: left out, and the pending rows added. A key with a null never
    matches, as `=` in SQL (engine/compiler/target.py reads the pending rows so).
    """
    source = example.pending_source
    key = pack.pack.sources[source].key if source is not None else ()

    def key_of(values: Sequence[tuple[str, Any]]) -> tuple[Any, ...] | None:
        row = dict(values)
        found = tuple(row.get(k) for k in key)
        return None if any(v is None for v in found) else found

    pending = {key_of(values) for _, values in example.pending} - {None}
    kept = tuple(
        (name, values)
        for name, values in example.rows
        if name != source or key_of(values) not in pending
    )
    return kept + tuple(example.pending)


def _as_run(
    pack: ir.CheckedPack,
    warehouse: Warehouse,
    model: ir.Model,
    example: ir.Example,
    tables: Mapping[str, str],
) -> tuple[Got, str | None]:
    """The example run as `oversight run` runs a model (compiled and said by run_models)."""
    from engine.runs.run import run_models  # pyarrow: only for a model that did not prepare

    params = dict(example.params)
    result = run_models(pack, warehouse, example.as_of, [model], params, tables, reviewed=False)
    error = (result.failed[0].error or "") if result.failed else None
    return {row["warning_key"]: row for row in result.warnings.to_pylist()}, error


def _run_one(
    pack: ir.CheckedPack,
    warehouse: Warehouse,
    model: ir.Model,
    example: ir.Example,
    in_place: InPlace | None = None,
) -> ExampleOutcome:
    with_example = f"示例「{example.title}」"
    try:
        if in_place is not None:
            got, error = in_place.evaluate(model, example)
        else:
            got, error = _on_warehouse(pack, warehouse, model, example)
    except (DiagnosticError, GivenRowsRefused) as exc:
        problem = diagnostic(
            "E513.could_not_run",
            example.span,
            with_example=with_example,
            exc=exc,
            title=example.title,
        )
        return ExampleOutcome(model.id, example.title, False, (problem,))
    if error is not None:
        problem = diagnostic("E513.failed", example.span, with_example=with_example, error=error)
        return ExampleOutcome(model.id, example.title, False, (problem,))

    expected = {e.key: e for e in example.expect}
    problems: list[Diagnostic] = []
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        said_zh = "、".join(expected) or "无预警"
        got_zh = "、".join(sorted(got)) or "无预警"
        hints = []
        if missing:
            hints.append("未预警 missing: " + "、".join(missing))
        if extra:
            hints.append("多出 unexpected: " + "、".join(extra))
        if example.pending:
            hints.append(
                "预检示例只比较待审记录新增或改变的预警 / a pre-check example compares the "
                "warnings its pending rows add or change"
            )
        problems.append(
            diagnostic(
                "E510.count",
                example.span,
                hints=tuple(hints),
                with_example=with_example,
                said_zh=said_zh,
                got_zh=got_zh,
                title=example.title,
                expected=sorted(expected) or "none",
                got=sorted(got) or "none",
            )
        )
    for key, expectation in expected.items():
        row = got.get(key)
        if row is None:
            continue
        if example.pending and (row["change"] == "changed") != expectation.changed:
            problems.append(_change_differs(with_example, key, expectation, row))
        if expectation.township is not None and row["township"] != expectation.township:
            problems.append(
                diagnostic(
                    "E511",
                    expectation.span,
                    with_example=with_example,
                    key=key,
                    township=expectation.township,
                    routed_to=row["township"],
                )
            )
        if expectation.message is not None and row["message"] != expectation.message:
            problems.append(
                diagnostic(
                    "E512",
                    expectation.span,
                    hints=(f"实际 got: {row['message']}", f"期望 expected: {expectation.message}"),
                    with_example=with_example,
                    key=key,
                )
            )
    return ExampleOutcome(model.id, example.title, not problems, tuple(problems))


def _on_warehouse(
    pack: ir.CheckedPack, warehouse: Warehouse, model: ir.Model, example: ir.Example
) -> tuple[Got, str | None]:
    """The example on a warehouse given, its sources empty: its rows written and taken out.

    A pre-check example goes through the pre-check service's own path there.
    """
    import pyarrow as pa  # a warehouse given (the conformance tests): Arrow tables

    try:
        rows = _rows(pack, example)
    except pa.ArrowException as exc:  # said as a value a table refuses
        raise GivenRowsRefused(str(exc)) from exc
    warnings, error = _in_transaction(pack, warehouse, model, example, rows)
    return {row["warning_key"]: row for row in warnings.to_pylist()}, error


def _in_transaction(
    pack: ir.CheckedPack,
    warehouse: Warehouse,
    model: ir.Model,
    example: ir.Example,
    rows: dict[str, pa.Table],
) -> tuple[pa.Table, str | None]:
    """The example evaluated with its rows written to the sources, then taken out again."""
    try:
        with warehouse.transaction():
            for source, table in rows.items():
                warehouse.append(source, table)
            raise _Rollback(_evaluate(pack, warehouse, model, example))
    except _Rollback as done:
        if not warehouse.transactional:  # nothing rolled back: empty what the example filled
            from engine.schema import source_schema

            for source in rows:
                empty = source_schema(pack.pack.sources[source]).empty_table()
                warehouse.load(source, empty, replace=True)
        warnings, error = done.result
        return warnings, error


def _evaluate(
    pack: ir.CheckedPack,
    warehouse: Warehouse,
    model: ir.Model,
    example: ir.Example,
) -> tuple[pa.Table, str | None]:
    """The example's warnings, with the given rows stored; or why its model failed.

    An example with pending rows is a pre-check (engine/service/precheck.py): its
    warnings are those the pending rows add or change, each with its `change`.
    Compiled here, the as-of day a literal: the examples test the rules as they
    compile now, whether or not compiled/ is current (the demo runs the reviewed
    files, so that conformance runs both paths on every warehouse).
    """
    from engine.arrays import empty_table
    from engine.runs.run import run_models
    from engine.service.precheck import PRECHECK_SCHEMA, Request, precheck

    source = example.pending_source
    if source is None:
        result = run_models(
            pack, warehouse, example.as_of, [model], dict(example.params), reviewed=False
        )
        error = (result.failed[0].error or "") if result.failed else None
        return result.warnings, error
    columns = dict.fromkeys(pack.pack.sources[source].columns)
    asked = Request(
        source, tuple(columns | dict(values) for _, values in example.pending), example.as_of
    )
    try:
        answer = precheck(
            warehouse,
            pack,
            asked,
            parameters=dict(example.params),
            models=[model],
            reviewed=False,
        )
    except WarehouseError as exc:
        return empty_table(PRECHECK_SCHEMA), str(exc)
    return answer.warnings, None


def _change_differs(
    with_example: str, key: str, expectation: ir.Expectation, row: dict[str, object]
) -> Diagnostic:
    """E510: a pre-check example expects a new warning and gets a changed one, or the reverse."""
    if expectation.changed:
        return diagnostic(
            "E510.expected_existing",
            expectation.span,
            hints=(
                "已入库的数据（given）此时还不发出这条预警：去掉 changed，或补上 given 数据 / "
                "the given rows don't raise it yet: drop 'changed' or add given rows",
            ),
            with_example=with_example,
            key=key,
        )
    return diagnostic(
        "E510.expected_new",
        expectation.span,
        hints=(
            f"改变前的消息 message now: {row['message_now']}",
            f'写成 expect "{key}" changed / write: expect "{key}" changed',
        ),
        with_example=with_example,
        key=key,
    )


class _Rollback(Exception):
    """Leaves the example's transaction without keeping its rows, carrying the result out."""

    def __init__(self, result: object) -> None:
        super().__init__("rollback")
        self.result = result


class GivenRowsRefused(Exception):
    """An example's given rows that its table would not take.

    Said as E513, as a value that Arrow refuses is when the rows are written elsewhere.
    """
