"""Disposal records: files as offices write them, all-or-nothing loading, status, filters."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters import connect
from adapters.duckdb import DuckDBWarehouse
from dsl.diagnostics import DiagnosticError, render_human
from dsl.pack import Township
from engine.index import disposal
from engine.runs.ledger import LEDGER_SCHEMA
from engine.schema import source_schema

HEADER = "model_id,warning_key,verified_on,outcome,rectified_on,persons_disposed,funds_recovered"


@pytest.fixture
def catalog(pack):
    return pack.pack


@pytest.fixture
def schema(catalog) -> pa.Schema:
    return source_schema(catalog.sources["sup_disposal"])


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problems(path: Path, catalog) -> list:
    with pytest.raises(DiagnosticError) as err:
        disposal.load_disposal_file(path, catalog)
    return err.value.diagnostics


def where(diagnostic) -> tuple[str, int, int]:
    return (diagnostic.code, diagnostic.span.line, diagnostic.span.column)


# ---- reading files ---------------------------------------------------------------------------


def test_a_utf8_csv_with_bom_loads_into_the_catalog_schema(tmp_path, catalog, schema):
    path = write(
        tmp_path,
        f"{HEADER}\r\n"
        'ENG01,P1,2021-11-20,属实,2021/12/01,2,"12,345.6"\r\n'
        "ENG01,P2,2021年11月21日, 不属实 ,,0,\r\n"
        "FUN01,K|3,,,,,\r\n",
        "utf-8-sig",
    )
    table = disposal.load_disposal_file(path, catalog)
    assert table.schema == schema
    assert table.to_pylist() == [
        {
            "model_id": "ENG01",
            "warning_key": "P1",
            "verified_on": date(2021, 11, 20),
            "outcome": "属实",
            "rectified_on": date(2021, 12, 1),
            "persons_disposed": 2,
            "funds_recovered": Decimal("12345.60"),
        },
        {
            "model_id": "ENG01",
            "warning_key": "P2",
            "verified_on": date(2021, 11, 21),
            "outcome": "不属实",
            "rectified_on": None,
            "persons_disposed": 0,
            "funds_recovered": None,
        },
        {
            "model_id": "FUN01",
            "warning_key": "K|3",
            "verified_on": None,
            "outcome": None,
            "rectified_on": None,
            "persons_disposed": None,
            "funds_recovered": None,
        },
    ]


def test_a_gbk_csv_from_excel_is_recognised(tmp_path, catalog):
    text = "模型编号,预警编号,核查日期,核查结果,整改日期,处置人数,追缴金额,备注\r\n"
    text += 'ENG01,P1,2021/11/20,部分属实,2021/12/3,1,"1,000",分水镇中心小学\r\n'
    path = write(tmp_path, text, "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    [row] = disposal.load_disposal_file(path, catalog).to_pylist()
    assert row["outcome"] == "部分属实"
    assert row["rectified_on"] == date(2021, 12, 3)
    assert row["funds_recovered"] == Decimal("1000.00")


def test_utf8_without_bom_and_utf16_tab_separated_load_too(tmp_path, catalog):
    plain = write(tmp_path, f"{HEADER}\nENG01,P1,2021-11-20,属实,,,\n", name="plain.csv")
    unicode_text = write(
        tmp_path,
        "\ufeff" + HEADER.replace(",", "\t") + "\r\nENG01\tP1\t2021-11-20\t属实\t\t\t\r\n",
        "utf-16-le",
        name="unicode.txt",
    )
    for path in (plain, unicode_text):
        [row] = disposal.load_disposal_file(path, catalog).to_pylist()
        assert (row["warning_key"], row["outcome"]) == ("P1", "属实")


@pytest.mark.parametrize(
    "text",
    [
        "2021-11-20",
        "2021/11/20",
        "2021年11月20日",
        "2021年11月20",
        "2021.11.20",
        "２０２１年１１月２０日",
        "2021/11/20 0:00",
        "2021-11-20 00:00:00",
        " 2021/11/20 ",
    ],
)
def test_each_date_format_offices_use(tmp_path, catalog, text):
    path = write(tmp_path, f"{HEADER}\nENG01,P1,{text},属实,,,\n")
    [row] = disposal.load_disposal_file(path, catalog).to_pylist()
    assert row["verified_on"] == date(2021, 11, 20)


def test_single_digit_months_and_days(tmp_path, catalog):
    path = write(tmp_path, f"{HEADER}\nENG01,P1,2021/1/5,属实,2021年2月3日,,\n")
    [row] = disposal.load_disposal_file(path, catalog).to_pylist()
    assert (row["verified_on"], row["rectified_on"]) == (date(2021, 1, 5), date(2021, 2, 3))


@pytest.mark.parametrize(
    "text", ["2021-13-01", "2021-02-30", "20211120", "2021-11/20", "11/20/2021", "2021年11-20"]
)
def test_a_date_that_is_not_one_is_reported(tmp_path, catalog, text):
    path = write(tmp_path, f"{HEADER}\nENG01,P1,{text},属实,,,\n")
    [problem] = problems(path, catalog)
    assert where(problem) == ("E641", 2, len("ENG01,P1,") + 1)
    assert problem.span.end_column - problem.span.column == len(text)


def test_an_excel_date_serial_gets_a_hint(tmp_path, catalog):
    [problem] = problems(write(tmp_path, f"{HEADER}\nENG01,P1,44520,属实,,,\n"), catalog)
    assert "Excel" in " ".join(problem.hints)


def test_a_parquet_file_with_real_types(tmp_path, catalog, schema):
    table = pa.Table.from_pylist(
        [
            {
                "model_id": "ENG01",
                "warning_key": "P1",
                "verified_on": date(2021, 11, 20),
                "outcome": "属实",
                "rectified_on": None,
                "persons_disposed": 3,
                "funds_recovered": Decimal("88.50"),
            }
        ],
        schema=schema,
    )
    path = tmp_path / "d.parquet"
    pq.write_table(table, path)
    assert disposal.load_disposal_file(path, catalog).equals(table)


def test_a_parquet_file_of_text_columns_is_read_like_a_csv(tmp_path, catalog):
    path = tmp_path / "d.parquet"
    pq.write_table(
        pa.table(
            {
                "warning_key": ["P1", "P2"],
                "model_id": ["ENG01", "ENG01"],
                "verified_on": ["2021/11/20", "2021-11-31"],
                "outcome": ["属实", "属实"],
                "funds_recovered": [1234.5, None],
            }
        ),
        path,
    )
    [problem] = problems(path, catalog)
    # Parquet: the line is the row number, the column the field's index.
    assert where(problem) == ("E641", 2, 3)
    assert "2021-11-31" in problem.message


def test_a_parquet_double_holds_amounts_to_the_fen(tmp_path, catalog):
    # A double cannot hold 8716.38 exactly: arithmetic leaves 8716.380000000001 and
    # 0.1 + 0.2 is 0.30000000000000004. Both are amounts to the fen, not sub-fen values.
    path = tmp_path / "d.parquet"
    pq.write_table(
        pa.table(
            {
                "model_id": ["FIN05", "FUN02"],
                "warning_key": ["ZF900000000088", "K1"],
                "funds_recovered": pa.array([8716.380000000001, 0.1 + 0.2], pa.float64()),
            }
        ),
        path,
    )
    table = disposal.load_disposal_file(path, catalog)
    assert table.column("funds_recovered").to_pylist() == [Decimal("8716.38"), Decimal("0.30")]


def test_an_exact_amount_with_a_third_decimal_is_still_refused(tmp_path, catalog):
    # A decimal column keeps every digit it was given: 1.005 was recorded as such, and
    # rounding it either way would change the record without a word.
    path = tmp_path / "d.parquet"
    pq.write_table(
        pa.table(
            {
                "model_id": ["FIN05"],
                "warning_key": ["ZF900000000088"],
                "funds_recovered": pa.array([Decimal("1.005")], pa.decimal128(18, 3)),
            }
        ),
        path,
    )
    [problem] = problems(path, catalog)
    assert where(problem) == ("E641", 1, 3)
    assert "1.005" in problem.message


def test_a_duplicate_in_parquet_names_the_first_row(tmp_path, catalog):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"model_id": ["ENG01", "ENG01"], "warning_key": ["P1", "P1"]}), path)
    [problem] = problems(path, catalog)
    assert where(problem) == ("E642", 2, 2)
    assert problem.message_en.endswith("already on row 1")


def test_a_broken_parquet_file_is_unreadable(tmp_path, catalog):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1 not really")
    [problem] = problems(path, catalog)
    assert problem.code == "E640"


# ---- bad files: everything reported, nothing loaded -----------------------------------------


def test_bad_rows_are_all_reported_at_their_line_and_column(tmp_path, catalog):
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "ENG01,P1,2021-11-20,属实,,,\n"
        "ENG01,P2,2021-13-01,基本属实,,,\n"
        ",P3,2021-11-20,属实,,,\n"
        "ENG01,,2021-11-20,属实,,,\n"
        "ENG01,P4,2021-11-20,属实,,两人,1.234\n",
    )
    found = problems(path, catalog)
    assert sorted(where(d) for d in found) == [
        ("E641", 3, 10),  # the date
        ("E641", 3, 21),  # the outcome
        ("E641", 4, 1),  # no model_id
        ("E641", 5, 7),  # no warning_key
        ("E641", 6, 25),  # 两人
        ("E641", 6, 28),  # three decimals
    ]
    outcome = next(d for d in found if d.span.column == 21)
    assert "did you mean 属实?" in outcome.hints[0]
    rendered = render_human(found)
    assert f"{path}:3:10: error[E641]" in rendered
    # The caret sits under the outcome, after the wide characters before it.
    assert " 3 | ENG01,P2,2021-13-01,基本属实,,," in rendered
    assert "   |                     ^^^^^^^^" in rendered


def test_a_duplicated_key_is_reported_at_the_second_line(tmp_path, catalog):
    path = write(
        tmp_path,
        f"{HEADER}\nENG01,P1,2021-11-20,属实,,,\nENG01,P2,,,,,\nENG01,P1,2021-11-21,不属实,,,\n",
    )
    [problem] = problems(path, catalog)
    assert where(problem) == ("E642", 4, 7)
    assert "第 2 行" in problem.message_zh and "line 2" in problem.message_en


def test_quoted_fields_with_newlines_keep_line_numbers(tmp_path, catalog):
    path = write(
        tmp_path,
        f"{HEADER},note\n"
        'ENG01,P1,2021-11-20,属实,,,,"two\nlines, and ""quotes"""\n'
        "ENG01,P2,2021-11-20,属,,,,\n",
    )
    [problem] = problems(path, catalog)
    assert where(problem) == ("E641", 4, 21)


