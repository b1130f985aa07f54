"""Runs say what they stood on (issue 18): each source's health in the manifest, log and summary.

A small pack of three sources and four models, each reading them another way: FIN01 reads a
payment's amount, FIN02 its payee through a shared definition, FIN03 the payees through a
relation, FIN04 only the watch list. As of 2021-12-31 the payments stopped in October
(stale, past 30 days), the bids are 11 days old (late, past 3 days), the watch list is not
judged by date. The run names them beside each model reading them; `--require-fresh`
refuses to run models on the stale one; a lost or retyped column skips exactly the models
reading it. The county's own demo with fin_payment stopped is checked at the end.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from county_fixture import WAREHOUSE_KINDS
from sqlglot import exp

from adapters import connect
from adapters.names import statement
from dsl import ir
from engine import api
from engine.cli import main
from engine.demo import demo_run
from engine.demo.generator import generate
from engine.exit_codes import ExitCode
from engine.runs import ledger
from engine.runs.reads import columns_read
from engine.schema import source_schema

ROOT = Path(__file__).resolve().parents[2]
D = dt.date.fromisoformat

PACK = """\
pack: {name: 来源测试包, version: 0.1.0}
townships: none
domains: {FIN: 财政}
parameters: {}
sources:
  pay:
    label: 支付
    department: 财政局
    key: [id]
    event_date: paid_on
    freshness: {warn_after: 7 days, error_after: 30 days}
    columns:
      id: {type: string, required: true}
      payee: {type: string}
      amount: {type: decimal}
      paid_on: {type: date}
  bid:
    label: 投标
    department: 交易中心
    key: [id]
    event_date: day
    freshness: {warn_after: 3 days, error_after: 60 days}
    columns:
      id: {type: string, required: true}
      bidder: {type: string}
      day: {type: date}
  watch:
    label: 关注名单
    department: 纪委
    key: [payee]
    freshness: none
    columns:
      payee: {type: string, required: true}
      reason: {type: string}
"""

RULES = """\
define watched(who: string) "在关注名单上" = exists(watch w where w.payee = who)

relation paid "收过款的人" {
  from pay p
  select p.payee as payee
}

model FIN01 "大额支付" {
  domain   FIN
  severity yellow
  from pay p
  where p.amount > 1000
  key      p.id
  message  "{p.id}"
}

model FIN02 "支付给关注对象" {
  domain   FIN
  severity red
  from pay p
  where watched(p.payee)
  key      p.id
  message  "{p.id}"
}

model FIN03 "投标人收过款" {
  domain   FIN
  severity blue
  from bid b
  where exists(paid x where x.payee = b.bidder)
  key      b.id
  message  "{b.id}"
}

