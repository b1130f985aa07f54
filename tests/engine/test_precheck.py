"""Pre-check (运行端): a pending matter is checked by the same models before it is approved.

A township's finance system is about to approve a payment; it asks which
warnings the payment would raise. The answer is what a run as of that day
would give with the payment committed, less what it gives now — and the
warehouse is left exactly as it was, but for one audit row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from county_fixture import fill_county
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from adapters import Warehouse, connect
from adapters.names import statement
from dsl import ir
from dsl.diagnostics import DiagnosticError, render_human
from engine import api
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.runs import ledger
from engine.runs.run import ModelOutcome, RunResult, run_models
from engine.schema import source_schema
from engine.service.precheck import (
    MAX_RECORDS,
    Standing,
    models_reading,
    narrowed_to,
    precheck,
    request,
)

BAIJIANG = "330122104"
FENSHUI = "330122102"

County = Callable[[dict[str, list[dict[str, Any]]]], str]


@pytest.fixture
def county(empty_warehouse: str, pack: ir.CheckedPack, townships: list[dict]) -> County:
    """Build a county's warehouse on each kind of warehouse: every source, these rows in them."""

    def build(rows_by_source: dict[str, list[dict[str, Any]]]) -> str:
        return fill_county(empty_warehouse, pack, townships, rows_by_source)

    return build


def payment(payment_id: str, amount: Any, **more: Any) -> dict[str, Any]:
    """A payment as a township's finance system sends it (amounts and dates as text)."""
    return {
        "payment_id": payment_id,
        "township": BAIJIANG,
        "payer_unit": "百江镇人民政府",
        "payee_name": "桐庐县百江建设有限公司",
        "amount": amount,
        "paid_on": "2021-08-20",
        "purpose": "村道硬化工程进度款",
        "economic_class": "资本性支出",
        "contract_id": "HT2021-031",
        **more,
    }


def subsidy(subsidy_id: str, recipient: str, amount: Any = "120.50") -> dict[str, Any]:
    return {
        "subsidy_id": subsidy_id,
        "program": "耕地地力保护补贴",
        "township": BAIJIANG,
        "recipient_id": recipient,
        "account_no": "6228480001",
        "amount": amount,
        "paid_on": "2021-04-01",
    }


def stored(record: dict[str, Any], pack: ir.CheckedPack, source: str) -> dict[str, Any]:
    """The same record as the warehouse holds it (typed values)."""
    from engine.service.precheck import records_of

    return records_of(pack.pack.sources[source], [record])[0]


FIN04_MESSAGE = (
    "百江镇于2021-08-20向桐庐县百江建设有限公司支付50万元（支付编号ZF2021088，合同HT2021-031，"
    "用途：村道硬化工程进度款），未见相应的“三重一大”集体决策，是否存在大额资金支出未经集体决策？请核查。"
)


def test_a_large_payment_without_a_collective_decision_would_raise_FIN04(
    county: County, pack: ir.CheckedPack
):
    url = county({})
    answer = api.precheck(pack, "fin_payment", payment("ZF2021088", "500,000.00"), warehouse=url)
    assert answer.select(["model_id", "warning_key", "township", "change"]).to_pylist() == [
        {"model_id": "FIN04", "warning_key": "ZF2021088", "township": BAIJIANG, "change": "new"}
    ]
    assert answer.column("message").to_pylist() == [FIN04_MESSAGE]
    assert answer.column("as_of").to_pylist() == [date(2021, 8, 20)]  # the payment's own day


def test_the_same_payment_after_its_decision_raises_nothing(county: County, pack: ir.CheckedPack):
    decision = {
        "decision_id": "JC1",
        "township": BAIJIANG,
        "meeting_type": "党委会",
        "subject": "村道硬化工程合同",
        "contract_id": "HT2021-031",
        "decided_on": date(2021, 8, 1),
    }
    url = county({"town_decision": [decision]})
    answer = api.precheck(pack, "fin_payment", payment("ZF2021088", 500000), warehouse=url)
    assert answer.num_rows == 0


