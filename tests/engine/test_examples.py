"""Every model's inline examples pass on DuckDB; and an example that is wrong fails loudly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from adapters.duckdb import DuckDBWarehouse
from dsl import ir
from engine import api
from engine.policy import examples
from engine.policy.examples import run_examples

ROOT = Path(__file__).resolve().parents[2]
MODEL_IDS = sorted(p.stem for p in (ROOT / "policies" / "models").rglob("*.rule"))


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_examples_of(model_id: str, pack: ir.CheckedPack):
    model = pack.models[model_id]
    outcomes = run_examples(pack, [model])
    assert any(e.expect for e in model.examples), "a must-fire example"
    assert any(not e.expect for e in model.examples), "a near-miss example"
    failures = {o.title: [d.message for d in o.problems] for o in outcomes if not o.passed}
    assert failures == {}


def test_each_model_is_compiled_and_prepared_once_for_its_examples(
    pack: ir.CheckedPack, monkeypatch: pytest.MonkeyPatch
):
    """Examples read their rows in place through one prepared query per model and parameters.

    A model falls back to compiling per example only when its query cannot be made or
    prepared; every model of the pack can, so none falls back, and DuckDB prepares one
    statement per model and parameters, not one per example.
    """
    made: list[tuple[str, bool] | None] = []
    query = examples.InPlace.query
    prepared: list[str] = []
    prepare = DuckDBWarehouse.prepare

    def counted(self, model, tables, params):
        made.append(found := query(self, model, tables, params))
        return found

    def preparing(self, sql):
        prepared.append(sql)
        return prepare(self, sql)

    monkeypatch.setattr(examples.InPlace, "query", counted)
    monkeypatch.setattr(DuckDBWarehouse, "prepare", preparing)
    outcomes = run_examples(pack)
    assert outcomes and all(o.passed for o in outcomes)
    assert made and None not in made
    in_place = {
        (model.id, repr(sorted(example.params)))
        for model in pack.models.values()
        for example in model.examples
        if not example.pending
    }
    assert len(prepared) == len(in_place) < len(made)


def test_examples_without_pending_rows_import_neither_pandas_nor_arrow_datasets():
    """An edit of a model is checked without the 0.2–0.7 s of importing pandas.

    DuckDB imports pandas to bind a Python value, and pyarrow.dataset (which imports
    pandas) to scan an Arrow table; the examples' rows are inserted as literals and the
    day is written into the call of the prepared query instead. In a fresh interpreter.
    """
    pytest.importorskip("pandas")  # without it, nothing could import it anyway
    probe = (
        "import json, sys\n"
        "from engine import api\n"
        "from engine.policy.examples import run_examples\n"
        f"pack = api.load_pack({str(ROOT / 'policies')!r}, examples=True)\n"
        "plain = [m for m in pack.models.values() if not any(e.pending for e in m.examples)]\n"
        "outcomes = run_examples(pack, plain[:3])\n"
        "loaded = [n for n in ('pandas', 'pyarrow.dataset') if n in sys.modules]\n"
        "print(json.dumps([len(outcomes), all(o.passed for o in outcomes), loaded]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    ran, passed, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert ran > 3 and passed
    assert loaded == []


def _copy_pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(ROOT / "policies", target)
    return target


def test_a_wrong_expectation_fails_with_what_was_expected_and_got(tmp_path: Path):
    pack_dir = _copy_pack(tmp_path)
    rule = pack_dir / "models" / "engineering" / "ENG01.rule"
    text = rule.read_text(encoding="utf-8")
    # The near-miss at exactly six months now claims a warning: the example must fail.
    broken = text.replace("    expect none\n", '    expect "P1"\n', 1)
    assert broken != text
    rule.write_text(broken, encoding="utf-8")
    # E510 points at the example whose expectation failed: the one holding the changed line.
    before_it = broken[: broken.index('    expect "P1"\n')]
    example_line = before_it[: before_it.rindex("  example ")].count("\n") + 1
    report = api.check(pack_dir)
    assert not report.ok
    codes = [(d.code, d.span.line if d.span else None) for d in report.diagnostics]
    assert codes == [("E510", example_line)]
    assert "期望 P1，实际得到 无预警" in report.diagnostics[0].message_zh


def test_a_wrong_message_fails_and_shows_both(tmp_path: Path):
    pack_dir = _copy_pack(tmp_path)
    rule = pack_dir / "models" / "engineering" / "ENG01.rule"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("尚未招标，是否存在", "尚未招标,是否存在", 1), encoding="utf-8")
    report = api.check(pack_dir)
    # Both examples that expect a message now get another one, each said once.
    problem, other = report.diagnostics
    assert (problem.code, other.code) == ("E512", "E512")
    assert any(h.startswith("实际 got: 投资额为8832万元") for h in problem.hints)
    assert any(h.startswith("实际 got: 投资额为950万元的横村镇农民") for h in other.hints)


# ---- pre-check examples: `pending` rows are the records waiting for approval ------------------


def _pack_of(tmp_path: Path, *models: str, edit: tuple[str, str] | None = None) -> Path:
    """The repository's pack.yaml and shared rules with only `models` (ids), one text edited."""
    target = tmp_path / "pack"
    (target / "models").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "pack.yaml", target / "pack.yaml")
    shutil.copytree(ROOT / "policies" / "shared", target / "shared")
    edited = 0
    for model_id in models:
        [rule] = (ROOT / "policies" / "models").rglob(f"{model_id}.rule")
        text = rule.read_text(encoding="utf-8")
        if edit is not None:
            edited += text.count(edit[0])
            text = text.replace(*edit)
        (target / "models" / rule.name).write_text(text, encoding="utf-8")
    assert edited == (edit is not None), f"the text to edit is not there once: {edit}"
    return target


