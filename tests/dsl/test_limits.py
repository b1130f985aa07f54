"""No rule file crashes `oversight check`: the limits of dsl/limits.py and the examples' numbers.

One test per reproducer of issue 13 (a tester mutated the pack's own files
20,000 times; 587 made `check` exit 70): each now gets a diagnostic with its
own code, or is accepted and runs correctly. Then the other side of every
limit: a rule exactly at it goes through everything after the parser —
check, compile for every dialect, fmt, its examples — with stack to spare.
And `run`: a model that cannot be compiled fails alone.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dsl import limits
from dsl.check import PackChecker as Checker
from dsl.diagnostics import Diagnostic, DiagnosticError, has_errors, render_human
from dsl.format import format_text
from dsl.pack import load_pack
from dsl.parser import parse_file
from dsl.suggest import did_you_mean
from engine.cli import main
from engine.compiler.compile import DIALECTS, Target, compile_model
from engine.exit_codes import ExitCode
from engine.policy.examples import run_examples
from engine.runs import run as run_module

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
ENG01 = (POLICIES / "models" / "engineering" / "ENG01.rule").read_text(encoding="utf-8")
FIN02 = (POLICIES / "models" / "finance" / "FIN02.rule").read_text(encoding="utf-8")
CONDITION = "p.investment >= $tender_threshold"
AMOUNT = "investment: 88320000"  # ENG01's first example row, a decimal column
Check = Callable[[str, str], tuple[int, list[dict]]]


def line_of(text: str, part: str) -> int:
    """The line of `text` that `part` starts on (ENG01's lines move when its header grows)."""
    return text[: text.index(part)].count("\n") + 1


def edit(text: str, old: str, new: str) -> str:
    """`text` with its first `old` replaced by `new`; `old` must be there."""
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.fixture
def check(tmp_path: Path, pack_with, capsys) -> Check:
    """`oversight check --format json` of a pack holding one model file: exit code, diagnostics."""

    def run(name: str, text: str) -> tuple[int, list[dict]]:
        source = tmp_path / "src" / f"{name}.rule"
        source.parent.mkdir(exist_ok=True)
        source.write_text(text, encoding="utf-8")
        code = main(["check", "--policies", str(pack_with(source)), "--format", "json"])
        err = capsys.readouterr().err
        return code, json.loads(err) if err.strip() else []

    return run


def codes(diagnostics: list[dict]) -> list[str]:
    return [d["code"] for d in diagnostics]


# ---- the reproducers of issue 13 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "what"),
    [("not " * 160, "160 nested not"), ("- " * 160, "160 nested unary minus")],
    ids=["not", "minus"],
)
def test_an_operator_160_deep_is_E133_not_a_crash(check: Check, prefix: str, what: str):
    code, diagnostics = check("ENG01", edit(ENG01, CONDITION, prefix + CONDITION))
    assert code == ExitCode.INVALID_POLICY, what
    assert codes(diagnostics) == ["E133"]
    assert diagnostics[0]["span"]["line"] == line_of(ENG01, CONDITION)
    assert "表达式嵌套超过 64 层" in diagnostics[0]["message_zh"]


def test_64_nested_exists_is_E133(check: Check):
    inner = "t.project_id = p.project_id"
    nested = "exists(trade_tender t where " * 64 + inner + ")" * 64
    text = edit(ENG01, f"exists(trade_tender t where {inner})", nested)
    code, diagnostics = check("ENG01", text)
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E133"]


def test_nine_nested_subqueries_are_E133_before_the_warehouse_plans_them():
    nested = "exists(trade_tender t where " * 9 + "t.project_id = p.project_id" + ")" * 9
    with pytest.raises(DiagnosticError) as caught:
        parse_file("M.rule", edit(ENG01, CONDITION, nested))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E133"
    assert "子查询" in diagnostic.message_zh and "8" in diagnostic.message_zh


def test_328_and_terms_are_E133_pointing_at_the_chain(check: Check):
    chain = " and ".join([CONDITION] * 328)
    code, diagnostics = check("ENG01", edit(ENG01, CONDITION, chain))
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E133"]
    assert "这一串 and/or 有 331 个条件" in diagnostics[0]["message_zh"]  # and ENG01's 3
    span = diagnostics[0]["span"]
    assert (span["line"], span["column"]) == (line_of(ENG01, CONDITION), 9)


def test_5000_deep_brackets_are_E133(check: Check):
    text = edit(ENG01, "p.investment >=", "(" * 5000 + "p.investment" + ")" * 5000 + " >=")
    code, diagnostics = check("ENG01", text)
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E133"]
    assert "括号嵌套超过 64 层" in diagnostics[0]["message_zh"]
    # The model's `{` is the first bracket open; the 64th `(` is the 65th.
    assert diagnostics[0]["span"]["column"] == len("  where ") + 64


