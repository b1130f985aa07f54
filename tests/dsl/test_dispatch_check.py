"""Every class of expression node the parser makes has its check in the expression checker.

The checker dispatches on the node's class (ExpressionChecker.HANDLERS). The classes
are found from dsl.ast's `Expr` union, not listed here, so that a new node class
without a check fails this test instead of failing on the first rule that writes it.
"""

from __future__ import annotations

import typing

import pytest

from dsl import ast
from dsl.check import Context, ExpressionChecker, Scope
from dsl.check.shared import SharedDefinitions
from dsl.pack import load_pack
from tests.conftest import POLICIES


def expression_classes() -> tuple[type, ...]:
    return typing.get_args(ast.Expr)


def test_the_expression_classes_are_found_in_dsl_ast() -> None:
    found = expression_classes()
    # An empty or unreadable union would make the tests below pass without looking.
    assert len(found) >= 16
    assert all(isinstance(c, type) and getattr(ast, c.__name__) is c for c in found)


def test_every_expression_class_has_a_check() -> None:
    missing = [c.__name__ for c in expression_classes() if c not in ExpressionChecker.HANDLERS]
    assert missing == [], f"no check in ExpressionChecker.HANDLERS for {missing}"


def test_every_check_is_of_an_expression_class() -> None:
    extra = [c.__name__ for c in ExpressionChecker.HANDLERS if c not in expression_classes()]
    assert extra == []


def test_a_node_without_a_check_is_refused_loudly() -> None:
    class Unknown:
        span = None

    checker = ExpressionChecker(SharedDefinitions(load_pack(POLICIES), []))
    with pytest.raises(TypeError, match="Unknown"):
        checker.check(Unknown(), Scope(), Context())  # type: ignore[arg-type]
