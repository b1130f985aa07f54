"""The DuckDB adapter: Arrow in and out, tables of its own, transactions, and known engine bugs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from adapters import WarehouseError, connect
from adapters.duckdb import DuckDBWarehouse, database_path


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("duckdb://", ":memory:"),
        ("duckdb:///:memory:", ":memory:"),
        ("duckdb:///county.duckdb", "county.duckdb"),
        ("duckdb:////srv/county.duckdb", "/srv/county.duckdb"),
    ],
)
def test_urls_name_files_as_sqlalchemy_does(url: str, path: str):
    assert database_path(url) == path


def test_load_query_and_append_round_trip_arrow():
    warehouse = DuckDBWarehouse("duckdb://")
    table = pa.table({"id": ["a", "b"], "amount": pa.array([1, 2], pa.decimal128(18, 2))})
    warehouse.load("t", table)
    warehouse.append("t", table.slice(0, 1))
    result = warehouse.query("SELECT id, amount FROM t ORDER BY id")
    assert result.column("id").to_pylist() == ["a", "a", "b"]
    assert result.schema.field("amount").type == pa.decimal128(18, 2)
    batches = list(warehouse.query_batches("SELECT * FROM t", batch_rows=1))
    assert sum(b.num_rows for b in batches) == 3


def test_parquet_files_load_as_sources(tmp_path: Path):
    path = tmp_path / "dr_project's file.parquet"
    pq.write_table(pa.table({"project_id": ["P1", "P2"]}), path)
    warehouse = DuckDBWarehouse("duckdb://")
    warehouse.load_parquet("dr_project", str(path))
    assert warehouse.query("SELECT count(*) AS n FROM dr_project").column("n")[0].as_py() == 2
    with pytest.raises(WarehouseError):
        warehouse.load_parquet("other", str(tmp_path / "missing.parquet"))


def test_has_table_understands_schemas():
    warehouse = DuckDBWarehouse("duckdb://")
    warehouse.connection.execute("CREATE SCHEMA ods")
    warehouse.load("ods.dr_project", pa.table({"project_id": ["P1"]}))
    assert warehouse.has_table("ods.dr_project")
    assert not warehouse.has_table("dr_project")
    assert not warehouse.has_table("main.dr_project")


def test_a_failed_transaction_leaves_nothing_behind():
    warehouse = DuckDBWarehouse("duckdb://")
    warehouse.load("ledger", pa.table({"key": ["K1"]}))
    with pytest.raises(RuntimeError), warehouse.transaction():
        warehouse.append("ledger", pa.table({"key": ["K2"]}))
        raise RuntimeError("killed midway")
    assert warehouse.query("SELECT key FROM ledger").column("key").to_pylist() == ["K1"]


def test_a_bad_query_is_a_warehouse_error_not_a_crash():
    warehouse = DuckDBWarehouse("duckdb://")
    with pytest.raises(WarehouseError):
        warehouse.query("SELECT no_such_column FROM no_such_table")


def test_connect_refuses_to_invent_a_missing_warehouse(tmp_path: Path):
    with pytest.raises(WarehouseError):
        connect(f"duckdb:///{tmp_path / 'missing.duckdb'}", must_exist=True)
    with pytest.raises(WarehouseError):
        connect("oracle://county")


def test_grouped_left_join_regression():
    """duckdb 2.0.1 returns no row here (1.4 and 1.5 return one); keep the pin until fixed.

    A grouped query over a left join whose right side the optimizer proves
    empty, with MIN(text) selected and COALESCE(SUM(x), 0) in HAVING — the
    shape of ENG02.
    """
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE tc (project_id VARCHAR, township VARCHAR, amount DECIMAL(18,2))"
    )
    connection.execute(
        "INSERT INTO tc VALUES ('R4','330122105',3000000), ('R4','330122103',1000000)"
    )
    connection.execute("CREATE TABLE dp (project_id VARCHAR, parent VARCHAR, approved_on DATE)")
    connection.execute("INSERT INTO dp VALUES ('R4', NULL, DATE '2021-10-01')")
    rows = connection.execute(
        "SELECT g, MIN(town) FROM ("
        "  SELECT COALESCE(p.parent, c.project_id) AS g, c.township AS town, c.amount AS a"
        "  FROM tc AS c LEFT JOIN dp AS p"
        "    ON p.project_id = c.project_id AND p.approved_on <= DATE '2021-09-30'"
        ") AS r GROUP BY g HAVING COALESCE(SUM(a), 0) >= 4000000"
    ).fetchall()
    assert rows == [("R4", "330122103")]


def test_a_prepared_statement_runs_with_literal_values_on_the_rows_there_then():
    """Prepared once, run for each example: the rows then in the table are read."""
    warehouse = DuckDBWarehouse("duckdb://")
    warehouse.load("t", pa.table({"d": pa.array([date(2021, 1, 1)], pa.date32())}))
    name = warehouse.prepare(
        "SELECT count(*) AS n FROM t AS a CROSS JOIN t AS b WHERE a.d <= $as_of"
    )
    day = {"as_of": exp.cast(exp.Literal.string("2021-06-30"), "DATE")}
    assert warehouse.query(warehouse.executing(name, day)).to_pylist() == [{"n": 1}]
    warehouse.append("t", pa.table({"d": pa.array([date(2021, 12, 1)], pa.date32())}))
    assert warehouse.query(warehouse.executing(name, day)).to_pylist() == [{"n": 2}]
    later = {"as_of": exp.cast(exp.Literal.string("2021-12-31"), "DATE")}
    assert warehouse.query(warehouse.executing(name, later)).to_pylist() == [{"n": 4}]
    plain = warehouse.prepare("SELECT 1 AS one")
    assert plain != name
    assert warehouse.query(warehouse.executing(plain, {})).to_pylist() == [{"one": 1}]


def _rows(warehouse: DuckDBWarehouse, name: str) -> list[tuple]:
    return sorted(warehouse.connection.sql(f'SELECT * FROM "{name}"').fetchall())


def test_a_kept_table_holds_each_uses_rows_alone_and_is_empty_between_uses():
    warehouse = connect("duckdb:///:memory:")
    first = pa.table({"k": ["a", "b"], "n": [1, 2]})
    with warehouse.kept("t", first, "shape") as count:
        assert count == 2 and _rows(warehouse, "t") == [("a", 1), ("b", 2)]
    assert _rows(warehouse, "t") == []
    with warehouse.kept("t", pa.table({"k": ["c"], "n": [3]}), "shape"):
        assert _rows(warehouse, "t") == [("c", 3)]
    # Filled while a use is not over (its rows replaced), it is still empty after.
    with warehouse.kept("t", pa.table({"k": ["d"], "n": [4]}), "shape"):
        warehouse.filled("t", pa.table({"k": ["x"], "n": [8]}), "shape")
        assert _rows(warehouse, "t") == [("x", 8)]
    assert _rows(warehouse, "t") == []
