"""Stage 3, compile: a checked model to one sqlglot SELECT tree, and that tree to SQL text.

The contract's common meaning is applied here once, for every model:
the as-of rule (rows whose event_date is after as_of are invisible), two-
valued logic (a comparison with null is false; `!=` and `not in` hold for
null), sums over no rows being 0, true division. What functions mean is in
engine/compiler/functions.py.

A model compiles to a query whose columns are `key_1 … key_n`, `township`
(not in a pack without townships), `amount` (only for a model with an
`amount` clause) and `hole_1 … hole_m` (the values of the
message's `{…}`); the runner turns
those rows into warnings. A grouped model compiles to two levels: the rows
with their group values and what the aggregates need, then the groups.

The model planner is here; expressions, the subqueries and relations they
read, and aggregates are compiled by engine/compiler/expressions.py, which the index
planner (engine/index/score.py) builds on too. `Target` and `Pending` (what a
query is compiled for) are in engine/compiler/target.py.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from adapters.names import quote_identifiers
from dsl import ir
from dsl.diagnostics import Diagnostic, DiagnosticError
from dsl.messages import diagnostic
from dsl.node import rewrite, walk
from dsl.types import Type
from engine.compiler import functions as fn
from engine.compiler import placeholders
from engine.compiler.decorrelate import decorrelation
from engine.compiler.dialects import DIALECTS
from engine.compiler.expressions import (
    CompileScope,
    ExpressionCompiler,
    ExtraJoin,
    FirstBy,
    JoinScope,
    fresh,
    level_aggregates,
)
from engine.compiler.target import Pending, Target

# What other modules import from here. Target and Pending are engine/compiler/target.py's, named
# here too: the engine's modules and tests import them with compile_model.
__all__ = [
    "AMOUNT_COLUMN",
    "DIALECTS",
    "CompiledModel",
    "Pending",
    "Target",
    "assert_read_only",
    "compile_model",
    "hole_columns",
    "key_columns",
    "of_amount",
    "parses_back",
    "render",
    "routed_to",
]


# The column of a model's query that holds its `amount` (涉及金额), when it has one.
AMOUNT_COLUMN = "amount"

# What E702 says when sqlglot ran out of Python's recursion (see _too_large).
_DEEP = "expressions nested too deeply"

# What a statement may contain: a read-only query. Anything else is a bug in the compiler.
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Command,
           exp.Merge, exp.TruncateTable)  # fmt: skip


@dataclass(frozen=True)
class CompiledModel:
    """One model's query for one warehouse, and what its columns mean."""

    model: ir.Model
    dialect: str
    tree: exp.Expression
    # The names of its placeholders (engine/compiler/placeholders.py), the as-of day first;
    # on PostgreSQL in the order of their numbers, on SQLite see `bound`.
    placeholders: tuple[str, ...] = ()
    # The parameters whose values are written into it (the pack's defaults in compiled/).
    written: frozenset[str] = frozenset()

    def bound(self, sql: str) -> tuple[str, ...]:
        """The placeholders' names in the order the warehouse binds them to `sql` (its text)."""
        return placeholders.in_text_order(sql, self.dialect, self.placeholders)

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
    return diagnostic(
        "E700",
        model.span,
        hints=["换用该数据仓库支持的写法，或不在此仓库上运行该模型"],
        id=model.id,
        dialect=dialect,
        construct=construct,
    )


def _too_large(model: ir.Model, construct: str, dialect: str) -> Diagnostic:
    """A model whose SQL nests deeper, or grows larger, than can be written out.

    sqlglot builds and writes SQL by recursion, a few Python frames per level
    of an expression, and Python stops at about a thousand; and a function
    that a warehouse writes with an argument twice doubles the SQL at each
    level of calls nested in it (functions.MAX_SQL_NODES). A let is a column
    of its own, read by name, so splitting the expression into lets helps.
    """
    return diagnostic(
        "E702",
        model.span,
        hints=["把嵌套很深或很长的表达式拆成几个 let，每个 let 算其中一段"],
        id=model.id,
        dialect=dialect,
        construct=construct,
    )


