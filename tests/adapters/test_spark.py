"""Spark through pyspark: a directory of Parquet tables that outlives the process."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from spark_support import spark_available

from adapters import connect

pytestmark = pytest.mark.skipif(bool(spark_available()), reason=str(spark_available()))


def test_tables_persist_as_parquet_directories(tmp_path: Path):
    url = f"spark:///{tmp_path / 'wh'}"
    warehouse = connect(url)
    warehouse.load("t", pa.table({"a": [1, 2]}))
    warehouse.append("t", pa.table({"a": [3]}))
    warehouse.load("ods.u", pa.table({"b": ["x"]}))
    assert warehouse.query("SELECT sum(a) AS s FROM t").column(0)[0].as_py() == 6
    assert warehouse.has_table("ods.u") and not warehouse.has_table("u")
    # Another process sees the same tables.
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "from adapters import connect; w = connect(" + repr(url) + ");"
            "print(w.query('SELECT count(*) FROM t').column(0)[0].as_py())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert seen.stdout.strip().endswith("3")


def test_replacing_a_table_is_one_step(tmp_path: Path):
    warehouse = connect(f"spark:///{tmp_path / 'wh'}")
    warehouse.load("t", pa.table({"a": [1]}))
    warehouse.load("t", pa.table({"a": [7, 8]}), replace=True)
    assert sorted(warehouse.query("SELECT a FROM t").column(0).to_pylist()) == [7, 8]
    assert [p.name for p in (tmp_path / "wh").iterdir()] == ["t"]


def test_the_pushdown_bug_is_worked_around(tmp_path: Path):
    """Spark 4 fails this query (ENG07's shape) unless predicates are not pushed down."""
    warehouse = connect(f"spark:///{tmp_path / 'wh'}")
    warehouse.load("c", pa.table({"id": ["H1", "H2", "H3"], "amount": [100, 100, 100]}))
    warehouse.load("a", pa.table({"cid": ["H1", "H1"], "d": [3, 1], "ok": [True, False]}))
    warehouse.load(
        "f", pa.table({"cid": ["H1", "H1", "H2", "H3"], "d": [1, 5, 1, 1], "amt": [90, 50, 10, 95]})
    )
    sql = (
        "SELECT m.id FROM (SELECT l.id, l.amount, l.acc, (SELECT COALESCE(SUM(f.amt), 0) FROM f "
        "WHERE f.cid = l.id AND (l.acc IS NULL OR f.d < l.acc)) AS paid FROM (SELECT c.id, "
        "c.amount, (SELECT MIN(a.d) FROM a WHERE a.cid = c.id AND a.ok) AS acc FROM c) AS l) "
        "AS m WHERE m.paid > 0.8 * m.amount ORDER BY m.id"
    )
    assert warehouse.query(sql).column(0).to_pylist() == ["H1", "H3"]


def test_cluster_masters_are_read_from_the_url_as_written():
    from adapters.spark import master_and_settings

    assert master_and_settings("spark:///shared/wh?master=local-cluster[2,1,1024]") == (
        "local-cluster[2,1,1024]",
        {},
    )
    assert master_and_settings(
        "spark:////shared/wh?master=spark://host:7077&spark.executor.memory=4g"
    ) == ("spark://host:7077", {"spark.executor.memory": "4g"})
    escaped = "spark:///wh?master=spark%3A%2F%2Fhost%3A7077&spark.sql.shuffle.partitions=64"
    assert master_and_settings(escaped) == (
        "spark://host:7077",
        {"spark.sql.shuffle.partitions": "64"},
    )
    assert master_and_settings("spark:///wh") == ("local[2]", {})


def test_an_unknown_url_parameter_or_a_second_master_is_refused(tmp_path: Path):
    from adapters.base import WarehouseUnreachable

    with pytest.raises(WarehouseUnreachable, match="mastr"):
        connect(f"spark:///{tmp_path / 'wh'}?mastr=local[2]")
    connect(f"spark:///{tmp_path / 'wh'}")  # this process's session: local[2]
    with pytest.raises(WarehouseUnreachable, match="process of its own"):
        connect(f"spark:///{tmp_path / 'wh'}?master=local-cluster[2,1,1024]")


def test_engine_tables_are_replaced_together_or_not_at_all(tmp_path: Path):
    root = tmp_path / "wh"
    warehouse = connect(f"spark:///{root}")
    warehouse.load("ledger_a", pa.table({"a": [1]}))  # a plain directory, as before the pointer
    warehouse.replace_tables(
        {"ledger_a": pa.table({"a": [2, 3]}), "ops.runs_b": pa.table({"b": ["x"]})}
    )
    assert sorted(warehouse.query("SELECT a FROM ledger_a").column(0).to_pylist()) == [2, 3]
    assert warehouse.query("SELECT b FROM ops.runs_b").column(0).to_pylist() == ["x"]
    assert not (root / "ledger_a").exists()  # the old directory went with the first commit

    def fail() -> None:
        raise RuntimeError("killed before the commit")

    with pytest.raises(RuntimeError):
        warehouse.replace_tables(
            {"ledger_a": pa.table({"a": [9]}), "ops.runs_b": pa.table({"b": ["y"]})},
            before_commit=fail,
        )
    again = subprocess.run(  # another process opens the warehouse: both as they were
        [
            sys.executable,
            "-c",
            "from adapters import connect; w = connect(" + repr(f"spark:///{root}") + ");"
            "print(sorted(w.query('SELECT a FROM ledger_a').column(0).to_pylist()),"
            " w.query('SELECT b FROM ops.runs_b').column(0).to_pylist())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert again.stdout.strip().splitlines()[-1] == "[2, 3] ['x']"
    warehouse.load("ledger_a", pa.table({"a": [4]}), replace=True)  # through the pointer too
    assert warehouse.query("SELECT a FROM ledger_a").column(0).to_pylist() == [4]
    assert warehouse.query("SELECT b FROM ops.runs_b").column(0).to_pylist() == ["x"]
    # A generation still in use is kept; a failed commit's is gone.
    assert len(list((root / ".generations").iterdir())) == 2
    at = datetime(2021, 12, 31, 23, 30)  # a timestamp without a zone stays one, unshifted
    warehouse.replace_tables({"stamps": pa.table({"t": pa.array([at], pa.timestamp("us"))})})
    assert warehouse.query("SELECT t FROM stamps").to_pylist() == [{"t": at}]
    # The generation `ledger_a` used before is deleted one commit after it was retired.
    pointer = json.loads((root / "_oversight_tables.json").read_text(encoding="utf-8"))
    assert pointer["retired"] == []  # (nothing: this commit retired no generation)
    warehouse.replace_tables({"ledger_a": pa.table({"a": [5]})})
    warehouse.replace_tables({"ledger_a": pa.table({"a": [6]})})
    in_use = json.loads((root / "_oversight_tables.json").read_text(encoding="utf-8"))
    generations = {entry.name for entry in (root / ".generations").iterdir()}
    assert generations == {p.split("/")[1] for p in in_use["tables"].values()} | set(
        in_use["retired"]
    )
    assert len(in_use["retired"]) == 1
    assert warehouse.query("SELECT a FROM ledger_a").column(0).to_pylist() == [6]