def test_a_payment_below_the_threshold_raises_nothing(county: County, pack: ir.CheckedPack):
    url = county({})
    answer = api.precheck(pack, "fin_payment", payment("ZF2021088", "299,999.99"), warehouse=url)
    assert answer.num_rows == 0


def test_a_warning_that_exists_already_is_returned_only_if_its_message_changes(
    county: County, pack: ir.CheckedPack
):
    """Three recipients share an account already; a fourth makes FUN06's message change."""
    shared = [subsidy(f"S{i}", f"33012219600101001{i}") for i in range(1, 4)]
    url = county({"fin_subsidy": [stored(s, pack, "fin_subsidy") for s in shared]})

    fourth = subsidy("S4", "330122196001010049", "99")
    answer = api.precheck(pack, "fin_subsidy", fourth, as_of=date(2021, 12, 31), warehouse=url)
    assert answer.select(["model_id", "warning_key", "change"]).to_pylist() == [
        {"model_id": "FUN06", "warning_key": "6228480001", "change": "changed"}
    ]
    assert answer.column("message_now").to_pylist() == [
        "账户6228480001收到3名不同对象的补贴共3笔，合计361.5元，是否存在代领、套取补贴？请核查。"
    ]
    assert answer.column("message").to_pylist() == [
        "账户6228480001收到4名不同对象的补贴共4笔，合计460.5元，是否存在代领、套取补贴？请核查。"
    ]

    # The same subsidy again (an amendment changing nothing) changes nothing.
    again = api.precheck(pack, "fin_subsidy", shared[0], as_of=date(2021, 12, 31), warehouse=url)
    assert again.num_rows == 0


def test_a_record_with_a_stored_key_amends_the_stored_row(county: County, pack: ir.CheckedPack):
    """A payment raised from 10万 to 50万 is checked as 50万, not as both."""
    url = county({"fin_payment": [stored(payment("ZF2021088", 100000), pack, "fin_payment")]})
    answer = api.precheck(pack, "fin_payment", payment("ZF2021088", 500000), warehouse=url)
    assert answer.column("message").to_pylist() == [FIN04_MESSAGE]

    # Lowered below the threshold, the stored row's absence of a warning stays: nothing new.
    lowered = api.precheck(pack, "fin_payment", payment("ZF2021088", 1000), warehouse=url)
    assert lowered.num_rows == 0


def test_a_subsidy_list_is_one_precheck(county: County, pack: ir.CheckedPack):
    """Three rows of one list share an account: FUN06 fires for the list as a whole."""
    url = county({})
    listed = [subsidy(f"S{i}", f"33012219600101001{i}") for i in range(1, 4)]
    answer = api.precheck(pack, "fin_subsidy", listed, as_of=date(2021, 12, 31), warehouse=url)
    assert answer.select(["model_id", "warning_key", "change"]).to_pylist() == [
        {"model_id": "FUN06", "warning_key": "6228480001", "change": "new"}
    ]


def _tables(url: str, pack: ir.CheckedPack) -> dict[str, list[dict[str, Any]]]:
    warehouse = connect(url)
    try:
        out = {}
        for name in [*pack.pack.sources, ledger.LEDGER, ledger.RUNS]:
            if warehouse.has_table(name):
                everything = exp.select("*").from_(exp.to_table(name))
                rows = warehouse.query(statement(everything, warehouse.dialect)).to_pylist()
                out[name] = sorted(rows, key=repr)
        return out
    finally:
        warehouse.close()


