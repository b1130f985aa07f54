"""Where a nullable parameter's null would decide a condition without the rule saying so (E372).

A parameter declared `nullable: true` is null when a county sets no
threshold. A comparison with null is neither true nor false, and the
language reads it as false (`!=` as true): `p.amount > $cap` with no cap
raises nothing, `p.amount != $cap` everything, and nobody decided which.
So `check` asks the rule to say it, `$cap is null or p.amount > $cap` (no
cap: the condition holds) or `$cap is not null and p.amount > $cap` (no cap:
it does not).

A use of the parameter is guarded, and fine, when

- it is the value tested: `$cap is null`, `$cap is not null`, `blank($cap)`;
- an `or` above it holds `$cap is null` (or `blank($cap)`) beside it, or an
  `and` above it holds `$cap is not null` (or `not ($cap is null)`);
- `if($cap is null, a, b)` guards b, `if($cap is not null, a, b)` guards a;
  in `case`, `when $cap is not null then a` guards a, and after `when $cap
  is null then …` every later `when` and the `else` are guarded;
- `coalesce($cap, …)` gives a value where it is null (null only when every
  argument is).

Null travels through arithmetic, functions, lets and `value_of`'s default,
and is reported where it decides something: a comparison, `between`, `in`,
a condition function (`contains`), a shared definition that holds or not,
or a condition (`where`, `having`, `on`, an aggregate's `where`, the test of
an `if`) that is the parameter itself. A message hole is no condition:
W320 (dsl/nullability.py) asks what to write there for a null.
"""

from __future__ import annotations

from collections.abc import Iterable

from dsl import ir
from dsl.types import Type

# name -> the first use of that nullable parameter whose null reaches a value unguarded.
_Carried = dict[str, ir.Param]


def unguarded(
    conditions: Iterable[ir.Expr | None],
    values: Iterable[ir.Expr | None],
    lets: dict[str, ir.Expr] | None = None,
) -> list[ir.Param]:
    """The uses of nullable parameters whose null would decide a condition unasked.

    `conditions` are read as conditions (`where`, `having`, `on`), `values`
    as values (keys, message holes, a relation's columns); `lets` are the
    lets they may read. Each use is given once, in the order found.
    """
    scan = _Scan(lets or {})
    for condition in conditions:
        if condition is not None:
            scan.condition(condition, frozenset())
    for value in values:
        if value is not None:
            scan.value(value, frozenset())
    return list(scan.reported.values())


