"""Which values of a model may be missing (null): the message holes that would read "空".

A message goes to a township's case handler as written. A hole whose value
is null writes 空 ("每月空元", "协议签订日期：空"), which reads as a broken
sentence, so `check` warns (W320) about every hole that may be null and has
no default: the rule should say what to write instead, either with
`coalesce(x, 0)` or with a text after `??` (`{g.signed_on ?? '无'}`), or once
for the whole model (`missing "不详"`) or pack (`messages: {missing: "不详"}`
in pack.yaml) — the checker gives such a hole that default, so it has one.

The analysis is conservative and syntactic, over the checked IR:

- a catalog column may be null unless the contract marks it `required`; a
  column of a `left join`ed source may be null whatever it is;
- a condition the rows must meet rules nulls out: a column (or any value)
  compared with `=`, `<`, `>=`, `between`, `in`, `is not null` or `not
  blank(…)` in the model's `where`, in an inner join's `on` or in `having`
  is not null on the rows that raise a warning (a comparison with null is
  false), and neither is anything it was computed from by arithmetic or a
  function that is null whenever an argument is; so are the values an
  `exists(…)` compares, and the arguments a shared definition that holds
  compares (`in_official_circle(p.payee_code, …)`); the key's parts are not
  null either (rows with a null key part raise nothing);
- a value of a bound row (`m.name`, `let m = first(from …)`) is null where
  there is no row m: it may be null unless the model requires the row
  (`exists(m)`, or a condition on one of its values); then it is as its
  value on the row's query, whose where and links tell what is there;
- `count` and `sum` are never null (the contract: a sum over no rows is 0);
  `min`, `max`, `avg` and `first` over a group are null only when their
  value is, but over a subquery's rows, or with a `where` filter, there may
  be no rows at all;
- a parameter declared nullable may be null, any other never; `value_of`
  is null only when its default may be;
- a lookup (`lookup`) may be null unless it has a default that is not: the
  key may be missing from its source;
- `coalesce` is null only when every argument is, `if` and `case` when the
  branch taken may be (a `case` without `else` may always be), `workdays`
  never (it counts days); `concat` when any part is; `/` when the divisor may be 0
  (anything but a non-zero literal); any other
  function or operator when one of its values is. Conditions used as values
  follow the SQL they compile to: `!=`, `not`, `is null`, `exists` and
  `blank` are never null, other comparisons are null when a side is.

It errs on "may be null": a value the data can never leave empty, but that
no condition of the model shows to be there, gets a warning the rule can
answer with a default that is never used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dsl import ir
from dsl.diagnostics import Diagnostic
from dsl.messages import diagnostic
from dsl.pack import Pack
from dsl.types import NUMERIC, Type

# Functions whose result is not simply "null when an argument is null": workdays counts
# calendar days (0, not null, between missing dates).
_NOT_STRICT = frozenset({"coalesce", "if", "blank", "workdays"})
# Conditions that hold only for values that are there: their arguments are not null.
_NEEDS_VALUES = frozenset({"contains", "starts_with"})


@dataclass(frozen=True)
class _Rows:
    """The rows an expression is evaluated over, and what is known about them."""

    optional: frozenset[int] = frozenset()  # bindings on the null side of a left join
    known: frozenset[ir.Expr] = frozenset()  # values that are not null on these rows
    lets: dict[str, ir.Expr] = field(default_factory=dict)
    args: dict[str, bool] = field(default_factory=dict)  # a define's arguments: may be null?
    maybe_empty: bool = False  # aggregates may run over no rows (a subquery)
    bound: dict[int, ir.BoundRow] = field(default_factory=dict)  # by the uid of its name


class Nullability:
    """Answers "may this value be null?" for the models of one checked pack."""

    def __init__(
        self,
        pack: Pack,
        defines: dict[str, ir.Define],
        relations: dict[str, ir.Relation],
        lookups: dict[str, ir.Lookup] | None = None,
    ) -> None:
        self.pack = pack
        self.defines = defines
        self.relations = relations
        self.lookups = lookups or {}
        self._relation_columns: dict[tuple[str, str], bool] = {}

    # ---- models

    def nullable_holes(self, model: ir.Model) -> list[ir.Hole]:
        """The message holes of `model` that may be null and say nothing to write instead."""
        rows = self.model_rows(model)
        holes = [p for p in model.message if isinstance(p, ir.Hole) and p.default is None]
        return [hole for hole in holes if self.may_be_null(hole.expr, rows)]

    def warnings(self, model: ir.Model) -> list[Diagnostic]:
        """A W320 for each hole of `model` that may be null and says nothing to write instead."""
        return [_warning(hole) for hole in self.nullable_holes(model)]

    def model_rows(self, model: ir.Model) -> _Rows:
        """What holds on the rows (and groups) that raise a model's warnings."""
        lets = dict(model.lets)
        known = self._query_facts(model.query, lets)
        known |= self._facts(model.having, lets)
        for part in model.key:
            known |= _closure(part, lets)
        bound = {row.binding.uid: row for row in model.bound}
        return _Rows(_optional(model.query), frozenset(known), lets, bound=bound)

    def _query_rows(self, query: ir.Query) -> _Rows:
        return _Rows(_optional(query), frozenset(self._query_facts(query, {})))

    def _query_facts(self, query: ir.Query, lets: dict[str, ir.Expr]) -> set[ir.Expr]:
        known = self._facts(query.where, lets)
        for source in query.sources:
            if source.join == "inner":
                known |= self._facts(source.on, lets)
        return known

    # ---- what a condition that holds says about values

    def _facts(self, condition: ir.Expr | None, lets: dict[str, ir.Expr]) -> set[ir.Expr]:
        """Values that are not null whenever `condition` holds."""
        if condition is None:
            return set()
        if isinstance(condition, ir.Logic):
            parts = [self._facts(item, lets) for item in condition.items]
            if condition.op == "and":
                return set().union(*parts)
            return set.intersection(*parts) if parts else set()
        values: list[ir.Expr] = []
        if isinstance(condition, ir.Compare) and condition.op != "!=":
            values = [condition.left, condition.right]
        elif isinstance(condition, ir.Between):
            values = [condition.operand, condition.low, condition.high]
        elif isinstance(condition, ir.In | ir.InParam) and not condition.negated:
            values = [condition.operand]
        elif isinstance(condition, ir.IsNull) and condition.negated:
            values = [condition.operand]
        elif isinstance(condition, ir.Not):
            inner = condition.operand
            if isinstance(inner, ir.Func) and inner.name == "blank":
                values = [inner.args[0]]
            elif isinstance(inner, ir.IsNull) and not inner.negated:
                values = [inner.operand]
        elif isinstance(condition, ir.Func) and condition.name in _NEEDS_VALUES:
            values = list(condition.args)
        elif isinstance(condition, ir.LetRef) and condition.name in lets:
            return self._facts(lets[condition.name], lets)
        elif isinstance(condition, ir.Exists):
            return self._query_facts(condition.query, {})
        elif isinstance(condition, ir.RowFound):
            return {condition}
        elif isinstance(condition, ir.DefCall):
            values = self._define_facts(condition)
        found: set[ir.Expr] = set()
        for value in values:
            found |= _closure(value, lets)
        return found

    def _define_facts(self, call: ir.DefCall) -> list[ir.Expr]:
        """The arguments of a shared definition that are not null when it holds."""
        define = self.defines.get(call.name)
        if define is None or len(define.params) != len(call.args):
            return []
        inside = self._facts(define.body, {})
        return [
            arg
            for (name, _), arg in zip(define.params, call.args, strict=True)
            if any(isinstance(f, ir.Arg) and f.name == name for f in inside)
        ]

    # ---- may a value be null

    def may_be_null(self, expr: ir.Expr, rows: _Rows) -> bool:
        """Whether `expr` may be null on `rows` (True when in doubt)."""
        if expr in rows.known:
            return False
        if isinstance(expr, ir.Lit):
            return expr.value is None
        if isinstance(expr, ir.Param):
            return expr.nullable
        if isinstance(expr, ir.AsOf | ir.Exists | ir.IsNull | ir.Not | ir.RowFound):
            return False
        if isinstance(expr, ir.Col):
            return self._column(expr, rows)
        if isinstance(expr, ir.Arg):
            return rows.args.get(expr.name, True)
        if isinstance(expr, ir.LetRef):
            let = rows.lets.get(expr.name)
            return True if let is None else self.may_be_null(let, rows)
        if isinstance(expr, ir.Func):
            return self._function(expr, rows)
        if isinstance(expr, ir.Agg):
            return self._aggregate(expr, rows)
        if isinstance(expr, ir.DefCall):
            return self._define(expr, rows)
        if isinstance(expr, ir.LookupCall):
            return self._lookup(expr, rows)
        if isinstance(expr, ir.Arith):
            if expr.op == "/" and not _non_zero_literal(expr.right):
                return True
            return self.may_be_null(expr.left, rows) or self.may_be_null(expr.right, rows)
        if isinstance(expr, ir.Neg):
            return self.may_be_null(expr.operand, rows)
        if isinstance(expr, ir.Compare):
            return expr.op != "!=" and self._any(rows, expr.left, expr.right)
        if isinstance(expr, ir.Logic):
            return self._any(rows, *expr.items)
        if isinstance(expr, ir.In):
            return not expr.negated and self._any(rows, expr.operand, *expr.items)
        if isinstance(expr, ir.InParam):
            return not expr.negated and self.may_be_null(expr.operand, rows)
        if isinstance(expr, ir.ValueOf):  # a map's values are never null; a missing key: default
            return self.may_be_null(expr.default, rows)
        if isinstance(expr, ir.Between):
            return self._any(rows, expr.operand, expr.low, expr.high)
        if isinstance(expr, ir.Scalar):
            inner = self._query_rows(expr.query)
            return self.may_be_null(expr.select, _with_empty(inner))
        if isinstance(expr, ir.Case):
            return self._case(expr, rows)
        return True

    def _any(self, rows: _Rows, *exprs: ir.Expr) -> bool:
        return any(self.may_be_null(e, rows) for e in exprs)

    def _column(self, col: ir.Col, rows: _Rows) -> bool:
        if col.binding.uid in rows.bound:
            return self._bound_value(rows.bound[col.binding.uid], col.column, rows)
        if col.binding.uid in rows.optional:
            return True
        if col.binding.is_relation:
            return self._relation_column(col.binding.source, col.column)
        source = self.pack.sources.get(col.binding.source)
        column = source.columns.get(col.column) if source else None
        return column is None or not column.required

    def _bound_value(self, row: ir.BoundRow, name: str, rows: _Rows) -> bool:
        """`m.name` is null where there is no row m, else when its value may be on m's query.

        There is a row where `exists(m)` holds, or where a value of m is known.
        """
        found = ir.RowFound(row.binding) in rows.known or any(
            isinstance(known, ir.Col) and known.binding == row.binding for known in rows.known
        )
        if not found:
            return True
        value = dict(row.columns).get(name)
        if value is None:
            return True
        inner = self._query_rows(row.query)
        linked = set().union(*(_closure(own, {}) for own, _ in row.links))  # equal: not null
        return self.may_be_null(value, _knowing(inner, linked))

    def _relation_column(self, relation: str, column: str) -> bool:
        """A relation's column may be null when one of its branches may select a null."""
        found = self._relation_columns.get((relation, column))
        if found is None:
            checked = self.relations.get(relation)
            found = checked is None or any(
                self.may_be_null(value, self._branch_rows(branch))
                for branch in checked.branches
                for name, value in branch.items
                if name == column
            )
            self._relation_columns[(relation, column)] = found
        return found

    def _branch_rows(self, branch: ir.Branch) -> _Rows:
        """What holds on the rows (or groups) a relation's branch selects from."""
        rows = self._query_rows(branch.query)
        return _knowing(rows, self._facts(branch.having, {}))

    def _case(self, case: ir.Case, rows: _Rows) -> bool:
        """A case may be null when the value it takes may be, or when it has no `else`.

        Each value is judged on the rows where its condition holds; the `else`
        where none does.
        """
        lets = rows.lets
        for condition, value in case.branches:
            if self.may_be_null(value, _knowing(rows, self._facts(condition, lets))):
                return True
        if case.otherwise is None:
            return True
        none_holds = ir.Logic("and", tuple(ir.Not(c) for c, _ in case.branches))
        return self.may_be_null(case.otherwise, _knowing(rows, self._facts(none_holds, lets)))

    def _function(self, func: ir.Func, rows: _Rows) -> bool:
        if func.name == "coalesce":
            return all(self.may_be_null(a, rows) for a in func.args)
        if func.name == "if":
            condition, then, otherwise = func.args
            lets = rows.lets
            return self.may_be_null(
                then, _knowing(rows, self._facts(condition, lets))
            ) or self.may_be_null(otherwise, _knowing(rows, self._facts(ir.Not(condition), lets)))
        if func.name in ("blank", "workdays"):
            return False
        return self._any(rows, *func.args)

    def _aggregate(self, agg: ir.Agg, rows: _Rows) -> bool:
        if agg.name in ("count", "sum"):
            return False
        if rows.maybe_empty or agg.filter is not None:
            return True
        return self._any(rows, *agg.args)

    def _define(self, call: ir.DefCall, rows: _Rows) -> bool:
        define = self.defines.get(call.name)
        if define is None:
            return True
        args = {
            name: self.may_be_null(arg, rows)
            for (name, _), arg in zip(define.params, call.args, strict=True)
        }
        return self.may_be_null(define.body, _Rows(args=args))

    def _lookup(self, call: ir.LookupCall, rows: _Rows) -> bool:
        """A lookup is its default where the key is not found: null only if that may be."""
        lookup = self.lookups.get(call.name)
        if lookup is None or lookup.default is None:
            return True
        args = {
            name: self.may_be_null(arg, rows)
            for (name, _), arg in zip(lookup.params, call.args, strict=True)
        }
        return self.may_be_null(lookup.default, _Rows(args=args))