model FIN04 "名单未写原因" {
  domain   FIN
  severity blue
  from watch w
  where w.reason is null
  key      w.payee
  message  "{w.payee}"
}
"""

ROWS: dict[str, list[dict[str, Any]]] = {
    "pay": [
        {"id": "P1", "payee": "甲", "amount": Decimal("5000"), "paid_on": D("2021-09-01")},
        {"id": "P2", "payee": "乙", "amount": Decimal("50"), "paid_on": D("2021-10-15")},
    ],
    "bid": [
        {"id": "B1", "bidder": "乙", "day": D("2021-10-20")},
        {"id": "B2", "bidder": "丙", "day": D("2021-12-20")},
    ],
    "watch": [{"payee": "甲", "reason": "举报"}, {"payee": "丁", "reason": None}],
}
READING_PAY = ["FIN01", "FIN02", "FIN03"]


@pytest.fixture(scope="module")
def policies(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("policies")
    (folder / "pack.yaml").write_text(PACK, encoding="utf-8")
    (folder / "models").mkdir()
    (folder / "models" / "fin.rule").write_text(RULES, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def pack(policies: Path) -> ir.CheckedPack:
    return api.load_pack(policies)


def build(url: str, pack: ir.CheckedPack, changed: dict[str, pa.Table] | None = None) -> str:
    warehouse = connect(url)
    try:
        for name, rows in ROWS.items():
            table = pa.Table.from_pylist(rows, schema=source_schema(pack.pack.sources[name]))
            warehouse.load(name, (changed or {}).get(name, table), replace=True)
    finally:
        warehouse.close()
    return url


@pytest.fixture(params=WAREHOUSE_KINDS)
def url(request, tmp_path: Path, pack: ir.CheckedPack) -> str:
    """The small county on DuckDB, SQLite and PostgreSQL (a fresh database on conftest's server)."""
    if request.param == "postgres":
        return build(request.getfixturevalue("postgres_database"), pack)
    return build(f"{request.param}:///{tmp_path / f'county.{request.param}'}", pack)


def run(policies: Path, url: str, *more: str, as_of: str = "2021-12-31") -> list[str]:
    return [
        *("run", "--policies", str(policies), "--warehouse", url, "--as-of", as_of),
        *more,
    ]


def recorded(url: str) -> tuple[list[dict], list[dict]]:
    """The ledger and the runs table, whole: what a run that records nothing leaves alone."""
    warehouse = connect(url, read_only=True)
    try:
        runs: list[dict] = []
        if warehouse.has_table(ledger.RUNS):
            query = exp.select(exp.Star()).from_(ledger.RUNS).order_by("run_id")
            runs = warehouse.query(statement(query, warehouse.dialect)).to_pylist()
        return ledger.read(warehouse).to_pylist(), runs
    finally:
        warehouse.close()


def test_the_columns_each_model_reads(pack: ir.CheckedPack):
    reads = {m: columns_read(pack, model) for m, model in pack.models.items()}
    # the event date is read by the as-of rule wherever a source is bound
    assert reads["FIN01"] == {"pay": frozenset({"id", "amount", "paid_on"})}
    assert reads["FIN02"] == {
        "pay": frozenset({"id", "payee", "paid_on"}),
        "watch": frozenset({"payee"}),  # through the definition
    }
    assert reads["FIN03"] == {
        "bid": frozenset({"id", "bidder", "day"}),
        "pay": frozenset({"payee", "paid_on"}),  # through the relation
    }
    assert reads["FIN04"] == {"watch": frozenset({"payee", "reason"})}
    assert all(set(r) == pack.models[m].sources for m, r in reads.items())


def test_a_stale_source_is_named_in_manifest_log_and_summary_with_its_models(
    policies: Path, url: str, tmp_path: Path, capsys
):
    manifest = tmp_path / "manifest.json"
    args = run(policies, url, "--manifest", str(manifest), "--format", "json", "--log-format")
    code = main([*args, "json"])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK  # a late or stale source does not fail a run by itself
    summary = json.loads(out)
    assert summary["models_run"] == 4 and summary["warnings"] == 4  # P1 twice, B1 (乙 was paid), 丁
    assert summary["unhealthy_sources"] == {
        "pay": {
            "status": "stale",
            "status_zh": "停滞",
            "models": READING_PAY,
            "reasons": [
                "最新数据已 77 天，超过 30 days / latest 77 days ago, past error_after 30 days"
            ],
        },
        "bid": {
            "status": "late",
            "status_zh": "迟到",
            "models": ["FIN03"],
            "reasons": [
                "最新数据已 11 天，超过 3 days / latest 11 days ago, past warn_after 3 days"
            ],
        },
    }

    document = json.loads(manifest.read_text(encoding="utf-8"))
    sources = {s["name"]: s for s in document["sources"]}
    assert [s["name"] for s in document["sources"]] == ["pay", "bid", "watch"]
    assert (sources["pay"]["status"], sources["pay"]["rows"], sources["pay"]["lag_days"]) == (
        "stale",
        2,
        77,
    )
    assert (sources["bid"]["status"], sources["bid"]["latest"]) == ("late", "2021-12-20")
    assert sources["watch"]["status"] == "ok"
    assert sources["pay"]["added_since_previous"] is None  # no run before this one
    lagging = {m["id"]: m["lagging_sources"] for m in document["models"]}
    assert lagging == {
        "FIN01": {"pay": "stale"},
        "FIN02": {"pay": "stale"},
        "FIN03": {"bid": "late", "pay": "stale"},
        "FIN04": {},
    }

    events = [json.loads(line) for line in err.splitlines()]
    checked = [e for e in events if e["event"] == "source.checked"]
    assert [(e["code"], e["name"], e["status"], e["lag_days"], e["rows"]) for e in checked] == [
        ("OV101", "pay", "stale", 77, 2),
        ("OV101", "bid", "late", 11, 2),
        ("OV101", "watch", "ok", None, 2),
    ]
    # checked before any model ran, after the run started
    names = [e["event"] for e in events]
    assert names.index("run.started") < names.index("source.checked")
    assert max(i for i, n in enumerate(names) if n == "source.checked") < names.index(
        "model.finished"
    )
    finished = {e["id"]: e["lagging_sources"] for e in events if e["event"] == "model.finished"}
    assert finished == lagging


def test_the_human_summary_has_a_line_per_unhealthy_source_before_done(
    policies: Path, url: str, capsys
):
    assert main(run(policies, url, "--no-ledger")) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "  来源停滞 stale pay: FIN01, FIN02, FIN03 — 最新数据已 77 天，超过 30 days / "
        "latest 77 days ago, past error_after 30 days",
        "  来源迟到 late bid: FIN03 — 最新数据已 11 天，超过 3 days / "
        "latest 11 days ago, past warn_after 3 days",
    ]
    assert lines[-1].startswith("Done. ran=4 failed=0 skipped=0 warnings=4 new=- in ")


