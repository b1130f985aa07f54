"""`{pct(x)}`: a ratio written as a percentage, the same on every warehouse.

`pct` is a message formatter, like `wan`: the warehouse computes the ratio,
and the message is written from it in Python (engine/runs/warnings.py), so the
SQL of a model is the same as for `{x}` on all twelve dialects, and the text
cannot depend on how a warehouse turns numbers into text. It writes what
`{x * 100}%` wrote for the ratios the pack uses (ENG05, ENG07, FUN05 and
AST01 wrote them so), at most two decimals, halves up, trailing zeros dropped.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters import connect
from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import render_human
from dsl.types import Type
from engine.compiler.compile import DIALECTS, Target, compile_model, hole_columns
from engine.policy.examples import run_examples
from engine.runs.warnings import pct, write_value

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "type_", "digits", "text"),
    [
        (Decimal("0.80"), Type.DECIMAL, 2, "80%"),  # ENG07's prepay_ratio
        (Decimal("0.1"), Type.DECIMAL, 2, "10%"),  # ENG05's change_ratio_limit
        (Decimal("0.125"), Type.DECIMAL, 2, "12.5%"),  # the ratio, not its fen (13%)
        (0.07, Type.DECIMAL, 2, "7%"),  # SQLite's REAL: 0.07 * 100 is 7.000000000000001
        (1 / 3, Type.FLOAT, 2, "33.33%"),
        (2 / 3, Type.FLOAT, 2, "66.67%"),  # halves up
        (2 / 3, Type.FLOAT, 0, "67%"),
        (2 / 3, Type.FLOAT, 1, "66.7%"),
        (2 / 3, Type.FLOAT, 4, "66.6667%"),
        (0.145, Type.FLOAT, 2, "14.5%"),  # its shortest spelling, not 0.14499999999999999
        (0.00005, Type.FLOAT, 2, "0.01%"),
        (0.00004, Type.FLOAT, 2, "0%"),
        (-0.00004, Type.FLOAT, 2, "0%"),  # not -0%
        (-0.25, Type.FLOAT, 2, "-25%"),
        (1.5, Type.FLOAT, 2, "150%"),
        (2, Type.INT, 2, "200%"),
        (0, Type.INT, 2, "0%"),
        (None, Type.DECIMAL, 2, "空"),  # a null, as every value: see {pct(x) ?? '…'}
    ],
)
def test_pct_writes_a_ratio_as_a_percentage(value, type_, digits, text):
    assert pct(value, type_, digits) == text


@given(st.decimals(min_value=-1000, max_value=1000, places=6))
def test_pct_of_a_decimal_reads_as_x_times_100_percent_did(ratio: Decimal):
    assert pct(ratio, Type.DECIMAL) == write_value(ratio * 100, Type.DECIMAL) + "%"


# ---- the pack's ratio messages, written with pct ----------------------------------------------

# What each model wrote before pct(), and the pct() that now writes the same.
RATIO_HOLES = {
    "ENG05": ("{$change_ratio_limit * 100}%", "{pct($change_ratio_limit)}"),
    "ENG07": ("{$prepay_ratio * 100}%", "{pct($prepay_ratio)}"),
    "FUN05": ("{$min_spend_ratio * 100}%", "{pct($min_spend_ratio)}"),
    "AST01": ("{round($rent_floor_ratio * 100, 2)}%", "{pct($rent_floor_ratio)}"),
}


def test_the_packs_ratio_messages_read_the_same_written_with_pct(tmp_path: Path):
    """Every example of the four models, each pinning its message, passes in the pct form."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    for model_id, (before, after) in RATIO_HOLES.items():
        [rule] = policies.glob(f"models/*/{model_id}.rule")
        text = rule.read_text(encoding="utf-8")
        assert before in text or after in text, model_id
        rule.write_text(text.replace(before, after), encoding="utf-8")
    result = check_pack(policies)
    assert result.pack is not None, render_human(result.diagnostics, result.sources)
    models = [result.pack.models[m] for m in RATIO_HOLES]
    for model in models:
        assert [h.formatter for h in model.message if isinstance(h, ir.Hole)].count("pct") == 1
    outcomes = run_examples(result.pack, models)
    pinned = [e for m in models for e in m.examples for x in e.expect if x.message]
    assert len(pinned) >= 6  # the messages are compared word for word
    assert [(o.model_id, o.title, o.problems) for o in outcomes if not o.passed] == []