def _optional(query: ir.Query) -> frozenset[int]:
    """The bindings of a query whose columns a `left join` may leave null."""
    return frozenset(s.binding.uid for s in query.sources if s.join == "left")


def _closure(value: ir.Expr, lets: dict[str, ir.Expr]) -> set[ir.Expr]:
    """`value`, known not null, and what it was computed from, which then isn't null either."""
    found = {value}
    if isinstance(value, ir.Arith):
        found |= _closure(value.left, lets) | _closure(value.right, lets)
    elif isinstance(value, ir.Neg):
        found |= _closure(value.operand, lets)
    elif isinstance(value, ir.Func) and value.name not in _NOT_STRICT:
        for arg in value.args:
            found |= _closure(arg, lets)
    elif isinstance(value, ir.LetRef) and value.name in lets:
        found |= _closure(lets[value.name], lets)
    return found


def _non_zero_literal(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.Lit) and expr.value not in (None, 0)


def _with_empty(rows: _Rows) -> _Rows:
    return replace(rows, maybe_empty=True)


def _knowing(rows: _Rows, facts: set[ir.Expr]) -> _Rows:
    """`rows` narrowed to those where `facts` are not null (a branch of an `if`)."""
    return replace(rows, known=rows.known | facts)


def _warning(hole: ir.Hole) -> Diagnostic:
    """W320 for a hole that may be null, with the two ways to say what to write instead."""
    written = hole.text
    inner = hole.expr.type
    if hole.formatter is None and inner is Type.STRING:
        instead = f"{{coalesce({written}, '未填')}}"
    elif hole.formatter is None and inner in NUMERIC:
        instead = f"{{coalesce({written}, 0)}}"
    else:
        instead = f"{{{written} ?? '无'}}"
    return diagnostic(
        "W320",
        hole.span,
        hints=(
            f"写明为空时写什么，例如 {instead}；{{… ?? '文字'}} 在值为空时写这段文字 / "
            f"say what to write when it is null, e.g. {instead}",
            '也可以为整个模型写一次 missing "不详"，或在 pack.yaml 中写 '
            'messages: {missing: "不详"} / or say it once for the model (missing "不详") '
            'or for the pack (messages: {missing: "不详"} in pack.yaml)',
        ),
        written=written,
    )