def test_a_missing_required_column_is_a_header_problem(tmp_path, catalog):
    [problem] = problems(write(tmp_path, "model_id,verified_on\nENG01,2021-11-20\n"), catalog)
    assert where(problem) == ("E643", 1, 1)
    assert "warning_key" in problem.message


def test_a_misspelt_column_is_pointed_at_and_other_columns_are_ignored(tmp_path, catalog):
    path = write(tmp_path, "model_id,warning_key,乡镇,verfied_on,outcome\nENG01,P1,分水镇,,\n")
    [problem] = problems(path, catalog)
    assert where(problem) == ("E643", 1, len("model_id,warning_key,乡镇,") + 1)
    assert "did you mean verified_on?" in problem.hints[0]


def test_a_column_given_twice(tmp_path, catalog):
    [problem] = problems(write(tmp_path, "model_id,warning_key,模型编号\nA,B,C\n"), catalog)
    assert where(problem) == ("E643", 1, 22)


def test_missing_optional_columns_and_extra_columns(tmp_path, catalog, schema):
    path = write(tmp_path, "township,warning_key,model_id,message\n330122102,P1,ENG01,x\n")
    table = disposal.load_disposal_file(path, catalog)
    assert table.schema == schema
    assert table.to_pylist()[0]["verified_on"] is None


