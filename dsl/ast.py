"""The syntax tree of a rule file: frozen dataclasses, each with the span it came from.

The parser produces these and nothing else reads Lark trees. The tree says
what was written, not what it means: names are unresolved and unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dsl.diagnostics import Span

# ---- expressions ---------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A constant as written: kind is string, int, decimal, date, timestamp, bool or null."""

    span: Span
    kind: str
    value: str | int | Decimal | date | datetime | bool | None


@dataclass(frozen=True)
class Name:
    """A bare name: a `let`, or an argument inside a `define`."""

    span: Span
    name: str


@dataclass(frozen=True)
class ColumnRef:
    """`alias.column`."""

    span: Span
    alias: str
    column: str
    column_span: Span


@dataclass(frozen=True)
class ParamRef:
    """`$name`, a parameter declared in pack.yaml."""

    span: Span
    name: str


@dataclass(frozen=True)
class AsOf:
    """`as_of`, the day a run is evaluated for."""

    span: Span


@dataclass(frozen=True)
class OrderItem:
    span: Span
    expr: Expr
    descending: bool


@dataclass(frozen=True)
class Call:
    """A function, aggregate or shared definition applied to arguments."""

    span: Span
    name: str
    name_span: Span
    args: tuple[Expr, ...]
    star: bool = False
    distinct: bool = False
    order_by: tuple[OrderItem, ...] = ()
    filter: Expr | None = None  # count(* where …): only the rows for which it holds


@dataclass(frozen=True)
class Unary:
    """`not x` or `-x`."""

    span: Span
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary:
    """Arithmetic (+ - * /), comparison (= != < <= > >=) or logic (and, or)."""

    span: Span
    op: str
    left: Expr
    right: Expr
    op_span: Span


@dataclass(frozen=True)
class IsNull:
    span: Span
    operand: Expr
    negated: bool


@dataclass(frozen=True)
class InList:
    span: Span
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True)
class InParam:
    """`x in $name` / `x not in $name`: one of the items of a list parameter."""

    span: Span
    operand: Expr
    param: ParamRef
    negated: bool


@dataclass(frozen=True)
class Between:
    span: Span
    operand: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True)
class SourceRef:
    """A source (or shared relation) with the alias it goes by in this query."""

    span: Span
    source: str
    alias: str
    source_span: Span


@dataclass(frozen=True)
class Join:
    span: Span
    left: bool
    source: SourceRef
    on: Expr


@dataclass(frozen=True)
class Query:
    """`source alias join … where …`: the rows a model or a subquery ranges over."""

    span: Span
    source: SourceRef
    joins: tuple[Join, ...]
    where: Expr | None


@dataclass(frozen=True)
class Exists:
    span: Span
    query: Query


@dataclass(frozen=True)
class Subquery:
    """`(from … where … select aggregate)`: one value computed over other rows."""

    span: Span
    query: Query
    select: Expr


@dataclass(frozen=True)
class Case:
    """`case when c then v … [else w] end`: the value of the first `when` that holds.

    `operand` is what SQL's simple form puts after `case` (`case p.status when …`);
    the language has only the searched form, and the checker says how to write it.
    """

    span: Span
    branches: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr | None
    operand: Expr | None = None


@dataclass(frozen=True)
class FirstRow:
    """`first(from … where … order by … select x as name, …)`: the first row of a query.

    Only a `let`'s whole value (`let m = first(…)`); the model then reads the
    row's values as `m.name` (without `select`, the columns of its `from`
    source) and asks whether there is one with `exists(m)`.
    """

    span: Span
    name: str
    name_span: Span
    query: Query
    order_by: tuple[OrderItem, ...]
    select: tuple[SelectItem, ...]


Expr = (
    Literal
    | Name
    | ColumnRef
    | ParamRef
    | AsOf
    | Call
    | Unary
    | Binary
    | IsNull
    | InList
    | InParam
    | Between
    | Exists
    | Subquery
    | Case
    | FirstRow
)

# ---- message templates ---------------------------------------------------------


@dataclass(frozen=True)
class TemplateText:
    text: str


@dataclass(frozen=True)
class TemplateHole:
    """`{expr}` inside a message; `expr` may be wrapped in a formatter such as wan().

    `default` is the text written when the value is null: `{g.signed_on ?? '无'}`.
    `text` is the expression as written, without the default.
    """

    span: Span
    expr: Expr
    text: str
    default: str | None = None


@dataclass(frozen=True)
class Template:
    span: Span
    parts: tuple[TemplateText | TemplateHole, ...]


# ---- model clauses -------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """A clause of a model: `kind` names it (domain, from, where, key, …)."""

    span: Span
    kind: str
    value: Any


@dataclass(frozen=True)
class Let:
    span: Span
    name: str
    expr: Expr


@dataclass(frozen=True)
class GivenRow:
    """One row of a source in an example (`given` or `pending`); omitted columns are null."""

    span: Span
    source: str
    source_span: Span
    fields: tuple[tuple[str, Literal, Span], ...]


