"""Command-line options that several commands share, written once.

The command group (engine/cli/__init__.py) and the commands in their own
modules (params, warnings, fmt, precheck) take them from here: the group
imports those modules, so they cannot import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dsl.diagnostics import Diagnostic, render_human, render_json
from engine.api import POLICIES_ENV, WAREHOUSE_ENV
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