def compile_model(model: ir.Model, pack: ir.CheckedPack, target: Target) -> CompiledModel:
    """Build the query of `model` for `target`; raise DiagnosticError if the warehouse can't."""
    if target.dialect not in DIALECTS:
        raise DiagnosticError(
            [
                diagnostic(
                    "E701", None, hints=["可用方言：" + "、".join(DIALECTS)], dialect=target.dialect
                )
            ]
        )
    try:
        planner = _ModelPlanner(pack, target, _lookups_as_lets(model, pack))
        tree = planner.model_query()
    except fn.Unsupported as exc:
        raise DiagnosticError([_unsupported(model, exc.construct, exc.dialect)]) from None
    except fn.TooLarge as exc:
        raise DiagnosticError([_too_large(model, exc.construct, exc.dialect)]) from None
    except RecursionError:
        raise DiagnosticError([_too_large(model, _DEEP, target.dialect)]) from None
    assert_read_only(tree)
    tree = quote_identifiers(tree, target.dialect)
    bound = placeholders.numbered(tree, target.dialect)
    written = frozenset(planner.expressions.written)
    return CompiledModel(model, target.dialect, tree, bound, written)


def key_columns(model: ir.Model) -> tuple[str, ...]:
    """The columns of a model's query that hold its key: key_1 … key_n."""
    return tuple(f"key_{i + 1}" for i in range(len(model.key)))


def routed_to(model: ir.Model) -> tuple[ir.Expr, ...]:
    """The township a model's warnings go to, if its pack routes them to one.

    A query of a pack without townships (`townships: none`) has no `township` column.
    """
    return () if model.township is None else (model.township,)


def of_amount(model: ir.Model) -> tuple[ir.Expr, ...]:
    """The money a model's warnings involve (its `amount`), if it says; like routed_to."""
    return () if model.amount is None else (model.amount,)


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