def test_the_pre_check_examples_of_FIN04_and_FUN06_pass_as_pre_checks(pack: ir.CheckedPack):
    models = [pack.models["FIN04"], pack.models["FUN06"]]
    prechecks = [e.title for m in models for e in m.examples if e.pending]
    assert len(prechecks) == 5
    outcomes = {o.title: o for o in run_examples(pack, models)}
    assert all(outcomes[title].passed for title in prechecks)


STORED_AND_PENDING = """model FIN04 "大额支出未经集体决策" {
  domain   财务收支
  severity red
  status   草稿

  from fin_payment p
  where p.amount >= $decision_threshold
    and not exists(town_decision d where d.contract_id = p.contract_id)

  key      p.payment_id
  township p.township
  message  "支付{p.payment_id}未见集体决策，请核查。"

  example "已入库的一笔付款已经预警，待审的一笔也没有决策" {
    as_of 2021-08-20
    given fin_payment { payment_id: "ZF1", township: "330122104", amount: 500000,
                        paid_on: 2021-08-01, contract_id: "HT1" }
    KIND fin_payment { payment_id: "ZF2", township: "330122104", amount: 500000,
                       paid_on: 2021-08-20, contract_id: "HT2" }
    expect "ZF2"
  }
}
"""


def test_a_pre_check_example_expects_only_what_its_pending_rows_add(tmp_path: Path):
    """ZF1 is stored and raises FIN04 already: the pre-check of ZF2 returns ZF2 alone."""
    root = _pack_of(tmp_path)
    rule = root / "models" / "FIN04.rule"
    rule.write_text(STORED_AND_PENDING.replace("KIND", "pending"), encoding="utf-8")
    assert api.check(root).diagnostics == []

    # Stored too, ZF2 is one more row of a plain run, which raises both.
    rule.write_text(STORED_AND_PENDING.replace("KIND", "given  "), encoding="utf-8")
    [problem] = api.check(root).diagnostics
    assert problem.code == "E510"
    assert problem.hints == ("多出 unexpected: ZF1",)


