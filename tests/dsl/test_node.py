"""dsl/node.py: one walk, rewrite and dump for the syntax tree and the checked tree."""

from __future__ import annotations

import dataclasses
import inspect
import json
from decimal import Decimal

import pytest

from dsl import ast, ir
from dsl.diagnostics import Span
from dsl.node import Node, dump, rewrite, walk
from dsl.parser import parse_expression, parse_file
from dsl.types import Type

HERE = Span("f.rule", 1, 1, 1, 5)
ONE = ir.Lit(1, Type.INT)
TWO = ir.Lit(2, Type.INT)
SUM = ir.Arith("+", ONE, ir.Neg(TWO, Type.INT), Type.INT, span=HERE)


def _classes(module: object) -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls)
    ]


@pytest.mark.parametrize("module", [ast, ir], ids=["ast", "ir"])
def test_every_node_class_is_a_node(module: object):
    """A class left out would be a leaf to walk and rewrite: its parts never visited."""
    values = {ir.Binding, ir.Extent}  # one use of a source; a measurement: not tree nodes
    missing = [c.__name__ for c in _classes(module) if c not in values and not issubclass(c, Node)]
    assert not missing
    assert len(_classes(module)) > 40


def test_walk_is_pre_order_over_nodes_only():
    assert list(walk(SUM)) == [SUM, ONE, SUM.right, TWO]
    assert list(walk([ONE, (TWO,)])) == [ONE, TWO]
    column = ir.Col(ir.Binding(1, "p", "project", False), "id", Type.STRING)
    assert list(walk(column)) == [column]  # the binding and the type are values, not nodes


def test_walk_goes_through_the_syntax_tree_too():
    expr = parse_expression("a.x + count(b.y) > $p")
    found = [type(n).__name__ for n in walk(expr)]
    assert found == ["Binary", "Binary", "ColumnRef", "Call", "ColumnRef", "ParamRef"]


def test_rewrite_replaces_and_copies_only_what_changed():
    seen: list[object] = []

    def double_two(node: object) -> object | None:
        seen.append(node)
        return ir.Lit(4, Type.INT) if node == TWO else None

    new = rewrite(SUM, double_two)
    assert new == ir.Arith("+", ONE, ir.Neg(ir.Lit(4, Type.INT), Type.INT), Type.INT)
    assert new.left is ONE and new.span == HERE
    assert not any(isinstance(n, Span | Type) for n in seen)  # only what can hold a node
    assert rewrite(SUM, lambda n: None) is SUM
    assert rewrite((ONE, TWO), lambda n: None) == (ONE, TWO)


def test_dump_is_plain_data_with_or_without_spans():
    assert dump(SUM, spans=False) == {
        "node": "Arith",
        "op": "+",
        "left": {"node": "Lit", "value": 1, "type": "int", "span": None},
        "right": {
            "node": "Neg",
            "operand": {"node": "Lit", "value": 2, "type": "int", "span": None},
            "type": "int",
            "span": None,
        },
        "type": "int",
        "span": None,
    }
    assert dump(SUM)["span"] == {
        "node": "Span",
        "file": "f.rule",
        "line": 1,
        "column": 1,
        "end_line": 1,
        "end_column": 5,
    }
    data = {"a": (Decimal("0.10"), frozenset({"y", "x"}))}
    assert dump(data) == {"a": ["0.10", ["x", "y"]]}
    json.dumps(dump(parse_file("a.rule", "model M { where a.x > 2021-01-01 }")))


def test_dump_leaves_out_what_was_written_and_what_was_added_later():
    [model] = parse_file("a.rule", 'model M { message "甲{ x }" }').items
    [hole] = [n for n in walk(model) if isinstance(n, ast.TemplateHole)]
    assert "text" not in dump(hole) and dump(hole, as_written=True)["text"] == "x"
    [relation] = parse_file("r.rule", 'relation r "r" {\n from b x\n select x.y as y\n}').items
    assert "distinct" not in dump(relation.branches[0])