def test_nothing_in_the_warehouse_changes_but_one_audit_row(county: County, pack: ir.CheckedPack):
    url = county({"fin_payment": [stored(payment("ZF1", 100000), pack, "fin_payment")]})
    api.run(pack, date(2021, 12, 31), warehouse=url)  # a ledger with a run in it
    before = _tables(url, pack)

    api.precheck(
        pack, "fin_payment", payment("ZF1", 500000), warehouse=url, caller="百江镇财务系统"
    )
    api.precheck(
        pack, "fin_payment", payment("ZF2", 600000), warehouse=url, caller="百江镇财务系统"
    )

    assert _tables(url, pack) == before
    warehouse = connect(url)
    try:
        audit = warehouse.query(
            statement(exp.select("*").from_(ledger.PRECHECKS), warehouse.dialect)
        ).to_pylist()
    finally:
        warehouse.close()
    assert [(a["caller"], a["source"], a["records"], a["warnings"]) for a in audit] == [
        ("百江镇财务系统", "fin_payment", 1, 1),
        ("百江镇财务系统", "fin_payment", 1, 1),
    ]
    assert {a["answer"] for a in audit} == {
        '[{"model_id": "FIN04", "warning_key": "ZF1", "change": "new"}]',
        '[{"model_id": "FIN04", "warning_key": "ZF2", "change": "new"}]',
    }
    assert all("FIN04" in a["models"].split(",") for a in audit)
    assert len({a["digest"] for a in audit}) == 2


# ---- bad records: clear errors, with the field's JSON path, before any SQL runs --------------


def _problems(pack: ir.CheckedPack, source: str, records: Any) -> list[tuple[str, str | None]]:
    with pytest.raises(DiagnosticError) as caught:
        api.precheck(pack, source, records, warehouse="duckdb:///nowhere/at/all.duckdb")
    return [(d.code, d.path) for d in caught.value.diagnostics]


def test_an_unknown_source_is_E670_with_a_suggestion(pack: ir.CheckedPack):
    with pytest.raises(DiagnosticError) as caught:
        api.precheck(pack, "fin_payments", payment("ZF1", 1), warehouse="duckdb:///x.duckdb")
    (problem,) = caught.value.diagnostics
    assert (problem.code, problem.path) == ("E670", "source")
    assert "fin_payment" in problem.hints[0]


@pytest.mark.parametrize("records", [[], "ZF1", 42, None])
def test_records_that_are_not_records_are_E671(pack: ir.CheckedPack, records: Any):
    assert _problems(pack, "fin_payment", records) == [("E671", "records")]


def test_too_many_records_are_E671(pack: ir.CheckedPack):
    many = [payment(f"ZF{i}", 1) for i in range(MAX_RECORDS + 1)]
    assert _problems(pack, "fin_payment", many) == [("E671", "records")]


def test_every_bad_field_is_reported_with_its_path(pack: ir.CheckedPack):
    records = [
        payment("ZF1", "五十万"),  # not an amount
        payment("ZF2", 500000, paid_on="2021-02-30"),  # no such day
        payment("ZF3", 500000, amout=1),  # a misspelt column
        {**payment("ZF4", 500000), "township": None},  # a required column missing
        {k: v for k, v in payment("ZF5", 1).items() if k != "payment_id"},  # the key missing
        payment("ZF6", 500000, township=330122104),  # text sent as a number
        payment("ZF1", 1),  # the same key as records[0]
        "ZF8",  # not an object
        payment("ZF9", "1.005"),  # a fraction of a fen
    ]
    with pytest.raises(DiagnosticError) as caught:
        api.precheck(pack, "fin_payment", records, warehouse="duckdb:///nowhere.duckdb")
    problems = caught.value.diagnostics
    assert sorted((d.code, d.path) for d in problems) == sorted(
        [
            ("E674", "records[0].amount"),
            ("E674", "records[1].paid_on"),
            ("E672", "records[2].amout"),
            ("E673", "records[3].township"),
            ("E673", "records[4].payment_id"),
            ("E674", "records[5].township"),
            ("E675", "records[6]"),
            ("E671", "records[7]"),
            ("E674", "records[8].amount"),
        ]
    )
    shown = render_human(problems)
    assert "records[2].amout: error[E672]" in shown
    assert "did you mean amount?" in shown
    assert "records[0].amount: error[E674]: amount：「五十万」不是金额" in shown


# ---- who takes part ---------------------------------------------------------------------------


def test_models_reading_a_source_only_through_shared_rules_take_part(pack: ir.CheckedPack):
    """No model names sup_kinship in its own `from`; the official_circle relation reads it."""
    reading = {m.id for m in models_reading(pack, "sup_kinship")}
    named = {
        m.id
        for m in pack.models.values()
        if any(s.binding.source == "sup_kinship" for s in m.query.sources)
    }
    assert named == set()
    assert {"AST05", "ENG08", "FIN05", "FUN03", "HOU05", "INV04"} <= reading