CHANGED_EXPECTATION = '    expect "6228480001" changed township "330122103"\n'
# The expectation of the example whose pending subsidy is the account's third recipient's.
NEW_EXPECTATION = '2021-12-01 }\n    expect "6228480001" township'


def test_a_changed_warning_expected_as_new_fails_and_says_how_to_write_it(tmp_path: Path):
    """FUN06 warns of the account with three recipients already; a fourth changes the message."""
    plain = CHANGED_EXPECTATION.replace(" changed", "")
    report = api.check(_pack_of(tmp_path, "FUN06", edit=(CHANGED_EXPECTATION, plain)))
    [problem] = report.diagnostics
    assert problem.code == "E510"
    assert problem.message_zh.endswith("期望新增预警 6228480001，预检得到的是已有预警的消息改变")
    assert problem.hints == (
        "改变前的消息 message now: "
        "账户6228480001收到3名不同对象的补贴共3笔，合计340元，是否存在代领、套取补贴？请核查。",
        '写成 expect "6228480001" changed / write: expect "6228480001" changed',
    )


def test_a_new_warning_expected_as_changed_fails(tmp_path: Path):
    """Two recipients stored raise nothing: the third one's subsidy raises FUN06 anew."""
    claimed = NEW_EXPECTATION.replace("township", "changed township")
    report = api.check(_pack_of(tmp_path, "FUN06", edit=(NEW_EXPECTATION, claimed)))
    [problem] = report.diagnostics
    assert problem.code == "E510"
    assert "期望已有的预警 6228480001 消息改变（changed），预检得到的是新增的预警" in (
        problem.message_zh
    )


def test_a_changed_warning_is_compared_with_its_new_message(tmp_path: Path):
    old = "账户6228480001收到3名不同对象的补贴共3笔，合计340元"
    new = "账户6228480001收到4名不同对象的补贴共4笔，合计439元"
    report = api.check(_pack_of(tmp_path, "FUN06", edit=(new, old)))
    [problem] = report.diagnostics
    assert problem.code == "E512"
    assert problem.hints[0].startswith(f"实际 got: {new}")


STORED_DECISION = """    given town_decision { decision_id: "JC2021-015", township: "330122104",
                          subject: "村道硬化工程合同", decided_on: 2021-08-01,
                          contract_id: "HT2021-031" }
"""


def test_a_pre_check_example_that_expects_none_fails_when_its_pending_rows_raise_one(
    tmp_path: Path,
):
    """Without the stored decision, the pending 50万 payment raises FIN04."""
    report = api.check(_pack_of(tmp_path, "FIN04", edit=(STORED_DECISION, "")))
    [problem] = report.diagnostics
    assert problem.code == "E510"
    assert "期望 无预警，实际得到 ZF2021088" in problem.message_zh
    assert problem.hints[-1].startswith("预检示例只比较待审记录新增或改变的预警")


@pytest.mark.parametrize(
    ("written", "rewritten", "codes"),
    [
        # The decision pending too: one pre-check is of one source's records.
        (
            'given town_decision { decision_id: "JC2021-015"',
            'pending town_decision { decision_id: "JC2021-015"',
            ["E508"],
        ),
        # FIN04 out of pre-checks, yet both its pre-check examples are left.
        ("  severity red\n", "  severity red\n  precheck no\n", ["E411", "E411"]),
        # A pending row is checked like a given one: a contract number is text.
        (
            'contract_id: "HT2021-031" }\n    expect none',
            "contract_id: 2021 }\n    expect none",
            ["E502"],
        ),
    ],
    ids=["two-sources", "precheck-no", "unquoted-text"],
)
def test_a_pre_check_example_written_wrong_is_refused_before_it_runs(
    tmp_path: Path, written: str, rewritten: str, codes: list[str]
):
    report = api.check(_pack_of(tmp_path, "FIN04", edit=(written, rewritten)))
    assert [d.code for d in report.diagnostics] == codes
    assert report.pack is None and report.examples == []


