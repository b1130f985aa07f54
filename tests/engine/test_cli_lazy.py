"""The command group imports a command's module only when that command runs.

`oversight check` is the edit loop's command: it must not import the warehouses'
drivers, pyarrow or sqlglot before it knows it needs them, nor pandas ever.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from engine.cli import COMMANDS, cli, main
from engine.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    shown = capsys.readouterr().out
    listed = shown.split("Commands:", 1)[1].split()
    for name in COMMANDS:
        assert name in listed


def test_every_command_named_is_a_click_command_of_that_name():
    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert isinstance(command, click.Command)
        assert command.name == name
    assert cli.get_command(context, "chek") is None


def test_an_unknown_command_is_a_usage_error(capsys):
    assert main(["chek"]) == ExitCode.USAGE
    assert "No such command 'chek'" in capsys.readouterr().err


def _imported_by(args: list[str]) -> list[str]:
    """Which heavy packages `oversight ARGS` imported, in a fresh interpreter."""
    probe = (
        "import json, sys\n"
        "from engine.cli import main\n"
        f"main({args!r})\n"
        "heavy = ('pyarrow', 'sqlglot', 'duckdb', 'adbc_driver_manager', 'jinja2', 'docx', "
        "'pandas', 'pyarrow.dataset', 'numpy')\n"
        "print(json.dumps(sorted(name for name in heavy if name in sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_check_of_a_current_pack_imports_no_warehouse_nor_compiler(tmp_path: Path):
    pack = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", pack, ignore=shutil.ignore_patterns(".*"))
    shutil.copytree(ROOT / "compiled", tmp_path / "compiled")
    first = _imported_by(["check", "--policies", str(pack), "--format", "json"])
    assert {"duckdb", "sqlglot"} <= set(first)  # examples ran, nothing was cached
    # pandas is installed (the benchmark's baseline) but never imported: 0.2–0.7 s; nor are
    # pyarrow and numpy (0.25 s): the examples read DuckDB's answers as Python rows
    assert not {"pandas", "pyarrow", "pyarrow.dataset", "numpy"} & set(first)
    assert _imported_by(["check", "--policies", str(pack), "--format", "json"]) == []
    assert _imported_by(["check", "--help"]) == []
