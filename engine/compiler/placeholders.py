"""Where a compiled query leaves a value for the driver to bind: the as-of day and the parameters.

The reviewed files of compiled/ are compiled once, for every county: the as-of
day and each scalar parameter (`$shared_account_min`) are placeholders that a
run binds — the day it runs for, and the deployment's value of each parameter,
else the pack's default. So a deployment that changes a threshold still runs
the reviewed SQL, compiled and reviewed once, instead of compiling every model
at run time. Each warehouse binds in its own way:

| warehouse | placeholder | bound | typed |
|---|---|---|---|
| DuckDB | `$shared_account_min` | by name | cast (1) |
| SQLite (ADBC) | `:shared_account_min` | by position (2) | not (3) |
| PostgreSQL (ADBC) | `$2 /* shared_account_min */` | by number, as_of `$1` | cast (4) |
| Spark | `:shared_account_min` | by name (`spark.sql(…, args=…)`) | cast (1) |
| compiled only | their own: `:name`, `@name`, `{name: Type}` | — | cast (1) (5) |

1. A cast to the parameter's type (engine/compiler/functions.py's SQL_TYPES), so that a
   null is one of that type, but none for an amount or a float: the bound value's own
   type is the literal's (`0.333` is DECIMAL(3,3), 4000000 DECIMAL(7,0)); a cast to
   DECIMAL(18, 2) would round a county's ratio of 0.333 to 0.33.
2. SQLite numbers named parameters in the order each first appears in the text, and
   ADBC binds a row's columns by number: the header of a compiled file lists them so.
3. SQLite's values have no declared type; an amount is bound as a double, a date as
   ISO text, as the adapter loads rows.
4. An amount or a float as NUMERIC without a precision, which holds any value exactly.
5. ClickHouse's placeholder names its type; an amount's is DECIMAL(38, 9).

What stays a value written into the SQL — the pack's default in compiled/, so that a
deployment changing it makes the models that read it compile at run time — on every
warehouse:

| construct | why |
|---|---|
| `x in $list` | the list's length is the query's shape (`IN ('a', 'b')`) |
| `value_of($map, key, default)` | the map's keys are its shape (`CASE key WHEN …`) |
| `quantile(x, $p)` | every warehouse's ordered aggregate wants p as a constant |
| `round(x, $n)` | digits must be a constant (engine/compiler/functions.py's `_digits`) |

A month or day count (`add_months(d, $months)`, `add_days(d, $days)`) is a bound
number: each warehouse's date arithmetic takes it as an expression
(engine/compiler/functions.py: DuckDB `d + INTERVAL (n) MONTH`, PostgreSQL
`d + INTERVAL '1 MONTH' * n`, SQLite `date(d, n || ' months')`, Spark
`ADD_MONTHS(d, CAST(n AS INT))`). A null parameter ("no threshold") is bound as
null: the rule says what that means (`$cap is null or …`, E372), and the cast
gives it the parameter's type where the warehouse wants one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from dsl.pack import RUN_DAY
from dsl.types import Type
from engine.compiler import functions as fn

AS_OF = RUN_DAY  # the as-of day's placeholder; pack.yaml refuses a parameter so named (E602)

# The types whose placeholder takes the type of the value bound, as the literal would:
# 0.333 is DECIMAL(3,3) and 4000000 DECIMAL(7,0) on DuckDB and Spark, where a cast to
# DECIMAL(18, 2) would round a county's ratio of 0.333 to 0.33.
_OWN_TYPE = frozenset({Type.DECIMAL, Type.FLOAT})
# PostgreSQL's NUMERIC without a precision holds any number exactly.
_NUMERIC = exp.DataType.build("DECIMAL")
_CLICKHOUSE_DECIMAL = exp.DataType.build("DECIMAL(38, 9)")


def placeholder(name: str, type_: Type, dialect: str) -> exp.Expression:
    """Where a value of `type_` named `name` is bound: `$name`, `:name`, cast as the table says.

    On PostgreSQL a named placeholder for now; `numbered` makes it `$k` once the
    query is whole.
    """
    kind = fn.SQL_TYPES[type_]
    if dialect == "clickhouse" and type_ in _OWN_TYPE:
        kind = _CLICKHOUSE_DECIMAL
    node = exp.Placeholder(this=name, kind=kind.copy())
    if dialect == "sqlite":
        return node
    if dialect == "postgres" and type_ in _OWN_TYPE:
        return exp.cast(node, _NUMERIC.copy())
    if type_ in _OWN_TYPE and dialect != "clickhouse":
        return node
    return exp.cast(node, kind.copy())


def names(tree: exp.Expression) -> tuple[str, ...]:
    """The names of the placeholders in `tree`, the as-of day first, then as first met."""
    seen = dict.fromkeys(
        node.name for node in tree.find_all(exp.Placeholder) if isinstance(node.this, str)
    )
    return tuple(sorted(seen, key=lambda name: name != AS_OF))


def numbered(tree: exp.Expression, dialect: str) -> tuple[str, ...]:
    """Number `tree`'s placeholders where the warehouse numbers them; the names in binding order.

    PostgreSQL's server numbers parameters: each name becomes `$k` with the
    name beside it in a comment (`$2 /* shared_account_min */`), the as-of day
    `$1`. Elsewhere the tree keeps its names; SQLite's binding order is then that
    of the text (`in_text_order`).
    """
    order = names(tree)
    if dialect != "postgres":
        return order
    number = {name: k for k, name in enumerate(order, 1)}
    for node in list(tree.find_all(exp.Placeholder)):
        parameter = exp.Parameter(this=exp.Literal.number(number[node.name]))
        parameter.add_comments([node.name])
        node.replace(parameter)
    return order


def in_text_order(sql: str, dialect: str, bound: Iterable[str]) -> tuple[str, ...]:
    """The names `bound` in the order the warehouse binds them for the statement `sql`.

    SQLite numbers named parameters in the order each first appears in the text
    (https://www.sqlite.org/c3ref/bind_blob.html), and ADBC binds a row's
    columns by that number; elsewhere the order is `bound`'s. Read from sqlglot's
    tokens, so that a `:name` inside a string is no placeholder.
    """
    bound = tuple(bound)
    if dialect != "sqlite" or len(bound) < 2:
        return bound
    tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    seen: dict[str, None] = {}
    for before, token in itertools.pairwise(tokens):
        if before.token_type is TokenType.COLON and token.text in bound:
            seen.setdefault(token.text)
    return tuple(seen)