def test_require_fresh_fails_before_running_anything_and_records_nothing(
    policies: Path, url: str, tmp_path: Path, capsys
):
    assert main(run(policies, url, "--select", "FIN04")) == ExitCode.OK  # a ledger and a run
    capsys.readouterr()
    before = recorded(url)
    assert len(before[0]) == 1 and len(before[1]) == 1
    manifest, output = tmp_path / "manifest.json", tmp_path / "warnings.parquet"
    args = run(policies, url, "--require-fresh", "--manifest", str(manifest))
    code = main([*args, "--output", str(output), "--log-format", "json"])
    out, err = capsys.readouterr()
    assert code == ExitCode.STALE_SOURCES == 7
    assert out == ""
    said = [line for line in err.splitlines() if not line.startswith("{")]
    assert said == [
        "数据停滞，本次运行未运行任何模型、未记录任何内容：pay（最新数据已 77 天，超过 30 days / "
        "latest 77 days ago, past error_after 30 days）由 FIN01、FIN02、FIN03 读取",
        "--require-fresh: stale sources, nothing was run or recorded: pay (read by FIN01, FIN02, "
        "FIN03)",
    ]
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert "model.finished" not in events and "ledger.recorded" not in events
    assert events[-1] == "run.finished"
    assert recorded(url) == before  # nothing recorded: the ledger and the runs table as they were
    assert not output.exists()
    assert not list(tmp_path.glob("*.parquet*"))  # no warnings file, not even aside
    document = json.loads(manifest.read_text(encoding="utf-8"))
    assert document["outcome"] == "stale_sources"
    assert document["models"] == [] and document["models_run"] == 0
    assert document["warnings"] == {"raised": 0, "new_in_ledger": None}
    assert {s["name"]: s["status"] for s in document["sources"]} == {
        "pay": "stale",
        "bid": "late",
        "watch": "ok",
    }
    assert "pay" in document["error"] and "FIN03" in document["error"]
    # With --format json, stdout says the same to a scheduler.
    code = main(run(policies, url, "--require-fresh", "--format", "json"))
    assert code == ExitCode.STALE_SOURCES
    assert json.loads(capsys.readouterr().out) == {
        "as_of": "2021-12-31",
        "outcome": "stale_sources",
        "stale": {"pay": READING_PAY},
    }
    assert recorded(url) == before


