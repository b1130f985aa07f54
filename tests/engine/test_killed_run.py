"""A run killed midway leaves the ledger as it was; the same day run again adds nothing.

The ledger already holds half a year of runs; the run is killed (SIGKILL: no handler, no
clean-up) at named instants (fault-injection points, engine/signals.py) rather than after
guessed delays, so the test means the same on a fast machine and on a loaded one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.duckdb import DuckDBWarehouse
from engine import api
from engine.demo import demo_run
from engine.demo.generator import MONTH_ENDS, generate
from engine.runs import ledger

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


def run_command(url: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "OVERSIGHT_FAULT"}
    if kill_at:
        environment["OVERSIGHT_FAULT"] = f"SIGKILL@{kill_at}"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
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
        text=True,
        env=environment,
        timeout=300,
    )


def test_a_killed_run_leaves_the_ledger_unchanged(county: str):
    before = ledger_rows(county)
    assert len(before) > 1  # half a year of warnings already
    for instant in ("run.started", "model.query", "ledger.staged"):
        killed = run_command(county, kill_at=instant)
        assert killed.returncode == -9, killed.stderr
        assert ledger_rows(county) == before, f"killed at {instant}"

    finished = run_command(county)
    assert finished.returncode == 0, finished.stderr
    after = ledger_rows(county)
    assert len(after) > len(before)  # the run that was allowed to finish did add warnings

    again = run_command(county)
    assert again.returncode == 0, again.stderr
    rows_again = ledger_rows(county)
    assert rows_again[:-1] == after[:-1]  # the same day again: nothing new in the ledger
    assert rows_again[-1]["runs"] == after[-1]["runs"] + 1