def test_blank_lines_and_rows_of_empty_cells_are_skipped(tmp_path, catalog):
    path = write(tmp_path, f"{HEADER}\n\nENG01,P1,,,,,\n,,,,,,\n  \n")
    assert disposal.load_disposal_file(path, catalog).num_rows == 1


def test_a_header_only_file_is_empty_not_an_error(tmp_path, catalog, schema):
    table = disposal.load_disposal_file(write(tmp_path, HEADER + "\n"), catalog)
    assert table.num_rows == 0 and table.schema == schema


def test_a_row_with_more_values_than_columns(tmp_path, catalog):
    [problem] = problems(write(tmp_path, "model_id,warning_key\nENG01,P1,1,000\n"), catalog)
    assert where(problem) == ("E641", 2, 10)
    assert "quote" in problem.hints[0]


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"", "空"),
        (b"\n\n", "空"),
        (b"PK\x03\x04rest of a zip", "xlsx"),
        (b'model_id,warning_key\nENG01,"P1\n', "引号"),
        (b"\xef\xbb\xbfmodel_id\n\xff\xfe\n", "BOM"),
    ],
)
def test_unreadable_files(tmp_path, catalog, content, text):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    [problem] = problems(path, catalog)
    assert problem.code == "E640"
    assert text in problem.message