def test_require_fresh_runs_when_the_sources_read_are_only_late(policies: Path, url: str, capsys):
    # On 2021-10-31 the payments are 16 days old and the bids 11: late, not stale.
    code = main(run(policies, url, "--require-fresh", "--format", "json", as_of="2021-10-31"))
    summary = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK
    assert {n: s["status"] for n, s in summary["unhealthy_sources"].items()} == {
        "pay": "late",
        "bid": "late",
    }
    assert summary["models_run"] == 4
    # On 2021-12-31 a model that reads no stale source runs too.
    code = main(run(policies, url, "--require-fresh", "--select", "FIN04", "--no-ledger"))
    assert code == ExitCode.OK


@pytest.mark.parametrize(
    ("changed", "skipped", "drifted"),
    [
        # amount kept as text: only FIN01 reads it; FIN02 and FIN03 read pay too, and run
        (
            pa.table(
                {
                    "id": ["P1", "P2"],
                    "payee": ["甲", "乙"],
                    "amount": ["5000", "50"],
                    "paid_on": pa.array([D("2021-09-01"), D("2021-10-15")], pa.date32()),
                }
            ),
            ["FIN01"],
            {
                "FIN01": [
                    {"source": "pay", "column": "amount", "expected": "decimal", "found": "string"}
                ]
            },
        ),
        # payee gone: FIN02 (directly) and FIN03 (through the relation) read it; FIN01 does not
        (
            pa.table(
                {
                    "id": ["P1", "P2"],
                    "amount": pa.array([Decimal("5000"), Decimal("50")], pa.decimal128(18, 2)),
                    "paid_on": pa.array([D("2021-09-01"), D("2021-10-15")], pa.date32()),
                }
            ),
            ["FIN02", "FIN03"],
            {
                m: [{"source": "pay", "column": "payee", "expected": "string", "found": None}]
                for m in ("FIN02", "FIN03")
            },
        ),
    ],
    ids=["retyped", "missing"],
)
def test_a_drifted_column_skips_exactly_the_models_reading_it(
    policies: Path,
    pack: ir.CheckedPack,
    tmp_path: Path,
    kind: str,
    changed: pa.Table,
    skipped: list[str],
    drifted: dict,
    capsys,
):
    url = build(f"{kind}:///{tmp_path / f'drift.{kind}'}", pack, {"pay": changed})
    manifest = tmp_path / "manifest.json"
    code = main(run(policies, url, "--format", "json", "--manifest", str(manifest)))
    summary = json.loads(capsys.readouterr().out)
    assert code == ExitCode.MODELS_SKIPPED == 4
    assert sorted(summary["skipped"]) == skipped
    assert summary["drifted"] == drifted
    assert summary["models_failed"] == 0 and summary["models_run"] == 4 - len(skipped)
    assert summary["unhealthy_sources"]["pay"]["status"] == "drifted"
    models = {m["id"]: m for m in json.loads(manifest.read_text(encoding="utf-8"))["models"]}
    for model_id in skipped:
        assert models[model_id]["status"] == "skipped"
        assert models[model_id]["missing_sources"] == []
        column = drifted[model_id][0]
        name, expected, found = column["column"], column["expected"], column["found"]
        shown = (
            f"来源 pay 缺少列 {name}（应为 {expected}）"
            if found is None
            else f"来源 pay 的列 {name} 应为 {expected}，实为 {found}"
        )
        assert models[model_id]["error"].startswith(shown)
    assert {m for m, o in models.items() if o["status"] == "ran"} == {
        "FIN01",
        "FIN02",
        "FIN03",
        "FIN04",
    } - set(skipped)


@pytest.fixture(params=["duckdb", "sqlite"])
def kind(request) -> str:
    return request.param


def test_a_missing_table_still_skips_its_models_as_before(
    policies: Path, pack: ir.CheckedPack, tmp_path: Path, capsys
):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    warehouse = connect(url)
    try:
        for name in ("pay", "watch"):
            schema = source_schema(pack.pack.sources[name])
            warehouse.load(name, pa.Table.from_pylist(ROWS[name], schema=schema))
    finally:
        warehouse.close()
    code = main(run(policies, url, "--format", "json", "--no-ledger"))
    summary = json.loads(capsys.readouterr().out)
    assert code == ExitCode.MODELS_SKIPPED
    assert summary["skipped"] == {"FIN03": ["bid"]} and summary["drifted"] == {}
    assert summary["unhealthy_sources"]["bid"]["status"] == "missing"


