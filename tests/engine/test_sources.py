"""`oversight sources` on small hand-built warehouses: every status, at an exact lag.

The pack below has one source per way freshness is decided: a department default
(txn, 3/10 days, with growth), a source's own (pay, 1/2 weeks), the built-in 35/70 days
(other), a load-time column (stamped, 1/2 days over `loaded`), `freshness: none`
(calendar). Each is judged on both sides of its thresholds: a lag equal to a threshold
is within it (late means lag > warn_after, stale lag > error_after).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from adapters import connect
from dsl.diagnostics import DiagnosticError
from dsl.pack import Pack, load_pack
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.runs import ledger
from engine.schema import source_schema
from engine.sources import (
    SourceHealth,
    check_sources,
    previous_rows,
    rows_in_manifest,
    type_name,
)

PACK = """\
pack: {name: 测试包, version: 0.1.0}
domains: {ENG: 工程管理}
parameters: {}
freshness_defaults:
  银行: {warn_after: 3 days, error_after: 10 days}
sources:
  txn:
    label: 流水
    department: 银行
    key: [id]
    event_date: day
    growth: {min_rows: 3, per: week}
    columns:
      id: {type: string}
      day: {type: date}
  pay:
    label: 支付
    department: 财政
    key: [id]
    event_date: paid_on
    freshness: {warn_after: 1 week, error_after: 2周}
    columns:
      id: {type: string}
      paid_on: {type: date}
  other:
    label: 其他
    department: 其他
    key: [id]
    event_date: day
    columns:
      id: {type: string}
      day: {type: date}
  stamped:
    label: 带装载时间
    department: 银行
    key: [id]
    event_date: day
    loaded_at: loaded
    freshness: {warn_after: 1 day, error_after: 2 days}
    columns:
      id: {type: string}
      day: {type: date}
      loaded: {type: timestamp}
  calendar:
    label: 日历
    department: 参考
    key: [day]
    event_date: day
    freshness: none
    columns:
      day: {type: date}
  empty:
    label: 空表
    department: 其他
    key: [id]
    columns:
      id: {type: string}
  gone:
    label: 未交付
    department: 其他
    key: [id]
    columns:
      id: {type: string}
  shifted:
    label: 改了结构
    department: 其他
    key: [id]
    event_date: day
    columns:
      id: {type: string}
      amount: {type: int}
      note: {type: string}
      day: {type: date}