def test_a_missing_file(tmp_path, catalog):
    [problem] = problems(tmp_path / "nope.csv", catalog)
    assert problem.code == "E640"


def test_a_key_excel_turned_into_a_number(tmp_path, catalog):
    [problem] = problems(write(tmp_path, f"{HEADER}\nFUN01,3.30122E+17,,,,,\n"), catalog)
    assert where(problem) == ("E641", 2, 7)
    assert "科学计数法" in problem.message_zh


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("ENG01,P1,,属实,,,", 10),  # an outcome without a day
        ("ENG01,P1,2021-11-20,,,,", 21),  # a day without an outcome
        ("ENG01,P1,2021-11-20,不属实,2021-12-01,,", 25),  # rectified, but unfounded
    ],
)
def test_records_the_index_could_not_count_right(tmp_path, catalog, row, column):
    [problem] = problems(write(tmp_path, f"{HEADER}\n{row}\n"), catalog)
    assert where(problem) == ("E644", 2, column)


def test_negative_numbers_are_refused(tmp_path, catalog):
    found = problems(write(tmp_path, f"{HEADER}\nENG01,P1,2021-11-20,属实,,-1,-5\n"), catalog)
    assert [d.code for d in found] == ["E641", "E641"]


def test_rectification_before_verification_is_allowed(tmp_path, catalog):
    # 立行立改: a township may put a problem right before the commission concludes.
    path = write(tmp_path, f"{HEADER}\nENG01,P1,2021-11-20,属实,2021-11-01,,\n")
    assert disposal.load_disposal_file(path, catalog).num_rows == 1


def test_a_hopeless_file_lists_the_first_problems_and_counts_the_rest(tmp_path, catalog):
    rows = "".join(f"ENG01,P{i},45{i:03d},属实,,,\n" for i in range(150))
    found = problems(write(tmp_path, f"{HEADER}\n{rows}"), catalog)
    assert len(found) == disposal.MAX_PROBLEMS + 1
    assert found[-1].code == "E649" and "50" in found[-1].message


# ---- the warehouse -------------------------------------------------------------------------


@pytest.fixture
def warehouse():
    w = DuckDBWarehouse("duckdb://")
    yield w
    w.close()


def test_a_warehouse_without_disposal_records_gives_an_empty_table(warehouse, catalog, schema):
    table = disposal.read_disposal(warehouse, catalog, {})
    assert table.num_rows == 0 and table.schema == schema


def test_the_warehouse_table_is_found_through_the_deployment_mapping(warehouse, catalog, schema):
    warehouse.execute("CREATE SCHEMA jw")
    rows = pa.table(
        {
            "warning_key": ["P1"],
            "model_id": ["ENG01"],
            "verified_on": ["2021-11-20"],  # text in the warehouse, read as a day
            "outcome": ["属实"],
            "persons_disposed": [1],
            "extra": [True],
        }
    )
    warehouse.load("jw.disposal", rows)
    table = disposal.read_disposal(warehouse, catalog, {"sup_disposal": "jw.disposal"})
    assert table.schema == schema
    assert table.to_pylist()[0]["verified_on"] == date(2021, 11, 20)
    assert disposal.read_disposal(warehouse, catalog, {}).num_rows == 0