class _Scan:
    def __init__(self, lets: dict[str, ir.Expr]) -> None:
        self.lets = lets
        self.reported: dict[int, ir.Param] = {}
        self._let_cache: dict[tuple[str, frozenset[str]], _Carried] = {}

    def report(self, carried: _Carried) -> None:
        for param in carried.values():
            self.reported.setdefault(id(param), param)

    def condition(self, expr: ir.Expr, guarded: frozenset[str]) -> None:
        """A condition: a null that reaches it decides it."""
        self.report(self.value(expr, guarded))

    def query(self, query: ir.Query, guarded: frozenset[str]) -> None:
        for source in query.sources:
            if source.on is not None:
                self.condition(source.on, guarded)
        if query.where is not None:
            self.condition(query.where, guarded)

    def deciding(self, guarded: frozenset[str], *operands: ir.Expr) -> _Carried:
        """A comparison or test of `operands`: report the nulls that reach it; it is not null."""
        carried: _Carried = {}
        for operand in operands:
            for name, param in self.value(operand, guarded).items():
                carried.setdefault(name, param)
        self.report(carried)
        return {}

    def value(self, expr: ir.Expr, guarded: frozenset[str]) -> _Carried:
        """The nullable parameters whose null makes `expr` null, after reporting inside it."""
        if isinstance(expr, ir.Param):
            return {expr.name: expr} if expr.nullable and expr.name not in guarded else {}
        if isinstance(expr, ir.LetRef):
            return self.let(expr.name, guarded)
        if isinstance(expr, ir.IsNull):
            self.value(expr.operand, guarded)
            return {}
        if isinstance(expr, ir.Not):
            return self.value(expr.operand, guarded)
        if isinstance(expr, ir.Logic):
            return self.logic(expr, guarded)
        if isinstance(expr, ir.Compare):
            return self.deciding(guarded, expr.left, expr.right)
        if isinstance(expr, ir.Between):
            return self.deciding(guarded, expr.operand, expr.low, expr.high)
        if isinstance(expr, ir.In):
            return self.deciding(guarded, expr.operand, *expr.items)
        if isinstance(expr, ir.InParam):
            return self.deciding(guarded, expr.operand)
        if isinstance(expr, ir.ValueOf):
            self.value(expr.key, guarded)  # a null key gives the default: decided by the rule
            return self.value(expr.default, guarded)
        if isinstance(expr, ir.Func):
            return self.function(expr, guarded)
        if isinstance(expr, ir.Case):
            return self.case(expr, guarded)
        if isinstance(expr, ir.DefCall):
            if expr.type is Type.BOOL:
                return self.deciding(guarded, *expr.args)
            return self.union(guarded, expr.args)
        if isinstance(expr, ir.Agg):
            if expr.filter is not None:
                self.condition(expr.filter, guarded)
            return self.union(guarded, expr.args)
        if isinstance(expr, ir.Exists):
            self.query(expr.query, guarded)
            return {}
        if isinstance(expr, ir.Scalar):
            self.query(expr.query, guarded)
            return self.value(expr.select, guarded)
        return self.union(guarded, ir.children(expr))

    def union(self, guarded: frozenset[str], parts: Iterable[ir.Expr]) -> _Carried:
        carried: _Carried = {}
        for part in parts:
            for name, param in self.value(part, guarded).items():
                carried.setdefault(name, param)
        return carried

    def let(self, name: str, guarded: frozenset[str]) -> _Carried:
        if name not in self.lets:
            return {}
        key = (name, guarded)
        if key not in self._let_cache:
            self._let_cache[key] = {}  # a let cannot read itself; this only stops a loop
            self._let_cache[key] = self.value(self.lets[name], guarded)
        return self._let_cache[key]

    def logic(self, expr: ir.Logic, guarded: frozenset[str]) -> _Carried:
        """`and` / `or`: each item guarded by the null tests beside it."""
        tests = [_tested(item, self.lets) for item in expr.items]
        carried: _Carried = {}
        for i, item in enumerate(expr.items):
            # Beside `or`, `$x is null` says what null means; beside `and`, `$x is not null`.
            beside = {
                test[0]
                for j, test in enumerate(tests)
                if j != i and test is not None and test[1] == (expr.op == "or")
            }
            for name, param in self.value(item, guarded | beside).items():
                carried.setdefault(name, param)
        return carried

    def function(self, func: ir.Func, guarded: frozenset[str]) -> _Carried:
        if func.name == "coalesce":
            each = [self.value(arg, guarded) for arg in func.args]
            return {n: p for n, p in each[0].items() if all(n in other for other in each[1:])}
        if func.name == "if":
            test, then, *otherwise = func.args  # `if(c, a)` is null otherwise
            self.condition(test, guarded)
            tested = _tested(test, self.lets)
            then_guard, else_guard = guarded, guarded
            if tested is not None:
                name, is_null = tested
                then_guard, else_guard = (
                    (guarded, guarded | {name}) if is_null else (guarded | {name}, guarded)
                )
            carried = dict(self.value(then, then_guard))
            for branch in otherwise:
                for name, param in self.value(branch, else_guard).items():
                    carried.setdefault(name, param)
            return carried
        if func.name == "blank":
            self.value(func.args[0], guarded)
            return {}
        if func.type is Type.BOOL:
            return self.deciding(guarded, *func.args)
        return self.union(guarded, func.args)

    def case(self, expr: ir.Case, guarded: frozenset[str]) -> _Carried:
        """`case`: each `when` a condition, each value guarded as its `when` says.

        `when $x is not null then a` guards a; after `when $x is null`, every
        later `when` and the `else` know that $x is not null.
        """
        carried: _Carried = {}
        for condition, value in expr.branches:
            self.condition(condition, guarded)
            tested = _tested(condition, self.lets)
            then_guard = guarded
            if tested is not None and not tested[1]:
                then_guard = guarded | {tested[0]}
            for name, param in self.value(value, then_guard).items():
                carried.setdefault(name, param)
            if tested is not None and tested[1]:
                guarded = guarded | {tested[0]}
        if expr.otherwise is not None:
            for name, param in self.value(expr.otherwise, guarded).items():
                carried.setdefault(name, param)
        return carried


def _tested(condition: ir.Expr, lets: dict[str, ir.Expr]) -> tuple[str, bool] | None:
    """(name, True) for `$name is null` or `blank($name)`, (name, False) for its negation."""
    if isinstance(condition, ir.LetRef) and condition.name in lets:
        return _tested(lets[condition.name], lets)  # a let reads only the lets before it
    if isinstance(condition, ir.IsNull) and isinstance(condition.operand, ir.Param):
        return condition.operand.name, not condition.negated
    if isinstance(condition, ir.Func) and condition.name == "blank":
        arg = condition.args[0]
        return (arg.name, True) if isinstance(arg, ir.Param) else None
    if isinstance(condition, ir.Not):
        inner = _tested(condition.operand, lets)
        return (inner[0], not inner[1]) if inner is not None else None
    return None
