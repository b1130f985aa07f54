"""A run killed midway leaves the ledger as it was; the same day run again adds nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.duckdb import DuckDBWarehouse
from engine import api, demo_run, ledger
from engine.demo.generator import MONTH_ENDS, generate

ROOT = Path(__file__).resolve().parents[2]


def ledger_rows(url: str) -> list[dict]:
    warehouse = DuckDBWarehouse(url, read_only=True)
    try:
        runs = warehouse.query("SELECT count(*) AS n FROM oversight_runs").column(0)[0].as_py()
        return [*ledger.read(warehouse).to_pylist(), {"runs": runs}]
    finally:
        warehouse.close()


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('killed') / 'county.duckdb'}"
    demo_run.build_warehouse(url, generate(size=0.05, seed=7))
    demo_run.run_month_ends(api.load_pack(ROOT / "policies"), url, MONTH_ENDS[:6])
    return url


def run_command(url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "run",
            "--as-of",
            "2021-12-31",
            "--warehouse",
            url,
            "--policies",
            str(ROOT / "policies"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_a_killed_run_leaves_the_ledger_unchanged(county: str):
    before = ledger_rows(county)
    killed_midway = 0
    for delay in (0.2, 0.5, 0.8, 1.1):
        process = run_command(county)
        time.sleep(delay)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            killed_midway += 1
        process.wait(timeout=60)
        assert ledger_rows(county) == before, f"killed after {delay}s"
        if process.returncode == 0:
            pytest.fail(
                "the run finished before it could be killed; the test needs a larger county"
            )
    assert killed_midway == 4

    finished = run_command(county)
    assert finished.wait(timeout=120) == 0, finished.stderr.read().decode()
    after = ledger_rows(county)
    assert len(after) > len(before)  # the run that was allowed to finish did add warnings

    again = run_command(county)
    assert again.wait(timeout=120) == 0
    rows_again = ledger_rows(county)
    assert rows_again[:-1] == after[:-1]  # the same day again: nothing new in the ledger