def test_bad_warehouse_records_are_named_by_their_key(warehouse, catalog, schema):
    rows = [
        {"model_id": "ENG01", "warning_key": "P1", "verified_on": date(2021, 11, 20)},
        {"model_id": "ENG01", "warning_key": "P2", "outcome": "也许"},
    ]
    warehouse.load("sup_disposal", pa.Table.from_pylist(rows, schema=schema))
    with pytest.raises(DiagnosticError) as err:
        disposal.read_disposal(warehouse, catalog, {})
    assert all(d.span is None for d in err.value.diagnostics)
    messages = [d.message_zh for d in err.value.diagnostics]
    assert messages[0].startswith("数据仓库表 sup_disposal (ENG01, P1)：")
    assert messages[1].startswith("数据仓库表 sup_disposal (ENG01, P2)：")


@pytest.fixture(params=["duckdb", "sqlite", "postgres"])
def any_warehouse(request, tmp_path):
    """An empty warehouse of each engine the engine reads disposal records from."""
    url = {
        "duckdb": "duckdb://",
        "sqlite": f"sqlite:///{tmp_path / 'w.sqlite'}",
    }.get(request.param) or request.getfixturevalue("postgres_database")
    w = connect(url)
    yield w
    w.close()


def test_amounts_in_a_double_column_read_to_the_fen(any_warehouse, catalog):
    # SQLite's REAL, DuckDB's DOUBLE and PostgreSQL's double precision: the demo once
    # stored 8716.380000000001 and then refused to read it back (E641).
    any_warehouse.load(
        "sup_disposal",
        pa.table(
            {
                "model_id": ["FIN05", "FUN02", "FUN03"],
                "warning_key": ["ZF900000000088", "K2", "K3"],
                "funds_recovered": pa.array([8716.380000000001, 15590.630000000001, 1.005]),
            }
        ),
    )
    table = disposal.read_disposal(any_warehouse, catalog, {})
    # 1.005 as a double is 1.00499999999999989…, but it reads as the 1.005 any warehouse
    # prints for it, rounded halves up, as messages write amounts.
    assert table.column("funds_recovered").to_pylist() == [
        Decimal("8716.38"),
        Decimal("15590.63"),
        Decimal("1.01"),
    ]


def test_an_exact_amount_below_the_fen_in_the_warehouse_is_refused(any_warehouse, catalog):
    # DECIMAL(18, 3), or text where decimals are REAL (SQLite): the third decimal is
    # really there, so it is reported as in a file, by the record's key.
    exact = pa.array([Decimal("1.005")], pa.decimal128(18, 3))
    if any_warehouse.dialect == "sqlite":
        exact = pa.array(["1.005"])
    any_warehouse.load(
        "sup_disposal",
        pa.table(
            {"model_id": ["FIN05"], "warning_key": ["ZF900000000088"], "funds_recovered": exact}
        ),
    )
    with pytest.raises(DiagnosticError) as err:
        disposal.read_disposal(any_warehouse, catalog, {})
    [problem] = err.value.diagnostics
    assert problem.code == "E641"
    assert problem.message_zh.startswith("数据仓库表 sup_disposal (FIN05, ZF900000000088)：")
    assert "1.005" in problem.message_zh


# ---- status --------------------------------------------------------------------------------


def ledger_rows(*keys: tuple[str, str, str, str, str, date]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "model_id": model_id,
                "warning_key": key,
                "township": township,
                "severity": severity,
                "domain": domain,
                "model_title": "t",
                "message": f"{model_id} {key}",
                "issued_on": issued,
                "last_seen_on": issued,
                "model_revision": "r1",
                "pack_version": "0.1.0",
                "evidence": "{}",
                "run_id": "run",
            }
            for model_id, key, township, severity, domain, issued in keys
        ],
        schema=LEDGER_SCHEMA,
    )


def records(schema, *rows: tuple) -> pa.Table:
    names = ["model_id", "warning_key", "verified_on", "outcome", "rectified_on"]
    return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows], schema=schema)


