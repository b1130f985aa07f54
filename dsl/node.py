"""What the two trees of a rule share: walking, rewriting and dumping nodes.

A rule is read into two trees of frozen dataclasses: the syntax tree
(dsl/ast.py, what was written, with spans) and the checked tree (dsl/ir.py,
what it means, typed). Three jobs go over either tree the same way, driven
by the dataclass fields alone:

- `walk`: every node below one, the checker and the compiler looking for
  parameters, aggregates, lets or columns;
- `rewrite`: a changed copy, the compiler putting a definition's arguments
  in place of its parameters;
- `dump`: plain data, which a rule's revision hashes (dsl/revision.py
  `revision_of`), the formatter compares before and after (dsl/format.py
  `meaning_of`), and tests and debugging print.

Every node class derives from `Node`; that is how walk and rewrite tell a
node (which they go into) from a value that happens to be a dataclass too
(a Span, an IR Binding, the Pack), which they leave alone. A few fields need
telling apart for `dump`; they say so in their field metadata (`AS_WRITTEN`,
`ADDED_LATER`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from dsl.diagnostics import Span

__all__ = ["ADDED_LATER", "AS_WRITTEN", "Node", "dump", "rewrite", "walk"]

# A field holding how something was typed rather than what it says (a file's
# source text, a message hole's text): `dump` leaves it out unless asked, so
# re-laying out a rule does not change its revision.
AS_WRITTEN: Mapping[str, bool] = types.MappingProxyType({"as_written": True})

# A field added to a node after rules were written with it: `dump` leaves it out
# while it holds its default, so that rules which do not use it keep their revision.
ADDED_LATER: Mapping[str, bool] = types.MappingProxyType({"omitted_when_default": True})


class Node:
    """Base of every syntax-tree and checked-tree node (each one a frozen dataclass)."""

    __slots__ = ()


def walk(root: Any) -> Iterator[Node]:
    """Every node in `root` (a node, or tuples and lists of them), pre-order, itself first."""
    if isinstance(root, Node):
        yield root
        for name in _parts(type(root)):
            yield from walk(getattr(root, name))
    elif isinstance(root, tuple | list):
        for item in root:
            yield from walk(item)


def rewrite(root: Any, replace: Callable[[Any], Any | None]) -> Any:
    """`root` with every node for which `replace` gives a value replaced by that value.

    `replace` sees each node before its parts; where it returns None the node
    is kept and its parts are rewritten. What does not change is returned as
    it is (the same object), so an unchanged tree costs no copies.
    """
    replaced = replace(root)
    if replaced is not None:
        return replaced
    if isinstance(root, tuple):
        items = tuple(rewrite(item, replace) for item in root)
        return root if all(a is b for a, b in zip(items, root, strict=True)) else items
    if not isinstance(root, Node):
        return root
    changes = {}
    for name in _parts(type(root)):
        value = getattr(root, name)
        new = rewrite(value, replace)
        if new is not value:
            changes[name] = new
    return dataclasses.replace(root, **changes) if changes else root  # type: ignore[type-var]


def dump(node: Any, *, spans: bool = True, as_written: bool = False) -> Any:
    """Plain data (dicts, lists, strings, numbers) for a node, a tree or any data holding them.

    A dataclass becomes a dict with its class name under "node" and a key per
    field; tuples, lists and sets become lists (sets sorted), mappings dicts;
    dates, timestamps and decimals their text, enums their value. With
    `spans=False` every Span is None: where something is written is not
    what it says (a rule's revision is a hash of this). Fields marked
    `AS_WRITTEN` are left out unless `as_written`, and fields marked
    `ADDED_LATER` while they hold their default.
    """
    if isinstance(node, Span) and not spans:
        return None
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        data: dict[str, Any] = {"node": type(node).__name__}
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            if field.metadata.get("as_written") and not as_written:
                continue
            if field.metadata.get("omitted_when_default") and value == field.default:
                continue
            data[field.name] = dump(value, spans=spans, as_written=as_written)
        return data
    if isinstance(node, Mapping):
        return {
            dump(k, spans=spans, as_written=as_written): dump(v, spans=spans, as_written=as_written)
            for k, v in node.items()
        }
    if isinstance(node, tuple | list):
        return [dump(item, spans=spans, as_written=as_written) for item in node]
    if isinstance(node, frozenset | set):
        return [dump(item, spans=spans, as_written=as_written) for item in sorted(node)]
    if isinstance(node, Enum):
        return node.value
    if isinstance(node, date | datetime | Decimal):
        return str(node)
    return node


@cache
def _parts(cls: type) -> tuple[str, ...]:
    """The fields of a node class that can hold nodes: what walk and rewrite go into.

    Read from the declared field types once per class (the compiler walks the
    IR often), so a span, a type, a binding or a name is never visited.
    """
    hints = typing.get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if _may_hold_node(hints[f.name]))


def _may_hold_node(hint: Any) -> bool:
    """Whether a value of the declared type `hint` can be or contain a Node."""
    if hint is Any:
        return True
    if isinstance(hint, type) and not typing.get_args(hint):
        return issubclass(hint, Node)
    return any(_may_hold_node(arg) for arg in typing.get_args(hint) if arg is not Ellipsis)
