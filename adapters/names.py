"""Names in the SQL the engine sends a warehouse: quoted for every dialect, never parsed from text.

A rule may call an alias or a let `order`, `limit`, `user` or `end`; a
deployment may put the ledger in a schema called `user` or map a source to
`ods.order`. Each warehouse reserves other words, and no list of them is
complete for twelve warehouses and their versions, so every name the engine
writes — in a model's query, the index's, the ledger's statements and the
adapters' own — is quoted, and a table name is split on its dots rather than
read as SQL. The compiler and the adapters share these functions.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

# Warehouses that fold unquoted names to one case and keep the case of quoted ones.
_FOLDING = (NormalizationStrategy.LOWERCASE, NormalizationStrategy.UPPERCASE)


def nodes(tree: exp.Expression) -> Iterator[exp.Expression]:
    """Every node of `tree`, by an explicit stack: no recursion, and faster than walk()."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        for value in node.args.values():
            if isinstance(value, exp.Expression):
                pending.append(value)
            elif isinstance(value, list):
                pending += [v for v in value if isinstance(v, exp.Expression)]


def quote_identifiers(tree: exp.Expression, dialect: str) -> exp.Expression:
    """`tree` with every name in it quoted, meaning what it meant unquoted; in place.

    Where quoting makes a name case-sensitive while unquoted names are folded
    (PostgreSQL to lower case, Snowflake to upper case), the name is first
    folded the same way, so that the statement reads the same tables and
    columns and names its output columns as it did unquoted. Elsewhere quoting
    changes nothing but the reading of reserved words. A name already quoted
    (one with Chinese characters, say) is left as it is; function names are
    not names here.
    """
    warehouse = Dialect.get_or_raise(dialect)
    folds = warehouse.normalization_strategy in _FOLDING
    for node in nodes(tree):
        if isinstance(node, exp.Identifier) and not node.quoted:
            if isinstance(node.parent, exp.Func):
                continue
            if folds:
                warehouse.normalize_identifier(node)
            node.set("quoted", True)
    return tree


def table_named(name: str) -> exp.Table:
    """The table `name` (`table`, `schema.table` or `catalog.schema.table`), never parsed as SQL.

    Parsing would read a name such as `order` or `ods.limit` as a keyword.
    A deployment's table names are checked when it is read (engine/policy/deployment.py).
    """
    parts = [exp.to_identifier(part) for part in name.split(".")]
    if len(parts) > 3:
        raise ValueError(f"table name {name!r} has more than catalog.schema.table")
    catalog, db, table = [None] * (3 - len(parts)) + parts
    return exp.Table(this=table, db=db, catalog=catalog)


def statement(tree: exp.Expression, dialect: str) -> str:
    """The SQL text of a statement the engine builds, every name in it quoted."""
    return quote_identifiers(tree, dialect).sql(dialect)