@pytest.fixture
def small_ledger() -> pa.Table:
    return ledger_rows(
        ("ENG01", "P1", "330122102", "red", "ENG", date(2021, 1, 31)),
        ("ENG01", "P2", "330122101", "red", "ENG", date(2021, 2, 28)),
        ("FUN01", "K1", "330122102", "yellow", "FUN", date(2021, 3, 31)),
        ("FUN01", "K2", None, "yellow", "FUN", date(2021, 4, 30)),
        ("AST02", "A1", "330122200", "blue", "AST", date(2021, 5, 31)),
        ("AST02", "A2", "330122200", "blue", "AST", date(2021, 6, 30)),
        ("AST02", "A3", "330122001", "blue", "AST", date(2021, 7, 31)),
    )


@pytest.fixture
def small_disposal(schema) -> pa.Table:
    day = date(2021, 8, 1)
    return records(
        schema,
        ("AST02", "A3", None, None, None),  # a record, not yet verified
        ("ENG01", "P2", day, "属实", None),
        ("FUN01", "K1", day, "部分属实", None),
        ("FUN01", "K2", day, "不属实", None),
        ("AST02", "A1", day, "属实", date(2021, 9, 1)),
        ("AST02", "A2", day, "部分属实", date(2021, 9, 1)),
        ("ENG99", "gone", day, "属实", None),  # matches no warning
    )


def test_the_status_of_each_warning(small_ledger, small_disposal):
    joined = disposal.with_disposal(small_ledger, small_disposal)
    assert joined.column("warning_key").to_pylist() == ["P1", "P2", "K1", "K2", "A1", "A2", "A3"]
    assert joined.column("status").to_pylist() == [
        "pending",
        "confirmed",
        "partly",
        "unfounded",
        "rectified",
        "rectified",
        "pending",
    ]
    assert joined.column("status_label").to_pylist() == [
        "待核查",
        "属实",
        "部分属实",
        "不属实",
        "已整改",
        "已整改",
        "待核查",
    ]
    assert joined.column("rectified_on").to_pylist()[4] == date(2021, 9, 1)
    assert joined.schema.names[: len(LEDGER_SCHEMA)] == LEDGER_SCHEMA.names
    assert disposal.unmatched_disposal(small_ledger, small_disposal) == [("ENG99", "gone")]


def test_overdue_is_judged_on_a_day_from_the_verification_and_the_deadline():
    verified = date(2021, 3, 1)
    judged = {"on": date(2021, 4, 30), "deadline_days": 60}
    assert disposal.overdue_from(verified, "属实", 60) == date(2021, 5, 1)
    assert disposal.overdue_from(verified, "不属实", 60) is None
    assert disposal.status_of(verified, "属实", None, **judged) == "confirmed"
    assert disposal.status_of(verified, "属实", None, on=date(2021, 5, 1), deadline_days=60) == (
        "overdue"
    )
    # Rectified late is rectified, once it is; rectified after the day judged is not yet.
    assert (
        disposal.status_of(
            verified, "部分属实", date(2021, 6, 1), on=date(2021, 7, 1), deadline_days=60
        )
        == "rectified"
    )
    assert (
        disposal.status_of(
            verified, "部分属实", date(2021, 6, 1), on=date(2021, 5, 15), deadline_days=60
        )
        == "overdue"
    )
    assert disposal.status_of(verified, "不属实", None, on=date(2022, 1, 1), deadline_days=60) == (
        "unfounded"
    )
    assert disposal.status_of(verified, "属实", None) == "confirmed"  # no day: not judged
    # Judged on a day before the verification, the warning was still waiting for it.
    assert disposal.status_of(verified, "属实", None, on=date(2021, 2, 28), deadline_days=60) == (
        "pending"
    )


def test_a_verified_day_without_an_outcome_is_still_pending():
    assert disposal.status_of(date(2021, 1, 1), None, None) == "pending"
    assert disposal.status_of(None, "属实", None) == "pending"
    assert disposal.status_of(date(2021, 1, 1), "不属实", date(2021, 2, 1)) == "unfounded"