def test_a_model_that_says_precheck_no_is_left_out_though_it_reads_the_source(
    pack: ir.CheckedPack,
):
    """ENG01 reads dr_project, but "not tendered six months after approval" is no question
    to ask while a project is being approved."""
    assert "dr_project" in pack.models["ENG01"].sources
    assert pack.models["ENG01"].precheck is False
    assert [m.id for m in models_reading(pack, "dr_project")] == ["ENG02"]
    # Likewise the other checks that only time passing can trip.
    assert "AST04" not in {m.id for m in models_reading(pack, "ag_lease")}
    assert "HOU04" not in {m.id for m in models_reading(pack, "nr_housing_approval")}
    assert "FUN05" not in {m.id for m in models_reading(pack, "fin_payment")}


def test_a_project_approved_long_ago_raises_no_ENG01_when_pre_checked_though_a_run_does(
    duckdb_warehouse, townships: list[dict], pack: ir.CheckedPack
):
    every_source = {n: townships if n == "ref_township" else [] for n in pack.pack.sources}
    url = duckdb_warehouse(every_source)
    project = {
        "project_id": "P1",
        "township": FENSHUI,
        "name": "农村自来水工程",
        "investment": "88320000",
        "approved_on": "2021-04-20",
        "status": "在建",
    }
    day = date(2021, 11, 15)
    answer = api.precheck(pack, "dr_project", project, as_of=day, warehouse=url)
    assert answer.num_rows == 0
    assert answer.schema.metadata[b"oversight.models"] == b"ENG02"

    # Stored, the same project is what ENG01 is for: the supervision side's run raises it.
    warehouse = connect(url)
    try:
        schema = source_schema(pack.pack.sources["dr_project"])
        rows = [stored(project, pack, "dr_project")]
        warehouse.load("dr_project", pa.Table.from_pylist(rows, schema=schema), replace=True)
        result = run_models(pack, warehouse, day, [pack.models["ENG01"]])
    finally:
        warehouse.close()
    assert result.warnings.column("warning_key").to_pylist() == ["P1"]


# ---- the meaning, as a property: precheck(R) = run(S ∪ R) − run(S) ----------------------------


@pytest.fixture
def property_county(county: County, pack: ir.CheckedPack) -> Iterator[tuple[str, list[dict]]]:
    base = [
        stored(payment("ZF1", 400000), pack, "fin_payment"),
        stored(payment("ZF2", 100000, contract_id=None), pack, "fin_payment"),
    ]
    yield county({"fin_payment": base}), base


payments = st.builds(
    lambda n, amount, day, contract: payment(
        f"ZF{n}", amount, paid_on=f"2021-08-{day:02d}", contract_id=contract
    ),
    st.integers(1, 4),
    st.sampled_from(["1000", "299999.99", "300000", "450000.50", "2,000,000"]),
    st.integers(1, 28),
    st.sampled_from([None, "HT2021-031", "HT2021-032"]),
)


@contextmanager
def rolled_back(warehouse: Warehouse) -> Iterator[None]:
    """A transaction that is always rolled back: the warehouse as it would be, for a moment."""
    try:
        with warehouse.transaction():
            yield
            raise _RollBack
    except _RollBack:
        pass


class _RollBack(Exception):
    pass


def messages(warnings: pa.Table) -> dict[tuple[str, str], str]:
    """Each warning's message by (model_id, warning_key)."""
    return {
        (row["model_id"], row["warning_key"]): row["message"]
        for row in warnings.select(["model_id", "warning_key", "message"]).to_pylist()
    }


