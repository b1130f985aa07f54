"""Spark through pyspark: a directory of Parquet tables that outlives the process."""

from __future__ import annotations

import subprocess
import sys
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