def test_no_disposal_records_at_all(small_ledger, schema):
    joined = disposal.with_disposal(small_ledger, schema.empty_table())
    assert set(joined.column("status").to_pylist()) == {"pending"}
    assert joined.column("funds_recovered").type == pa.decimal128(18, 2)


def test_duplicate_records_are_refused_by_the_join(small_ledger, schema):
    twice = records(schema, ("ENG01", "P1", None, None, None), ("ENG01", "P1", None, None, None))
    with pytest.raises(ValueError, match="duplicate"):
        disposal.with_disposal(small_ledger, twice)


# ---- filters -------------------------------------------------------------------------------


@pytest.fixture
def joined(small_ledger, small_disposal) -> pa.Table:
    return disposal.with_disposal(small_ledger, small_disposal)


def keys(table: pa.Table) -> list[str]:
    return table.column("warning_key").to_pylist()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["P1", "P2", "K1", "K2", "A1", "A2", "A3"]),
        ({"township": ["分水镇"]}, ["P1", "K1"]),
        ({"township": ["330122102"]}, ["P1", "K1"]),
        ({"township": ["分水"]}, ["P1", "K1"]),
        ({"township": ["分水镇", "莪山畲族乡"]}, ["P1", "K1", "A1", "A2"]),
        ({"township": ["分水镇，横村镇"]}, ["P1", "P2", "K1"]),
        ({"model": ["ENG01"]}, ["P1", "P2"]),
        ({"model": ["eng01", "AST02"]}, ["P1", "P2", "A1", "A2", "A3"]),
        ({"model": ["ENG99"]}, []),
        ({"domain": ["ENG"]}, ["P1", "P2"]),
        ({"domain": ["专项资金"]}, ["K1", "K2"]),
        ({"domain": ["ast", "工程管理"]}, ["P1", "P2", "A1", "A2", "A3"]),
        ({"severity": ["red"]}, ["P1", "P2"]),
        ({"severity": ["蓝色", "黄"]}, ["K1", "K2", "A1", "A2", "A3"]),
        ({"status": ["pending"]}, ["P1", "A3"]),
        ({"status": ["待核查"]}, ["P1", "A3"]),
        ({"status": ["confirmed", "partly"]}, ["P2", "K1"]),
        ({"status": ["unfounded"]}, ["K2"]),
        ({"status": ["已整改"]}, ["A1", "A2"]),
        ({"issued_from": date(2021, 3, 31)}, ["K1", "K2", "A1", "A2", "A3"]),
        ({"issued_to": date(2021, 3, 31)}, ["P1", "P2", "K1"]),
        ({"issued_from": date(2021, 2, 1), "issued_to": date(2021, 4, 30)}, ["P2", "K1", "K2"]),
        ({"township": ["分水镇"], "status": ["pending"]}, ["P1"]),
        ({"domain": ["FUN"], "severity": ["red"]}, []),
    ],
)
def test_each_filter(joined, catalog, filters, expected):
    assert keys(disposal.filter_warnings(joined, catalog, **filters)) == expected


@pytest.mark.parametrize(
    ("filters", "option", "hint"),
    [
        ({"township": ["分水乡"]}, "township", "分水镇"),
        ({"township": ["县城"]}, "township", ""),
        ({"domain": ["工程"]}, "domain", "工程管理"),
        ({"severity": ["orange"]}, "severity", ""),
        ({"status": ["verified"]}, "status", ""),
    ],
)
def test_a_filter_value_that_names_nothing(joined, catalog, filters, option, hint):
    with pytest.raises(disposal.FilterError) as err:
        disposal.filter_warnings(joined, catalog, **filters)
    assert err.value.option == option
    assert hint in err.value.hint


def test_a_prefix_of_two_township_names_is_refused(catalog):
    assert disposal.township_codes(catalog, ["桐"]) == {"330122001"}
    county = replace(
        catalog, townships=(*catalog.townships, Township("330122999", "分水江镇", "镇"))
    )
    with pytest.raises(disposal.FilterError, match="could be any of 分水镇, 分水江镇"):
        disposal.township_codes(county, ["分水"])
    assert disposal.township_codes(county, ["分水镇"]) == {"330122102"}
