"""functions.check_arguments says why arguments do not fit as a catalog message, zh and en."""

from __future__ import annotations

from dsl.functions import SIGNATURES, ArgumentProblem, check_arguments
from dsl.messages import message
from dsl.types import Type


def said(name: str, types: list[Type], code: str = "E302") -> tuple[str, str]:
    problem = check_arguments(SIGNATURES[name], types)
    assert isinstance(problem, ArgumentProblem)
    wording = message(problem.key(code), **problem.fields)
    return wording.zh, wording.en


def test_a_variadic_function_given_too_few_says_at_least_in_english_too():
    assert said("concat", [Type.STRING]) == (
        "concat 需要 至少 2 个参数，这里有 1 个",
        "concat takes at least 2 arguments, got 1",
    )


def test_a_fixed_count_and_a_range_are_said_as_numbers():
    assert said("days_between", [Type.DATE])[1] == "days_between takes 2 arguments, got 1"
    assert said("round", [])[1] == "round takes 1–2 arguments, got 0"


def test_an_argument_of_the_wrong_type_names_its_position_in_either_code():
    zh, en = said("sum", [Type.STRING])
    assert en == "argument 1 of sum cannot be string"
    assert zh.startswith("sum 的第 1 个参数应为 ")
    assert said("pct", [Type.STRING], "E311")[1] == "argument 1 of pct cannot be string"
