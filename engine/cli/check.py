"""`oversight check`: the pack type-checked, its examples run, compiled/ compared.

The edit loop's command: it imports engine/policy/check.py, not engine/api.py, so
that checking an unchanged pack does not import the warehouses, pyarrow or sqlglot.
"""

from __future__ import annotations

import atexit
import gc
import json
from functools import cache
from pathlib import Path

import click

from engine.cli.options import (
    FORMAT,
    POLICIES,
    Failure,
    emit_diagnostics,
    on_terminal,
    terminal_progress,
)
from engine.exit_codes import ExitCode
from engine.policy import workers


@click.command()
@POLICIES
@FORMAT
@click.option("--no-examples", is_flag=True, help="parse and type-check only")
@click.option(
    "--against",
    default=None,
    metavar="REF",
    help="also require a version bump and a CHANGELOG entry for rules changed since git REF",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="check everything afresh, neither reading nor writing the pack's .oversight/ cache",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 2),
    default=None,
    help="processes that run the examples: 1 or 2 (default: 2 while a second core is free)",
)
def check(
    policies: Path | None,
    output_format: str,
    no_examples: bool,
    against: str | None,
    no_cache: bool,
    jobs: int | None,
) -> None:
    """Parse, type-check and run every inline example of the pack."""
    progress = terminal_progress if on_terminal() else None
    # The examples' second process is forked before the language's checker is imported
    # (0.1 s): it imports what the examples need meanwhile, which is most of an edit's check.
    jobs = workers.default_jobs() if jobs is None else jobs
    worker = workers.second_process(jobs) if not no_examples else None
    try:
        from engine.policy import check as checking

        # What importing made (modules, classes, the parser's tables) lives as long as the
        # process: kept out of the collector's view for the check, a full collection does
        # not walk it again (10 ms of a check after an edit, reading the cache's trees).
        gc.freeze()
        try:
            report = checking.check(
                policies,
                examples=not no_examples,
                against=against,
                progress=progress,
                cache=not no_cache,
                jobs=jobs,
                worker=worker,
            )
        finally:
            gc.unfreeze()
    finally:
        if worker is not None:  # check ends it; not if it failed before it began
            worker.stop()
    _freeze_at_exit()
    emit_diagnostics(report.diagnostics, output_format, report.sources)
    models = len(report.pack.models) if report.pack else 0
    passed = sum(1 for e in report.examples if e.passed)
    cached = len(report.from_cache)
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "models": models,
                    "examples": len(report.examples),
                    "examples_passed": passed,
                    "models_from_cache": cached,
                },
                ensure_ascii=False,
            )
        )
    elif report.ok and no_examples:
        click.echo(
            f"✓ {models} 个模型检查通过（未运行示例{_from_cache_zh(cached)}）"
            f"/ {models} models checked, examples not run{_from_cache_en(cached)}"
        )
    elif report.ok:
        click.echo(
            f"✓ {models} 个模型检查通过，{passed}/{len(report.examples)} 个示例通过"
            f"{_from_cache_zh(cached, '（', '）')} "
            f"/ {models} models checked, {passed} examples passed{_from_cache_en(cached)}"
        )
    else:
        errors = sum(1 for d in report.diagnostics if d.severity.value != "warning")
        click.echo(f"✗ 发现 {errors} 个问题 / {errors} problems found", err=True)
    if not report.ok:
        raise Failure(ExitCode.INVALID_POLICY)


@cache
def _freeze_at_exit() -> None:
    """At the interpreter's exit, keep what is left out of its last collection.

    The process frees it all as it ends; the collection the interpreter makes first
    walked every tree a cold check had built, 0.15 s of about 1.8. Registered once per
    process (a test's process may run many checks), it runs after the command's output.
    """
    atexit.register(gc.freeze)


def _from_cache_zh(cached: int, before: str = "；", after: str = "") -> str:
    """How many models an earlier check vouched for, said in Chinese (nothing when none)."""
    return f"{before}{cached} 个来自缓存{after}" if cached else ""


def _from_cache_en(cached: int) -> str:
    return f" ({cached} from the cache)" if cached else ""
