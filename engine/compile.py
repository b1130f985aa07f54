"""Stage 3, compile: a checked model to one sqlglot SELECT tree, and that tree to SQL text.

The contract's common meaning is applied here once, for every model:
the as-of rule (rows whose event_date is after as_of are invisible), two-
valued logic (a comparison with null is false; `!=` and `not in` hold for
null), sums over no rows being 0, true division. What functions mean is in
engine/functions.py.

A model compiles to a query whose columns are `key_1 … key_n`, `township`
(not in a pack without townships), and `hole_1 … hole_m` (the values of the
message's `{…}`); the runner turns
those rows into warnings. A grouped model compiles to two levels: the rows
with their group values and what the aggregates need, then the groups.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from adapters.names import quote_identifiers, table_named
from dsl import ir
from dsl.diagnostics import Diagnostic, DiagnosticError
from dsl.pack import Source
from dsl.types import Type
from engine import functions as fn

DIALECTS: tuple[str, ...] = (
    "duckdb", "sqlite", "postgres", "spark", "trino", "bigquery", "snowflake", "mysql",
    "clickhouse", "doris", "starrocks", "hive",
)  # fmt: skip

# What first(x order by …) reads on the grouped rows: the columns of its order, each with
# whether it descends (a warehouse with ordered aggregates), or the column of a ROW_NUMBER().
_FirstBy = list[tuple[str, bool]] | str | None

# What E702 says when sqlglot ran out of Python's recursion (see _too_large).
_DEEP = "expressions nested too deeply"

# What a statement may contain: a read-only query. Anything else is a bug in the compiler.
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Command,
           exp.Merge, exp.TruncateTable)  # fmt: skip


@dataclass(frozen=True)
class Target:
    """Where and for when a model is compiled.

    `as_of` None leaves a placeholder (`:as_of`), as in the reviewed files of
    compiled/. `parameters` overrides the pack's defaults; `tables` maps
    logical source names to physical ones (`schema.table` allowed).
    """

    dialect: str = "duckdb"
    as_of: date | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)
    # A pre-check's rows (engine/precheck.py): the source they belong to is read as
    # `Pending.read` says, never from a table they were written to.
    pending: Pending | None = None


@dataclass(frozen=True)
class Pending:
    """Rows a pre-check adds to one source, each a value for every column of the catalog.

    `read` says what a query reads for that source: "then" — the stored rows, less
    those a pending row amends (the same key), and the pending rows; "now" — the
    stored rows. `within` (columns of the source) narrows both to the rows whose
    values in those columns equal a pending row's or an amended stored row's: a
    model whose warnings are each made from the rows of one such value (its key)
    is evaluated on the few rows a pre-check can change (engine/precheck.py).
    """

    source: str
    # None: the warehouse connection provides the rows itself, as a relation named
    # records_name(source) (DuckDB reads a registered Arrow table), so that the query's
    # text is the same for every pre-check and can be compiled once.
    rows: tuple[Mapping[str, Any], ...] | None
    read: str = "then"
    within: tuple[str, ...] = ()
    # A table holding at least the stored rows that `within` lets through (made once per
    # pre-check from stored_rows_with); None: the source's own table.
    stored: str | None = None
    # False: no pending row has the key of a stored row, so none is left out for it.
    amends: bool = True


@dataclass(frozen=True)
class CompiledModel:
    """One model's query for one warehouse, and what its columns mean."""

    model: ir.Model
    dialect: str
    tree: exp.Expression

    @property
    def key_columns(self) -> tuple[str, ...]:
        return key_columns(self.model)

    @property
    def hole_columns(self) -> tuple[str, ...]:
        return hole_columns(self.model)

    def sql(self, pretty: bool = False, last_use: bool = False) -> str:
        """The query as text for this model's warehouse; raises DiagnosticError if it can't be.

        sqlglot copies a tree before writing it out, because writing may change
        it; `last_use` says the tree is not needed afterwards, which saves the
        copy (half the time of writing the 35 models out for a run).
        """
        try:
            return self.tree.sql(
                dialect=self.dialect,
                pretty=pretty,
                unsupported_level=ErrorLevel.RAISE,
                copy=not last_use,
            )
        except UnsupportedError as exc:
            raise DiagnosticError([_unsupported(self.model, str(exc), self.dialect)]) from None
        except RecursionError:
            raise DiagnosticError([_too_large(self.model, _DEEP, self.dialect)]) from None


def _unsupported(model: ir.Model, construct: str, dialect: str) -> Diagnostic:
    return Diagnostic(
        "E700",
        f"模型 {model.id} 无法在 {dialect} 上表达：{construct}",
        f"model {model.id} cannot be expressed on {dialect}: {construct}",
        model.span,
        ("换用该数据仓库支持的写法，或不在此仓库上运行该模型",),
    )


def _too_large(model: ir.Model, construct: str, dialect: str) -> Diagnostic:
    """A model whose SQL nests deeper, or grows larger, than can be written out.

    sqlglot builds and writes SQL by recursion, a few Python frames per level
    of an expression, and Python stops at about a thousand; and a function
    that a warehouse writes with an argument twice doubles the SQL at each
    level of calls nested in it (functions.MAX_SQL_NODES). A let is a column
    of its own, read by name, so splitting the expression into lets helps.
    """
    return Diagnostic(
        "E702",
        f"模型 {model.id} 写成 {dialect} 的 SQL 嵌套太深或太大：{construct}",
        f"model {model.id} nests too deeply or grows too large as SQL for {dialect}: {construct}",
        model.span,
        ("把嵌套很深或很长的表达式拆成几个 let，每个 let 算其中一段",),
    )


def compile_model(model: ir.Model, pack: ir.CheckedPack, target: Target) -> CompiledModel:
    """Build the query of `model` for `target`; raise DiagnosticError if the warehouse can't."""
    if target.dialect not in DIALECTS:
        raise DiagnosticError(
            [
                Diagnostic(
                    "E701",
                    f"不支持的数据仓库方言「{target.dialect}」",
                    f"unknown dialect {target.dialect!r}",
                    None,
                    ("可用方言：" + "、".join(DIALECTS),),
                )
            ]
        )
    try:
        compiler = _Compiler(pack, target, _lookups_as_lets(model, pack))
        tree = compiler.with_relations(compiler.model_query())
    except fn.Unsupported as exc:
        raise DiagnosticError([_unsupported(model, exc.construct, exc.dialect)]) from None
    except fn.TooLarge as exc:
        raise DiagnosticError([_too_large(model, exc.construct, exc.dialect)]) from None
    except RecursionError:
        raise DiagnosticError([_too_large(model, _DEEP, target.dialect)]) from None
    assert_read_only(tree)
    return CompiledModel(model, target.dialect, quote_identifiers(tree, target.dialect))


def key_columns(model: ir.Model) -> tuple[str, ...]:
    """The columns of a model's query that hold its key: key_1 … key_n."""
    return tuple(f"key_{i + 1}" for i in range(len(model.key)))


def routed_to(model: ir.Model) -> tuple[ir.Expr, ...]:
    """The township a model's warnings go to, if its pack routes them to one.

    A query of a pack without townships (`townships: none`) has no `township` column.
    """
    return () if model.township is None else (model.township,)


def hole_columns(model: ir.Model) -> tuple[str, ...]:
    """The columns that hold the values of its message's `{…}`: hole_1 … hole_m."""
    count = sum(isinstance(part, ir.Hole) for part in model.message)
    return tuple(f"hole_{i + 1}" for i in range(count))


def assert_read_only(tree: exp.Expression) -> None:
    """Refuse anything but a SELECT: the engine never writes to the warehouse through a model."""
    if not isinstance(tree, exp.Select | exp.Union):
        raise AssertionError(f"compiled statement is a {type(tree).__name__}, not a SELECT")
    for node in fn.nodes(tree):
        if isinstance(node, _WRITES):
            raise AssertionError(f"compiled statement contains {type(node).__name__}")


def render(tree: exp.Expression, dialect: str, pretty: bool = True) -> str:
    """SQL text of any tree built here, for one dialect."""
    return tree.sql(dialect=dialect, pretty=pretty, unsupported_level=ErrorLevel.RAISE)


def parses_back(sql: str, dialect: str) -> bool:
    """Whether `sql` parses again in `dialect` as one SELECT (used by tests and `compile`)."""
    statements = sqlglot.parse(sql, read=dialect)
    return len(statements) == 1 and isinstance(statements[0], exp.Select | exp.Union)


@dataclass
class _JoinScope:
    """One SELECT being built, for the lookups (`lookup`) compiled into it.

    `aliases` are the tables its FROM reads: a lookup whose key reads one of them
    is joined here (`joins`), one left join per lookup and key (`made`: its alias).
    """

    aliases: set[str]
    joins: list[exp.Join] = field(default_factory=list)
    made: dict[tuple[str, tuple[exp.Expression, ...]], str] = field(default_factory=dict)


