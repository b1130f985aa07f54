"""The expression checker: one written expression to a typed `ir` expression, in a given scope.

This is the core the planners share (dsl/check/models.py, dsl/check/index.py,
and the shared definitions, relations and lookups of dsl/check/shared.py):
each says what names an expression sees (a `Scope`) and where it stands (a
`Context`), and `ExpressionChecker.check` resolves its names, columns,
parameters, functions, aggregates, bound rows and lookups, types it, and
reports every mistake (never raising). Subqueries (`exists`, `(from … select
…)`) are expressions too, so the queries they read are checked here as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from dsl import ast, ir
from dsl.check.report import Reporter
from dsl.check.report import article as _a
from dsl.diagnostics import Span
from dsl.functions import SIGNATURES, check_arguments
from dsl.node import walk
from dsl.pack import Parameter
from dsl.suggest import did_you_mean
from dsl.types import NUMERIC, Type, unify

if TYPE_CHECKING:
    from dsl.check.shared import SharedDefinitions

# `{key}` in a message: the warning's key as the ledger writes it (ir.KeyHole).
KEY_HOLE = "key"


@dataclass
class Scope:
    """Names visible in one query level; `parent` is the enclosing query (correlation).

    A model's own level also holds the rows its lets bind (`let m = first(from …)`),
    by the uid of the binding their name stands for: queries nested in the model
    find them through `parent`.
    """

    bindings: dict[str, ir.Binding] = field(default_factory=dict)
    parent: Scope | None = None
    lets: dict[str, ir.Expr] = field(default_factory=dict)
    args: dict[str, Type] = field(default_factory=dict)
    rows: dict[int, ir.BoundRow] = field(default_factory=dict)

    def levels(self) -> Iterator[Scope]:
        """The levels a name is looked up in: this one, then each enclosing one outwards."""
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent

    def find_alias(self, alias: str) -> ir.Binding | None:
        return next((s.bindings[alias] for s in self.levels() if alias in s.bindings), None)

    def all_aliases(self) -> list[str]:
        return [alias for s in self.levels() for alias in s.bindings]

    def find_let(self, name: str) -> ir.Expr | None:
        return next((s.lets[name] for s in self.levels() if name in s.lets), None)

    def find_arg(self, name: str) -> Type | None:
        return next((s.args[name] for s in self.levels() if name in s.args), None)

    def find_row(self, uid: int) -> ir.BoundRow | None:
        """The bound row whose binding has `uid`, if a level of this scope binds it."""
        return next((s.rows[uid] for s in self.levels() if uid in s.rows), None)


@dataclass(frozen=True)
class Context:
    """Where an expression stands: may it hold aggregates, is it inside one, and in what.

    The first four fields are of the position alone; a subquery or an aggregate
    starts afresh (`at`). The last three are of what is being checked, and hold
    for everything written inside the expression, however deep: `unit` is
    "model", "index" or "shared" (a shared definition, relation or lookup), `in_on`
    whether it is in a join's `on`, and `township` what `{township}` names while
    a model's message is checked (None elsewhere, and in a pack without townships).
    """

    aggregates: bool = False
    inside_aggregate: bool = False
    first_allowed: bool = False
    clause: str = "where"
    unit: str = "shared"
    in_on: bool = False
    township: ir.Expr | None = None

    def at(
        self,
        clause: str,
        *,
        aggregates: bool = False,
        inside_aggregate: bool = False,
        first_allowed: bool = False,
    ) -> Context:
        """A fresh position within what this context checks (its unit, `on`, township kept)."""
        return replace(
            self,
            clause=clause,
            aggregates=aggregates,
            inside_aggregate=inside_aggregate,
            first_allowed=first_allowed,
        )


class ExpressionChecker(Reporter):
    """Checks expressions against the pack's shared definitions; see the module docstring.

    Entry points: `check(node, scope, context)` for any value, `condition` for one
    that must be a yes/no, `query` for a `from … join … where …`, and `grouping`
    for what a grouped query may read outside its aggregates. The scope and the
    context are the caller's; the only state kept here is `left_out`, so use one
    checker per thing checked (a model, a definition, the index).
    """

    def __init__(self, shared: SharedDefinitions) -> None:
        super().__init__(shared.diagnostics)
        self.shared = shared
        self.pack = shared.pack
        # Shared definitions and lookups called here that were left out for their size
        # (reported where they are declared): a definition calling one is left out too.
        self.left_out: set[str] = set()

    def check(self, node: ast.Expr, scope: Scope, ctx: Context) -> ir.Expr:
        """`node` typed, its names resolved in `scope`; its mistakes reported, never raised."""
        handler = self.HANDLERS.get(type(node))
        if handler is None:
            raise TypeError(f"no expression check for {type(node).__name__}")
        return handler(self, node, scope, ctx)

    def condition(self, node: ast.Expr, scope: Scope, ctx: Context) -> ir.Expr:
        value = self.check(node, scope, ctx)
        if value.type not in (Type.BOOL, Type.ERROR, Type.NULL):
            self.error(
                "E303.condition_needed",
                node.span,
                zh=value.type.zh,
                a_type=_a(value.type),
                hints=["例如 p.investment >= $tender_threshold"],
            )
        return value

    def _literal(self, node: ast.Literal, scope: Scope, ctx: Context) -> ir.Expr:
        return ir.Lit(node.value, Type(node.kind), node.span)

    def _asof(self, node: ast.AsOf, scope: Scope, ctx: Context) -> ir.Expr:
        return ir.AsOf(span=node.span)

    def _paramref(self, node: ast.ParamRef, scope: Scope, ctx: Context) -> ir.Expr:
        param = self._declared(node)
        if param is None:
            return ir.Param(node.name, Type.ERROR, node.span)
        if param.shape != "scalar":
            self.error(
                "E370",
                node.span,
                name=node.name,
                type_zh=param.type_zh,
                type_name=param.type_name,
                hints=[_collection_hint(node.name, param.shape)],
            )
            return ir.Param(node.name, Type.ERROR, node.span)
        return ir.Param(node.name, param.type, node.span, nullable=param.nullable)

    def _declared(self, node: ast.ParamRef) -> Parameter | None:
        """The parameter `node` names, or None after E203."""
        param = self.pack.parameters.get(node.name)
        if param is None:
            self.error(
                "E203",
                node.span,
                name=node.name,
                hints=[
                    *did_you_mean(node.name, self.pack.parameters, "$"),
                    "参数须先在 pack.yaml 的 parameters 下声明（类型、默认值、单位、说明）",
                ],
            )
        return param

    def _collection(self, node: ast.ParamRef, shape: str, used: str) -> ir.Param:
        """A list or map parameter as read by `in` or `value_of`: typed by its items (E270/E271)."""
        param = self._declared(node)
        if param is None:
            return ir.Param(node.name, Type.ERROR, node.span)
        if param.shape != shape:
            key = "E270" if shape == "list" else "E271.not_a_map"
            hint = (
                f"与一个值比较写 x = ${node.name} / compare with one value: x = ${node.name}"
                if param.shape == "scalar"
                else _collection_hint(node.name, param.shape)
            )
            self.error(
                key,
                node.span,
                hints=[hint],
                used=used,
                name=node.name,
                type_zh=param.type_zh,
                type_name=param.type_name,
            )
            return ir.Param(node.name, Type.ERROR, node.span)
        return ir.Param(node.name, param.type, node.span)

    def _columnref(self, node: ast.ColumnRef, scope: Scope, ctx: Context) -> ir.Expr:
        binding = scope.find_alias(node.alias)
        if binding is None:
            hints = list(did_you_mean(node.alias, scope.all_aliases()))
            named = [a for a in scope.all_aliases() if scope.find_alias(a).source == node.alias]
            if named:
                hints = [
                    f"{node.alias} 在这里的别名是 {named[0]}，写成 {named[0]}.{node.column} / "
                    f"{node.alias} is called {named[0]} here: write {named[0]}.{node.column}"
                ]
            elif node.alias in self.pack.sources:
                hints.append(f"来源 {node.alias} 须先在 from 或 join 中引入并起别名")
            self.error(
                "E202",
                Span(
                    node.span.file,
                    node.span.line,
                    node.span.column,
                    node.span.line,
                    node.span.column + len(node.alias),
                ),
                alias=node.alias,
                hints=hints,
            )
            return ir.Col(ir.Binding(0, node.alias, "", False), node.column, Type.ERROR, node.span)
        row = scope.find_row(binding.uid)
        if row is not None:
            return self._bound_column(node, row)
        columns = self.shared.columns_of(binding)
        if columns is None:
            return ir.Col(binding, node.column, Type.ERROR, node.span)
        if node.column not in columns:
            self.error(
                "E201",
                node.column_span,
                source=binding.source,
                column=node.column,
                hints=did_you_mean(node.column, columns)
                or (f"{binding.source} 的列：{', '.join(list(columns)[:12])}",),
            )
            return ir.Col(binding, node.column, Type.ERROR, node.span)
        return ir.Col(binding, node.column, columns[node.column], node.span)

    def _name(self, node: ast.Name, scope: Scope, ctx: Context) -> ir.Expr:
        let = scope.find_let(node.name)
        if let is not None:
            return ir.LetRef(node.name, let.type, node.span)
        arg = scope.find_arg(node.name)
        if arg is not None:
            return ir.Arg(node.name, arg, node.span)
        if node.name == KEY_HOLE:
            self.error(
                "E261",
                node.span,
                hints=[
                    "要用键的值计算或比较，写键的表达式，例如 p.project_id / "
                    "to compute with the key, write its expression, e.g. p.project_id"
                ],
            )
            return ir.Lit(None, Type.ERROR, node.span)
        row = self._bound_row_named(node.name, scope)
        if row is not None:
            first = row.columns[0][0] if row.columns else "列名"
            self.error(
                "E251.row_bound_first",
                node.span,
                name=node.name,
                hints=[
                    f"读它的一列写 {node.name}.{first}；问有没有这一行写 exists({node.name}) / "
                    f"read a value as {node.name}.{first}; ask whether there is one with "
                    f"exists({node.name})"
                ],
            )
            return ir.Lit(None, Type.ERROR, node.span)
        if node.name == "township" and ctx.township is not None:
            if ctx.inside_aggregate and ir.has_aggregate(ctx.township):
                self.error("E305.township_in_aggregate", node.span)
            return self._township_name(node, ctx.township)
        hints = list(did_you_mean(node.name, [*scope.lets, *scope.args]))
        if node.name == "township":
            hints.append(
                "{township} 只在消息的花括号中表示预警乡镇的名称；条件中请写乡镇代码列，"
                "例如 p.township / {township} names the warning's township in a message only"
            )
        if scope.find_alias(node.name):
            hints.append(f"{node.name} 是来源的别名；列写成 {node.name}.列名")
        else:
            owners = [
                a
                for a in scope.all_aliases()
                if node.name in (self.shared.columns_of(scope.find_alias(a)) or {})
            ]
            if owners:
                hints.append(f"列名前要写别名，例如 {owners[0]}.{node.name}")
        self.error("E205", node.span, name=node.name, hints=hints)
        return ir.Lit(None, Type.ERROR, node.span)

    def _unary(self, node: ast.Unary, scope: Scope, ctx: Context) -> ir.Expr:
        if node.op == "not":
            return ir.Not(self.condition(node.operand, scope, ctx), span=node.span)
        operand = self.check(node.operand, scope, ctx)
        if operand.type not in NUMERIC | {Type.ERROR, Type.NULL}:
            self.error(
                "E304.minus_needs_number", node.span, zh=operand.type.zh, a_type=_a(operand.type)
            )
        return ir.Neg(operand, operand.type, node.span)

    def _binary(self, node: ast.Binary, scope: Scope, ctx: Context) -> ir.Expr:
        if node.op in ("and", "or"):
            items: list[ir.Expr] = []
            for side in (node.left, node.right):
                value = self.condition(side, scope, ctx)
                if isinstance(value, ir.Logic) and value.op == node.op:
                    items.extend(value.items)
                else:
                    items.append(value)
            return ir.Logic(node.op, tuple(items), span=node.span)
        left = self.check(node.left, scope, ctx)
        right = self.check(node.right, scope, ctx)
        if node.op in ("=", "!=", "<", "<=", ">", ">="):
            self._comparable(left, right, node.op_span, node.op)
            return ir.Compare(node.op, left, right, span=node.span)
        return self._arith(node, left, right)

    def _comparable(self, left: ir.Expr, right: ir.Expr, span: Span, op: str) -> None:
        if unify(left.type, right.type) is not None:
            if op not in ("=", "!=") and left.type is Type.BOOL:
                self.error("E300.booleans_order", span)
            return
        hints = []
        pair = {left.type, right.type}
        if pair == {Type.DATE, Type.TIMESTAMP}:
            hints.append("用 date(x) 取时间戳的日期再比较 / compare date(x) with the date")
        elif Type.STRING in pair and pair & NUMERIC:
            hints.append("文本与数字不能直接比较；数字不加引号，编号要加引号")
        elif Type.STRING in pair and Type.DATE in pair:
            hints.append("日期直接写作 2021-04-20，不加引号")
        elif Type.DATE in pair and pair & NUMERIC and (_date_typo(left) or _date_typo(right)):
            hints.append("日期写成 YYYY-MM-DD（月、日各两位，不加引号），例如 2021-01-01")
        elif Type.DATE in pair and pair & NUMERIC:
            hints.append("日期与数字不能比较；求天数用 days_between(a, b)")
        self.error(
            "E300.cannot_compare",
            span,
            type_zh=left.type.zh,
            right_type_zh=right.type.zh,
            type_value=left.type.value,
            right_type_value=right.type.value,
            hints=hints,
        )

    def _arith(self, node: ast.Binary, left: ir.Expr, right: ir.Expr) -> ir.Expr:
        op, lt, rt = node.op, left.type, right.type
        if Type.ERROR in (lt, rt):
            return ir.Arith(op, left, right, Type.ERROR, node.span)
        if op in ("+", "-") and lt is Type.DATE and rt in (Type.INT, Type.NULL):
            return ir.Arith(op, left, right, Type.DATE, node.span)
        if op == "+" and rt is Type.DATE and lt is Type.INT:
            return ir.Arith(op, right, left, Type.DATE, node.span)
        if lt in NUMERIC | {Type.NULL} and rt in NUMERIC | {Type.NULL}:
            if op == "/":
                result = Type.FLOAT
            else:
                result = unify(lt, rt) or Type.DECIMAL
                if result is Type.NULL:
                    result = Type.INT
            return ir.Arith(op, left, right, result, node.span)
        hints = []
        if lt is Type.DATE and rt is Type.DATE and op == "-":
            hints.append("两个日期相差的天数用 days_between(a, b)")
        elif lt is Type.DATE:
            hints.append("日期只能加减整数天数，月份用 add_months(d, n)")
        elif Type.STRING in (lt, rt):
            hints.append('文字拼接用 concat(a, b)；消息中直接写 "{p.name}工程"')
        self.error(
            "E304.operator",
            node.op_span,
            lt_zh=lt.zh,
            rt_zh=rt.zh,
            op=op,
            lt_value=lt.value,
            rt_value=rt.value,
            hints=hints,
        )
        return ir.Arith(op, left, right, Type.ERROR, node.span)

    def _isnull(self, node: ast.IsNull, scope: Scope, ctx: Context) -> ir.Expr:
        return ir.IsNull(self.check(node.operand, scope, ctx), node.negated, span=node.span)

    def _inlist(self, node: ast.InList, scope: Scope, ctx: Context) -> ir.Expr:
        operand = self.check(node.operand, scope, ctx)
        items = tuple(self.check(i, scope, ctx) for i in node.items)
        for item, item_ast in zip(items, node.items, strict=True):
            if unify(operand.type, item.type) is None:
                self.error(
                    "E310",
                    item_ast.span,
                    type_zh=item.type.zh,
                    operand_type_zh=operand.type.zh,
                    a_item_type=_a(item.type),
                    a_operand_type=_a(operand.type),
                )
        return ir.In(operand, items, node.negated, span=node.span)

    def _inparam(self, node: ast.InParam, scope: Scope, ctx: Context) -> ir.Expr:
        operand = self.check(node.operand, scope, ctx)
        items = self._collection(node.param, "list", "not in" if node.negated else "in")
        if unify(operand.type, items.type) is None:
            self.error(
                "E371.item_type",
                node.span,
                name=items.name,
                type_zh=items.type.zh,
                operand_type_zh=operand.type.zh,
                value=items.type.value,
                a_type=_a(operand.type),
            )
        return ir.InParam(operand, items, node.negated, span=node.span)

    def _value_of(self, node: ast.Call, scope: Scope, ctx: Context) -> ir.Expr:
        """`value_of($map, key, default)`: a map parameter's value for a key (E271, E371)."""
        usage = f"用法 usage: {SIGNATURES[node.name].example}"
        if node.star or node.distinct or node.order_by or node.filter or len(node.args) != 3:
            self.error("E302.value_of_arguments", node.span, name=node.name, hints=[usage])
            return ir.Lit(None, Type.ERROR, node.span)
        written, key_ast, default_ast = node.args
        key = self.check(key_ast, scope, ctx)
        default = self.check(default_ast, scope, ctx)
        if not isinstance(written, ast.ParamRef):
            self.error("E271.not_a_parameter", written.span, name=node.name, hints=[usage])
            return ir.Lit(None, Type.ERROR, node.span)
        values = self._collection(written, "map", node.name)
        if unify(key.type, Type.STRING) is None:
            self.error(
                "E371.keys_text",
                key_ast.span,
                name=values.name,
                zh=key.type.zh,
                a_type=_a(key.type),
            )
        result = unify(values.type, default.type)
        if result is None:
            self.error(
                "E371.default_values",
                default_ast.span,
                name=values.name,
                type_zh=values.type.zh,
                default_type_zh=default.type.zh,
                a_values_type=_a(values.type),
                a_default_type=_a(default.type),
            )
            result = Type.ERROR
        return ir.ValueOf(values, key, default, result, node.span)

    def _between(self, node: ast.Between, scope: Scope, ctx: Context) -> ir.Expr:
        operand = self.check(node.operand, scope, ctx)
        low = self.check(node.low, scope, ctx)
        high = self.check(node.high, scope, ctx)
        self._comparable(operand, low, node.low.span, "between")
        self._comparable(operand, high, node.high.span, "between")
        return ir.Between(operand, low, high, span=node.span)

    def _case(self, node: ast.Case, scope: Scope, ctx: Context) -> ir.Expr:
        """`case when … then … else … end`: conditions, and values of one type (E365)."""
        if node.operand is not None:
            return self._case_with_operand(node, scope, ctx)
        branches: list[tuple[ir.Expr, ir.Expr]] = []
        result = Type.NULL
        seen: list[tuple[Type, Span]] = []  # the type of each value so far, and where

        def joined(value: ir.Expr, written: ast.Expr) -> None:
            nonlocal result
            shared = unify(result, value.type)
            if shared is None:
                first = next(span for t, span in seen if t is not Type.NULL)
                self._case_types_differ(result, value.type, written.span, first)
                shared = Type.ERROR
            seen.append((value.type, written.span))
            result = shared

        for condition_ast, value_ast in node.branches:
            condition = self.condition(condition_ast, scope, ctx)
            value = self.check(value_ast, scope, ctx)
            joined(value, value_ast)
            branches.append((condition, value))
        otherwise = None
        if node.otherwise is not None:
            otherwise = self.check(node.otherwise, scope, ctx)
            joined(otherwise, node.otherwise)
        return ir.Case(tuple(branches), otherwise, result, node.span)

    def _case_types_differ(self, before: Type, here: Type, span: Span, first: Span) -> None:
        """E365: a `then` or `else` value of a type the values before it don't share."""
        pair = {before, here}
        hints = []
        if pair == {Type.DATE, Type.TIMESTAMP}:
            hints.append("用 date(x) 取时间戳的日期 / take a timestamp's date with date(x)")
        elif Type.STRING in pair and pair & NUMERIC:
            hints.append(
                "数字不加引号；要写成文字，用 concat(…) 或在消息中写 {…} / numbers take no "
                "quotes; to write one as text, use concat(…) or a message hole"
            )
        elif Type.BOOL in pair:
            hints.append(
                "条件本身就是是/否：case 的取值写成 true、false，或写成数值、文字 / "
                "a condition is a yes/no: give true/false, or numbers or texts throughout"
            )
        self.error(
            "E365",
            span,
            before_zh=before.zh,
            here_zh=here.zh,
            before_value=before.value,
            here_value=here.value,
            hints=[
                *hints,
                f"第一个取值在第 {first.line} 行第 {first.column} 列；"
                "整数、金额、浮点数之间可以混用 / "
                f"the first value is at {first.line}:{first.column}; int, decimal and float mix",
            ],
        )

    def _case_with_operand(self, node: ast.Case, scope: Scope, ctx: Context) -> ir.Expr:
        """E366: SQL's `case x when 1 then …`, which the language writes `case when x = 1 …`."""
        assert node.operand is not None
        self.check(node.operand, scope, ctx)  # its own mistakes are reported too
        for written, value in node.branches:
            self.check(written, scope, ctx)
            self.check(value, scope, ctx)
        if node.otherwise is not None:
            self.check(node.otherwise, scope, ctx)
        operand = _written(node.operand)
        first = _written(node.branches[0][0])
        self.error(
            "E366",
            node.operand.span,
            hints=[
                f"写成 case when {operand} = {first} then … end / "
                f"write case when {operand} = {first} then … end"
            ],
        )
        return ir.Lit(None, Type.ERROR, node.span)

    def _exists(self, node: ast.Exists, scope: Scope, ctx: Context) -> ir.Expr:
        written = node.query
        name = written.source.source
        row = self._bound_row_named(name, scope)
        alone = written.source.alias == name and not written.joins and written.where is None
        a_source = name in self.pack.sources or name in self.shared.relation_asts
        if row is not None and (alone or not a_source):
            if not alone:
                self.error(
                    "E251.exists_takes_bound",
                    node.span,
                    name=row.name,
                    hints=[
                        f"条件写在 first(…) 的 where 中，或写 exists({row.name}) and "
                        f"{row.name}.列 > … / put conditions in first(…)'s where, or write "
                        f"exists({row.name}) and a condition on its values"
                    ],
                )
            return ir.RowFound(row.binding, span=node.span)
        inner = Scope(parent=scope)
        return ir.Exists(self.query(node.query, inner, ctx), span=node.span)

    def _subquery(self, node: ast.Subquery, scope: Scope, ctx: Context) -> ir.Expr:
        inner = Scope(parent=scope)
        query = self.query(node.query, inner, ctx)
        select = self.check(node.select, inner, ctx.at("select", aggregates=True))
        own = set(inner.bindings.values())
        if not any(isinstance(n, ir.Agg) for n in walk(select)):
            self.error(
                "E307",
                node.select.span,
                hints=["例如 select sum(f.amount)、select min(a.accepted_on)、select count(*)"],
            )
        else:
            before = len(self.diagnostics)
            self.grouping(select, set(), own, inner)
            self.relabel(
                before,
                "E307",
                hint="子查询只返回一个值：把列放进 sum()、min()、max()、count() 等聚合函数",
            )
        return ir.Scalar(query, select, select.type, node.span)

    def _firstrow(self, node: ast.FirstRow, scope: Scope, ctx: Context) -> ir.Expr:
        """`first(from …)` anywhere but as a model let's whole value: E450."""
        self.error(
            "E450",
            node.span,
            name=node.name,
            hints=[
                "写成 let m = first(from … order by …)，再读 m.列名、用 exists(m) / write "
                "let m = first(from … order by …), then read m.name and exists(m)"
            ],
        )
        return ir.Lit(None, Type.ERROR, node.span)

    def _call(self, node: ast.Call, scope: Scope, ctx: Context) -> ir.Expr:
        sig = SIGNATURES.get(node.name)
        if sig is None and node.name in self.shared.define_asts:
            return self._define_call(node, scope, ctx)
        if sig is None and node.name in self.shared.lookup_asts:
            return self._lookup_call(node, scope, ctx)
        if sig is None:
            options = [*SIGNATURES, *self.shared.define_asts, *self.shared.lookup_asts]
            self.error(
                "E204",
                node.name_span,
                name=node.name,
                hints=[
                    *did_you_mean(node.name, options),
                    "函数须是内置函数或 policies 中的 define 共享定义",
                ],
            )
            return ir.Lit(None, Type.ERROR, node.span)
        if sig.kind == "parameter":
            return self._value_of(node, scope, ctx)
        if sig.kind == "formatter":
            self.error("E311.formatter_outside_hole", node.name_span, name=node.name)
            return ir.Lit(None, Type.ERROR, node.span)
        if sig.kind == "aggregate":
            return self._aggregate(node, sig, scope, ctx)
        if node.star or node.distinct or node.order_by or node.filter:
            self.error("E302.no_star_distinct_order", node.span, name=node.name)
        args = tuple(self.check(a, scope, ctx) for a in node.args)
        result = check_arguments(sig, [a.type for a in args])
        if not isinstance(result, Type):
            usage = [f"用法 usage: {sig.example}", sig.argument_hint]
            self.error(result.key("E302"), node.span, hints=usage, **result.fields)
            result = Type.ERROR
        if node.name == "if":
            args = (args[0], *args[1:])
        return ir.Func(node.name, args, result, node.span)

    def _aggregate(self, node: ast.Call, sig: Any, scope: Scope, ctx: Context) -> ir.Expr:
        if not ctx.aggregates:
            where_zh, where_en = (
                (" where、on、group by ", ctx.clause)
                if ctx.clause != "output"
                else ("没有 group by 的模型", "a model without 'group by'")
            )
            self.error(
                "E305.not_allowed_here",
                node.name_span,
                name=node.name,
                where_zh=where_zh,
                where_en=where_en,
                hints=[
                    "聚合只能用于 group by 模型的 having/key/township/message，"
                    "或子查询的 select，例如 (from fin_payment f where … select sum(f.amount))"
                ],
            )
        if ctx.inside_aggregate:
            self.error("E305.nested", node.name_span)
        inner = ctx.at(ctx.clause, inside_aggregate=True)
        args = tuple(self.check(a, scope, inner) for a in node.args)
        order = tuple((self.check(o.expr, scope, inner), o.descending) for o in node.order_by)
        if node.star and node.name != "count":
            self.error("E302.star_only_count", node.span)
        if node.name == "first":
            if not order:
                self.error("E302.first_needs_order", node.span, hints=[f"例如 {sig.example}"])
            if not ctx.first_allowed:
                self.error(
                    "E305.first_allowed_grouped",
                    node.name_span,
                    hints=["子查询中请用 min() 或 max()"],
                )
        elif order:
            self.error("E302.no_order_by", node.span, name=node.name)
        condition = self.condition(node.filter, scope, inner) if node.filter else None
        if node.star:
            return ir.Agg("count", (), Type.INT, star=True, filter=condition, span=node.span)
        result = check_arguments(sig, [a.type for a in args])
        if not isinstance(result, Type):
            usage = [f"用法 usage: {sig.example}"]
            self.error(result.key("E302"), node.span, hints=usage, **result.fields)
            result = Type.ERROR
        elif node.name in ir.QUANTILES:
            self._quantile(node, args)
        return ir.Agg(node.name, args, result, node.distinct, False, order, condition, node.span)

    def _quantile(self, node: ast.Call, args: tuple[ir.Expr, ...]) -> None:
        """quantile(x, p) and median(x): no distinct; p a number from 0 to 1 known before a run.

        Every warehouse's ordered aggregate wants p as a constant. A parameter
        qualifies when pack.yaml bounds it within [0, 1]: `param set` and
        deployment files then keep it there.
        """
        if node.distinct:
            self.error(
                "E377",
                node.span,
                name=node.name,
                hints=[
                    f"去掉 distinct，写 {node.name}(…)；"
                    "要按不同的值计算，先用 group by 把相同的值归为一组"
                ],
            )
        if node.name != "quantile":
            return
        fraction, span = args[1], node.args[1].span
        if isinstance(fraction, ir.Param):
            param = self.pack.parameters.get(fraction.name)
            if param is not None and not (
                param.minimum is not None
                and param.maximum is not None
                and 0 <= param.minimum
                and param.maximum <= 1
            ):
                self.error(
                    "E376.unbounded_parameter",
                    span,
                    name=param.name,
                    hints=[f"在 pack.yaml 中给 {param.name} 写上 min: 0 与 max: 1"],
                )
            return
        value = ir.number_written(fraction)
        if value is None:
            self.error(
                "E375",
                span,
                hints=["例如 quantile(r.amount, 0.75) 或 quantile(r.amount, $upper_quartile)"],
            )
        elif not 0 <= value <= 1:
            self.error(
                "E376.out_of_range",
                span,
                value=value,
                hints=["p 是比例：上四分位数写 0.75，不写 75；中位数写 median(…)"],
            )

    def _define_call(self, node: ast.Call, scope: Scope, ctx: Context) -> ir.Expr:
        target = self.shared.define(node.name, node.name_span)
        args = tuple(self.check(a, scope, ctx) for a in node.args)
        if target is None:
            if node.name in self.shared.oversized:
                self.left_out.add(node.name)
            return ir.Lit(None, Type.ERROR, node.span)
        declared = f"{node.name}(" + ", ".join(f"{n}: {t.value}" for n, t in target.params) + ")"
        if not self._arity(node, len(target.params), len(args), declared):
            return ir.Lit(None, Type.ERROR, node.span)
        for (pname, ptype), arg, arg_ast in zip(target.params, args, node.args, strict=True):
            if arg.type in (Type.ERROR, Type.NULL, ptype) or (
                ptype in NUMERIC and arg.type in NUMERIC
            ):
                continue
            self.error(
                "E301.argument",
                arg_ast.span,
                name=node.name,
                pname=pname,
                ptype_zh=ptype.zh,
                type_zh=arg.type.zh,
                ptype_value=ptype.value,
                type_value=arg.type.value,
            )
        if node.name in self.shared.lookup_defines:
            self._lookup_placement(node, args, scope, ctx)
        return ir.DefCall(node.name, args, target.type, node.span)

    def _arity(self, node: ast.Call, wanted: int, given: int, declared: str) -> bool:
        """Whether a call of a shared definition or lookup has as many arguments as declared.

        If not, E302 says how many, with the declaration (`declared`) as the hint.
        """
        if wanted == given:
            return True
        self.error(
            "E302.argument_count",
            node.span,
            name=node.name,
            expected=wanted,
            count=given,
            hints=[f"定义：{declared}"],
        )
        return False

    def _lookup_call(self, node: ast.Call, scope: Scope, ctx: Context) -> ir.Expr:
        """A call of a keyed lookup: its arguments are the key's values, in the `by` order."""
        target = self.shared.lookup(node.name, node.name_span)
        args = tuple(self.check(a, scope, ctx) for a in node.args)
        if node.star or node.distinct or node.order_by or node.filter:
            self.error("E302.no_star_distinct_order", node.span, name=node.name)
        if target is None:
            if node.name in self.shared.oversized:
                self.left_out.add(node.name)
            return ir.Lit(None, Type.ERROR, node.span)
        declared = (
            f"lookup {node.name}({', '.join(n for n, _ in target.params)}) = "
            f"{target.source}.{target.column} by {', '.join(target.by)}"
        )
        if not self._arity(node, len(target.params), len(args), declared):
            return ir.Lit(None, Type.ERROR, node.span)
        for (pname, ptype), key, arg, arg_ast in zip(
            target.params, target.by, args, node.args, strict=True
        ):
            if arg.type in (Type.ERROR, Type.NULL) or unify(arg.type, ptype) is not None:
                continue
            self.error(
                "E301.lookup_argument",
                arg_ast.span,
                name=node.name,
                pname=pname,
                source=target.source,
                key=key,
                ptype_zh=ptype.zh,
                type_zh=arg.type.zh,
                ptype_value=ptype.value,
                type_value=arg.type.value,
            )
        self._lookup_placement(node, args, scope, ctx)
        return ir.LookupCall(node.name, args, target.type, node.span)

    def _township_name(self, node: ast.Name, township: ir.Expr) -> ir.Expr:
        """`{township}` in a message: the model's township, named by pack.yaml's township_names."""
        lookup = self.shared.township_lookup()
        if lookup is None:
            if self.pack.township_names is None:
                self.error(
                    "E255",
                    node.span,
                    hints=[
                        "在 pack.yaml 中写 township_names: township_name / "
                        "add 'township_names: township_name' to pack.yaml"
                    ],
                )
            return ir.Lit(None, Type.ERROR, node.span)
        return ir.LookupCall(lookup.name, (township,), lookup.type, node.span)

    def _lookup_placement(
        self, node: ast.Call, args: tuple[ir.Expr, ...], scope: Scope, ctx: Context
    ) -> None:
        """Report a lookup (or a definition calling one) where it cannot be one left join.

        The compiler reads a lookup with a left join of its source on the key: at
        a model's own level, once per model (a key holding a subquery is computed
        first, as a let); inside a subquery, in that subquery's FROM, or in the FROM
        of the level whose rows the key reads. So a key must read the rows of one
        level, and inside a subquery it can be neither an aggregate of the
        subquery's rows nor hold a subquery of its own; and no lookup stands in a
        join's `on`, which is read before the left join is made.
        """
        if ctx.in_on:
            self.error(
                "E457",
                node.name_span,
                name=node.name,
                hints=["把这个条件写在 where 中 / write this condition in 'where'"],
            )
            return
        if ctx.unit == "index":
            self.error(
                "E458",
                node.name_span,
                name=node.name,
                hints=[
                    "指数按乡镇代码统计预警，乡镇名称由报告写出 / "
                    "the index counts warnings by township code; the report writes the names"
                ],
            )
            return
        chain = list(scope.levels())
        top = len(chain) - 1
        for arg, arg_ast in zip(args, node.args, strict=False):
            levels: set[int] = set()
            for n in walk(arg):
                if isinstance(n, ir.Col):
                    levels |= {
                        i
                        for i, s in enumerate(chain)
                        if any(b.uid == n.binding.uid for b in s.bindings.values())
                    }
                elif isinstance(n, ir.LetRef | ir.Arg):
                    levels.add(top)
            nested = any(isinstance(n, ir.Exists | ir.Scalar) for n in walk(arg))
            reason = None
            if len(levels) > 1:
                reason = (
                    "它同时读取子查询内外的行",
                    "it reads rows both inside and outside a subquery",
                )
            elif top > 0 and ir.has_aggregate(arg):
                reason = ("它是子查询中的聚合值", "it is an aggregate of a subquery's rows")
            elif nested and not (ctx.unit == "model" and levels <= {top}):
                reason = ("它本身含有子查询", "it holds a subquery of its own")
            if reason is not None:
                self.error(
                    "E459",
                    arg_ast.span,
                    name=node.name,
                    reason_zh=reason[0],
                    reason_en=reason[1],
                    hints=[
                        "先在模型中用 let 算出这个值，再把 let 传给它；子查询中的聚合值，"
                        "把查找写在子查询之外 / compute the value in a let of the model first "
                        "and pass the let; for a subquery's aggregate, call it outside the subquery"
                    ],
                )

    def query(self, node: ast.Query, scope: Scope, ctx: Context) -> ir.Query:
        """`from … join … on … where …`: its sources bound in `scope`, its conditions checked.

        `ctx` is where the query stands (what is checked, whether in an `on`);
        its own conditions start afresh there.
        """
        froms = [ir.From(self.bind(node.source, scope), None, None)]
        for join in node.joins:
            binding = self.bind(join.source, scope)
            on = self.condition(join.on, scope, replace(ctx.at("on"), in_on=True))
            froms.append(ir.From(binding, "left" if join.left else "inner", on))
        where = self.condition(node.where, scope, ctx.at("where")) if node.where else None
        return ir.Query(tuple(froms), where)

    def bind(self, ref: ast.SourceRef, scope: Scope) -> ir.Binding:
        uid = self.shared.new_uid()
        is_relation = ref.source in self.shared.relation_asts
        if not is_relation and ref.source not in self.pack.sources:
            options = [*self.pack.sources, *self.shared.relation_asts]
            self.error(
                "E200.unknown_source",
                ref.source_span,
                source=ref.source,
                hints=[
                    *did_you_mean(ref.source, options),
                    "来源须是 pack.yaml 中 sources 下的名称或共享的 relation",
                ],
            )
        elif is_relation:
            self.shared.relation(ref.source, ref.source_span)
        if ref.alias in scope.bindings:
            self.error("E206", ref.span, alias=ref.alias, hints=["给第二个来源换一个别名"])
        binding = ir.Binding(uid, ref.alias, ref.source, is_relation)
        scope.bindings[ref.alias] = binding
        return binding

    def grouping(
        self, expr: ir.Expr, groups: set[ir.Expr], top: set[ir.Binding], scope: Scope
    ) -> None:
        """Report columns of the model's rows used outside `group by` and outside aggregates."""
        if expr in groups or isinstance(expr, ir.Agg):
            return
        if isinstance(expr, ir.Col | ir.RowFound) and scope.find_row(expr.binding.uid) is not None:
            if expr.binding in top:
                self._bound_row_ungrouped(expr)
            return
        if isinstance(expr, ir.Col):
            if expr.binding in top:
                self.error(
                    "E306",
                    expr.span,
                    alias=expr.binding.alias,
                    column=expr.column,
                    hints=[
                        "把它加进 group by，或放进 min()、max()、first(… order by …) 等聚合函数"
                    ],
                )
            return
        if isinstance(expr, ir.LetRef):
            value = scope.find_let(expr.name)
            if value is not None:
                self.grouping(value, groups, top, scope)
            return
        for child in ir.children(expr):
            self.grouping(child, groups, top, scope)

    def _bound_column(self, node: ast.ColumnRef, row: ir.BoundRow) -> ir.Expr:
        """`m.name`: a value of the bound row `m` (E250 when it has none of that name)."""
        columns = dict(row.columns)
        if node.column in columns:
            return ir.Col(row.binding, node.column, columns[node.column].type, node.span)
        hints = list(did_you_mean(node.column, columns))
        owners = [
            src.binding.alias
            for src in row.query.sources
            if node.column in (self.shared.columns_of(src.binding) or {})
        ]
        if owners:
            hints.append(
                f"在 first(…) 末尾写 select {owners[0]}.{node.column} as {node.column}，"
                f"再读 {row.name}.{node.column} / add 'select {owners[0]}.{node.column} as "
                f"{node.column}' to first(…)"
            )
        elif not hints:
            hints.append(f"{row.name} 的列 its columns: {', '.join(list(columns)[:12])}")
        self.error("E250", node.column_span, name=row.name, column=node.column, hints=hints)
        return ir.Col(row.binding, node.column, Type.ERROR, node.span)

    def _bound_row_named(self, name: str, scope: Scope) -> ir.BoundRow | None:
        """The bound row `name` stands for in `scope`, if it is one."""
        binding = scope.find_alias(name)
        return scope.find_row(binding.uid) if binding is not None else None

    def _bound_row_ungrouped(self, expr: ir.Col | ir.RowFound) -> None:
        """E351: a bound row read outside aggregates and `group by` in a grouped model."""
        shown = (
            f"{expr.binding.alias}.{expr.column}"
            if isinstance(expr, ir.Col)
            else f"exists({expr.binding.alias})"
        )
        self.error(
            "E351",
            expr.span,
            shown=shown,
            hints=[
                "把它加进 group by，或放进 min()、max()、count(* where …) 等聚合函数 / group by it "
                "or aggregate it"
            ],
        )

    # Which method checks each class of expression node: keyed by the class itself, so a
    # renamed class cannot silently miss its check. tests/dsl/test_dispatch_check.py
    # holds every class of dsl.ast.Expr to having one.
    HANDLERS: ClassVar[dict[type, Callable[[Any, Any, Scope, Context], ir.Expr]]] = {
        ast.Literal: _literal,
        ast.Name: _name,
        ast.ColumnRef: _columnref,
        ast.ParamRef: _paramref,
        ast.AsOf: _asof,
        ast.Call: _call,
        ast.Unary: _unary,
        ast.Binary: _binary,
        ast.IsNull: _isnull,
        ast.InList: _inlist,
        ast.InParam: _inparam,
        ast.Between: _between,
        ast.Exists: _exists,
        ast.Subquery: _subquery,
        ast.Case: _case,
        ast.FirstRow: _firstrow,
    }