def run_less_run(
    url: str, pack: ir.CheckedPack, source: str, base: list[dict], records: list[dict], day: date
) -> dict[tuple[str, str], str]:
    """run(S ∪ R) − run(S) by the models reading `source`: the records written, and not."""
    models = models_reading(pack, source)
    typed = [stored(r, pack, source) for r in records]
    key = pack.pack.sources[source].key
    amended = {tuple(r[k] for k in key) for r in typed}
    union = [row for row in base if tuple(row[k] for k in key) not in amended] + typed
    schema = source_schema(pack.pack.sources[source])
    warehouse = connect(url)
    try:
        now = messages(run_models(pack, warehouse, day, models).warnings)
        with rolled_back(warehouse):
            warehouse.load(source, pa.Table.from_pylist(union, schema=schema), True)
            then = messages(run_models(pack, warehouse, day, models).warnings)
    finally:
        warehouse.close()
    return {key: text for key, text in then.items() if now.get(key) != text}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(payments, min_size=1, max_size=3, unique_by=lambda r: r["payment_id"]))
def test_precheck_is_the_run_with_the_records_less_the_run_without(
    property_county: tuple[str, list[dict]], pack: ir.CheckedPack, records: list[dict]
):
    url, base = property_county
    day = date(2021, 8, 31)
    answer = api.precheck(pack, "fin_payment", records, as_of=day, warehouse=url)
    expected = run_less_run(url, pack, "fin_payment", base, records, day)
    assert messages(answer) == expected

    # A service remembers what the models it runs in full give now: the same answers.
    warehouse = connect(url)
    try:
        asked = request(pack, "fin_payment", records, day)
        for _ in range(2):
            standing = STANDINGS.setdefault(url, Standing(seconds=3600))
            remembered = precheck(warehouse, pack, asked, standing=standing)
            assert messages(remembered.warnings) == expected
    finally:
        warehouse.close()


# One per warehouse, shared by the examples: its stored rows never change.
STANDINGS: dict[str, Standing] = {}


# Grouped models (FUN01, FUN02, FUN06) are evaluated on the groups the records touch: a record
# may join a group, start one, or amend a stored row into another group (or out of all).
SHARED_ACCOUNT, OTHER_ACCOUNT = "6228480001", "6228480002"


@pytest.fixture
def subsidy_county(county: County, pack: ir.CheckedPack) -> Iterator[tuple[str, list[dict]]]:
    base = [
        subsidy("S1", "330122196001010011"),
        subsidy("S2", "330122196001010029"),
        subsidy("S3", "330122196001010037") | {"account_no": OTHER_ACCOUNT},
        subsidy("S4", "330122196001010045") | {"account_no": OTHER_ACCOUNT, "period": "2021-04"},
    ]
    typed = [stored(r, pack, "fin_subsidy") for r in base]
    yield county({"fin_subsidy": typed}), typed


subsidies = st.builds(
    lambda n, recipient, account, period, program: (
        subsidy(f"S{n}", f"33012219600101{recipient}", "99")
        | {"account_no": account, "period": period, "program": program}
    ),
    st.integers(1, 7),
    st.sampled_from(["0011", "0029", "0037", "0045", "0053"]),
    st.sampled_from([SHARED_ACCOUNT, OTHER_ACCOUNT, None, " "]),
    st.sampled_from([None, "2021-04", "2021-05"]),
    st.sampled_from(["耕地地力保护补贴", "高龄补贴"]),
)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(subsidies, min_size=1, max_size=3, unique_by=lambda r: r["subsidy_id"]))
def test_precheck_of_grouped_models_is_the_run_with_the_records_less_the_run_without(
    subsidy_county: tuple[str, list[dict]], pack: ir.CheckedPack, records: list[dict]
):
    url, base = subsidy_county
    day = date(2021, 12, 31)
    answer = api.precheck(pack, "fin_subsidy", records, as_of=day, warehouse=url)
    assert messages(answer) == run_less_run(url, pack, "fin_subsidy", base, records, day)