"""

D = date.fromisoformat
ROWS = {
    "txn": [
        {"id": "t1", "day": D("2021-12-01")},
        {"id": "t2", "day": D("2021-12-26")},
        {"id": "t3", "day": D("2021-12-27")},
        {"id": "t4", "day": D("2021-12-28")},
        {"id": "t5", "day": None},  # undated rows are visible, as they are to a run
        {"id": "t6", "day": D("2023-06-01")},  # after every as_of below: invisible
    ],
    "pay": [{"id": "p1", "paid_on": D("2021-12-17")}],
    "other": [{"id": "o1", "day": D("2021-11-26")}],
    "stamped": [
        {"id": "s1", "day": D("2021-01-01"), "loaded": datetime(2021, 12, 30, 10, 0)},
        # dated long ago (visible), loaded on New Year's Day: not yet loaded as of 12-31
        {"id": "s2", "day": D("2021-06-01"), "loaded": datetime(2022, 1, 1, 8, 0)},
    ],
    "calendar": [{"day": D("2019-01-01")}],
    "empty": [],
}
# shifted as the warehouse has it: `note` dropped, `amount` delivered as text
SHIFTED = pa.table(
    {
        "id": pa.array(["x1"]),
        "amount": pa.array(["12"]),
        "day": pa.array([D("2021-12-30")], pa.date32()),
    }
)


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Pack:
    folder = tmp_path_factory.mktemp("pack")
    (folder / "pack.yaml").write_text(PACK, encoding="utf-8")
    return load_pack(folder)


def build(url: str, pack: Pack) -> str:
    warehouse = connect(url)
    try:
        for name, rows in ROWS.items():
            schema = source_schema(pack.sources[name])
            warehouse.load(name, pa.Table.from_pylist(rows, schema=schema), replace=True)
        warehouse.load("shifted", SHIFTED, replace=True)
    finally:
        warehouse.close()
    return url


def health(url: str, pack: Pack, as_of: str, previous=None) -> dict[str, SourceHealth]:
    warehouse = connect(url, read_only=True)
    try:
        return {h.name: h for h in check_sources(warehouse, pack, {}, D(as_of), previous)}
    finally:
        warehouse.close()


def seen(report: dict[str, SourceHealth], name: str) -> tuple:
    h = report[name]
    return h.status, h.rows, h.latest and h.latest.isoformat(), h.lag_days


@pytest.fixture
def warehouse_url(empty_warehouse: str, pack: Pack) -> str:
    return build(empty_warehouse, pack)


def test_every_status_at_exact_lags(warehouse_url: str, pack: Pack):
    on_31 = health(warehouse_url, pack, "2021-12-31", previous={"txn": 2})
    # department default 3/10 days: lag 3 is not past warn_after
    assert seen(on_31, "txn") == ("ok", 5, "2021-12-28", 3)
    assert on_31["txn"].added_since_previous == 3
    assert on_31["pay"].added_since_previous is None
    # its own 1 week / 2周: lag 14 equals error_after, so late, not stale
    assert seen(on_31, "pay") == ("late", 1, "2021-12-17", 14)
    assert on_31["pay"].reasons == (
        "最新数据已 14 天，超过 1 week / latest 14 days ago, past warn_after 1 week",
    )
    # built-in 35/70 days: lag 35 is ok
    assert seen(on_31, "other") == ("ok", 1, "2021-11-26", 35)
    # measured over loaded_at: s2 was loaded after as_of, so the latest load is 12-30
    assert seen(on_31, "stamped") == ("ok", 2, "2021-12-30", 1)
    assert seen(on_31, "calendar") == ("ok", 1, "2019-01-01", 1095)  # freshness: none
    assert seen(on_31, "empty") == ("stale", 0, None, None)
    assert on_31["empty"].reasons == ("表中没有数据 / the table is empty",)
    assert seen(on_31, "gone") == ("missing", None, None, None)
    assert on_31["gone"].reasons == ("数据仓库中没有表 gone / table gone is not in the warehouse",)

    on_01 = health(warehouse_url, pack, "2022-01-01")
    assert seen(on_01, "txn") == ("late", 5, "2021-12-28", 4)
    assert seen(on_01, "pay") == ("stale", 1, "2021-12-17", 15)
    assert seen(on_01, "other") == ("late", 1, "2021-11-26", 36)
    assert seen(on_01, "stamped") == ("ok", 2, "2022-01-01", 0)

    on_02 = health(warehouse_url, pack, "2022-01-02")
    # the week up to 01-02 holds 12-27 and 12-28: fewer than growth's 3 rows
    assert on_02["txn"].status == "late"
    assert on_02["txn"].reasons == (
        "最新数据已 5 天，超过 3 days / latest 5 days ago, past warn_after 3 days",
        "近 7 天新增 2 行，少于 3 行 / 2 rows in the last 7 days, fewer than 3",
    )

    assert seen(health(warehouse_url, pack, "2022-01-07"), "txn") == ("late", 5, "2021-12-28", 10)
    assert seen(health(warehouse_url, pack, "2022-01-08"), "txn") == ("stale", 5, "2021-12-28", 11)
    # loaded 12-30 10:00 and 01-01 08:00; 1 day / 2 days: lag 1, 2 and 3 on 01-02, 01-03, 01-04
    assert seen(health(warehouse_url, pack, "2022-01-02"), "stamped")[0] == "ok"
    assert seen(health(warehouse_url, pack, "2022-01-03"), "stamped")[0] == "late"
    assert seen(health(warehouse_url, pack, "2022-01-04"), "stamped") == (
        "stale",
        2,
        "2022-01-01",
        3,
    )
    # freshness: none is never late, however old
    assert health(warehouse_url, pack, "2030-01-01")["calendar"].status == "ok"


def test_a_dropped_and_a_retyped_column_drift(warehouse_url: str, pack: Pack):
    shifted = health(warehouse_url, pack, "2021-12-31")["shifted"]
    assert shifted.status == "drifted"
    assert shifted.missing_columns == ("note",)
    assert shifted.retyped_columns == (("amount", "int", "string"),)
    assert shifted.reasons == (
        "缺少列 note / missing columns: note",
        "列类型改变 amount int→string / columns of another type: amount int→string",
    )
    assert (shifted.rows, shifted.lag_days) == (1, 1)  # the date column is fine: still counted


def test_before_any_row_a_source_is_stale(tmp_path: Path, pack: Pack):
    url = build(f"duckdb:///{tmp_path / 'w.duckdb'}", pack)
    early = health(url, pack, "2021-11-30")
    assert seen(early, "txn") == ("stale", 1, None, None)  # only the undated row is visible
    assert early["txn"].reasons == (
        "截至 2021-11-30 没有带日期（day）的数据 / no row dated (day) up to 2021-11-30",
        "近 7 天新增 0 行，少于 3 行 / 0 rows in the last 7 days, fewer than 3",
    )
    assert seen(early, "pay") == ("stale", 0, None, None)
    assert early["pay"].reasons == ("截至 2021-11-30 没有任何数据 / no rows up to 2021-11-30",)


def test_sqlite_dates_kept_as_text_are_not_drift(tmp_path: Path, pack: Pack):
    url = build(f"sqlite:///{tmp_path / 'w.sqlite'}", pack)
    report = health(url, pack, "2021-12-31")
    assert {h.name for h in report.values() if h.status == "drifted"} == {"shifted"}
    assert report["stamped"].retyped_columns == ()


def test_previous_rows_come_from_the_latest_run_as_of_the_day(tmp_path: Path, pack: Pack):
    url = build(f"duckdb:///{tmp_path / 'w.duckdb'}", pack)
    warehouse = connect(url)
    try:
        assert previous_rows(warehouse, ledger.Tables(), D("2021-12-31")) is None
        runs = []
        for as_of, rows in (("2021-11-30", 1), ("2021-12-15", 3), ("2022-01-31", 9)):
            manifest = {"sources": [{"name": "txn", "rows": rows, "status": "ok"}]}
            runs.append(
                {
                    "run_id": as_of,
                    "as_of": D(as_of),
                    "started_at": datetime.fromisoformat(as_of),
                    "finished_at": datetime.fromisoformat(as_of),
                    "pack_version": "0.1.0",
                    "engine_version": "0",
                    "models_run": 0,
                    "models_failed": 0,
                    "models_skipped": 0,
                    "warnings": 0,
                    "new_warnings": 0,
                    "manifest": json.dumps(manifest),
                }
            )
        warehouse.load(ledger.RUNS, pa.Table.from_pylist(runs, schema=ledger.RUNS_SCHEMA))
        assert previous_rows(warehouse, ledger.Tables(), D("2021-12-31")) == {"txn": 3}
    finally:
        warehouse.close()
    assert rows_in_manifest({"sources": {"txn": {"rows": 4}}}) == {"txn": 4}
    assert rows_in_manifest({"models": []}) is None


def test_freshness_of_says_where_it_comes_from(pack: Pack):
    assert [pack.freshness_of(n)[1] for n in ("txn", "pay", "other", "calendar", "empty")] == [
        "department",
        "source",
        "built-in",
        "source",
        "no date",
    ]
    assert pack.freshness_of("pay")[0].error_after.days == 14  # 2周


# ---- the command ------------------------------------------------------------------------------


def test_command_exit_codes_and_json(tmp_path: Path, pack: Pack, capsys):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "pack.yaml").write_text(PACK, encoding="utf-8")
    (policies / "m.rule").write_text("", encoding="utf-8")
    url = build(f"duckdb:///{tmp_path / 'w.duckdb'}", pack)
    args = ["sources", "--policies", str(policies), "--warehouse", url]
    code = main([*args, "--as-of", "2021-12-31", "--format", "json"])
    answer = json.loads(capsys.readouterr().out)
    assert code == ExitCode.SOURCES_UNHEALTHY == 6
    assert answer["healthy"] is False
    by_name = {s["name"]: s for s in answer["sources"]}
    assert by_name["txn"]["latest"] == "2021-12-28"
    assert by_name["shifted"]["retyped_columns"] == [["amount", "int", "string"]]
    assert by_name["gone"]["status_zh"] == "缺失"

    code = main([*args, "--as-of", "2021-12-31", "--format", "table"])
    table = capsys.readouterr().out
    assert code == 6
    assert "【银行】" in table and "迟到 late" in table
    assert "截至 2021-12-31：8 个来源，4 个不正常" in table

    assert main([*args, "--as-of", "31/12/2021"]) == ExitCode.USAGE
    missing = f"duckdb:///{tmp_path / 'nowhere.duckdb'}"
    assert main([*args[:-1], missing, "--as-of", "2021-12-31"]) == ExitCode.WAREHOUSE_UNREACHABLE


def test_command_is_ok_when_every_source_is(tmp_path: Path, capsys):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "m.rule").write_text("", encoding="utf-8")
    (policies / "pack.yaml").write_text(
        PACK.split("sources:")[0]
        + "sources:\n"
        + "\n".join(line for line in PACK.split("sources:\n")[1].split("\n  pay:")[0].splitlines())
        + "\n",
        encoding="utf-8",
    )
    small = load_pack(policies)
    assert list(small.sources) == ["txn"]
    url = build_only(f"duckdb:///{tmp_path / 'w.duckdb'}", small, "txn")
    args = ["sources", "--policies", str(policies), "--warehouse", url, "--format", "json"]
    assert main([*args, "--as-of", "2021-12-31"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["healthy"] is True


def build_only(url: str, pack: Pack, name: str) -> str:
    warehouse = connect(url)
    try:
        schema = source_schema(pack.sources[name])
        warehouse.load(name, pa.Table.from_pylist(ROWS[name], schema=schema), replace=True)
    finally:
        warehouse.close()
    return url


def test_command_with_a_bad_pack_exits_2(tmp_path: Path, capsys):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "m.rule").write_text("", encoding="utf-8")
    (policies / "pack.yaml").write_text(
        PACK.replace("error_after: 2周", "error_after: 2 fortnights"), encoding="utf-8"
    )
    code = main(["sources", "--policies", str(policies), "--as-of", "2021-12-31"])
    assert code == ExitCode.INVALID_POLICY
    assert "error[E608]" in capsys.readouterr().err


# ---- pack.yaml: the fields are checked like every other -------------------------------------


def problems(tmp_path: Path, text: str) -> list[tuple[str, int, int, str]]:
    (tmp_path / "pack.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DiagnosticError) as raised:
        load_pack(tmp_path)
    return [
        (d.code, d.span.line, d.span.column, d.message_zh)
        for d in raised.value.diagnostics
        if d.span is not None
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "freshness: {warn_after: 1 week, error_after: 2周}",
            "freshness: {warn_after: 1 week, eror_after: 2周}",
            [
                ("E607", 21, 37, "pay 的 freshness 中没有「eror_after」这一项"),
                ("E607", 21, 5, "pay 的 freshness 缺少 error_after"),
            ],
        ),
        (
            "freshness: {warn_after: 1 week, error_after: 2周}",
            "freshness: weekly",
            [("E607", 21, 5, "pay 的 freshness 应为 {warn_after: …, error_after: …} 或 none")],
        ),
        (
            "error_after: 2周}",
            "error_after: 14}",
            [("E608", 21, 37, "pay 的 error_after「14」不是时长：应为 数字 + 单位")],
        ),
        (
            "warn_after: 1 week",
            "warn_after: 0 days",
            [("E608", 21, 17, "pay 的 warn_after「0 days」不是时长：应大于 0")],
        ),
        (
            "warn_after: 1 week",
            "warn_after: 2 weeks",
            [
                (
                    "E609",
                    21,
                    17,
                    "pay 的 warn_after（2 weeks，14 天）应短于 error_after（2周，14 天）",
                )
            ],
        ),
        (
            "loaded_at: loaded",
            "loaded_at: loded",
            [("E610", 38, 5, "stamped 的 loaded_at「loded」不是它的列")],
        ),
        (
            "loaded_at: loaded",
            "loaded_at: id",
            [("E610", 38, 5, "stamped 的 loaded_at「id」是 string 列，不是日期")],
        ),
        (
            "    key: [id]\n    columns:\n      id: {type: string}\n  gone:",
            "    key: [id]\n    freshness: {warn_after: 1 day, error_after: 2 days}\n"
            "    columns:\n      id: {type: string}\n  gone:",
            [("E610", 56, 5, "empty 没有 event_date 也没有 loaded_at，freshness 无从判断")],
        ),
        (
            "per: week",
            "per: fortnight",
            [("E611", 12, 27, "txn 的 growth.per「fortnight」应为 day、week、month 或 year")],
        ),
        (
            "min_rows: 3",
            "min_rows: -3",
            [("E611", 12, 14, "txn 的 growth.min_rows「-3」应为正整数")],
        ),
        (
            "  银行: {warn_after",
            "  银荇: {warn_after",
            [("E612", 5, 3, "没有哪个来源属于部门「银荇」，它的默认值不会起作用")],
        ),
    ],
)
def test_pack_fields_are_checked(tmp_path: Path, old: str, new: str, expected):
    assert PACK.count(old) == 1
    assert problems(tmp_path, PACK.replace(old, new)) == expected


def test_durations_in_english_and_chinese(tmp_path: Path):
    from dsl.pack import Duration

    days = [Duration.parse(t).days for t in ("3 days", "1 day", "2 weeks", "1 month", "3天", "2周")]
    assert days == [3, 1, 14, 30, 3, 14]
    assert [Duration.parse(t).days for t in ("1个月", "1年", "2 years", " 4 Weeks ")] == [
        30,
        365,
        730,
        28,
    ]
    for bad in ("3", "days", "3 fortnights", "1.5 days", 3):
        with pytest.raises(ValueError):
            Duration.parse(bad)


def test_a_deployment_table_name_is_the_one_looked_for(warehouse_url: str, pack: Pack):
    warehouse = connect(warehouse_url, read_only=True)
    try:
        report = check_sources(warehouse, pack, {"pay": "pay_2021", "txn": "txn"}, D("2021-12-31"))
    finally:
        warehouse.close()
    by_name = {h.name: h for h in report}
    assert (by_name["pay"].status, by_name["pay"].physical_table) == ("missing", "pay_2021")
    assert (by_name["txn"].status, by_name["txn"].physical_table) == ("ok", "txn")


def test_each_warehouse_tells_an_empty_tables_columns(empty_warehouse: str):
    """Read from the catalog, not the rows: an empty table has its declared types too."""
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("n", pa.int64()),
            ("amount", pa.decimal128(18, 2)),
            ("day", pa.date32()),
            ("at", pa.timestamp("us")),
            ("flag", pa.bool_()),
        ]
    )
    warehouse = connect(empty_warehouse)
    try:
        warehouse.load("t", schema.empty_table())
        found = warehouse.table_schema("t")
        assert warehouse.table_schema("absent") is None
    finally:
        warehouse.close()
    kinds = {f.name: type_name(f.type) for f in found}
    if empty_warehouse.startswith("sqlite"):
        # as the adapter stores them: dates and timestamps as text, decimals as REAL
        assert kinds == {
            "id": "string",
            "n": "int",
            "amount": "float",
            "day": "string",
            "at": "string",
            "flag": "int",
        }
    else:
        assert kinds == {
            "id": "string",
            "n": "int",
            "amount": "decimal",
            "day": "date",
            "at": "timestamp",
            "flag": "bool",
        }