@dataclass(frozen=True)
class Expectation:
    """`expect "KEY" [changed] [township "…"] [message "…"]`.

    `changed`: in a pre-check example, the warning exists already and the pending
    rows change its message (without it, the pending rows raise it anew).
    """

    span: Span
    key: str
    township: str | None
    message: str | None
    changed: bool = False


@dataclass(frozen=True)
class ListValue:
    """A list parameter's value in an example: `$methods = [邀请招标, 竞争性谈判]`."""

    span: Span
    items: tuple[Literal, ...]


@dataclass(frozen=True)
class MapValue:
    """A map parameter's value in an example: `$days = {公开招标: 20}` (key, its span, value).

    A key written twice is kept, for the checker to report.
    """

    span: Span
    entries: tuple[tuple[str, Span, Literal], ...]


ParamValue = Literal | ListValue | MapValue


@dataclass(frozen=True)
class Example:
    """An inline example: data as of a day and the exact warnings it must raise.

    With `pending` rows it is a pre-check: the `given` rows are what is stored,
    and the warnings expected are those the pending rows would add or change.
    """

    span: Span
    title: str
    as_of: Literal | None
    given: tuple[GivenRow, ...]
    params: tuple[tuple[str, ParamValue, Span], ...]
    expect: tuple[Expectation, ...]
    expect_none: bool
    pending: tuple[GivenRow, ...] = ()


@dataclass(frozen=True)
class Model:
    span: Span
    id: str
    id_span: Span
    title: str | None
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Param:
    span: Span
    name: str
    type_name: str
    type_span: Span


@dataclass(frozen=True)
class Define:
    """A named expression with typed arguments, shared by many models."""

    span: Span
    name: str
    name_span: Span
    title: str | None
    params: tuple[Param, ...]
    body: Expr


@dataclass(frozen=True)
class SelectItem:
    span: Span
    expr: Expr
    name: str


# Fields added to a node after rules were written with it: left out of to_json while
# they hold their default, so that a rule that does not use them keeps its revision.
_LATER = {"omitted_when_default": True}


@dataclass(frozen=True)
class Branch:
    """`from … [group by … [having …]] select [distinct] …`: one part of a relation."""

    span: Span
    query: Query
    select: tuple[SelectItem, ...]
    distinct: bool = field(default=False, metadata=_LATER)
    group_by: tuple[Expr, ...] = field(default=(), metadata=_LATER)
    having: Expr | None = field(default=None, metadata=_LATER)


@dataclass(frozen=True)
class Relation:
    """A named set of rows (a union of queries) that models use like a source."""

    span: Span
    name: str
    name_span: Span
    title: str | None
    branches: tuple[Branch, ...]


@dataclass(frozen=True)
class Indicator:
    """`indicator name "中文" = expr when divisor = 0 then value …`."""

    span: Span
    name: str
    title: str
    expr: Expr
    cases: tuple[tuple[Expr, Expr], ...]
    unit: str | None = None  # "percent": a ratio shown as a percentage
    unit_span: Span | None = None


@dataclass(frozen=True)
class PartItem:
    span: Span
    points: Decimal
    indicator: str
    indicator_span: Span
    higher_is_better: bool


@dataclass(frozen=True)
class Part:
    span: Span
    id: str
    title: str
    items: tuple[PartItem, ...]


@dataclass(frozen=True)
class Band:
    """A colour of the map, and when a township's rank gets it (None: the rest)."""

    span: Span
    colour: str
    title: str
    condition: Expr | None


@dataclass(frozen=True)
class Index:
    """The integrity index: measures, indicators, parts and points, ranking and colours."""

    span: Span
    name: str
    name_span: Span
    title: str | None
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Lookup:
    """A keyed lookup of a reference source, called like a function.

    `lookup township_name(code) "乡镇名称" = ref_township.name by township default code`:
    the `column` of the `source` row whose `by` columns equal the arguments, in
    order; where there is none (or its value is null), `default` (null without one).
    """

    span: Span
    name: str
    name_span: Span
    title: str | None
    params: tuple[tuple[str, Span], ...]
    source: str
    source_span: Span
    column: str
    column_span: Span
    by: tuple[tuple[str, Span], ...]
    default: Expr | None


Item = Model | Define | Relation | Index | Lookup


@dataclass(frozen=True)
class RuleFile:
    path: str
    text: str
    items: tuple[Item, ...] = field(default=())


def to_json(node: Any) -> Any:
    """Plain JSON-able data for any AST node, for debugging, golden files and revisions.

    A file's source text and a hole's text as written are left out (they are
    layout: the items and the hole's expression say what they mean); a
    message's own words are kept, since rewording a message changes the rule.
    So are fields added later that hold their default (`_LATER`).
    """
    if is_dataclass(node) and not isinstance(node, type):
        data: dict[str, Any] = {"node": type(node).__name__}
        for f in fields(node):
            if f.name == "text" and isinstance(node, RuleFile | TemplateHole):
                continue
            if f.metadata.get("omitted_when_default") and getattr(node, f.name) == f.default:
                continue
            data[f.name] = to_json(getattr(node, f.name))
        return data
    if isinstance(node, tuple | list):
        return [to_json(item) for item in node]
    if isinstance(node, date | datetime | Decimal):
        return str(node)
    return node