# ---- every warehouse ------------------------------------------------------------------------

PACK_YAML = """\
pack:
  name: 百分数探针
  version: 0.1.0
  engine: ">=0.1,<1"
domains:
  FN: 百分数
parameters:
  ratio: {type: decimal, default: 0.125, description: 一个三位小数的比例}
sources:
  probe:
    key: [id]
    columns:
      id: {type: string, required: true}
      x: {type: decimal}
      y: {type: decimal}
      f: {type: float}
"""

# Each example pins the message, so each warehouse must write exactly this text.
RULE = """\
model PCT01 "百分数" {
  domain   FN
  severity blue
  status   draft

  from probe p

  key      p.id
  township "330122001"
  message  "{p.x * 100}%={pct(p.x)}；{pct(p.f)}；{pct(p.f, 0)}；{pct(p.x / p.y, 1)}；{pct($ratio)}"

  example "比例" {
    as_of 2021-12-31
    given probe { id: "a", x: 0.80, y: 3, f: 0.145 }
    given probe { id: "b", x: 0.07, y: 0.3, f: 0.00005 }
    given probe { id: "c", x: 1.50, y: -4, f: -0.25 }
    given probe { id: "d", x: 0, y: 0, f: 0.666666 }
    expect "a" message "80%=80%；14.5%；15%；26.7%；12.5%"
    expect "b" message "7%=7%；0.01%；0%；23.3%；12.5%"
    expect "c" message "150%=150%；-25%；-25%；-37.5%；12.5%"
    expect "d" message "0%=0%；66.67%；67%；空；12.5%"
  }
}
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> ir.CheckedPack:
    root = tmp_path_factory.mktemp("pct") / "pack"
    (root / "models").mkdir(parents=True)
    (root / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    (root / "models" / "PCT01.rule").write_text(RULE, encoding="utf-8")
    result = check_pack(root, examples=True)
    assert result.pack is not None, render_human(result.diagnostics, result.sources)
    return result.pack


def test_pct_writes_the_same_on_every_warehouse(probe: ir.CheckedPack, warehouse_url: str):
    warehouse = connect(warehouse_url)
    try:
        [outcome] = run_examples(probe, warehouse=warehouse)
    finally:
        warehouse.close()
    assert (outcome.passed, [d.message for d in outcome.problems]) == (True, [])


def test_a_pct_hole_is_its_ratio_in_the_sql_of_every_dialect(probe: ir.CheckedPack):
    """pct adds nothing to the SQL: the query selects the ratio, as for {p.x / p.y}."""
    model = probe.models["PCT01"]
    unformatted = tuple(
        replace(part, formatter=None, formatter_args=()) if isinstance(part, ir.Hole) else part
        for part in model.message
    )
    plain = replace(model, message=unformatted)
    assert len(DIALECTS) == 12
    for dialect in DIALECTS:
        target = Target(dialect, as_of=date(2021, 12, 31))
        sql = compile_model(model, probe, target).sql()
        assert sql == compile_model(plain, probe, target).sql(), dialect
        assert all(re.search(rf"\b{c}\b", sql, re.I) for c in hole_columns(model)), dialect


def _checked(tmp_path: Path, message: str):
    """The probe pack with PCT01's message replaced, checked without its examples."""
    root = tmp_path / "pack"
    (root / "models").mkdir(parents=True)
    (root / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    [line] = [line for line in RULE.splitlines() if line.startswith("  message")]
    rule = RULE.replace(line, f'  message  "{message}"')
    (root / "models" / "PCT01.rule").write_text(rule, encoding="utf-8")
    return check_pack(root, examples=False)


@pytest.mark.parametrize(
    ("message", "warned"),
    [
        ("占{pct(p.x)}%", True),
        ("占{pct(p.x)}％", True),  # full width, as a Chinese input method types it
        ("占{pct(p.x)}（{p.x * 100}%）", False),
        ("占{pct(p.x)}", False),
        ("{wan(p.x)}%", False),
    ],
)
def test_a_percent_sign_after_pct_is_one_too_many(tmp_path: Path, message: str, warned: bool):
    result = _checked(tmp_path, message)
    assert result.pack is not None  # a warning: check passes
    shown = [d.code for d in result.diagnostics if d.code != "W320"]  # p.x may be null
    assert shown == (["W321"] if warned else [])