class _Compiler:
    """Builds one model's tree; holds the alias frames and what stage 2 substitutes."""

    def __init__(self, pack: ir.CheckedPack, target: Target, model: ir.Model | None = None) -> None:
        self.pack = pack
        self.target = target
        self.dialect = target.dialect
        model = _found_as_columns(model) if model else None
        self.model = model  # type: ignore[assignment]  # None only for the index (engine/score.py)
        self.lets = dict(model.lets) if model else {}
        # The rows its lets bind (`let m = first(from …)`), by the uid of their name, and the
        # names of each one the model reads (each a column of the row's derived table).
        self.bound = {row.binding.uid: row for row in model.bound} if model else {}
        self.bound_reads = {uid: _names_read(model, uid) for uid in self.bound} if model else {}
        # What count(*) counts: every row, or (in the index, over a left join) a column
        # that is null only where there is no row.
        self.star_value: exp.Expression | None = None
        self.frames: list[dict[int, str]] = []
        self.used_aliases: set[str] = set()
        # The columns of the model's derived tables, and the column of each let (see
        # `fresh_column`).
        self.used_columns: set[str] = set()
        self.let_columns: dict[str, str] = {}
        self.arg_frames: list[dict[str, exp.Expression]] = []
        self.group_map: dict[Any, exp.Expression] = {}
        self.agg_map: dict[ir.Agg, exp.Expression] = {}
        # In a grouped model, the column of each group value and each aggregate.
        self.group_columns: dict[Any, str] = {}
        self.agg_columns: dict[ir.Agg, str] = {}
        # Once the model's rows are a derived table (see `rows`), its columns and lets are
        # read from there: (binding uid, column) or let name -> column name, and the alias.
        self.row_columns: dict[tuple[int, str] | str, str] = {}
        self.rows_alias: str | None = None
        self.builders = fn.Builders(self.dialect, self._calendar_count)
        # Each relation the query reads, built once and named in a WITH (see `with_relations`).
        self.relations: dict[str, exp.Expression] = {}
        self.reads_pending = False  # whether the query reads a pre-check's source
        # The SELECTs being built, innermost last, that a lookup's left join can join.
        self.join_scopes: list[_JoinScope] = []

    # ---- names

    def fresh_alias(self, wanted: str) -> str:
        return _fresh(wanted, self.used_aliases)

    def fresh_column(self, wanted: str) -> str:
        """A column name of the model's derived tables that no other column of them has.

        A let keeps its own name (they are named first); the engine's columns
        (`p__investment`, `group_1`, `agg_1` …) give way to a let so named.
        """
        return _fresh(wanted, self.used_columns)

    def alias_of(self, binding: ir.Binding) -> str:
        for frame in reversed(self.frames):
            if binding.uid in frame:
                return frame[binding.uid]
        raise AssertionError(f"binding {binding.alias} is not in scope")

    def table(self, source: str) -> exp.Table:
        pending = self.target.pending
        if pending is not None and pending.source == source:
            self.reads_pending = True
            return table_named(pending_name(source))
        return table_named(self.target.tables.get(source, source))

    def pending_queries(self, pending: Pending) -> tuple[exp.Expression | None, exp.Expression]:
        """The pending rows as a VALUES query, and what is read for their source (`read`).

        Every value but SQLite's is cast to its column's type, so that a column of the
        VALUES that is all null has a type, and the union with the stored rows agrees.
        """
        source = pending.source
        catalog = self.pack.pack.sources[source]
        stored = table_named(pending.stored or self.target.tables.get(source, source))
        read = _pending_read(catalog, pending, stored)
        if pending.rows is None:  # the connection provides them
            return None, read
        columns = list(catalog.columns.values())
        cast = self.dialect != "sqlite"  # SQLite's CAST(… AS DATE) would make a date a number
        rows = [
            exp.Tuple(
                expressions=[
                    exp.cast(self.literal(row[c.name], c.type), _SQL_TYPES[c.type])
                    if cast
                    else self.literal(row[c.name], c.type)
                    for c in columns
                ]
            )
            for row in pending.rows
        ]
        if self.dialect == "sqlite":  # SQLite names a VALUES' columns column1, column2 …
            records = exp.select(
                *(exp.alias_(f"column{i}", c.name) for i, c in enumerate(columns, 1))
            ).from_(exp.Subquery(this=exp.Values(expressions=rows)))
        else:
            aliased = exp.Values(
                expressions=rows,
                alias=exp.TableAlias(
                    this=exp.to_identifier("v"),
                    columns=[exp.to_identifier(c.name) for c in columns],
                ),
            )
            records = exp.select(*(c.name for c in columns)).from_(aliased)
        return records, read

    # ---- constants

    def as_of(self) -> exp.Expression:
        if self.target.as_of is None:
            placeholder = fn.as_of_placeholder(self.dialect)
            return placeholder if self.dialect == "sqlite" else exp.cast(placeholder, "date")
        return fn.date_literal(self.target.as_of.isoformat(), self.dialect)

    def literal(self, value: Any, type_: Type) -> exp.Expression:
        return literal(value, type_, self.dialect)

    def parameter(self, name: str) -> Any:
        if name in self.target.parameters:
            return self.target.parameters[name]
        return self.pack.pack.parameters[name].default

    # ---- queries

    @contextmanager
    def query(self, query: ir.Query, bound: Sequence[ir.BoundRow] = ()) -> Iterator[exp.Select]:
        """A SELECT over `query`'s rows (no projections yet), with its aliases in scope.

        An aggregate written inside is the query's own: `count(*)` in a subquery
        is not the groups' `count(*)`, though the two compare equal. `bound`
        (the model's rows bound by lets) are joined after its sources.
        """
        self.frames.append({})
        scope = _JoinScope(set())
        self.join_scopes.append(scope)
        outer_aggregates, self.agg_map = self.agg_map, {}
        try:
            select = exp.Select()
            conditions: list[exp.Expression] = []
            for src in query.sources:
                alias = self.fresh_alias(src.binding.alias)
                self.frames[-1][src.binding.uid] = alias
                scope.aliases.add(alias)
                relation = self.relation_or_table(src.binding, alias)
                visible = self.visibility(src.binding, alias)
                if src.join is None:
                    select = select.from_(relation, copy=False)
                    if visible is not None:
                        conditions.append(visible)
                else:
                    on = [self.condition(src.on)] if src.on is not None else []
                    if visible is not None:
                        on.append(visible)
                    join = exp.Join(
                        this=relation,
                        on=exp.and_(*on, copy=False) if on else exp.true(),
                        **({"side": "LEFT"} if src.join == "left" else {"kind": "INNER"}),
                    )
                    select = select.join(join, copy=False)
            for row in bound:
                select = select.join(self.bound_join(row), copy=False)
            if query.where is not None:
                conditions.append(self.condition(query.where))
            if conditions:
                select = select.where(exp.and_(*conditions, copy=False), copy=False)
            yield select
            _join_all(select, scope)
        finally:
            self.frames.pop()
            self.join_scopes.pop()
            self.agg_map = outer_aggregates

    def bound_join(self, row: ir.BoundRow) -> exp.Join:
        """`let m = first(from … order by …)` as a LEFT JOIN of its first rows, on its links.

        The query is read once for all the model's rows, not once per row: each
        of its rows is numbered within the values of its links (ROW_NUMBER()
        OVER (PARTITION BY links ORDER BY …)), and number 1 is joined to the
        model's row whose values equal its links. Ties in the written order are
        broken by the values read from the row (nulls last), so every warehouse
        picks a row with the same values. A model row with no such row gets
        nulls, and a null `found` column (`exists(m)`).
        """
        read = self.bound_reads[row.binding.uid]
        found = _found_column(row)
        taken = {name.lower() for name, _ in row.columns} | {found.lower()}
        links = [_fresh(f"link_{i + 1}", taken) for i in range(len(row.links))]
        with self.query(row.query) as select:
            own = [self.value(value) for value, _ in row.links]
            order = [
                exp.Ordered(this=self.value(e), desc=desc, nulls_first=False)
                for e, desc in row.order_by
            ]
            written = [e for e, _ in row.order_by]
            order += [
                exp.Ordered(this=self.value(e), nulls_first=False)
                for e in dict.fromkeys(e for _, e in read)
                if e not in written
            ]
            number = exp.Window(
                this=exp.RowNumber(),
                partition_by=[value.copy() for value in own],
                order=exp.Order(expressions=order),
            )
            named = [*zip(own, links, strict=True), *((self.value(e), n) for n, e in read)]
            ranked = select.select(
                *(exp.alias_(value, name, copy=False) for value, name in named),
                exp.alias_(number, found, copy=False),
                copy=False,
            )
        ranked_alias = self.fresh_alias(f"{row.name}__ranked")
        columns = [*links, *(name for name, _ in read), found]
        first_only = exp.EQ(
            this=exp.column(found, table=ranked_alias), expression=exp.Literal.number(1)
        )
        first = (
            exp.select(*(exp.column(c, table=ranked_alias) for c in columns))
            .from_(exp.alias_(exp.Subquery(this=ranked), ranked_alias, table=True, copy=False))
            .where(first_only)
        )
        alias = self.fresh_alias(row.name)
        self.frames[-1][row.binding.uid] = alias
        on = [
            self.condition(ir.Compare("=", ir.Col(row.binding, name, value.type), theirs))
            for (value, theirs), name in zip(row.links, links, strict=True)
        ]
        return exp.Join(
            this=exp.alias_(exp.Subquery(this=first), alias, table=True, copy=False),
            on=exp.and_(*on, copy=False) if on else exp.true(),
            side="LEFT",
        )

    def relation_or_table(self, binding: ir.Binding, alias: str) -> exp.Expression:
        if not binding.is_relation:
            return exp.alias_(self.table(binding.source), alias, table=True, copy=False)
        if binding.source not in self.relations:
            self.relations[binding.source] = self._relation_query(binding.source)
        return exp.alias_(
            table_named(_relation_name(binding.source)), alias, table=True, copy=False
        )

    def _relation_query(self, name: str) -> exp.Expression:
        """A relation's rows: the union of its branches (relations it reads come first)."""
        relation = self.pack.relations[name]
        # A relation sees nothing of the query using it: neither its aliases nor, when it is
        # first read from a grouped model's groups, their group values and aggregates.
        saved = self.frames, self.group_map, self.agg_map
        self.frames, self.group_map, self.agg_map = [], {}, {}
        try:
            selects = [self._relation_branch(branch) for branch in relation.branches]
        finally:
            self.frames, self.group_map, self.agg_map = saved
        union: exp.Expression = selects[0]
        for other in selects[1:]:
            union = exp.union(union, other, distinct=True)
        return union

    def _relation_branch(self, branch: ir.Branch) -> exp.Select:
        """One part of a relation: its values over its rows, or over its groups."""
        if branch.group_by is not None:
            return self._grouped_branch(branch)
        with self.query(branch.query) as select:
            columns = [exp.alias_(self.value(e), n, copy=False) for n, e in branch.items]
            select = select.select(*columns, copy=False)
            return select.distinct(distinct=branch.distinct, copy=False)

    def _grouped_branch(self, branch: ir.Branch) -> exp.Select:
        """A grouped part of a relation, in three levels as a grouped model is written.

        The rows with their group values and the inputs of each aggregate; the
        groups, with nothing but group values and aggregates (so every warehouse
        accepts them); then the selected values and `having` over those as plain
        columns, where a subquery (`township_name(…)`) may read them.
        """
        assert branch.group_by is not None
        wanted = [e for _, e in branch.items]
        if branch.having is not None:
            wanted.append(branch.having)
        aggregates = list(dict.fromkeys(a for e in wanted for a in self._aggregates(e)))
        rows_alias = self.fresh_alias("relation_rows")
        group_names = [f"group_{i + 1}" for i in range(len(branch.group_by))]
        with self.query(branch.query) as rows:
            columns = [
                exp.alias_(self.value(g), n, copy=False)
                for g, n in zip(branch.group_by, group_names, strict=True)
            ]
            inputs: list[list[str]] = []
            for j, agg in enumerate(aggregates, 1):
                names = [f"agg_{j}_{k}" for k in range(1, len(agg.args) + 1)]
                columns += [
                    exp.alias_(self.value(a), n, copy=False)
                    for a, n in zip(agg.args, names, strict=True)
                ]
                if agg.filter is not None:
                    names.append(f"agg_{j}_when")
                    columns.append(exp.alias_(self.condition(agg.filter), names[-1], copy=False))
                inputs.append(names)
            rows = rows.select(*columns, copy=False)

        def row_column(name: str) -> exp.Column:
            return exp.column(name, table=rows_alias)

        agg_names = [f"agg_{j}" for j in range(1, len(aggregates) + 1)]
        grouped = (
            exp.select(
                *(exp.alias_(row_column(n), n, copy=False) for n in group_names),
                *(
                    exp.alias_(
                        self._plain_aggregate(
                            agg,
                            [row_column(n) for n in names[: len(agg.args)]],
                            row_column(names[-1]) if agg.filter is not None else None,
                        ),
                        agg_name,
                        copy=False,
                    )
                    for agg, names, agg_name in zip(aggregates, inputs, agg_names, strict=True)
                ),
            )
            .from_(exp.alias_(exp.Subquery(this=rows), rows_alias, table=True, copy=False))
            .group_by(*(row_column(n) for n in group_names), copy=False)
        )
        groups_alias = self.fresh_alias("relation_groups")
        saved = self.group_map, self.agg_map
        self.group_map = {
            g: exp.column(n, table=groups_alias)
            for g, n in zip(branch.group_by, group_names, strict=True)
        }
        self.agg_map = {
            a: exp.column(n, table=groups_alias) for a, n in zip(aggregates, agg_names, strict=True)
        }
        try:
            outer = exp.select(*(exp.alias_(self.value(e), n, copy=False) for n, e in branch.items))
            outer = outer.from_(
                exp.alias_(exp.Subquery(this=grouped), groups_alias, table=True, copy=False)
            )
            if branch.having is not None:
                outer = outer.where(self.condition(branch.having), copy=False)
        finally:
            self.group_map, self.agg_map = saved
        return outer.distinct(distinct=branch.distinct, copy=False)

    def with_relations(self, tree: exp.Select) -> exp.Select:
        """`tree` with a WITH naming each relation it reads.

        A relation read in several places (the persons of the two bidders, and
        again in the message) is written, and can be computed, once. It depends
        on nothing but as_of, so it can stand at the top of the query.
        """
        if self.reads_pending and self.target.pending is not None:  # first: relations read it
            source = self.target.pending.source
            records, read = self.pending_queries(self.target.pending)
            if records is not None:
                tree = tree.with_(records_name(source), as_=records, copy=False)
            tree = tree.with_(pending_name(source), as_=read, copy=False)
        for name, query in self.relations.items():
            tree = tree.with_(_relation_name(name), as_=query, copy=False)
        return tree

    def visibility(self, binding: ir.Binding, alias: str) -> exp.Expression | None:
        """The as-of rule: a row whose event_date is after as_of is invisible; null is visible."""
        if binding.is_relation:
            return None
        source = self.pack.pack.sources[binding.source]
        if source.event_date is None:
            return None
        column: exp.Expression = exp.column(source.event_date, table=alias)
        if source.columns[source.event_date].type is Type.TIMESTAMP:
            column = fn.FUNCTIONS["date"].build("date", [column], self.builders)
        return exp.Paren(
            this=exp.or_(
                exp.LTE(this=column, expression=self.as_of()),
                exp.Is(this=column.copy(), expression=exp.null()),
                copy=False,
            )
        )

    @contextmanager
    def lookup_joins(self, alias: str) -> Iterator[_JoinScope]:
        """Lookups compiled inside are joined to the SELECT that reads `alias` (see `_lookupcall`).

        The caller builds that SELECT afterwards and joins what the scope holds to it.
        """
        scope = _JoinScope({alias})
        self.join_scopes.append(scope)
        try:
            yield scope
        finally:
            self.join_scopes.pop()

    def _calendar_count(self, start: exp.Expression, end: exp.Expression) -> exp.Expression:
        """workdays(a, b): ref_calendar days d with a < d <= b that are workdays."""
        alias = self.fresh_alias("cal")
        day = exp.column("day", table=alias)
        select = (
            exp.select(exp.Count(this=exp.Star()))
            .from_(
                exp.alias_(self.table("ref_calendar"), alias, table=True, copy=False), copy=False
            )
            .where(
                exp.and_(
                    exp.GT(this=day, expression=start),
                    exp.LTE(this=day.copy(), expression=end),
                    exp.column("is_workday", table=alias),
                    copy=False,
                ),
                copy=False,
            )
        )
        return exp.Subquery(this=select)

    # ---- the model

    def model_query(self) -> exp.Expression:
        model = self.model
        self.row_where, hoisted = _hoist_outer_calls(model)
        self.row_lets = (*model.lets, *hoisted)
        self.lets.update(hoisted)
        self.let_columns = {n: self.fresh_column(n) for n, _ in self.row_lets}
        if model.group_by is None:
            with self.rows() as select:
                return select.select(*self.outputs(), copy=False)
        return self.grouped_query()

    @contextmanager
    def rows(self, only: set[str] | None = None) -> Iterator[exp.Select]:
        """A SELECT over the model's rows, filtered by its `where` (no projections yet).

        Without lets this is the query itself. With lets, each let is computed
        once, as a column of a derived table (one level per step of lets that use
        lets), instead of being repeated wherever it is used; the parts of
        `where` that need no let filter the rows before any let is computed.
        `only` names the lets the rows need (default: every let that does not
        aggregate); a grouped model computes the others once per group. Lets
        that are only lookups of the rows' own values (`_lookups_as_lets`) need
        no derived table: each is a column of its one left join in the query.
        """
        model = self.model
        aggregating = ir.aggregate_lets(self.row_lets)
        row_lets = tuple(
            (n, e) for n, e in self.row_lets if n not in aggregating and (only is None or n in only)
        )
        if all(isinstance(e, ir.LookupCall) and not _uses_lets(e) for _, e in row_lets):
            with self.query(model.query, model.bound) as select:
                yield select
            return
        conjuncts = _conjuncts(self.row_where)
        early = [c for c in conjuncts if not _uses_lets(c)]
        late = [c for c in conjuncts if _uses_lets(c)]
        bindings = {src.binding.uid: src.binding for src in model.query.sources}
        bindings.update({row.binding.uid: row.binding for row in model.bound})
        top = set(bindings)
        uses: list[Any] = [e for _, e in self.row_lets] + late + self._model_outputs()
        needed = sorted(
            {
                (n.binding.uid, n.binding.alias, n.column)
                for n in ir.walk(uses)
                if isinstance(n, ir.Col) and n.binding.uid in top
            }
        )
        levels, filtered_at = _levels_around(row_lets, self._lets_used(late), bool(late))
        first_rows = ir.Query(model.query.sources, _and_all(early))
        alias = self.fresh_alias("model_rows")
        with self.query(first_rows, model.bound) as layer:
            base: dict[tuple[int, str] | str, str] = {}
            columns = []
            for uid, binding_alias, column in needed:
                name = self.fresh_column(f"{binding_alias}__{column}")
                base[(uid, column)] = name
                table = self.alias_of(bindings[uid])
                columns.append(exp.alias_(exp.column(column, table=table), name, copy=False))
            # Lets of this first level read the sources themselves, not the columns above.
            columns += [
                exp.alias_(self.value(e), self.let_columns[n], copy=False)
                for n, e in row_lets
                if levels[n] == 0
            ]
            layer = layer.select(*columns, copy=False)
        current = exp.alias_(exp.Subquery(this=layer), alias, table=True, copy=False)
        self.rows_alias = alias
        self.row_columns = base
        self.row_columns.update({n: self.let_columns[n] for n, _ in row_lets if levels[n] == 0})
        for level in range(1, max(levels.values()) + 1):
            kept = [exp.column(name, table=alias) for name in self.row_columns.values()]
            with self.lookup_joins(alias) as lookups:
                added = [
                    exp.alias_(self.value(e), self.let_columns[n], copy=False)
                    for n, e in row_lets
                    if levels[n] == level
                ]
            layer = exp.select(*kept, *added).from_(current, copy=False)
            _join_all(layer, lookups)
            if late and level == filtered_at:
                layer = layer.where(self._all_of(late), copy=False)
            alias = self.fresh_alias("model_rows")
            current = exp.alias_(exp.Subquery(this=layer), alias, table=True, copy=False)
            self.rows_alias = alias
            self.row_columns.update(
                {n: self.let_columns[n] for n, _ in row_lets if levels[n] == level}
            )
        select = exp.select().from_(current, copy=False)
        if late and filtered_at > max(levels.values()):
            select = select.where(self._all_of(late), copy=False)
        yield select

    def _all_of(self, conditions: list[ir.Expr]) -> exp.Expression:
        return exp.and_(*(self.condition(c) for c in conditions), copy=False)

    def _model_outputs(self) -> list[Any]:
        model = self.model
        found: list[Any] = [*model.key, *routed_to(model)]
        found += [p.expr for p in model.message if isinstance(p, ir.Hole)]
        found += list(model.group_by or ())
        if model.having is not None:
            found.append(model.having)
        return found

    def outputs(self) -> list[exp.Expression]:
        model = self.model
        columns = [
            exp.alias_(self.value(k), name, copy=False)
            for k, name in zip(model.key, key_columns(model), strict=True)
        ]
        columns += [exp.alias_(self.value(t), "township", copy=False) for t in routed_to(model)]
        holes = [p for p in model.message if isinstance(p, ir.Hole)]
        columns += [
            exp.alias_(self.value(h.expr), name, copy=False)
            for h, name in zip(holes, hole_columns(model), strict=True)
        ]
        return columns

    def grouped_query(self) -> exp.Expression:
        """Rows (group values, aggregate inputs, row numbers for first()) then the groups."""
        model = self.model
        assert model.group_by is not None
        outputs: list[ir.Expr] = [*model.key, *routed_to(model)]
        outputs += [p.expr for p in model.message if isinstance(p, ir.Hole)]
        if model.having is not None:
            outputs.append(model.having)
        aggregates = list(dict.fromkeys(a for e in outputs for a in self._aggregates(e)))

        rows_alias = self.fresh_alias("grouped_rows")
        row_level = self._lets_used([self.row_where, *model.group_by, *aggregates])
        group_names = [self.fresh_column(f"group_{i + 1}") for i in range(len(model.group_by))]
        with self.rows(only=row_level) as inner:
            columns: list[exp.Expression] = []
            group_values = [self.value(g) for g in model.group_by]
            for value, name in zip(group_values, group_names, strict=True):
                columns.append(exp.alias_(value, name, copy=False))
            plan: list[tuple[ir.Agg, list[str], _FirstBy]] = []
            for j, agg in enumerate(aggregates):
                if agg.name in ir.QUANTILES:
                    quantile_columns, names = self._quantile_inputs(j, agg, group_values)
                    columns += quantile_columns
                    plan.append((agg, names, None))
                    continue
                names = []
                for k, arg in enumerate(agg.args):
                    name = self.fresh_column(f"agg_{j + 1}_{k + 1}")
                    columns.append(exp.alias_(self.value(arg), name, copy=False))
                    names.append(name)
                if agg.filter is not None:
                    name = self.fresh_column(f"agg_{j + 1}_when")
                    columns.append(exp.alias_(self.condition(agg.filter), name, copy=False))
                    names.append(name)
                first_by: _FirstBy = None
                if agg.name == "first" and agg.filter is None and fn.ordered_first(self.dialect):
                    first_by = []
                    for k, (e, desc) in enumerate(agg.order_by):
                        name = self.fresh_column(f"agg_{j + 1}_by_{k + 1}")
                        columns.append(exp.alias_(self.value(e), name, copy=False))
                        first_by.append((name, desc))
                elif agg.name == "first":
                    first_by = self.fresh_column(f"agg_{j + 1}_rank")
                    order = [
                        exp.Ordered(this=self.value(e), desc=desc, nulls_first=False)
                        for e, desc in agg.order_by
                    ]
                    window = exp.Window(
                        this=exp.RowNumber(),
                        partition_by=[v.copy() for v in group_values],
                        order=exp.Order(expressions=order),
                    )
                    columns.append(exp.alias_(window, first_by, copy=False))
                plan.append((agg, names, first_by))
            inner = inner.select(*columns, copy=False)

        def grouped_col(name: str) -> exp.Column:
            return exp.column(name, table=rows_alias)

        self.row_columns, self.rows_alias = {}, None  # from here on, only groups are in scope

        # The groups: only group values and aggregates, so that every warehouse accepts it
        # (Spark refuses a correlated subquery or an aggregate inside one in a grouped
        # SELECT); the outputs, `having` and their subqueries read these as plain columns.
        groups_alias = self.fresh_alias("model_groups")
        group_columns = [exp.alias_(grouped_col(g), g, copy=False) for g in group_names]
        agg_names = [self.fresh_column(f"agg_{j + 1}") for j in range(len(plan))]
        aggregate_columns = [
            exp.alias_(
                self._aggregate(agg, [grouped_col(n) for n in names], first_by, rows_alias),
                agg_name,
                copy=False,
            )
            for (agg, names, first_by), agg_name in zip(plan, agg_names, strict=True)
        ]
        groups = (
            exp.select(*group_columns, *aggregate_columns)
            .from_(
                exp.alias_(exp.Subquery(this=inner), rows_alias, table=True, copy=False), copy=False
            )
            .group_by(*(grouped_col(g) for g in group_names), copy=False)
        )
        current = exp.alias_(exp.Subquery(this=groups), groups_alias, table=True, copy=False)
        self.group_columns = dict(zip(model.group_by, group_names, strict=True))
        self.agg_columns = dict(zip(aggregates, agg_names, strict=True))
        self._read_groups_from(groups_alias, [])
        # Lets read outside aggregates (a subquery per group, say) are computed once per
        # group, as columns of one more derived table per step of lets that use lets,
        # instead of once wherever `having` and the message use them.
        group_lets = tuple(self._group_level_lets(outputs))
        having = [model.having] if model.having is not None else []
        filtering = {n for n, _ in self._group_level_lets(having)}
        levels, filtered_at = _levels_around(group_lets, filtering, bool(having))
        computed: list[str] = []
        current_alias = groups_alias
        for level in sorted(set(levels.values())):
            kept = [
                exp.column(name, table=current_alias)
                for name in [*group_names, *agg_names, *(self.let_columns[n] for n in computed)]
            ]
            with self.lookup_joins(current_alias) as lookups:
                added = [
                    exp.alias_(self.value(e), self.let_columns[n], copy=False)
                    for n, e in group_lets
                    if levels[n] == level
                ]
            computed += [n for n, _ in group_lets if levels[n] == level]
            layer = exp.select(*kept, *added).from_(current, copy=False)
            _join_all(layer, lookups)
            if having and level == filtered_at:
                layer = layer.where(self._all_of(having), copy=False)
            current_alias = self.fresh_alias("model_groups")
            current = exp.alias_(exp.Subquery(this=layer), current_alias, table=True, copy=False)
            self._read_groups_from(current_alias, computed)
        outer = exp.select(*self.outputs()).from_(current, copy=False)
        if having and filtered_at > max(levels.values(), default=-1):
            outer = outer.where(self._all_of(having), copy=False)
        return outer

    def _quantile_inputs(
        self, j: int, agg: ir.Agg, partition: list[exp.Expression]
    ) -> tuple[list[exp.Expression], list[str]]:
        """The columns of the rows below the groups that quantile number `j` reads, and their names.

        Its value, null where the aggregate's `where` does not hold (p is a
        constant, written where the quantile is); where the warehouse has no
        ordered aggregate, also each value's rank in its group and the
        quantile's position (functions.quantile_ranks).
        """
        value = self.value(agg.args[0])
        if agg.filter is not None:
            value = exp.Case(ifs=[exp.If(this=self.condition(agg.filter), true=value)])
        names = [self.fresh_column(f"agg_{j + 1}_1")]
        columns = [exp.alias_(value, names[0], copy=False)]
        if fn.ranked_quantile(self.dialect):
            rank, position = fn.quantile_ranks(value, partition, self._fraction(agg))
            names += [self.fresh_column(f"agg_{j + 1}_rank"), self.fresh_column(f"agg_{j + 1}_at")]
            columns += [exp.alias_(rank, names[1]), exp.alias_(position, names[2])]
        return columns, names

    def _read_groups_from(self, alias: str, lets: list[str]) -> None:
        """Group values, aggregates and the lets computed so far are columns of `alias`."""
        self.group_map = {g: exp.column(c, table=alias) for g, c in self.group_columns.items()}
        self.agg_map = {a: exp.column(c, table=alias) for a, c in self.agg_columns.items()}
        self.row_columns = {name: self.let_columns[name] for name in lets}
        self.rows_alias = alias if lets else None

    def _lets_used(self, exprs: list[Any]) -> set[str]:
        """The lets `exprs` read, directly or through other lets."""
        used: set[str] = set()
        pending = [n.name for n in ir.walk(exprs) if isinstance(n, ir.LetRef)]
        while pending:
            name = pending.pop()
            if name not in used:
                used.add(name)
                pending += [n.name for n in ir.walk(self.lets[name]) if isinstance(n, ir.LetRef)]
        return used

    def _group_level_lets(self, outputs: list[ir.Expr]) -> list[tuple[str, ir.Expr]]:
        """The lets `outputs` read outside aggregates, in the model's order."""
        wanted: set[str] = set()

        def visit(expr: Any) -> None:
            if expr in self.group_map or isinstance(expr, ir.Agg):
                return
            if isinstance(expr, ir.LetRef):
                if expr.name not in wanted:
                    wanted.add(expr.name)
                    visit(self.lets[expr.name])
                return
            for child in ir.children(expr):
                visit(child)

        for output in outputs:
            visit(output)
        return [(n, e) for n, e in self.model.lets if n in wanted]

    def _aggregates(self, expr: ir.Expr) -> Iterator[ir.Agg]:
        """Aggregates of the model's own level in `expr`, through lets, not into subqueries."""
        if expr in self.group_map:
            return
        if isinstance(expr, ir.Agg):
            yield expr
            return
        if isinstance(expr, ir.LetRef):
            yield from self._aggregates(self.lets[expr.name])
            return
        if isinstance(expr, ir.Scalar | ir.Exists):
            return
        for child in ir.children(expr):
            yield from self._aggregates(child)

    def _aggregate(
        self,
        agg: ir.Agg,
        args: list[exp.Expression],
        first_by: _FirstBy,
        rows_alias: str,
    ) -> exp.Expression:
        """One aggregate over the grouped rows; `first_by` is what first() orders by (above)."""
        if agg.name in ir.QUANTILES:  # its inputs are _quantile_inputs'
            if len(args) == 3:
                return fn.quantile_from_ranks(*args, self.builders)
            return fn.quantile_of(args[0], self._fraction(agg), self.builders)
        when = args.pop() if agg.filter is not None else None
        if isinstance(first_by, list):
            order = [
                exp.Ordered(this=exp.column(n, table=rows_alias), desc=desc, nulls_first=False)
                for n, desc in first_by
            ]
            return exp.First(this=exp.Order(this=args[0], expressions=order))
        if first_by is not None:
            first_row: exp.Expression = exp.EQ(
                this=exp.column(first_by, table=rows_alias), expression=exp.Literal.number(1)
            )
            if when is not None:
                first_row = exp.and_(first_row, when, copy=False)
            return exp.Max(this=exp.Case(ifs=[exp.If(this=first_row, true=args[0])]))
        return self._plain_aggregate(agg, args, when)

    def _plain_aggregate(
        self, agg: ir.Agg, args: list[exp.Expression], when: exp.Expression | None = None
    ) -> exp.Expression:
        """An aggregate over `args`; with `when`, only over the rows where it holds."""
        if agg.star:
            if when is None and self.star_value is None:
                return exp.Count(this=exp.Star())
            counted = self.star_value.copy() if self.star_value else exp.Literal.number(1)
            if when is None:
                return exp.Count(this=counted)
            return exp.Count(this=exp.Case(ifs=[exp.If(this=when, true=counted)]))
        value = args[0]
        if when is not None:
            value = exp.Case(ifs=[exp.If(this=when, true=value)])
        if agg.distinct:
            value = exp.Distinct(expressions=[value])
        if agg.name == "count":
            return exp.Count(this=value)
        if agg.name == "sum":
            return fn.sum_of(value)
        if agg.name == "avg":
            return fn.average_of(value)
        if agg.name == "min":
            return exp.Min(this=value)
        if agg.name == "max":
            return exp.Max(this=value)
        if agg.name in ir.QUANTILES:
            return fn.quantile_of(value, self._fraction(agg), self.builders)
        raise fn.Unsupported(f"{agg.name}() here", self.dialect)

    def _fraction(self, agg: ir.Agg) -> exp.Expression:
        """The p of a quantile as a number literal; E745 when a value given for it is not in [0, 1].

        The checker has seen a written p to lie in [0, 1] and a parameter's range
        to lie within it; an example may still set the parameter to anything.
        """
        fraction = ir.quantile_fraction(agg)
        if isinstance(fraction, ir.Param):
            value: Any = self.parameter(fraction.name)
            number = None if value is None else Decimal(str(value))
        else:
            number = ir.number_written(fraction)
        if number is None or not 0 <= number <= 1:
            shown = f"${fraction.name} = {value}" if isinstance(fraction, ir.Param) else number
            raise DiagnosticError(
                [
                    Diagnostic(
                        "E745",
                        f"模型 {self.model.id} 的 {agg.name}() 的 p 须在 0 到 1 之间，"
                        f"这里是 {shown}",
                        f"the p of {agg.name}() in model {self.model.id} must lie between 0 and 1, "
                        f"not {shown}",
                        agg.span,
                        ("p 是比例：上四分位数为 0.75",),
                    )
                ]
            )
        return exp.Literal.number(format(number, "f"))

    # ---- expressions

    def condition(self, expr: ir.Expr) -> exp.Expression:
        """A condition; may be NULL in SQL where the language means false (see `_not`)."""
        return self.value(expr)

    def value(self, expr: ir.Expr) -> exp.Expression:
        if self.group_map and expr in self.group_map:
            return self.group_map[expr].copy()
        method = getattr(self, "_" + type(expr).__name__.lower())
        return method(expr)

    def _col(self, e: ir.Col) -> exp.Expression:
        name = self.row_columns.get((e.binding.uid, e.column))
        if name is not None:
            return exp.column(name, table=self.rows_alias)
        return exp.column(e.column, table=self.alias_of(e.binding))

    def _lit(self, e: ir.Lit) -> exp.Expression:
        return self.literal(e.value, e.type)

    def _param(self, e: ir.Param) -> exp.Expression:
        value = self.parameter(e.name)
        if value is None and self.dialect != "sqlite":
            # No threshold: a null of the parameter's type, so that it reads alike everywhere
            # (SQLite's CAST(NULL AS DATE) would be a number; its NULL has no type anyway).
            return exp.cast(exp.null(), _SQL_TYPES[e.type])
        return self.literal(value, e.type)

    def _asof(self, e: ir.AsOf) -> exp.Expression:
        return self.as_of()

    def _arg(self, e: ir.Arg) -> exp.Expression:
        return self.arg_frames[-1][e.name].copy()

    def _letref(self, e: ir.LetRef) -> exp.Expression:
        if e.name in self.row_columns:
            return exp.column(self.row_columns[e.name], table=self.rows_alias)
        return self.value(self.lets[e.name])

    def _func(self, e: ir.Func) -> exp.Expression:
        args = [self.value(a) for a in e.args]
        if e.name == "if":
            args[0] = self.condition(e.args[0])
        if e.name == "concat":
            parts = zip(e.args, args, strict=True)
            args = [fn.as_text(v) if a.type is Type.INT else v for a, v in parts]
        return fn.FUNCTIONS[e.name].build(e.name, args, self.builders)

    def _case(self, e: ir.Case) -> exp.Expression:
        # SQL's CASE takes the first WHEN that is true; a condition that is NULL is not, as
        # the language's two-valued logic says.
        ifs = [exp.If(this=self.condition(c), true=self.value(v)) for c, v in e.branches]
        default = self.value(e.otherwise) if e.otherwise is not None else None
        return exp.Case(ifs=ifs, default=default)

    def _agg(self, e: ir.Agg) -> exp.Expression:
        if e in self.agg_map:
            return self.agg_map[e].copy()
        if e.name == "first":
            raise fn.Unsupported("first() outside a grouped model", self.dialect)
        when = self.condition(e.filter) if e.filter is not None else None
        return self._plain_aggregate(e, [self.value(a) for a in e.args], when)

    def _defcall(self, e: ir.DefCall) -> exp.Expression:
        define = self.pack.defines[e.name]
        frame = {
            name: self.value(arg) for (name, _), arg in zip(define.params, e.args, strict=True)
        }
        self.arg_frames.append(frame)
        try:
            return _paren(self.value(define.body))
        finally:
            self.arg_frames.pop()

    def _lookupcall(self, e: ir.LookupCall) -> exp.Expression:
        """The looked-up value: a column of a left join of the lookup's source on its key.

        Joined to the SELECT whose FROM holds the tables the key reads (the
        innermost being built when it reads none), once per lookup and key there:
        a model calls each lookup on its own rows through a let (`_lookups_as_lets`),
        so its source is joined once however often the model calls it. Rows of the
        source whose event_date is after as_of are invisible, in the join's ON as
        for any joined source. Where no row matches, or its value is null, the
        lookup's default (with the key's values as its parameters), else null.
        """
        lookup = self.pack.lookups[e.name]
        keys = [self.value(a) for a in e.args]
        read = {c.table for key in keys for c in key.find_all(exp.Column)}
        if not self.join_scopes:
            raise AssertionError(f"lookup {e.name} compiled outside any SELECT")
        scope = next(
            (s for s in reversed(self.join_scopes) if s.aliases & read), self.join_scopes[-1]
        )
        made = (e.name, tuple(keys))
        alias = scope.made.get(made)
        if alias is None:
            alias = self.fresh_alias(e.name)
            source = self.pack.pack.sources[lookup.source]
            on: list[exp.Expression] = []
            for column, key in zip(lookup.by, keys, strict=True):
                found: exp.Expression = exp.column(column, table=alias)
                kind = source.columns[column].type
                if kind in (Type.DECIMAL, Type.FLOAT) and not fn.exact_decimals(self.dialect):
                    found = fn.comparable_decimal(found, kind, self.dialect)
                    key = fn.comparable_decimal(key, kind, self.dialect)
                on.append(exp.EQ(this=found, expression=key.copy()))
            visible = self.visibility(ir.Binding(0, alias, lookup.source, False), alias)
            if visible is not None:
                on.append(visible)
            scope.joins.append(
                exp.Join(
                    this=exp.alias_(self.table(lookup.source), alias, table=True, copy=False),
                    on=exp.and_(*on, copy=False),
                    side="LEFT",
                )
            )
            scope.made[made] = alias
        value: exp.Expression = exp.column(lookup.column, table=alias)
        if lookup.default is None:
            return value
        self.arg_frames.append({n: k for (n, _), k in zip(lookup.params, keys, strict=True)})
        try:
            default = self.value(lookup.default)
        finally:
            self.arg_frames.pop()
        return exp.Coalesce(this=value, expressions=[default])

    def _arith(self, e: ir.Arith) -> exp.Expression:
        left, right = self.value(e.left), self.value(e.right)
        if e.type is Type.DATE:
            if e.op == "-":
                right = exp.Neg(this=_paren(right))
            return fn.FUNCTIONS["add_days"].build("add_days", [left, right], self.builders)
        if e.op == "/":
            return fn.divide(_paren(left), right, self.builders)
        node = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}[e.op]
        # `((a + b) + c)` is written `(a + b + c)`: the same, as both operators group to the
        # left, and a long sum no longer opens a bracket per term, which parsers (sqlglot's
        # among them) read by recursion, and so could not read a sum of 50 terms back.
        same_level = (exp.Mul,) if node is exp.Mul else (exp.Add, exp.Sub)
        if isinstance(left, exp.Paren) and isinstance(left.this, same_level):
            left = left.this
        else:
            left = _paren(left)
        return exp.Paren(this=node(this=left, expression=_paren(right)))

    def _neg(self, e: ir.Neg) -> exp.Expression:
        return exp.Neg(this=_paren(self.value(e.operand)))

    def _compared(self, *operands: ir.Expr) -> list[exp.Expression]:
        """Operands of a comparison, taken to fixed places where decimals are binary floats."""
        values = [self.value(o) for o in operands]
        if fn.exact_decimals(self.dialect) or all(
            o.type not in (Type.DECIMAL, Type.FLOAT) for o in operands
        ):
            return values
        return [
            fn.comparable_decimal(v, o.type, self.dialect)
            for v, o in zip(values, operands, strict=True)
        ]

    def _compare(self, e: ir.Compare) -> exp.Expression:
        left, right = self._compared(e.left, e.right)
        if e.op == "!=":
            # "is not" holds for a missing value: a project with no status is not 终止.
            parts: list[exp.Expression] = [exp.NEQ(this=left, expression=right)]
            for side, node in ((e.left, left), (e.right, right)):
                if not _never_null(side):
                    parts.append(exp.Is(this=node.copy(), expression=exp.null()))
            if len(parts) == 1:
                return parts[0]
            return fn.within_size(exp.Paren(this=exp.or_(*parts, copy=False)), "!=", self.dialect)
        node = {"=": exp.EQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[e.op]
        return node(this=left, expression=right)

    def _logic(self, e: ir.Logic) -> exp.Expression:
        items = [self.condition(i) for i in e.items]
        joined = exp.and_(*items, copy=False) if e.op == "and" else exp.or_(*items, copy=False)
        return exp.Paren(this=joined)

    def _not(self, e: ir.Not) -> exp.Expression:
        # A condition on a missing value is false, so its negation is true: NOT over NULL
        # would stay NULL in SQL, hence COALESCE unless the operand can't be NULL.
        inner = self.condition(e.operand)
        if not _never_null(e.operand):
            inner = exp.Coalesce(this=inner, expressions=[exp.false()])
        return exp.Not(this=_paren(inner))

    def _isnull(self, e: ir.IsNull) -> exp.Expression:
        test = exp.Is(this=self.value(e.operand), expression=exp.null())
        return exp.Not(this=test) if e.negated else test

    def _in(self, e: ir.In) -> exp.Expression:
        operand = self.value(e.operand)
        test = exp.In(this=operand, expressions=[self.value(i) for i in e.items])
        if not e.negated:
            return test
        result: exp.Expression = exp.Not(this=test)
        if not _never_null(e.operand):
            result = exp.Paren(
                this=exp.or_(exp.Is(this=operand.copy(), expression=exp.null()), result, copy=False)
            )
            fn.within_size(result, "not in", self.dialect)
        return result

    def _inparam(self, e: ir.InParam) -> exp.Expression:
        """`x in $list`: `in (…)` with the list in effect written out, as if typed in the rule.

        The items are the deployment's when it overrides the list, else the
        pack's, like every parameter (`parameter`). Nothing is on an empty list,
        not even null: `in` is false and `not in` true (SQL has no `in ()`).
        """
        items = self.parameter(e.param.name)
        if not items:
            return exp.true() if e.negated else exp.false()
        written = tuple(ir.Lit(item, e.param.type) for item in items)
        return self._in(ir.In(e.operand, written, e.negated, span=e.span))

    def _valueof(self, e: ir.ValueOf) -> exp.Expression:
        """`value_of($map, key, default)`: `CASE key WHEN 'k' THEN v … ELSE default END`.

        The key is written once, compared with each key of the map in effect;
        a null key equals none of them and gives the default. An empty map is
        its default.
        """
        default = self.value(e.default)
        pairs = self.parameter(e.param.name)
        if not pairs:
            return default
        return exp.Case(
            this=self.value(e.key),
            ifs=[
                exp.If(this=self.literal(key, Type.STRING), true=self.literal(v, e.param.type))
                for key, v in pairs
            ],
            default=default,
        )

    def _between(self, e: ir.Between) -> exp.Expression:
        operand, low, high = self._compared(e.operand, e.low, e.high)
        return exp.Between(this=operand, low=low, high=high)

    def _exists(self, e: ir.Exists) -> exp.Expression:
        branches = []
        for query in _exists_branches(e.query):
            with self.query(query) as select:
                branches.append(exp.Exists(this=select.select(exp.Literal.number(1), copy=False)))
        if len(branches) == 1:
            return branches[0]
        return exp.Paren(this=exp.or_(*branches, copy=False))

    def _scalar(self, e: ir.Scalar) -> exp.Expression:
        if fn.ranked_quantile(self.dialect) and any(
            a.name in ir.QUANTILES for a in _own_aggregates(e.select)
        ):
            return self._ranked_scalar(e)
        with self.query(e.query) as select:
            return exp.Subquery(this=select.select(self.value(e.select), copy=False))

    def _ranked_scalar(self, e: ir.Scalar) -> exp.Expression:
        """A subquery with a quantile where the warehouse has no ordered aggregate: two levels.

        Its rows, with the inputs of each of its aggregates and each quantile's
        ranks (as the rows of a grouped model have, partitioned by nothing),
        then the select over them, each aggregate reading its columns.
        """
        aggregates = list(dict.fromkeys(_own_aggregates(e.select)))
        rows_alias = self.fresh_alias("ranked_rows")
        with self.query(e.query) as rows:
            columns: list[exp.Expression] = []
            plan: list[tuple[ir.Agg, list[str]]] = []
            for j, agg in enumerate(aggregates):
                if agg.name in ir.QUANTILES:
                    quantile_columns, names = self._quantile_inputs(j, agg, [])
                    columns += quantile_columns
                else:
                    inputs = [self.value(a) for a in agg.args]
                    if agg.filter is not None:
                        inputs.append(self.condition(agg.filter))
                    names = [self.fresh_column(f"agg_{j + 1}_{k + 1}") for k in range(len(inputs))]
                    columns += [
                        exp.alias_(v, n, copy=False) for v, n in zip(inputs, names, strict=True)
                    ]
                plan.append((agg, names))
            rows = rows.select(*columns, copy=False)
            self.agg_map = {
                agg: self._aggregate(
                    agg, [exp.column(n, table=rows_alias) for n in names], None, rows_alias
                )
                for agg, names in plan
            }
            value = self.value(e.select)
        ranked = exp.alias_(exp.Subquery(this=rows), rows_alias, table=True, copy=False)
        return exp.Subquery(this=exp.select(value).from_(ranked, copy=False))


def _own_aggregates(expr: Any) -> Iterator[ir.Agg]:
    """The aggregates of a subquery's select at its own level (not of subqueries inside)."""
    if isinstance(expr, ir.Agg):
        yield expr
        return
    if isinstance(expr, ir.Scalar | ir.Exists | ir.LetRef):
        return
    for child in ir.children(expr):
        yield from _own_aggregates(child)


def _join_all(select: exp.Select, scope: _JoinScope) -> None:
    """Join the lookups of `scope` to `select`, after its own sources."""
    for join in scope.joins:
        select.join(join, copy=False)


def _lookups_as_lets(model: ir.Model, pack: ir.CheckedPack) -> ir.Model:
    """`model` with each lookup it calls on its own rows made a let: one left join per model.

    A let is computed once, as a column of the model's rows (or groups, for a
    lookup of an aggregate), wherever it is read: so however often the model
    calls township_name(l.township) — in `where`, lets, the message — its
    source is joined once. Shared definitions that call a lookup are written
    out in place first (their arguments for their parameters), so that their
    lookups are the model's too. A lookup inside a subquery is the model's when
    its key reads none of the subquery's rows and no aggregate of them; one
    whose key reads them stays, and is joined inside that subquery. A key that
    holds a subquery is a let of its own, read by the lookup's let: a join is
    made on columns, not on a subquery (Spark refuses a correlated one there).
    """
    uses = _definitions_calling_lookups(pack)
    body = (model.lets, model.query.where, model.group_by, model.having, model.key)
    outputs = (model.township, model.message)
    if not any(
        isinstance(n, ir.LookupCall) or (isinstance(n, ir.DefCall) and n.name in uses)
        for n in ir.walk((body, outputs))
    ):
        return model
    taken = {name for name, _ in model.lets}
    lets: list[tuple[str, ir.Expr]] = []
    made: dict[ir.LookupCall, ir.LetRef] = {}

    def fresh(wanted: str) -> str:
        name = next(f"{wanted}__{n}" for n in itertools.count(1) if f"{wanted}__{n}" not in taken)
        taken.add(name)
        return name

    def let_of(call: ir.LookupCall) -> ir.LetRef:
        if call not in made:
            keys = []
            for key in call.args:
                if any(isinstance(n, ir.Exists | ir.Scalar) for n in ir.walk(key)):
                    name = fresh(f"{call.name}__key")
                    lets.append((name, key))
                    key = ir.LetRef(name, key.type, key.span)
                keys.append(key)
            name = fresh(call.name)
            lets.append((name, dataclasses.replace(call, args=tuple(keys))))
            made[call] = ir.LetRef(name, call.type, call.span)
        return made[call]

    def lifted(node: Any, inner: frozenset[int]) -> Any:
        """`node` with its lookups on the model's rows as lets; `inner`: subqueries' bindings."""

        def replace(item: Any) -> Any:
            if isinstance(item, ir.DefCall) and item.name in uses:
                define = pack.defines[item.name]
                values = dict(zip((n for n, _ in define.params), item.args, strict=True))
                body = ir.rewrite(
                    define.body, lambda n: values[n.name] if isinstance(n, ir.Arg) else None
                )
                return lifted(body, inner)
            if isinstance(item, ir.Exists | ir.Scalar):
                own = inner | {src.binding.uid for src in item.query.sources}
                query = ir.Query(
                    tuple(
                        dataclasses.replace(src, on=lifted(src.on, own))
                        for src in item.query.sources
                    ),
                    lifted(item.query.where, own),
                )
                if isinstance(item, ir.Exists):
                    return dataclasses.replace(item, query=query)
                return dataclasses.replace(item, query=query, select=lifted(item.select, own))
            if isinstance(item, ir.LookupCall):
                call = dataclasses.replace(item, args=lifted(item.args, inner))
                if inner and (
                    any(isinstance(n, ir.Col) and n.binding.uid in inner for n in ir.walk(call))
                    or any(ir.has_aggregate(a) for a in call.args)
                ):
                    return call  # read in its subquery, joined there
                return let_of(call)
            return None

        return ir.rewrite(node, replace)

    for name, expr in model.lets:
        expr = lifted(expr, frozenset())
        lets.append((name, expr))
    where, group_by, having, key, township, message = lifted(
        (model.query.where, model.group_by, model.having, model.key, model.township, model.message),
        frozenset(),
    )
    return dataclasses.replace(
        model,
        query=ir.Query(model.query.sources, where),
        lets=tuple(lets),
        group_by=group_by,
        having=having,
        key=key,
        township=township,
        message=message,
    )


def _definitions_calling_lookups(pack: ir.CheckedPack) -> set[str]:
    """The shared definitions that call a lookup, directly or through one another."""
    calling: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, define in pack.defines.items():
            if name not in calling and any(
                isinstance(n, ir.LookupCall) or (isinstance(n, ir.DefCall) and n.name in calling)
                for n in ir.walk(define.body)
            ):
                calling.add(name)
                changed = True
    return calling


def _hoist_outer_calls(model: ir.Model) -> tuple[ir.Expr | None, list[tuple[str, ir.Expr]]]:
    """The model's `where` with function calls on its own rows taken out of subqueries.

    In `not exists(town_decision d where … not blank(p.contract_id) …)` the
    warehouse would evaluate blank(p.contract_id) once for every pair of a
    payment and a decision; as a let of the model's rows (`hoisted__1`) it is
    evaluated once per payment, and the subquery reads the column. A call is
    taken out when every column it reads is of the model's own sources and it
    holds no subquery, aggregate or let. Returns the new `where` and the lets.
    """
    top = {src.binding.uid for src in model.query.sources}
    hoisted: dict[ir.Expr, str] = {}
    # Names apart from the model's own lets (one may be called hoisted__1).
    taken = {name for name, _ in model.lets}
    free_names = (f"hoisted__{n}" for n in itertools.count(1) if f"hoisted__{n}" not in taken)

    def on_own_rows(expr: ir.Expr) -> bool:
        nodes = list(ir.walk(expr))
        columns = [n for n in nodes if isinstance(n, ir.Col)]
        opaque = (ir.Exists, ir.Scalar, ir.Agg, ir.LetRef, ir.Arg, ir.DefCall, ir.LookupCall)
        return (
            bool(columns)
            and all(c.binding.uid in top for c in columns)
            and not any(isinstance(n, opaque) for n in nodes)
        )

    def inside_subquery(node: Any) -> Any:
        if isinstance(node, ir.Func) and on_own_rows(node):
            if node not in hoisted:
                hoisted[node] = next(free_names)
            name = hoisted[node]
            return ir.LetRef(name, node.type, node.span)
        return None

    def at_top(node: Any) -> Any:
        if isinstance(node, ir.Exists | ir.Scalar):
            parts = ("query", "select") if isinstance(node, ir.Scalar) else ("query",)
            changes = {part: ir.rewrite(getattr(node, part), inside_subquery) for part in parts}
            return dataclasses.replace(node, **changes)
        return None

    where = ir.rewrite(model.query.where, at_top)
    return where, [(name, expr) for expr, name in hoisted.items()]


def _found_column(row: ir.BoundRow) -> str:
    """The column of a bound row's derived table that is null where there is no row."""
    return _fresh("found", {name.lower() for name, _ in row.columns})


def _found_as_columns(model: ir.Model) -> ir.Model:
    """`model` with each `exists(m)` written as `m.found is not null` (see bound_join).

    Then a bound row's columns, `found` among them, travel through the
    model's derived tables like any other column of its rows.
    """
    if not model.bound:
        return model
    found = {row.binding.uid: _found_column(row) for row in model.bound}

    def as_column(node: Any) -> Any:
        if isinstance(node, ir.RowFound):
            column = ir.Col(node.binding, found[node.binding.uid], Type.INT, node.span)
            return ir.IsNull(column, negated=True, span=node.span)
        return None

    parts = ("lets", "query", "group_by", "having", "key", "township", "message")
    changes = {part: ir.rewrite(getattr(model, part), as_column) for part in parts}
    return dataclasses.replace(model, **changes)


def _names_read(model: ir.Model, uid: int) -> list[tuple[str, ir.Expr]]:
    """The values of bound row `uid` that `model` reads (`m.name`), in the row's order."""
    row = next(r for r in model.bound if r.binding.uid == uid)
    body = (model.lets, model.query, model.group_by, model.having, model.key)
    body += (model.township, model.message)
    read = {n.column for n in ir.walk(body) if isinstance(n, ir.Col) and n.binding.uid == uid}
    return [(name, value) for name, value in row.columns if name in read]


def _fresh(wanted: str, used: set[str]) -> str:
    """`wanted`, else `wanted_2`, `wanted_3` …: a name not in `used` (which it joins).

    Compared in lower case: DuckDB, SQLite and Spark read quoted names without
    case too, so lets `a` and `A` would be one column there.
    """
    name, n = wanted, 1
    while name.lower() in used:
        n += 1
        name = f"{wanted}_{n}"
    used.add(name.lower())
    return name


def _relation_name(relation: str) -> str:
    """The WITH name of a relation: apart from any source table's name."""
    return f"{relation}__relation"


def _has_a_record(source: Source, alias: str) -> exp.Exists:
    """Whether the stored row `alias` is amended: a pending row has its key."""
    same_key = exp.and_(
        *(exp.column(k, table="r").eq(exp.column(k, table=alias)) for k in source.key)
    )
    return exp.Exists(
        this=exp.select("1")
        .from_(exp.alias_(table_named(records_name(source.name)), "r", table=True))
        .where(same_key)
    )


def _touched(source: Source, within: tuple[str, ...], stored: exp.Table) -> exp.Expression:
    """The values of `within` a pre-check touches: its rows', and the stored rows' it amends.

    An amendment may move a row from one value to another: both change.
    """
    return exp.union(
        exp.select(*within).from_(table_named(records_name(source.name))),
        exp.select(*(exp.column(c, table="s") for c in within))
        .from_(exp.alias_(stored.copy(), "s", table=True))
        .where(_has_a_record(source, "s")),
        distinct=True,
    )


def _within_touched(
    source: Source, within: tuple[str, ...], stored: exp.Table, alias: str
) -> exp.Exists:
    """Whether row `alias`'s values of `within` are touched by the pre-check (null as a value)."""
    same = exp.and_(
        *(
            exp.NullSafeEQ(this=exp.column(c, table="t"), expression=exp.column(c, table=alias))
            for c in within
        )
    )
    touched = exp.alias_(exp.Subquery(this=_touched(source, within, stored)), "t", table=True)
    return exp.Exists(this=exp.select("1").from_(touched).where(same))


def _pending_read(source: Source, pending: Pending, stored: exp.Table) -> exp.Expression:
    """What a query reads for the pre-check's source, as `pending.read` and `.within` say."""
    columns = list(source.columns)
    stored_rows = exp.select(*(exp.column(c, table="s") for c in columns)).from_(
        exp.alias_(stored.copy(), "s", table=True)
    )
    if pending.read == "now":
        read: exp.Expression = stored_rows
    else:
        added = exp.select(*columns).from_(table_named(records_name(source.name)))
        kept = stored_rows.where(exp.not_(_has_a_record(source, "s")))
        read = exp.union(kept if pending.amends else stored_rows, added, distinct=False)
    if not pending.within:
        return read
    return (
        exp.select(*(exp.column(c, table="p") for c in columns))
        .from_(exp.alias_(exp.Subquery(this=read), "p", table=True))
        .where(_within_touched(source, pending.within, stored, "p"))
    )


def literal(value: Any, type_: Type, dialect: str) -> exp.Expression:
    """A value of a language type as a SQL literal of `dialect`."""
    if value is None:
        return exp.null()
    if type_ is Type.BOOL:
        return exp.Boolean(this=bool(value))
    if type_ is Type.STRING:
        return exp.Literal.string(str(value))
    if type_ is Type.DATE:
        return fn.date_literal(value.isoformat(), dialect)
    if type_ is Type.TIMESTAMP:
        text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
        return fn.timestamp_literal(text, dialect)
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    if text.startswith("-"):
        return exp.Neg(this=exp.Literal.number(text[1:]))
    return exp.Literal.number(text)


def _equal_to_one_of(
    source: Source, column: str, values: Iterable[Any], dialect: str
) -> exp.Expression:
    """Whether row `s`'s `column` is one of `values`, literals a warehouse checks as it scans.

    A null among the values matches a null.
    """
    values = set(values)
    present = sorted(v for v in values if v is not None)
    kind = source.columns[column].type
    conditions: list[exp.Expression] = []
    if present:
        conditions.append(
            exp.column(column, table="s").isin(*(literal(v, kind, dialect) for v in present))
        )
    if None in values:
        conditions.append(exp.column(column, table="s").is_(exp.null()))
    return exp.or_(*conditions) if conditions else exp.false()


def stored_rows_with(
    pack: ir.CheckedPack,
    source: str,
    values: Mapping[str, Iterable[Any]],
    dialect: str,
    tables: Mapping[str, str],
    columns: Sequence[str] | None = None,
) -> exp.Query:
    """The stored rows of `source` that have in some column one of the values given for it.

    All columns of them, or `columns`. A pre-check reads the rows its records
    amend so (by key), and copies the rows that can matter to a narrowed model
    into a small table before the models run (DuckDB: a temporary one,
    `Pending.stored`): a warehouse that pushes a model's filters down into the
    scan of the whole table would otherwise compute them on every row first.
    One scan per column, each filtering on literals as it reads.
    """
    catalog = pack.pack.sources[source]
    stored = table_named(tables.get(source, source))
    scans = [
        exp.select(*(exp.column(c, table="s") for c in (columns or catalog.columns)))
        .from_(exp.alias_(stored.copy(), "s", table=True))
        .where(_equal_to_one_of(catalog, column, column_values, dialect))
        for column, column_values in values.items()
    ]
    union: exp.Query = scans[0]
    for scan in scans[1:]:
        union = exp.union(union, scan, distinct=True)
    return union


def records_name(source: str) -> str:
    """The name of a pre-check's rows for `source`: a WITH, or a relation the connection has."""
    return f"{source}__records"


def touched_name(source: str) -> str:
    """The name under which a pre-check's touched stored rows are read (`Pending.stored`)."""
    return f"{source}__touched"


def pending_name(source: str) -> str:
    """The WITH name of `source` as a pre-check reads it (engine/precheck.py)."""
    return f"{source}__pending"


# The warehouse type of each catalog type, for a pre-check's rows (sqlglot spells it
# for each dialect).
_SQL_TYPES = {
    Type.STRING: exp.DataType.build("TEXT"),
    Type.INT: exp.DataType.build("BIGINT"),
    Type.DECIMAL: exp.DataType.build("DECIMAL(18, 2)"),
    Type.FLOAT: exp.DataType.build("DOUBLE"),
    Type.DATE: exp.DataType.build("DATE"),
    Type.TIMESTAMP: exp.DataType.build("TIMESTAMP"),
    Type.BOOL: exp.DataType.build("BOOLEAN"),
}


def _paren(e: exp.Expression) -> exp.Expression:
    simple = exp.Column | exp.Literal | exp.Paren | exp.Func | exp.Subquery | exp.Cast | exp.Null
    return e if isinstance(e, simple) else exp.Paren(this=e)


def _never_null(e: ir.Expr) -> bool:
    """Whether a condition or value can never be NULL in the SQL we generate for it."""
    if isinstance(e, ir.Exists | ir.IsNull | ir.Not | ir.AsOf):
        return True
    if isinstance(e, ir.Lit):
        return e.value is not None
    if isinstance(e, ir.Param):
        return not e.nullable
    if isinstance(e, ir.Logic):
        return all(_never_null(i) for i in e.items)
    if isinstance(e, ir.Compare) and e.op == "!=":
        return True
    if isinstance(e, ir.Func) and e.name == "blank":
        return True
    if isinstance(e, ir.Agg) and e.name in ("count", "sum"):
        return True
    return False


_conjuncts = ir.conjuncts


# The most branches an `exists` is split into (see _exists_branches); the pack's have two.
MAX_EXISTS_BRANCHES = 8


def _exists_branches(query: ir.Query) -> list[ir.Query]:
    """`exists(… where a and (b or c))` as `exists(… where a and b) or exists(… where a and c)`.

    The two mean the same (a row meets a and (b or c) exactly when it meets a
    and b or a and c). But an equality with the outer row inside an `or`
    cannot become a join key, so the warehouse compares every pair of rows
    that the other keys let through: FIN04's `d.contract_id = p.contract_id
    or (…)` paired every large payment with every decision of its township
    (6.1 s at 100 times the demo data; 0.17 s split). So the first `or` with
    such an equality in one of its branches is split, one level. An `or` of
    other conditions (HOU03's `moved_out_on is null or moved_out_on > …`)
    is kept: splitting it would only read the table twice. So is an `or` of
    more than MAX_EXISTS_BRANCHES conditions: each branch repeats the whole
    subquery, and forty of them took seconds to compile for every dialect.
    """
    own = {src.binding.uid for src in query.sources}
    conjuncts = _conjuncts(query.where)

    def joins_outer_row(condition: ir.Expr) -> bool:
        """Whether one of its conjuncts is `column = column`, one inside, one outside."""
        return any(
            isinstance(c, ir.Compare)
            and c.op == "="
            and isinstance(c.left, ir.Col)
            and isinstance(c.right, ir.Col)
            and (c.left.binding.uid in own) != (c.right.binding.uid in own)
            for c in _conjuncts(condition)
        )

    for i, conjunct in enumerate(conjuncts):
        if (
            isinstance(conjunct, ir.Logic)
            and conjunct.op == "or"
            and len(conjunct.items) <= MAX_EXISTS_BRANCHES
        ):
            if any(joins_outer_row(item) for item in conjunct.items):
                rest = conjuncts[:i] + conjuncts[i + 1 :]
                return [ir.Query(query.sources, _and_all([*rest, item])) for item in conjunct.items]
    return [query]


_and_all = ir.and_all


def _uses_lets(expr: Any) -> bool:
    return any(isinstance(n, ir.LetRef) for n in ir.walk(expr))


def _levels_around(
    lets: tuple[tuple[str, ir.Expr], ...], filtering: set[str], filters: bool
) -> tuple[dict[str, int], int]:
    """Levels of lets around a filter, and the level at which the filter applies.

    The lets the filter reads (`filtering`) come first; the others (read only
    by the message, say) come after it, so they are computed only for the
    rows or groups that are left.
    """
    levels = _let_levels(tuple((n, e) for n, e in lets if n in filtering))
    filtered_at = max(levels.values(), default=-1) + 1 if filters else 0
    afterwards = _let_levels(tuple((n, e) for n, e in lets if n not in filtering))
    levels.update({n: filtered_at + level for n, level in afterwards.items()})
    return levels, filtered_at


def _let_levels(lets: tuple[tuple[str, ir.Expr], ...]) -> dict[str, int]:
    """How many lets deep each let is: 0 when it uses none, else one more than those it uses."""
    levels: dict[str, int] = {}
    for name, expr in lets:
        used = [n.name for n in ir.walk(expr) if isinstance(n, ir.LetRef)]
        levels[name] = 1 + max((levels.get(u, -1) for u in used), default=-1)
    return levels
