"""SIGINT, SIGTERM and SIGKILL at every instant of a run: the exit code, the manifest, the ledger
and the warnings file always tell the same story.

The instants are fault-injection points (engine/signals.py): the run sends itself the
signal at a named place, so no test guesses how long anything takes. A sweep over delays
adds real signals from outside and accepts every legal outcome.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from fault_support import PausePoint

from adapters.duckdb import DuckDBWarehouse
from engine.demo import demo_run
from engine.demo.generator import generate
from engine.schema import source_schema

ROOT = Path(__file__).resolve().parents[2]

BEFORE_COMMIT = ["start", "run.started", "model.query", "model.query~"]
WHILE_COMMITTING = ["ledger.staged", "ledger.committed"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "pristine.duckdb"
    demo_run.build_warehouse(f"duckdb:///{path}", generate(size=0.05, seed=11))
    return path


@dataclass
class Ended:
    """What a run left behind."""

    code: int
    stderr: str
    manifest: dict | None
    ledger_rows: int
    stored_outcomes: list[str]
    output_written: bool
    leftovers: list[str]


def start_run(
    folder: Path, fault: str | None = None, *extra: str, warehouse: str | None = None
) -> subprocess.Popen:
    """`oversight run` on the county in `folder` (or on `warehouse`), writing its files there."""
    environment = dict(os.environ)
    environment.pop("OVERSIGHT_FAULT", None)
    if fault:
        environment["OVERSIGHT_FAULT"] = fault
        environment["OVERSIGHT_FAULT_DIR"] = str(folder)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "--as-of",
            "2021-12-31",
            "--warehouse",
            warehouse or f"duckdb:///{folder / 'county.duckdb'}",
            "--policies",
            str(ROOT / "policies"),
            "--manifest",
            str(folder / "run.json"),
            "--output",
            str(folder / "warnings.parquet"),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )


def ended(folder: Path, process: subprocess.Popen) -> Ended:
    code = process.wait(timeout=300)
    stderr = process.stderr.read() if process.stderr else ""
    manifest_file = folder / "run.json"
    manifest = (
        json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.exists() else None
    )
    with duckdb.connect(str(folder / "county.duckdb"), read_only=True) as con:
        tables = {
            row[0] for row in con.sql("SELECT table_name FROM information_schema.tables").fetchall()
        }
        rows = (
            con.sql("SELECT count(*) FROM oversight_ledger").fetchone()[0]
            if "oversight_ledger" in tables
            else 0
        )
        stored = (
            [
                json.loads(m)["outcome"]
                for (m,) in con.sql("SELECT manifest FROM oversight_runs").fetchall()
            ]
            if "oversight_runs" in tables
            else []
        )
    leftovers = sorted(p.name for p in folder.glob(".warnings.parquet.*"))
    return Ended(
        code, stderr, manifest, rows, stored, (folder / "warnings.parquet").exists(), leftovers
    )


def fresh_county(pristine: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(pristine, folder / "county.duckdb")
    return folder


def assert_stopped_with_nothing_written(run: Ended, name: str) -> None:
    assert run.code == 130, run.stderr
    assert run.manifest is not None and run.manifest["outcome"] == "interrupted"
    assert run.manifest["signal"] == name
    assert run.ledger_rows == 0 and run.stored_outcomes == []
    assert not run.output_written and run.leftovers == []
    assert "已中断 interrupted" in run.stderr and "Traceback" not in run.stderr


def assert_finished_and_committed(run: Ended, leftovers: list[str] | None = None) -> None:
    assert run.code == 0, run.stderr
    assert run.manifest is not None and run.manifest["outcome"] == "ok"
    assert run.manifest["warnings"]["new_in_ledger"] == run.ledger_rows > 0
    assert run.stored_outcomes == ["ok"]  # never "pending"
    assert run.output_written and run.leftovers == (leftovers or [])


@pytest.mark.parametrize("point", BEFORE_COMMIT)
def test_sigterm_before_the_commit_stops_the_run_with_nothing_written(pristine, tmp_path, point):
    folder = fresh_county(pristine, tmp_path)
    run = ended(folder, start_run(folder, f"SIGTERM@{point}"))
    assert_stopped_with_nothing_written(run, "SIGTERM")


@pytest.mark.parametrize("point", ["run.started", "model.query~"])
def test_sigint_is_sigterm(pristine, tmp_path, point):
    folder = fresh_county(pristine, tmp_path)
    run = ended(folder, start_run(folder, f"SIGINT@{point}"))
    assert_stopped_with_nothing_written(run, "SIGINT")


@pytest.mark.parametrize("point", WHILE_COMMITTING)
def test_a_signal_while_committing_lets_the_run_finish_and_says_so(pristine, tmp_path, point):
    folder = fresh_county(pristine, tmp_path)
    run = ended(folder, start_run(folder, f"SIGTERM@{point}"))
    assert_finished_and_committed(run)
    assert run.manifest["signal"] == "SIGTERM"
    assert "SIGTERM came while the results were committing" in run.stderr


def test_a_signal_after_the_manifest_changes_nothing(pristine, tmp_path):
    folder = fresh_county(pristine, tmp_path)
    run = ended(folder, start_run(folder, "SIGTERM@manifest.written"))
    assert_finished_and_committed(run)


def test_once_the_command_has_ended_a_signal_is_ignored_until_the_process_is_gone():
    """A late SIGTERM must not turn a finished command into status −15.

    As it shuts down, CPython puts the default handler back in place of a Python
    one, but not in place of "ignore"; a signal in those last milliseconds once
    ended a committed run that way.
    """
    late = (
        "import os, signal\n"
        "from engine import signals\n"
        "signals.install()\n"
        "signals.ended()\n"
        "assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "print('finished')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", late], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout.strip()) == (0, "finished"), done.stderr


def test_a_signal_wrapped_by_the_import_machinery_is_still_an_interrupt():
    """CI once sent SIGTERM while `dsl/ir.py` was building a dataclass.

    CPython 3.11 re-raises what a `__set_name__` raises as a RuntimeError, so the
    KeyboardInterrupt of the handler arrived disguised and the command died with a
    traceback and status 1. The start-up must answer 130 whatever the signal was
    wrapped in.
    """
    wrapped = (
        "import signal, sys\n"
        "from engine.__main__ import entry_point\n"
        "class SignalOnName:\n"
        "    def __set_name__(self, owner, name):\n"
        "        signal.raise_signal(signal.SIGTERM)\n"
        "class SignalWhileImportingTheCli:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'engine.cli':\n"
        "            type('Building', (), {'field': SignalOnName()})\n"
        "        return None\n"
        "sys.meta_path.insert(0, SignalWhileImportingTheCli())\n"
        "sys.argv = ['oversight', '--version']\n"
        "entry_point()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapped], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 130, done.stderr
    assert "interrupted (SIGTERM)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_signal_inside_exec_of_a_string_still_exits_130(tmp_path):
    """CI once saw status −2 (SIGINT) for a run stopped by SIGTERM, its manifest written.

    The signal landed while a dataclass was being built during a command's import:
    dataclasses make their methods with `exec` of a string, and CPython 3.11 then
    marks the KeyboardInterrupt "unhandled" even though oversight caught it, and
    kills itself with SIGINT as it exits. The interrupted command must still answer
    130. Run with `-m`, as `python -m engine` is: only that way of ending checks the mark.
    """
    (tmp_path / "signal_inside_exec.py").write_text(
        "import sys\n"
        "from engine.__main__ import entry_point\n"
        "class SignalInsideExec:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'engine.cli.run':\n"
        "            exec('import signal; signal.raise_signal(signal.SIGTERM)', {})\n"
        "        return None\n"
        "sys.meta_path.insert(0, SignalInsideExec())\n"
        "sys.argv = ['oversight', 'run', '--help']\n"
        "entry_point()\n",
        encoding="utf-8",
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "signal_inside_exec"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 130, done.stderr
    assert "interrupted (SIGTERM)" in done.stderr
    assert "Traceback" not in done.stderr


def test_sigkill_before_the_commit_leaves_the_ledger_as_it_was(pristine, tmp_path):
    folder = fresh_county(pristine, tmp_path)
    run = ended(folder, start_run(folder, "SIGKILL@ledger.staged"))
    assert run.code == -signal.SIGKILL
    assert run.ledger_rows == 0 and run.stored_outcomes == [] and not run.output_written
    # and the same day, run again, goes through as if nothing had happened (SIGKILL gives
    # no chance to remove the warnings file written aside; it never took the file's name)
    again = ended(folder, start_run(folder))
    assert_finished_and_committed(again, leftovers=run.leftovers)


def test_sigkill_just_after_the_commit_leaves_a_committed_run(pristine, tmp_path):
    folder = fresh_county(pristine, tmp_path)
    run = ended(folder, start_run(folder, "SIGKILL@ledger.committed"))
    assert run.code == -signal.SIGKILL
    assert run.ledger_rows > 0 and run.stored_outcomes == ["ok"]
    # the warnings file is put in place after the commit: killed there, it never appeared
    assert not run.output_written
    again = ended(folder, start_run(folder))
    assert again.code == 0 and again.manifest["warnings"]["new_in_ledger"] == 0


def test_a_signal_at_a_paused_instant_from_outside(pristine, tmp_path):
    """A real SIGTERM from another process, at a known instant: the run waits there for it."""
    folder = fresh_county(pristine, tmp_path)
    pause = PausePoint(folder)
    process = start_run(folder, "pause@model.query")
    pause.reached(process)
    os.killpg(process.pid, signal.SIGTERM)
    assert_stopped_with_nothing_written(ended(folder, process), "SIGTERM")


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 4.0])
def test_sigterm_at_any_moment_has_a_legal_outcome(pristine, tmp_path, delay):
    """Whenever the signal lands, the run is either stopped clean or finished and committed.

    Which of the two depends on the machine's speed; both are legal, and so is the
    interpreter's own start (before oversight's code runs), where the signal ends the
    process the operating system's way with nothing written.
    """
    folder = fresh_county(pristine, tmp_path)
    process = start_run(folder)
    time.sleep(delay)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    run = ended(folder, process)
    if run.code == -signal.SIGTERM:
        assert run.manifest is None and run.ledger_rows == 0 and not run.output_written
    elif run.code == 130:
        assert_stopped_with_nothing_written(run, "SIGTERM")
    else:
        assert_finished_and_committed(run)


@pytest.fixture(scope="module")
def endless_county(tmp_path_factory, pack) -> Path:
    """A county where ENG03 compares a million bids with each other: hours of work."""
    path = tmp_path_factory.mktemp("endless") / "county.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE trade_tender AS SELECT 'T1' AS tender_id, 'P1' AS project_id,"
            " '330122101' AS township, NULL::VARCHAR AS title, '公开招标' AS method,"
            " NULL::DECIMAL(18,2) AS budget, DATE '2021-01-01' AS published_on,"
            " NULL::DATE AS bid_deadline_on"
        )
        # one bidder, so every pair of bids is compared and none ever matches
        con.execute(
            "CREATE TABLE trade_bid AS SELECT 'B' || i AS bid_id, 'T1' AS tender_id,"
            " 'C1' AS bidder_code, NULL::VARCHAR AS bidder_name, NULL::DECIMAL(18,2) AS amount,"
            " TIMESTAMP '2021-01-02 00:00:00' AS submitted_at, 'p' || i AS contact_phone,"
            " 'i' || i AS ip_address FROM range(1000000) t(i)"
        )
        con.execute("CREATE TABLE ref_township (township VARCHAR, name VARCHAR, kind VARCHAR)")
    warehouse = DuckDBWarehouse(f"duckdb:///{path}")
    warehouse.load("dr_project", source_schema(pack.pack.sources["dr_project"]).empty_table())
    warehouse.close()
    return path


def test_a_signal_reaches_a_query_running_in_the_driver(endless_county, tmp_path):
    """The main thread is inside DuckDB for hours; the signal must still stop the run."""
    shutil.copy(endless_county, tmp_path / "county.duckdb")
    run = ended(tmp_path, start_run(tmp_path, "SIGTERM@model.query~", "--select", "ENG03"))
    assert_stopped_with_nothing_written(run, "SIGTERM")


def test_a_model_past_its_time_limit_fails_alone(endless_county, tmp_path):
    shutil.copy(endless_county, tmp_path / "county.duckdb")
    selected = ("--select", "ENG01", "--select", "ENG03", "--select", "INV01")
    run = ended(tmp_path, start_run(tmp_path, None, *selected, "--timeout", "2"))
    assert run.code == 1, run.stderr
    models = {m["id"]: m for m in run.manifest["models"]}
    # ENG03 cannot finish in 2 s on any machine; ENG01 reads an empty table, and whether a
    # loaded machine lets it finish in time is not this test's business
    assert models["ENG03"]["status"] == "timed_out" and "2.0" in models["ENG03"]["error"]
    assert models["ENG01"]["status"] in ("ran", "timed_out")
    assert models["INV01"]["status"] == "skipped"  # the run went on after ENG03
    assert run.manifest["outcome"] == "models_failed" and run.stored_outcomes == ["models_failed"]


def test_a_signal_cancels_a_postgres_query(postgres_database, pack, tmp_path):
    """On PostgreSQL the watcher cancels the statement on the server (ADBC's cancel)."""
    import pyarrow as pa

    from adapters import connect

    bids = 200_000  # one bidder again: 4·10¹⁰ pairs for the server to compare
    tables = {
        "trade_tender": [
            {"tender_id": "T1", "project_id": "P1", "township": "330122101", "method": "公开招标"}
        ],
        "trade_bid": [
            {
                "bid_id": f"B{i}",
                "tender_id": "T1",
                "bidder_code": "C1",
                "contact_phone": f"p{i}",
                "ip_address": f"i{i}",
            }
            for i in range(bids)
        ],
        "ref_township": [],
    }
    warehouse = connect(postgres_database)
    for name, rows in tables.items():
        schema = source_schema(pack.pack.sources[name])
        warehouse.load(name, pa.Table.from_pylist(rows, schema=schema))
    warehouse.close()
    process = start_run(
        tmp_path,
        "SIGTERM@model.query~",
        "--select",
        "ENG03",
        "--no-ledger",
        warehouse=postgres_database,
    )
    assert process.wait(timeout=300) == 130, process.stderr.read()
    manifest = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert manifest["outcome"] == "interrupted" and manifest["signal"] == "SIGTERM"