def _written(expr: ast.Expr) -> str:
    """An expression as a hint may show it: as written when short, else `…`."""
    text = {
        ast.ColumnRef: lambda e: f"{e.alias}.{e.column}",
        ast.Name: lambda e: e.name,
        ast.ParamRef: lambda e: f"${e.name}",
    }.get(type(expr))
    if text is not None:
        return text(expr)
    if isinstance(expr, ast.Literal) and expr.kind == "string":
        return json.dumps(expr.value, ensure_ascii=False)
    if isinstance(expr, ast.Literal) and expr.kind in ("int", "decimal"):
        return str(expr.value)
    return "…"


def _date_typo(expr: ir.Expr) -> bool:
    """Whether `expr` divides or subtracts whole numbers as if writing a date (2021/1/1)."""
    if not isinstance(expr, ir.Arith) or expr.op not in ("/", "-"):
        return False
    return all(
        _date_typo(part) or (isinstance(part, ir.Lit) and part.type is Type.INT)
        for part in (expr.left, expr.right)
    )


def _collection_hint(name: str, shape: str) -> str:
    """How a list or map parameter is read."""
    if shape == "list":
        return f"列表参数写在 in 之后：x in ${name} / a list is read as x in ${name}"
    return (
        f"映射参数按键取值：value_of(${name}, 键, 默认值) / "
        f"a map is read as value_of(${name}, key, default)"
    )
