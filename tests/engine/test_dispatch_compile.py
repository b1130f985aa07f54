"""Every expression node class of dsl/ir.py has its method in the expression compiler.

`ExpressionCompiler.value` looks the method up by the node's class
(engine/compiler/expressions.HANDLERS). A node class added to `ir.Expr` without a
method would otherwise be found only when a rule first used it, as a
KeyError in the middle of compiling.
"""

from __future__ import annotations

import typing

import pytest
from sqlglot import exp

from dsl import ir
from dsl.types import Type
from engine.compiler.compile import Target
from engine.compiler.expressions import HANDLERS, CompileScope, ExpressionCompiler

EXPRESSION_NODES = typing.get_args(ir.Expr)


def test_the_expression_union_lists_node_classes():
    assert len(EXPRESSION_NODES) > 20
    assert all(isinstance(node, type) for node in EXPRESSION_NODES)


@pytest.mark.parametrize("node", EXPRESSION_NODES, ids=lambda node: node.__name__)
def test_every_expression_node_has_a_handler(node: type):
    assert node in HANDLERS, f"ExpressionCompiler has no method for ir.{node.__name__}"


def test_no_handler_for_a_class_that_is_not_an_expression():
    assert set(HANDLERS) <= set(EXPRESSION_NODES)


@pytest.mark.parametrize("node", EXPRESSION_NODES, ids=lambda node: node.__name__)
def test_each_handler_takes_the_class_it_is_listed_for(node: type):
    handler = HANDLERS[node]
    assert getattr(ExpressionCompiler, handler.__name__) is handler
    assert typing.get_type_hints(handler)["e"] is node


def test_value_dispatches_on_the_node_class(pack: ir.CheckedPack):
    compiler = ExpressionCompiler(pack, Target("duckdb"))
    scope = CompileScope()
    one = ir.Lit(1, Type.INT)
    assert compiler.value(one, scope) == exp.Literal.number(1)
    negated = compiler.value(ir.Neg(one, Type.INT), scope)
    assert negated == exp.Neg(this=exp.Literal.number(1))


def test_exists_of_a_bound_row_must_be_rewritten_before_compiling(pack: ir.CheckedPack):
    compiler = ExpressionCompiler(pack, Target("duckdb"))
    row = ir.Binding(1, "m", "projects", False)
    with pytest.raises(AssertionError, match="found column"):
        compiler.value(ir.RowFound(row), CompileScope())