def test_an_amendment_that_moves_a_row_to_another_group_is_seen_in_both(
    subsidy_county: tuple[str, list[dict]], pack: ir.CheckedPack
):
    url, _ = subsidy_county
    moved = subsidy("S3", "330122196001010037") | {"account_no": SHARED_ACCOUNT}
    joined = subsidy("S5", "330122196001010053") | {"account_no": OTHER_ACCOUNT}
    answer = api.precheck(pack, "fin_subsidy", [moved], as_of=date(2021, 12, 31), warehouse=url)
    assert [key for _, key in messages(answer)] == [SHARED_ACCOUNT]  # 3 recipients now

    # S3 leaves the other account as S5 joins it: still two recipients there, no warning.
    both = [moved, joined]
    answer = api.precheck(pack, "fin_subsidy", both, as_of=date(2021, 12, 31), warehouse=url)
    assert [key for _, key in messages(answer)] == [SHARED_ACCOUNT]


# ---- what a service remembers ----------------------------------------------------------------


def counted(status: str = "ran") -> tuple[list[RunResult], Callable[[], RunResult]]:
    """A run that records each time it is made, and the runs made."""
    made: list[RunResult] = []

    def run() -> RunResult:
        result = RunResult(date(2021, 12, 31), pa.table({}), [ModelOutcome("ENG06", status)])
        made.append(result)
        return result

    return made, run


def test_a_complete_run_is_remembered_for_the_same_pack_and_key(pack: ir.CheckedPack):
    standing = Standing(seconds=3600)
    made, run = counted()
    first = standing.result(pack, ("fin_payment", 1), run)
    assert standing.result(pack, ("fin_payment", 1), run) is first
    assert len(made) == 1
    standing.result(pack, ("fin_payment", 2), run)  # another day, another run
    assert len(made) == 2


def test_a_new_pack_a_failed_run_or_no_time_to_remember_runs_again(pack: ir.CheckedPack):
    made, run = counted()
    standing = Standing(seconds=3600)
    standing.result(pack, ("k",), run)
    reread = api.load_pack()  # the same files, read again: another pack
    standing.result(reread, ("k",), run)
    assert len(made) == 2

    made, failing = counted("failed")
    for _ in range(2):
        standing.result(pack, ("failing",), failing)
    assert len(made) == 2

    made, run = counted()
    never = Standing(seconds=0)
    for _ in range(2):
        never.result(pack, ("k",), run)
    assert len(made) == 2


def test_the_oldest_entry_is_forgotten_first(pack: ir.CheckedPack):
    made, run = counted()
    standing = Standing(seconds=3600, entries=2)
    for key in ("a", "b", "c", "b", "a"):  # c pushes a out; b is still there; a is run again
        standing.result(pack, (key,), run)
    assert len(made) == 4


# ---- the command line --------------------------------------------------------------------------


@pytest.fixture
def duckdb_county(duckdb_warehouse, townships: list[dict]) -> str:
    return duckdb_warehouse({"ref_township": townships, "fin_payment": [], "town_decision": []})