def test_an_example_amount_with_three_decimals_is_E505(check: Check):
    text = edit(ENG01, AMOUNT, "investment: 88320000.123")
    code, diagnostics = check("ENG01", text)
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E505"]
    assert diagnostics[0]["message_en"] == (
        "the value 88320000.123 of dr_project.investment has more than 2 decimal places"
    )


def test_an_amount_written_with_zeros_after_the_cents_is_the_same_amount(check: Check):
    code, diagnostics = check("ENG01", edit(ENG01, AMOUNT, AMOUNT + ".000"))
    assert (code, diagnostics) == (ExitCode.OK, [])


@pytest.mark.parametrize("amount", [10**16, 2**63, -(2**63)], ids=["1e16", "2^63", "-2^63"])
def test_an_example_amount_too_large_for_an_amount_is_E505(check: Check, amount: int):
    text = edit(ENG01, AMOUNT, f"investment: {amount}")
    code, diagnostics = check("ENG01", text)
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E505"]
    assert "at most 16 digits before the point" in diagnostics[0]["message_en"]


def test_the_largest_amount_is_accepted(check: Check):
    # In ENG01's second example, which expects no warning (the project is not late yet).
    first, second, rest = ENG01.split(AMOUNT, 2)
    text = first + AMOUNT + second + "investment: " + "9" * 16 + ".99" + rest
    code, diagnostics = check("ENG01", text)
    assert (code, diagnostics) == (ExitCode.OK, [])


def test_10_to_the_16_guests_fit_an_int_and_the_example_runs(check: Check):
    # FIN02's second example expects no warning; ten quadrillion guests raise none either.
    text = edit(FIN02, "guest_count: 10,", f"guest_count: {10**16},")
    code, diagnostics = check("FIN02", text)
    assert (code, diagnostics) == (ExitCode.OK, [])


def test_an_example_whose_numbers_overflow_in_the_rule_says_so_as_E513(check: Check):
    # 2^63 - 1 staff fits an int, but FIN02 adds guests and staff: the warehouse refuses,
    # inside the example's transaction. Found by the fuzzer (seed 13, case 19842).
    text = edit(
        FIN02, "staff_count: 1, meal_cost: 300", f"staff_count: {2**63 - 1}, meal_cost: 300"
    )
    code, diagnostics = check("FIN02", text)
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E513"]
    assert "Overflow in addition of INT64" in diagnostics[0]["message_en"]


def test_2_to_the_63_guests_do_not_fit_an_int_and_are_E505(check: Check):
    text = edit(FIN02, "guest_count: 10,", f"guest_count: {2**63},")
    code, diagnostics = check("FIN02", text)
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E505"]
    assert "out of range for an int" in diagnostics[0]["message_en"]


@pytest.mark.parametrize(
    ("old", "new"),
    [(AMOUNT, "investment: " + "9" * 4301), (CONDITION, "p.investment >= " + "9" * 4301)],
    ids=["in-an-example", "in-a-condition"],
)
def test_a_4301_digit_integer_is_E132(check: Check, old: str, new: str):
    code, diagnostics = check("ENG01", edit(ENG01, old, new))
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E132"]
    assert diagnostics[0]["message_en"] == "this number has 4301 digits; the limit is 38"


def test_a_40_digit_example_parameter_is_E132(check: Check):
    text = edit(ENG01, "expect none", "$tender_grace_months = " + "9" * 40 + "\n    expect none")
    code, diagnostics = check("ENG01", text)
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E132"]


def test_a_20_digit_int_parameter_is_E505_not_a_warehouse_error(check: Check):
    text = edit(ENG01, "expect none", "$tender_grace_months = " + "9" * 20 + "\n    expect none")
    code, diagnostics = check("ENG01", text)
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E505"]
    assert diagnostics[0]["message_en"].startswith("the value 99999999999999999999 of")


