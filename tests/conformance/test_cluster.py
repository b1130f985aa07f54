"""Spark as a cluster: the pack's examples, the index fixture and a run of the demo county on
several executor JVMs give DuckDB's warnings and scores, and an executor killed midway never
leaves a half-written ledger.

`local-cluster[2,1,1024]` is Spark's standalone master and two workers inside the driver's
JVM, each executor a JVM of its own (a child of the driver's): tasks, shuffles and the
ledger's write jobs cross processes as on a real cluster, on one machine. Spark allows one
context per process, so every command here runs as the command line in a process of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from contextlib import suppress
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from conformance_checks import FIXTURE_2021Q4, fixture_scores
from fault_support import PausePoint
from spark_support import spark_available

from adapters import connect
from adapters.spark import warehouse_dir
from engine import api
from engine.demo import demo_run
from engine.demo.generator import generate
from engine.runs import ledger

ROOT = Path(__file__).resolve().parents[2]
SIZE = os.environ.get("OVERSIGHT_CONFORMANCE_SIZE", "0.05")
MASTER = "local-cluster[2,1,1024]"
EXECUTOR = "org.apache.spark.executor.CoarseGrainedExecutorBackend"
YEAR_END = "2021-12-31"
NEXT_MONTH = "2022-01-31"
SOME = ["--select", "ENG"]  # the killed run: a domain's models suffice, the whole ledger is written
PATIENCE = 1800  # seconds a command may take on a loaded machine before the test gives up

pytestmark = pytest.mark.skipif(bool(spark_available()), reason=str(spark_available()))


def cluster_url(folder: Path) -> str:
    return f"spark:///{folder}?master={MASTER}"


def oversight(
    arguments: list[str], environment: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`python -m engine ARGUMENTS` in a session of its own (its JVMs die with the group)."""
    return python(["-m", "engine", *arguments, "--policies", str(ROOT / "policies")], environment)


