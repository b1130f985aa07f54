"""Which columns of which catalog source a model's query reads, as the compiler writes it.

A source whose column went missing or changed type (a department's export changed)
should stop exactly the models that read that column, by name, rather than fail them
inside SQL, and leave the models reading its other columns running. `model.sources`
(dsl/check/shared.py `sources_of`) says which sources a model reads; this says which
columns, following what the compiler writes out: shared definitions' bodies,
relations' branches, keyed lookups (their key, column and default), `workdays`
(ref_calendar's day and is_workday), and the as-of rule, which reads every bound
source's event_date.
"""

from __future__ import annotations

from typing import Any

from dsl import ir
from dsl.node import walk

CALENDAR = "ref_calendar"
CALENDAR_COLUMNS = ("day", "is_workday")  # what engine/compiler's workdays(a, b) reads


def _compiled_parts(model: ir.Model) -> list[Any]:
    """The parts of a model that the compiler writes out: where its query reads from."""
    return [
        model.query,
        model.lets,
        model.group_by,
        model.having,
        model.key,
        model.township,
        model.message,
        model.bound,
        model.amount,
    ]


def columns_read(pack: ir.CheckedPack, model: ir.Model) -> dict[str, frozenset[str]]:
    """Per catalog source the model reads, the catalog columns its compiled query reads.

    Each definition, relation and lookup is followed once (they may name one another);
    the walk uses an explicit list, so a deep pack does not recurse here.
    """
    catalog = pack.pack.sources
    found: dict[str, set[str]] = {}
    followed: set[tuple[str, str]] = set()
    pending: list[Any] = _compiled_parts(model)

    def read(source: str, *columns: str | None) -> None:
        if source in catalog:  # not a bound row's own binding, nor the index's warnings
            found.setdefault(source, set()).update(c for c in columns if c is not None)

    def follow(kind: str, name: str, what: Any) -> None:
        if (kind, name) not in followed and what is not None:
            followed.add((kind, name))
            pending.append(what)

    while pending:
        for node in walk(pending.pop()):
            if isinstance(node, ir.From):
                if node.binding.is_relation:
                    relation = pack.relations.get(node.binding.source)
                    follow("relation", node.binding.source, relation and relation.branches)
                elif node.binding.source in catalog:
                    read(node.binding.source, catalog[node.binding.source].event_date)
            elif isinstance(node, ir.Col) and not node.binding.is_relation:
                read(node.binding.source, node.column)
            elif isinstance(node, ir.DefCall):
                define = pack.defines.get(node.name)
                follow("define", node.name, define and define.body)
            elif isinstance(node, ir.LookupCall):
                lookup = pack.lookups.get(node.name)
                if lookup is not None:
                    source = catalog.get(lookup.source)
                    read(lookup.source, *lookup.by, lookup.column)
                    read(lookup.source, source.event_date if source else None)
                    follow("lookup", node.name, lookup.default)
            elif isinstance(node, ir.Func) and node.name == "workdays":
                read(CALENDAR, *CALENDAR_COLUMNS)
    return {source: frozenset(columns) for source, columns in sorted(found.items())}


def relations_read(pack: ir.CheckedPack, model: ir.Model) -> frozenset[str]:
    """The relations the model's query reads: named in it, through defines, or by a relation.

    A run computes a relation that several of its models read once (engine/runs/shared.py);
    this says which models read it, following what the compiler writes out as
    `columns_read` does.
    """
    found: set[str] = set()
    followed: set[tuple[str, str]] = set()
    pending: list[Any] = _compiled_parts(model)

    def follow(kind: str, name: str, what: Any) -> None:
        if (kind, name) not in followed and what is not None:
            followed.add((kind, name))
            pending.append(what)

    while pending:
        for node in walk(pending.pop()):
            if isinstance(node, ir.From) and node.binding.is_relation:
                relation = pack.relations.get(node.binding.source)
                found.add(node.binding.source)
                follow("relation", node.binding.source, relation and relation.branches)
            elif isinstance(node, ir.DefCall):
                define = pack.defines.get(node.name)
                follow("define", node.name, define and define.body)
            elif isinstance(node, ir.LookupCall):
                lookup = pack.lookups.get(node.name)
                follow("lookup", node.name, lookup and lookup.default)
    return frozenset(found)
