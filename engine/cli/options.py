"""Command-line options and helpers that several commands share, written once.

Every command has its own module (check, compile, run, …), imported only when it
is the command asked for (engine/cli/__init__.py); they take what they share from
here. This module imports nothing heavy: `oversight check` and `--help` read it.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dsl.diagnostics import Diagnostic, render_human, render_json
from engine.defaults import POLICIES_ENV, WAREHOUSE_ENV
from engine.exit_codes import ExitCode

if TYPE_CHECKING:
    from engine.index.score import Period


def policies_option(
    help_text: str = f"the policy pack directory (default: ${POLICIES_ENV} or ./policies)",
) -> Any:
    """--policies DIR: the pack to read, else $OVERSIGHT_POLICIES, else ./policies."""
    return click.option("--policies", type=click.Path(path_type=Path), default=None, help=help_text)


POLICIES = policies_option()

FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="human: for people; json: for machines",
)

TABLE_OR_JSON = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default=None,
    help="table: aligned for people (the default on a terminal); json: for machines (otherwise)",
)
"""--format for listings: None when not given, so the command picks by whether stdout is a
terminal."""

DEPLOYMENT = click.option(
    "--deployment",
    type=click.Path(path_type=Path),
    default=None,
    help="a deployment YAML: warehouse URL, table mapping, parameter overrides",
)
WAREHOUSE = click.option(
    "--warehouse",
    default=None,
    help=f"duckdb:///PATH, sqlite:///PATH, postgresql://…, spark:///DIR (default: "
    f"${WAREHOUSE_ENV} or the deployment's, else duckdb:///oversight.duckdb)",
)


class PeriodType(click.ParamType):
    """A quarter (2021Q4) or a year (2021), said in both languages when it is neither.

    Parsed as the command line is read, so a mistyped --period is said before any file is.
    """

    name = "PERIOD"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Period:
        from engine.index.score import Period  # the compiler: only for the commands that score

        if isinstance(value, Period):
            return value
        try:
            return Period.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def period_option(help_text: str = "a quarter (2021Q4) or a year (2021)") -> Any:
    """--period 2021|2021Q4, required, given to the command as a Period."""
    return click.option("--period", required=True, type=PeriodType(), help=help_text)


PERIOD = period_option()
DISPOSAL = click.option(
    "--disposal",
    type=click.Path(path_type=Path),
    default=None,
    help="disposal records (CSV, Parquet or Excel .xlsx) to use instead of the warehouse's "
    "sup_disposal",
)


def emit_diagnostics(
    diagnostics: list[Diagnostic], output_format: str, sources: dict[str, str] | None = None
) -> None:
    """Diagnostics on stderr, for people (`human`) or machines (`json`)."""
    if not diagnostics:
        return
    if output_format == "json":
        click.echo(render_json(diagnostics), err=True)
    else:
        click.echo(render_human(diagnostics, sources), err=True)


SELECT = click.option(
    "--select",
    "select",
    multiple=True,
    help="only these models, domains or severities (ENG01, ENG, 工程管理, red); repeatable",
)


class Failure(Exception):
    """Ends a command with an exit code after its output has been written."""

    def __init__(self, code: ExitCode) -> None:
        super().__init__(code.name)
        self.code = code


def parse_date(value: str) -> date:
    """A YYYY-MM-DD option's day; a usage error in both languages when it is not one."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"「{value}」不是 YYYY-MM-DD 格式的日期 / not a date") from None


def on_terminal() -> bool:
    """Whether a person is watching stderr: progress is shown only then (tests set it)."""
    return sys.stderr.isatty()


def selected(pack: Any, select: tuple[str, ...], include_inactive: bool = False) -> list[Any]:
    """The models --select picks; a name that picks nothing is a usage error, with the closest."""
    from engine.runs.run import UnknownSelector, select_models

    try:
        return select_models(pack, select, include_inactive)
    except UnknownSelector as err:
        hints = "".join(f"\n  = 提示 hint: {hint}" for hint in err.hints)
        raise click.BadParameter(f"{err}{hints}", param_hint="--select") from None


STEPS = {
    "generate": "生成演示数据 generating the county",
    "load": "写入数据仓库 loading",
    "run": "按月末运行35个模型 running every model at each month end",
    "check": "解析与类型检查 parsing and type-checking",
    "examples": "运行示例 running the examples of each model",
    "against": "与 git 版本比较 comparing with the git revision",
    "compiled": "核对 compiled/ checking compiled/ for each dialect",
}
"""What `terminal_progress` calls each step of `check` and `demo`."""


def terminal_progress(step: str, done: int, total: int) -> None:
    """One line on stderr, rewritten in place: for people watching a terminal."""
    click.echo(f"\r{STEPS.get(step, step)} {done}/{total}   ", err=True, nl=done == total)