class _ModelPlanner:
    """Plans one model's query on the expression compiler: rows, lets, bound rows, groups.

    Holds what is the model's own: its lets and the column of each (see
    `rows`), its bound rows, and in a grouped model the column of each group
    value and aggregate. Every expression is compiled by `self.expressions`,
    with the scope of the level it is read at.
    """

    def __init__(self, pack: ir.CheckedPack, target: Target, model: ir.Model) -> None:
        model = _found_as_columns(model)
        self.model = model
        self.expressions = ExpressionCompiler(pack, target, model.id)
        self.dialect = target.dialect
        self.lets = dict(model.lets)
        # The rows its lets bind (`let m = first(from …)`), by the uid of their name, and the
        # names of each one the model reads (each a column of the row's derived table).
        self.bound = {row.binding.uid: row for row in model.bound}
        self.bound_reads = {uid: _names_read(model, uid) for uid in self.bound}
        # The column of each let in the model's derived tables (see `fresh_column`).
        self.let_columns: dict[str, str] = {}
        # In a grouped model, the column of each group value and each aggregate.
        self.group_columns: dict[Any, str] = {}
        self.agg_columns: dict[ir.Agg, str] = {}

    def model_query(self) -> exp.Expression:
        """The model's query, with a WITH for each relation it reads."""
        model = self.model
        self.row_where, hoisted = _hoist_outer_calls(model)
        self.row_lets = (*model.lets, *hoisted)
        self.lets.update(hoisted)
        self.let_columns = {n: self.expressions.fresh_column(n) for n, _ in self.row_lets}
        top = CompileScope(lets=self.lets)
        if model.group_by is None:
            with self.rows(top) as (select, scope):
                tree = select.select(*self.outputs(scope), copy=False)
        else:
            tree = self.grouped_query(top)
        return self.expressions.with_relations(tree)

    def bound_join(self, row: ir.BoundRow, scope: CompileScope) -> tuple[exp.Join, CompileScope]:
        """`let m = first(from … order by …)` as a LEFT JOIN of its first rows, on its links.

        The query is read once for all the model's rows, not once per row: each
        of its rows is numbered within the values of its links (ROW_NUMBER()
        OVER (PARTITION BY links ORDER BY …)), and number 1 is joined to the
        model's row whose values equal its links. Ties in the written order are
        broken by the values read from the row (nulls last), so every warehouse
        picks a row with the same values. A model row with no such row gets
        nulls, and a null `found` column (`exists(m)`). Returns the join and
        `scope` with the row's alias.
        """
        x = self.expressions
        read = self.bound_reads[row.binding.uid]
        found = _found_column(row)
        taken = {name.lower() for name, _ in row.columns} | {found.lower()}
        links = [fresh(f"link_{i + 1}", taken) for i in range(len(row.links))]
        with x.query(row.query, scope) as (select, inner):
            own = [x.value(value, inner) for value, _ in row.links]
            order = [
                exp.Ordered(this=x.value(e, inner), desc=desc, nulls_first=False)
                for e, desc in row.order_by
            ]
            written = [e for e, _ in row.order_by]
            order += [
                exp.Ordered(this=x.value(e, inner), nulls_first=False)
                for e in dict.fromkeys(e for _, e in read)
                if e not in written
            ]
            number = exp.Window(
                this=exp.RowNumber(),
                partition_by=[value.copy() for value in own],
                order=exp.Order(expressions=order),
            )
            named = [*zip(own, links, strict=True), *((x.value(e, inner), n) for n, e in read)]
            ranked = select.select(
                *(exp.alias_(value, name, copy=False) for value, name in named),
                exp.alias_(number, found, copy=False),
                copy=False,
            )
        ranked_alias = x.fresh_alias(f"{row.name}__ranked")
        columns = [*links, *(name for name, _ in read), found]
        first_only = exp.EQ(
            this=exp.column(found, table=ranked_alias), expression=exp.Literal.number(1)
        )
        first = (
            exp.select(*(exp.column(c, table=ranked_alias) for c in columns))
            .from_(exp.alias_(exp.Subquery(this=ranked), ranked_alias, table=True, copy=False))
            .where(first_only)
        )
        alias = x.fresh_alias(row.name)
        scope = scope.with_binding(row.binding, alias)
        on = [
            x.condition(ir.Compare("=", ir.Col(row.binding, name, value.type), theirs), scope)
            for (value, theirs), name in zip(row.links, links, strict=True)
        ]
        join = exp.Join(
            this=exp.alias_(exp.Subquery(this=first), alias, table=True, copy=False),
            on=exp.and_(*on, copy=False) if on else exp.true(),
            side="LEFT",
        )
        return join, scope

    def _bound_joins(self) -> list[ExtraJoin]:
        return [functools.partial(self.bound_join, row) for row in self.model.bound]

    @contextmanager
    def rows(
        self, top: CompileScope, only: set[str] | None = None
    ) -> Iterator[tuple[exp.Select, CompileScope]]:
        """A SELECT over the model's rows, filtered by its `where` (no projections yet).

        Without lets this is the query itself. With lets, each let is computed
        once, as a column of a derived table (one level per step of lets that use
        lets), instead of being repeated wherever it is used; the parts of
        `where` that need no let filter the rows before any let is computed.
        `only` names the lets the rows need (default: every let that does not
        aggregate); a grouped model computes the others once per group. Lets
        that are only lookups of the rows' own values (`_lookups_as_lets`) need
        no derived table: each is a column of its one left join in the query.
        Yields the SELECT and the scope its outputs are read in.
        """
        model = self.model
        x = self.expressions
        aggregating = ir.aggregate_lets(self.row_lets)
        row_lets = tuple(
            (n, e) for n, e in self.row_lets if n not in aggregating and (only is None or n in only)
        )
        if all(isinstance(e, ir.LookupCall) and not _uses_lets(e) for _, e in row_lets):
            with x.query(model.query, top, self._bound_joins()) as found:
                yield found
            return
        conjuncts = ir.conjuncts(self.row_where)
        early = [c for c in conjuncts if not _uses_lets(c)]
        late = [c for c in conjuncts if _uses_lets(c)]
        bindings = {src.binding.uid: src.binding for src in model.query.sources}
        bindings.update({row.binding.uid: row.binding for row in model.bound})
        top_level = set(bindings)
        uses: list[Any] = [e for _, e in self.row_lets] + late + self._model_outputs()
        needed = sorted(
            {
                (n.binding.uid, n.binding.alias, n.column)
                for n in walk(uses)
                if isinstance(n, ir.Col) and n.binding.uid in top_level
            }
        )
        filtering = _with_joined_siblings(row_lets, self._lets_used(late))
        levels, filtered_at = _levels_around(row_lets, filtering, bool(late))
        first_rows = ir.Query(model.query.sources, ir.and_all(early))
        alias = x.fresh_alias("model_rows")
        with x.query(first_rows, top, self._bound_joins()) as (layer, inner):
            base: dict[tuple[int, str] | str, str] = {}
            columns = []
            for uid, binding_alias, column in needed:
                name = x.fresh_column(f"{binding_alias}__{column}")
                base[(uid, column)] = name
                table = inner.alias_of(bindings[uid])
                columns.append(exp.alias_(exp.column(column, table=table), name, copy=False))
            # Lets of this first level read the sources themselves, not the columns above.
            columns += [
                exp.alias_(x.value(e, inner), self.let_columns[n], copy=False)
                for n, e in row_lets
                if levels[n] == 0
            ]
            layer = layer.select(*columns, copy=False)
        current = exp.alias_(exp.Subquery(this=layer), alias, table=True, copy=False)
        base.update({n: self.let_columns[n] for n, _ in row_lets if levels[n] == 0})
        scope = top.with_rows(alias, base)
        for level in range(1, max(levels.values()) + 1):
            kept = [exp.column(name, table=alias) for name in scope.row_columns.values()]
            lookups = JoinScope({alias}, takes_subqueries=_before_filter(level, late, filtered_at))
            added = [
                exp.alias_(x.value(e, scope.with_joins(lookups)), self.let_columns[n], copy=False)
                for n, e in row_lets
                if levels[n] == level
            ]
            layer = exp.select(*kept, *added).from_(current, copy=False)
            lookups.join_to(layer)
            if late and level == filtered_at:
                layer = layer.where(self._all_of(late, scope), copy=False)
            alias = x.fresh_alias("model_rows")
            current = exp.alias_(exp.Subquery(this=layer), alias, table=True, copy=False)
            computed = {n: self.let_columns[n] for n, _ in row_lets if levels[n] == level}
            scope = scope.with_rows(alias, {**scope.row_columns, **computed})
        select = exp.select().from_(current, copy=False)
        if late and filtered_at > max(levels.values()):
            select = select.where(self._all_of(late, scope), copy=False)
        yield select, scope

    def _all_of(self, conditions: list[ir.Expr], scope: CompileScope) -> exp.Expression:
        return exp.and_(*(self.expressions.condition(c, scope) for c in conditions), copy=False)

    def _model_outputs(self) -> list[Any]:
        model = self.model
        found: list[Any] = [*model.key, *routed_to(model), *of_amount(model)]
        found += [p.expr for p in model.message if isinstance(p, ir.Hole)]
        found += list(model.group_by or ())
        if model.having is not None:
            found.append(model.having)
        return found

    def outputs(self, scope: CompileScope) -> list[exp.Expression]:
        """The query's columns: key_1 … key_n, township, amount, hole_1 … hole_m."""
        model = self.model
        x = self.expressions
        columns = [
            exp.alias_(x.value(k, scope), name, copy=False)
            for k, name in zip(model.key, key_columns(model), strict=True)
        ]
        columns += [exp.alias_(x.value(t, scope), "township", copy=False) for t in routed_to(model)]
        columns += [
            exp.alias_(x.value(a, scope), AMOUNT_COLUMN, copy=False) for a in of_amount(model)
        ]
        holes = [p for p in model.message if isinstance(p, ir.Hole)]
        columns += [
            exp.alias_(x.value(h.expr, scope), name, copy=False)
            for h, name in zip(holes, hole_columns(model), strict=True)
        ]
        return columns

    def grouped_query(self, top: CompileScope) -> exp.Expression:
        """Rows (group values, aggregate inputs, row numbers for first()) then the groups."""
        model = self.model
        x = self.expressions
        assert model.group_by is not None
        outputs: list[ir.Expr] = [*model.key, *routed_to(model), *of_amount(model)]
        outputs += [p.expr for p in model.message if isinstance(p, ir.Hole)]
        if model.having is not None:
            outputs.append(model.having)
        aggregates = list(dict.fromkeys(a for e in outputs for a in level_aggregates(e, self.lets)))

        rows_alias = x.fresh_alias("grouped_rows")
        row_level = self._lets_used([self.row_where, *model.group_by, *aggregates])
        group_names = [x.fresh_column(f"group_{i + 1}") for i in range(len(model.group_by))]
        with self.rows(top, only=row_level) as (inner, scope):
            columns: list[exp.Expression] = []
            group_values = [x.value(g, scope) for g in model.group_by]
            for value, name in zip(group_values, group_names, strict=True):
                columns.append(exp.alias_(value, name, copy=False))
            plan: list[tuple[ir.Agg, list[str], FirstBy]] = []
            for j, agg in enumerate(aggregates):
                if agg.name in ir.QUANTILES:
                    quantile_columns, names = x.quantile_inputs(j, agg, group_values, scope)
                    columns += quantile_columns
                    plan.append((agg, names, None))
                    continue
                names = []
                for k, arg in enumerate(agg.args):
                    name = x.fresh_column(f"agg_{j + 1}_{k + 1}")
                    columns.append(exp.alias_(x.value(arg, scope), name, copy=False))
                    names.append(name)
                if agg.filter is not None:
                    name = x.fresh_column(f"agg_{j + 1}_when")
                    columns.append(exp.alias_(x.condition(agg.filter, scope), name, copy=False))
                    names.append(name)
                first_by: FirstBy = None
                if agg.name == "first" and agg.filter is None and fn.ordered_first(self.dialect):
                    first_by = []
                    for k, (e, desc) in enumerate(agg.order_by):
                        name = x.fresh_column(f"agg_{j + 1}_by_{k + 1}")
                        columns.append(exp.alias_(x.value(e, scope), name, copy=False))
                        first_by.append((name, desc))
                elif agg.name == "first":
                    first_by = x.fresh_column(f"agg_{j + 1}_rank")
                    order = [
                        exp.Ordered(this=x.value(e, scope), desc=desc, nulls_first=False)
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
        inner = self._rows_of_large_groups(inner, group_names, aggregates, top)

        def grouped_col(name: str) -> exp.Column:
            return exp.column(name, table=rows_alias)

        # From here on, only groups are in scope (`top` and the groups' columns).
        # The groups: only group values and aggregates, so that every warehouse accepts it
        # (Spark refuses a correlated subquery or an aggregate inside one in a grouped
        # SELECT); the outputs, `having` and their subqueries read these as plain columns.
        groups_alias = x.fresh_alias("model_groups")
        group_columns = [exp.alias_(grouped_col(g), g, copy=False) for g in group_names]
        agg_names = [x.fresh_column(f"agg_{j + 1}") for j in range(len(plan))]
        aggregate_columns = [
            exp.alias_(
                x.aggregate(agg, [grouped_col(n) for n in names], first_by, rows_alias),
                agg_name,
                copy=False,
            )
            for (agg, names, first_by), agg_name in zip(plan, agg_names, strict=True)
        ]
        rows = exp.alias_(exp.Subquery(this=inner), rows_alias, table=True, copy=False)
        groups = self._distinct_in_two_phases(rows, group_names, plan, agg_names)
        if groups is None:
            groups = (
                exp.select(*group_columns, *aggregate_columns)
                .from_(rows, copy=False)
                .group_by(*(grouped_col(g) for g in group_names), copy=False)
            )
        current = exp.alias_(exp.Subquery(this=groups), groups_alias, table=True, copy=False)
        self.group_columns = dict(zip(model.group_by, group_names, strict=True))
        self.agg_columns = dict(zip(aggregates, agg_names, strict=True))
        scope = self._groups_read_from(top, groups_alias, [])
        # Lets read outside aggregates (a subquery per group, say) are computed once per
        # group, as columns of one more derived table per step of lets that use lets,
        # instead of once wherever `having` and the message use them.
        group_lets = tuple(self._group_level_lets(outputs, scope))
        having = [model.having] if model.having is not None else []
        filtering = {n for n, _ in self._group_level_lets(having, scope)}
        filtering = _with_joined_siblings(group_lets, filtering)
        levels, filtered_at = _levels_around(group_lets, filtering, bool(having))
        computed: list[str] = []
        current_alias = groups_alias
        for level in sorted(set(levels.values())):
            kept = [
                exp.column(name, table=current_alias)
                for name in [*group_names, *agg_names, *(self.let_columns[n] for n in computed)]
            ]
            lookups = JoinScope(
                {current_alias}, takes_subqueries=_before_filter(level, having, filtered_at)
            )
            added = [
                exp.alias_(x.value(e, scope.with_joins(lookups)), self.let_columns[n], copy=False)
                for n, e in group_lets
                if levels[n] == level
            ]
            computed += [n for n, _ in group_lets if levels[n] == level]
            layer = exp.select(*kept, *added).from_(current, copy=False)
            lookups.join_to(layer)
            if having and level == filtered_at:
                layer = layer.where(self._all_of(having, scope), copy=False)
            current_alias = x.fresh_alias("model_groups")
            current = exp.alias_(exp.Subquery(this=layer), current_alias, table=True, copy=False)
            scope = self._groups_read_from(top, current_alias, computed)
        outer = exp.select(*self.outputs(scope)).from_(current, copy=False)
        if having and filtered_at > max(levels.values(), default=-1):
            outer = outer.where(self._all_of(having, scope), copy=False)
        return outer

    def _distinct_in_two_phases(
        self,
        rows: exp.Expression,
        group_names: list[str],
        plan: list[tuple[ir.Agg, list[str], FirstBy]],
        agg_names: list[str],
    ) -> exp.Select | None:
        """The groups of `rows` with their one count(distinct x) as two groupings, where faster.

        On a warehouse of fn.TWO_PHASE_DISTINCT, when the aggregates are one
        count(distinct x) and counts, sums (not of floats: their order would change the
        last digits), minima and maxima without `where`: the rows are first grouped by
        the group values and x, each aggregate taken per (group, x); the groups then count
        their non-null x and combine the rest (a sum of sums, a minimum of minima, a count
        as the sum of counts). The same groups and values; None elsewhere.
        """
        if not fn.two_phase_distinct(self.dialect):
            return None
        distinct = [(agg, names) for agg, names, _ in plan if agg.distinct]
        if len(distinct) != 1 or distinct[0][0].name != "count" or len(distinct[0][1]) != 1:
            return None
        for agg, _names, first_by in plan:
            if first_by is not None or agg.filter is not None or agg.name not in _COMBINED:
                return None
            if agg.name == "sum" and agg.args[0].type is Type.FLOAT:
                return None
        x = self.expressions
        rows_alias = rows.alias
        value = distinct[0][1][0]
        pair = x.fresh_alias("distinct_values")
        keys = [*group_names, value]
        partial = exp.select(
            *(exp.alias_(exp.column(k, table=rows_alias), k, copy=False) for k in keys)
        )
        combined: list[exp.Expression] = []
        for (agg, names, _), agg_name in zip(plan, agg_names, strict=True):
            if agg.distinct:  # each (group, x) is one row of `pair`; a null x is not counted
                combined.append(exp.alias_(exp.Count(this=exp.column(value, table=pair)), agg_name))
                continue
            part = x.fresh_column(f"{agg_name}_part")
            inputs = [exp.column(n, table=rows_alias) for n in names]
            partial = partial.select(
                exp.alias_(_COMBINED[agg.name][0](agg, inputs), part, copy=False), copy=False
            )
            outer = _COMBINED[agg.name][1](exp.column(part, table=pair))
            combined.append(exp.alias_(outer, agg_name, copy=False))
        partial = partial.from_(rows, copy=False).group_by(
            *(exp.column(k, table=rows_alias) for k in keys), copy=False
        )
        return (
            exp.select(
                *(exp.alias_(exp.column(g, table=pair), g, copy=False) for g in group_names),
                *combined,
            )
            .from_(exp.alias_(exp.Subquery(this=partial), pair, table=True, copy=False))
            .group_by(*(exp.column(g, table=pair) for g in group_names), copy=False)
        )

    def _rows_of_large_groups(
        self,
        rows: exp.Select,
        group_names: list[str],
        aggregates: list[ir.Agg],
        top: CompileScope,
    ) -> exp.Select:
        """`rows` less those of groups too small for `having`, where that is cheaper to know.

        A `having` that asks a count of a group's rows to reach a constant (`count(*) >= 2`,
        `count(distinct x) >= $n`: every count is at most count(*)) can only keep groups of
        that many rows. On a warehouse with a hash of the group values (fn.group_hash) the
        rows are first counted by that hash, and only the rows of hashes with enough of them
        are grouped: WITH candidate_rows AS MATERIALIZED (rows) SELECT * FROM candidate_rows
        WHERE hash(groups) IN (SELECT hash(groups) … GROUP BY … HAVING COUNT(*) >= n). The
        groups and warnings are the same; elsewhere, or without such a condition, `rows`.
        """
        floors = [
            (condition, count)
            for condition, count in _row_count_floors(self.model.having)
            if count in aggregates
        ]
        if not floors or fn.group_hash(self.dialect, []) is None:
            return rows
        pool = self.expressions.fresh_alias("candidate_rows")

        def hashed() -> exp.Expression:
            values: list[exp.Expression] = [exp.column(g, table=pool) for g in group_names]
            found = fn.group_hash(self.dialect, values)
            assert found is not None
            return found

        every_row = exp.Count(this=exp.Star())
        tests = [
            self.expressions.condition(condition, top.with_groups({}, {count: every_row}))
            for condition, count in floors
        ]
        large = (
            exp.select(hashed())
            .from_(pool)
            .group_by(hashed(), copy=False)
            .having(exp.and_(*tests, copy=False), copy=False)
        )
        return (
            exp.select(exp.Star())
            .from_(pool)
            .where(exp.In(this=hashed(), query=exp.Subquery(this=large)), copy=False)
            .with_(pool, as_=rows, materialized=True, copy=False)
        )

    def _groups_read_from(self, top: CompileScope, alias: str, lets: list[str]) -> CompileScope:
        """The scope in which group values, aggregates and lets computed so far are of `alias`."""
        return top.with_groups(
            {g: exp.column(c, table=alias) for g, c in self.group_columns.items()},
            {a: exp.column(c, table=alias) for a, c in self.agg_columns.items()},
        ).with_rows(alias if lets else None, {name: self.let_columns[name] for name in lets})

    def _lets_used(self, exprs: list[Any]) -> set[str]:
        """The lets `exprs` read, directly or through other lets."""
        used: set[str] = set()
        pending = [n.name for n in walk(exprs) if isinstance(n, ir.LetRef)]
        while pending:
            name = pending.pop()
            if name not in used:
                used.add(name)
                pending += [n.name for n in walk(self.lets[name]) if isinstance(n, ir.LetRef)]
        return used

    def _group_level_lets(
        self, outputs: list[ir.Expr], scope: CompileScope
    ) -> list[tuple[str, ir.Expr]]:
        """The lets `outputs` read outside aggregates and group values, in the model's order."""
        wanted: set[str] = set()

        def visit(expr: Any) -> None:
            if expr in scope.group_map or isinstance(expr, ir.Agg):
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


def _count_part(agg: ir.Agg, inputs: list[exp.Expression]) -> exp.Expression:
    return exp.Count(this=exp.Star() if agg.star else inputs[0])


# How each aggregate is taken per (group, x) and combined per group, for _distinct_in_two_phases.
_COMBINED: dict[str, tuple[Any, Any]] = {
    "count": (_count_part, lambda part: exp.cast(exp.Sum(this=part), exp.DataType.Type.BIGINT)),
    "sum": (lambda agg, inputs: exp.Sum(this=inputs[0]), fn.sum_of),
    "min": (lambda agg, inputs: exp.Min(this=inputs[0]), lambda part: exp.Min(this=part)),
    "max": (lambda agg, inputs: exp.Max(this=inputs[0]), lambda part: exp.Max(this=part)),
}


def _row_count_floors(having: ir.Expr | None) -> list[tuple[ir.Compare, ir.Agg]]:
    """The conditions of `having` (joined by `and`) that ask a count to reach a constant.

    Each with its count: `count(…) >= c`, `count(…) > c`, or the same turned round
    (`c <= count(…)`), c a literal or a parameter. A group these keep has at least
    c rows (more than c), since no count of a group exceeds its number of rows.
    """
    found = []
    for condition in ir.conjuncts(having):
        if not isinstance(condition, ir.Compare):
            continue
        if condition.op in (">=", ">"):
            count, least = condition.left, condition.right
        elif condition.op in ("<=", "<"):
            count, least = condition.right, condition.left
        else:
            continue
        if isinstance(count, ir.Agg) and count.name == "count":
            if isinstance(least, (ir.Lit, ir.Param)):
                found.append((condition, count))
    return found


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
    outputs = (model.township, model.amount, model.message)
    if not any(
        isinstance(n, ir.LookupCall) or (isinstance(n, ir.DefCall) and n.name in uses)
        for n in walk((body, outputs))
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
                if any(isinstance(n, ir.Exists | ir.Scalar) for n in walk(key)):
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
                body = rewrite(
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
                    any(isinstance(n, ir.Col) and n.binding.uid in inner for n in walk(call))
                    or any(ir.has_aggregate(a) for a in call.args)
                ):
                    return call  # read in its subquery, joined there
                return let_of(call)
            return None

        return rewrite(node, replace)

    for name, expr in model.lets:
        expr = lifted(expr, frozenset())
        lets.append((name, expr))
    where, group_by, having, key, township, amount, message = lifted(
        (
            model.query.where,
            model.group_by,
            model.having,
            model.key,
            model.township,
            model.amount,
            model.message,
        ),
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
        amount=amount,
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
                for n in walk(define.body)
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
        nodes = list(walk(expr))
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
            changes = {part: rewrite(getattr(node, part), inside_subquery) for part in parts}
            return dataclasses.replace(node, **changes)
        return None

    where = rewrite(model.query.where, at_top)
    return where, [(name, expr) for expr, name in hoisted.items()]


def _found_column(row: ir.BoundRow) -> str:
    """The column of a bound row's derived table that is null where there is no row."""
    return fresh("found", {name.lower() for name, _ in row.columns})


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

    parts = ("lets", "query", "group_by", "having", "key", "township", "amount", "message")
    changes = {part: rewrite(getattr(model, part), as_column) for part in parts}
    return dataclasses.replace(model, **changes)


def _names_read(model: ir.Model, uid: int) -> list[tuple[str, ir.Expr]]:
    """The values of bound row `uid` that `model` reads (`m.name`), in the row's order."""
    row = next(r for r in model.bound if r.binding.uid == uid)
    body = (model.lets, model.query, model.group_by, model.having, model.key)
    body += (model.township, model.amount, model.message)
    read = {n.column for n in walk(body) if isinstance(n, ir.Col) and n.binding.uid == uid}
    return [(name, value) for name, value in row.columns if name in read]


def _uses_lets(expr: Any) -> bool:
    return any(isinstance(n, ir.LetRef) for n in walk(expr))


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


def _before_filter(level: int, filters: list[Any], filtered_at: int) -> bool:
    """Whether lets of `level` are computed before the model's filter on lets, if it has one.

    A let computed after it (INV05's `ename`, read only by the message) is
    computed for the few rows or groups left; a grouped join in its place
    (engine/compiler/decorrelate.py) would group the whole of its source
    first (INV05 took 1.6 times as long so at 10 times the demo data), so
    its subquery stays correlated there.
    """
    return not filters or level < filtered_at


def _with_joined_siblings(lets: tuple[tuple[str, ir.Expr], ...], filtering: set[str]) -> set[str]:
    """`filtering`, and the lets whose subqueries are read from the same grouped join as theirs.

    ENG06 filters on `paid` and reads `payments` only in its message: both are
    read from one grouped join of fin_payment (engine/compiler/decorrelate.py)
    when they are computed at the same level, where after the filter
    `payments` would take a second one. A let that reads no let and whose
    every subquery is such a sibling is computed before the filter with them.
    """
    wanted = {sig for name, e in lets if name in filtering for sig in _joined_signatures(e)}
    if not wanted:
        return filtering
    siblings = {
        name
        for name, e in lets
        if name not in filtering
        and not _uses_lets(e)
        and (found := _joined_signatures(e))
        and found <= wanted
    }
    return filtering | siblings


def _joined_signatures(expr: ir.Expr) -> set[str]:
    """The signatures of the subqueries in `expr` read as grouped joins (None: some is not)."""
    found = set()
    for node in walk(expr):
        if isinstance(node, ir.Scalar):
            plan = decorrelation(node, frozenset())
            if plan is None:
                return set()
            found.add(plan.signature)
    return found


def _let_levels(lets: tuple[tuple[str, ir.Expr], ...]) -> dict[str, int]:
    """How many lets deep each let is: 0 when it uses none, else one more than those it uses."""
    levels: dict[str, int] = {}
    for name, expr in lets:
        used = [n.name for n in walk(expr) if isinstance(n, ir.LetRef)]
        levels[name] = 1 + max((levels.get(u, -1) for u in used), default=-1)
    return levels