def test_rows_added_since_the_previous_run(policies: Path, url: str, pack, tmp_path: Path, capsys):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert main(run(policies, url, "--manifest", str(first))) == ExitCode.OK
    more = [*ROWS["pay"], {"id": "P3", "payee": "戊", "amount": None, "paid_on": D("2021-12-30")}]
    warehouse = connect(url)
    try:
        schema = source_schema(pack.pack.sources["pay"])
        warehouse.load("pay", pa.Table.from_pylist(more, schema=schema), replace=True)
    finally:
        warehouse.close()
    assert main(run(policies, url, "--manifest", str(second))) == ExitCode.OK
    capsys.readouterr()
    before = {s["name"]: s for s in json.loads(first.read_text(encoding="utf-8"))["sources"]}
    after = {s["name"]: s for s in json.loads(second.read_text(encoding="utf-8"))["sources"]}
    assert {n: s["added_since_previous"] for n, s in before.items()} == {
        "pay": None,
        "bid": None,
        "watch": None,
    }
    assert {n: (s["rows"], s["added_since_previous"]) for n, s in after.items()} == {
        "pay": (3, 1),
        "bid": (2, 0),
        "watch": (2, 0),
    }
    assert after["pay"]["status"] == "ok"  # paid 2021-12-30: a day old


# ---- the demo county with fin_payment stopped in October -------------------------------------


@pytest.fixture(scope="module")
def stopped_county_url(tmp_path_factory) -> str:
    """The demo county at size 0.05 with fin_payment stopped on 2021-10-01 (as tests/demo's)."""
    folder = tmp_path_factory.mktemp("stopped")
    url = f"duckdb:///{folder / 'demo.duckdb'}"
    demo_run.build_warehouse(url, generate(size=0.05, seed=2021, stopped="fin_payment"))
    return url


FIN_PAYMENT_MODELS = ["ENG06", "ENG07", "FIN04", "FIN05", "FUN05"]


def test_the_year_end_run_on_the_stopped_demo_names_fin_payment_and_its_models(
    stopped_county_url: str, tmp_path: Path, capsys
):
    county_pack = api.load_pack(ROOT / "policies")
    assert (
        sorted(m for m, model in county_pack.models.items() if "fin_payment" in model.sources)
        == FIN_PAYMENT_MODELS
    )
    manifest = tmp_path / "manifest.json"
    args = ["run", "--policies", str(ROOT / "policies"), "--warehouse", stopped_county_url]
    args += ["--as-of", "2021-12-31", "--no-ledger", "--manifest", str(manifest)]
    assert main([*args, "--format", "json"]) == ExitCode.OK
    summary = json.loads(capsys.readouterr().out)
    assert {n: (s["status"], s["models"]) for n, s in summary["unhealthy_sources"].items()} == {
        "fin_payment": ("stale", FIN_PAYMENT_MODELS)
    }
    models = json.loads(manifest.read_text(encoding="utf-8"))["models"]
    assert {m["id"] for m in models if m["lagging_sources"]} == set(FIN_PAYMENT_MODELS)
    assert all(
        m["lagging_sources"] == {"fin_payment": "stale"} for m in models if m["lagging_sources"]
    )
    assert main([*args, "--require-fresh"]) == ExitCode.STALE_SOURCES
    err = capsys.readouterr().err
    assert "fin_payment" in err and "ENG06、ENG07、FIN04、FIN05、FUN05" in err
    # The demo's own summary names it too, from the year-end run's check.
    health = demo_run.year_end_sources(county_pack, stopped_county_url, D("2021-12-31"))
    assert demo_run.unhealthy_facts(health, county_pack) == {
        "fin_payment": {"status": "stale", "status_zh": "停滞", "models": FIN_PAYMENT_MODELS}
    }