def python(
    arguments: list[str], environment: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`python ARGUMENTS` in a session of its own, without the fault points of this process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_FAULT")}
    return subprocess.Popen(
        [sys.executable, *arguments],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), **(environment or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Wait for the command, then end whatever is left of its process group (ours alone)."""
    try:
        out, err = process.communicate(timeout=PATIENCE)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        with suppress(ProcessLookupError):  # JVMs outliving a killed command: its group only
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, out, err


def scores(url: str) -> list[dict]:
    """`oversight score` of 2021Q4 on `url`, every number to 6 places: engines print
    numbers differently (DuckDB's 0E-9 and "0" are Spark's 0.000000000 and 0)."""
    code, out, err = finish(
        oversight(["score", "--period", "2021Q4", "--format", "json", "--warehouse", url])
    )
    assert code == 0, err
    rows = json.loads(out)["scores"]
    return [{key: _number(value) for key, value in row.items()} for row in rows]


def _number(value: object) -> object:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return str(Decimal(str(value)).quantize(Decimal("0.000001")))
        except InvalidOperation:
            return value
    return value


def issued(url: str) -> tuple[list[tuple], int]:
    """The ledger's warnings (what a reader compares) and the number of runs recorded.

    A Spark warehouse is read here on this process's own session (local mode): the
    tables the cluster wrote are Parquet directories any Spark reads.
    """
    warehouse = connect(url.split("?")[0], must_exist=True)
    try:
        rows = ledger.read(warehouse).to_pylist()
        runs = warehouse.query("SELECT count(*) AS n FROM oversight_runs").column(0)[0].as_py()
    finally:
        warehouse.close()
    fields = ("model_id", "warning_key", "township", "severity", "message", "issued_on")
    return sorted((*(r[f] for f in fields), r["last_seen_on"]) for r in rows), runs


def run(url: str) -> None:
    code, _, err = finish(oversight(["run", "--as-of", YEAR_END, "--warehouse", url]))
    assert code == 0, err


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> dict[str, str]:
    """The demo county's tables on DuckDB and on Spark, each run once as of the year's end.

    The tables are loaded by this process (local mode: loading is not what is tested);
    the run and the scores are the cluster's.
    """
    tables = generate(size=float(SIZE), seed=2021)
    folder = tmp_path_factory.mktemp("cluster")
    urls = {"duckdb": f"duckdb:///{folder / 'w.duckdb'}", "spark": cluster_url(folder / "w")}
    demo_run.build_warehouse(urls["duckdb"], tables)
    demo_run.build_warehouse(urls["spark"].split("?")[0], tables)
    for url in urls.values():
        run(url)
    return urls


def test_a_run_and_its_scores_on_a_cluster_are_duckdbs(county: dict[str, str]):
    cluster, reference = issued(county["spark"]), issued(county["duckdb"])
    assert cluster[0] and cluster[1] == 1
    assert cluster == reference
    assert scores(county["spark"]) == scores(county["duckdb"])
    # The ledger and the runs table are the cluster's: written by its executors, and named
    # by the pointer file that one rename replaced.
    root = warehouse_dir(county["spark"])
    pointer = json.loads((root / "_oversight_tables.json").read_text(encoding="utf-8"))
    assert set(pointer["tables"]) == {ledger.LEDGER, ledger.RUNS}
    assert not (root / ledger.LEDGER).exists()


def test_every_example_and_the_index_fixture_on_a_cluster(tmp_path: Path):
    """The pack's inline examples, and the hand-computed index fixture, on the cluster.

    Both are asked in one process (`tests/conformance_checks.py`), so the cluster starts
    once; the fixture's ledger is recorded by the cluster's executors, then scored there.
    """
    job = ["tests/conformance_checks.py", cluster_url(tmp_path / "examples")]
    code, out, err = finish(python([*job, cluster_url(tmp_path / "fixture")]))
    assert code == 0, err
    answer = json.loads(out.splitlines()[-1])
    assert (answer["master"], answer["executors"]) == (MASTER, 2)
    assert answer["examples"] >= 150
    assert answer["failures"] == {}
    pack = api.load_pack(ROOT / "policies")
    reference = fixture_scores(f"duckdb:///{tmp_path / 'fixture.duckdb'}", pack)
    assert [row[:4] for row in answer["fixture"]["2021Q4"]] == FIXTURE_2021Q4
    assert answer["fixture"] == reference


def executors_of(pid: int) -> list[int]:
    """The executor JVMs descending from process `pid` (its driver JVM's children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def descends(child: int) -> bool:
        while child in parents and child != pid:
            child = parents[child]
        return child == pid

    found = []
    for child in parents:
        if child != pid and descends(child):
            try:
                command = (Path("/proc") / str(child) / "cmdline").read_bytes()
            except OSError:
                continue
            if EXECUTOR.encode() in command:
                found.append(child)
    return sorted(found)


def test_an_executor_killed_while_the_ledger_is_written_never_half_writes_it(
    county: dict[str, str], tmp_path: Path
):
    """At `ledger.writing` (every model has run; the cluster is about to write the merged
    ledger and runs table) one executor JVM is SIGKILLed. Spark may retry its tasks on the
    other executor, or the run may fail: either is legal, a half-written ledger is not."""
    spark, duck = tmp_path / "spark", tmp_path / "w.duckdb"
    shutil.copytree(warehouse_dir(county["spark"]), spark)
    shutil.copyfile(county["duckdb"].removeprefix("duckdb:///"), duck)
    before = issued(cluster_url(spark))

    folder = tmp_path / "fault"
    folder.mkdir()
    pause = PausePoint(folder)
    fault = {"OVERSIGHT_FAULT": "pause@ledger.writing", "OVERSIGHT_FAULT_DIR": str(folder)}
    process = oversight(
        ["run", *SOME, "--as-of", NEXT_MONTH, "--warehouse", cluster_url(spark)], fault
    )
    try:
        executors = executors_of(pause.reached(process))
        assert len(executors) == 2, executors
        os.kill(executors[0], signal.SIGKILL)
        pause.release()
    finally:
        code, _, err = finish(process)

    after = issued(cluster_url(spark))
    assert "Traceback" not in err
    if code == 0:
        reference = oversight(
            ["run", *SOME, "--as-of", NEXT_MONTH, "--warehouse", f"duckdb:///{duck}"]
        )
        assert finish(reference)[0] == 0
        assert after == issued(f"duckdb:///{duck}")
        assert after[1] == before[1] + 1  # its row is in the runs table: it was committed
    else:
        assert after == before, err


def test_the_driver_killed_after_the_cluster_wrote_leaves_the_ledger_as_it_was(
    county: dict[str, str], tmp_path: Path
):
    """SIGKILL at `ledger.staged`: the executors have written the new ledger and runs table,
    the pointer that would name them is not yet replaced. Nothing of the run may show."""
    spark = tmp_path / "spark"
    shutil.copytree(warehouse_dir(county["spark"]), spark)
    before, pointer = issued(cluster_url(spark)), (spark / "_oversight_tables.json").read_text()
    fault = {"OVERSIGHT_FAULT": "SIGKILL@ledger.staged"}
    command = ["run", *SOME, "--as-of", NEXT_MONTH, "--warehouse", cluster_url(spark)]
    code, _, err = finish(oversight(command, fault))
    assert code == -signal.SIGKILL, err
    assert (spark / "_oversight_tables.json").read_text() == pointer
    assert issued(cluster_url(spark)) == before
