"""What a message writes for a missing value, said once, and `{key}`: the warning's own key.

A null in a message reads 空 ("签订日期：空"). A hole can say what to write
instead (`{g.signed_on ?? '无'}`); so can a model, for all its holes
(`missing "不详"`), and the pack, for every model (`messages: {missing: "不详"}`
in pack.yaml). The nearest one says: the hole, then the model, then the pack.
`check` warns (W320) only about a hole that may be null when none of them says.
Without any of them a null still reads 空, as before.

`{key}` writes the key as the ledger, `expect "…"` and a disposal record
name it: its parts joined with `|`, each written as a message writes it.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dsl import ir
from dsl.check import CheckResult, check_pack
from dsl.diagnostics import Severity, render_human
from dsl.format import format_text
from engine.compiler.compile import hole_columns, key_columns
from engine.policy.examples import run_examples
from engine.runs.warnings import to_warnings

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2021, 12, 31)

# A left join: the agreement's columns are null for an incentive without one.
MODEL = """model TST01 "测试" {{
  domain   招商引资
  severity red
  status   草稿

  from com_incentive i
  left join com_agreement g on g.agreement_id = i.agreement_id

  key      {key}
  township i.township
  message  "{message}"{missing}
{examples}}}
"""


@pytest.fixture
def pack_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Check a pack of the repository's pack.yaml (plus `pack_yaml`) and one model.

    Diagnostics name the files `pack/pack.yaml` and `pack/models/TST01.rule`.
    """

    def build(
        message: str,
        missing: str | None = None,
        pack_yaml: str = "",
        key: str = "i.incentive_id",
        examples: str = "",
    ) -> CheckResult:
        pack = tmp_path / "pack"
        shutil.rmtree(pack, ignore_errors=True)
        (pack / "models").mkdir(parents=True)
        shutil.copytree(ROOT / "policies" / "shared", pack / "shared")
        text = (ROOT / "policies" / "pack.yaml").read_text(encoding="utf-8")
        (pack / "pack.yaml").write_text(text + pack_yaml, encoding="utf-8")
        clause = "" if missing is None else f"\n  missing  {missing}"
        rule = MODEL.format(key=key, message=message, missing=clause, examples=examples)
        (pack / "models" / "TST01.rule").write_text(rule, encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        return check_pack(Path("pack"))

    return build


def checked(result: CheckResult) -> ir.CheckedPack:
    assert result.pack is not None, render_human(result.diagnostics, result.sources)
    return result.pack


def written(pack: ir.CheckedPack, keys: list[Any], holes: list[Any]) -> tuple[str, dict]:
    """The message and evidence of TST01's warning from a row with these key and hole values."""
    model = pack.models["TST01"]
    names = [*key_columns(model), "township", *hole_columns(model)]
    row = dict(zip(names, [*keys, "330122101", *holes], strict=True))
    warnings, dropped = to_warnings(model, pa.Table.from_pylist([row]), pack.pack, AS_OF)
    assert dropped == 0
    [message] = warnings.column("message").to_pylist()
    return message, json.loads(warnings.column("evidence")[0].as_py())


def w320_holes(result: CheckResult) -> list[str]:
    return [
        d.message_en.split("{", 1)[1].split("}")[0] for d in result.diagnostics if d.code == "W320"
    ]


PACK_DEFAULT = '\nmessages:\n  missing: "不详"\n'


# ---- which default a null writes


# (what it shows, the message, the model's missing, pack.yaml's messages, hole values, text)
WRITES = [
    (
        "nothing says: a null reads 空, as it always has",
        "签订于{g.signed_on}",
        None,
        "",
        [None],
        "签订于空",
    ),
    (
        "the pack's default",
        "签订于{g.signed_on}",
        None,
        PACK_DEFAULT,
        [None],
        "签订于不详",
    ),
    (
        "the pack's default, for a formatted hole too",
        "承诺投资{wan(g.promised_investment)}万元",
        None,
        PACK_DEFAULT,
        [None],
        "承诺投资不详万元",
    ),
    (
        "the model's default",
        "签订于{g.signed_on}",
        '"未签订"',
        "",
        [None],
        "签订于未签订",
    ),
    (
        "the model's default before the pack's",
        "签订于{g.signed_on}",
        '"未签订"',
        PACK_DEFAULT,
        [None],
        "签订于未签订",
    ),
    (
        "the hole's own default before the model's and the pack's",
        "签订于{g.signed_on ?? '无'}，企业{g.enterprise_name}",
        '"未登记"',
        PACK_DEFAULT,
        [None, None],
        "签订于无，企业未登记",
    ),
    (
        "a default is only for a null: a value is written as it is",
        "签订于{g.signed_on}，投资{g.promised_investment}元",
        '"未签订"',
        PACK_DEFAULT,
        [date(2021, 3, 1), Decimal("0")],
        "签订于2021-03-01，投资0元",
    ),
    (
        "an empty text is a value, not a null",
        "企业{g.enterprise_name}",
        None,
        PACK_DEFAULT,
        [""],
        "企业",
    ),
    (
        "coalesce gives a value, so its own text is written",
        "企业{coalesce(g.enterprise_name, '未填')}",
        None,
        PACK_DEFAULT,
        ["未填"],
        "企业未填",
    ),
]


@pytest.mark.parametrize(
    ("message", "missing", "pack_yaml", "holes", "text"),
    [c[1:] for c in WRITES],
    ids=[c[0] for c in WRITES],
)
def test_which_default_a_null_writes(pack_of, message, missing, pack_yaml, holes, text):
    pack = checked(pack_of(message, missing, pack_yaml))
    assert written(pack, ["J1"], holes)[0] == text


def test_the_evidence_keeps_the_null_that_the_default_stands_for(pack_of):
    pack = checked(pack_of("签订于{g.signed_on}", pack_yaml=PACK_DEFAULT))
    message, evidence = written(pack, ["J1"], [None])
    assert (message, evidence) == ("签订于不详", {"g.signed_on": None})


def test_an_example_run_on_a_warehouse_writes_the_packs_default(pack_of):
    example = """
  example "没有协议" {
    as_of 2021-12-31
    given com_incentive { incentive_id: "J1", agreement_id: "XY9", township: "330122101",
                          enterprise_code: "E1", amount: 100, paid_on: 2021-05-01 }
    expect "J1" message "兑现J1，协议XY9签订于不详，企业不详。"
  }
"""
    message = "兑现{i.incentive_id}，协议{i.agreement_id}签订于{g.signed_on}，"
    message += "企业{g.enterprise_name}。"
    result = pack_of(message, pack_yaml=PACK_DEFAULT, examples=example)
    outcomes = run_examples(result.pack)
    assert [(o.title, o.passed, o.problems) for o in outcomes] == [("没有协议", True, ())]


# ---- W320: only when a hole may be null and nothing says what to write


@pytest.mark.parametrize(
    ("message", "missing", "pack_yaml", "warns"),
    [
        ("{g.signed_on}{i.paid_on}", None, "", ["g.signed_on"]),
        ("{g.signed_on ?? '无'}{g.enterprise_name}", None, "", ["g.enterprise_name"]),
        ("{g.signed_on}{g.enterprise_name}", '"不详"', "", []),
        ("{g.signed_on}{wan(g.promised_investment)}", None, PACK_DEFAULT, []),
        ("{g.signed_on}", None, "\nmessages: {}\n", ["g.signed_on"]),
    ],
    ids=[
        "nothing says",
        "the hole says for one, not the other",
        "the model says",
        "the pack says",
        "a messages section that says nothing",
    ],
)
def test_w320_only_for_a_hole_nothing_says_anything_for(
    pack_of, message, missing, pack_yaml, warns
):
    result = pack_of(message, missing, pack_yaml)
    assert result.pack is not None
    assert w320_holes(result) == warns


def test_w320_says_a_default_can_be_given_once_for_the_model_or_the_pack(pack_of):
    [warning] = pack_of("{g.signed_on}").diagnostics
    assert warning.hints[1] == (
        '也可以为整个模型写一次 missing "不详"，或在 pack.yaml 中写 messages: {missing: "不详"}'
        ' / or say it once for the model (missing "不详") or for the pack'
        ' (messages: {missing: "不详"} in pack.yaml)'
    )


# ---- pack.yaml's messages section


def pack_problems(pack_of, pack_yaml: str) -> list[str]:
    """How `check` shows what is wrong with a pack.yaml ending in `pack_yaml`: first lines."""
    result = pack_of("{i.paid_on}", pack_yaml=pack_yaml)
    assert result.pack is None
    return [render_human([d], {}).splitlines()[0] for d in result.diagnostics]


LAST = len((ROOT / "policies" / "pack.yaml").read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize(
    ("pack_yaml", "shown"),
    [
        (
            "\nmessages: 不详\n",
            f"pack/pack.yaml:{LAST + 2}:1: error[E687]: pack.yaml 的 messages 应为映射，"
            '如 messages: {missing: "不详"} / messages in pack.yaml must be a mapping, '
            'e.g. messages: {missing: "不详"}',
        ),
        (
            '\nmessages:\n  mising: "不详"\n',
            f"pack/pack.yaml:{LAST + 3}:3: error[E687]: messages 中没有「mising」这一项 / "
            "messages has no setting 'mising'",
        ),
        (
            "\nmessages:\n  missing: 0\n",
            f"pack/pack.yaml:{LAST + 3}:3: error[E688]: messages.missing 应为一段文字，"
            "这里是数字 / messages.missing must be a text, not a number",
        ),
        (
            "\nmessages:\n  missing:\n",
            f"pack/pack.yaml:{LAST + 3}:3: error[E688]: messages.missing 后面没有写文字 / "
            "messages.missing has no text after it",
        ),
        (
            '\nmessages:\n  missing: "  "\n',
            f"pack/pack.yaml:{LAST + 3}:3: error[E689]: messages.missing 不能是空文字 / "
            "messages.missing must not be empty",
        ),
        (
            '\nmessages:\n  missing: "不\\n详"\n',
            f"pack/pack.yaml:{LAST + 3}:3: error[E689]: messages.missing 只能写在一行内 / "
            "messages.missing must be on one line",
        ),
    ],
    ids=["not a mapping", "a misspelt setting", "a number", "nothing", "blank", "two lines"],
)
def test_a_bad_messages_section_is_pointed_at_in_pack_yaml(pack_of, pack_yaml, shown):
    assert pack_problems(pack_of, pack_yaml) == [shown]


def test_a_misspelt_setting_gets_the_right_one_suggested(pack_of):
    result = pack_of("{i.paid_on}", pack_yaml='\nmessages:\n  mising: "不详"\n')
    [problem] = result.diagnostics
    assert problem.hints == ("是否要写 missing？ / did you mean missing?",)


def test_a_number_is_a_text_once_quoted(pack_of):
    pack = checked(pack_of("{g.promised_investment}元", pack_yaml='\nmessages: {missing: "0"}\n'))
    assert written(pack, ["J1"], [None])[0] == "0元"


# ---- the model's missing clause


def test_a_models_missing_must_show_something(pack_of):
    result = pack_of("{g.signed_on}", missing='""')
    assert [(d.code, d.span.line, d.span.column) for d in result.diagnostics] == [("E361", 12, 12)]
    assert result.diagnostics[0].message_en == "missing must not be empty"


def test_a_model_says_missing_once(pack_of):
    result = pack_of("{g.signed_on}", missing='"不详"\n  missing  "无"')
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E401", 13)]


# ---- {key}


@pytest.mark.parametrize(
    ("key", "keys", "text"),
    [
        ("i.incentive_id", ["J1"], "预警键J1"),
        ("i.enterprise_code, i.year", ["E1", 2021], "预警键E1|2021"),
        ("i.enterprise_code, i.paid_on", ["E1", date(2021, 5, 1)], "预警键E1|2021-05-01"),
        (
            "i.enterprise_code, year_month(i.paid_on)",
            ["E1", "2021-05"],
            "预警键E1|2021-05",
        ),
    ],
    ids=["one part", "an int part", "a date part", "a month"],
)
def test_key_writes_the_key_as_the_ledger_does(pack_of, key, keys, text):
    pack = checked(pack_of("预警键{key}", key=key))
    message, evidence = written(pack, keys, [])
    assert message == text
    assert evidence == {}  # the key is the warning's own, not a value of its rows
    assert hole_columns(pack.models["TST01"]) == ()  # nothing for the warehouse to compute


def test_key_in_an_example_is_what_expect_names(pack_of):
    example = """
  example "组合键" {
    as_of 2021-12-31
    given com_incentive { incentive_id: "J1", township: "330122101", enterprise_code: "E1",
                          amount: 100, paid_on: 2021-05-01, year: 2021 }
    expect "E1|2021" message "E1|2021：奖励100元"
  }
"""
    result = pack_of("{key}：奖励{i.amount}元", key="i.enterprise_code, i.year", examples=example)
    [outcome] = run_examples(result.pack)
    assert (outcome.passed, outcome.problems) == (True, ())


def test_a_let_called_key_is_what_key_writes_in_that_model(pack_of, tmp_path):
    """Rules written before {key} existed keep their meaning: the model's own let wins."""
    result = pack_of("{key}")
    assert result.pack is not None
    rule = tmp_path / "pack" / "models" / "TST01.rule"
    text = rule.read_text(encoding="utf-8").replace(
        "  key      i.incentive_id", "  let key = i.amount\n  key      i.incentive_id"
    )
    rule.write_text(text, encoding="utf-8")
    result = check_pack(Path("pack"))
    assert [d.code for d in result.diagnostics if d.severity is not Severity.WARNING] == []
    (hole,) = [part for part in result.pack.models["TST01"].message if not isinstance(part, str)]
    assert isinstance(hole, ir.Hole)


def test_a_let_that_is_not_called_key_is_no_trouble(pack_of, tmp_path):
    result = pack_of("{key}（{key_value}）")
    assert result.pack is None  # key_value is not defined yet
    rule = tmp_path / "pack" / "models" / "TST01.rule"
    text = rule.read_text(encoding="utf-8").replace(
        "  key      i.incentive_id", "  let key_value = i.amount\n  key      i.incentive_id"
    )
    rule.write_text(text, encoding="utf-8")
    pack = checked(check_pack(Path("pack")))
    assert written(pack, ["J1"], [Decimal(5)])[0] == "J1（5）"


@pytest.mark.parametrize(
    ("message", "column"),
    [("{key + 1}", 14), ("{wan(key)}", 18), ("{coalesce(key, '无')}", 23)],
)
def test_key_is_written_alone_not_computed_with(pack_of, message, column):
    result = pack_of(message)
    assert [(d.code, d.span.line, d.span.column) for d in result.diagnostics] == [
        ("E261", 11, column)
    ]


def test_fmt_lines_missing_up_with_message_and_keeps_its_comment():
    untidy = (
        'model TST01 "测试" {\n  domain 招商引资\n  severity red\n  from com_incentive i\n'
        '  key i.incentive_id\n  township i.township\n  message "{i.paid_on}"\n'
        "    missing   “不详”   # 空值一律写“不详”\n}\n"
    )
    assert format_text(untidy).splitlines()[-4:] == [
        "  township i.township",
        '  message  "{i.paid_on}"',
        '  missing  "不详"  # 空值一律写“不详”',
        "}",
    ]