def _precheck_command(tmp_path: Path, url: str, records: Any, *options: str) -> list[str]:
    path = tmp_path / "pending.json"
    text = records if isinstance(records, str) else json.dumps(records, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return [
        "precheck",
        "--source",
        "fin_payment",
        "--record",
        str(path),
        "--warehouse",
        url,
        *options,
    ]


def test_the_command_exits_5_and_lists_what_approval_would_raise(
    duckdb_county: str, tmp_path: Path, capsys
):
    args = _precheck_command(tmp_path, duckdb_county, payment("ZF2021088", "500,000.00"))
    assert main(args) == ExitCode.WOULD_WARN
    out = capsys.readouterr().out
    assert "[新增 new] FIN04 大额支出未经集体决策 (red) ZF2021088" in out
    assert "未评估 not evaluated" in out  # this county has no contracts table: ENG06 is skipped
    assert "ENG06" in out
    assert FIN04_MESSAGE in out


def test_the_command_exits_0_when_nothing_would_be_raised(
    duckdb_county: str, tmp_path: Path, capsys
):
    args = _precheck_command(
        tmp_path, duckdb_county, payment("ZF2021088", 1000), "--format", "json"
    )
    assert main(args) == ExitCode.OK
    answer = json.loads(capsys.readouterr().out)
    assert answer["warnings"] == []
    assert (answer["source"], answer["as_of"], answer["records"]) == (
        "fin_payment",
        "2021-08-20",
        1,
    )
    assert "FIN04" in answer["models"]


def test_the_command_exits_65_on_records_that_are_not_json(
    duckdb_county: str, tmp_path: Path, capsys
):
    args = _precheck_command(tmp_path, duckdb_county, '{"payment_id": "ZF1",\n "amount": }')
    assert main(args) == ExitCode.BAD_RECORDS
    err = capsys.readouterr().err
    assert "pending.json:2:12: error[E671]" in err


def test_the_command_exits_65_on_bad_records_with_their_paths_in_json(
    duckdb_county: str, tmp_path: Path, capsys
):
    bad = [payment("ZF1", "五十万")]
    args = _precheck_command(tmp_path, duckdb_county, bad, "--format", "json")
    assert main(args) == ExitCode.BAD_RECORDS
    problems = json.loads(capsys.readouterr().err)
    assert [(p["code"], p["path"]) for p in problems] == [("E674", "records[0].amount")]


# ---- which models are evaluated on the rows the records touch alone --------------------------


@pytest.mark.parametrize(
    ("model_id", "source", "within"),
    [
        ("FIN04", "fin_payment", ("payment_id",)),  # from fin_payment p … key p.payment_id
        ("FUN06", "fin_subsidy", ("account_no",)),  # grouped by account: its rows alone count
        ("FIN04", "town_decision", None),  # read in a subquery, not as the rows warned about
        ("ENG06", "trade_contract", ("contract_id",)),  # payments are read in subqueries …
        ("ENG06", "fin_payment", None),  # … so a new payment may change any contract's warning
        # the distinct (person_id, start_on) of the assistance read again for the vehicles
        # counted before each start (a grouped join, engine/compiler/decorrelate.py) are the
        # values of the rows evaluated: narrowed with them
        ("FUN04", "ca_assistance", ("case_id",)),
        ("HOU01", "nr_housing_approval", ("application_id",)),
    ],
)
def test_a_model_is_evaluated_on_the_rows_of_the_records_keys_only_when_that_is_exact(
    pack: ir.CheckedPack, model_id: str, source: str, within: tuple[str, ...] | None
):
    assert narrowed_to(pack, pack.models[model_id], source) == within


def test_a_service_connection_answers_each_precheck_for_its_own_records(
    county: County, pack: ir.CheckedPack
):
    """Through one connection kept by a service, a small payment, then a large one, then small.

    On DuckDB the connection keeps the records' table and each model's query prepared
    between pre-checks: a plan made while the table held a payment no filter passes
    must still find the large one (DuckDB plans with the rows' statistics at the time).
    """
    url = county({})
    warehouse = connect(url)
    standing = Standing(seconds=3600)
    try:
        for number, amount, warned in ((1, 100, False), (2, 500000, True), (3, 100, False)):
            asked = request(pack, "fin_payment", [payment(f"ZF{number}", amount)])
            answer = precheck(warehouse, pack, asked, standing=standing).warnings
            expected = [("FIN04", f"ZF{number}")] if warned else []
            assert list(messages(answer)) == expected, (number, amount)
    finally:
        warehouse.close()


def test_relations_the_records_cannot_change_are_kept_by_the_connection(
    tmp_path: Path, pack: ir.CheckedPack, townships: list[dict]
):
    """official_circle is kept for a lease; enterprise_person, which a shareholder changes, not.

    On DuckDB, where a pre-check reads them so (elsewhere the models read them inline).
    """
    url = fill_county(f"duckdb:///{tmp_path / 'county.duckdb'}", pack, townships, {})
    warehouse = connect(url)
    standing = Standing(seconds=3600)
    day = date(2021, 12, 31)
    try:
        for source, kept in (
            ("ag_lease", {"official_circle", "enterprise_person"}),
            ("mkt_shareholder", {"official_circle"}),
        ):
            unchanged = {
                name for name in pack.relations if source not in pack.relations[name].sources
            }
            assert standing.relations(warehouse, pack, day, {}, {}, unchanged).keys() == kept
        never = Standing(seconds=0)
        assert never.relations(warehouse, pack, day, {}, {}, {"official_circle"}) == {}
    finally:
        warehouse.close()