@pytest.mark.parametrize(
    "old", ["investment >=", "dr_project p", "tender_grace_months)", "add_months("]
)
def test_a_100000_character_name_is_E131(check: Check, old: str):
    word = re.match(r"\w+", old).group()
    long_name = (word * (100_000 // len(word) + 1))[:100_000]
    code, diagnostics = check("ENG01", edit(ENG01, word, long_name))
    assert code == ExitCode.INVALID_POLICY
    assert codes(diagnostics) == ["E131"]
    assert diagnostics[0]["message_en"] == "this name is 100000 characters long; the limit is 64"


def test_no_did_you_mean_search_for_a_name_longer_than_any_name():
    # The search compares every candidate character by character; a name over the
    # limit (a domain may be a long string) is not compared at all.
    assert did_you_mean("tender_threshol", ["tender_threshold"]) != ()
    assert did_you_mean("tender_threshold" * 5, ["tender_threshold"]) == ()


def test_a_file_over_the_size_limit_is_E130_whatever_it_holds(tmp_path: Path):
    text = ENG01 + "#" * limits.MAX_FILE_CHARS
    with pytest.raises(DiagnosticError) as caught:
        parse_file("M.rule", text)
    assert [d.code for d in caught.value.diagnostics] == ["E130"]


def test_a_string_over_the_limit_is_E132():
    text = edit(ENG01, '"应招未招"', '"' + "招" * (limits.MAX_STRING_CHARS + 1) + '"')
    with pytest.raises(DiagnosticError) as caught:
        parse_file("M.rule", text)
    assert [d.code for d in caught.value.diagnostics] == ["E132"]


def test_limits_hold_inside_a_message_hole():
    text = edit(ENG01, "{p.name}", "{" + "not " * 70 + "p.name = 'x'}")
    with pytest.raises(DiagnosticError) as caught:
        parse_file("M.rule", text)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E133"
    assert diagnostic.span.line == line_of(ENG01, "{p.name}")


def test_an_or_of_40_conditions_inside_exists_compiles_to_one_exists():
    # An `or` with an equality to the outer row is split into one EXISTS per branch (a
    # join key for each); forty branches took seconds to compile for twelve dialects.
    inner = "t.project_id = p.project_id"
    text = edit(ENG01, inner, " or ".join([inner] * 40))
    diagnostics: list[Diagnostic] = []
    checked = Checker(load_pack(POLICIES), diagnostics).check(
        [
            *(parse_file(p) for p in sorted((POLICIES / "shared").glob("*.rule"))),
            parse_file("M.rule", text),
        ]
    )
    assert not has_errors(diagnostics)
    sql = compile_model(checked.models["ENG01"], checked, Target("duckdb")).sql()
    assert sql.count("EXISTS") == 1


# ---- shared definitions and lets, written out in place -----------------------------------------


def check_files(*texts: str) -> list[Diagnostic]:
    """The checker's diagnostics for the pack's shared definitions plus `texts` (each a file)."""
    pack = load_pack(POLICIES)
    shared = [parse_file(p) for p in sorted((POLICIES / "shared").glob("*.rule"))]
    diagnostics: list[Diagnostic] = []
    files = [parse_file(f"F{i}.rule", text) for i, text in enumerate(texts)]
    Checker(pack, diagnostics).check([*shared, *files])
    return diagnostics


def chain_of_defines(length: int, body: str = "f{next}(x) + 1") -> str:
    lines = [f"define f{i}(x: decimal) = " + body.format(next=i + 1) for i in range(length)]
    return "\n".join([*lines, f"define f{length}(x: decimal) = x"])


def test_a_chain_of_200_definitions_is_one_E133_not_a_recursion():
    model = edit(ENG01, CONDITION, "f0(p.investment) >= $tender_threshold")
    diagnostics = check_files(chain_of_defines(200), model)
    assert [d.code for d in diagnostics] == ["E133"]
    assert "written out with its shared definitions" in diagnostics[0].message_en


def test_a_short_chain_of_definitions_is_fine():
    model = edit(ENG01, CONDITION, "f0(p.investment) >= $tender_threshold")
    assert check_files(chain_of_defines(10), model) == []


def test_definitions_that_double_at_every_step_are_E134():
    model = edit(ENG01, CONDITION, "f0(p.investment) >= $tender_threshold")
    diagnostics = check_files(chain_of_defines(16, "f{next}(x) + f{next}(x)"), model)
    assert [d.code for d in diagnostics] == ["E134"]


def test_a_cycle_of_300_definitions_is_reported_without_recursing_round_it():
    cycle = chain_of_defines(299).replace(
        "define f299(x: decimal) = x", "define f299(x: decimal) = f0(x)"
    )
    diagnostics = check_files(cycle)
    # The cycle, and the 300 definitions it passes through, written out, are too deep.
    assert [d.code for d in diagnostics] == ["E213", "E133"]
    assert diagnostics[0].message_en.endswith("f298 → f299 → f0")


def test_a_chain_of_200_lets_is_E133():
    lets = "\n".join(f"  let a{i + 1} = a{i} + 1" for i in range(200))
    model = edit(
        ENG01,
        "  where " + CONDITION,
        f"  let a0 = p.investment\n{lets}\n  where a200 >= $tender_threshold",
    )
    assert [d.code for d in check_files(model)] == ["E133"]


# ---- a rule at each limit goes through everything ---------------------------------------------


def _nested(kind: str, n: int) -> str:
    """ENG01 with its first condition replaced by `kind` nested `n` deep."""
    inner = "t.project_id = p.project_id"
    built = {
        "not": "not " * n + CONDITION,
        "minus": "- " * n + CONDITION,
        "plus": "p.investment" + " + 1" * n + " >= $tender_threshold",
        "call": "coalesce(" * n + "p.investment" + ", 1)" * n + " >= $tender_threshold",
        "and": " and ".join([CONDITION] * n),
        "exists": "exists(trade_tender t where " * n + inner + ")" * n,
        "subquery": "(from trade_tender t where " * n + inner + " select count(*)) >= 0" * n,
    }[kind]
    return edit(ENG01, CONDITION, built)


def _deepest(kind: str) -> str:
    """The deepest `kind` the limits let through; one level more is E133."""
    n = 1
    while True:
        try:
            parse_file("M.rule", _nested(kind, n + 1))
        except DiagnosticError as err:
            assert [d.code for d in err.diagnostics] == ["E133"]
            return _nested(kind, n)
        n += 1


def _call_with_stack_used(frames: int, call: Callable[[], object]) -> object:
    """`call()` from `frames` frames deeper than here: what the CLI and a test runner add."""
    if frames == 0:
        return call()
    return _call_with_stack_used(frames - 1, call)


@pytest.mark.parametrize("kind", ["not", "minus", "plus", "call", "and", "exists", "subquery"])
def test_a_rule_at_the_limits_checks_compiles_formats_and_runs(kind: str):
    text = _deepest(kind)
    pack = load_pack(POLICIES)
    shared = [parse_file(p) for p in sorted((POLICIES / "shared").glob("*.rule"))]

    def everything() -> None:
        diagnostics: list[Diagnostic] = []
        checked = Checker(pack, diagnostics).check([*shared, parse_file("M.rule", text)])
        assert not has_errors(diagnostics), render_human(diagnostics, {"M.rule": text})
        model = checked.models["ENG01"]
        for dialect in DIALECTS:
            try:
                compile_model(model, checked, Target(dialect)).sql(pretty=True)
            except DiagnosticError as err:  # a construct a dialect lacks, said in words
                assert {d.code for d in err.diagnostics} == {"E700"}
        format_text(text, "M.rule")
        outcomes = run_examples(checked, [model])
        # The examples may no longer hold for the changed condition; they must run.
        assert all(p.code == "E510" for o in outcomes for p in o.problems), outcomes

    # The limits leave room: all of it works with 300 frames of stack already used.
    assert sys.getrecursionlimit() >= 1000
    _call_with_stack_used(300, everything)


# ---- run: a model that cannot be compiled fails alone -----------------------------------------


def test_a_too_deeply_nested_model_makes_run_say_E133_not_exit_70(capsys, tmp_path: Path):
    pack = tmp_path / "policies"
    shutil.copytree(POLICIES, pack)
    model = pack / "models" / "engineering" / "ENG01.rule"
    model.write_text(edit(ENG01, CONDITION, "not " * 160 + CONDITION), encoding="utf-8")
    url = f"duckdb:///{tmp_path / 'county.duckdb'}"
    code = main(["run", "--policies", str(pack), "--as-of", "2021-12-31", "--warehouse", url])
    assert code == ExitCode.INVALID_POLICY
    assert "error[E133]" in capsys.readouterr().err


def test_a_model_that_fails_to_compile_fails_alone_and_the_others_run(
    duckdb_warehouse, townships, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    # Fault injection: compiling ENG01 overflows the stack, as a model nested past what
    # the compiler can take would (the limits keep checked models from doing that).
    real_compile = run_module.compile_model

    def compile_or_overflow(model, pack, target):
        if model.id == "ENG01":
            raise RecursionError("maximum recursion depth exceeded")
        return real_compile(model, pack, target)

    monkeypatch.setattr(run_module, "compile_model", compile_or_overflow)
    url = duckdb_warehouse(
        {"ref_township": townships, "dr_project": [], "trade_tender": [], "fin_subsidy": []}
    )
    pack = tmp_path / "policies"
    shutil.copytree(POLICIES, pack)  # no compiled/ beside it: every model is compiled at run time
    code = main(
        [
            "run",
            "--policies",
            str(pack),
            "--as-of",
            "2021-12-31",
            "--warehouse",
            url,
            "--no-ledger",
            "--format",
            "json",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == ExitCode.MODELS_FAILED
    assert list(summary["failed"]) == ["ENG01"]
    assert "internal error compiling model ENG01" in summary["failed"]["ENG01"]
    assert "RecursionError" in summary["failed"]["ENG01"]
    assert summary["models_run"] >= 1
