"""Whatever a rule file says, checking it ends in diagnostics, never in a Python exception.

Hypothesis takes the repository's own models and damages them the way typing
does: characters deleted, inserted or replaced, among them Chinese text,
full-width punctuation and pieces of the language. Parsing may only raise
DiagnosticError; the checker never raises; every diagnostic can be rendered
and points inside the file.

The last test runs cases of the fuzzer (tests/fuzz/fuzz_rules.py, which runs
20,000 of them): every file of the pack, damaged by tokens lost, doubled and
swapped, truncation, NUL, BOM, CRLF, 5,000 brackets, huge numbers and names,
and followed through compile and the examples as `check` would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz.fuzz_rules import Fuzzer  # tests/ is on the path (tests/conftest.py)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import ast
from dsl.check import PackChecker as Checker
from dsl.diagnostics import Diagnostic, DiagnosticError, has_errors, render_human
from dsl.pack import Pack, load_pack
from dsl.parser import parse_file

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "policies" / "models").rglob("*.rule"))
MODEL_TEXTS = [p.read_text(encoding="utf-8") for p in MODELS]
SHOWN = "pack/models/MUTANT.rule"

# What a slip of the keyboard or of the input method puts into a rule file.
CHARACTERS = [
    *"abkpz_09 \n\t\"'{}().,:=<>!+-*/$#",
    *"，（）：＝、。；【】“”‘’＜＞！＋－＊／＄｛｝．　＃０９％",
    *"项目金额万元乡镇终止",
    "\u00a0",
    "\u200b",
    "\ufeff",
    "≥",
    "\\",
]
PIECES = [
    " and ",
    " or ",
    " not ",
    "exists",
    "==",
    " is null",
    " group by p.township",
    " having count(*) > 1",
    "sum(",
    "first(",
    " order by ",
    "$tender_threshold",
    "as_of",
    "2021-02-30",
    "{p.name}",
    '"',
    "{",
    "}",
    "(from fin_payment f select f.amount)",
    "(from fin_payment f select sum(f.amount))",
    " + p.name",
    " - as_of",
    " * 2",
    "count(*)",
    "min(",
    "date(",
    "coalesce(",
    "if(",
    "wan(",
    " in (1, 2)",
    " between 1 and 2",
    "first(p.name order by p.name)",
    "\n  let x = 1\n",
    "\n  join dr_project p on 1 = 1\n",
    "\n  left join official_circle c on c.person_id = p.project_id\n",
    "\ndefine f(x: int) = x + 1\n",
    "\nrelation r { from dr_project p select p.name as n }\n",
    "\nmodel ENG01 {",
    '\nexample "e" { expect none }',
    "\n  given dr_project { project_id: -1, name: null, investment: true }",
    "\n  $tender_threshold = 1\n",
    '\n  expect "P1" township "x" message "{"\n',
]


@st.composite
def mutants(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(MODEL_TEXTS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        change = draw(st.sampled_from(["delete", "insert", "replace", "piece"]))
        if change == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif change == "piece":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        else:
            ch = draw(st.sampled_from(CHARACTERS))
            text = text[:at] + ch + text[at + (change == "replace") :]
    return text


@pytest.fixture(scope="module")
def catalog() -> Pack:
    """pack.yaml alone (the `pack` fixture of tests/conftest.py is the checked pack)."""
    return load_pack(ROOT / "policies")


@pytest.fixture(scope="module")
def shared() -> list[ast.RuleFile]:
    return [parse_file(p) for p in sorted((ROOT / "policies" / "shared").glob("*.rule"))]


def check_text(text: str, catalog: Pack, shared: list[ast.RuleFile]) -> list[Diagnostic]:
    """What `oversight check` does with one rule file, in memory."""
    diagnostics: list[Diagnostic] = []
    files = list(shared)
    try:
        files.append(parse_file(SHOWN, text))
    except DiagnosticError as err:
        assert err.diagnostics, "a DiagnosticError without diagnostics"
        diagnostics.extend(err.diagnostics)
        partial = getattr(err, "partial", None)  # a tree to check all the same, if any
        if partial is not None:
            files.append(partial)
    Checker(catalog, diagnostics).check(files)
    return diagnostics


def test_the_models_themselves_are_clean(catalog: Pack, shared: list[ast.RuleFile]):
    assert MODEL_TEXTS
    for text in MODEL_TEXTS:
        assert not has_errors(check_text(text, catalog, shared))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=mutants())
def test_a_damaged_rule_file_gives_diagnostics_not_exceptions(
    text: str, catalog: Pack, shared: list[ast.RuleFile]
):
    diagnostics = check_text(text, catalog, shared)
    render_human(diagnostics, {SHOWN: text})
    lines = text.lstrip("\ufeff").splitlines() or [""]
    for d in diagnostics:
        assert d.message_zh and d.message_en, d
        if d.span is not None and d.span.file == SHOWN:
            assert 1 <= d.span.line <= len(lines) + 1, d
            assert d.span.column >= 1, d


@pytest.fixture(scope="module")
def fuzzer():
    """The fuzzer's worker, without its time limits: tests never race a clock."""
    worker = Fuzzer(seed=13, limit=float("inf"), hang=0)
    yield worker
    worker.close()


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(number=st.integers(min_value=0, max_value=10**9))
def test_the_fuzzers_mutations_never_end_in_an_internal_error(fuzzer: Fuzzer, number: int):
    outcome, _ = fuzzer.run(number)
    assert outcome.verdict in ("ok", "diagnostics"), outcome
