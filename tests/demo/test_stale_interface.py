"""The demo county with one interface stopped (issue 18): a bureau's export job broke in October.

`oversight demo --stale-interface fin_payment` leaves out the payments from 2021-10-01 on and
touches nothing else; the summary says so. The month-end runs over it show the harm the issue
is about: the models reading the silent interface quietly find less (or, for a model that
looks for a missing record, find false cases), and nothing tells anyone but the summary line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from adapters import connect
from engine import api
from engine.cli import main
from engine.demo import demo_run
from engine.demo.generator import STOPPED_FROM, DemoCounty, StoppedInterface, generate
from engine.exit_codes import ExitCode
from engine.runs import ledger

ROOT = Path(__file__).resolve().parents[2]
SIZE = 0.05  # the size of conftest's small_county, which is the same county left whole
Q4 = dt.date(2021, 10, 1)

Warning = tuple[str, str, dt.date]  # model_id, warning_key, issued_on


@pytest.fixture(scope="module")
def pack():
    return api.load_pack(ROOT / "policies")


@pytest.fixture(scope="module")
def no_payments_from_october() -> DemoCounty:
    return generate(size=SIZE, seed=2021, stopped="fin_payment")


def warnings_of(url: str) -> set[Warning]:
    """The ledger of a warehouse: each warning once, with the month end that first raised it."""
    warehouse = connect(url, must_exist=True)
    try:
        rows = ledger.read(warehouse).to_pylist()
    finally:
        warehouse.close()
    return {(w["model_id"], w["warning_key"], w["issued_on"]) for w in rows}


def month_ends_of(pack, county: DemoCounty, folder: Path) -> set[Warning]:
    url = f"duckdb:///{folder / 'demo.duckdb'}"
    demo_run.build_warehouse(url, county)
    found, failures = demo_run.run_month_ends(pack, url)
    assert failures == []
    return {(w["model_id"], w["warning_key"], w["issued_on"]) for w in found.to_pylist()}


@pytest.fixture(scope="module")
def whole_county_warnings(pack, small_county, tmp_path_factory) -> set[Warning]:
    return month_ends_of(pack, small_county, tmp_path_factory.mktemp("whole"))


@pytest.fixture(scope="module")
def stopped_demo(tmp_path_factory) -> tuple[str, str]:
    """`oversight demo --stale-interface fin_payment` at SIZE: its human summary and warehouse."""
    folder = tmp_path_factory.mktemp("stopped")
    url = f"duckdb:///{folder / 'demo.duckdb'}"
    args = [
        *("demo", "--policies", str(ROOT / "policies"), "--size", str(SIZE)),
        *("--warehouse", url, "--report", str(folder / "report.html")),
        *("--advice", str(folder / "advice"), "--format", "human"),
        *("--stale-interface", "fin_payment"),
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # capsys is for one test; this demo serves two
        assert main(args) == ExitCode.OK
    return out.getvalue(), url


def before(table: pa.Table, column: str, day: dt.date) -> pa.Table:
    return table.filter(pc.less(table[column], pa.scalar(day, pa.date32())))


def test_the_stopped_source_keeps_its_rows_before_october_and_nothing_else_changes(
    small_county: DemoCounty, no_payments_from_october: DemoCounty
):
    whole = small_county.tables["fin_payment"]
    kept = no_payments_from_october.tables["fin_payment"]
    assert pc.max(kept["paid_on"]).as_py() < STOPPED_FROM == dt.date(2021, 10, 1)
    assert kept.equals(before(whole, "paid_on", STOPPED_FROM))
    dropped = whole.num_rows - kept.num_rows
    assert kept.num_rows > 0 and dropped > 0
    assert no_payments_from_october.stopped == StoppedInterface("fin_payment", Q4, dropped)
    others = sorted(set(small_county.tables) - {"fin_payment"})
    assert len(others) == 34
    for name in others:
        assert no_payments_from_october.tables[name].equals(small_county.tables[name]), name
    # The truth is what was planted, whatever was stopped: tests comparing with it use
    # counties without a stopped interface, as every other test generates them.
    assert small_county.stopped is None
    assert no_payments_from_october.truth.equals(small_county.truth)


def test_a_timestamp_event_date_and_another_day(small_county: DemoCounty):
    bids = generate(size=SIZE, seed=2021, stopped="trade_bid", stopped_from=dt.date(2021, 7, 1))
    whole, kept = small_county.tables["trade_bid"], bids.tables["trade_bid"]
    assert pc.max(kept["submitted_at"]).as_py() < dt.datetime(2021, 7, 1)
    midnight = pa.scalar(dt.datetime(2021, 7, 1), whole["submitted_at"].type)
    assert kept.equals(whole.filter(pc.less(whole["submitted_at"], midnight)))
    assert bids.stopped == StoppedInterface(
        "trade_bid", dt.date(2021, 7, 1), whole.num_rows - kept.num_rows
    )


def test_the_demo_summary_names_the_stopped_interface(
    stopped_demo, no_payments_from_october: DemoCounty, pack, small_county
):
    text, url = stopped_demo
    dropped = no_payments_from_october.stopped.rows_dropped
    assert (
        f"停止的接口 stopped interface: fin_payment 自 2021-10-01 起不再供数（少 {dropped:,} 行）"
        f"/ delivers nothing from 2021-10-01 ({dropped:,} rows left out)"
    ) in text
    # The JSON summary of the same facts (the human one is written from it).
    found = pa.Table.from_pylist([])
    for county, expected in (
        (no_payments_from_october, {"source": "fin_payment", "from": "2021-10-01"}),
        (small_county, None),
    ):
        rows = {name: t.num_rows for name, t in county.tables.items()}
        result = demo_run.DemoResult(
            url, SIZE, 2021, rows, found, county.truth, stopped=county.stopped
        )
        facts = demo_run.summary(result, pack)
        if expected is None:
            assert facts["stopped_interface"] is None
        else:
            assert facts["stopped_interface"] == {**expected, "rows_dropped": dropped}


def test_the_demo_summary_names_the_stale_source_of_the_year_end_run_and_its_models(stopped_demo):
    text, _ = stopped_demo
    lines = text.splitlines()
    # Right after the stopped interface's line: what the year-end run stood on.
    assert lines[2] == (
        "年末运行的来源 year-end run's source fin_payment: 停滞 stale，读取它的模型 read by "
        "ENG06, ENG07, FIN04, FIN05, FUN05"
    )
    assert sum("年末运行的来源" in line for line in lines) == 1  # every other source is ok


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("fin_paymnt", "no source named 'fin_paymnt'\n  = 提示 hint: 是否要写 fin_payment？"),
        ("ref_township", "ref_township has no event_date (a reference table or register)"),
        ("sup_official", "sup_official has no event_date"),
    ],
)
def test_a_name_that_cannot_stop_is_a_usage_error(name: str, said: str, capsys, tmp_path):
    url = f"duckdb:///{tmp_path / 'untouched.duckdb'}"
    args = ["demo", "--warehouse", url, "--stale-interface", name]
    assert main(args) == ExitCode.USAGE == 64
    err = capsys.readouterr().err
    assert "--stale-interface" in err and said in err
    assert "fin_payment" in err  # the hint names the source meant, or the ones that can stop
    assert not (tmp_path / "untouched.duckdb").exists()


def test_a_stop_day_without_an_interface_is_a_usage_error(capsys):
    assert main(["demo", "--stale-from", "2021-10-01"]) == ExitCode.USAGE
    assert "only with --stale-interface" in capsys.readouterr().err


def test_the_models_reading_the_silent_interface_quietly_find_less(
    pack, stopped_demo, whole_county_warnings: set[Warning], small_county: DemoCounty
):
    reading = {m for m, model in pack.models.items() if "fin_payment" in model.sources}
    assert reading == {"ENG06", "ENG07", "FIN04", "FIN05", "FUN05"}
    stopped = warnings_of(stopped_demo[1])
    whole = whole_county_warnings

    def only(warnings: set[Warning], models: set[str], q4: bool) -> set[Warning]:
        return {w for w in warnings if (w[0] in models) and ((w[2] >= Q4) == q4)}

    others = set(pack.models) - reading
    assert only(stopped, others, True) | only(stopped, others, False) == (
        only(whole, others, True) | only(whole, others, False)
    )
    assert only(stopped, reading, False) == only(whole, reading, False)
    # In Q4 four of them look for a wrong payment (beyond the contract, before the acceptance,
    # without a collective decision, to an official's kin): the payments of October to
    # December never came, so the nine planted there are not found and nothing takes their
    # place: the county looks cleaner than it is, and every run says "ok". FUN05 (funds held
    # back) reads the payments too and could only gain (a fund's spending undercounted), but
    # the two funds with payments after October whose deadline passed in Q4 had spent over
    # half (min_spend_ratio) before October.
    lost = only(whole, reading, True) - only(stopped, reading, True)
    assert only(stopped, reading, True) < only(whole, reading, True)
    assert len(lost) == 9
    planted = {(t["model_id"], t["warning_key"]) for t in small_county.truth.to_pylist()}
    assert {(m, k) for m, k, _ in lost} <= planted
    assert {m for m, _, _ in lost} == reading - {"FUN05"}
    assert only(stopped, reading - {"FUN05"}, True) == set()
    assert only(stopped, {"FUN05"}, True) == only(whole, {"FUN05"}, True) != set()


def test_a_silent_tender_interface_raises_false_not_tendered_warnings(
    pack, whole_county_warnings: set[Warning], small_county: DemoCounty, tmp_path
):
    county = generate(size=SIZE, seed=2021, stopped="trade_tender")
    stopped = month_ends_of(pack, county, tmp_path)
    reading = {m for m, model in pack.models.items() if "trade_tender" in model.sources}
    assert reading == {"ENG01", "ENG03", "ENG04"}
    assert {w for w in stopped if w[0] not in reading} == {
        w for w in whole_county_warnings if w[0] not in reading
    }
    gained = stopped - whole_county_warnings
    lost = whole_county_warnings - stopped
    assert min(w[2] for w in gained | lost) >= Q4
    # ENG01 (应招未招) warns of a project with no tender: the tenders published from October
    # on never came, so six projects tendered then read as never tendered — false warnings,
    # at the county's most severe level. The bid-rigging models (ENG03, ENG04) lose the
    # planted tenders of Q4.
    assert {w[0] for w in gained} == {"ENG01"} and len(gained) == 6
    assert {w[0] for w in lost} == {"ENG03", "ENG04"} and len(lost) == 4
    planted = {(t["model_id"], t["warning_key"]) for t in small_county.truth.to_pylist()}
    assert {(m, k) for m, k, _ in lost} <= planted
