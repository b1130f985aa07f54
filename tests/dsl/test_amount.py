"""`amount EXPR`: the money a warning involves (涉及金额, 元), checked as a message hole is.

It is one more value of each warning (engine/runs/warnings.py writes it into the
evidence as "@amount"), so it must be a number, is written at most once, reads what
a message hole may read, and counts in the model's revision. `amount` is a keyword
only where a clause starts: columns and lets of that name read as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dsl import ast, ir
from dsl.check import check_pack
from dsl.diagnostics import render_one
from dsl.format import format_text
from dsl.parser import parse_file
from dsl.revision import revision_of
from dsl.types import Type

PackBuilder = Callable[[Path], Path]  # the pack_with fixture of conftest.py

HEAD = """model ENG01 "应招未招" {
  domain   工程管理
  severity red
  status   草稿

  from dr_project p
  where p.investment >= $tender_threshold

  key      p.project_id
  township p.township
"""
MESSAGE = '  message  "项目{p.name}尚未招标，请核查。"\n'


def model_with(amount: str) -> str:
    """The draft ENG01 with `amount` (lines) between its township and its message."""
    return HEAD + amount + MESSAGE + "}\n"


def checked(tmp_path: Path, pack_with: PackBuilder, text: str, name: str = "ENG01.rule"):
    rule = tmp_path / name
    rule.write_text(text, encoding="utf-8")
    return check_pack(pack_with(rule))


def test_an_amount_parses_checks_and_reaches_the_model(tmp_path: Path, pack_with: PackBuilder):
    text = model_with("  amount   p.investment\n")
    [model] = parse_file("ENG01.rule", text).items
    assert isinstance(model, ast.Model)
    assert [c.kind for c in model.clauses][-3:] == ["township", "amount", "message"]

    result = checked(tmp_path, pack_with, text)
    assert result.diagnostics == []
    amount = result.pack.models["ENG01"].amount
    assert isinstance(amount, ir.Col)
    assert (amount.column, amount.type) == ("investment", Type.DECIMAL)


def test_a_model_without_one_has_none(tmp_path: Path, pack_with: PackBuilder):
    result = checked(tmp_path, pack_with, model_with(""))
    assert result.diagnostics == []
    assert result.pack.models["ENG01"].amount is None


@pytest.mark.parametrize(
    ("written", "type_zh", "type_en"),
    [("p.name", "文本", "string"), ("p.approved_on", "日期", "date"), ("true", "是/否", "bool")],
)
def test_an_amount_that_is_no_number_is_refused_where_it_is_written(
    written: str, type_zh: str, type_en: str, tmp_path: Path, pack_with: PackBuilder
):
    text = model_with(f"  amount   {written}\n")
    result = checked(tmp_path, pack_with, text)
    [problem] = result.diagnostics
    assert problem.code == "E475"
    assert problem.message_zh == f"amount 应为涉及的金额（数值，单位元），这里是{type_zh}"
    assert problem.message_en == (
        f"amount must be the money involved (a number, in yuan), not {type_en}"
    )
    assert problem.span.file == "pack/models/ENG01.rule"
    assert (problem.span.line, problem.span.column) == (11, 12)
    assert any("amount p.investment" in hint for hint in problem.hints)
    assert result.pack is None  # a pack with a mistake is not handed on
    shown = render_one(problem, {problem.span.file: text}).splitlines()
    assert shown[0].startswith("pack/models/ENG01.rule:11:12: error[E475]: ")
    assert shown[1] == f" 11 |   amount   {written}"
    assert shown[2] == "    |            " + "^" * len(written)


@pytest.mark.parametrize("written", ["p.investment * 1.5", "1000", "$tender_threshold", "null"])
def test_numbers_of_every_kind_are_amounts(written: str, tmp_path: Path, pack_with: PackBuilder):
    result = checked(tmp_path, pack_with, model_with(f"  amount   {written}\n"))
    assert result.diagnostics == []


def test_it_is_written_at_most_once(tmp_path: Path, pack_with: PackBuilder):
    text = model_with("  amount   p.investment\n  amount   p.investment\n")
    result = checked(tmp_path, pack_with, text)
    [problem] = result.diagnostics
    assert problem.code == "E401"
    assert problem.message_zh == "模型中 amount 只能写一次"
    assert (problem.span.line, problem.span.column) == (12, 3)


def test_a_misspelt_name_in_it_is_reported_as_in_a_message_hole(
    tmp_path: Path, pack_with: PackBuilder
):
    result = checked(tmp_path, pack_with, model_with("  amount   p.investmnet\n"))
    [problem] = result.diagnostics
    assert problem.code == "E201"
    assert (problem.span.line, problem.span.column) == (11, 14)
    assert any("investment" in hint for hint in problem.hints)


GROUPED = """model FUN06 "多人补贴汇入同一账户" {{
  domain   专项资金
  severity red
  status   草稿

  from fin_subsidy s
  where not blank(s.account_no)
  group by s.account_no
  having count(distinct s.recipient_id) >= 3

  key      s.account_no
  township min(s.township)
  amount   {amount}
  message  "账户{{s.account_no}}收到补贴合计{{sum(s.amount)}}元。"
}}
"""


def test_in_a_grouped_model_it_aggregates_as_a_hole_does(tmp_path: Path, pack_with: PackBuilder):
    result = checked(tmp_path, pack_with, GROUPED.format(amount="sum(s.amount)"), "FUN06.rule")
    assert result.diagnostics == []
    amount = result.pack.models["FUN06"].amount
    assert isinstance(amount, ir.Agg) and amount.name == "sum"


def test_in_a_grouped_model_a_column_outside_an_aggregate_is_refused(
    tmp_path: Path, pack_with: PackBuilder
):
    result = checked(tmp_path, pack_with, GROUPED.format(amount="s.amount"), "FUN06.rule")
    [problem] = result.diagnostics
    assert problem.code == "E306"
    assert (problem.span.line, problem.span.column) == (13, 12)


def test_without_group_by_an_aggregate_is_refused(tmp_path: Path, pack_with: PackBuilder):
    result = checked(tmp_path, pack_with, model_with("  amount   sum(p.investment)\n"))
    [problem] = result.diagnostics
    assert problem.code == "E305"
    assert (problem.span.line, problem.span.column) == (11, 12)


# Columns and lets called `amount` (trade_contract.amount, fin_payment.amount …) read as
# before: the word is a keyword only where a clause starts.
NAMED_AMOUNT = """model ENG02 "拆分规避招标" {
  domain   工程管理
  severity red
  status   草稿

  from trade_contract c
  let amount = c.amount
  let paid = (from fin_payment f where f.contract_id = c.contract_id select sum(f.amount))
  where amount > 0
    and c.amount > paid
  group by c.project_id
  having sum(amount) >= 4000000

  key      c.project_id
  township min(c.township)
  amount   sum(amount)
  message  "合同合计{sum(c.amount)}元，其中{count(*)}份（{sum(amount)}）。"
}
"""


def test_columns_and_lets_called_amount_still_read(tmp_path: Path, pack_with: PackBuilder):
    result = checked(tmp_path, pack_with, NAMED_AMOUNT, "ENG02.rule")
    assert result.diagnostics == []
    model = result.pack.models["ENG02"]
    assert [name for name, _ in model.lets] == ["amount", "paid"]
    assert model.amount is not None and model.amount.type is Type.DECIMAL
    assert format_text(NAMED_AMOUNT, "ENG02.rule") == NAMED_AMOUNT


def test_fmt_pads_it_as_key_and_township_and_keeps_it_in_the_output_group():
    # Unpadded, badly indented, an operator without spaces and a comment after it.
    written = HEAD + "      amount p.investment*2  # 元\n" + MESSAGE + "}\n"
    formatted = format_text(written, "ENG01.rule")
    assert formatted == model_with("  amount   p.investment * 2  # 元\n")
    assert format_text(formatted, "ENG01.rule") == formatted


def test_an_amount_counts_in_the_revision():
    def revision(text: str) -> str:
        [model] = parse_file("ENG01.rule", text).items
        return revision_of(model)

    bare = revision(model_with(""))
    investment = revision(model_with("  amount   p.investment\n"))
    doubled = revision(model_with("  amount   p.investment * 2\n"))
    # It changes what the ledger stores for each warning: a new amount is a new revision.
    assert len({bare, investment, doubled}) == 3
    # Laid out otherwise, it says the same.
    assert revision(model_with("  amount p.investment   # 元\n")) == investment