PLANNED_ON_EMPTY_TABLES = """model DOC001 "一次规划，各示例的行不同" {
  domain   ENG
  severity blue
  status   draft
  from ref_township t
  where t.kind = "街道"
  let longest = (from ref_township x select max(length(x.name)))
  key      t.township
  township t.township
  message  "{longest}"
  example "汉字的长度按字数" {
    as_of 2021-12-31
    given ref_township { township: "330122001", name: "桐君街道", kind: "街道" }
    expect "330122001" message "4"
  }
  example "另一个乡镇" {
    as_of 2021-12-31
    given ref_township { township: "330122002", name: "旧县街道", kind: "街道" }
    given ref_township { township: "330122101", name: "横村镇", kind: "镇" }
    expect "330122002" message "4"
  }
}
"""


def test_a_query_planned_once_reads_each_examples_rows_as_they_are(tmp_path: Path):
    """Each model's query is prepared on the examples' empty tables, then run on each
    example's rows: a plan resting on the empty tables' statistics would fold the filter
    away (no warning) and count the bytes of a Chinese name (12, not 4)."""
    pack_dir = _copy_pack(tmp_path)
    (pack_dir / "models" / "doc001.rule").write_text(PLANNED_ON_EMPTY_TABLES, encoding="utf-8")
    pack = api.load_pack(pack_dir, examples=True)
    outcomes = run_examples(pack, [pack.models["DOC001"]])
    assert [(o.passed, [d.hints for d in o.problems]) for o in outcomes] == [(True, [])] * 2


def _said(outcomes: list) -> list[tuple]:
    return [
        (o.model_id, o.title, o.passed, [(d.code, d.message_zh, d.hints) for d in o.problems])
        for o in outcomes
    ]


@pytest.mark.parametrize(
    ("models", "edit"),
    [
        (("FIN04", "FUN06"), None),
        (("FUN06",), (CHANGED_EXPECTATION, CHANGED_EXPECTATION.replace(" changed", ""))),
        (("FUN06",), (NEW_EXPECTATION, NEW_EXPECTATION.replace("township", "changed township"))),
        (
            ("FUN06",),
            (
                "账户6228480001收到4名不同对象的补贴共4笔，合计439元",
                "账户6228480001收到3名不同对象的补贴共3笔，合计340元",
            ),
        ),
        (("FIN04",), (STORED_DECISION, "")),
    ],
    ids=["as-written", "changed-as-new", "new-as-changed", "old-message", "no-decision"],
)
def test_a_pre_check_example_in_place_is_what_the_pre_check_service_says(
    tmp_path: Path, models: tuple[str, ...], edit: tuple[str, str] | None
):
    """check evaluates a pre-check example on its own tables, the model with and without
    the pending rows; the pre-check service (run on a warehouse given, as the conformance
    tests do) narrows and reads the rows as a query. Passing or failing, they agree."""
    pack = api.load_pack(_pack_of(tmp_path, *models, edit=edit), examples=True)
    in_place = run_examples(pack)
    warehouse = DuckDBWarehouse("duckdb:///:memory:")
    try:
        served = run_examples(pack, warehouse=warehouse)
    finally:
        warehouse.close()
    assert _said(in_place) == _said(served)
    prechecks = [
        o
        for o in in_place
        if o.title in {e.title for m in pack.models.values() for e in m.examples if e.pending}
    ]
    assert prechecks and all(o.passed for o in prechecks) == (edit is None)


def test_committed_rows_replace_the_given_rows_of_the_same_key(pack: ir.CheckedPack):
    """A pending row replaces the given row of its key; a key with a null replaces none."""
    source = "fin_payment"
    [key] = pack.pack.sources[source].key
    given = ((source, ((key, "ZF1"), ("amount", 1))), (source, ((key, None), ("amount", 2))))
    pending = ((source, ((key, "ZF1"), ("amount", 3))), (source, ((key, None), ("amount", 4))))
    example = ir.Example("t", date(2021, 1, 1), given, (), (), pending)
    assert examples.committed(pack, example) == (given[1], *pending)
