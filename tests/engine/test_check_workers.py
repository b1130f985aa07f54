"""`oversight check` runs half the models' examples in a forked second process.

Two processes must find exactly what one finds (a failing example, a compiled/ file
edited by hand), and a second process that dies or is interrupted must end the
command plainly: a clear error or exit 130, never a hang or a traceback. The
fork happens in a fresh interpreter only (DuckDB not imported yet), so each check
here runs in one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dsl import ir
from engine.policy import workers
from tests.fault_support import PausePoint

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from engine.policy import check, workers
started = []
ask = workers.Worker.ask
def counted(self, pack, models):
    started.append(len(models))
    return ask(self, pack, models)
workers.Worker.ask = counted
report = check.check(sys.argv[1], jobs=int(sys.argv[2]))
print(json.dumps({
    "forked": started,
    "examples": [
        [o.model_id, o.title, o.passed, [[d.code, d.message_zh, list(d.hints)] for d in o.problems]]
        for o in report.examples
    ],
    "diagnostics": [[d.code, d.message_zh, d.message_en] for d in report.diagnostics],
    "loaded": [name for name in ("pyarrow", "numpy", "pandas") if name in sys.modules],
}, ensure_ascii=False))
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the pack and compiled/ with one wrong example and one file edited by hand."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies", ignore=shutil.ignore_patterns(".*"))
    shutil.copytree(ROOT / "compiled", tmp_path / "compiled")
    rule = tmp_path / "policies" / "models" / "engineering" / "ENG01.rule"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("    expect none\n", '    expect "P1"\n', 1), encoding="utf-8")
    sql = tmp_path / "compiled" / "duckdb" / "FIN02.sql"
    sql.write_text(sql.read_text(encoding="utf-8").replace("SELECT", "SELECT DISTINCT", 1))
    return tmp_path / "policies"


@pytest.fixture
def unparsable(broken: Path) -> Path:
    """`broken`, and rule files that do not parse: a syntax error, a bad date, in three files."""
    for name, old, new in [
        ("engineering/ENG02.rule", "  where blank(c.tender_id)", "  where blank(c.tender_id"),
        ("investment/INV01.rule", "signed_on: 2021-06-15", "signed_on: 2021-02-30"),
        ("funds/FUN06.rule", "model FUN06", "modle FUN06"),
    ]:
        rule = broken / "models" / name
        text = rule.read_text(encoding="utf-8")
        assert old in text
        rule.write_text(text.replace(old, new, 1), encoding="utf-8")
    return broken


def _checked(policies: Path, jobs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(policies), str(jobs)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_processes_find_what_one_finds(broken: Path):
    one, two = _checked(broken, 1), _checked(broken, 2)
    assert one["forked"] == [] and len(two["forked"]) == 1  # the second process did run
    assert two["examples"] == one["examples"]
    assert two["diagnostics"] == one["diagnostics"]
    codes = [code for code, _, _ in one["diagnostics"]]
    assert codes == ["E510", "E710"]
    assert "duckdb/FIN02.sql" in one["diagnostics"][1][1]
    assert len(one["examples"]) > workers.FEWEST
    # The examples read DuckDB's answers as Python rows: no Arrow, numpy or pandas.
    assert one["loaded"] == [] and two["loaded"] == []


def test_files_parsed_in_two_processes_say_what_one_says(unparsable: Path):
    one, two = _checked(unparsable, 1), _checked(unparsable, 2)
    assert two["diagnostics"] == one["diagnostics"]
    codes = [code for code, _, _ in one["diagnostics"]]
    assert len(codes) >= 3 and all(code.startswith("E1") for code in codes[:3])


def test_the_halves_end_about_together_and_keep_the_models_order(pack: ir.CheckedPack):
    models = sorted(pack.models.values(), key=lambda m: m.id)
    mine, theirs = workers.halves(models)
    assert sorted(m.id for m in [*mine, *theirs]) == [m.id for m in models]
    assert mine == sorted(mine, key=lambda m: m.id) and theirs == sorted(theirs, key=lambda m: m.id)
    heaviest = max(workers.cost(m) for m in models)
    # The parent's half is lighter by what it does beside it (imports, compiled/).
    ours, others = sum(map(workers.cost, mine)), sum(map(workers.cost, theirs))
    assert abs(ours + workers.PARENT_BESIDES - others) <= heaviest


def _command(policies: Path, **env: str) -> subprocess.Popen:
    # two processes, however busy the machine running the tests is
    args = ["check", "--no-cache", "--jobs", "2", "--policies", str(policies)]
    return subprocess.Popen(
        [sys.executable, "-m", "engine", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        start_new_session=True,  # its own process group: Ctrl-C reaches both processes
    )


def _gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(
    ("point", "unfinished"),
    [
        ("check.warming", "示例未全部运行"),  # the examples' child, before it was sent work
        ("check.worker", "示例未全部运行"),  # the same, running its examples
        ("check.parsing", "规则文件未全部读完"),  # the child parsing half the rule files
    ],
)
def test_a_second_process_that_dies_is_said_plainly(broken: Path, point: str, unfinished: str):
    command = _command(broken, OVERSIGHT_FAULT=f"SIGKILL@{point}")
    _, err = command.communicate()
    assert command.returncode == 70  # ExitCode.INTERNAL
    assert "检查的第二个进程意外结束" in err and unfinished in err and "killed by SIGKILL" in err
    assert "--jobs 1" in err and "Traceback" not in err


@pytest.mark.parametrize("to_group", [True, False], ids=["ctrl-c", "sigterm-to-the-parent"])
def test_an_interrupted_check_ends_both_processes(tmp_path: Path, broken: Path, to_group: bool):
    pause = PausePoint(tmp_path)
    command = _command(
        broken, OVERSIGHT_FAULT="pause@check.forked", OVERSIGHT_FAULT_DIR=str(tmp_path)
    )
    parent = pause.reached(command)  # forked, the child running its examples
    if to_group:
        os.killpg(command.pid, signal.SIGINT)
    else:
        os.kill(parent, signal.SIGTERM)
    _, err = command.communicate()
    assert command.returncode == 130
    assert "已中断 interrupted" in err and "Traceback" not in err
    assert _gone(command.pid)  # the child was killed and reaped, not left running


def test_the_command_forks_before_it_loads_the_checker_which_the_child_never_loads():
    """The examples' child starts its imports while the parent imports the language's checker.

    `oversight check` forks as its command begins (engine/cli/check.py): up to then
    neither the checker nor the language's classes are loaded, and the examples'
    modules do not load the checker, so the child never spends the 0.1 s on it.
    """
    probe = (
        "import json, sys\n"
        "late = ('dsl.ir', 'dsl.check', 'engine.policy.check')\n"
        "import engine.cli.check\n"
        "before = [m for m in late if m in sys.modules]\n"
        "import engine.policy.examples\n"
        "child = [m for m in late if m in sys.modules]\n"
        "print(json.dumps([before, child]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    before, child = json.loads(done.stdout)
    assert before == []
    assert child == ["dsl.ir"]


@pytest.mark.parametrize(
    ("cores", "others", "jobs"),
    [({0, 1}, 0, 2), ({0, 1}, 1, 1), ({0}, 0, 1), ({0, 1, 2, 3}, 2, 2), ({0, 1, 2, 3}, 3, 1)],
)
def test_a_second_process_only_where_a_core_is_free_now(
    monkeypatch: pytest.MonkeyPatch, cores: set[int], others: int, jobs: int
):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: cores)
    monkeypatch.setattr(workers, "others_running", lambda: others)
    assert workers.default_jobs() == jobs


@pytest.mark.parametrize(
    ("loadavg", "others"),
    [
        ("1.04 0.93 1.23 1/108 32075\n", 0),  # a minute's load near one, but only this process runs
        ("0.20 0.10 0.05 3/120 99\n", 2),
        ("garbled\n", 0.7),  # then the load average
        (None, 0.7),  # no /proc (not Linux)
    ],
)
def test_what_runs_now_is_linux_count_of_runnable_processes_less_this_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, loadavg: str | None, others: float
):
    monkeypatch.setattr(os, "getloadavg", lambda: (0.7, 0.5, 0.4))
    proc = tmp_path / "loadavg"
    if loadavg is not None:
        proc.write_text(loadavg, encoding="ascii")
    assert workers.others_running(proc) == others
